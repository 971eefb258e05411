"""Real-browser checks of the code-free and static paths (Playwright + Debian's chromium,
every request outside the page's own origin blocked and recorded):

(a) the Voila app (`make app`) renders a notebook without code, and moving an ipywidgets
    slider redraws the explorer's chart; there and in JupyterLab the explorer's static snapshot
    is hidden once the live chart has rendered;
(b) plain `jupyter nbconvert --to html --execute` of every notebook shows every chart
    (the explorers through their static snapshot) although the page's CDN scripts are blocked;
(c) `jupyter nbconvert --to chipsuite` of a real notebook makes no outside request at all.

Screenshots go to artifacts/screenshots/ (gitignored).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_browser import (CHROMIUM, CHROMIUM_ARGS, WAIT_MS, Guard, free_port, lab_page, open_and_run_all,
                          require_chromium, screenshot)

import test_browser
from test_nbexport import nbconvert_env

from chipsuite import devserver

#: test_browser.py's JupyterLab server fixture, registered here under the name lab_server
lab_server = test_browser.lab

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
#: Voila 0.5's lab template links Font Awesome's CSS from a CDN (the same icons ship in Voila's
#: own bundle); blocked, nothing visible is lost. Any other outside request fails the test.
VOILA_CDN = ("https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@%5E5/css/",)
#: What plain nbconvert's lab template asks for: require.js, MathJax, the widget manager
NBCONVERT_CDN = ("https://cdnjs.cloudflare.com/ajax/libs/require.js/", "https://cdnjs.cloudflare.com/ajax/libs/mathjax/",
                 "https://unpkg.com/@jupyter-widgets/html-manager")


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium through Playwright, launched as in test_browser.py."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def copy_project(dest):
    """The notebooks and the data they read (../data), as a server or nbconvert sees them."""
    import shutil

    (dest / "notebooks").mkdir(parents=True)
    for path in NOTEBOOKS:
        shutil.copy(path, dest / "notebooks")
    shutil.copytree(REPO / "data", dest / "data")
    return dest / "notebooks"


def project_env(tmp):
    env = dict(os.environ, CHIPSUITE_DRAWS="50", JUPYTER_CONFIG_DIR=str(tmp / "config"),
               JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
               PYTHONPATH=os.pathsep.join([str(REPO), *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]]))
    env.pop("CHIPSUITE_REPORT", None)
    return env


def make_flags(variable):
    """The value of a Makefile variable (so the test starts Voila as `make app` does)."""
    line = next(line for line in (REPO / "Makefile").read_text().splitlines() if line.startswith(f"{variable} "))
    return line.split("=", 1)[1].split()


KERNEL_TRANSPORT = make_flags("KERNEL_TRANSPORT")


def check_only_known_requests_failed(guard, known_prefixes):
    """Blocked requests are only ``known_prefixes``; failures and console errors only those loads."""
    unexpected = [url for url in guard.blocked if not url.startswith(known_prefixes)]
    assert unexpected == [], f"requests outside the allowed origins: {unexpected}"
    assert [url for url, _ in guard.failed if url not in guard.blocked] == [], guard.failed
    errors = [e for e in guard.errors if "Failed to load resource" not in e]
    assert errors == [], f"console errors: {errors}"


# --- (a) Voila --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def voila(tmp_path_factory):
    require_chromium()
    tmp = tmp_path_factory.mktemp("voila")
    root = copy_project(tmp)
    port = free_port()
    command = [sys.executable, "-m", "voila", "--no-browser", "--Voila.ip=127.0.0.1", f"--port={port}",
               "--Voila.port_retries=0", *KERNEL_TRANSPORT, str(root)]
    log_path = tmp / "voila.log"
    base = f"http://127.0.0.1:{port}"
    try:
        process = devserver.start_server(command, env=project_env(tmp), log_path=log_path, ready_url=f"{base}/",
                                         name="Voila", timeout_s=WAIT_MS / 1000, cwd=tmp)
    except devserver.ServerError as err:
        pytest.fail(str(err))
    try:
        yield {"base": base, "log": log_path}
    finally:
        devserver.stop_server(process)


def test_voila_app_shows_no_code_and_a_slider_redraws_the_chart(browser, voila):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    guard = Guard(context, [voila["base"] + "/"])
    page = guard.watch(context.new_page())
    try:
        page.goto(f"{voila['base']}/voila/render/01_cadence.ipynb", timeout=WAIT_MS)
        chart = ".chipsuite-offline-chart svg"
        page.wait_for_selector(chart, timeout=WAIT_MS)
        body = page.inner_text("body")
        assert "import chipsuite" not in body and "app.show()" not in body  # code-free
        assert "MTIA cadence" in body
        assert page.locator(".chipsuite-static-fallback").count() == 1
        assert page.locator(".chipsuite-static-fallback").is_hidden()  # the live chart replaced it
        before = page.inner_html(chart)
        readout = page.locator(".widget-slider .widget-readout").first.inner_text()
        page.locator(".widget-slider .noUi-handle").first.focus()
        for _ in range(3):
            page.keyboard.press("ArrowRight")
        page.wait_for_function("([sel, before]) => document.querySelector(sel).innerHTML !== before",
                               arg=[chart, before], timeout=WAIT_MS)
        assert page.locator(".widget-slider .widget-readout").first.inner_text() != readout
        screenshot(page, "voila-01_cadence")
    except BaseException:
        screenshot(page, "voila-01_cadence-failure")
        raise
    finally:
        context.close()
    check_only_known_requests_failed(guard, VOILA_CDN)
    assert "without encryption" not in voila["log"].read_text()


def test_lab_hides_the_snapshot_once_the_live_chart_renders(browser, lab_server):
    context, guard, page = lab_page(browser, lab_server)
    try:
        open_and_run_all(page, lab_server, "01_cadence.ipynb")
        page.wait_for_selector(".chipsuite-offline-chart svg", timeout=WAIT_MS)
        snapshot = page.locator(".chipsuite-static-fallback")
        assert snapshot.count() == 1
        snapshot.wait_for(state="hidden", timeout=WAIT_MS)
        screenshot(page, "lab-01_cadence-snapshot-hidden")
    except BaseException:
        screenshot(page, "lab-01_cadence-snapshot-failure")
        raise
    finally:
        context.close()
    guard.check()


# --- (b) plain nbconvert and (c) --to chipsuite ------------------------------------------------


@pytest.fixture(scope="module")
def nbconvert_pages(tmp_path_factory):
    require_chromium()
    tmp = tmp_path_factory.mktemp("nbconvert")
    root = copy_project(tmp)
    env = project_env(tmp)
    plain = subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", "--execute",
                            "--output-dir", str(tmp / "html"), *sorted(str(p) for p in root.glob("*.ipynb"))],
                           cwd=root, env=env, capture_output=True, text=True, timeout=3600)
    assert plain.returncode == 0, plain.stderr[-4000:]
    # `--to chipsuite` through the entry point (test_nbexport.nbconvert_env: this checkout's declaration)
    env_chipsuite = dict(env, PYTHONPATH=nbconvert_env(tmp)["PYTHONPATH"])
    chipsuite = subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "chipsuite",
                                "--output-dir", str(tmp / "chipsuite"), str(root / "01_cadence.ipynb")],
                               cwd=root, env=env_chipsuite, capture_output=True, text=True, timeout=1800)
    assert chipsuite.returncode == 0, chipsuite.stderr[-4000:]
    return tmp


CHART_COUNTS = """() => {
  // nbconvert's lab template shows SVG outputs as <img src="data:image/svg+xml;base64,...">; the
  // explorers' snapshots are inline SVG in their text/html output
  const shown = (e) => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const images = [...document.querySelectorAll('.jp-RenderedSVG img')];
  const snapshots = [...document.querySelectorAll('.chipsuite-static-fallback svg.marks')];
  const cells = [...document.querySelectorAll('.jp-Cell')].filter((c) => c.querySelector('.jupyter-widgets'));
  return {
    charts: images.length + snapshots.length,
    visible: images.filter((i) => i.complete && i.naturalWidth > 0 && shown(i)).length
      + snapshots.filter(shown).length,
    widgetCells: cells.length,
    widgetCellsWithChart: cells.filter((c) => {
      const s = c.querySelector('.chipsuite-static-fallback svg.marks');
      return s && shown(s);
    }).length,
  };
}"""


@pytest.mark.parametrize("name", [p.stem for p in NOTEBOOKS])
def test_plain_nbconvert_page_shows_every_chart_with_the_network_blocked(browser, nbconvert_pages, name):
    path = nbconvert_pages / "html" / f"{name}.html"
    text = path.read_text(encoding="utf-8")
    expected = (len(re.findall(r'data-mime-type="image/svg\+xml"', text))
                + text.count('<div class="chipsuite-static-fallback">'))
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    guard = Guard(context, [path.parent.resolve().as_uri() + "/"])
    page = guard.watch(context.new_page())
    page.goto(path.resolve().as_uri())
    page.wait_for_load_state("load")
    counts = page.evaluate(CHART_COUNTS)
    screenshot(page, f"nbconvert-html-{name}")
    context.close()
    assert counts["charts"] == counts["visible"] == expected > 0, counts
    assert counts["widgetCells"] >= 1 and counts["widgetCellsWithChart"] == counts["widgetCells"], counts
    check_only_known_requests_failed(guard, NBCONVERT_CDN)


def test_to_chipsuite_page_makes_no_outside_request(browser, nbconvert_pages):
    path = nbconvert_pages / "chipsuite" / "01_cadence.html"
    n_charts = path.read_text(encoding="utf-8").count("vegaEmbed(document.getElementById")
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    guard = Guard(context, [path.parent.resolve().as_uri() + "/"])
    page = guard.watch(context.new_page())
    page.goto(path.resolve().as_uri())
    page.wait_for_function("([sel, n]) => document.querySelectorAll(sel).length >= n",
                           arg=[".vega-embed svg, .vega-embed canvas", n_charts], timeout=WAIT_MS)
    assert n_charts > 1
    screenshot(page, "nbconvert-chipsuite-01_cadence")
    context.close()
    guard.check()  # zero blocked, zero failed, no console error
