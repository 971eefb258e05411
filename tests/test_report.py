"""The offline report builder (python -m chipsuite report).

Fast tests use hand-built notebook nodes; tests marked ``slow`` execute the fixture
notebooks in tests/fixtures/ (and the real notebooks once notebooks/00_tour.ipynb exists)
with a kernel. What the pages look like in a browser is tested in test_browser.py.
"""

import json
import os
import sys
from pathlib import Path

import altair as alt
import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from chipsuite import report
from chipsuite.__main__ import main as cli_main
from chipsuite.vega import VEGALITE_MIMETYPE, bundle_js

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def spec(title="t"):
    return {"$schema": "https://vega.github.io/schema/vega-lite/v6.4.1.json", "title": title,
            "data": {"values": [{"a": 1}]}, "mark": "point", "encoding": {"x": {"field": "a", "type": "quantitative"}}}


def chart_output(mimetype=VEGALITE_MIMETYPE, title="t", metadata=None):
    # nbformat keeps only "+json" mimetypes as JSON; Altair's ".json" spelling is text
    value = spec(title) if mimetype.endswith("+json") else json.dumps(spec(title))
    return new_output("display_data", data={mimetype: value, "image/svg+xml": "<svg></svg>",
                                            "text/plain": "chart"}, metadata=metadata or {})


# --- title and summary ----------------------------------------------------------------


def test_title_and_summary_from_h1_and_first_paragraph():
    nb = new_notebook(cells=[
        new_code_cell("x = 1"),
        new_markdown_cell("# MTIA **cadence**\n\n![logo](logo.png)\n\nHow fast does Meta ship "
                          "[MTIA](https://ai.meta.com) chips?\nA new one every `6` months.\n\nMore."),
    ])
    assert report.notebook_title_summary(nb) == (
        "MTIA cadence", "How fast does Meta ship MTIA chips? A new one every 6 months.")


def test_summary_can_follow_the_title_line_or_come_from_a_later_cell():
    same_block = new_notebook(cells=[new_markdown_cell("# Title\nFirst words.")])
    assert report.notebook_title_summary(same_block) == ("Title", "First words.")
    later = new_notebook(cells=[new_markdown_cell("# Title"), new_markdown_cell("## Overview\n\n- a\n\nText.")])
    assert report.notebook_title_summary(later) == ("Title", "Text.")
    assert report.notebook_title_summary(new_notebook(cells=[new_code_cell("1")])) == ("", "")


# --- output rewriting --------------------------------------------------------------------


def test_vega_outputs_become_div_and_vega_embed_call():
    nb = new_notebook(cells=[
        new_code_cell("c", outputs=[chart_output(), new_output("stream", name="stdout", text="hi\n")]),
        new_code_cell("d", outputs=[chart_output("application/vnd.vegalite.v6.json", "second",
                                                 metadata={VEGALITE_MIMETYPE: {}})]),
        new_code_cell("e", outputs=[new_output("display_data", data={"image/png": "iVBOR"})]),
    ])
    assert report.embed_vega_outputs(nb) == 2
    first, second = nb.cells[0].outputs[0], nb.cells[1].outputs[0]
    assert list(first.data) == ["text/html"] and first.metadata == {}
    html1 = first.data["text/html"]
    assert '<div class="chipsuite-vega" id="chipsuite-vega-1"></div>' in html1
    assert 'vegaEmbed(document.getElementById("chipsuite-vega-1"), ' in html1
    assert '{"actions":false}' in html1
    assert 'id="chipsuite-vega-2"' in second.data["text/html"]
    assert nb.cells[0].outputs[1].text == "hi\n"  # other outputs untouched
    assert nb.cells[2].outputs[0].data == {"image/png": "iVBOR"}


def test_embed_options_from_metadata_are_merged():
    out = chart_output(metadata={VEGALITE_MIMETYPE: {"embed_options": {"renderer": "canvas"}}})
    nb = new_notebook(cells=[new_code_cell("c", outputs=[out])])
    report.embed_vega_outputs(nb)
    assert '{"actions":false,"renderer":"canvas"}' in nb.cells[0].outputs[0].data["text/html"]


def test_spec_text_cannot_close_the_script_tag():
    nb = new_notebook(cells=[new_code_cell("c", outputs=[chart_output(title="</script><b>x</b>")])])
    report.embed_vega_outputs(nb)
    html = nb.cells[0].outputs[0].data["text/html"]
    assert html.count("</script") == 1  # only the real closing tag
    spec_json = html.split('getElementById("chipsuite-vega-1"), ', 1)[1].rsplit(', {"actions"', 1)[0]
    assert json.loads(spec_json)["title"] == "</script><b>x</b>"


def test_non_object_vega_output_is_rejected():
    out = new_output("display_data", data={"application/vnd.vegalite.v6.json": "[1, 2]"})
    nb = new_notebook(cells=[new_markdown_cell("# T"), new_code_cell("c", outputs=[out])])
    with pytest.raises(report.ReportError, match=r"nb.ipynb cell 1: .* not a JSON object \(got list\)"):
        report.embed_vega_outputs(nb, "nb.ipynb")
    out.data = {"application/vnd.vegalite.v6.json": "{oops"}
    with pytest.raises(report.ReportError, match=r"nb.ipynb cell 1: .* not valid JSON"):
        report.embed_vega_outputs(nb, "nb.ipynb")


def test_widget_view_output_fails_loudly_naming_notebook_and_cell():
    out = new_output("display_data", data={report.WIDGET_VIEW_MIMETYPE: {"model_id": "abc"},
                                           "text/plain": "IntSlider(value=3)"})
    cell = new_code_cell("w", outputs=[out], execution_count=4)
    nb = new_notebook(cells=[new_markdown_cell("# T"), new_code_cell("1"), cell])
    with pytest.raises(report.ReportError) as info:
        report.check_no_widget_views(nb, "02_sites.ipynb")
    message = str(info.value)
    assert message.startswith("02_sites.ipynb cell 2 (execution count 4): output is an ipywidget view")
    assert "IntSlider(value=3)" in message and "is_report_mode()" in message


# --- network references ----------------------------------------------------------------


def test_network_references_finds_loads_not_links():
    html = """
    <link rel="stylesheet" href="https://cdn.example.org/a.css">
    <script src="//cdn.example.org/a.js"></script>
    <script src="local.js"></script>
    <img src="data:image/png;base64,AAAA"><img src="http://example.org/x.png">
    <a href="https://example.org/source">a source</a>
    <style>@font-face { src: url("https://fonts.example.org/f.woff2"); }</style>
    <div style="background: url(https://example.org/bg.png)"></div>
    <script type="module">import x from "https://esm.example.org/x.js";</script>
    <script>var p = "https://cdn.jsdelivr.net/npm/vega@6";</script>
    """
    found = report.network_references(html)
    assert len(found) == 7, found
    assert found[0] == "<link href='https://cdn.example.org/a.css'>"
    assert found[1] == "<script src='//cdn.example.org/a.js'>"
    assert found[2] == "<img src='http://example.org/x.png'>"
    assert found[-1] == "<script> mentions CDN host cdn.jsdelivr.net"


def test_vega_bundle_has_no_network_references():
    assert report.network_references(f"<script>{bundle_js('script')}</script>") == []


def test_altair_default_html_output_is_refused():
    chart = alt.Chart(alt.Data(values=[{"a": 1}])).mark_point().encode(x="a:Q")
    with alt.renderers.enable("html"):
        data = chart._repr_mimebundle_()
    data = data[0] if isinstance(data, tuple) else data
    nb = new_notebook(cells=[new_code_cell("c", outputs=[new_output("display_data", data=data)])])
    with pytest.raises(report.ReportError, match=r"nb cell 0: output loads from the network .*cdn"):
        report.check_outputs_offline(nb, "nb")


# --- export ---------------------------------------------------------------------------------


def test_export_html_is_offline_with_one_bundle():
    nb = new_notebook(cells=[new_markdown_cell("# Hello $x^2$"),
                             new_code_cell("c", outputs=[chart_output(), chart_output()])],
                      metadata={"language_info": {"name": "python"}})
    report.embed_vega_outputs(nb)
    body = report.export_html(nb, title="Hello & co", footer="built here")
    assert report.network_references(body) == []
    assert body.count("window.vegaEmbed") == 1  # the bundle is inlined once
    assert body.count("vegaEmbed(document.getElementById") == 2
    lower = body.lower()
    for cdn_tag in ("mathjax", "require.min.js", "mermaid", "html-manager"):
        assert cdn_tag not in lower, cdn_tag
    assert "<title>Hello &amp; co</title>" in body
    assert "built here" in body


def test_index_lists_pages_with_escaped_titles(tmp_path):
    pages = [
        report.ReportPage(Path("nb/00_tour.ipynb"), tmp_path / "00_tour.html", "Tour <of> chips",
                          "What & why.", 1, 1_250_000, 1.0),
        report.ReportPage(Path("nb/01_capex.ipynb"), tmp_path / "01_capex.html", "Capex", "", 2, 900_000, 1.0),
    ]
    index = report.write_index(pages, tmp_path).read_text()
    assert '<li><a href="00_tour.html">Tour &lt;of&gt; chips</a><p>What &amp; why.</p>' in index
    assert "1 chart, 1.2 MB" in index and "2 charts, 0.9 MB" in index
    assert index.index("00_tour.html") < index.index("01_capex.html")
    assert report.network_references(index) == []


def test_find_notebooks_skips_checkpoints_and_nbconvert_outputs(tmp_path):
    for rel in ["b.ipynb", "a.ipynb", "a.nbconvert.ipynb", ".ipynb_checkpoints/a-checkpoint.ipynb", "c.txt"]:
        (tmp_path / rel).parent.mkdir(exist_ok=True)
        (tmp_path / rel).write_text("{}")
    found = report.find_notebooks(str(tmp_path / "**" / "*"))
    assert [p.name for p in found] == ["a.ipynb", "b.ipynb"]


# --- CLI ---------------------------------------------------------------------------------------


def test_cli_reports_no_match(tmp_path, capsys):
    assert cli_main(["report", "--notebooks", str(tmp_path / "*.ipynb"), "--out", str(tmp_path)]) == 1
    assert "no notebook matches" in capsys.readouterr().err


def test_cli_rejects_non_positive_timeout(capsys):
    with pytest.raises(SystemExit):
        cli_main(["report", "--timeout", "0"])
    assert "--timeout must be > 0 seconds, got 0.0" in capsys.readouterr().err


def test_cli_unknown_subcommand_and_help(capsys):
    assert cli_main(["frobnicate"]) == 2
    assert "unknown subcommand 'frobnicate'" in capsys.readouterr().err
    assert cli_main(["--help"]) == 0
    assert "report" in capsys.readouterr().out


def test_cli_bench_without_module_says_so(capsys, monkeypatch):
    # simulate an install without chipsuite/bench.py: a None entry makes the import fail
    monkeypatch.setitem(sys.modules, "chipsuite.bench", None)
    assert cli_main(["bench"]) == 2
    assert "chipsuite/bench.py is not available" in capsys.readouterr().err


def test_kernel_env_sets_report_mode_and_finds_this_chipsuite(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", "/somewhere")
    env = report._kernel_env({"CHIPSUITE_DRAWS": "50"})
    assert env["CHIPSUITE_REPORT"] == "1" and env["CHIPSUITE_DRAWS"] == "50"
    assert env["PYTHONPATH"].split(os.pathsep) == [str(REPO), "/somewhere"]


# --- executing notebooks (slow) ------------------------------------------------------------------


@pytest.mark.slow
def test_fixture_reports_are_built_offline(fixture_reports):
    out, pages = fixture_reports
    assert [p.html_path.name for p in pages] == ["00_fixture_tour.html", "01_fixture_notes.html"]
    assert [p.n_charts for p in pages] == [3, 1]
    assert [p.title for p in pages] == ["Fixture tour", "Fixture notes"]
    assert pages[1].summary == "A second notebook with one chart and a table, to check the index page."
    for page in pages:
        body = page.html_path.read_text()
        assert page.size_bytes == page.html_path.stat().st_size > 900_000  # bundle inlined
        assert body.count("window.vegaEmbed") == 1
        assert body.count('class="chipsuite-vega"') == page.n_charts
        assert report.network_references(body) == []
        assert report.WIDGET_VIEW_MIMETYPE not in body
    tour = pages[0].html_path.read_text()
    assert "draws: 50" in tour  # CI-mode parameter reached the kernel
    assert "3 sites" in tour  # OfflineChart showed its static chart in report mode
    index = (out / "index.html").read_text()
    assert '<a href="00_fixture_tour.html">Fixture tour</a>' in index
    assert '<a href="01_fixture_notes.html">Fixture notes</a>' in index


@pytest.mark.slow
@pytest.mark.parametrize(
    ("notebook", "message"),
    [
        ("widget_leak.ipynb", r"widget_leak.ipynb cell 1 \(execution count 1\): output is an ipywidget view"),
        ("cell_error.ipynb", r"cell_error.ipynb: a cell raised an error(.|\n)*ZeroDivisionError"),
        ("cdn_chart.ipynb", r"cdn_chart.ipynb cell 1 .*loads from the network .*cdn.jsdelivr.net"),
    ],
)
def test_bad_notebooks_fail_loudly(tmp_path, notebook, message):
    with pytest.raises(report.ReportError, match=message):
        report.build_reports(str(FIXTURES / "bad_notebooks" / notebook), tmp_path, timeout_s=120)
    assert not (tmp_path / "index.html").exists()


@pytest.mark.slow
def test_cli_builds_fixture_reports_and_prints_sizes(tmp_path, capsys):
    notes = str(FIXTURES / "notebooks" / "01_fixture_notes.ipynb")
    assert cli_main(["report", "--out", str(tmp_path), "--notebooks", notes, "--timeout", "120"]) == 0
    printed = capsys.readouterr().out
    assert "1 report(s)" in printed and "01_fixture_notes.html" in printed and " MB " in printed
    assert (tmp_path / "index.html").exists()


@pytest.mark.slow
def test_real_notebooks_build_offline(real_reports):  # skips until notebooks/00_tour.ipynb exists
    out, pages = real_reports
    assert pages[0].html_path.name == "00_tour.html"
    assert (out / "index.html").exists()
    for page in pages:
        assert page.title, f"{page.notebook.name}: no H1 title"
        assert page.n_charts >= 1, f"{page.notebook.name}: no chart in the report"
        assert report.network_references(page.html_path.read_text()) == []
        print(f"{page.html_path.name}: {page.size_bytes / 1e6:.2f} MB, {page.n_charts} charts")


def test_fixture_notebooks_have_no_outputs():
    for path in sorted(FIXTURES.glob("*/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), path


# --- what a reader sees (issue 13): view menus, links, formulas, navigation, headlines -------------


def test_view_menu_output_becomes_select_over_precomputed_views():
    from chipsuite.explorers.base import VIEW_MENU_MIMETYPE

    menu = {"title": "Cadence explorer", "label": "View", "default": "b",
            "views": [{"name": "a", "spec": spec("A"), "html": ""}, {"name": "b", "spec": spec("B"), "html": "<p>x</p>"},
                      {"name": "c", "spec": None, "html": "<table></table>"}]}
    nb = new_notebook(cells=[new_code_cell("app.show()", outputs=[
        new_output("display_data", data={VIEW_MENU_MIMETYPE: menu, "text/plain": "menu"}), chart_output()])])
    assert report.embed_vega_outputs(nb) == 2
    page = nb.cells[0].outputs[0].data["text/html"]
    assert '<option value="1" selected>b</option>' in page and "<select" in page
    assert 'class="chipsuite-vega" id="chipsuite-vega-1"' in page and '"title":"A"' in page
    assert 'id="chipsuite-vega-2"' in nb.cells[0].outputs[1].data["text/html"]
    assert report.network_references(page) == []


def test_view_menu_with_named_scenarios_offers_every_view_under_each():
    from chipsuite.explorers.base import VIEW_MENU_MIMETYPE

    shared = {"data-events": [{"date": "2026-01-01", "label": "deal"}]}

    def view(name, title, own):
        return {"name": name, "spec": {**spec(title), "datasets": {**shared, own: [{"a": 1}]}}, "html": ""}

    menu = {"title": "Capex explorer", "label": "View", "default": "b", "scenario": "Base case",
            "views": [view("a", "A base", "data-1"), view("b", "B base", "data-2")],
            "scenarios": [{"name": "Bear case",
                           "views": [view("a", "A bear", "data-3"), view("b", "B bear", "data-4")]}]}
    nb = new_notebook(cells=[new_code_cell("app.show()", outputs=[
        new_output("display_data", data={VIEW_MENU_MIMETYPE: menu, "text/plain": "menu"})])])
    assert report.embed_vega_outputs(nb) == 1  # one chart slot: the two menus choose what it shows
    page = nb.cells[0].outputs[0].data["text/html"]
    assert '<select aria-label="Capex explorer view">' in page
    assert 'aria-label="Capex explorer named scenario"' in page and ">Bear case</option>" in page
    assert '"title":"A bear"' in page and '"title":"B bear"' in page  # every view under the other scenario
    assert page.count('"data-events"') == 1 + 4  # the shared rows once, each view naming them
    assert page.count('"2026-01-01"') == 1
    assert report.network_references(page) == []


def test_share_datasets_keeps_differing_rows_inline():
    groups = [{"name": "g", "views": [{"name": "a", "spec": {"datasets": {"d": [1]}}},
                                      {"name": "b", "spec": {"datasets": {"d": [2]}}},
                                      {"name": "c", "spec": {"datasets": {"e": [3]}}}]}]
    assert report.share_datasets(groups) == {}
    assert [v["spec"]["datasets"] for v in groups[0]["views"]] == [{"d": [1]}, {"d": [2]}, {"e": [3]}]


def test_links_become_report_links_and_outside_files_paths():
    text = ("[tour](00_tour.ipynb), `02_capex.ipynb`, [`data/README.md`](../data/README.md), "
            "[web](https://example.org), `code [x](y.ipynb)`")
    out = report.rewrite_links(text, ["00_tour", "02_capex"])
    assert "[tour](00_tour.html)" in out and "[02_capex](02_capex.html)" in out
    assert "../data" not in out and "`data/README.md`" in out
    assert "[web](https://example.org)" in out and "`code [x](y.ipynb)`" in out
    assert report.rewrite_links("[all](index.html), [p](02_capex.html)", ["02_capex"]) == (
        "[all](index.html), [p](02_capex.html)")


def test_formulas_become_mathml_but_not_code_or_money():
    out = report.latex_to_mathml(r"Power $P = \frac{E}{t}$ and `$x$` and 5 USD, $$E = mc^2$$")
    assert out.count("<math") == 2 and 'display="block"' in out and "`$x$`" in out
    assert report.latex_to_mathml("costs $5 and $6") == "costs $5 and $6"


@pytest.mark.slow
def test_pages_link_index_and_neighbours_and_index_shows_headlines(fixture_reports):
    out, pages = fixture_reports
    first = pages[0].html_path.read_text(encoding="utf-8")
    assert 'class="chipsuite-nav"' in first and 'href="index.html"' in first
    assert f'href="{pages[1].html_path.name}"' in first
    second = pages[1].html_path.read_text(encoding="utf-8")
    assert f'href="{pages[0].html_path.name}"' in second


def test_index_lists_question_and_headline(tmp_path):
    page = report.ReportPage(notebook=Path("01_x.ipynb"), html_path=tmp_path / "01_x.html", title="T",
                             summary="S", n_charts=1, size_bytes=10, seconds=1.0, headline="MTIA holds 17 %",
                             question="What share?")
    index = report.write_index([page], tmp_path).read_text(encoding="utf-8")
    assert '<p class="headline">MTIA holds 17 %</p>' in index and '<p class="question">What share?</p>' in index


# --- named scenarios (issue 13 item 8): a report section comparing them --------------------------


def _shown_outputs(monkeypatch, report_mode=True):
    """What ``chipsuite.compare.show()`` displays, as notebook outputs (report mode by default)."""
    import IPython.display

    from chipsuite import compare
    from chipsuite.modes import REPORT_ENV

    if report_mode:
        monkeypatch.setenv(REPORT_ENV, "1")
    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, raw=False, **kw: shown.append(obj))
    frame = compare.show()
    outputs = []
    for obj in shown:
        if isinstance(obj, dict) or hasattr(obj, "_repr_html_"):  # a mimebundle or a table (not a widget)
            data = obj if isinstance(obj, dict) else {"text/html": obj._repr_html_(), "text/plain": repr(obj)}
            outputs.append(new_output("display_data", data=data))
    return frame, shown, outputs


def test_report_has_a_named_scenario_section(monkeypatch):
    from chipsuite.scenario import named_scenarios

    frame, shown, outputs = _shown_outputs(monkeypatch)
    named = named_scenarios()
    assert frame["scenario"].tolist() == ["base", *named]
    nb = new_notebook(cells=[new_code_cell("named = compare.show()", outputs=outputs)])
    report.check_no_widget_views(nb)  # kernel-free
    assert report.embed_vega_outputs(nb) == 1
    table, menu = (o.data["text/html"] for o in nb.cells[0].outputs)
    for s in named.values():  # every scenario in the comparison table and in the menu
        assert s.title in table  # (the pandas Styler writes cell text unescaped)
        assert f">{html_escape(s.title)}</option>" in menu
    assert "capex 2027 [USD bn]" in table and "MTIA share, 2027Q4 [%]" in table and "Base case" in table
    assert '<select aria-label="Named scenarios scenario">' in menu
    # the precomputed views carry each scenario's reasoning, diff against base, headlines and sources
    bear = named["bear"]
    assert html_escape(bear.reasoning[:60]) in menu and "2026 demand (H100e)" in menu and "S22" in menu
    assert report.network_references(table + menu) == []


def test_named_scenario_section_with_a_kernel_is_a_widget(monkeypatch):
    from chipsuite.modes import REPORT_ENV

    monkeypatch.delenv(REPORT_ENV, raising=False)
    _, shown, _ = _shown_outputs(monkeypatch, report_mode=False)
    box = shown[-1]
    menu, chart, text = box.children
    assert menu.description == "scenario"
    before = (chart.spec, text.value)
    menu.value = menu.options[1]  # what a user does
    assert (chart.spec, text.value) != before and menu.options[1] in text.value


def html_escape(text):
    import html

    return html.escape(text)


@pytest.mark.slow
def test_real_report_compares_named_scenarios(real_reports):
    out, pages = real_reports
    page = (out / "05_uncertainty.html").read_text(encoding="utf-8")
    assert "Named scenarios" in page and '<select aria-label="Named scenarios scenario">' in page
    assert "AMD deal at its full 6 GW" in page
