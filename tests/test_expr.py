"""Tests for chipsuite.expr: the whitelist, canonical text, both engines, labelled evaluation."""

import doctest
import os

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chipsuite.expr
from chipsuite.expr import FormulaError, compile_expression, evaluate_dataarrays

NAMES = {"a", "b", "c", "capex_usd", "h100e"}


def test_doctests():
    result = doctest.testmod(chipsuite.expr)
    assert result.attempted >= 4 and result.failed == 0


# ---------------------------------------------------------------- golden values (by hand)


def test_golden_division_and_canonical_text():
    expr = compile_expression("capex_usd/h100e", NAMES)
    assert expr.text == "capex_usd / h100e"
    assert expr.source == "capex_usd/h100e"
    assert expr.names == frozenset({"capex_usd", "h100e"})
    for engine in ("numexpr", "numpy"):
        got = expr.evaluate({"capex_usd": np.array([6.0, 10.0, 1.0]), "h100e": np.array([3.0, 4.0, 8.0])}, engine)
        np.testing.assert_array_equal(got, [2.0, 2.5, 0.125])


@pytest.mark.parametrize("engine", ["numexpr", "numpy"])
@pytest.mark.parametrize(
    "text, expected",
    [
        ("a / b", [0.5, 1.5]),  # ints -> true division
        ("fmod(a, b)", [1.0, 1.0]),
        ("fmod(-a, b)", [-1.0, -1.0]),  # C remainder: sign of the dividend
        ("a ** 2 + 1", [2.0, 10.0]),
        ("where(a > 1, a * 10, -1)", [-1.0, 30.0]),
        ("sqrt(b * 8)", [4.0, 4.0]),
        ("maximum(a, 2) - minimum(a, 2)", [1.0, 1.0]),
        ("(a >= 3) | (b == 2) & ~(a < 0)", [True, True]),
        ("(a != 1) & (b > 1)", [False, True]),
        ("2 ** 3 * a", [8.0, 24.0]),
        ("abs(-a) + log10(100) + log(exp(1)) - 3", [1.0, 3.0]),
    ],
)
def test_golden_small_formulas(text, expected, engine):
    expr = compile_expression(text, NAMES)
    got = expr.evaluate({"a": np.array([1, 3]), "b": np.array([2, 2])}, engine=engine)
    np.testing.assert_array_equal(got, expected)
    assert got.dtype == (np.bool_ if isinstance(expected[0], bool) else np.float64)


def test_constants_are_folded_and_ints_become_floats():
    assert compile_expression("2 ** 0.5 * a", NAMES).text == "1.4142135623730951 * a"
    assert compile_expression("a / 4", NAMES).text == "a / 4.0"
    # negative folded constants keep their meaning: (-2) ** a is not -(2 ** a)
    expr = compile_expression("(0 - 2) ** a", NAMES)
    assert expr.text == "(-2.0) ** a"
    for engine in ("numexpr", "numpy"):
        np.testing.assert_array_equal(expr.evaluate({"a": np.array([2.0, 3.0])}, engine), [4.0, -8.0])


def test_canonical_text_is_a_fixed_point():
    for text in ["a+b*c", "-(a-b)**2", "where((a>b)&(c<=1), a, b/2)", "(-2)**a", "a ** -1"]:
        first = compile_expression(text, NAMES).text
        assert compile_expression(first, NAMES).text == first


def test_out_parameter_and_scalars():
    out = np.empty(3)
    for engine in ("numexpr", "numpy"):
        out[:] = 0
        res = compile_expression("a * b", NAMES).evaluate({"a": np.arange(3.0), "b": 2.0}, engine=engine, out=out)
        assert res is out
        np.testing.assert_array_equal(out, [0.0, 2.0, 4.0])


def test_overflow_on_data_is_inf_without_warning():
    expr = compile_expression("a ** 10", NAMES)
    for engine in ("numexpr", "numpy"):  # warnings are errors: this also proves there is no warning
        got = expr.evaluate({"a": np.array([1e308, 2.0])}, engine)
        assert np.isinf(got[0]) and got[1] == 1024.0
    for engine in ("numexpr", "numpy"):
        got = compile_expression("log(a) - a * b", NAMES).evaluate({"a": np.array([0.0, -1.0]), "b": 0.0}, engine)
        assert np.isneginf(got[0]) and np.isnan(got[1])
        got = compile_expression("1 / a", NAMES).evaluate({"a": np.array([0.0, -0.0])}, engine)
        np.testing.assert_array_equal(got, [np.inf, -np.inf])


def test_evaluate_errors():
    expr = compile_expression("a + b", NAMES)
    with pytest.raises(FormulaError, match="no value given for b"):
        expr.evaluate({"a": 1.0})
    with pytest.raises(FormulaError, match="dtype"):
        expr.evaluate({"a": np.array(["x"]), "b": 1.0})
    with pytest.raises(ValueError, match="engine"):
        expr.evaluate({"a": 1.0, "b": 1.0}, engine="eval")


def test_bad_names_and_functions_arguments():
    with pytest.raises(ValueError, match="collides"):
        compile_expression("log + 1", {"log"})
    with pytest.raises(ValueError, match="collides"):
        compile_expression("sum + 1", {"sum"})  # numexpr would bind its own 'sum'
    with pytest.raises(ValueError, match="public identifier"):
        compile_expression("a", {"_a"})
    with pytest.raises(ValueError, match="not supported"):
        compile_expression("a", NAMES, functions={"system"})
    with pytest.raises(FormulaError, match="unknown function 'sqrt'"):
        compile_expression("sqrt(a)", NAMES, functions={"log"})


# ---------------------------------------------------------------- refusals

HOSTILE = [
    ("__import__('os').system('touch {marker}')", "call of"),
    ("().__class__.__bases__[0].__subclasses__()", "call of"),
    ("a.__class__", "attribute access '.__class__' at column 2"),
    ("a[0]", "subscript"),
    ("lambda: 1", "lambda"),
    ("(lambda x: x)(1)", "call of"),
    ("a if b else 0", "conditional"),
    ("import os", "not a valid expression"),
    ("x = 1", "not a valid expression"),
    ("open('{marker}', 'w')", "unknown function 'open'"),
    ("eval('1')", "unknown function 'eval'"),
    ("exec('1')", "unknown function 'exec'"),
    ("getattr(a, 'values')", "unknown function 'getattr'"),
    ("[c for c in a]", "comprehension"),
    ("{1: 2}", "dict"),
    ("{1, 2}", "set"),
    ("[1, 2]", "list"),
    ("(1, 2)", "tuple"),
    ("'a' * 3", "constant"),
    ("b'a'", "constant"),
    ("f'{a}'", "f-string"),
    ("a.values.sum()", "call of"),
    ("__builtins__", "names starting with '_'"),
    ("_secret", "names starting with '_'"),
    ("unknown_name + 1", "unknown name 'unknown_name'"),
    ("sqrt(x=1)", "keyword"),
    ("sqrt(*a)", "starred"),
    ("*a", "not a valid expression"),
    ("(y := 2)", "':='"),
    ("a and b", "'and'/'or'"),
    ("a or b", "'and'/'or'"),
    ("not a", "'not'"),
    ("a < b < c", "chained comparison"),
    ("a in b", "comparison In"),
    ("a is b", "comparison Is"),
    ("a // b", "operator FloorDiv"),
    ("a % b", "use fmod(a, b)"),
    ("a << 2", "operator LShift"),
    ("a @ b", "operator MatMult"),
    ("a ^ b", "operator BitXor"),
    ("a & b", "'&'/'|' between non-comparisons"),
    ("~a", "'~' applied to a number"),
    ("(a > 1) + 1", "arithmetic on a comparison"),
    ("where(a, 1, 2)", "must be a comparison"),
    ("sqrt(a > 1)", "must be a number"),
    ("sqrt(a, b)", "takes 1 argument"),
    ("1 < 2", "two constants"),
    ("1e308 ** 10", "not a finite number"),
    ("a + 1 / 0", "not a finite number"),
    ("sqrt(-1) * a", "not a finite number"),
    ("1j * a", "constant"),
    ("...", "constant"),
    ("None", "constant None"),
    ("True", "constant True"),
    ("a + " + "9" * 400, "out of float range"),
    ("sqrt", "without a call"),
    ("await a", "await"),
    ("(yield)", "yield"),
    ("a\0", "null bytes"),
    ("", "empty"),
    ("   ", "empty"),
    ("a + b" * 200, "limit 500"),
    ("(" * 250 + "a" + ")" * 250, "limit 500"),
    ("(" * 120 + "a" + ")" * 119, "not a valid expression"),
    ("-" * 60 + "a", "levels deep (limit 40)"),
    ("+".join(["a"] * 240), "nests"),
]


def _balanced_sum(leaves):
    return "a" if leaves == 1 else f"({_balanced_sum(leaves // 2)}+{_balanced_sum(leaves - leaves // 2)})"


def test_size_limits():
    # parentheses alone add no depth; Python's parser refuses more than 200 nested ones
    assert compile_expression("(" * 200 + "a" + ")" * 200, NAMES, max_length=1000).text == "a"
    with pytest.raises(FormulaError, match="too many nested parentheses"):
        compile_expression("(" * 201 + "a" + ")" * 201, NAMES, max_length=1000)
    # a shallow but wide formula hits the node limit
    wide = _balanced_sum(160)
    with pytest.raises(FormulaError, match="syntax nodes"):
        compile_expression(wide, NAMES, max_length=2000)
    assert compile_expression(_balanced_sum(64), NAMES).names == {"a"}


@pytest.mark.parametrize("text, message", HOSTILE)
def test_hostile_strings_are_refused_and_nothing_runs(text, message, tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    calls = []
    monkeypatch.setattr(os, "system", lambda *args: calls.append(args))
    text = text.replace("{marker}", str(marker))
    with pytest.raises(FormulaError, match=None) as err:
        compile_expression(text, NAMES)
    assert message in str(err.value)
    assert str(err.value).startswith("refused:")
    assert not marker.exists() and calls == []


@pytest.mark.parametrize("value", [None, True, 3, b"a", ["a"]])
def test_non_string_formula_refused(value):
    with pytest.raises(FormulaError, match="must be a str"):
        compile_expression(value, NAMES)


def test_unknown_name_suggests_close_match():
    with pytest.raises(FormulaError, match="did you mean capex_usd"):
        compile_expression("capex_us / h100e", NAMES)


def test_multiline_position():
    with pytest.raises(FormulaError, match="line 2, column 4"):
        compile_expression("(a +\n  b.real)", NAMES)


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.text(alphabet="ab_()[]{}.,:;=+-*/%<>&|~'\" 0123456789eijlnotsqrwhx\\\n", max_size=40),
        st.lists(
            st.sampled_from(
                ["a", "b", "c", "2", "0.5", "1e3", "0", "+", "-", "*", "/", "**", "<", ">=", "==", "&", "|",
                 "~", "(", ")", ",", "sqrt(", "log(", "exp(", "abs(", "where(", "maximum(", "fmod(", ".real"]
            ),
            max_size=14,
        ).map("".join),
    )
)
def test_arbitrary_text_is_refused_cleanly_or_compiles(text):
    try:
        expr = compile_expression(text, NAMES)
    except FormulaError:
        return

    assert expr.names <= NAMES
    assert compile_expression(expr.text, NAMES).text == expr.text
    # whatever compiles also runs in both engines (no numexpr sanitizer false positives)
    data = {n: np.array([0.5, 2.0, -3.0]) for n in expr.names}
    assert expr.evaluate(data, "numexpr").shape == expr.evaluate(data, "numpy").shape


def _formulas():
    """Valid formulas of the language, built from its grammar."""
    leaf = st.one_of(
        st.sampled_from(["a", "b", "c"]),
        st.floats(0.001, 1000, allow_nan=False).map(repr),
        st.integers(0, 20).map(str),
    )

    def grow(inner):
        comparison = st.tuples(inner, st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        )
        return st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "**"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            inner.map(lambda x: f"-{x}"),
            st.tuples(st.sampled_from(["sqrt", "log", "log10", "exp", "abs"]), inner).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(st.sampled_from(["maximum", "minimum", "fmod"]), inner, inner).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
            st.tuples(comparison, inner, inner).map(lambda t: f"where({t[0]}, {t[1]}, {t[2]})"),
        )

    return st.recursive(leaf, grow, max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(_formulas())
def test_grammar_formulas_compile_to_a_fixed_point_and_run(text):
    try:
        expr = compile_expression(text, NAMES)
    except FormulaError as err:  # only constant folding may refuse a grammatical formula
        assert "not a finite number" in str(err) or "two constants" in str(err) or "syntax nodes" in str(err) \
            or "levels deep" in str(err)
        return
    again = compile_expression(expr.text, NAMES)
    assert again.text == expr.text and again.names == expr.names
    data = {"a": np.array([0.5, 2.0, 3.0]), "b": np.array([-1.5, 0.0, 4.0]), "c": np.array([[1.0], [7.0]])}
    fast, ref = expr.evaluate(data, "numexpr"), expr.evaluate(data, "numpy")
    assert fast.shape == ref.shape and fast.dtype == ref.dtype == np.float64


# ---------------------------------------------------------------- engines agree

AGREE = [
    "a / b + c / 3",
    "a ** b",
    "a ** 2.5 - b ** 3 + c ** -1",
    "(-2.0) ** c",
    "where(a > b, a - b, fmod(b, a))",
    "where((a <= 1) | (c == 2), a / c, -b)",
    "sqrt(a) * log(a) - exp(b / 5) + log10(a)",
    "abs(b) ** 0.5 / (a - b)",
    "maximum(a, b) - fmod(minimum(b, c), 3)",
    "fmod(-a, b) + fmod(a, -b)",
    "(a > 2) & ~(b != c)",
]


@settings(max_examples=40, deadline=None)
@given(
    hnp.arrays(np.float64, (3, 4), elements=st.floats(0.01, 100)),
    hnp.arrays(np.float64, (4,), elements=st.floats(-50, 50)),
    hnp.arrays(np.int64, (3, 1), elements=st.integers(-3, 6)),
)
def test_engines_agree_on_random_data(a, b, c):
    data = {"a": a, "b": b, "c": c}
    for text in AGREE:
        expr = compile_expression(text, NAMES)
        fast = expr.evaluate(data, engine="numexpr")
        ref = expr.evaluate(data, engine="numpy")
        assert fast.shape == ref.shape
        assert fast.dtype == ref.dtype
        np.testing.assert_allclose(fast, ref, rtol=1e-12, atol=0, equal_nan=True, err_msg=text)


# ---------------------------------------------------------------- labelled arrays


def _toy():
    capex = xr.DataArray(
        [[10.0, 20.0, 30.0], [1.0, 2.0, 3.0]],
        dims=("generation", "quarter"),
        coords={"generation": ["h100", "mtia"], "quarter": [1, 2, 3], "bound": "base"},
    )
    h100e = xr.DataArray([2.0, 4.0, 5.0], dims=("quarter",), coords={"quarter": [1, 2, 3]})
    return capex, h100e


@pytest.mark.parametrize("engine", ["numexpr", "numpy"])
def test_evaluate_dataarrays_broadcasts_and_keeps_labels(engine):
    capex, h100e = _toy()
    out = evaluate_dataarrays("h100e * k + capex / h100e", {"capex": capex, "h100e": h100e, "k": 0.5}, engine)
    expected = [[6.0, 7.0, 8.5], [1.5, 2.5, 3.1]]  # by hand
    assert out.dims == ("quarter", "generation") or out.dims == ("generation", "quarter")
    np.testing.assert_allclose(out.transpose("generation", "quarter").values, expected, rtol=1e-15)
    assert list(out.generation.values) == ["h100", "mtia"]
    assert list(out.quarter.values) == [1, 2, 3]
    assert out.bound.item() == "base"


def test_evaluate_dataarrays_refuses_mismatched_labels():
    capex, h100e = _toy()
    with pytest.raises(ValueError, match="do not match exactly"):
        evaluate_dataarrays("capex / h100e", {"capex": capex, "h100e": h100e.assign_coords(quarter=[2, 3, 4])})
    with pytest.raises(ValueError, match="do not match exactly"):
        evaluate_dataarrays("capex / h100e", {"capex": capex, "h100e": h100e.isel(quarter=[0, 1])})


def test_evaluate_dataarrays_conflicting_scalar_coord_dropped():
    capex, h100e = _toy()
    out = evaluate_dataarrays("x - y", {"x": capex, "y": capex.assign_coords(bound="low")})
    assert "bound" not in out.coords
    assert float(abs(out).max()) == 0.0


def test_evaluate_dataarrays_dask_matches_numpy():
    capex, h100e = _toy()
    eager = evaluate_dataarrays("capex / h100e", {"capex": capex, "h100e": h100e})
    lazy = evaluate_dataarrays("capex / h100e", {"capex": capex.chunk({"generation": 1}), "h100e": h100e})
    assert lazy.chunks is not None
    xr.testing.assert_identical(lazy.compute().transpose(*eager.dims), eager)


def test_evaluate_dataarrays_no_copy_of_float_inputs():
    big = xr.DataArray(np.arange(6.0).reshape(2, 3), dims=("x", "y"))
    expr = compile_expression("v", {"v"})
    env_seen = {}

    class Spy:
        text, names, kind = expr.text, expr.names, expr.kind

        def evaluate(self, arrays, engine="numexpr"):
            env_seen.update(arrays)
            return expr.evaluate(arrays, engine)

    evaluate_dataarrays(Spy(), {"v": big})
    assert np.shares_memory(env_seen["v"], big.values)
