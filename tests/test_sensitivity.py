"""Sobol' indices (chipsuite.sensitivity): analytic functions through the wrapper, then the model."""

import numpy as np
import pytest
import xarray as xr

from chipsuite.sampling import sample_pert, sample_triangular
from chipsuite.sensitivity import input_quantile, sobol, sobol_chart, sobol_indices

SPEC = {"a": (0.0, 1.0, 4.0), "b": (0.0, 2.0, 3.0), "c": (1.0, 1.5, 2.0)}


def pert_moments(low, mode, high, lamb=4.0):
    """Mean and variance of the modified PERT on [low, high] with mode ``mode`` (Beta moments)."""
    width = high - low
    a, b = 1 + lamb * (mode - low) / width, 1 + lamb * (high - mode) / width
    return low + width * a / (a + b), width**2 * a * b / ((a + b) ** 2 * (a + b + 1))


def within_ci(estimate, conf, theory, slack=0.01):
    return abs(estimate - theory) <= conf + slack


@pytest.mark.parametrize("method", ["pert", "triangular"])
def test_input_quantile_is_the_sampler_distribution(method):
    low, base, high = 2.0, 3.0, 7.0
    rng = np.random.default_rng(1)
    draws = (sample_pert if method == "pert" else sample_triangular)(low, base, high, 200_000, rng)
    p = np.linspace(0.01, 0.99, 21)
    np.testing.assert_allclose(np.quantile(draws, p), input_quantile(p, low, base, high, method), atol=0.02)
    assert input_quantile(0.0, low, base, high, method) == pytest.approx(low)
    assert input_quantile(1.0, low, base, high, method) == pytest.approx(high)
    assert float(input_quantile(0.3, 5.0, 5.0, 5.0, method)) == 5.0


def test_linear_model_matches_theory():
    coef = {"a": 1.0, "b": 2.0, "c": 0.5}
    var = {k: coef[k] ** 2 * pert_moments(*SPEC[k])[1] for k in SPEC}
    total = sum(var.values())
    s = sobol_indices(SPEC, lambda x: sum(coef[k] * x[k] for k in coef), n=1024, seed=0)
    assert list(s.input.values) == ["b", "a", "c"]  # sorted by ST
    for k in SPEC:  # additive: S1 = ST = share of variance
        theory = var[k] / total
        assert within_ci(s.S1.sel(input=k).item(), s.S1_conf.sel(input=k).item(), theory)
        assert within_ci(s.ST.sel(input=k).item(), s.ST_conf.sel(input=k).item(), theory)
    assert s.attrs["evaluations"] == 1024 * (3 + 2)
    assert s.S1.attrs["units"] == "1" and s.attrs["n"] == 1024


def test_product_model_interaction_and_unused_input():
    """Y = a b (c unused): S1_a = mb^2 va / V, ST_a = (mb^2 va + va vb) / V, V = mb^2 va + ma^2 vb + va vb."""
    (ma, va), (mb, vb) = pert_moments(*SPEC["a"]), pert_moments(*SPEC["b"])
    v = mb**2 * va + ma**2 * vb + va * vb
    s = sobol_indices(SPEC, lambda x: x["a"] * x["b"], n=1024, seed=3)
    theory = {"a": (mb**2 * va / v, (mb**2 * va + va * vb) / v), "b": (ma**2 * vb / v, (ma**2 * vb + va * vb) / v)}
    for k, (s1, st) in theory.items():
        assert within_ci(s.S1.sel(input=k).item(), s.S1_conf.sel(input=k).item(), s1)
        assert within_ci(s.ST.sel(input=k).item(), s.ST_conf.sel(input=k).item(), st)
        assert s.ST.sel(input=k).item() > s.S1.sel(input=k).item()  # the interaction is seen
    assert s.S1.sel(input="c").item() == 0.0 and s.ST.sel(input="c").item() == 0.0


def test_array_input_is_one_group_by_input_and_split_by_element():
    spec = {"v": xr.DataArray([[0.0, 0.0], [1.0, 1.0], [2.0, 4.0]], dims=("bound", "g"),
                              coords={"bound": ["low", "base", "high"], "g": ["x", "y"]}),
            "w": (0.0, 0.5, 1.0), "fixed": (3.0, 3.0, 3.0)}

    def f(x):
        assert x["v"].shape[1:] == (2,) and np.all(x["fixed"] == 3.0)
        return x["v"][:, 0] + x["v"][:, 1] + x["w"]

    var = {"v[g=x]": pert_moments(0, 1, 2)[1], "v[g=y]": pert_moments(0, 1, 4)[1], "w": pert_moments(0, 0.5, 1)[1]}
    total = sum(var.values())
    grouped = sobol_indices(spec, f, n=512, seed=1)
    assert sorted(grouped.input.values) == ["v", "w"]  # "fixed" has no range: not a factor
    assert grouped.elements.sel(input="v").item() == 2
    assert within_ci(grouped.ST.sel(input="v").item(), grouped.ST_conf.sel(input="v").item(),
                     (var["v[g=x]"] + var["v[g=y]"]) / total)
    split = sobol_indices(spec, f, n=512, seed=1, by="element")
    assert sorted(split.input.values) == ["v[g=x]", "v[g=y]", "w"]
    for k in var:
        assert within_ci(split.S1.sel(input=k).item(), split.S1_conf.sel(input=k).item(), var[k] / total)


def test_bad_arguments_and_outputs_are_refused():
    with pytest.raises(ValueError, match="power of 2"):
        sobol_indices(SPEC, lambda x: x["a"], n=100)
    with pytest.raises(ValueError, match="no input has a range"):
        sobol_indices({"a": (1.0, 1.0, 1.0)}, lambda x: x["a"], n=8)
    with pytest.raises(ValueError, match="evaluate returned"):
        sobol_indices(SPEC, lambda x: x["a"][:1], n=8)
    with pytest.raises(ValueError, match="not finite"):
        sobol_indices(SPEC, lambda x: np.where(x["a"] > 1.0, np.nan, x["a"]), n=8)
    with pytest.raises(ValueError, match="not a model output"):
        sobol(output="no_such_output", n=8)


@pytest.fixture(scope="module")
def capex():
    return sobol(output="capex_usd", quarter="2027Q4", n=64, seed=0)


def test_model_indices_are_consistent(capex):
    s = capex
    assert s.attrs["evaluations"] == 64 * (s.sizes["input"] + 2)
    assert s.attrs["units"] == "USD" and s.attrs["output"] == "capex_usd" and s.attrs["quarter"] == "2027Q4"
    # S1 <= ST within the confidence intervals (plus 0.02: at n = 64 the S1 estimator of a small effect
    # overshoots its bootstrap interval by up to ~0.007 for a few of the 65 inputs); ST >= 0 within its CI
    assert np.all(s.S1.values <= s.ST.values + s.S1_conf.values + s.ST_conf.values + 0.02)
    assert s.S1.sum().item() <= 1.0 + np.sqrt((s.S1_conf.values**2).sum())
    assert np.all(s.ST.values >= -s.ST_conf.values - 1e-9)
    # demand growth drives 2027 purchases; inputs capex does not read have no effect at all
    assert s.ST.sel(input="demand_growth_2027").item() > 0.1
    for name in ("utilisation", "electricity_price_usd_per_mwh", "useful_life", "nuclear_contract_delay_quarters",
                 "capacity_factor_nuclear"):
        assert s.ST.sel(input=name).item() == pytest.approx(0.0, abs=1e-12)
        assert s.S1.sel(input=name).item() == pytest.approx(0.0, abs=1e-12)
    assert s.input_units.sel(input="system_share_usd").item() == "USD"


def test_model_output_evaluator_equals_the_full_model():
    """The fleet + needed-formulas path used by sobol equals run() on the same draws."""
    import chipsuite
    from chipsuite.data import load_dataset
    from chipsuite.model.inputs import model_inputs, uncertain_inputs
    from chipsuite.sampling import _split_spec
    from chipsuite.sensitivity import _output_evaluator

    scenario = chipsuite.Scenario.default()
    ds = load_dataset()
    spec = uncertain_inputs(scenario, ds)
    ref = chipsuite.run(draws=5, seed=2)
    template = {name: _split_spec(name, t)[1] for name, t in spec.items()}
    values = model_inputs(scenario, ds, 5, 2)
    arrays = {name: values[name].transpose("draw", *template[name].dims).values for name in template}
    for output, quarter in (("capex_usd", "2027Q4"), ("emissions_tco2", "2028Q2"), ("units_installed", "2026Q4")):
        evaluate = _output_evaluator(scenario, ds, output, quarter, "sum", {}, "numexpr", template)
        expected = ref[output].sel(quarter=np.datetime64(chipsuite.parse_quarter(quarter), "ns"))
        expected = expected.sum([d for d in expected.dims if d != "draw"]).values
        np.testing.assert_array_equal(evaluate(arrays), expected)


def test_chart_validates(capex):
    spec = sobol_chart(capex, top=8).to_dict()
    assert "Sobol" in spec["title"]["subtitle"]
    values = spec["datasets"][next(iter(spec["datasets"]))]
    assert len(values) == 16


@pytest.mark.parametrize("groups", [None, ["p", "q", "p", "r", "q"]])
def test_design_equals_salib_sample(groups):
    from SALib.sample import sobol as sobol_sample

    from chipsuite.sensitivity import saltelli_design, saltelli_matrices

    problem = {"num_vars": 5, "names": list("abcde"), "bounds": [[0.0, 1.0]] * 5}
    if groups:
        problem["groups"] = groups
    expected = sobol_sample.sample(problem, 32, calc_second_order=False, scramble=True, seed=7)
    a, b = saltelli_matrices(problem, 32, 7)
    design = saltelli_design(a, b, groups or problem["names"])
    np.testing.assert_array_equal(design, expected)
    # the inputs' inverse CDFs commute with the design (it only copies entries)
    f = np.sqrt
    np.testing.assert_array_equal(saltelli_design(f(a), f(b), groups or problem["names"]), f(expected))


def test_worker_processes_give_the_same_indices():
    serial = sobol(output="energy_mwh", quarter="2026Q4", n=8, chunk=200)
    parallel = sobol(output="energy_mwh", quarter="2026Q4", n=8, chunk=200, workers=2)
    assert parallel.attrs["workers"] == 2 and serial.attrs["workers"] == 1
    for key in ("S1", "S1_conf", "ST", "ST_conf"):
        np.testing.assert_array_equal(serial[key].values, parallel[key].values)
    assert list(serial.input.values) == list(parallel.input.values)
