"""Tests for chipsuite.metrics.custom_metric: golden values, refusals, units."""

import builtins
import doctest
import os
import subprocess

import numpy as np
import pytest
import xarray as xr

import chipsuite
import chipsuite.metrics
from chipsuite.expr import compile_expression
from chipsuite.metrics import DERIVED, FormulaError, custom_metric, derive_units, metric_names


@pytest.fixture
def result():
    """A toy model result; every number below is chosen so the golden values are easy by hand."""
    return xr.Dataset(
        {
            "capex_usd": (
                ("quarter",),
                [8e9, 9e9, 12e9],
                {"units": "USD", "long_name": "AI capex"},
            ),
            "h100e": (
                ("generation", "quarter"),
                [[1e5, 2e5, 3e5], [4e5, 0.0, 6e5]],
                {"units": "H100e", "long_name": "installed H100-equivalents"},
            ),
            "energy_mwh": (("quarter",), [10.0, 20.0, 40.0], {"units": "MWh", "long_name": "energy"}),
            "price_usd_per_mwh": ((), 50.0, {"units": "USD/MWh", "long_name": "electricity price"}),
            "units_shipped": (("quarter",), np.array([1, 2, 3], dtype=np.int64), {"units": "units"}),
            "label": (("quarter",), ["a", "b", "c"]),
        },
        coords={"quarter": ["2026Q1", "2026Q2", "2026Q3"], "generation": ["h100", "mtia_t"]},
        attrs={"chipsuite_version": "test"},
    )


def test_doctests():
    res = doctest.testmod(chipsuite.metrics)
    assert res.attempted >= 3 and res.failed == 0


def test_exports():
    assert chipsuite.FormulaError is FormulaError
    assert chipsuite.custom_metric is custom_metric


@pytest.mark.parametrize("engine", ["numexpr", "numpy"])
def test_golden_capex_per_h100e(result, engine):
    out = custom_metric("capex_usd / h100e", result, engine=engine)
    by_hand = np.array([[8e4, 4.5e4, 4e4], [2e4, np.inf, 2e4]])  # 9e9 / 0 -> inf, no crash
    assert out.name == "custom"
    assert set(out.dims) == {"generation", "quarter"}
    np.testing.assert_array_equal(out.transpose("generation", "quarter").values, by_hand)
    assert list(out.quarter.values) == ["2026Q1", "2026Q2", "2026Q3"]
    assert list(out.generation.values) == ["h100", "mtia_t"]
    assert out.attrs == {"long_name": "capex_usd / h100e", "units": "USD / H100e", "formula": "capex_usd / h100e"}


def test_golden_energy_cost_and_scalars(result):
    out = custom_metric("energy_mwh * price_usd_per_mwh / 1e3", result, name="energy_cost")
    np.testing.assert_array_equal(out.values, [0.5, 1.0, 2.0])
    assert out.name == "energy_cost"
    assert out.attrs["units"] == "1e3 USD"
    assert out.dims == ("quarter",)


def test_integer_variables_are_true_divided(result):
    out = custom_metric("units_shipped / 2", result)
    np.testing.assert_array_equal(out.values, [0.5, 1.0, 1.5])
    assert out.attrs["units"] == "2 units"  # value counts pairs of units (see derive_units)


def test_boolean_metric(result):
    out = custom_metric("(capex_usd > 8.5e9) & (energy_mwh < 30)", result)
    assert out.dtype == bool
    assert out.values.tolist() == [False, True, False]
    assert out.attrs["units"] == "1"


def test_allowed_names_are_numeric_data_variables(result):
    assert metric_names(result) == ["capex_usd", "energy_mwh", "h100e", "price_usd_per_mwh", "units_shipped"]
    with pytest.raises(FormulaError, match="unknown name 'label'"):
        custom_metric("label * 2", result)
    with pytest.raises(FormulaError, match="unknown name 'quarter'"):  # coords are not variables
        custom_metric("quarter * 2", result)


def test_lazy_result_stays_lazy(result):
    out = custom_metric("capex_usd / h100e", result.chunk({"generation": 1}))
    assert out.chunks is not None
    eager = custom_metric("capex_usd / h100e", result)
    np.testing.assert_array_equal(out.transpose(*eager.dims).values, eager.values)


# ---------------------------------------------------------------- hostile input

LONG = "capex_usd + " * 60 + "1"
DEEP = "(" * 300 + "capex_usd" + ")" * 300
HOSTILE = [
    "__import__('os').system('touch {marker}')",
    "().__class__.__bases__[0].__subclasses__()",
    "capex_usd.__class__",
    "capex_usd[0]",
    "lambda: 1",
    "(lambda x: x)(1)",
    "capex_usd if h100e else 0",
    "import os",
    "x = 1",
    "open('/etc/passwd')",
    "open('{marker}', 'w').write('x')",
    "eval('1')",
    "exec('1')",
    "getattr(capex_usd, 'values')",
    "[c for c in capex_usd]",
    "{1: 2}",
    "'a' * 3",
    "f'{capex_usd}'",
    "capex_usd.values.sum()",
    "__builtins__",
    "_secret",
    "unknown_name + 1",
    "sqrt(x=1)",
    "*capex_usd",
    "(y := 2)",
    "capex_usd and h100e",
    LONG,
    DEEP,
    "-" * 100 + "capex_usd",
    "1e308 ** 10",
    "",
    "None",
    "True",
    "label",
    "capex_usd; import os",
    "capex_usd\n__import__('os')",
    "breakpoint()",
    "print(capex_usd)",
    "sqrt.__globals__",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_strings_raise_formula_error_and_nothing_runs(text, result, tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    text = text.replace("{marker}", str(marker))
    calls = []

    def tripwire(*args, **kwargs):
        calls.append(args)
        raise AssertionError("a refused formula reached a side effect")

    monkeypatch.setattr(os, "system", tripwire)
    monkeypatch.setattr(subprocess, "Popen", tripwire)
    monkeypatch.setattr(builtins, "__import__", _guarded_import(tripwire))
    for engine in ("numexpr", "numpy"):
        with pytest.raises(FormulaError) as err:
            custom_metric(text, result, engine=engine)
        assert str(err.value).startswith("refused:")
    assert calls == []
    assert not marker.exists()


def _guarded_import(tripwire, real=builtins.__import__):
    def guarded(name, *args, **kwargs):
        if name in ("os", "subprocess", "shutil", "socket"):
            tripwire(name)
        return real(name, *args, **kwargs)

    return guarded


def test_non_string_expression_is_refused(result):
    for value in (None, True, 1.5, ["capex_usd"]):
        with pytest.raises(FormulaError, match="must be a str"):
            custom_metric(value, result)


def test_messages_say_what_and_where(result):
    with pytest.raises(FormulaError, match=r"attribute access '\.__class__' at column 10"):
        custom_metric("capex_usd.__class__", result)
    with pytest.raises(FormulaError, match="did you mean capex_usd"):
        custom_metric("capex_us / h100e", result)
    with pytest.raises(FormulaError, match="not a finite number"):
        custom_metric("1e308 ** 10 * capex_usd", result)


def test_overflow_on_data_is_inf_not_a_crash(result):
    out = custom_metric("capex_usd ** 40", result)  # (8e9)**40 overflows float64
    assert np.isinf(out.values).all()


# ---------------------------------------------------------------- units


@pytest.mark.parametrize(
    "formula, expected",
    [
        ("capex_usd / h100e", "USD / H100e"),
        ("capex_usd / 1e9", "1e9 USD"),
        ("capex_usd * 1e-6", "1e6 USD"),
        ("100 * share", "%"),
        ("energy_mwh * price_usd_per_mwh", "USD"),
        ("capex_usd + 1", "USD"),
        ("capex_usd - capex_usd * 0.5", DERIVED),  # scales differ: 1 USD vs 2 USD
        ("capex_usd + tdp_w", DERIVED),
        ("sqrt(tdp_w ** 2)", "W"),
        ("tdp_w ** 0.5", "W^(1/2)"),
        ("tdp_w ** -2", "1 / W^2"),
        ("1 / years", "1 / years"),
        ("2 / years", "0.5 / years"),
        ("log(share)", "1"),
        ("log(tdp_w)", DERIVED),
        ("tdp_w > 3", "1"),
        ("where(tdp_w > 1, tdp_w, 0)", "W"),
        ("where(tdp_w > 1, tdp_w, capex_usd)", DERIVED),
        ("maximum(capex_usd, 0)", "USD"),
        ("-capex_usd / h100e", "USD / H100e"),
        ("no_units * 2", DERIVED),
        ("odd * 2", DERIVED),
        ("2 ** capex_usd", DERIVED),
    ],
)
def test_units_derivation(formula, expected):
    units = {
        "capex_usd": "USD",
        "h100e": "H100e",
        "share": "1",
        "energy_mwh": "MWh",
        "price_usd_per_mwh": "USD/MWh",
        "tdp_w": "W",
        "years": "years",
        "no_units": None,
        "odd": "USD/MW/h",
    }
    assert derive_units(compile_expression(formula, units), units) == expected
