"""Chart builders: every chart validates (to_dict), round-trips through JSON, and carries a title,
a source line and axis titles with units; frames are small and tidy."""

import json

import altair as alt
import numpy as np
import pandas as pd
import pytest

import chipsuite
from chipsuite import charts


@pytest.fixture(scope="module")
def result():
    return chipsuite.run()


@pytest.fixture(scope="module")
def ensemble():
    return chipsuite.run(draws=20, seed=1)


def _all_charts(result, ensemble):
    events = charts.event_frame(["chips", "capex"])
    tornado = pd.DataFrame({"parameter": ["a", "a", "b", "b"], "bound": ["low", "high", "low", "high"],
                            "delta": [-1.0, 2.0, 0.5, -0.25]})
    grid = pd.DataFrame({"quarter": pd.to_datetime(["2026-01-01", "2026-04-01"] * 4),
                         "cadence_months": [6.0, 6.0, 12.0, 12.0] * 2, "slip_quarters": [0.0] * 4 + [0.5] * 4,
                         "mtia_share": np.linspace(0.0, 0.2, 8)})
    breakeven = pd.DataFrame({"mtia_efficiency": [0.5, 0.5, 1.0, 1.0], "nvidia_price_multiplier": [1.0, 1.2] * 2,
                              "cost_difference_usd_per_h100e_hour": [0.1, 0.05, -0.1, -0.2]})
    volume = pd.DataFrame({"min_units_thousand": [0.0, 0.0, 100.0, 100.0],
                           "measure": ["mtia_share", "net_savings_usd_bn"] * 2, "value": [0.2, 50.0, 0.1, 20.0]})
    values = pd.DataFrame({"item": ["h100", "b200"], "low": [25e3, 30e3], "base": [30e3, 35e3], "high": [40e3, 40e3],
                           "kind": ["estimate", "estimate"]})
    comparison = pd.DataFrame({"quarter": pd.to_datetime(["2026-01-01", "2026-04-01"] * 2),
                               "scenario": ["a", "a", "b", "b"], "value": [1.0, 2.0, 1.5, 2.5]})
    return {
        "fleet_by_generation": charts.fleet_by_generation_chart(charts.fleet_by_generation_frame(result), events=events),
        "mtia_share": charts.mtia_share_chart(charts.mtia_share_frame(result)),
        "cadence_lines": charts.cadence_comparison_chart(grid),
        "cadence_bound": charts.cadence_comparison_chart(grid, cadence=6.0, slip=0.0),
        "perf_per_watt": charts.perf_per_watt_chart(charts.perf_per_watt_frame(result)),
        "nre_savings": charts.nre_savings_chart(charts.nre_savings_frame(result)),
        "capex_annual": charts.capex_annual_chart(charts.capex_annual_frame(result)),
        "capex_quarterly": charts.capex_quarterly_chart(charts.capex_quarterly_frame(result), events=events),
        "capex_parts": charts.capex_parts_chart(charts.capex_parts_frame(result)),
        "dependence": charts.dependence_shares_chart(charts.dependence_shares_frame(result)),
        "hhi": charts.hhi_chart(charts.hhi_frame(result)),
        "breakeven": charts.breakeven_chart(breakeven, year=2028),
        "min_volume": charts.min_volume_chart(volume),
        "site_power": charts.site_power_chart(charts.site_power_frame(result)),
        "fleet_power": charts.fleet_power_chart(charts.fleet_power_frame(result)),
        "energy": charts.energy_annual_chart(charts.energy_annual_frame(result)),
        "fan": charts.fan_chart(charts.fan_frame(ensemble, "capex_usd", scale=1e9), "Capex",
                                "Capex [USD bn per quarter]"),
        "tornado": charts.tornado_chart(tornado, "What moves capex", "Change [USD bn]"),
        "comparison": charts.scenario_comparison_chart(comparison, "Capex", "Capex [USD bn per quarter]"),
        "kinds": charts.provenance_kinds_chart(charts.provenance_kinds_frame()),
        "value_range": charts.value_range_chart(values, "Unit prices", "Price [USD]"),
    }


@pytest.fixture(scope="module")
def built(result, ensemble):
    return _all_charts(result, ensemble)


def _walk(node):
    """Every dict inside a spec."""
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


def _title_text(spec):
    title = spec.get("title")
    if isinstance(title, dict):
        return title.get("text"), title.get("subtitle")
    return title, None


def test_every_chart_validates_and_round_trips(built):
    for name, chart in built.items():
        assert isinstance(chart, alt.TopLevelMixin), name
        spec = chart.to_dict()  # validates against the Vega-Lite schema
        again = json.loads(json.dumps(spec))
        assert again == spec, name
        assert alt.Chart.from_dict(again) if "mark" in again else True


def test_every_chart_has_title_and_source_line(built):
    for name, chart in built.items():
        text, subtitle = _title_text(chart.to_dict())
        assert text, f"{name}: no title"
        assert subtitle and str(subtitle).startswith("Source: chipsuite"), f"{name}: no source line"
        assert "data/sources.csv" in str(subtitle), name


def test_quantitative_encodings_have_titles_with_units(built):
    for name, chart in built.items():
        found = 0
        for node in _walk(chart.to_dict()):
            enc = node.get("encoding") if isinstance(node.get("encoding"), dict) else None
            if not enc:
                continue
            for channel in ("x", "y", "color"):  # colour: the heatmap's quantity
                field = enc.get(channel)
                if isinstance(field, dict) and field.get("type") == "quantitative" and "field" in field:
                    title = field.get("title")
                    title = " ".join(title) if isinstance(title, list) else title
                    assert title and "[" in str(title) and "]" in str(title), f"{name}: {channel} title {title!r}"
                    found += 1
        assert found, f"{name}: no quantitative x/y/colour encoding"


def test_time_axes_are_temporal(built):
    for name, chart in built.items():
        for node in _walk(chart.to_dict()):
            field = node.get("x") if isinstance(node.get("x"), dict) else None
            if field and field.get("field") == "quarter":
                assert field["type"] == "temporal", name


def test_bound_params_in_grid_chart():
    grid = pd.DataFrame({"quarter": pd.to_datetime(["2026-01-01"] * 2), "cadence_months": [6.0, 12.0],
                         "slip_quarters": [0.0, 0.0], "mtia_share": [0.1, 0.05]})
    spec = charts.cadence_comparison_chart(grid, cadence=12.0, slip=0.0).to_dict()
    params = {p["name"]: p for p in spec["params"]}
    assert params["cadence_months"]["value"] == 12.0
    assert params["cadence_months"]["bind"]["options"] == [6.0, 12.0]
    assert "bind" in params["slip_quarters"]


def test_frames_are_small_and_reduced(result, ensemble):
    # a fan frame has one row per quarter and three quantile columns, never one per draw
    fan = charts.fan_frame(ensemble, "capex_usd", scale=1e9)
    assert list(fan.columns) == ["quarter", "q05", "q50", "q95"]
    assert len(fan) == ensemble.sizes["quarter"]
    assert (fan["q05"] <= fan["q50"]).all() and (fan["q50"] <= fan["q95"]).all()
    frame = charts.fleet_by_generation_frame(result)
    assert list(frame.columns) == ["quarter", "generation", "h100e_million", "vendor"]
    assert len(frame) == result.sizes["generation"] * result.sizes["quarter"]


def test_fleet_frame_sums_to_model_total(result):
    frame = charts.fleet_by_generation_frame(result)
    total = frame.groupby("quarter")["h100e_million"].sum().to_numpy()
    np.testing.assert_allclose(total, result.h100e_total.isel(draw=0).values / 1e6, rtol=1e-12)


def test_capex_parts_sum_to_capex(result):
    frame = charts.capex_parts_frame(result)
    by_year = frame.groupby("year")["capex_usd_bn"].sum()
    from chipsuite.model import annual

    capex = annual(result.capex_usd.isel(draw=0)) / 1e9
    for year, value in by_year.items():
        assert value == pytest.approx(float(capex.sel(year=int(year))), rel=1e-12)


def test_capex_annual_frame_holds_public_figures(result):
    frame = charts.capex_annual_frame(result)
    reported = frame[(frame["series"] == "reported") & (frame["year"] == "2025")]
    assert reported["value"].item() == pytest.approx(72.22)  # Meta 2025 headline capex (capex_annual.csv)
    guided = frame[(frame["series"] == "guidance (latest)") & (frame["year"] == "2026")]
    assert (guided["low"].item(), guided["high"].item()) == pytest.approx((125.0, 145.0))


def test_mtia_share_frame_is_a_share(result):
    frame = charts.mtia_share_frame(result)
    assert frame["share"].between(0, 1).all()
    frontier = frame[frame["workload"] == "frontier training"]
    assert (frontier["share"] == 0).all()  # frontier training is Nvidia-only (chip_workloads.csv)


def test_event_frame_filters():
    events = charts.event_frame(["capex"], start="2025-01-01")
    assert set(events["category"]) == {"capex"}
    assert (events["date"] >= pd.Timestamp("2025-01-01")).all()
    assert len(events) > 0
    chart = alt.Chart(pd.DataFrame({"quarter": [pd.Timestamp("2025-01-01")], "v": [1.0]})).mark_line().encode(
        x="quarter:T", y="v:Q")
    assert charts.with_events(chart, events.iloc[:0]) is chart


def test_provenance_kinds_frame_counts_rows():
    tables = chipsuite.load_tables()
    frame = charts.provenance_kinds_frame(tables)
    assert frame["rows"].sum() == sum(len(tables[t]) for t in charts.VALUE_TABLES)
    assert set(frame["kind"]) <= set(charts.KINDS)
