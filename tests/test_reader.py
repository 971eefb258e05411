"""What a reader sees in the offline reports (issue 13), in Debian's chromium with no network.

On every report page, for every chart and for every view of every view menu:

- no two visible SVG text labels overlap, and no text is clipped by its chart's bounds
  (``getBoundingClientRect`` of each ``<text>``, labels Vega hid for overlap excluded);
- no chart text is a raw id (``mtia_300``, ``capex_usd_bn``) or a unit ``[1]``;
- the page shows no object representation (``<... at 0x...>``), every relative link
  resolves to a file of the report, and the header links to the index and the neighbours;
- each explorer's view menu offers the views of its JupyterLab *chart* menu.

Screenshots of every page go to artifacts/reader/ (gitignored). Set CHIPSUITE_REPORT_DIR to a
folder built by ``python -m chipsuite report`` to check it instead of building one (minutes).
"""

import os
import re
from pathlib import Path

import pytest

from test_browser import CHECK_CHARTS_JS, CHROMIUM, CHROMIUM_ARGS, TOLERANCE_PX, WAIT_MS, Guard, require_chromium

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent
SHOTS = REPO / "artifacts" / "reader"



@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    given = os.environ.get("CHIPSUITE_REPORT_DIR")
    if given:
        return Path(given)
    from chipsuite import report

    out = tmp_path_factory.mktemp("reader-reports")
    report.build_reports(str(REPO / "notebooks" / "*.ipynb"), out, timeout_s=600,
                         extra_env={"CHIPSUITE_DRAWS": "50"})
    return out


@pytest.fixture(scope="module")
def browser():
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _wait_for_charts(page):
    page.wait_for_function(
        """() => [...document.querySelectorAll('div.chipsuite-vega')].every(
             d => d.hidden || d.querySelector('svg, canvas') || d.textContent.includes('Chart error'))""",
        timeout=WAIT_MS)


def _menu_views(page, menu_id):
    return page.eval_on_selector(f"#{menu_id} select", "s => [...s.options].map(o => o.textContent)")


def test_every_chart_of_every_page_is_legible(browser, report_dir):
    pages = sorted(p for p in report_dir.glob("*.html") if p.name != "index.html")
    assert len(pages) >= 7
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    guard = Guard(context, [report_dir.resolve().as_uri() + "/"])
    problems = []
    for path in pages:
        page = guard.watch(context.new_page())
        page.goto(path.resolve().as_uri())
        _wait_for_charts(page)
        assert page.locator(".chipsuite-vega:has-text('Chart error')").count() == 0, path.name
        problems += [f"{path.name}: {p}" for p in page.evaluate(CHECK_CHARTS_JS, [".chipsuite-vega svg",
                                                                                 TOLERANCE_PX])]
        page.screenshot(path=str(SHOTS / f"{path.stem}.png"), full_page=True)
        for menu_id in page.eval_on_selector_all(".chipsuite-view-menu", "els => els.map(e => e.id)"):
            for i, name in enumerate(_menu_views(page, menu_id)):
                page.select_option(f"#{menu_id} select", index=i)
                page.wait_for_function(
                    "([id, name]) => { const m = document.getElementById(id);"
                    " return m.getAttribute('data-view') === name && m.getAttribute('data-ready') === '1'; }",
                    arg=[menu_id, name], timeout=WAIT_MS)
                found = page.evaluate(CHECK_CHARTS_JS, [f"#{menu_id} .chipsuite-vega svg", TOLERANCE_PX])
                problems += [f"{path.name} menu view {name!r}: {p}" for p in found]
        page.close()
    context.close()
    guard.check()
    assert problems == [], "\n".join(problems[:60]) + f"\n({len(problems)} problems)"


def test_pages_have_navigation_working_links_and_no_object_reprs(browser, report_dir):
    pages = sorted(p for p in report_dir.glob("*.html") if p.name != "index.html")
    context = browser.new_context()
    guard = Guard(context, [report_dir.resolve().as_uri() + "/"])
    for k, path in enumerate(pages):
        page = guard.watch(context.new_page())
        page.goto(path.resolve().as_uri())
        text = page.inner_text("body")
        assert not re.search(r"<[\w.]+ (object )?at 0x[0-9a-f]+>", text), f"{path.name}: object repr on the page"
        assert ".ipynb" not in " ".join(page.eval_on_selector_all("a", "els => els.map(a => a.getAttribute('href'))")
                                        ), f"{path.name}: a link to a notebook file"
        nav = page.locator("nav.chipsuite-nav").first
        hrefs = nav.locator("a").evaluate_all("els => els.map(a => a.getAttribute('href'))")
        assert "index.html" in hrefs
        if k > 0:
            assert pages[k - 1].name in hrefs, f"{path.name}: no link to the previous page"
        if k + 1 < len(pages):
            assert pages[k + 1].name in hrefs, f"{path.name}: no link to the next page"
        for href in page.eval_on_selector_all("a[href]", "els => els.map(a => a.getAttribute('href'))"):
            if re.match(r"^[a-z]+:|^#", href):
                continue
            assert (report_dir / href.split("#")[0]).exists(), f"{path.name}: broken link {href}"
        page.close()
    index = guard.watch(context.new_page())
    index.goto((report_dir / "index.html").resolve().as_uri())
    headlines = index.locator("p.headline").all_inner_texts()
    assert len(headlines) >= 6 and all(re.search(r"\d", h) for h in headlines)
    index.close()
    context.close()
    guard.check()


def test_report_menus_offer_the_lab_views(browser, report_dir):
    from chipsuite import widgets

    expected = {"01_cadence.html": widgets.CadenceExplorer.VIEWS, "02_capex.html": widgets.CapexExplorer.VIEWS,
                "03_nvidia_dependence.html": widgets.DependenceExplorer.VIEWS}
    context = browser.new_context()
    guard = Guard(context, [report_dir.resolve().as_uri() + "/"])
    for name, views in expected.items():
        page = guard.watch(context.new_page())
        page.goto((report_dir / name).resolve().as_uri())
        offered = _menu_views(page, "chipsuite-menu-1")
        assert list(offered) == list(views), name
        page.close()
    page = guard.watch(context.new_page())
    page.goto((report_dir / "06_data_explorer.html").resolve().as_uri())
    offered = _menu_views(page, "chipsuite-menu-1")
    assert len(offered) == len(widgets.DataExplorer.TABLES)
    height = page.evaluate("document.body.scrollHeight")
    assert height < 8000, f"06 is {height} px tall"
    page.close()
    context.close()
    guard.check()
