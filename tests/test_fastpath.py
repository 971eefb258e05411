"""The cached fast path (chipsuite.model.ModelCache, used by ScenarioState) equals a full run()."""

import functools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from chipsuite.data import load_dataset
from chipsuite.explorers.base import ScenarioState
from chipsuite.model import ModelCache, formula_inputs_for, model_inputs, run, simulate_fleet
from chipsuite.scenario import PARAMETERS, Scenario, ScenarioError


def assert_same_result(fast, full):
    assert set(fast.data_vars) == set(full.data_vars)
    assert fast.attrs == full.attrs
    for name, da in full.data_vars.items():
        assert fast[name].dims == da.dims, name
        assert_allclose(fast[name].values, da.values, rtol=1e-12, atol=0, err_msg=name)
        assert fast[name].attrs == da.attrs, name


@functools.cache
def fleet_names():
    """Inputs the fleet stage read, as recorded by a ModelCache full run."""
    cache = ModelCache()
    cache.run(Scenario.default())
    return cache._stage["fleet_names"]


@functools.cache
def formula_only_parameters():
    """Scenario parameters the formulas read and the fleet stage does not (from the code, not a list)."""
    ds = load_dataset()
    values = model_inputs(Scenario.default(), ds)
    inputs = formula_inputs_for(values, simulate_fleet(values, ds), ds)
    read = {name for name in PARAMETERS if name in inputs}
    read |= {"useful_life", "facility_life"}  # passed in quarters (useful_life_quarters, ...)
    return sorted(read - fleet_names())


def test_recorded_fleet_inputs_are_plausible():
    names = fleet_names()
    assert {"mtia_cadence", "useful_life", "demand_2026_h100e", "site_capacity_position"} <= names
    assert not names & {"utilisation", "pue", "electricity_price_usd_per_mwh", "bargaining_elasticity"}
    assert {"utilisation", "bargaining_cap", "nvidia_price_multiplier", "facility_life"} <= set(
        formula_only_parameters())


def test_fleet_stage_ignores_formula_only_parameters():
    """Changing every formula-only parameter leaves simulate_fleet's output unchanged (what the cache relies on)."""
    ds = load_dataset()
    values = model_inputs(Scenario.default(), ds)
    changed = dict(values)
    for name in formula_only_parameters():
        changed[name] = values[name] * 0.5 + 0.01
    a, b = simulate_fleet(values, ds), simulate_fleet(changed, ds)
    for name in a:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)


@st.composite
def formula_only_changes(draw):
    base = Scenario.default()
    names = draw(st.lists(st.sampled_from(formula_only_parameters()), min_size=1, max_size=3, unique=True))
    changes = {}
    for name in names:
        p = PARAMETERS[name]
        changes[name] = draw(st.floats(p.lower, p.upper, allow_nan=False, allow_subnormal=False))
    try:
        return base.replace(**changes)
    except ScenarioError:  # e.g. a supply mix above 1
        return base


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(formula_only_changes(), st.sampled_from([1, 7]))
def test_fast_path_equals_full_run(scenario, draws):
    cache = ModelCache()
    cache.run(Scenario.default(), draws=draws, seed=3)
    fast = cache.run(scenario, draws=draws, seed=3)
    assert cache.last_path == "fast"  # per-input random streams: the fleet inputs did not change
    assert_same_result(fast, run(scenario, draws=draws, seed=3))


def test_fleet_parameter_change_falls_back_to_full_run():
    cache = ModelCache()
    cache.run(Scenario.default())
    scenario = Scenario.default().replace(mtia_cadence=Scenario.default().mtia_cadence + 1.0)
    out = cache.run(scenario)
    assert cache.last_path == "full"
    assert_same_result(out, run(scenario))
    again = cache.run(scenario.replace(utilisation=0.5))  # the new fleet stage is now cached
    assert cache.last_path == "fast"
    assert_same_result(again, run(scenario.replace(utilisation=0.5)))


def test_draws_or_seed_change_runs_in_full():
    cache = ModelCache()
    cache.run(Scenario.default(), draws=5, seed=0)
    cache.run(Scenario.default(), draws=5, seed=1)
    assert cache.last_path == "full"
    cache.run(Scenario.default(), draws=6, seed=1)
    assert cache.last_path == "full"


def test_results_are_read_only_so_the_cache_cannot_be_corrupted():
    cache = ModelCache()
    first = cache.run(Scenario.default(), draws=4, seed=1)
    second = cache.run(Scenario.default().replace(utilisation=0.5), draws=4, seed=1)
    assert cache.last_path == "fast"
    for result in (first, second):
        for name in ("units_installed", "h100e", "energy_mwh", "capex_usd", "utilisation" if "utilisation" in
                     result else "pue"):
            with pytest.raises(ValueError, match="read-only|is a view"):
                result[name].values[...] = -1.0
            with pytest.raises(ValueError, match="read-only|is a view"):
                result[name][0] = -1.0
    writeable = second.copy(deep=True)
    writeable["capex_usd"][0] = -1.0  # a deep copy is the documented way to edit
    third = cache.run(Scenario.default().replace(utilisation=0.6), draws=4, seed=1)
    assert cache.last_path == "fast"
    assert_same_result(third, run(Scenario.default().replace(utilisation=0.6), draws=4, seed=1))


def test_fast_path_reuses_unchanged_samples_and_formulas():
    """Only the changed input is re-sampled; formulas that do not depend on it are the same objects."""
    cache = ModelCache()
    first = cache.run(Scenario.default(), draws=6, seed=2)
    second = cache.run(Scenario.default().replace(utilisation=0.5), draws=6, seed=2)
    assert cache.last_path == "fast"
    assert np.shares_memory(second["capex_usd"].values, first["capex_usd"].values)  # does not read utilisation
    assert np.shares_memory(second["h100e"].values, first["h100e"].values)  # fleet stage kept
    assert not np.array_equal(second["energy_mwh"].values, first["energy_mwh"].values)
    assert_same_result(second, run(Scenario.default().replace(utilisation=0.5), draws=6, seed=2))
    # draws > 1: a formula-only parameter's mode change keeps the fleet stage (per-input random streams)
    third = cache.run(Scenario.default().replace(utilisation=0.5, payment_share_after=0.4), draws=6, seed=2)
    assert cache.last_path == "fast"
    assert_same_result(third, run(Scenario.default().replace(utilisation=0.5, payment_share_after=0.4), draws=6, seed=2))


def test_scenario_state_takes_the_fast_path():
    state = ScenarioState(draws=1)
    state.result
    state.update(utilisation=0.55)
    result = state.result
    assert state._cache.last_path == "fast"
    assert_same_result(result, run(Scenario.default().replace(utilisation=0.55)))


@pytest.mark.parametrize("engine", ["numexpr", "numpy"])
def test_formulas_restricted_to_an_output_equal_the_full_registry(engine):
    """evaluate_formulas(only=...) (used by chipsuite.sobol) evaluates the ancestors only, equal to all."""
    from chipsuite.formulas import FORMULAS, evaluate_formulas

    ds = load_dataset()
    values = model_inputs(Scenario.default(), ds, draws=3, seed=1)
    inputs = formula_inputs_for(values, simulate_fleet(values, ds), ds)
    full = evaluate_formulas(inputs, engine=engine)
    for wanted in ({"capex_usd"}, {"energy_mwh", "hhi"}, {list(FORMULAS)[0]}):
        part = evaluate_formulas(inputs, engine=engine, only=wanted)
        assert wanted <= set(part) and len(part) < len(FORMULAS)
        for name, da in part.items():
            assert_allclose(da.values, full[name].values, rtol=0, atol=0, err_msg=name)
            assert da.dims == full[name].dims and da.attrs == full[name].attrs
    with pytest.raises(KeyError, match="unknown formula"):
        evaluate_formulas(inputs, only={"no_such_formula"})


# ---------------------------------------------------------------- construction fast paths (issue 16)


def test_with_draw_equals_expand_dims():
    import xarray as xr

    from chipsuite.model.inputs import _scalar, with_draw

    values = {"a": xr.DataArray([1.0, 2.0], dims="g", coords={"g": ["x", "y"], "label": ("g", ["p", "q"])},
                                attrs={"units": "W"}, name="a"),
              "s": _scalar(0.5), "i": _scalar(3), "has": xr.DataArray([[1.0]], dims=("draw", "g"))}
    for draws in ([0], np.arange(4), np.arange(2, 5)):
        fast = with_draw(values, draws)
        for name, da in values.items():
            plain = da if "draw" in da.dims else da.expand_dims(draw=draws)
            assert fast[name].identical(plain), (name, draws)
            assert fast[name].dtype == plain.dtype and fast[name].draw.dtype == plain.draw.dtype
            assert fast[name].values.flags.writeable == plain.values.flags.writeable
            assert list(fast[name].xindexes) == list(plain.xindexes) or set(fast[name].xindexes) == set(plain.xindexes)
    for v in (1.5, 2, np.float64(0.25)):
        assert _scalar(v).identical(xr.DataArray(v)) and _scalar(v).dtype == xr.DataArray(v).dtype


def test_formula_results_are_labelled_as_xarray_would():
    import xarray as xr

    from chipsuite.formulas import _labelled

    values = np.arange(6.0).reshape(3, 2)  # laid out (generation, draw): transposed to draw first
    coords = {"generation": xr.IndexVariable("generation", ["a", "b", "c"]),
              "vendor": xr.Variable("generation", ["n", "n", "m"])}
    plain = xr.DataArray(values, dims=("generation", "draw"), coords=coords, name="x",
                         attrs={"units": "W"}).transpose("draw", "generation")
    index = xr.Coordinates({"generation": ["a", "b", "c"]}).xindexes["generation"]
    fast = _labelled(values, ("generation", "draw"), coords, {"generation": index}, "x", {"units": "W"})
    assert fast.identical(plain) and fast.name == "x" and set(fast.xindexes) == {"generation"}
    fast.coords["vendor"].attrs["note"] = 1  # coords are copies: the sources stay unchanged
    assert "note" not in coords["vendor"].attrs


def test_result_variables_equal_the_dataarray_path():
    from chipsuite.model.core import _result_var, _result_variable

    result = run(draws=2, seed=1)
    values = model_inputs(Scenario.default(), load_dataset(), draws=2, seed=1)
    for name in ("tdp_w", "pue", "unit_price_usd"):
        da = values[name].transpose(*reversed(values[name].dims))  # a non-canonical order
        assert _result_var(name, da).identical(_result_variable(name, da).variable)
    for name in list(result.data_vars)[:20]:
        da = result[name]
        assert _result_var(name, da).identical(_result_variable(name, da).variable)


def test_formulas_fast_path_refuses_misaligned_inputs_like_the_plain_path():
    """Inputs whose coords differ are not aligned silently: the fast path steps aside (None)."""
    import xarray as xr

    from chipsuite.formulas import _raw_layout, _same_indexes

    a = xr.DataArray([1.0, 2.0], dims="site", coords={"site": ["x", "y"]})
    b = xr.DataArray([1.0, 2.0], dims="site", coords={"site": ["y", "x"]})
    c = xr.DataArray([3.0, 4.0], dims="site", coords={"site": ["x", "y"]})
    assert _same_indexes([a, c]) and not _same_indexes([a, b])
    assert not _same_indexes([a, xr.DataArray([1.0, 2.0, 3.0], dims="site")])
    assert _raw_layout({"a": a, "c": c}, ["a", "c"]) is not None
    assert _raw_layout({"a": a, "b": b}, ["a", "b"]) is None  # join="exact" refuses, as before
    assert _raw_layout({"a": a, "d": xr.DataArray([1.0], dims="site", coords={"site": ["z"]})}, ["a", "d"]) is None


@pytest.mark.parametrize("name", ["CadenceExplorer", "CapexExplorer", "DependenceExplorer", "EnergyExplorer",
                                  "DataExplorer"])
def test_chart_spec_equals_altair_to_dict_for_every_view(name):
    from chipsuite import widgets

    app = getattr(widgets, name)()
    views = app.CONTROLS[app.VIEW].options if app.VIEW in app.CONTROLS else (None,)
    for view in views:
        assert app.chart_spec(view) == app.chart(view).to_dict(), view
    if "view" in app.CONTROLS:  # after a change of data, the spec still equals Altair's
        slider = next((n for n, c in app.CONTROLS.items() if c.kind == "slider"), None)
        if slider is not None:
            c = app.CONTROLS[slider]
            app.set(**{slider: c.min if app.values[slider] != c.min else c.min + c.step})
            assert app.chart_spec() == app.chart().to_dict()


def test_validated_spec_still_refuses_an_invalid_chart():
    import altair as alt
    import pandas as pd
    from jsonschema import ValidationError

    from chipsuite.explorers.base import validated_spec

    frame = pd.DataFrame({"a": [1.0, 2.0]})
    good = alt.Chart(frame).mark_point().encode(x="a:Q")
    assert validated_spec(good) == good.to_dict()
    bad = alt.Chart(frame).mark_point().encode(x="a:Q")
    bad.width = {"no": "such"}  # set as an attribute: not checked until to_dict
    with pytest.raises(ValidationError):
        validated_spec(bad)
    with pytest.raises(ValidationError):  # refused every time, not remembered as checked
        validated_spec(bad)


def test_model_cache_compares_datasets_by_content_key():
    from chipsuite.model.core import _same_dataset

    a, b = load_dataset(), load_dataset()
    assert a.attrs["content_key"] == b.attrs["content_key"] and _same_dataset(a, b)
    other = b.copy()
    other.attrs["content_key"] = "another table content"
    assert not _same_dataset(a, other)
    plain_a, plain_b = a.copy(), b.copy()
    del plain_a.attrs["content_key"], plain_b.attrs["content_key"]
    assert _same_dataset(plain_a, plain_b)  # no key: compared in full
    plain_b["pue"] = plain_b["pue"] * 1.01
    assert not _same_dataset(plain_a, plain_b)


def test_annual_fast_path_equals_groupby():
    from chipsuite.model.core import annual

    def groupby(da, how):
        grouped = da.groupby(da.quarter.dt.year.rename("year"))
        return grouped.sum() if how == "sum" else grouped.last()

    result = run(draws=3, seed=2)
    checked = 0
    for name, da in result.data_vars.items():
        if "quarter" not in da.dims:
            continue
        for how in ("sum", "last"):
            fast, plain = annual(da, how), groupby(da, how)
            assert fast.identical(plain) and fast.dims == plain.dims and fast.dtype == plain.dtype, (name, how)
            checked += 1
    assert checked > 100
    holes = result.energy_mwh.copy()
    holes[0, 0, 3] = np.nan  # the year-end value of 2022 is missing: "last" skips it, as xarray does
    holes[1, 0, :4] = np.nan
    for how in ("sum", "last"):
        assert annual(holes, how).identical(groupby(holes, how))
    part = result.capex_usd.isel(quarter=slice(1, 9))  # not whole years from a Q1: xarray's groupby
    assert annual(part).identical(groupby(part, "sum"))


def test_same_input_compares_coords_and_values():
    import xarray as xr

    from chipsuite.model.core import _same_input

    a = xr.DataArray([1.0, np.nan], dims="g", coords={"g": ["x", "y"]})
    assert _same_input(a, a.copy(deep=True))
    assert not _same_input(a, a.assign_coords(g=["x", "z"]))
    assert not _same_input(a, a.fillna(0.0))
    assert not _same_input(a, a.rename(g="h"))
    assert _same_input(0.5, 0.5) and not _same_input(0.5, a)
    shared = xr.DataArray(a.values.copy(), coords=a.coords)  # one index object: the labels need no comparison
    assert shared.xindexes["g"] is a.xindexes["g"] and _same_input(a, shared)
    assert not _same_input(a, shared + 1.0)


# ---------------------------------------------------------------- 04: one model run per change, shared by the views


def _plain_power_builds_spec(app):
    """The *power vs capex build* chart the plain path draws: both builds from one run_points call."""
    from chipsuite.explorers.energy import BUILDS, build_comparison_chart, build_comparison_frame
    from chipsuite.explorers.grids import run_points

    r = run_points(app.scenario, [{"build_constraint": 0.0}, {"build_constraint": 1.0}])
    frame = build_comparison_frame({BUILDS[0.0]: r.isel(draw=[0]), BUILDS[1.0]: r.isel(draw=[1])})
    case = f"both builds, Hyperion delay {app.values['hyperion_power_delay_quarters']:.0f} q"
    return build_comparison_chart(frame, case).to_dict()


def test_power_explorer_runs_the_model_at_most_once_per_change_and_equals_the_plain_path(monkeypatch):
    import chipsuite.model.core as core
    from chipsuite import widgets

    full_runs = []
    evaluate = core._evaluate
    monkeypatch.setattr(core, "_evaluate", lambda *a, **k: full_runs.append(1) or evaluate(*a, **k))
    app = widgets.PowerExplorer()
    assert app.values["view"] == "power vs capex build"
    app.chart_spec()
    changes = [("hyperion_power_delay_quarters", 4.0), ("renewable_matching_share", 0.7),
               ("view", "electricity by source"), ("view", "power vs capex build"), ("build_constraint", 1.0),
               ("hyperion_power_delay_quarters", 6.0), ("power_shortfall_mode", 1.0), ("build_constraint", 0.0),
               ("view", "location vs market emissions"), ("hyperion_power_delay_quarters", 2.0)]
    for name, value in changes:
        before = len(full_runs)
        app.set(**{name: value})
        spec = app.chart_spec()
        assert len(full_runs) - before <= 1, (name, value)
        if app.values["view"] == "power vs capex build":
            assert spec == _plain_power_builds_spec(app), (name, value)
        else:
            assert spec == app.chart().to_dict()
        assert_same_result(app.result, run(app.scenario))
    app.set(view="power vs capex build")
    app.chart_spec()  # both builds of this scenario run
    before = len(full_runs)
    for name, value in [("view", "electricity by site"), ("build_constraint", 1.0), ("view", "power vs capex build"),
                        ("view", "contract timeline"), ("build_constraint", 0.0), ("view", "power vs capex build")]:
        app.set(**{name: value})
        app.chart_spec()
    assert len(full_runs) == before  # view switches and the build switch share those runs


def test_power_explorer_with_draws_keeps_its_ensemble_and_the_base_case_builds():
    from chipsuite import widgets

    app = widgets.PowerExplorer(draws=4, hyperion_power_delay_quarters=3.0)
    assert app.result.sizes["draw"] == 4
    assert_same_result(app.result, run(app.scenario, draws=4))
    assert app.chart_spec() == _plain_power_builds_spec(app)


def test_run_points_inputs_equal_the_expanded_base_inputs(monkeypatch):
    """run_points builds its inputs with with_draw(base_inputs): equal to expanding model_inputs(draws=1)."""
    import xarray as xr

    import chipsuite.explorers.grids as grids

    import chipsuite.model

    seen = []

    evaluate = chipsuite.model.evaluate_model
    monkeypatch.setattr(chipsuite.model, "evaluate_model", lambda values, ds, **k: seen.append(values) or evaluate(
        values, ds, **k))
    s = Scenario.default()
    points = [{"utilisation": 0.6}, {"mtia_cadence": 3.0, "mtia_efficiency": 1.5}, {}]
    out = grids.run_points(s, points)
    (values,) = seen
    base = model_inputs(s, grids._dataset(), draws=1)
    draws = np.arange(len(points))
    for name, da in base.items():
        plain = da.isel(draw=0, drop=True).expand_dims(draw=draws)
        if name in ("utilisation", "mtia_cadence", "h100e_factor"):
            assert values[name].dims == plain.dims
            continue
        xr.testing.assert_identical(values[name], plain)
        assert values[name].values.flags.writeable == plain.values.flags.writeable, name
    assert_same_result(out.isel(draw=[2]).assign_coords(draw=[0]).assign_attrs(run(s).attrs), run(s))


def _bounded_path_plain(var, position, dim):
    """The labelled construction ``_bounded_path`` replaced (transpose, values, coords from values)."""
    import xarray as xr

    from chipsuite.model.sites import capacity_from_position

    ordered = var.transpose("bound", dim, "quarter")
    bounds = [str(b) for b in ordered.bound.values]
    low, base, high = (ordered.values[bounds.index(b)] for b in ("low", "base", "high"))
    pos = position.transpose("draw", dim)
    out = capacity_from_position(low, base, high, pos.values)
    coords = xr.Coordinates({"draw": pos.draw.values, dim: var[dim].values, "quarter": var.quarter.values})
    return xr.DataArray(out, coords, ("draw", dim, "quarter"))


def test_bounded_paths_equal_the_labelled_construction():
    from chipsuite.model.inputs import _bounded_path

    ds = load_dataset()
    for draws in (1, 5):
        values = model_inputs(Scenario.default(), ds, draws=draws, seed=3)
        for name, pos, dim in (("site_capacity_mw", "site_capacity_position", "site"),
                               ("deal_volume", "deal_position", "tranche")):
            position = values[pos]
            for p in (position, position.transpose(*reversed(position.dims))):
                fast, plain = _bounded_path(ds[name], p, dim), _bounded_path_plain(ds[name], p, dim)
                assert fast.identical(plain) and set(fast.xindexes) == set(plain.xindexes) == {"draw", dim, "quarter"}
                assert fast.draw.dtype == plain.draw.dtype
                fast.coords[dim].attrs["note"] = 1  # coords are copies: the sources stay unchanged
                assert "note" not in ds[dim].attrs and "note" not in p[dim].attrs
    var = ds["site_capacity_mw"].copy()
    var.coords["site"].attrs["units"] = "id"  # a coordinate with attrs: built from its values, as before
    position = model_inputs(Scenario.default(), ds)["site_capacity_position"]
    assert _bounded_path(var, position, "site").identical(_bounded_path_plain(var, position, "site"))


def test_fleet_layout_is_reused_only_for_equal_dataset_content():
    import xarray as xr

    from chipsuite.model import core

    ds = load_dataset()
    values = model_inputs(Scenario.default(), ds)
    layout = core._fleet_layout(ds)
    assert core._fleet_layout(load_dataset()) is layout  # a new copy of the same tables: reused
    assert not layout["first_volume"].flags.writeable
    base = simulate_fleet(values, ds)
    changed = ds.copy(deep=True)  # same content_key attr, other values: the layout is computed anew
    changed["first_volume_quarter"] = changed.first_volume_quarter.where(changed.generation != "gb300",
                                                                         np.datetime64("2026-10-01", "ns"))
    assert core._fleet_layout(changed) is not layout
    fresh = core._compute_fleet_layout(changed)
    assert all(np.array_equal(fresh[k], v) if isinstance(v, np.ndarray) else fresh[k] == v
               for k, v in core._fleet_layout(changed).items())
    moved = simulate_fleet(values, changed)
    assert not moved["units_delivered"].identical(base["units_delivered"])
    core._LAYOUT_CACHE.clear()
    again = simulate_fleet(values, changed)
    assert all(moved[name].identical(again[name]) for name in moved)
    # outputs share one coordinate Variable per dim (as xarray's arithmetic does), not across runs
    assert moved["h100e"].coords.variables["quarter"] is moved["nre_usd"].coords.variables["quarter"]
    assert again["h100e"].coords.variables["quarter"] is not moved["h100e"].coords.variables["quarter"]
    assert isinstance(moved["h100e"].coords.variables["quarter"], xr.IndexVariable)


def test_formula_results_share_one_copy_of_each_input_coord():
    from chipsuite.formulas import evaluate_formulas

    ds = load_dataset()
    values = model_inputs(Scenario.default(), ds)
    inputs = formula_inputs_for(values, simulate_fleet(values, ds), ds)
    results = evaluate_formulas(inputs)
    plain = evaluate_formulas(inputs, engine="numpy")
    assert all(results[name].identical(plain[name]) for name in ("capex_usd", "it_power_mw", "hhi"))
    quarter = results["capex_usd"].coords.variables["quarter"]
    assert all(quarter is not v.coords.variables.get("quarter") for v in inputs.values() if hasattr(v, "coords"))
    quarter.attrs["note"] = 1  # a result's coord is a copy: no input changes
    assert not any("note" in v.coords.variables["quarter"].attrs for v in inputs.values()
                   if hasattr(v, "coords") and "quarter" in v.coords)


def test_raw_sums_and_products_equal_xarray_arithmetic():
    from chipsuite.model.core import _system_cost, _unit_power_w

    for draws in (1, 3):  # one draw: no attrs (the raw sum); sampled inputs carry attrs (xarray's sum)
        values = model_inputs(Scenario.default(), load_dataset(), draws=draws, seed=2)
        plain = values["unit_price_usd"] + values["system_share_usd"]
        assert _system_cost(values).identical(plain) and _system_cost(values).variable.identical(plain.variable)
    power = (values["tdp_w"] * values["system_power_overhead"]).transpose("draw", "generation").values
    assert np.array_equal(_unit_power_w(values), power, equal_nan=True)
    # other layouts go through xarray (aligning): a reversed generation order, a transposed input
    other = {**values, "system_share_usd": values["system_share_usd"].isel(generation=slice(None, None, -1)),
             "system_power_overhead": values["system_power_overhead"].isel(generation=slice(None, None, -1))}
    plain = other["unit_price_usd"] + other["system_share_usd"]
    assert _system_cost(other).identical(plain)
    power = (other["tdp_w"] * other["system_power_overhead"]).transpose("draw", "generation").values
    assert np.array_equal(_unit_power_w(other), power, equal_nan=True)
    other = {**values, "system_share_usd": values["system_share_usd"].transpose("generation", "draw")}
    assert _system_cost(other).identical(other["unit_price_usd"] + other["system_share_usd"])


def test_result_dataset_from_the_variables_indexes_equals_the_merge_built_one():
    import xarray as xr

    from chipsuite.model import core

    ds = load_dataset()
    values = model_inputs(Scenario.default(), ds, draws=2)
    out, stage = core._evaluate(values, ds)
    data = core._result_data(values, stage["fleet_out"], stage["site_capacity"], stage["inputs"], stage["results"])
    data.update(core.energy_stage.energy_results(values, ds, stage["inputs"], stage["results"]))
    before = {name: dict(da.attrs) for name, da in data.items()}
    fast = core._dataset(data, ds)
    assert all(data[name].attrs == attrs for name, attrs in before.items())  # units set on the Dataset's copies
    variables = {name: core._result_var(name, da) for name, da in data.items()}
    coords = {}
    for da in data.values():
        for dim, var in da.coords.variables.items():
            if dim in da.dims and dim not in coords:
                coords[dim] = var
    labels = {"quarter_label": xr.Variable("quarter", ds.quarter_label.values),
              "vendor": xr.Variable("generation", ds.vendor.sel(generation=coords["generation"].values).values),
              "chip_vendor": xr.Variable("supplier", [core.SUPPLIERS[s][0] for s in coords["supplier"].values]),
              "sourcing": xr.Variable("supplier", [core.SUPPLIERS[s][1] for s in coords["supplier"].values])}
    merged = xr.Dataset(variables, coords={**coords, **labels})
    xr.testing.assert_identical(fast, merged)
    xr.testing.assert_identical(fast, out)
    assert {k: type(v) for k, v in fast.xindexes.items()} == {k: type(v) for k, v in merged.xindexes.items()}


def test_base_inputs_with_draw_equal_the_expanded_base_inputs():
    from chipsuite.model.inputs import base_inputs, base_inputs_with_draw, dataset_spec, with_draw

    ds = load_dataset()
    for scenario in (Scenario.default(), Scenario.default().replace(mtia_cadence=4, utilisation=0.5)):
        for draws in ([0], np.arange(3)):
            plain = with_draw(base_inputs(scenario, ds), draws)
            fast = base_inputs_with_draw(scenario, dataset_spec(ds), draws)
            assert list(fast) == list(plain)
            for name, da in plain.items():
                assert fast[name].identical(da) and fast[name].dtype == da.dtype, name
                assert fast[name].values.flags.writeable == da.values.flags.writeable, name
                assert set(fast[name].xindexes) == set(da.xindexes), name
    plain = with_draw(base_inputs(Scenario.default(), ds), [0])
    fast = model_inputs(Scenario.default(), ds)
    assert list(fast) == list(plain) and all(fast[name].identical(plain[name]) for name in plain)


def test_dim_coords_equal_coordinates_built_from_values():
    import xarray as xr

    from chipsuite.model.inputs import _MAX_CACHED_SIZE, dim_coords

    dims = {"draw": np.arange(3), "generation": ["h100", "b200"], "site": np.array(["a", "b"], dtype=object),
            "quarter": np.array(["2022-01-01", "2022-04-01"], "datetime64[ns]"), "year": np.arange(2022, 2025)}
    for _ in range(2):  # built, then from the cached indexes
        variables, indexes = dim_coords(**dims)
        plain = xr.Coordinates(dims)
        assert xr.Coordinates(variables, indexes=indexes).equals(plain)
        for dim in dims:
            assert variables[dim].identical(plain.variables[dim]) and variables[dim].dtype == plain.variables[dim].dtype
            assert type(variables[dim]) is type(plain.variables[dim]) and indexes[dim].equals(plain.xindexes[dim])
    again, indexes_again = dim_coords(**dims)
    assert all(indexes_again[d] is indexes[d] for d in dims)  # one (immutable) index per distinct labels
    assert all(again[d] is not variables[d] for d in dims)  # new coordinate Variables each call
    again["draw"].attrs["note"] = 1
    assert "note" not in dim_coords(**dims)[0]["draw"].attrs
    assert dim_coords(quarter=dims["quarter"][::-1])[1]["quarter"] is not indexes["quarter"]  # other labels
    long = np.arange(_MAX_CACHED_SIZE + 1)
    assert dim_coords(draw=long)[1]["draw"] is not dim_coords(draw=long)[1]["draw"]  # not kept


def test_formula_shape_plans_are_kept_per_layout():
    from chipsuite import formulas

    ds = load_dataset()
    formulas._SHAPE_PLANS.clear()
    results = {}
    for draws in (1, 3, 1):
        values = model_inputs(Scenario.default(), ds, draws=draws, seed=4)
        inputs = formula_inputs_for(values, simulate_fleet(values, ds), ds)
        fast = formulas.evaluate_formulas(inputs)
        results.setdefault(draws, []).append(fast)
    assert len(formulas._SHAPE_PLANS) == 2  # one per layout (1 and 3 draws), the second 1-draw run reused its plan
    formulas._SHAPE_PLANS.clear()
    fresh = formulas.evaluate_formulas(inputs)  # 1 draw, the plan computed anew
    assert all(fresh[name].identical(results[1][-1][name]) for name in fresh)
    first, again = results[1]
    assert all(first[name].identical(again[name]) for name in first)


def test_result_dataset_direct_equals_the_public_constructor():
    """core._dataset_direct (xarray's Dataset._construct_direct) gives what xr.Dataset gives from the same
    parts; each variable is its own copy (attrs too), and conflicting sizes raise as in xr.Dataset."""
    import xarray as xr

    from chipsuite.model import core

    r = run()
    variables = {name: r.variables[name].copy(deep=False) for name in r.data_vars}
    for var in variables.values():
        var.attrs = {}
    coords = {name: r.variables[name] for name in r.coords}
    indexes = dict(r.xindexes)
    direct = core._dataset_direct(variables, coords, indexes)
    public = xr.Dataset(variables, coords=xr.Coordinates(coords, indexes=indexes))
    for name in public.data_vars:
        if name in core.OUTPUT_ATTRS:
            public[name].attrs["units"], public[name].attrs["long_name"] = core.OUTPUT_ATTRS[name]
    xr.testing.assert_identical(direct, public)
    assert all(direct.variables[name] is not variables[name] for name in variables)
    assert all(not variables[name].attrs for name in variables)  # the sources' attrs left unchanged
    bad = dict(variables, capex_usd=xr.Variable(("draw", "quarter"), np.zeros((1, 3))))
    with pytest.raises(ValueError, match="quarter"):
        core._dataset_direct(bad, coords, indexes)
    with pytest.raises(ValueError, match="quarter"):
        xr.Dataset(bad, coords=xr.Coordinates(coords, indexes=indexes))
