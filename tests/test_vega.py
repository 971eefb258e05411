"""Offline Vega: bundle, Altair renderer, OfflineChart widget (kernel side).

The front-end behaviour (in-place re-render in a real browser) is in test_browser.py.
"""

import json

import altair as alt
import pandas as pd
import pytest
import traitlets
from hypothesis import given, settings
from hypothesis import strategies as st

import chipsuite
from chipsuite import vega
from chipsuite.report import is_report_mode

CDN_HOSTS = ("esm.sh", "cdn.jsdelivr.net", "unpkg.com", "cdnjs.cloudflare.com", "skypack")


def line_chart(scale=1.0, title="Test power"):
    df = pd.DataFrame({"quarter": ["2025Q1", "2025Q2", "2025Q3"], "power_mw": [10.0, 20.0, 40.0]})
    df["power_mw"] *= scale
    return alt.Chart(df, title=title).mark_line().encode(x="quarter:N", y="power_mw:Q")


# --- bundle ---------------------------------------------------------------------------


def test_script_bundle_defines_globals_in_a_private_scope():
    js = vega.bundle_js("script")
    assert len(js) > 500_000  # vega + vega-lite + vega-embed
    assert js.startswith("(function () {\n\"use strict\";")
    assert js.rstrip().endswith("})();")
    for name in ("window.vegaEmbed", "window.vega", "window.vegaLite"):
        assert name in js
    # safe to inline in <script> and no module syntax in a classic script
    assert "</script" not in js.lower()
    assert "import.meta" not in js


def test_module_bundle_exports_vega_embed():
    js = vega.bundle_js("module")
    assert "window.vegaEmbed" not in js
    tail = js[-300:]
    assert "export{" in tail.replace(" ", "") and "as vegaEmbed" in tail


@pytest.mark.parametrize("kind", ["script", "module"])
def test_bundles_reference_no_cdn(kind):
    js = vega.bundle_js(kind)
    for host in CDN_HOSTS:
        assert host not in js


def test_bundle_kind_is_checked():
    with pytest.raises(ValueError, match="kind must be 'script' or 'module', got 'esm'"):
        vega.bundle_js("esm")


def test_bundle_is_cached():
    assert vega.bundle_js("script") is vega.bundle_js("script")


def test_widget_esm_has_render_and_no_cdn():
    esm = vega.widget_esm()
    assert "chipsuite OfflineChart:" in esm
    assert "as default" in esm[-400:]  # `export { ... as default }`
    for host in CDN_HOSTS:
        assert host not in esm


# --- Vega-Lite version ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ("https://vega.github.io/schema/vega-lite/v6.4.1.json", "6.4"),
        ("https://vega.github.io/schema/vega-lite/v6.9.0.json", "6.4"),  # newest 6.x <= 6.9
        ("https://vega.github.io/schema/vega-lite/v5.17.0.json", "5.17"),
        ("https://vega.github.io/schema/vega-lite/v5.19.0.json", "5.17"),  # 5.18/5.19 not bundled
        ("https://vega.github.io/schema/vega-lite/v5.8.json", "5.8"),
        ("https://vega.github.io/schema/vega-lite/v4.17.0.json", None),  # no 4.x: vl-convert default
        ("", None),
    ],
)
def test_vl_version_of_schema(schema, expected):
    assert vega.vl_version_of({"$schema": schema} if schema else {}) == expected


def test_altair_emits_a_bundled_vega_lite_6():
    assert vega.vl_version_of(line_chart().to_dict()) is not None


# --- renderer -----------------------------------------------------------------------------


def test_chart_mimebundle_has_spec_svg_and_text():
    spec = line_chart().to_dict()
    data, metadata = vega.chart_mimebundle(spec)
    assert sorted(data) == sorted([vega.VEGALITE_MIMETYPE, "image/svg+xml", "text/plain"])
    assert vega.VEGALITE_MIMETYPE == "application/vnd.vegalite.v6+json"
    assert data[vega.VEGALITE_MIMETYPE] == spec
    svg = data["image/svg+xml"]
    assert svg.startswith("<svg")
    assert "Test power" in svg  # the title is drawn
    assert "'Test power'" in data["text/plain"]
    assert metadata == {}
    # the only URLs in the SVG are XML namespaces: nothing to fetch
    urls = {u for u in svg.split('"') if u.startswith("http")}
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


def test_chart_mimebundle_keeps_embed_options_in_metadata():
    _, metadata = vega.chart_mimebundle(line_chart().to_dict(), renderer="canvas")
    assert metadata == {vega.VEGALITE_MIMETYPE: {"embed_options": {"renderer": "canvas"}}}


def test_svg_changes_with_the_data():
    assert vega.spec_to_svg(line_chart(1).to_dict()) != vega.spec_to_svg(line_chart(3).to_dict())


def test_enable_offline_rendering_switches_altair_renderer():
    before = alt.renderers.active
    with chipsuite.enable_offline_rendering():
        assert alt.renderers.active == "chipsuite"
        data, _ = line_chart()._repr_mimebundle_()
        assert vega.VEGALITE_MIMETYPE in data and "image/svg+xml" in data
    assert alt.renderers.active == before


def test_renderer_passes_embed_options():
    with alt.renderers.enable("chipsuite", embed_options={"actions": True}):
        _, metadata = line_chart()._repr_mimebundle_()
    assert metadata[vega.VEGALITE_MIMETYPE]["embed_options"] == {"actions": True}


# --- stable dataset names ------------------------------------------------------------


def test_stable_dataset_names_rename_references_everywhere():
    base = line_chart()
    layered = alt.layer(base, base.mark_point()).to_dict()
    old = list(layered["datasets"])
    out = vega._stable_dataset_names(layered)
    assert list(out["datasets"]) == ["chipsuite_data_0"]
    assert old[0] not in json.dumps(out)
    assert out["datasets"]["chipsuite_data_0"] == layered["datasets"][old[0]]
    assert layered["datasets"] == {old[0]: layered["datasets"][old[0]]}  # input untouched


values = st.lists(st.dictionaries(st.sampled_from("abc"), st.integers(), min_size=1), max_size=4)


@settings(max_examples=40, deadline=None)
@given(st.lists(values, min_size=1, max_size=3, unique_by=json.dumps))
def test_stable_dataset_names_is_idempotent_and_keeps_values(tables):
    spec = {
        "layer": [{"data": {"name": f"data-{i:032x}"}, "mark": "point"} for i in range(len(tables))],
        "datasets": {f"data-{i:032x}": t for i, t in enumerate(tables)},
    }
    out = vega._stable_dataset_names(spec)
    assert vega._stable_dataset_names(out) == out
    assert list(out["datasets"].values()) == tables
    names = [layer["data"]["name"] for layer in out["layer"]]
    assert names == [f"chipsuite_data_{i}" for i in range(len(tables))]


# --- OfflineChart (kernel side) ------------------------------------------------------


def test_offline_chart_from_chart_and_update():
    widget = chipsuite.OfflineChart(line_chart(1))
    assert widget.spec["datasets"]["chipsuite_data_0"][2]["power_mw"] == 40.0
    assert widget.renderer == "svg"
    widget.update(line_chart(2))
    assert list(widget.spec["datasets"]) == ["chipsuite_data_0"]
    assert widget.spec["datasets"]["chipsuite_data_0"][2]["power_mw"] == 80.0
    assert widget._esm == vega.widget_esm()


def test_offline_chart_rejects_non_vega_lite_dicts():
    with pytest.raises(traitlets.TraitError, match="OfflineChart.spec: expected a Vega-Lite spec"):
        chipsuite.OfflineChart(spec={"foo": 1})


def test_offline_chart_rejects_chart_and_spec_together():
    with pytest.raises(TypeError, match="either chart or spec"):
        chipsuite.OfflineChart(line_chart(), spec=line_chart().to_dict())


def test_offline_chart_is_a_widget_view_outside_report_mode(monkeypatch):
    monkeypatch.delenv("CHIPSUITE_REPORT", raising=False)
    data, _ = chipsuite.OfflineChart(line_chart())._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data


def test_offline_chart_is_a_static_chart_in_report_mode(monkeypatch):
    monkeypatch.setenv("CHIPSUITE_REPORT", "1")
    widget = chipsuite.OfflineChart(line_chart())
    data, _ = widget._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" not in data
    assert data[vega.VEGALITE_MIMETYPE] == widget.spec
    assert data["image/svg+xml"].startswith("<svg")


# --- report mode -----------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("0", False), ("true", False), ("", False)])
def test_is_report_mode_reads_env(monkeypatch, value, expected):
    monkeypatch.setenv("CHIPSUITE_REPORT", value)
    assert is_report_mode() is expected
    assert chipsuite.is_report_mode() is expected


def test_is_report_mode_off_when_unset(monkeypatch):
    monkeypatch.delenv("CHIPSUITE_REPORT", raising=False)
    assert is_report_mode() is False
