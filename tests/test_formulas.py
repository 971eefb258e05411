"""Formula registry: a hand-computed golden value for every formula; both engines agree."""

import numpy as np
import pytest
import xarray as xr
from numpy.testing import assert_allclose

import chipsuite
from chipsuite.formulas import FORMULAS, evaluate_formulas, formula_inputs, formula_table
from chipsuite.quarters import HOURS_PER_QUARTER

# (formula, inputs, expected) -- every expected value worked out by hand in the comment
GOLDEN = [
    ("provisioned_it_power_mw", dict(units_installed=1000, tdp_w=700, system_power_overhead=1.5), 1.05),
    ("site_it_capacity_mw", dict(site_capacity_mw=110, pue=1.1), 100.0),
    ("placed_it_power_mw", dict(fleet_provisioned_it_power_mw=120, fleet_it_capacity_mw=100), 100.0),
    ("placed_it_power_mw", dict(fleet_provisioned_it_power_mw=80, fleet_it_capacity_mw=100), 80.0),
    ("unplaced_power_mw", dict(fleet_provisioned_it_power_mw=120, placed_it_power_mw=100), 20.0),
    ("placed_fraction", dict(fleet_provisioned_it_power_mw=120, placed_it_power_mw=100), 100 / 120),
    ("placed_fraction", dict(fleet_provisioned_it_power_mw=0, placed_it_power_mw=0), 1.0),  # nothing to place
    ("unplaced_units", dict(units_installed=600, placed_fraction=0.75), 150.0),
    ("site_placement_share", dict(site_it_capacity_mw=25, fleet_it_capacity_mw=100), 0.25),
    ("site_placement_share", dict(site_it_capacity_mw=0, fleet_it_capacity_mw=0), 0.0),
    # 1000 units x 0.5 placed x 700 W x 0.8 x 1.5 = 420,000 W
    ("it_power_mw", dict(units_installed=1000, placed_fraction=0.5, tdp_w=700, utilisation=0.8,
                         system_power_overhead=1.5), 0.42),
    ("site_it_power_mw", dict(fleet_it_power_mw=40, site_placement_share=0.25), 10.0),
    ("facility_power_mw", dict(placed_it_power_mw=100, site_placement_share=0.25, pue=1.2), 30.0),
    # 2000 rented x 1000 W x 0.5 x 1.2 = 1.2 MW
    ("rented_it_power_mw", dict(rented_units=2000, tdp_w=1000, utilisation=0.5, system_power_overhead=1.2), 1.2),
    # 100 MW x 1.1 x 2191.5 h
    ("energy_mwh", dict(site_it_power_mw=100, pue=1.1, hours_per_quarter=HOURS_PER_QUARTER), 241065.0),
    ("electricity_cost_usd", dict(energy_mwh=1000, electricity_price_usd_per_mwh=60), 60000.0),
    ("nvidia_effective_price_factor", dict(bargaining_elasticity=0.2, mtia_share_purchases_h100e=0.5,
                                           bargaining_cap=0.15), 0.9),
    ("nvidia_effective_price_factor", dict(bargaining_elasticity=0.2, mtia_share_purchases_h100e=1.0,
                                           bargaining_cap=0.15), 0.85),
    # Nvidia: 30,000 x 1.2 x 0.9 = 32,400; MTIA or AMD: the price as it is
    ("chip_price_usd", dict(unit_price_usd=30000, is_nvidia=1, nvidia_price_multiplier=1.2,
                            nvidia_effective_price_factor=0.9), 32400.0),
    ("chip_price_usd", dict(unit_price_usd=15000, is_nvidia=0, nvidia_price_multiplier=1.2,
                            nvidia_effective_price_factor=0.9), 15000.0),
    # 25,000 x 1.1 = 27,500: the system share carries the component price index, the chip does not
    ("system_share_price_usd", dict(system_share_usd=25000, component_price_index=1.1), 27500.0),
    ("accelerator_value_usd", dict(units_delivered=10, chip_price_usd=32400), 324000.0),
    ("system_value_usd", dict(units_delivered=10, system_share_price_usd=27500), 275000.0),
    ("facility_capex_usd", dict(facility_capex_per_mw=12e6, facility_capacity_additions_mw=100), 1.2e9),
    # geometric midpoint of 22 and 10 bn per year, per quarter: sqrt(220) / 4 bn
    ("non_ai_capex_usd", dict(non_ai_capex_2022=22e9, non_ai_capex_2026=10e9, non_ai_year_weight=0.5,
                              non_ai_pause_cut_2023=0.3, rearchitecture_window=0.0,
                              quarters_per_year=4), np.sqrt(220) / 4 * 1e9),
    ("non_ai_capex_usd", dict(non_ai_capex_2022=22e9, non_ai_capex_2026=10e9, non_ai_year_weight=0.0,
                              non_ai_pause_cut_2023=0.3, rearchitecture_window=0.0,
                              quarters_per_year=4), 5.5e9),
    # inside the 2023 construction pause 30 % of it is not spent
    ("non_ai_capex_usd", dict(non_ai_capex_2022=22e9, non_ai_capex_2026=10e9, non_ai_year_weight=0.0,
                              non_ai_pause_cut_2023=0.3, rearchitecture_window=1.0,
                              quarters_per_year=4), 5.5e9 * 0.7),
    ("it_capex_usd", dict(fleet_accelerator_capex_usd=3.0, server_network_capex_usd=1.0), 4.0),
    ("ppe_capex_usd", dict(it_capex_usd=4.0, facility_capex_usd=2.0, non_ai_capex_usd=1.0, year_end_timing_usd=-0.5), 6.5),
    ("finance_lease_principal_usd", dict(ppe_capex_usd=20e9, finance_lease_principal_ratio=0.04), 0.8e9),
    ("capex_usd", dict(ppe_capex_usd=20e9, finance_lease_principal_usd=0.8e9), 20.8e9),
    ("ai_depreciation_usd", dict(it_depreciation_usd=3.0, facility_depreciation_usd=1.0), 4.0),
    ("depreciation_usd", dict(ai_depreciation_usd=4.0, non_ai_depreciation_usd=2.0, pre2022_depreciation_usd=1.5),
     7.5),
    # 1,000 MW x 1.5 USD m per MW-year / 4
    ("lease_cost_usd", dict(leased_capacity_mw=1000, lease_cost_per_mw_year=1.5e6, quarters_per_year=4), 3.75e8),
    ("h100e_all", dict(h100e_total=900, rented_h100e_total=100), 1000.0),
    ("nvidia_share_units", dict(nvidia_units_installed=3, units_installed_total=4), 0.75),
    ("nvidia_share_units", dict(nvidia_units_installed=0, units_installed_total=0), 0.0),
    ("nvidia_share_h100e", dict(nvidia_h100e=3, h100e_total=4), 0.75),
    ("mtia_share_h100e", dict(mtia_h100e=1, h100e_total=4), 0.25),
    ("amd_share_h100e", dict(amd_h100e=1, h100e_total=8), 0.125),
    # (600 + 100) / 1000: a sum in the numerator, divided as a whole
    ("nvidia_share_h100e_incl_rented", dict(nvidia_h100e=600, cloud_nvidia_h100e=100, h100e_all=1000), 0.7),
    ("nvidia_share_h100e_incl_rented", dict(nvidia_h100e=0, cloud_nvidia_h100e=0, h100e_all=0), 0.0),
    ("mtia_share_h100e_all", dict(mtia_h100e=200, h100e_all=1000), 0.2),
    ("rented_share_h100e", dict(rented_h100e_total=100, h100e_all=1000), 0.1),
    ("nvidia_share_capex", dict(nvidia_accelerator_capex_usd=1, fleet_accelerator_capex_usd=5), 0.2),
    ("compute_spend_usd", dict(it_capex_usd=9.0, cloud_cost_usd=1.0), 10.0),
    ("nvidia_share_spend_incl_rented", dict(nvidia_spend_usd=6, cloud_nvidia_spend_usd=1, compute_spend_usd=10), 0.7),
    ("nvidia_share_power", dict(nvidia_it_power_mw=9, fleet_it_power_mw=10), 0.9),
    # shares 0.6 (Nvidia incl. rented), 0.1, 0.2, 0.1: 0.36 + 0.01 + 0.04 + 0.01
    ("hhi", dict(nvidia_h100e=500, cloud_nvidia_h100e=100, amd_h100e=100, mtia_h100e=200, cloud_tpu_h100e=100,
                 h100e_all=1000), 0.42),
    ("hhi", dict(nvidia_h100e=1, cloud_nvidia_h100e=0, amd_h100e=0, mtia_h100e=0, cloud_tpu_h100e=0,
                 h100e_all=1), 1.0),
    # own Nvidia systems at list 5e6 + 1e6, plus 100 replaced units x (50,000 x 1.1 + (80,000 - 50,000) x 1.2)
    ("all_nvidia_capex_usd", dict(nvidia_list_chip_value_usd=5e6, nvidia_list_value_usd=1e6, replaced_nvidia_units=100,
                                  nvidia_blend_unit_price_usd=50000, nvidia_price_multiplier=1.1,
                                  nvidia_blend_system_cost_usd=80000, component_price_index=1.2), 15.1e6),
    ("savings_vs_all_nvidia_usd", dict(all_nvidia_capex_usd=9.1e6, it_value_usd=5e6, nre_usd=1e6), 3.1e6),
    # 1 - 0.25 / 0.5 = 0.5 of the price is above a 50 % margin; never negative
    ("nvidia_premium_share", dict(nvidia_gross_margin=0.75, competitive_gross_margin=0.5), 0.5),
    ("nvidia_premium_share", dict(nvidia_gross_margin=0.4, competitive_gross_margin=0.5), 0.0),
    ("scarcity_tax_usd", dict(nvidia_accelerator_value_usd=2e9, nvidia_premium_share=0.5), 1e9),
    # (2e6 + 100 x 50,000 x 1.1) x 0.5 - 1e6
    ("scarcity_tax_avoided_usd", dict(nvidia_list_chip_value_usd=2e6, replaced_nvidia_units=100,
                                      nvidia_blend_unit_price_usd=50000, nvidia_price_multiplier=1.1,
                                      nvidia_premium_share=0.5, scarcity_tax_usd=1e6), 2.75e6),
    ("h100e_powered", dict(h100e_total=1000, placed_fraction=0.8), 800.0),
    ("capital_charge_usd", dict(it_depreciation_usd=1e6, it_annuity_factor=1.3, facility_depreciation_usd=2e5,
                                facility_annuity_factor=2.0), 1.7e6),
    # (1e6 + 2e5 + 1e5 + 2e5) / ((800 + 200) x 2191.5 h)
    ("cost_per_h100e_hour_usd", dict(capital_charge_usd=1e6, electricity_cost_total_usd=2e5, lease_cost_usd=1e5,
                                     cloud_cost_usd=2e5, h100e_powered=800, rented_h100e_total=200,
                                     hours_per_quarter=HOURS_PER_QUARTER), 1.5e6 / (1000 * 2191.5)),
    ("cost_per_h100e_hour_usd", dict(capital_charge_usd=1e6, electricity_cost_total_usd=2e5, lease_cost_usd=0,
                                     cloud_cost_usd=0, h100e_powered=0, rented_h100e_total=0,
                                     hours_per_quarter=HOURS_PER_QUARTER), 0.0),
]

REDUCING = {n for n, f in FORMULAS.items() if f.sum_over or f.depreciation_life or f.paid_over or f.year_end}


@pytest.mark.parametrize("engine", ["numexpr", "numpy"])
@pytest.mark.parametrize("name, inputs, expected", GOLDEN, ids=[g[0] for g in GOLDEN])
def test_golden_scalar(name, inputs, expected, engine):
    f = FORMULAS[name]
    assert set(inputs) == set(f.inputs), f"test inputs for {name} do not match the formula's inputs"
    assert_allclose(f.evaluate(inputs, engine=engine), expected, rtol=1e-12)


def test_every_elementwise_formula_has_a_golden_value():
    covered = {g[0] for g in GOLDEN}
    assert set(FORMULAS) - REDUCING - covered == set()


def test_golden_labelled_arrays_keep_labels():
    units = xr.DataArray([[1000.0, 2000.0]], dims=("draw", "generation"), coords={"generation": ["h100", "b200"]})
    tdp = xr.DataArray([700.0, 1000.0], dims="generation", coords={"generation": ["h100", "b200"]})
    out = FORMULAS["provisioned_it_power_mw"].evaluate(
        {"units_installed": units, "tdp_w": tdp, "system_power_overhead": 1.5})
    assert out.dims == ("draw", "generation")
    assert list(out.generation.values) == ["h100", "b200"]
    assert_allclose(out.values, [[1.05, 3.0]])


def test_mismatched_labels_are_an_error():
    a = xr.DataArray([1.0, 2.0], dims="generation", coords={"generation": ["h100", "b200"]})
    b = xr.DataArray([1.0, 2.0], dims="generation", coords={"generation": ["h100", "rubin"]})
    with pytest.raises(ValueError, match="do not match"):
        FORMULAS["provisioned_it_power_mw"].evaluate({"units_installed": a, "tdp_w": b, "system_power_overhead": 1.0})


def test_sum_over():
    p = xr.DataArray([[1.0, 2.0]], dims=("draw", "generation"))
    out = FORMULAS["fleet_provisioned_it_power_mw"].evaluate({"provisioned_it_power_mw": p})
    assert out.dims == ("draw",)
    assert_allclose(out.values, [3.0])
    with pytest.raises(TypeError, match="DataArrays"):
        FORMULAS["fleet_provisioned_it_power_mw"].evaluate({"provisioned_it_power_mw": 1.0})


def test_straight_line_depreciation_by_hand():
    spend = xr.DataArray([4.0, 0, 0, 0, 0], dims="quarter")
    f = FORMULAS["it_depreciation_usd"]
    # life 2 quarters: 4 / 2 in each of the first two quarters
    assert_allclose(f.evaluate({"it_capex_usd": spend, "useful_life_quarters": 2.0}).values, [2, 2, 0, 0, 0])
    # life 1.5 quarters: 4 / 1.5 in the first quarter, the remaining 4/3 in the second
    assert_allclose(f.evaluate({"it_capex_usd": spend, "useful_life_quarters": 1.5}).values,
                    [4 / 1.5, 4 / 3, 0, 0, 0])
    # one life per draw
    spend2 = xr.DataArray([[4.0, 0, 0], [4.0, 0, 0]], dims=("draw", "quarter"))
    life = xr.DataArray([1.0, 4.0], dims="draw")
    got = f.evaluate({"it_capex_usd": spend2, "useful_life_quarters": life})
    assert got.dims == ("draw", "quarter")
    assert_allclose(got.values, [[4, 0, 0], [1, 1, 1]])


def test_registry_metadata():
    assert chipsuite.FORMULAS is FORMULAS
    for name, f in FORMULAS.items():
        assert f.name == name and f.units and f.long_name
        assert f.text == f.expression or f.text  # canonical text exists
    table = formula_table()
    assert list(table.name) == list(FORMULAS)
    # inputs that come from outside the registry
    ins = formula_inputs()
    assert "units_installed" in ins and "it_power_mw" not in ins


def _synthetic_inputs(seed=0, draws=3):
    rng = np.random.default_rng(seed)
    g = ["h100", "gb300", "mtia_400"]
    s = ["a", "b"]
    q = np.arange(6)
    dims = {
        ("draw", "generation", "quarter"): ["units_installed", "units_delivered", "h100e", "rented_units",
                                            "rented_h100e", "rented_spend_usd"],
        ("draw", "generation"): ["tdp_w", "unit_price_usd", "system_power_overhead"],
        ("draw", "site", "quarter"): ["site_capacity_mw"],
        ("draw", "site"): ["pue", "electricity_price_usd_per_mwh"],
        ("draw", "quarter"): ["mtia_share_purchases_h100e", "replaced_nvidia_units", "nvidia_blend_unit_price_usd",
                              "nvidia_blend_system_cost_usd", "facility_capacity_additions_mw", "leased_capacity_mw",
                              "nre_usd", "component_price_index", "pre2022_depreciation_usd"],
        ("quarter",): ["non_ai_year_weight", "first_quarter_of_year"],
    }
    coords = {"draw": np.arange(draws), "generation": g, "site": s, "quarter": q}
    out = {}
    for d, names in dims.items():
        for n in names:
            shape = tuple(len(coords[x]) for x in d)
            out[n] = xr.DataArray(rng.uniform(0.1, 2.0, shape), dims=d, coords={x: coords[x] for x in d})
    out["site_capacity_mw"] = out["site_capacity_mw"] * 1e3
    out["units_installed"] = out["units_installed"] * 1e6
    out["system_share_usd"] = out["unit_price_usd"] * 0.5  # a system costs more than its chip
    out["is_mtia"] = xr.DataArray([0.0, 0.0, 1.0], dims="generation", coords={"generation": g})
    out["is_nvidia"] = 1 - out["is_mtia"]
    out["is_amd"] = xr.zeros_like(out["is_mtia"])
    out["is_google"] = xr.zeros_like(out["is_mtia"])
    for n in formula_inputs():
        if n not in out:
            out[n] = xr.DataArray(rng.uniform(0.05, 0.3, draws), dims="draw", coords={"draw": coords["draw"]})
    out["hours_per_quarter"] = HOURS_PER_QUARTER
    out["quarters_per_year"] = 4.0
    return out


def test_engines_agree_on_every_formula():
    inputs = _synthetic_inputs()
    a = evaluate_formulas(inputs, engine="numexpr")
    b = evaluate_formulas(inputs, engine="numpy")
    assert list(a) == list(FORMULAS)
    for name in FORMULAS:
        assert a[name].attrs["units"] == FORMULAS[name].units
        assert_allclose(a[name].values, b[name].values, rtol=1e-12, atol=0, err_msg=name)


def test_evaluate_formulas_rejects_missing_inputs_and_bad_engine():
    inputs = _synthetic_inputs()
    del inputs["pue"]
    with pytest.raises(KeyError, match="pue"):
        evaluate_formulas(inputs)
    with pytest.raises(ValueError, match="engine"):
        evaluate_formulas(_synthetic_inputs(), engine="numba")


@pytest.mark.parametrize("module", ["chipsuite.formulas", "chipsuite.model.supply", "chipsuite.scenario",
                                    "chipsuite.energy", "chipsuite.costs", "chipsuite.dependence"])
def test_doctests(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


# --------------------------------------------------------------------------- fast path and incremental evaluation


def test_dependents_follow_the_registry_transitively():
    from chipsuite.formulas import dependents

    got = dependents({"utilisation"})
    # utilisation -> it_power_mw -> fleet_it_power_mw -> site_it_power_mw -> energy -> cost -> ... -> cost/H100e-hour
    for name in ("it_power_mw", "fleet_it_power_mw", "site_it_power_mw", "energy_mwh", "electricity_cost_usd",
                 "nvidia_it_power_mw", "nvidia_share_power", "electricity_cost_total_usd",
                 "cost_per_h100e_hour_usd"):
        assert name in got, name
    for name in ("capex_usd", "provisioned_it_power_mw", "placed_fraction", "hhi", "facility_power_mw"):
        assert name not in got, name
    assert dependents(set()) == set()
    assert dependents(set(formula_inputs())) == set(FORMULAS)
    # every formula that reads a name in the set, directly, is in it
    for f in FORMULAS.values():
        if f.inputs & got or f.inputs & {"utilisation"}:
            assert f.name in got


@pytest.mark.parametrize("engine", ["numexpr", "numpy"])
@pytest.mark.parametrize("changed", [["utilisation"], ["pue"], ["units_installed"], ["nre_usd", "tdp_w"]])
def test_incremental_evaluation_equals_full_evaluation(engine, changed):
    before = _synthetic_inputs()
    previous = evaluate_formulas(before, engine=engine)
    after = dict(before)
    for name in changed:
        after[name] = before[name] * 1.3
    full = evaluate_formulas(after, engine=engine)
    inc = evaluate_formulas(after, engine=engine, previous=previous, changed=set(changed))
    assert list(inc) == list(full)
    from chipsuite.formulas import dependents

    todo = dependents(changed)
    for name in FORMULAS:
        xr.testing.assert_identical(inc[name], full[name])
        if name not in todo:
            assert inc[name] is previous[name], name  # kept, not recomputed
        elif not np.allclose(full[name].values, previous[name].values, equal_nan=True):
            assert inc[name] is not previous[name]


def test_incremental_evaluation_needs_both_arguments_and_a_complete_previous():
    inputs = _synthetic_inputs()
    previous = evaluate_formulas(inputs)
    with pytest.raises(ValueError, match="both"):
        evaluate_formulas(inputs, previous=previous)
    with pytest.raises(ValueError, match="both"):
        evaluate_formulas(inputs, changed={"pue"})
    del previous["hhi"]
    with pytest.raises(KeyError, match="hhi"):
        evaluate_formulas(inputs, previous=previous, changed={"pue"})


def test_fast_path_plan_hoists_smaller_subexpressions_and_squares():
    from chipsuite.formulas import _numexpr_plan

    d, g, q = 5, 3, 4
    shapes = {"units_installed": (d, g, q), "placed_fraction": (d, 1, q), "tdp_w": (d, g, 1),
              "utilisation": (d, 1, 1), "system_power_overhead": (d, g, 1)}
    text, hoisted = _numexpr_plan(FORMULAS["it_power_mw"], shapes)
    assert text == "units_installed * placed_fraction * hoisted0"
    # (d, g, 1) sub-expression, itself holding a (d, 1, 1) product evaluated first at its own shape
    assert hoisted == [("hoisted0", "tdp_w * utilisation * system_power_overhead / 1000000.0")]
    text, hoisted = _numexpr_plan(FORMULAS["site_placement_share"],
                                  {"site_it_capacity_mw": (d, 2, q), "fleet_it_capacity_mw": (d, 1, q)})
    assert text == "where(hoisted0, site_it_capacity_mw / hoisted1, 0.0)"
    assert hoisted == [("hoisted0", "fleet_it_capacity_mw > 0.0"),
                       ("hoisted1", "where(fleet_it_capacity_mw > 0.0, fleet_it_capacity_mw, 1.0)")]
    text, hoisted = _numexpr_plan(FORMULAS["unplaced_units"], {"units_installed": (d, g, q),
                                                              "placed_fraction": (d, 1, q)})
    assert (text, hoisted) == ("units_installed * hoisted0", [("hoisted0", "1.0 - placed_fraction")])
    text, hoisted = _numexpr_plan(FORMULAS["nvidia_premium_share"], {"nvidia_gross_margin": (d, 1),
                                                                     "competitive_gross_margin": (d, 1)})
    assert hoisted == []
    from chipsuite.formulas import Formula

    squares = Formula("squares_test", "amd_h100e ** 2 + (mtia_h100e / h100e_all) ** 2", "1", "test only")
    text, hoisted = _numexpr_plan(squares, {n: (d, q) for n in squares.inputs})
    assert "amd_h100e * amd_h100e" in text and "amd_h100e **" not in text  # a name squared: x * x
    assert hoisted == []


def test_fast_path_results_are_identical_to_the_per_formula_path(monkeypatch):
    import chipsuite.formulas as formulas

    inputs = _synthetic_inputs()
    fast = evaluate_formulas(inputs, engine="numexpr")
    monkeypatch.setattr(formulas, "_evaluate_numexpr_fast", lambda *a, **k: None)
    slow = evaluate_formulas(inputs, engine="numexpr")
    for name in FORMULAS:
        xr.testing.assert_identical(fast[name], slow[name])


def test_weighted_sum_falls_back_to_nan_skipping_sum():
    """einsum would propagate NaN; xarray's sum (and so the registry) skips it."""
    inputs = _synthetic_inputs()
    h = inputs["h100e"].copy()
    h[0, 0, 1] = np.nan
    inputs["h100e"] = h
    fast = evaluate_formulas(inputs, engine="numexpr")
    ref = evaluate_formulas(inputs, engine="numpy")
    for name in ("nvidia_h100e", "mtia_h100e", "h100e_total"):
        assert np.isfinite(fast[name].values).all(), name
        assert_allclose(fast[name].values, ref[name].values, rtol=1e-12, err_msg=name)


def test_hhi_is_finite_for_tiny_capability():
    """Shares are taken before squaring: a capability of 1e-305 H100e (its square underflows to 0) gives 1, not nan.

    Found by hypothesis in ``test_invariants_random_scenarios`` (demand_2022_h100e ~ 1e-172)."""
    f = FORMULAS["hhi"]
    values = {"nvidia_h100e": 1e-305, "cloud_nvidia_h100e": 0.0, "amd_h100e": 0.0, "mtia_h100e": 0.0,
              "cloud_tpu_h100e": 0.0, "h100e_all": 1e-305}
    assert f.evaluate(values) == 1.0
    values.update(nvidia_h100e=0.0, h100e_all=0.0)
    assert f.evaluate(values) == 0.0
    half = dict(values, nvidia_h100e=1e-305, amd_h100e=1e-305, h100e_all=2e-305)
    assert abs(f.evaluate(half) - 0.5) < 1e-12
