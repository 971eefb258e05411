"""Fuzz suite, formula side: custom metrics, their unit derivation and the explorer's metric box.

A formula gives a labelled DataArray with a ``units`` string, or FormulaError; never another
exception. The metric box never raises and a refused metric never blocks later controls.
"""

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from chipsuite.expr import FormulaError, compile_expression
from chipsuite.metrics import DERIVED, custom_metric, derive_units

QUARTERS = ["2026Q1", "2026Q2", "2026Q3"]


@pytest.fixture(scope="module")
def result():
    rng = np.random.default_rng(0)
    dq = {"draw": np.arange(4), "quarter": QUARTERS}
    return xr.Dataset(
        {
            "capex_usd": (("draw", "quarter"), rng.uniform(1e9, 3e10, (4, 3)), {"units": "USD"}),
            "h100e": (("draw", "quarter"), rng.uniform(1e5, 1e6, (4, 3)), {"units": "H100e"}),
            "energy_mwh": (("draw", "quarter", "site"), rng.uniform(0, 1e6, (4, 3, 2)), {"units": "MWh"}),
            "share": (("draw", "quarter"), rng.uniform(0, 1, (4, 3)), {"units": "1"}),
            "price_usd_per_mwh": (("draw", "quarter"), rng.uniform(40, 80, (4, 3)), {"units": "USD/MWh"}),
            "zero_mw": (("draw", "quarter"), np.zeros((4, 3)), {"units": "MW"}),
            "tdp_w": (("generation",), [700.0, 90.0], {"units": "W"}),
            "odd_units": (("draw", "quarter"), np.ones((4, 3)), {"units": "USD/MW/h^x"}),
        },
        coords={**dq, "site": ["a", "b"], "generation": ["h100", "mtia"]},
    )


#: formula -> "ok" (a DataArray), "refused" (FormulaError) or an expected units string
PROBES = {
    # the cases
    "(capex_usd / 1e200) ** 2": "ok",
    "(capex_usd / 2) ** 1e20": "ok",
    "capex_usd ** 1e308": "ok",
    "(capex_usd * 1e300) ** 3": "ok",
    "capex_usd / 1e-300 / 1e-300": "ok",
    "capex_usd ** 0.5 ** 0.5": "ok",
    "capex_usd ** (1/3)": "ok",
    "capex_usd ** 1e-320": "ok",
    "capex_usd ** -1e20": "ok",
    "capex_usd ** 123456789": "ok",
    "sqrt(capex_usd / 1e300 / 1e300)": "ok",
    "tdp_w": "W",
    # units
    "capex_usd / h100e": "USD / H100e",
    "capex_usd / 1e9": "1e9 USD",
    "energy_mwh * price_usd_per_mwh": "USD",
    "share * 100": "%",
    "capex_usd + h100e": DERIVED,
    "odd_units * 2": DERIVED,
    "capex_usd > 1e10": "1",
    "where(share > 0.5, capex_usd, 0)": "USD",
    "abs(-capex_usd)": "USD",
    "-capex_usd / -2": "ok",
    "capex_usd / zero_mw": "ok",
    "log(share)": "1",
    "exp(share)": "1",
    "fmod(capex_usd, 7)": "ok",
    "maximum(capex_usd, 1e400)": "refused",
    "minimum(capex_usd, h100e)": "ok",
    # refused
    "": "refused",
    "   ": "refused",
    "capex_usd.__class__": "refused",
    "__import__('os')": "refused",
    "capex_usd[0]": "refused",
    "lambda: 1": "refused",
    "no_such_name": "refused",
    "capex_usd +": "refused",
    "1e400": "refused",
    "1 / 0": "refused",
    "sqrt(-1)": "refused",
    "1e308 * 10": "refused",
    "capex_usd if share else h100e": "refused",
    "[capex_usd]": "refused",
    "'text'": "refused",
    "capex_usd @ h100e": "refused",
    "capex_usd // 2": "refused",
    "not share": "refused",
    "(" * 200 + "capex_usd" + ")" * 200: "USD",  # brackets add no depth
    "sqrt(" * 100 + "share" + ")" * 100: "refused",  # nests too deeply
    "-" * 100 + "share": "refused",
    "+".join(["capex_usd"] * 2000): "refused",
    "capex_usd; h100e": "refused",
    "sqrt(capex_usd, h100e)": "refused",
    "sqrt(x=capex_usd)": "refused",
    "\x00": "refused",
    "capex_usd\n+ h100e": "refused",
    "ｃａｐｅｘ_usd": "USD",  # Python reads identifiers NFKC-normalised: the same variable
    "True": "refused",
    "None": "refused",
    "capex_usd < share < h100e": "refused",
    "2 ** 2 ** 2 ** 2 ** 2 ** 2": "refused",
    "1j * capex_usd": "refused",
}


@pytest.mark.parametrize("engine", ["numexpr", "numpy"])
@pytest.mark.parametrize("formula", list(PROBES), ids=[repr(f)[:40] for f in PROBES])
def test_formula_probe_gives_a_metric_or_a_formula_error(result, formula, engine):
    expected = PROBES[formula]
    try:
        da = custom_metric(formula, result, engine=engine)
    except FormulaError as err:
        assert expected == "refused", f"{formula!r} refused unexpectedly: {err}"
        assert str(err).startswith(("refused", "value", "no value"))
        return
    assert expected != "refused", f"{formula!r} was accepted: {da}"
    assert isinstance(da, xr.DataArray) and isinstance(da.attrs["units"], str) and da.attrs["units"]
    if expected != "ok":
        assert da.attrs["units"] == expected


def test_overflowing_unit_scale_is_derived_not_an_error():
    names = {"capex_usd": "USD"}
    for text in ("(capex_usd / 2) ** 1e20", "(capex_usd / 1e200) ** 2", "(capex_usd * 1e-300) ** 400"):
        assert derive_units(compile_expression(text, set(names)), names) == DERIVED


# --------------------------------------------------------------------------- hypothesis: random formulas

NAMES = ["capex_usd", "h100e", "energy_mwh", "share", "price_usd_per_mwh", "zero_mw", "odd_units"]
NUMBERS = st.sampled_from(["0", "1", "2", "0.5", "1e9", "1e200", "1e308", "1e-300", "1e-320", "1e20", "123456789",
                           "3", "12"])
ATOMS = st.sampled_from(NAMES) | NUMBERS


def _formulas():
    return st.recursive(
        ATOMS,
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "**", ">", "<"]), inner).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(st.sampled_from(["sqrt", "exp", "log", "log10", "abs"]), inner).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(st.sampled_from(["minimum", "maximum", "fmod"]), inner, inner).map(
                lambda t: f"{t[0]}({t[1]}, {t[2]})"),
            inner.map(lambda t: f"-{t}"),
        ),
        max_leaves=8,
    )


@settings(max_examples=300, deadline=None)
@given(formula=_formulas(), units=st.lists(st.sampled_from(["USD", "1", "MWh", "USD/MWh", "", "x^y", "W**2", None,
                                                              "a / b / c", "%", "USD^(1/2)"]),
                                           min_size=len(NAMES), max_size=len(NAMES)))
def test_unit_derivation_never_raises(formula, units):
    try:
        expr = compile_expression(formula, set(NAMES))
    except FormulaError:
        return
    got = derive_units(expr, dict(zip(NAMES, units)))
    assert isinstance(got, str) and got


@settings(max_examples=150, deadline=None)
@given(formula=_formulas())
def test_custom_metric_never_raises_anything_but_formula_error(formula):
    rng = np.random.default_rng(1)
    ds = xr.Dataset({n: (("draw", "quarter"), rng.uniform(0, 2, (2, 3)), {"units": "USD"}) for n in NAMES},
                    coords={"draw": [0, 1], "quarter": QUARTERS})
    for engine in ("numexpr", "numpy"):
        try:
            da = custom_metric(formula, ds, engine=engine)
        except FormulaError:
            continue
        assert isinstance(da.attrs["units"], str)


# --------------------------------------------------------------------------- the explorer's metric box

BOX_PROBES = [
    ("capex_usd / 1e9", ""),
    ("(capex_usd / 1e200) ** 2", ""),
    ("(capex_usd / 2) ** 1e20", "no finite value"),
    ("tdp_w", "needs 'quarter'"),
    ("1", "needs 'quarter'"),
    ("__import__('os')", "FormulaError"),
    ("capex_usd +", "FormulaError"),
    ("no_such_variable", "FormulaError"),
    ("1 / 0", "FormulaError"),
]


@pytest.fixture(scope="module")
def uncertainty():
    from chipsuite.explorers.uncertainty import UncertaintyExplorer

    app = UncertaintyExplorer(draws=8)
    _ = app.widget
    return app


@pytest.mark.parametrize("formula, words", BOX_PROBES, ids=[f for f, _ in BOX_PROBES])
def test_metric_box_checks_the_metric_and_never_blocks_later_controls(uncertainty, formula, words):
    app = uncertainty
    if formula == "tdp_w" and "tdp_w" not in app.result:
        pytest.skip("this model result has no tdp_w variable")
    app._on_control("metric", {"new": formula})  # what typing in the box does; must not raise
    if words:
        assert words in app.metric_error, app.metric_error
        assert "Custom metric not shown" in app._message.value
    else:
        assert app.metric_error == "", app.metric_error
    spec = app.chart_spec()  # the chart is drawable whatever the metric
    assert isinstance(spec, dict)
    outputs = app.CONTROLS["output"].options
    other = outputs[1] if app.values["output"] == outputs[0] else outputs[0]
    app.set(output=other)  # a later control works
    assert app.values["output"] == other
    app.set(metric="")
    assert app.metric_error == ""
