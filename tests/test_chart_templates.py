"""Chart templates (chipsuite.charts.template_spec, issue 16): in spec_mode() every templated chart
builder returns exactly Altair's ``chart.to_dict()`` (same dict, same JSON text), for new data, new
case text and with or without events, and falls back to Altair where a template cannot serve."""

import json

import altair as alt
import numpy as np
import pandas as pd
import pytest

import chipsuite
from chipsuite import charts
from chipsuite.explorers import energy as energy_views
from chipsuite.scenario import Scenario


@pytest.fixture(scope="module")
def results():
    base = Scenario.default()
    return [chipsuite.run(), chipsuite.run(base.replace(demand_growth_2027=base.demand_growth_2027 + 0.5,
                                                        nvidia_price_multiplier=1.4, mtia_cadence=2.0)),
            chipsuite.run(base.replace(rental_scale=0.0, amd_deal_scale=2.0, nuclear_contract_delay_quarters=4.0))]


def _tornado(result):
    return pd.DataFrame({"parameter": ["demand_growth_2027", "demand_growth_2027", "pue", "pue"],
                         "bound": ["low", "high", "low", "high"],
                         "delta": np.array([-1.0, 2.0, 0.5, -0.25]) * float(result.capex_usd.isel(draw=0)[20]) / 1e10})


#: name -> (builder, frame of a result, keyword arguments); every builder with a template
BUILDERS = {
    "mtia_share": (charts.mtia_share_chart, charts.mtia_share_frame, {}),
    "mtia_share_events": (charts.mtia_share_chart, charts.mtia_share_frame,
                          {"events": lambda: charts.event_frame(["chips"], start="2025-06-01")}),
    "fleet_by_generation": (charts.fleet_by_generation_chart, charts.fleet_by_generation_frame,
                            {"events": lambda: charts.event_frame(["chips"])}),
    "perf_per_watt": (charts.perf_per_watt_chart, charts.perf_per_watt_frame, {}),
    "nre_savings": (charts.nre_savings_chart, charts.nre_savings_frame, {}),
    "capex_annual": (charts.capex_annual_chart, charts.capex_annual_frame, {}),
    "capex_quarterly": (charts.capex_quarterly_chart, charts.capex_quarterly_frame,
                        {"events": lambda: charts.event_frame(["capex"], start="2023-06-01")}),
    "capex_parts": (charts.capex_parts_chart, charts.capex_parts_frame, {}),
    "dependence": (charts.dependence_shares_chart, charts.dependence_shares_frame,
                   {"events": lambda: charts.event_frame(["deal"], start="2025-01-01")}),
    "suppliers": (charts.supplier_chart, charts.supplier_frame, {"events": lambda: charts.event_frame(["deal"])}),
    "supplier_shares": (charts.supplier_chart, lambda r: charts.supplier_frame(r, basis="spend"), {"shares": True}),
    "hhi": (charts.hhi_chart, charts.hhi_frame, {}),
    "site_power": (charts.site_power_chart, charts.site_power_frame, {}),
    "fleet_power": (charts.fleet_power_chart, charts.fleet_power_frame,
                    {"events": lambda: charts.event_frame(["site"], start="2025-01-01")}),
    "energy": (charts.energy_annual_chart, charts.energy_annual_frame, {}),
    "electricity_by_source": (energy_views.electricity_by_source_chart, energy_views.electricity_by_source_frame, {}),
    "electricity_by_site": (energy_views.electricity_by_site_chart, energy_views.electricity_by_site_frame, {}),
    "contract_timeline": (energy_views.contract_timeline_chart,
                          lambda r: energy_views.contract_timeline_frame(Scenario.from_json(r.attrs["scenario"])), {}),
    "emissions_methods": (energy_views.emissions_methods_chart, energy_views.emissions_methods_frame, {}),
    "fleet_vs_reported": (energy_views.fleet_vs_reported_chart, energy_views.fleet_vs_reported_frame, {}),
}


def _assert_same_spec(fast, full):
    assert isinstance(fast, dict)
    assert fast == full
    assert json.dumps(fast) == json.dumps(full)  # key order too


def _kwargs(kwargs):
    return {k: (v() if callable(v) else v) for k, v in kwargs.items()}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_templated_spec_equals_altair_for_new_data_and_text(name, results):
    build, frame_of, kwargs = BUILDERS[name]
    charts._TEMPLATES.clear()
    for i, result in enumerate(results):
        for case in ("base case", f"case {i}: Nvidia x1.40, \"quoted\" <b>text</b>"):
            frame = frame_of(result)
            with charts.spec_mode():
                fast = build(frame, case, **_kwargs(kwargs))
            _assert_same_spec(fast, build(frame, case, **_kwargs(kwargs)).to_dict())
    assert charts._TEMPLATES and all(t is not None for t in charts._TEMPLATES.values()), name
    # new rows and new case text reuse the template: at most one per equal-rows pattern
    assert len(charts._TEMPLATES) <= 2, (name, len(charts._TEMPLATES))


def test_tornado_spec_equals_altair(results):
    for result in results:
        frame = _tornado(result)
        for title, x_title, case in (("What moves capex", "Change [USD bn]", "one-at-a-time sensitivity"),
                                     ("What moves the MTIA share", "Change [%]", "1,000 draws, seed 3")):
            with charts.spec_mode():
                fast = charts.tornado_chart(frame, title, x_title, case)
            _assert_same_spec(fast, charts.tornado_chart(frame, title, x_title, case).to_dict())


def test_template_rows_are_not_stale_and_results_can_be_mutated(results):
    charts._TEMPLATES.clear()
    a, b = (charts.capex_parts_frame(r) for r in results[:2])
    with charts.spec_mode():
        spec_a = charts.capex_parts_chart(a, "first")
        spec_a["datasets"][next(iter(spec_a["datasets"]))][0]["capex_usd_bn"] = -1.0
        spec_a["title"]["subtitle"] = "changed"
        spec_a["encoding"]["x"]["title"] = "changed"
        spec_b = charts.capex_parts_chart(b, "second")
        again_a = charts.capex_parts_chart(a, "first")
    assert len(charts._TEMPLATES) == 1
    _assert_same_spec(spec_b, charts.capex_parts_chart(b, "second").to_dict())
    _assert_same_spec(again_a, charts.capex_parts_chart(a, "first").to_dict())
    assert list(spec_b["datasets"]) != list(again_a["datasets"])


def test_outside_spec_mode_builders_return_altair_charts(results):
    frame = charts.mtia_share_frame(results[0])
    chart = charts.mtia_share_chart(frame, events=charts.event_frame(["chips"]))
    assert isinstance(chart, alt.TopLevelMixin)
    assert chart.to_dict() == charts.with_events(charts._mtia_share_build((frame,), "base case"),
                                                 charts.event_frame(["chips"])).to_dict()


def test_template_falls_back_to_altair_where_it_cannot_serve(results):
    frame = charts.hhi_frame(results[0])
    odd = {
        "empty frame": frame.iloc[:0],
        "nullable floats": frame.astype({"hhi": "Float64"}),
        "mixed object column": frame.assign(note=[1, *["a"] * (len(frame) - 1)]),
        "sub-second dates": frame.assign(quarter=frame["quarter"] + pd.Timedelta(milliseconds=5)),
    }
    for name, f in odd.items():
        before = dict(charts._TEMPLATES)
        with charts.spec_mode():
            fast = charts.hhi_chart(f, "odd")
        _assert_same_spec(fast, charts.hhi_chart(f, "odd").to_dict())
        assert charts._TEMPLATES == before, name  # Altair's path, no template made
    with alt.data_transformers.enable("default", max_rows=None):
        with charts.spec_mode():
            fast = charts.hhi_chart(frame, "odd")
        _assert_same_spec(fast, charts.hhi_chart(frame, "odd").to_dict())


def _text_shapes_chart(frames, label):
    """A chart whose 'text' also sets its width: not a pure text slot."""
    (frame,) = frames
    return alt.Chart(frame, width=100 + len(label), title=label).mark_line().encode(x="quarter:T", y="hhi:Q")


def test_text_that_changes_structure_gets_no_template(results):
    charts._TEMPLATES.clear()
    frame = charts.hhi_frame(results[0])
    for label in ("short", "a longer label"):
        spec = charts.template_spec(_text_shapes_chart, (label,), (frame,), text=(0,))
        _assert_same_spec(spec, _text_shapes_chart((frame,), label).to_dict())
    assert list(charts._TEMPLATES.values()) == [None]  # found at the first call, Altair's path since


def test_frames_with_equal_rows_share_a_dataset_as_in_altair():
    def two(frames, title):
        a, b = frames
        return alt.layer(alt.Chart(a).mark_point().encode(x="x:Q"), alt.Chart(b).mark_line().encode(x="x:Q"),
                         title=title)

    charts._TEMPLATES.clear()
    f1, f2 = pd.DataFrame({"x": [1.0, 2.0]}), pd.DataFrame({"x": [3.0]})
    for frames in ((f1, f2), (f1, f1.copy()), (f2, f1), (f2, f2.copy())):
        spec = charts.template_spec(two, ("t",), frames)
        _assert_same_spec(spec, two(frames, "t").to_dict())
    assert len(charts._TEMPLATES) == 2  # distinct rows, equal rows


def test_altair_records_writes_strings_as_altair():
    frame = pd.DataFrame({"s": pd.array(["a", None, "c"], dtype="str"), "o": np.array(["x", "y", "z"], dtype=object),
                          "v": [1.0, 2.0, np.nan]})
    expected = [{"s": "a", "o": "x", "v": 1.0}, {"s": None, "o": "y", "v": 2.0}, {"s": "c", "o": "z", "v": None}]
    assert charts._altair_records(frame) == expected
    assert alt.utils.data.to_values(frame)["values"] == expected
    assert charts._altair_records(frame.assign(o=np.array(["x", 1, None], dtype=object))) is None


def test_event_frame_is_a_fresh_copy_each_call():
    first = charts.event_frame(["chips"])
    first.loc[0, "label"] = "changed"
    assert charts.event_frame(["chips"]).loc[0, "label"] != "changed"
    pd.testing.assert_frame_equal(charts.event_frame(["chips"]), charts._event_frame(("chips",), None, None))


# ---------------------------------------------------------------- grid frames kept per scenario


def test_grid_frames_are_kept_per_scenario_and_returned_as_copies(monkeypatch):
    import chipsuite.uncertainty
    from chipsuite.explorers import grids

    calls = []
    tornado = chipsuite.uncertainty.tornado
    monkeypatch.setattr(chipsuite.uncertainty, "tornado", lambda *a, **k: calls.append(a) or tornado(*a, **k))
    grids._KEPT_FRAMES.clear()
    base = Scenario.default()
    first = grids.tornado_frame(base, "capex_usd_bn")
    first.loc[0, "delta"] = -999.0  # the caller's copy
    again = grids.tornado_frame(base, "capex_usd_bn")
    assert len(calls) == 1
    pd.testing.assert_frame_equal(again, grids.tornado_frame.uncached(base, "capex_usd_bn"))
    other = grids.tornado_frame(base.replace(demand_growth_2027=base.demand_growth_2027 + 0.3), "capex_usd_bn")
    assert len(calls) == 3  # a new scenario runs (the uncached call above ran once too)
    assert not other.equals(again)
    lists = grids.cadence_grid_frame(base, [6.0, 12.0], [0.0])  # lists are keys too
    pd.testing.assert_frame_equal(lists, grids.cadence_grid_frame(base, (6.0, 12.0), (0.0,)))
    pd.testing.assert_frame_equal(lists, grids.cadence_grid_frame.uncached(base, [6.0, 12.0], [0.0]))


def test_a_view_switch_does_not_rerun_the_tornado(monkeypatch):
    import chipsuite.uncertainty
    from chipsuite import widgets
    from chipsuite.explorers import grids

    calls = []
    tornado = chipsuite.uncertainty.tornado
    monkeypatch.setattr(chipsuite.uncertainty, "tornado", lambda *a, **k: calls.append(a) or tornado(*a, **k))
    grids._KEPT_FRAMES.clear()
    app = widgets.UncertaintyExplorer(draws=20)
    specs = []
    for view in ("tornado", "fan chart", "tornado", "fan chart", "tornado"):
        app.set(view=view)
        specs.append(app.chart_spec())
    assert len(calls) == 1
    assert specs[0] == specs[2] == specs[4] == app.chart("tornado").to_dict()


# ---------------------------------------------------------------- frames read one draw per variable

FRAMES = {
    "fleet_by_generation": charts.fleet_by_generation_frame, "mtia_share": charts.mtia_share_frame,
    "perf_per_watt": charts.perf_per_watt_frame, "nre_savings": charts.nre_savings_frame,
    "capex_annual": charts.capex_annual_frame, "capex_quarterly": charts.capex_quarterly_frame,
    "capex_parts": charts.capex_parts_frame, "dependence": charts.dependence_shares_frame,
    "suppliers": charts.supplier_frame, "spend": lambda r, draw=0: charts.supplier_frame(r, draw, basis="spend"),
    "hhi": charts.hhi_frame, "fleet_power": charts.fleet_power_frame, "energy": charts.energy_annual_frame,
}


def _capex_annual_public_rows_reference(ds):
    """The public rows of capex_annual_frame as first written (one .sel per number)."""
    rows = []
    names = {"reported": "reported", "guidance_latest": "guidance (latest)", "consensus_latest": "consensus"}
    annual = ds.capex_annual_usd
    for series, label in names.items():
        for y in annual.year.values:
            lo, ba, hi = (float(annual.sel(year=y, series=series, bound=b)) for b in ("low", "base", "high"))
            if np.isfinite(ba):
                rows.append({"year": str(int(y)), "series": label, "low": lo / 1e9, "value": ba / 1e9,
                             "high": hi / 1e9})
    return pd.DataFrame(rows)


def test_frames_equal_the_whole_dataset_isel(monkeypatch):
    ensemble = chipsuite.run(draws=3, seed=4)
    fast = {name: [f(ensemble, draw=d) for d in range(3)] for name, f in FRAMES.items()}
    monkeypatch.setattr(charts, "_draw_view", lambda result, draw: result.isel(draw=draw))
    for name, f in FRAMES.items():
        for d in range(3):
            pd.testing.assert_frame_equal(fast[name][d], f(ensemble, draw=d), check_exact=True, obj=f"{name} {d}")
    public = charts.capex_annual_frame(ensemble).query("series != 'modelled'").reset_index(drop=True)
    pd.testing.assert_frame_equal(public, _capex_annual_public_rows_reference(chipsuite.data.load_dataset()),
                                  check_exact=True)


def test_draw_view_reads_like_isel():
    result = chipsuite.run(draws=2, seed=1)
    view, plain = charts._draw_view(result, 1), result.isel(draw=1)
    for name in ("capex_usd", "h100e", "pue"):  # variables with a draw dim: the same selection
        assert view[name].identical(plain[name]), name
        assert getattr(view, name).identical(getattr(plain, name)), name
    for name in ("quarter", "vendor"):  # without: as they are (isel adds the scalar draw coordinate)
        assert view[name].identical(plain[name].drop_vars("draw")), name
    assert "capex_usd" in view and "no_such_variable" not in view
    with pytest.raises(KeyError):
        view["no_such_variable"]
    with pytest.raises(AttributeError):
        view.no_such_variable


@pytest.mark.parametrize("name", ["PowerExplorer", "CadenceExplorer", "DependenceExplorer"])
def test_explorer_chart_spec_equals_to_dict_through_slider_changes(name):
    """Explorer.chart_spec (templates in spec_mode) equals chart().to_dict() for every view, before and
    after slider changes (new rows and new case text in the same templates)."""
    from chipsuite import widgets

    app = getattr(widgets, name)()
    sliders = [n for n, c in app.CONTROLS.items() if c.kind == "slider"][:2]
    for step in range(3):
        for view in app.CONTROLS[app.VIEW].options:
            _assert_same_spec(app.chart_spec(view), app.chart(view).to_dict())
        for slider in sliders:
            c = app.CONTROLS[slider]
            app.set(**{slider: min(c.max, c.min + (step + 1) * c.step)})


def test_mtia_share_frame_fast_path_equals_xarray():
    ensemble = chipsuite.run(draws=3, seed=2)
    for d in range(3):
        pd.testing.assert_frame_equal(charts.mtia_share_frame(ensemble, d), charts._mtia_share_frame_plain(ensemble, d),
                                      check_exact=True)
    # zero demand, NaN purchases and a negative demand: shares 0, as xarray's where/fillna give
    odd = ensemble.copy(deep=True)
    demand, purchases = odd["demand_h100e"].values, odd["mtia_purchases_h100e"].values
    demand[0, 0, :3] = 0.0
    demand[0, 1, 3] = -1.0
    purchases[0, 2, 5] = np.nan
    purchases[0, 3, 6] = np.inf
    fast, plain = charts.mtia_share_frame(odd, 0), charts._mtia_share_frame_plain(odd, 0)
    pd.testing.assert_frame_equal(fast, plain, check_exact=True)
    assert (fast["share"].iloc[:3] == 0).all()
    # another layout (quarter first) takes the xarray path, with the same frame
    swapped = odd.assign(demand_h100e=odd["demand_h100e"].transpose("draw", "quarter", "workload"),
                         mtia_purchases_h100e=odd["mtia_purchases_h100e"].transpose("draw", "quarter", "workload"))
    pd.testing.assert_frame_equal(charts.mtia_share_frame(swapped, 0).sort_values(["workload", "quarter"])
                                  .reset_index(drop=True),
                                  plain.sort_values(["workload", "quarter"]).reset_index(drop=True), check_exact=True)


def test_dependence_shares_frame_fast_path_equals_the_concatenated_frames():
    ensemble = chipsuite.run(draws=3, seed=5)
    for d in range(3):
        pd.testing.assert_frame_equal(charts.dependence_shares_frame(ensemble, d),
                                      charts._dependence_shares_frame_plain(ensemble, d), check_exact=True)
    fewer = ensemble.drop_vars(["nvidia_share_power", "nvidia_share_units"])  # absent shares are left out
    pd.testing.assert_frame_equal(charts.dependence_shares_frame(fewer), charts._dependence_shares_frame_plain(fewer),
                                  check_exact=True)


def test_data_explorer_specs_equal_altair_for_every_table_and_filter():
    """06's charts (value ranges of a table, the kinds of values per table) from templates equal Altair's
    to_dict() for every table and filter; the joined sources equal a row-by-row lookup of sources.csv."""
    from chipsuite import widgets
    from chipsuite.data import load_tables

    sources = load_tables()["sources"].set_index("source_id")

    def describe(ids):
        parts = [i.strip() for i in str(ids or "").split(";") if i.strip()]
        return " | ".join(f"{i}: {sources.loc[i, 'publisher']}, {sources.loc[i, 'title']} ({sources.loc[i, 'url']})"
                          for i in parts if i in sources.index)

    app = widgets.DataExplorer()
    charts._TEMPLATES.clear()
    for rnd in range(2):
        for table in app.CONTROLS["table"].options:
            for text in ("", "h100", "price"):
                app.set(table=table, filter=text)
                _assert_same_spec(app.chart_spec(), app.chart().to_dict())
                frame = app.chart_data()
                if "source_ids" in frame:
                    assert list(frame["sources"]) == [describe(i) for i in frame["source_ids"]], table
    assert charts._TEMPLATES and any(key[0] is charts._value_range_build for key in charts._TEMPLATES)
