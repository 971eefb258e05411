"""Explorers: setting a control changes the charted data the way the model says; grid runs agree
with single runs; the GUI wiring (ipywidgets) updates the chart and shows refused input as a message."""

import json

import numpy as np
import pandas as pd
import pytest

import chipsuite
from chipsuite import widgets as W
from chipsuite.scenario import ScenarioError


def _at(frame, quarter):
    return frame[frame["quarter"] == pd.Timestamp(quarter)]


# --------------------------------------------------------------------------- model layer


def test_run_points_matches_single_runs():
    s = chipsuite.Scenario.default()
    points = [{}, {"mtia_cadence": 4.0}, {"nvidia_price_multiplier": 1.3, "nuclear_contract_delay_quarters": 3.0}]
    grid = W.run_points(s, points)
    assert grid.sizes["draw"] == 3
    for i, p in enumerate(points):
        single = chipsuite.run(s.replace(**p)).isel(draw=0)
        for name in ("capex_usd", "mtia_share_h100e", "emissions_tco2"):
            np.testing.assert_allclose(grid[name].isel(draw=i).values, single[name].values, rtol=1e-10)


def test_run_points_validates_each_point():
    with pytest.raises(ScenarioError, match="point 1"):
        W.run_points(chipsuite.Scenario.default(), [{}, {"utilisation": 2.0}])


def test_mtia_efficiency_scales_only_mtia_capability():
    s = chipsuite.Scenario.default()
    grid = W.run_points(s, [{}, {W.MTIA_EFFICIENCY: 2.0}])
    # Nvidia's installed capability before MTIA's first volume (2026Q1) is unchanged
    before = grid.nvidia_h100e.sel(quarter=slice(None, "2025-10-01"))
    np.testing.assert_allclose(before.isel(draw=1).values, before.isel(draw=0).values)
    assert float(grid.mtia_h100e.isel(draw=1).sel(quarter="2027-10-01")) > float(
        grid.mtia_h100e.isel(draw=0).sel(quarter="2027-10-01"))


def test_cadence_grid_longer_cadence_lower_share():
    f = W.cadence_grid_frame(chipsuite.Scenario.default(), (6, 12, 18), (0.0,))
    q4 = _at(f, "2027-10-01").set_index("cadence_months")["mtia_share"]
    assert q4[6.0] > q4[12.0] > q4[18.0] >= 0


def test_breakeven_frame_signs():
    f = W.breakeven_frame(chipsuite.Scenario.default(), efficiencies=(0.5, 2.0), price_multipliers=(1.0, 1.6))
    d = f.set_index(["mtia_efficiency", "nvidia_price_multiplier"])["cost_difference_usd_per_h100e_hour"]
    # more efficient MTIA -> MTIA relatively cheaper; dearer Nvidia -> MTIA relatively cheaper
    assert d[(2.0, 1.0)] < d[(0.5, 1.0)]
    assert d[(2.0, 1.6)] < d[(2.0, 1.0)]
    # the all-Nvidia cost does not depend on MTIA efficiency
    allnv = f.groupby("nvidia_price_multiplier")["cost_all_nvidia_usd_per_h100e_hour"].nunique()
    assert (allnv == 1).all()


def test_min_volume_frame_monotone():
    f = W.min_volume_frame(chipsuite.Scenario.default(), deal_scales=(0.0, 2.0, 4.0))
    share = f[f["measure"] == "mtia_share"]["value"].to_numpy()
    assert share[0] >= share[1] >= share[2]
    assert share[0] > share[2]
    floor = f[f["measure"] == "floor_units_thousand"]["value"].to_numpy()
    assert floor[0] == 0.0 and floor[0] <= floor[1] <= floor[2]


def test_min_volume_frame_shows_a_binding_floor():
    """No floor, no floor units; a large multiple of the deal's minimum binds and buys Nvidia units."""
    s = chipsuite.Scenario.default()
    f = W.min_volume_frame(s, deal_scales=(0.0, 4.0))
    floor = f[f["measure"] == "floor_units_thousand"].set_index("deal_scale")["value"]
    assert floor[0.0] == 0.0
    assert floor[4.0] > 0.0
    single = chipsuite.run(s.replace(nvidia_deal_scale=4.0)).isel(draw=0)  # the grid equals a single run
    assert floor[4.0] == pytest.approx(float(single.nvidia_floor_units.sum()) / 1e3, rel=1e-10)
    savings = f[f["measure"] == "net_savings_usd_bn"].set_index("deal_scale")["value"]
    assert savings[4.0] < savings[0.0]  # units bought only for the floor cost money


def test_tornado_frame_base_and_swing():
    s = chipsuite.Scenario.default()
    f = W.tornado_frame(s, "capex_usd_bn", quarter="2027Q4", top=None)
    price = f[f["parameter"] == "nvidia_price_multiplier"].set_index("bound")
    assert price.loc["low", "delta"] < 0 < price.loc["high", "delta"]  # Nvidia price low / high x list
    # value = the model's 2027Q4 capex at the high price (assumptions.csv), from a single run
    high = chipsuite.scenario.read_assumptions()["nvidia_price_multiplier"]["high"]
    single = chipsuite.run(s.replace(nvidia_price_multiplier=high)).isel(draw=0)
    expected = float(single.capex_usd.sel(quarter="2027-10-01")) / 1e9
    assert price.loc["high", "value"] == pytest.approx(expected, rel=1e-9)
    top = W.tornado_frame(s, "capex_usd_bn", top=3)
    assert top["parameter"].nunique() == 3 and len(top) == 6


def test_scenario_diff_frame_lists_changed_parameters():
    a = chipsuite.Scenario.default()
    b = a.replace(mtia_cadence=4.0)
    f = W.scenario_diff_frame(a, b)
    params = f[f["kind"] == "parameter"]
    assert params["name"].tolist() == ["mtia_cadence"]
    assert params["difference"].item() == pytest.approx(4.0 - a.mtia_cadence)
    share = f[f["name"].str.startswith("MTIA share")]
    assert share["difference"].item() < 0


def test_gpu_money_frame_by_hand():
    f = W.gpu_money_frame().set_index("quantity")
    added = f.iloc[0]
    assert added["base"] == pytest.approx(1_300_000 - 662_000)  # fleet_milestones.csv gpus_total
    cost = f.iloc[1]
    assert "b200, gb200, gb300" in f.index[1]  # the GPU generations with first volume in 2025
    # system cost per accelerator (chip_specs.csv system_cost): B200 low 45,000, GB300 high 78,000 USD
    assert (cost["low"], cost["high"]) == (45_000, 78_000)
    assert cost["low"] <= cost["base"] <= cost["high"]
    assert f.iloc[2]["low"] == pytest.approx(added["low"] * 45_000 / 1e9)
    assert f.iloc[3]["base"] == pytest.approx(100 * f.iloc[2]["base"] / 72.22)  # reported 2025 capex
    assert "server_network_capex_ratio" not in " ".join(f.index)


def test_scenario_state_save_load(tmp_path):
    state = W.ScenarioState(chipsuite.Scenario.default().replace(utilisation=0.6))
    path = state.save_scenario(tmp_path / "s.json")
    assert json.loads(path.read_text())["parameters"]["utilisation"] == 0.6
    other = W.ScenarioState()
    assert other.load_scenario(path).utilisation == 0.6
    assert other.result.attrs["scenario"] == state.scenario.to_json()


# --------------------------------------------------------------------------- explorers (model side)


def test_cadence_explorer_longer_cadence_lowers_mtia_share():
    app = W.CadenceExplorer()
    before = _at(app.chart_data(), "2027-10-01")["share"].sum()
    app.set(cadence_months=12)
    assert app.scenario.mtia_cadence == pytest.approx(4.0)  # 12 months = 4 quarters
    after = _at(app.chart_data(), "2027-10-01")["share"].sum()
    assert after < before
    assert app.summary()["mtia_share_h100e_2027q4"] < W.CadenceExplorer().summary()["mtia_share_h100e_2027q4"]


def test_cadence_explorer_slip_delays_volume_start():
    app = W.CadenceExplorer(slip_quarters=0.0)
    start0 = app.summary()["volume_start"]["mtia_500"]
    app.set(slip_quarters=2.0)
    assert app.summary()["volume_start"]["mtia_500"] > start0  # quarter labels sort in time order


def test_capex_explorer_higher_nvidia_price_raises_capex():
    app = W.CapexExplorer()
    modelled = lambda f: f[(f["series"] == "modelled") & (f["year"] == "2026")]["value"].item()  # noqa: E731
    before = modelled(app.chart_data())
    app.set(nvidia_price_multiplier=1.5)
    assert modelled(app.chart_data()) > before
    assert app.summary()["capex_usd_bn"][2026] == pytest.approx(modelled(app.chart_data()))


def test_capex_explorer_demand_growth_2027_moves_2027_not_2024():
    app = W.CapexExplorer()
    assert app.values["demand_growth_2027_pct"] == pytest.approx(100 * chipsuite.Scenario.default().demand_growth_2027)
    before = app.summary()["capex_usd_bn"]
    app.set(demand_growth_2027_pct=120)
    assert app.scenario.demand_growth_2027 == pytest.approx(1.2)
    after = app.summary()["capex_usd_bn"]
    assert after[2027] > before[2027] + 10
    assert after[2024] == pytest.approx(before[2024], rel=1e-9)  # the 2027 driver leaves the past alone


def test_capex_explorer_names_the_2027_driver():
    app = W.CapexExplorer()
    drivers = app.drivers_2027()
    assert drivers["swing_usd_bn"].abs().is_monotonic_decreasing
    s = app.summary()
    assert s["driver_2027"] == drivers["parameter"].iloc[0] == "demand_growth_2027"
    lo, hi = s["capex_2027_at_growth_range_usd_bn"]
    assert lo < s["capex_usd_bn"][2027] < hi
    ranges = chipsuite.scenario.read_assumptions()["demand_growth_2027"]
    assert s["demand_growth_2027_range"] == (ranges["low"], ranges["high"])
    assert set(s["capex_usd_bn"]) == {2024, 2025, 2026, 2027, 2028}


def test_capex_explorer_quarterly_view_compares_headline_and_ppe():
    app = W.CapexExplorer(view="quarterly")
    f = app.chart_data()
    assert {"modelled (headline)", "modelled (purchases of P&E)", "reported (headline)",
            "reported (purchases of P&E)"} == set(f["series"])
    fit = app.quarterly_fit().set_index(["quarter", "measure"])
    assert fit.loc[("2025Q4", "headline"), "reported"] == pytest.approx(22.14)
    np.testing.assert_allclose(fit["ratio"], fit["modelled"] / fit["reported"])


def test_capex_explorer_facility_cost_raises_facility_part():
    app = W.CapexExplorer(view="by part")
    fac = lambda f: f[f["part"] == "facilities"]["capex_usd_bn"].sum()  # noqa: E731
    before = fac(app.chart_data())
    app.set(facility_capex_usd_m_per_mw=24)
    assert app.scenario.facility_capex_per_mw == 24e6
    assert fac(app.chart_data()) == pytest.approx(before * 24 / 12)  # linear in USD/MW (base 12 M)


def test_dependence_explorer_deal_minimum_raises_nvidia_share():
    app = W.DependenceExplorer()
    share = lambda f: _at(f[f["measure"] == "capability, owned (H100e)"], "2027-10-01")["share"].item()  # noqa
    before = share(app.chart_data())
    app.set(nvidia_deal_scale=3)
    assert app.scenario.nvidia_deal_scale == 3.0
    assert share(app.chart_data()) > before
    assert app.summary()["nvidia_floor_units_thousand"] > 0


def test_dependence_explorer_amd_and_rental_switches_move_nvidia_share_incl_rented():
    base = W.DependenceExplorer().summary()
    no_amd = W.DependenceExplorer(amd_deal_scale=0).summary()
    assert no_amd["amd_share_h100e_2027q4"] == 0.0
    assert base["amd_share_h100e_2027q4"] > 0
    # without AMD, Nvidia fills the demand AMD served: its share incl. rented rises
    assert no_amd["nvidia_share_h100e_incl_rented_2027q4"] > base["nvidia_share_h100e_incl_rented_2027q4"] + 0.05
    app = W.DependenceExplorer(rental_scale=0)
    no_rent = app.summary()
    assert no_rent["rented_share_h100e_2027q4"] == 0.0 and base["rented_share_h100e_2027q4"] > 0
    assert no_rent["nvidia_share_h100e_incl_rented_2027q4"] == pytest.approx(no_rent["nvidia_share_h100e_2027q4"])
    # rented capacity is mostly Nvidia GPUs (CoreWeave, Nebius): more Nvidia-heavy than the owned fleet, so
    # switching rentals off lowers the share incl. rented (the direction follows from the base case's mix)
    rented = base["supplier_share_h100e_2027q4"]
    nvidia_in_rented = rented["cloud_nvidia"] / (rented["cloud_nvidia"] + rented["cloud_tpu"])
    moved = no_rent["nvidia_share_h100e_incl_rented_2027q4"] - base["nvidia_share_h100e_incl_rented_2027q4"]
    assert moved != 0.0
    assert np.sign(moved) == np.sign(base["nvidia_share_h100e_2027q4"] - nvidia_in_rented)
    more = W.DependenceExplorer(rental_scale=2).summary()
    assert more["rented_share_h100e_2027q4"] > base["rented_share_h100e_2027q4"]
    assert np.sign(more["nvidia_share_h100e_incl_rented_2027q4"] - base["nvidia_share_h100e_incl_rented_2027q4"]) \
        == -np.sign(moved)


def test_dependence_explorer_views_and_summary():
    app = W.DependenceExplorer()
    suppliers = app.chart_data("suppliers (owned and rented)")
    np.testing.assert_allclose(suppliers.groupby("quarter")["share"].sum(), 1.0, rtol=1e-9)
    assert set(suppliers["sourcing"]) == {"owned", "rented"}
    for view in app.VIEWS:
        json.dumps(app.chart(view).to_dict())
    s = app.summary()
    assert 0 <= s["hhi_2027q4"] <= 1
    assert sum(s["supplier_share_h100e_2027q4"].values()) == pytest.approx(1.0)
    assert s["scarcity_tax_paid_2026_2030_usd_bn"] > 0 and s["scarcity_tax_avoided_2026_2030_usd_bn"] >= 0
    r = app.result.isel(draw=0)
    years = r.quarter.dt.year
    expected = float(r.savings_vs_all_nvidia_usd.sel(quarter=(years >= 2026) & (years <= 2030)).sum()) / 1e9
    assert s["net_savings_2026_2030_usd_bn"] == pytest.approx(expected, rel=1e-12)


def test_energy_explorer_hyperion_delay_raises_emissions_and_keeps_energy():
    app = W.EnergyExplorer()
    emissions = lambda f: f[f["measure"] == "emissions_mtco2"]["value"].sum()  # noqa: E731
    energy = lambda f: f[f["measure"] == "energy_twh"]["value"].sum()  # noqa: E731
    before, e_before = emissions(app.chart_data()), energy(app.chart_data())
    app.set(hyperion_power_delay_quarters=4)  # a year without Hyperion's solar and gas plants: more grid power
    assert emissions(app.chart_data()) > before
    assert energy(app.chart_data()) == pytest.approx(e_before)  # the supply mix does not change energy


def test_energy_explorer_emissions_are_the_ai_load_at_the_sites_mix():
    """The explorer's emissions = sum over sites and years of AI electricity x the site's effective intensity."""
    app = W.EnergyExplorer()
    f = app.chart_data()
    r = app.result.isel(draw=0)
    years = r.quarter.dt.year
    window = (years >= 2024) & (years <= 2030)
    expected = float((r.energy_mwh * r.carbon_intensity_effective_gco2_per_kwh).sel(quarter=window).sum()) / 1e3 / 1e6
    assert f[f["measure"] == "emissions_mtco2"]["value"].sum() == pytest.approx(expected, rel=1e-12)


def test_delay_grid_moves_emissions_only_from_the_delayed_contracts_on():
    f = W.delay_emissions_grid_frame(chipsuite.Scenario.default(), "hyperion_power_delay_quarters", (0.0, 2.0, 4.0))
    by = f.groupby(["delay_quarters", "year"])["emissions_mtco2"].sum().unstack("year")
    assert list(by.index) == [0.0, 2.0, 4.0]
    # Hyperion's first dedicated contract starts in 2028: the years before are the same for every delay
    before = ["2024", "2025", "2026", "2027"]
    np.testing.assert_array_equal(by.loc[4.0, before], by.loc[0.0, before])
    assert by.loc[0.0, "2030"] < by.loc[2.0, "2030"] < by.loc[4.0, "2030"]  # solar and gas wait: more grid
    with pytest.raises(ValueError, match="not one of"):
        W.delay_emissions_grid_frame(chipsuite.Scenario.default(), "utilisation", (0.5,))


def test_unknown_control_and_option():
    app = W.CadenceExplorer()
    with pytest.raises(KeyError, match="unknown control"):
        app.set(cadence=12)
    with pytest.raises(ValueError, match="not one of"):
        app.set(view="pie chart")


def test_uncertainty_explorer_metric_and_errors():
    app = W.UncertaintyExplorer(draws=20)
    fan = app.chart_data()
    assert (fan["q05"] <= fan["q95"]).all()
    app.set(metric="capex_usd / h100e_total")
    assert app.metric_error == ""
    custom = app.chart_data()
    assert not np.allclose(custom["q50"].to_numpy(), fan["q50"].to_numpy())
    app.set(metric="__import__('os').system('true')")  # refused, never evaluated
    assert "FormulaError" in app.metric_error
    pd.testing.assert_frame_equal(app.chart_data(), fan)  # back to the chosen output


def test_data_explorer_filter_and_sources():
    app = W.DataExplorer(table="chip_specs", filter="h100")
    rows = app.chart_data()
    assert len(rows) > 0
    assert rows.astype(str).apply(lambda r: "h100" in " ".join(r).lower(), axis=1).all()
    assert rows["sources"].str.contains("S").any()
    assert "<table" in app.table_html()
    app.set(table="events", filter="")
    assert len(app.chart_data()) == len(chipsuite.load_tables()["events"])


def test_data_explorer_tables_show_display_names_not_ids():
    import re

    app = W.DataExplorer(table="assumptions")
    page = app.table_html(max_rows=0)
    cells = re.findall(r"<td>([^<]*)</td>", page)  # the id and value cells (free text has its own class)
    assert "demand growth 2026-2027" in cells and "demand_growth_2027" not in cells
    assert not [c for c in cells if re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)+", c)]
    specs = W.DataExplorer(table="chip_specs").chart_data()
    notes = re.findall(r'<td class="c-note">([^<]*)</td>', app.table_html(specs, max_rows=0))
    assert notes and not any("fp8_dense" in n for n in notes) and any("fp8 dense" in n for n in notes)
    labels = [label for label, _, _ in W.DataExplorer().report_views()]
    assert any(label.startswith("chip specs (") for label in labels)
    assert not any("_" in label for label in labels)
    menu = W.DataExplorer().widget.children[1]  # the table menu shows display names
    assert ("chip specs", "chip_specs") in [(lab, v) for lab, v in zip(menu._options_labels, menu._options_values)]
    fan = W.UncertaintyExplorer(draws=2).widget.children[1]
    assert fan._options_labels[0] == "Capex [USD bn per quarter]" and fan.value == "capex_usd_bn"


@pytest.mark.parametrize("table", sorted(chipsuite.load_tables()))
def test_data_explorer_filter_works_on_every_table(table):
    """Tables with empty cells (pandas >= 3 keeps NaN through astype(str)) filter too: a cell's text is matched,
    a missing one is ''. energy_contracts with filter 'h100' raised TypeError (found by the benchmark)."""
    app = W.DataExplorer(table=table, filter="h100")
    rows = app.chart_data()
    raw = chipsuite.load_tables()[table]
    assert len(rows) <= len(raw)
    word = str(raw.iloc[0, 0]).lower()[:4]  # a word the first row holds: the filter keeps that row
    app.set(filter=word)
    assert len(app.chart_data()) >= 1


def test_save_and_load_scenario_moves_controls(tmp_path):
    app = W.CapexExplorer(nvidia_price_multiplier=1.25)
    path = app.save_scenario(tmp_path / "capex.json")
    other = W.CapexExplorer()
    other.load_scenario(path)
    assert other.values["nvidia_price_multiplier"] == pytest.approx(1.25)
    assert other.scenario == app.scenario


@pytest.mark.parametrize("cls", [W.CadenceExplorer, W.CapexExplorer, W.DependenceExplorer, W.EnergyExplorer,
                                 W.DataExplorer])
def test_static_views_are_charts(cls):
    spec = cls().static_view().to_dict()
    assert json.loads(json.dumps(spec)) == spec


def test_static_views_bind_params():
    spec = W.CadenceExplorer().static_view().to_dict()
    assert {p["name"] for p in spec["params"] if "bind" in p} == {"cadence_months", "slip_quarters"}
    spec = W.EnergyExplorer().static_view().to_dict()
    assert {p["name"] for p in spec["params"] if "bind" in p} == {"delay_quarters"}


# --------------------------------------------------------------------------- GUI wiring


def test_slider_updates_chart_widget_in_place():
    app = W.EnergyExplorer()
    box = app.widget
    chart = app._chart_widget
    spec = chart.spec
    app._controls["hyperion_power_delay_quarters"].value = 4.0  # what a user does
    assert app.values["hyperion_power_delay_quarters"] == 4.0
    assert app._chart_widget is chart and chart.spec != spec
    assert all(getattr(c, "continuous_update", False) is False for c in app._controls.values()
               if hasattr(c, "continuous_update"))
    assert box.children


@pytest.mark.parametrize("cls", [W.CadenceExplorer, W.CapexExplorer, W.DependenceExplorer, W.EnergyExplorer,
                                 W.DataExplorer])
def test_chart_spec_is_the_chart_as_dict(cls):
    app = cls()
    assert app.chart_spec() == app.chart().to_dict()


def test_uncertainty_fan_spec_equals_the_chart_after_changes():
    """The live widget draws chart_spec (the cheap fan_spec path); it must be the chart's own dict."""
    app = W.UncertaintyExplorer(draws=20)
    assert app.chart_spec() == app.chart().to_dict()
    box = app.widget
    widget = app._chart_widget
    app._controls["output"].value = app._controls["output"].options[1][1]  # what a user does (label, value)
    from chipsuite.vega import _stable_dataset_names  # the widget names its datasets stably

    assert widget.spec == _stable_dataset_names(app.chart().to_dict())
    app.set(metric="capex_usd / h100e_total")
    assert app.chart_spec() == app.chart().to_dict()
    assert widget.spec == _stable_dataset_names(app.chart().to_dict()) and box.children
    app.set(view="tornado")
    assert app.chart_spec() == app.chart().to_dict()


def test_refused_control_shows_message_and_reverts():
    from chipsuite.explorers.base import Control

    class PaymentExplorer(W.CapexExplorer):  # a control whose value the scenario can refuse
        CONTROLS = {**W.CapexExplorer.CONTROLS, "payment_share_before": Control(
            "slider", "paid before delivery [1]", min=0.0, max=1.0, step=0.05, param="payment_share_before")}

    app = PaymentExplorer()
    app.widget
    assert app.scenario.payment_share_after > 0.05
    app._controls["payment_share_before"].value = 1.0
    assert "must not exceed 1" in app._message.value
    assert app._controls["payment_share_before"].value == pytest.approx(app.values["payment_share_before"])
    assert app.values["payment_share_before"] == pytest.approx(chipsuite.Scenario.default().payment_share_before)


def test_set_moves_the_gui_controls():
    app = W.CadenceExplorer()
    app.widget
    app.set(cadence_months=9)
    assert app._controls["cadence_months"].value == 9


def test_metric_box_shows_error_message():
    app = W.UncertaintyExplorer(draws=10)
    app.widget
    app._controls["metric"].value = "import os"
    assert "Custom metric not shown" in app._message.value
    assert "Traceback" not in app._message.value


def test_show_in_report_mode_has_no_widget_view(monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    monkeypatch.setenv("CHIPSUITE_REPORT", "1")
    InteractiveShell.instance()
    try:
        with capture_output() as captured:
            W.EnergyExplorer().show()
            W.DataExplorer().show()
    finally:
        InteractiveShell.clear_instance()
    mimetypes = set().union(*(set(o.data) for o in captured.outputs))
    assert "application/vnd.jupyter.widget-view+json" not in mimetypes
    from chipsuite.explorers.base import VIEW_MENU_MIMETYPE

    assert VIEW_MENU_MIMETYPE in mimetypes  # a kernel-free view menu (specs), turned into <select> by the report


# --------------------------------------------------------------------------- properties

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=15, deadline=None)
@given(cadence=st.floats(1.0, 6.0), longer=st.floats(0.25, 3.0), slip=st.floats(0.0, 2.0))
def test_property_longer_cadence_never_raises_mtia_share(cadence, longer, slip):
    grid = W.run_points(chipsuite.Scenario.default(), [
        {"mtia_cadence": cadence, "mtia_slip_per_generation": slip},
        {"mtia_cadence": cadence + longer, "mtia_slip_per_generation": slip}])
    share = grid.mtia_share_h100e.values
    assert ((share >= 0) & (share <= 1)).all()
    assert (share[1] <= share[0] + 1e-12).all()


@settings(max_examples=10, deadline=None)
@given(delay=st.integers(0, 4), utilisation=st.sampled_from([0.5, 0.7, 0.9]))
def test_property_energy_chart_data_is_consistent(delay, utilisation):
    """Emissions are non-negative, energy does not depend on the supply delay, and the chart validates."""
    app = W.EnergyExplorer(hyperion_power_delay_quarters=delay, utilisation=utilisation)
    f = app.chart_data()
    assert (f["value"] >= 0).all()
    base = W.EnergyExplorer(utilisation=utilisation).chart_data()
    e = lambda x: x[x["measure"] == "energy_twh"]["value"].to_numpy()  # noqa: E731
    np.testing.assert_allclose(e(f), e(base), rtol=1e-12)
    json.dumps(app.chart().to_dict())


# --------------------------------------------------------------------------- named scenarios (scenario menu)


def test_explorer_takes_a_named_scenario():
    app = W.CadenceExplorer("mtia_slip_two_quarters")
    assert app.scenario == chipsuite.Scenario.named("mtia_slip_two_quarters")
    assert app.values["slip_quarters"] == 2.0  # the slider follows the scenario
    assert app.scenario_name == "mtia_slip_two_quarters"
    with pytest.raises(ScenarioError, match="unknown named scenario"):
        W.CadenceExplorer("no_such_case")


def test_use_scenario_applies_overrides_and_moves_controls():
    app = W.CadenceExplorer()
    assert app.scenario_name == "base"
    before = app.summary()["mtia_share_h100e_2027q4"]
    assert app.use_scenario("mtia_slip_two_quarters") == []
    assert app.scenario.mtia_slip_per_generation == 2.0 and app.scenario.mtia_first_release_quarter_index == 13
    assert app.values["slip_quarters"] == 2.0
    assert app.summary()["mtia_share_h100e_2027q4"] < before
    app.set(slip_quarters=1.0)  # a control moves it away from every named scenario
    assert app.scenario_name is None
    app.use_scenario("base")
    assert app.scenario == chipsuite.Scenario.default() and app.values["slip_quarters"] == 0.25
    with pytest.raises(ScenarioError, match="unknown named scenario 'bera'"):
        app.use_scenario("bera")
    assert app.scenario == chipsuite.Scenario.default()


@pytest.mark.parametrize("cls", [W.CadenceExplorer, W.CapexExplorer, W.DependenceExplorer, W.EnergyExplorer,
                                 W.PowerExplorer, W.UncertaintyExplorer])
def test_scenario_menu_in_every_model_explorer(cls):
    app = cls(draws=5) if cls is W.UncertaintyExplorer else cls()
    box = app.widget
    menu = app._named_menu
    assert menu.description == "scenario" and menu.value == "base"
    assert menu in box.children[-1].children  # next to save / load scenario
    assert dict((v, k) for k, v in menu.options)["amd_full_6gw"] == "AMD deal at its full 6 GW"
    spec = app._chart_widget.spec
    menu.value = "bear"  # what a user does
    assert app.scenario == chipsuite.Scenario.named("bear")
    assert "Not applied" not in app._message.value and "Bear case" in app._message.value
    if cls is not W.UncertaintyExplorer:  # the ensemble's fan chart is redrawn too, but need not differ
        assert app._chart_widget.spec != spec


def test_scenario_menu_moves_sliders_and_follows_controls():
    app = W.CapexExplorer()
    app.widget
    app._named_menu.value = "bull"
    assert app._controls["demand_growth_2027_pct"].value == pytest.approx(120)
    assert app.scenario.demand_2026_h100e == chipsuite.Scenario.named("bull").demand_2026_h100e
    app._controls["nvidia_price_multiplier"].value = 1.5  # now a scenario of its own
    assert app._named_menu.value is None
    app.set(nvidia_price_multiplier=1.0)  # back to the bull case exactly
    assert app._named_menu.value == "bull"


def test_scenario_menu_says_when_a_slider_cannot_show_the_value(monkeypatch):
    from chipsuite.explorers import cadence

    narrow = dict(cadence.CadenceExplorer.CONTROLS)
    narrow["slip_quarters"] = W.Control("slider", "slip per generation [quarters]", min=0, max=1, step=0.25,
                                        param="mtia_slip_per_generation")
    monkeypatch.setattr(cadence.CadenceExplorer, "CONTROLS", narrow)
    app = W.CadenceExplorer()
    app.widget
    app._named_menu.value = "mtia_slip_two_quarters"
    assert app.scenario.mtia_slip_per_generation == 2.0  # applied in full
    assert "outside the range of slip per generation [quarters]" in app._message.value


def test_bad_scenario_file_leaves_the_base_case_and_says_why(monkeypatch, tmp_path):
    import shutil

    from chipsuite import scenario as scenario_module

    shutil.copy(scenario_module.DEFAULT_DATA_DIR / "sources.csv", tmp_path / "sources.csv")
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "broken.toml").write_text('name = "broken"\n', encoding="utf-8")
    monkeypatch.setattr("chipsuite.explorers.base.named_scenarios", lambda: scenario_module.named_scenarios(tmp_path))
    app = W.CadenceExplorer()
    app.widget
    assert [v for _, v in app._named_menu.options] == ["base"]
    assert "named scenarios not loaded" in app._message.value and "broken.toml" in app._message.value


def test_report_scenario_menu_offers_every_view_under_every_named_scenario():
    app = W.DependenceExplorer()
    state = (app.scenario, dict(app.values))
    groups = app.scenario_report_views()
    assert (app.scenario, app.values) == state  # the explorer keeps its state
    named = app.named_scenarios()
    assert [title for title, _ in groups] == [s.title for n, s in named.items() if n != "base"]
    base_labels = [label for label, _, _ in app.report_views()]
    for title, views in groups:  # the same views as the base case, in the same order
        assert [label for label, _, _ in views] == base_labels, title
    amd = dict(groups)[named["amd_full_6gw"].title]
    shares = dict((label, spec) for label, spec, _ in amd)["shares"]
    assert shares["title"]["subtitle"][0] == f"Named scenario: {named['amd_full_6gw'].title}"
    base_spec = app.chart("shares").to_dict()
    assert shares["datasets"] != base_spec["datasets"]  # the chart under the scenario is another chart
    single = W.DependenceExplorer("amd_full_6gw").chart("shares").to_dict()
    assert shares["datasets"] == single["datasets"]


def test_report_mode_show_adds_the_named_scenario_menu(monkeypatch):
    import IPython.display

    from chipsuite.explorers.base import VIEW_MENU_MIMETYPE

    monkeypatch.setenv("CHIPSUITE_REPORT", "1")
    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, raw=False, **kw: shown.append(obj))
    W.CapexExplorer().show()
    menus = [o[VIEW_MENU_MIMETYPE] for o in shown]
    assert [m["label"] for m in menus] == ["View"]  # one menu: the views, and a scenario menu beside it
    menu = menus[0]
    assert menu["scenario"] == "Base case"
    assert len(menu["scenarios"]) == len(chipsuite.named_scenarios())
    for other in menu["scenarios"]:
        assert [v["name"] for v in other["views"]] == [v["name"] for v in menu["views"]] == list(W.CapexExplorer.VIEWS)
    shown.clear()
    W.DataExplorer().show()  # the data tables do not depend on the scenario: no such menu
    assert [o[VIEW_MENU_MIMETYPE]["label"] for o in shown] == ["View"]
    assert "scenarios" not in shown[0][VIEW_MENU_MIMETYPE]


def test_a_custom_metric_is_evaluated_once_per_change_and_equals_the_plain_chart(monkeypatch):
    import chipsuite.metrics

    calls = []
    custom_metric = chipsuite.metrics.custom_metric
    monkeypatch.setattr(chipsuite.metrics, "custom_metric", lambda *a, **k: calls.append(a[0]) or custom_metric(*a, **k))
    app = W.UncertaintyExplorer(draws=20)
    for text in ("capex_usd / h100e_total", "energy_mwh * pue", "emissions_tco2 / 1e6"):
        calls.clear()
        app.set(metric=text)
        spec = app.chart_spec()
        assert calls == [text]
        assert app.metric_error == ""
        # the plain path: the metric of the whole result, its fan frame and chart
        da = W.UncertaintyExplorer._metric_array(text, app.result)
        frame = chipsuite.charts.fan_frame(da.to_dataset(name="custom").assign_coords(quarter=app.result.quarter),
                                           "custom")
        pd.testing.assert_frame_equal(app.chart_data(), frame)
        assert spec == app.chart().to_dict()
    app.set(output=app.CONTROLS["output"].options[2], metric="")  # no metric: the output's fan chart
    assert app.chart_spec() == app.chart().to_dict()
    # a metric finite only after the first two draws is refused, as the two-draw check always did
    monkeypatch.setattr(chipsuite.metrics, "custom_metric", custom_metric)
    first_two_nan = app.result.copy(deep=True)
    first_two_nan["capex_usd"][:2] = np.nan
    with pytest.raises(ValueError, match="no finite value"):
        W.UncertaintyExplorer._metric_array("capex_usd * 1", first_two_nan, check_draws=2)
    assert W.UncertaintyExplorer._metric_array("capex_usd * 1", first_two_nan).sizes["draw"] == 20


@pytest.mark.parametrize("cls", [W.CadenceExplorer, W.DataExplorer])
def test_explorer_box_guards_its_keys(cls):
    """Every explorer box carries the key guard (its ES module stops arrow keys at the box, so JupyterLab does
    not move the active cell; checked in JupyterLab by test_browser.py)."""
    from chipsuite.explorers.base import EXPLORER_CLASS, _KEY_GUARD_ESM

    box = cls().widget
    assert EXPLORER_CLASS in box._dom_classes
    guards = [c for c in box.children if type(c).__name__ == "KeyGuard"]
    assert len(guards) == 1 and "stopPropagation" in guards[0]._esm and guards[0]._esm == _KEY_GUARD_ESM


def test_first_control_change_freezes_the_long_lived_objects_once():
    """Full collections would scan every object of the imported libraries on some slider changes
    (~170 ms measured); the first change moves them out of the collector's reach, once per process."""
    import gc

    from chipsuite.explorers.base import freeze_long_lived

    app = W.CadenceExplorer()
    app.set(cadence_months=9)  # the first change of the process froze, or an earlier test's did
    assert gc.get_freeze_count() > 0
    assert freeze_long_lived() is False  # never again
    app.set(cadence_months=6)
    assert app.values["cadence_months"] == 6
