"""What a reader sees in the offline reports (issue 13), in Debian's chromium with no network.

On every report page, for every chart and for every view of every view menu:

- no two visible SVG text labels overlap, and no text is clipped by its chart's bounds
  (``getBoundingClientRect`` of each ``<text>``, labels Vega hid for overlap excluded);
- no chart text, prose or table cell is a raw id (``mtia_300``, ``capex_usd_bn``) or a unit ``[1]``
  (CHECK_TEXT_JS: code, links and the free-text note/source columns of data tables excepted);
- the page shows no object representation (``<... at 0x...>``), every relative link
  resolves to a file of the report, and the header links to the index and the neighbours;
- each explorer's view menu offers the views of its JupyterLab *chart* menu, and its *named
  scenario* menu the same views under every named scenario (each view of each scenario is checked).

Screenshots of every page go to artifacts/reader/ (gitignored). Set CHIPSUITE_REPORT_DIR to a
folder built by ``python -m chipsuite report`` to check it instead of building one (minutes).
"""

import os
import re
from pathlib import Path

import pytest

from test_browser import CHECK_CHARTS_JS, CHECK_TEXT_JS, CHROMIUM, CHROMIUM_ARGS, TOLERANCE_PX, WAIT_MS, Guard, require_chromium

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


def _menu_scenarios(page, menu_id):
    """Titles of the menu's named scenarios ([""]: a menu without a scenario menu)."""
    return page.eval_on_selector_all(f"#{menu_id} select.chipsuite-scenario-select option",
                                     "os => os.map(o => o.textContent)") or [""]


def _choose(page, menu_id, view_index, scenario_index=None):
    """Choose a scenario (if given) and a view in menu ``menu_id``; wait until its chart is drawn."""
    if scenario_index is not None:
        page.select_option(f"#{menu_id} select.chipsuite-scenario-select", index=scenario_index)
    page.select_option(f"#{menu_id} select", index=view_index)
    name = _menu_views(page, menu_id)[view_index]
    scenario = _menu_scenarios(page, menu_id)[scenario_index or 0]
    page.wait_for_function(
        "([id, name, scenario]) => { const m = document.getElementById(id);"
        " return m.getAttribute('data-view') === name && m.getAttribute('data-ready') === '1'"
        " && (!scenario || m.getAttribute('data-scenario') === scenario); }",
        arg=[menu_id, name, scenario], timeout=WAIT_MS)
    return scenario, name


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
        problems += [f"{path.name}: {p}" for p in page.evaluate(CHECK_TEXT_JS, "main")]
        page.screenshot(path=str(SHOTS / f"{path.stem}.png"), full_page=True)
        for menu_id in page.eval_on_selector_all(".chipsuite-view-menu", "els => els.map(e => e.id)"):
            scenarios = _menu_scenarios(page, menu_id)
            for k in range(len(scenarios)):
                for i in range(len(_menu_views(page, menu_id))):
                    scenario, name = _choose(page, menu_id, i, k if scenarios != [""] else None)
                    where = f"{path.name} menu view {name!r}" + (f" under {scenario!r}" if scenario else "")
                    found = page.evaluate(CHECK_CHARTS_JS, [f"#{menu_id} .chipsuite-vega svg", TOLERANCE_PX])
                    found += page.evaluate(CHECK_TEXT_JS, f"#{menu_id}")
                    problems += [f"{where}: {p}" for p in found]
                    assert page.locator(f"#{menu_id} .chipsuite-vega:has-text('Chart error')").count() == 0, where
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
    import chipsuite
    from chipsuite import widgets

    expected = {"01_cadence.html": widgets.CadenceExplorer.VIEWS, "02_capex.html": widgets.CapexExplorer.VIEWS,
                "03_nvidia_dependence.html": widgets.DependenceExplorer.VIEWS,
                "04_energy_sites.html": widgets.PowerExplorer.VIEWS}
    titles = ["Base case", *(s.title for s in chipsuite.named_scenarios().values())]
    context = browser.new_context()
    guard = Guard(context, [report_dir.resolve().as_uri() + "/"])
    for name, views in expected.items():
        page = guard.watch(context.new_page())
        page.goto((report_dir / name).resolve().as_uri())
        offered = _menu_views(page, "chipsuite-menu-1")
        if name == "04_energy_sites.html":  # the delay grid first, then every view of the live menu
            offered = offered[1:]
        assert list(offered) == list(views), name
        # every named scenario offers the same views as the base case, and the chosen view stays
        assert _menu_scenarios(page, "chipsuite-menu-1") == titles, name
        base_views = _menu_views(page, "chipsuite-menu-1")
        last = len(base_views) - 1
        for k in range(1, len(titles)):
            page.select_option("#chipsuite-menu-1 select", index=last)
            page.select_option("#chipsuite-menu-1 select.chipsuite-scenario-select", index=k)
            assert _menu_views(page, "chipsuite-menu-1") == base_views, (name, titles[k])
            assert page.eval_on_selector("#chipsuite-menu-1 select", "s => s.selectedIndex") == last, name
            assert page.get_attribute("#chipsuite-menu-1", "data-scenario") == titles[k]
        page.close()
    page = guard.watch(context.new_page())
    page.goto((report_dir / "06_data_explorer.html").resolve().as_uri())
    offered = _menu_views(page, "chipsuite-menu-1")
    assert len(offered) == len(widgets.DataExplorer.TABLES)
    assert _menu_scenarios(page, "chipsuite-menu-1") == [""]  # the data do not depend on the scenario
    height = page.evaluate("document.body.scrollHeight")
    assert height < 8000, f"06 is {height} px tall"
    page.close()
    context.close()
    guard.check()
