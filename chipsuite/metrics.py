"""Custom metrics: a reader's own formula over the variables of a model result.

>>> import xarray as xr
>>> result = xr.Dataset(
...     {
...         "capex_usd": ("quarter", [6e9, 9e9], {"units": "USD", "long_name": "capex"}),
...         "h100e": ("quarter", [2e5, 3e5], {"units": "H100e", "long_name": "fleet"}),
...     },
...     coords={"quarter": ["2026Q1", "2026Q2"]},
... )
>>> m = custom_metric("capex_usd / h100e", result)
>>> m.values.tolist(), m.attrs["units"], m.attrs["long_name"]
([30000.0, 30000.0], 'USD / H100e', 'capex_usd / h100e')

The formula language (see :mod:`chipsuite.expr`) allows numbers, the result's numeric variable
names, ``+ - * / **``, comparisons combined with ``& | ~``, and ``sqrt exp log log10 abs where
minimum maximum fmod``. Anything else raises :class:`FormulaError`; nothing is ever ``eval``-ed.
"""

from __future__ import annotations

import ast
import math
from fractions import Fraction

from chipsuite.expr import (
    DEFAULT_FUNCTIONS,
    FormulaError,
    _RESERVED_NAMES,
    compile_expression,
    evaluate_dataarrays,
)

__all__ = ["DERIVED", "FormulaError", "custom_metric", "derive_units", "metric_names"]

#: ``units`` attribute of a metric whose units cannot be derived simply.
DERIVED = "derived"


def metric_names(result) -> list[str]:
    """Names a custom metric may use: the numeric data variables of ``result`` (sorted)."""
    variables = result.variables  # Variables: no DataArray built per data variable (a result has ~160)
    return sorted(
        str(name)
        for name in result.data_vars
        if isinstance(name, str)
        and variables[name].dtype.kind in "biuf"
        and name.isidentifier()
        and not name.startswith("_")
        and name not in _RESERVED_NAMES
        and name not in DEFAULT_FUNCTIONS
    )


def custom_metric(expression, result, *, name: str = "custom", engine: str = "numexpr"):
    """Evaluate a formula over the variables of a model result.

    Parameters
    ----------
    expression : str
        Formula such as ``"capex_usd / h100e"``; names are data variables of ``result``.
    result : xr.Dataset
        A model result (or any Dataset); its numeric data variables are the allowed names.
    name : str
        Name of the returned DataArray.
    engine : {"numexpr", "numpy"}
        Evaluation engine (both give the same numbers to 1e-12 relative).

    Returns
    -------
    xr.DataArray
        Labelled with the broadcast dims/coords of the referenced variables; attrs ``long_name``
        (the canonical formula), ``units`` (derived from the variables' ``units`` where the
        algebra is simple, else ``"derived"``) and ``formula`` (same as long_name).

    Raises
    ------
    FormulaError
        When the formula is refused; the message says what and at which column.
    """
    names = metric_names(result)
    expr = compile_expression(expression, names)
    variables = {n: result[n] for n in sorted(expr.names)}
    out = evaluate_dataarrays(expr, variables, engine=engine)
    units = {n: result[n].attrs.get("units") for n in expr.names}
    out.name = name
    out.attrs = {
        "long_name": expr.text,
        "units": derive_units(expr, units),
        "formula": expr.text,
    }
    return out


# ---------------------------------------------------------------- units algebra

def _parse_units(text):
    """'USD/MWh' -> {'USD': 1, 'MWh': -1}; '1' -> {}; None if not a simple product of powers."""
    if not isinstance(text, str) or not text.strip():
        return None
    parts = text.split("/")
    if len(parts) > 2:
        return None
    units: dict[str, Fraction] = {}
    for sign, part in zip((1, -1), parts):
        tokens = part.replace("*", " ").split()
        if not tokens:
            return None
        for token in tokens:
            if token == "1":
                continue
            base, _, power = token.replace("**", "^").partition("^")
            try:
                exp = Fraction(power) if power else Fraction(1)
            except ValueError:
                return None
            if not base or not (base[0].isalpha() or base[0] == "%"):
                return None
            units[base] = units.get(base, Fraction(0)) + sign * exp
    return {k: v for k, v in units.items() if v != 0}


def _fmt_power(base, exp):
    if exp == 1:
        return base
    return f"{base}^{exp}" if exp.denominator == 1 else f"{base}^({exp})"


def _format_units(units, scale):
    num = [_fmt_power(b, e) for b, e in units.items() if e > 0]
    den = [_fmt_power(b, -e) for b, e in units.items() if e < 0]
    text = " ".join(num) if num else "1"
    if den:
        text += " / " + " ".join(den)
    if text == "1" and math.isclose(scale, 0.01, rel_tol=1e-12):
        return "%"
    if scale != 1:
        k = math.log10(scale)
        prefix = f"1e{round(k)}" if abs(k - round(k)) < 1e-12 else f"{scale:.6g}"
        if text == "1":
            text = prefix
        elif num:
            text = f"{prefix} {text}"
        else:
            text = f"{prefix}{text[1:]}"  # '1 / years' -> '0.5 / years'

    return text


class _Units:
    """Result units of a sub-expression: exponents per unit symbol and a scale factor.

    ``const`` marks a pure number, which takes the units of what it is added to or compared with.
    A value ``v`` with scale ``s`` means ``v`` counts multiples of ``s`` of the unit, so
    ``capex_usd / 1e9`` has units ``1e9 USD``.
    """

    __slots__ = ("units", "scale", "const")

    def __init__(self, units, scale=1.0, const=False):
        self.units, self.scale, self.const = units, scale, const

    def same(self, other):
        return self.units == other.units and math.isclose(self.scale, other.scale, rel_tol=1e-12)


def _combine(u, v, sign):
    out = dict(u)
    for k, e in v.items():
        out[k] = out.get(k, Fraction(0)) + sign * e
    return {k: e for k, e in out.items() if e != 0}


def _units_of(node, names):
    """_Units of a canonical node, or None when they cannot be derived simply."""
    if isinstance(node, ast.Constant):
        return _Units({}, 1.0, const=node.value)
    if isinstance(node, ast.Name):
        parsed = _parse_units(names.get(node.id))
        return None if parsed is None else _Units(parsed)
    if isinstance(node, ast.UnaryOp):
        inner = _units_of(node.operand, names)
        if inner is None or isinstance(node.op, ast.Invert):
            return None if inner is None else _Units({}, 1.0)
        if inner.const is not False:
            return _Units({}, 1.0, const=-inner.const if isinstance(node.op, ast.USub) else inner.const)
        return inner
    if isinstance(node, ast.BinOp):
        a, b = _units_of(node.left, names), _units_of(node.right, names)
        if a is None or b is None:
            return None
        if isinstance(node.op, (ast.Add, ast.Sub)):
            if a.const is not False:
                return b
            if b.const is not False or a.same(b):
                return a
            return None
        # a pure-number factor rescales the unit (x / 1e9 counts multiples of 1e9 x-units);
        # its sign is not part of the units
        ca = abs(a.const) if a.const is not False else None
        cb = abs(b.const) if b.const is not False else None
        if isinstance(node.op, ast.Mult):
            if ca is not None:
                return _Units(b.units, b.scale / ca) if ca > 0 else None
            if cb is not None:
                return _Units(a.units, a.scale / cb) if cb > 0 else None
            return _Units(_combine(a.units, b.units, 1), a.scale * b.scale)
        if isinstance(node.op, ast.Div):
            if cb is not None:
                return _Units(a.units, a.scale * cb) if cb > 0 else None
            if ca is not None:
                return _Units(_combine({}, b.units, -1), 1.0 / (ca * b.scale)) if ca > 0 else None
            return _Units(_combine(a.units, b.units, -1), a.scale / b.scale)
        if isinstance(node.op, ast.Pow):
            a_plain = not a.units and a.scale == 1
            if cb is None:  # exponent is a variable: both sides must be plain numbers
                return _Units({}, 1.0) if a_plain and not b.units and b.scale == 1 else None
            if a_plain:
                return _Units({}, 1.0)
            exp = Fraction(b.const).limit_denominator(12)
            if float(exp) != b.const:
                return None
            return _Units({k: e * exp for k, e in a.units.items()}, a.scale**b.const)
        return _Units({}, 1.0) if isinstance(node.op, (ast.BitAnd, ast.BitOr)) else None
    if isinstance(node, ast.Compare):
        return _Units({}, 1.0)  # booleans: dimensionless
    if isinstance(node, ast.Call):
        args = [_units_of(a, names) for a in node.args]
        if any(a is None for a in args):
            return None
        fname = node.func.id
        if fname == "sqrt":
            (a,) = args
            return _Units({k: e / 2 for k, e in a.units.items()}, math.sqrt(a.scale))
        if fname in ("exp", "log", "log10"):
            (a,) = args
            return _Units({}, 1.0) if not a.units and a.scale == 1 else None
        if fname == "abs":
            return args[0]
        branches = args[1:] if fname == "where" else args
        if fname == "fmod":
            branches = args
        typed = [b for b in branches if b.const is False]
        if not typed:
            return _Units({}, 1.0)
        if all(t.same(typed[0]) for t in typed):
            return typed[0]
        return None
    return None  # pragma: no cover


def derive_units(expr, units):
    """Units of a compiled expression from the ``units`` of the names it uses.

    Parameters
    ----------
    expr : chipsuite.expr.Expression
    units : mapping of name -> units string (e.g. ``"USD"``, ``"USD/MWh"``, ``"1"``)

    Returns
    -------
    str
        e.g. ``"USD / H100e"``, ``"1e9 USD"`` for ``capex_usd / 1e9``, ``"1"`` for comparisons,
        or ``"derived"`` when the units are missing, unparseable or inconsistent (``a_usd + b_w``),
        or their scale leaves the float range (``(capex_usd / 2) ** 1e20``). Never raises.

    >>> from chipsuite.expr import compile_expression
    >>> e = compile_expression("energy_mwh * price_usd_per_mwh", {"energy_mwh", "price_usd_per_mwh"})
    >>> derive_units(e, {"energy_mwh": "MWh", "price_usd_per_mwh": "USD/MWh"})
    'USD'
    """
    try:
        got = _units_of(expr.tree.body, dict(units))
        if got is not None:
            text = _format_units(got.units, got.scale) if math.isfinite(got.scale) and got.scale > 0 else None
    except (ArithmeticError, ValueError, TypeError):
        # OverflowError of a unit scale such as (capex_usd / 2) ** 1e20, a huge Fraction exponent, ...:
        # the formula itself is valid, only its units are not simple
        return DERIVED
    if got is None or text is None:
        return DERIVED
    return text
