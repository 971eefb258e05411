"""Input-to-redraw latency in a real browser: JupyterLab + Playwright + Debian's chromium.

For each notebook with an explorer (01-05), the notebook is opened in a JupyterLab server on
127.0.0.1 (a temporary copy of the notebooks, no network: every other request is aborted) and run
with Run All Cells. Then, ``changes`` times, a key press on the explorer's first slider handle
(ArrowRight and ArrowLeft in turns, so the value always changes) is timed in the page, from the
``keydown`` event (``performance.now()``, capture phase) to the first DOM mutation after which an
SVG of the explorer's output area differs from before the key press (a ``MutationObserver``):
the kernel round trip (comm message, ``Explorer.set``, ``chart_spec``), the spec's transfer and
vega-embed's redraw. p50/p95 per notebook; ``browser_p95_ms`` is the largest p95.

05's explorer has no slider: its first dropdown (``output``) is set to its second and first option
in turns with Playwright's ``select_option``, timed from the ``input`` event. Arrow keys cannot
drive it: JupyterLab's command-mode shortcuts apply to a focused ``<select>`` (it is not
``:read-write``), so ArrowDown moves the active cell and the dropdown never changes; that is why
the first version of this script timed out on 05.

The same run first measures a baseline notebook (:data:`BASELINE`: one slider redrawing a one-bar
``OfflineChart``, no model) the same way; every notebook's p50/p95 is also given as a ratio to it.

Run from the repository root (never ``playwright install``: the browser is /usr/bin/chromium)::

    python benchmarks/browser.py [--changes 20] [--draws 1000] [--json PATH] [notebooks ...]

``--draws`` sets ``CHIPSUITE_DRAWS`` for the kernel (05's ensemble size; 01-04 use one draw).
Timings are reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # this checkout's chipsuite (run from anywhere)

from chipsuite import devserver  # noqa: E402
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
NOTEBOOKS = ["01_cadence.ipynb", "02_capex.ipynb", "03_nvidia_dependence.ipynb", "04_energy_sites.ipynb",
             "05_uncertainty.ipynb"]
WAIT_MS = 300_000

KERNEL_READY = """(name) => {
  const widget = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const kernel = widget && widget.context && widget.context.path === name && widget.sessionContext
    && widget.sessionContext.session && widget.sessionContext.session.kernel;
  return Boolean(kernel) && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
}"""

ALL_EXECUTED = r"""() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')];
  const status = panel.querySelector('.jp-Notebook-ExecutionIndicator');
  return prompts.length > 0 && prompts.every((p) => /\[\d+\]/.test(p.textContent))
    && status && status.getAttribute('data-status') === 'idle';
}"""

#: in the page: arm a timer for the next key press on the first slider handle; resolves with
#: (first redraw - keydown) [ms] once an SVG of the explorer's output area has changed
ARM = r"""() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  // the explorer's first slider handle; an explorer without sliders (05): its first dropdown
  const handle = panel.querySelector('.widget-slider .noUi-handle') || panel.querySelector('.widget-dropdown select');
  const area = handle.closest('.jp-OutputArea');
  const svgs = () => [...area.querySelectorAll('svg')].map((s) => s.outerHTML).join('\n');
  const before = svgs();
  window.__latency = null;
  let t0 = null;
  const onKey = () => { if (t0 === null) t0 = performance.now(); };
  document.addEventListener('keydown', onKey, {capture: true, once: true});
  document.addEventListener('input', onKey, {capture: true, once: true});  // a dropdown's choice
  const observer = new MutationObserver(() => {
    if (t0 === null) return;
    if (svgs() !== before) {
      window.__latency = performance.now() - t0;
      observer.disconnect();
    }
  });
  observer.observe(area, {subtree: true, childList: true, attributes: true, characterData: true});
  handle.focus();
  return true;
}"""


#: the same-run baseline: a notebook with one slider whose callback redraws a one-bar OfflineChart
#: (comm round trip + a trivial spec + vega-embed's update, no model, no chart building)
BASELINE = "zz_baseline_slider.ipynb"
BASELINE_SOURCE = """\
import altair as alt
import ipywidgets as w
import pandas as pd

from chipsuite import OfflineChart


def bar(x):
    return alt.Chart(pd.DataFrame({"x": [float(x)]})).mark_bar().encode(y=alt.Y("x:Q", scale=alt.Scale(domain=[0, 10])))


slider = w.FloatSlider(value=5.0, min=0.0, max=10.0, step=1.0, continuous_update=False, description="x")
chart = OfflineChart(bar(5.0))
slider.observe(lambda change: chart.update(bar(change["new"])), names="value")
w.VBox([slider, chart])
"""


def write_baseline(root):
    """Write the baseline notebook (:data:`BASELINE`) into ``root``."""
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "id": "baseline", "metadata": {},
                     "outputs": [], "source": BASELINE_SOURCE}],
          "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
          "nbformat": 4, "nbformat_minor": 5}
    (root / BASELINE).write_text(json.dumps(nb, indent=1))


def start_lab(tmp, draws):
    """JupyterLab on 127.0.0.1 serving a copy of notebooks/ (and data/) plus the baseline notebook;
    returns (process, base, token)."""
    root = tmp / "notebooks"
    shutil.copytree(REPO / "notebooks", root)
    shutil.copytree(REPO / "data", tmp / "data")
    write_baseline(root)
    return devserver.start_lab(tmp, root, REPO, draws, timeout_s=120)


def measure_notebook(context, base, token, name, changes):
    """Latencies [ms] of ``changes`` slider key presses in notebook ``name`` (see the module docstring)."""
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    phase = ["opening the notebook"]  # what the page was waiting for, named in a failure
    try:
        return _measure(page, base, token, name, changes, errors, phase)
    except Exception as err:
        raise RuntimeError(f"{name}: failed while {phase[0]}: {type(err).__name__}: {str(err)[:400]}") from None
    finally:
        page.close()


def _measure(page, base, token, name, changes, errors, phase):
    page.goto(f"{base}/lab/workspaces/bench-{secrets.token_hex(4)}/tree/{name}?token={token}", timeout=WAIT_MS)
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator", timeout=WAIT_MS)
    phase[0] = "waiting for the kernel"
    page.wait_for_function(KERNEL_READY, arg=name, timeout=WAIT_MS)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    phase[0] = "running all cells"
    started = time.monotonic()
    page.wait_for_function(ALL_EXECUTED, timeout=WAIT_MS)
    run_all_s = time.monotonic() - started
    phase[0] = "looking for the control"
    panel = ".jp-NotebookPanel:not(.lm-mod-hidden)"
    page.wait_for_selector(f"{panel} .widget-slider .noUi-handle, {panel} .widget-dropdown select", timeout=WAIT_MS)
    sliders = page.locator(f"{panel} .widget-slider .noUi-handle")
    handle = sliders.first if sliders.count() else page.locator(f"{panel} .widget-dropdown select").first
    kind = "slider" if sliders.count() else "dropdown"
    handle.scroll_into_view_if_needed()
    keys = ("ArrowRight", "ArrowLeft") if kind == "slider" else ("option 1", "option 0")
    page.wait_for_selector(".jp-OutputArea-output .vega-embed svg", timeout=WAIT_MS)
    latencies = []
    for i in range(changes + 1):  # the first change warms the path up and is not counted
        phase[0] = f"change {i} ({keys[i % 2]} on the {kind})"
        page.evaluate(ARM)
        if kind == "slider":
            page.keyboard.press(keys[i % 2])
        else:  # arrow keys on a focused dropdown are JupyterLab's (see the module docstring)
            handle.select_option(index=1 - i % 2)
        page.wait_for_function("() => window.__latency !== null", timeout=WAIT_MS)
        latency = page.evaluate("() => window.__latency")
        page.wait_for_function(KERNEL_READY, arg=name, timeout=WAIT_MS)  # nothing left in flight
        if i:
            latencies.append(latency)
    return latencies, errors, kind, run_all_s


def run(notebooks=None, changes=20, draws=1000):
    """``{"notebooks": {name: {p50_ms, p95_ms, ...}}, "browser_p95_ms": max p95}``."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} not found (Debian's chromium; never `playwright install`)")
    out = {"changes": changes, "draws_05": draws, "notebooks": {}, "method": (
        "JupyterLab, Run All Cells, then key presses on the explorer's first slider handle (ArrowRight/"
        "ArrowLeft in turns; 05: its first dropdown set by select_option, timed from the input event); keydown "
        "(capture) -> first DOM mutation after which an SVG of the explorer's output area differs, "
        "performance.now() in the page; the first change is a warm-up; a baseline notebook measured first")}
    with tempfile.TemporaryDirectory() as tmp:
        process, base, token = start_lab(Path(tmp), draws)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                context = browser.new_context(viewport={"width": 1280, "height": 1000})
                blocked = []
                context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
                    (base + "/", "data:", "blob:")) else (blocked.append(route.request.url), route.abort()))
                for name in [BASELINE, *(notebooks or NOTEBOOKS)]:  # the baseline first, in the same run
                    try:
                        ms, errors, kind, run_all_s = measure_notebook(context, base, token, name, changes)
                    except Exception as err:  # noqa: BLE001 - reported per notebook
                        out["notebooks"][name] = {"error": f"{type(err).__name__}: {str(err)[:500]}"}
                        print(f"{name}: FAILED {err}", file=sys.stderr)
                        continue
                    ms = np.array(ms)
                    out["notebooks"][name] = {"control": kind, "changes": len(ms),
                                              "p50_ms": float(np.percentile(ms, 50)),
                                              "p95_ms": float(np.percentile(ms, 95)), "max_ms": float(ms.max()),
                                              "min_ms": float(ms.min()), "page_errors": errors,
                                              "run_all_cells_s": run_all_s}
                    print(f"{name}: p50 {out['notebooks'][name]['p50_ms']:.0f} ms, "
                          f"p95 {out['notebooks'][name]['p95_ms']:.0f} ms", file=sys.stderr)
                out["blocked_requests"] = blocked
                browser.close()
        finally:
            devserver.stop_server(process)
    baseline = out["notebooks"].pop(BASELINE)
    out["baseline"] = dict(baseline, what=(
        "a notebook with one FloatSlider whose callback redraws a one-bar OfflineChart (comm round trip, "
        "trivial spec, vega-embed update): the floor of any notebook's figure in this run"))
    for row in out["notebooks"].values():
        if "p95_ms" in row and "p95_ms" in baseline:
            row["p50_ratio_to_baseline"] = row["p50_ms"] / baseline["p50_ms"]
            row["p95_ratio_to_baseline"] = row["p95_ms"] / baseline["p95_ms"]
    measured = {k: v for k, v in out["notebooks"].items() if "p95_ms" in v}
    out["browser_p95_ms"] = max(v["p95_ms"] for v in measured.values()) if measured else None
    out["browser_slowest"] = max(measured, key=lambda k: measured[k]["p95_ms"]) if measured else None
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help=f"notebooks (default: {' '.join(NOTEBOOKS)})")
    parser.add_argument("--changes", type=int, default=20, help="timed slider changes per notebook (default 20)")
    parser.add_argument("--draws", type=int, default=1000, help="CHIPSUITE_DRAWS of the kernel (default 1000)")
    parser.add_argument("--json", metavar="PATH", help="write the figures as JSON to PATH")
    args = parser.parse_args(argv)
    out = run(args.notebooks or None, args.changes, args.draws)
    print(json.dumps({k: v for k, v in out.items() if k != "method"}, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
