"""The static chart fallback that Explorer.show() displays next to the widget view, so that
plain nbconvert, nbviewer and GitHub show the chart (the browser check is in test_voila.py)."""

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from chipsuite import widgets as W
from chipsuite.explorers.base import FALLBACK_CLASS
from chipsuite.vega import spec_to_svg

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def shown_outputs(app, monkeypatch):
    """The outputs of ``app.show()`` in normal (not report) mode, as nbformat outputs."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    monkeypatch.delenv("CHIPSUITE_REPORT", raising=False)
    InteractiveShell.instance()
    try:
        with capture_output() as captured:
            app.show()
    finally:
        InteractiveShell.clear_instance()
    return [new_output("display_data", data=o.data, metadata=o.metadata) for o in captured.outputs]


def test_show_displays_the_snapshot_of_the_current_chart_then_the_widget(monkeypatch):
    app = W.CadenceExplorer(cadence_months=12)
    fallback, widget = shown_outputs(app, monkeypatch)
    assert WIDGET_VIEW in widget.data and WIDGET_VIEW not in fallback.data
    assert set(fallback.data) == {"text/html", "image/svg+xml", "text/plain"}
    expected_svg = spec_to_svg(app.chart_spec())
    assert fallback.data["image/svg+xml"] == expected_svg
    assert expected_svg in fallback.data["text/html"]
    assert f'<div class="{FALLBACK_CLASS}">' in fallback.data["text/html"]
    assert expected_svg != spec_to_svg(W.CadenceExplorer().chart_spec())  # the current state, not the default


def test_snapshot_hides_itself_only_next_to_a_live_chart():
    html = W.EnergyExplorer().static_fallback_bundle()["text/html"]
    assert ".jp-OutputArea:has(.chipsuite-offline-chart) > .jp-OutputArea-child:has(.chipsuite-static-fallback)" in html
    assert "display: none" in html.split("<style>")[1]
    assert html.count("display: none") == 1  # nothing else hides it


@pytest.mark.parametrize("store_widget_state", [False, True])
def test_plain_nbconvert_html_shows_the_snapshot(monkeypatch, store_widget_state):
    """nbconvert's default HTML export (lab template) of the explorer cell contains the SVG,
    whether or not the widget state was saved (with it, the widget view needs a CDN)."""
    from nbconvert import HTMLExporter

    app = W.DataExplorer()
    outputs = shown_outputs(app, monkeypatch)
    nb = new_notebook(cells=[new_code_cell("app.show()", outputs=outputs)],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    if store_widget_state:
        model_id = outputs[1].data[WIDGET_VIEW]["model_id"]
        nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
            "version_major": 2, "version_minor": 0, "state": {model_id: {"model_name": "VBoxModel",
                                                                         "model_module": "@jupyter-widgets/controls",
                                                                         "model_module_version": "2.0.0",
                                                                         "state": {}}}}}
    nbformat.validate(nb)
    body, _ = HTMLExporter().from_notebook_node(nb)
    assert body.count(f'<div class="{FALLBACK_CLASS}">') == 1
    assert 'class="marks"' in body  # vl-convert's SVG
    assert (f'"model_id": "{outputs[1].data[WIDGET_VIEW]["model_id"]}"' in body) == store_widget_state


@pytest.mark.parametrize("make", [W.CadenceExplorer, W.CapexExplorer, W.DependenceExplorer, W.EnergyExplorer,
                                  lambda: W.UncertaintyExplorer(draws=10), W.DataExplorer],
                         ids=["cadence", "capex", "dependence", "energy", "uncertainty", "data"])
def test_every_explorer_shows_a_snapshot_before_its_widget(monkeypatch, make):
    outputs = shown_outputs(make(), monkeypatch)
    assert [WIDGET_VIEW in o.data for o in outputs] == [False, True]
    assert outputs[0].data["image/svg+xml"].startswith("<svg")
