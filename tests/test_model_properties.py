"""Invariants of run() over random valid scenarios (hypothesis)."""

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from chipsuite.model import run
from chipsuite.scenario import PARAMETERS, Scenario

#: signed by definition: savings can be negative; year-end timing is + in each Q4 and - in the next Q1
MAY_BE_NEGATIVE = {"savings_vs_all_nvidia_usd", "year_end_timing_usd"}
SHARES = ["nvidia_share_units", "nvidia_share_h100e", "nvidia_share_capex", "nvidia_share_power", "hhi",
          "nvidia_share_h100e_incl_rented", "nvidia_share_spend_incl_rented", "supplier_share_h100e",
          "supplier_share_spend", "amd_share_h100e", "rented_share_h100e", "purchase_mix", "nvidia_premium_share",
          "mtia_share_h100e", "mtia_share_purchases_h100e", "placed_fraction", "site_placement_share",
          "mtia_availability"]


@st.composite
def scenarios(draw):
    """Any valid scenario: each parameter anywhere within its validity bounds, or in its sampling range."""
    values = {}
    base = Scenario.default()
    for name, p in PARAMETERS.items():
        low, _, high = base.sampling_range(name)
        if draw(st.booleans()):
            values[name] = draw(st.floats(low, high, allow_nan=False, allow_subnormal=False))
        else:
            values[name] = draw(st.floats(p.lower, p.upper, allow_nan=False, allow_subnormal=False))
    values["payment_share_after"] = min(values["payment_share_after"], 1.0 - values["payment_share_before"])
    if sum(v for k, v in values.items() if k.startswith("demand_weight_")) <= 0:
        values["demand_weight_frontier_training"] = 1.0
    return Scenario(**values)


def _check_invariants(r):
    for name, da in r.data_vars.items():
        values = da.values
        assert np.isfinite(values).all(), f"{name} has non-finite values"
        if name not in MAY_BE_NEGATIVE:
            scale = max(1.0, float(np.abs(values).max()))
            assert values.min() >= -1e-9 * scale, f"{name} is negative: {values.min()}"
    # year-end payments only move cash between a Q4 and the next Q1: zero elsewhere, each pair nets to 0
    timing = r.year_end_timing_usd.values
    month = r.quarter.dt.month.values
    scale = max(1.0, float(np.abs(timing).max()))
    assert np.abs(timing[..., (month == 4) | (month == 7)]).max() <= 1e-12 * scale
    q4 = np.flatnonzero(month[:-1] == 10)
    assert_allclose(timing[..., q4] + timing[..., q4 + 1], 0.0, atol=1e-9 * scale)
    # sites never run above capacity
    assert (r.facility_power_mw <= r.site_capacity_mw * (1 + 1e-12) + 1e-9).all()
    # placed + unplaced = needed
    assert_allclose(r.placed_it_power_mw + r.unplaced_power_mw, r.fleet_provisioned_it_power_mw, rtol=1e-9)
    # units conserved: installed = start + cumulative delivered - cumulative retired
    expected = r.units_installed_start + r.units_delivered.cumsum("quarter") - r.units_retired.cumsum("quarter")
    scale = float(r.units_installed.max()) + 1.0
    assert_allclose(r.units_installed, expected.transpose(*r.units_installed.dims), rtol=1e-9, atol=1e-9 * scale)
    # shares in [0, 1]
    for name in SHARES:
        assert ((r[name] >= -1e-12) & (r[name] <= 1 + 1e-12)).all(), name
    # the largest cap any draw can have: the top of the sampling range (the scenario value for draws=1)
    scenario = Scenario.from_json(r.attrs["scenario"])
    cap = scenario.sampling_range("bargaining_cap")[2] if r.sizes["draw"] > 1 else scenario.bargaining_cap
    f = r.nvidia_effective_price_factor
    assert ((f >= 1 - cap - 1e-12) & (f <= 1 + 1e-12)).all()
    # every H100e demanded is bought (more only when the Nvidia minimum forces a surplus), or, in the
    # power-constrained build, left unmet for lack of power (deferred or rented)
    bought = r.h100e_delivered.sum("generation") + r.power_unmet_h100e
    demanded = r.demand_h100e.sum("workload")
    assert (bought >= demanded * (1 - 1e-9) - 1e-6).all()
    assert (r.power_unmet_h100e >= -1e-6).all()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
# regression: a 2022 capability of ~1e-172 H100e made the cost per H100e-hour overflow to inf
@example(
    s=Scenario(mtia_first_release_quarter_index=0.0,
     mtia_cadence=3.434485215860512,
     mtia_slip_per_generation=0.0,
     mtia_validation_lag=0.0,
     mtia_ramp=1.0,
     mtia_design_quarters=3.0,
     mtia_nre_per_generation=0.0,
     demand_2022_h100e=1.938621365521979e-172,
     demand_2023_h100e=120000.0,
     demand_2024_h100e=0.0,
     demand_2025_h100e=0.0,
     demand_2026_h100e=0.0,
     demand_growth_2027=0.0,
     demand_growth_long_run=0.0,
     demand_weight_rec_training=0.0,
     demand_weight_genai_inference=0.0,
     demand_weight_large_genai_inference=0.0,
     demand_weight_frontier_training=1.0,
     mtia_share_target_rec_training=0.0,
     mtia_share_target_genai_inference=0.0,
     mtia_share_target_large_genai_inference=0.0,
     mtia_supply_cap_units=0.0,
     mtia_legacy_units=0.0,
     mtia_legacy_h100e_per_unit=0.0,
     nvidia_ramp_quarters=1.0,
     nvidia_deal_scale=0.0,
     amd_deal_scale=0.0,
     rental_scale=0.0,
     nvidia_price_multiplier=3.834567759709657,
     bargaining_elasticity=0.0,
     bargaining_cap=0.0,
     useful_life=1.0,
     facility_life=5.0,
     initial_a100_units=0.0,
     utilisation=0.5,
     capacity_factor_nuclear=0.0,
     capacity_factor_solar=0.0,
     capacity_factor_wind=0.0,
     capacity_factor_geothermal=0.0,
     gas_plant_availability=0.0,
     energy_contract_position=0.0,
     renewable_matching_share=0.0,
     non_ai_electricity_2020=0.0,
     non_ai_electricity_growth=0.0,
     non_ai_leased_share=0.0,
     water_withdrawal_intensity=0.0,
     build_constraint=0.0,
     power_shortfall_mode=0.0,
     site_power_plan_position=0.0,
     prometheus_power_delay_quarters=0.0,
     hyperion_power_delay_quarters=0.0,
     el_paso_power_delay_quarters=0.0,
     component_price_rise_2026=0.0,
     payment_share_before=0.0,
     payment_share_after=0.0,
     facility_capex_per_mw=10898686.0,
     facility_capex_lead=1.0,
     rest_of_fleet_leased_share=0.0,
     hyperion_jv_share=0.0,
     lease_cost_per_mw_year=0.0,
     finance_lease_principal_ratio=0.0,
     cost_of_capital=0.0,
     nvidia_gross_margin=0.0,
     competitive_gross_margin=0.0,
     non_ai_capex_2022=0.0,
     non_ai_capex_2026=0.0,
     non_ai_life=1.0,
     pre2022_depreciation=0.0,
     pre2022_server_share=0.0,
     pre2022_server_life_left=1.0,
     pre2022_other_life_left=1.0),
).via('discovered failure')
def test_invariants_random_scenarios(s):
    _check_invariants(run(s))


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.integers(0, 2**31 - 1))
def test_invariants_sampled_draws(s, seed):
    _check_invariants(run(s, draws=8, seed=seed))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_engines_agree_random_scenarios(s):
    a, b = run(s, engine="numexpr"), run(s, engine="numpy")
    for name in a.data_vars:
        assert_allclose(a[name].values, b[name].values, rtol=1e-12, atol=0, err_msg=name)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.floats(1.01, 2.0))
def test_nvidia_price_monotone(s, factor):
    dear = s.replace(nvidia_price_multiplier=min(s.nvidia_price_multiplier * factor, PARAMETERS[
        "nvidia_price_multiplier"].upper))
    a, b = run(s), run(dear)
    assert (b.capex_usd >= a.capex_usd * (1 - 1e-12)).all()


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.floats(0.1, 4.0))
def test_slip_monotone(s, extra):
    late = s.replace(mtia_slip_per_generation=min(s.mtia_slip_per_generation + extra, 8.0))
    a, b = run(s), run(late)
    assert (b.mtia_availability <= a.mtia_availability + 1e-12).all()
    # MTIA purchases can only fall (the supply cap and Nvidia minimum do not reverse it): quarter by quarter in
    # the capex build; in the power build a slip changes the mix's power per H100e, so a power-deferred backlog
    # can go out a quarter later (a counterexample: build 1, defer, near-zero demand before 2026, quarter 23
    # +3.7e-6 H100e), and only the purchases to date can only fall
    per_quarter_a, per_quarter_b = a.mtia_purchases_h100e.sum("workload"), b.mtia_purchases_h100e.sum("workload")
    if s.build_constraint > 0:
        per_quarter_a, per_quarter_b = per_quarter_a.cumsum("quarter"), per_quarter_b.cumsum("quarter")
    assert (per_quarter_b <= per_quarter_a * (1 + 1e-9) + 1e-6).all()
