"""Safe arithmetic expressions: the one place where text becomes arithmetic.

A formula such as ``capex_usd / h100e`` is parsed with :func:`ast.parse` and every node of the
tree is checked against a small whitelist (numbers, allowed names, ``+ - * / **``, comparisons,
``& | ~`` between comparisons, and a few whitelisted functions). Nothing else is accepted, and user
text is never handed to ``eval``, ``exec`` or ``compile``. The validated tree is turned back into a
canonical string (:attr:`Expression.text`, made by :func:`ast.unparse`); that string is the only
text ever given to numexpr. The plain-numpy engine walks the validated tree instead.

>>> import numpy as np
>>> expr = compile_expression("capex_usd / h100e", names={"capex_usd", "h100e"})
>>> expr.text
'capex_usd / h100e'
>>> expr.evaluate({"capex_usd": np.array([6.0, 9.0]), "h100e": np.array([2.0, 3.0])})
array([3., 3.])
>>> compile_expression("capex_usd.__class__", names={"capex_usd"})
Traceback (most recent call last):
...
chipsuite.expr.FormulaError: refused: attribute access '.__class__' at column 10 in 'capex_usd.__class__'

Semantics (identical in both engines):

- every input is cast to float64 (ints and bools included), and integer literals become floats,
  so ``/`` is always true division;
- ``%`` is refused: numexpr computes it as ``a - floor(a / b) * b``, which disagrees with numpy
  (``1 % 0.01``); use ``fmod(a, b)`` (C remainder, sign of ``a``), which is exact in both engines;
- sub-expressions made only of constants are folded when the formula is compiled; a folded value
  that is not finite (``1 / 0``, ``1e308 ** 10``, ``sqrt(-1)``) is refused with :class:`FormulaError`;
- on data, overflow and invalid operations give ``inf``/``nan`` silently (numexpr never warns, and
  the numpy engine matches it); check ``np.isfinite`` on results where that matters;
- comparisons give booleans, which may only be combined with ``&``, ``|``, ``~`` or used as the
  first argument of ``where``; chained comparisons (``a < b < c``) are refused: write
  ``(a < b) & (b < c)``.
"""

from __future__ import annotations

import ast
import difflib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import numpy as np

__all__ = [
    "DEFAULT_FUNCTIONS",
    "Expression",
    "FormulaError",
    "compile_expression",
    "evaluate_dataarrays",
]

#: numexpr's default "moderate" optimisation rewrites ``x / c`` as ``x * (1 / c)``: results then differ
#: from numpy in the last bit, and ``a / 0`` raises ZeroDivisionError while compiling instead of
#: giving inf like numpy. With no rewriting both engines do the same IEEE operations.
NUMEXPR_OPTIONS = {"optimization": "none"}

MAX_DEPTH = 40
MAX_NODES = 400

NUMBER = "number"
BOOL = "bool"


class FormulaError(ValueError):
    """A formula was refused (not allowed, malformed) or could not be evaluated."""


@dataclass(frozen=True)
class _Function:
    """A whitelisted function: its numpy implementation and the kinds of its arguments."""

    numpy: Callable[..., Any]
    args: tuple[str, ...]


#: Functions supported by both engines (numexpr has each of them under the same name).
KNOWN_FUNCTIONS: Mapping[str, _Function] = {
    "sqrt": _Function(np.sqrt, (NUMBER,)),
    "exp": _Function(np.exp, (NUMBER,)),
    "log": _Function(np.log, (NUMBER,)),
    "log10": _Function(np.log10, (NUMBER,)),
    "abs": _Function(np.abs, (NUMBER,)),
    "where": _Function(np.where, (BOOL, NUMBER, NUMBER)),
    "minimum": _Function(np.minimum, (NUMBER, NUMBER)),
    "maximum": _Function(np.maximum, (NUMBER, NUMBER)),
    "fmod": _Function(np.fmod, (NUMBER, NUMBER)),
}

#: Function names a formula may call unless told otherwise.
DEFAULT_FUNCTIONS: frozenset[str] = frozenset(KNOWN_FUNCTIONS)

# names numexpr binds to its own functions when it evaluates text: a variable may not use them
try:  # pragma: no cover - numexpr is a hard dependency, this only guards odd installs
    from numexpr.expressions import functions as _NUMEXPR_FUNCTIONS

    _RESERVED_NAMES = frozenset(_NUMEXPR_FUNCTIONS) | {"None", "True", "False"}
except ImportError:  # pragma: no cover
    _RESERVED_NAMES = frozenset(KNOWN_FUNCTIONS) | {"None", "True", "False"}

_ARITHMETIC = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.true_divide,
    ast.Pow: np.power,
}
_LOGICAL = {ast.BitAnd: np.logical_and, ast.BitOr: np.logical_or}
_COMPARE = {
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
    ast.Eq: np.equal,
    ast.NotEq: np.not_equal,
}
_UNARY = {ast.USub: np.negative, ast.UAdd: np.positive}

# readable names for refused node types
_REFUSED_NAMES = {
    ast.Attribute: "attribute access",
    ast.Subscript: "indexing/subscript",
    ast.Lambda: "lambda",
    ast.IfExp: "conditional expression (use where(cond, a, b))",
    ast.ListComp: "comprehension",
    ast.SetComp: "comprehension",
    ast.DictComp: "comprehension",
    ast.GeneratorExp: "generator expression",
    ast.Starred: "starred argument",
    ast.JoinedStr: "f-string",
    ast.FormattedValue: "f-string",
    ast.NamedExpr: "assignment expression ':='",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Dict: "dict literal",
    ast.List: "list literal",
    ast.Set: "set literal",
    ast.Tuple: "tuple",
    ast.BoolOp: "'and'/'or' (use & and | between comparisons)",
    ast.Slice: "slice",
}


def _where(text: str, node: ast.AST) -> str:
    """' at column C' (1-based), with the line when the formula spans several lines."""
    line = getattr(node, "lineno", 1)
    col = getattr(node, "col_offset", 0) + 1
    loc = f"line {line}, column {col}" if line > 1 else f"column {col}"
    shown = text if len(text) <= 80 else text[:77] + "..."
    return f" at {loc} in {shown!r}"


def _segment(text: str, node: ast.AST) -> str:
    seg = ast.get_source_segment(text, node) or type(node).__name__
    return seg if len(seg) <= 60 else seg[:57] + "..."


def _depth_and_count(tree: ast.AST) -> tuple[int, int]:
    """Maximum depth and node count of a tree (iterative: safe on deep trees)."""
    depth, count = 0, 0
    stack = [(tree, 1)]
    while stack:
        node, d = stack.pop()
        count += 1
        depth = max(depth, d)
        stack.extend((child, d + 1) for child in ast.iter_child_nodes(node))
    return depth, count


def _const(node: ast.AST) -> float | None:
    """The value of a canonical constant node (``Constant`` or ``-Constant``), else None."""
    if isinstance(node, ast.Constant) and type(node.value) is float:
        return node.value
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub)
        and isinstance(node.operand, ast.Constant)
        and type(node.operand.value) is float
    ):
        return -node.operand.value
    return None


def _const_node(value: float) -> ast.expr:
    # a negative constant is written as -(c) so that unparse keeps precedence: (-2.0) ** x
    if value < 0 or (value == 0 and np.signbit(value)):
        return ast.UnaryOp(op=ast.USub(), operand=ast.Constant(value=-value))
    return ast.Constant(value=value)


class _Validator:
    """Checks every node against the whitelist and builds the canonical (folded) tree."""

    def __init__(self, text: str, names: frozenset[str], functions: frozenset[str]):
        self.text = text
        self.names = names
        self.functions = functions
        self.used: set[str] = set()

    def refuse(self, what: str, node: ast.AST) -> FormulaError:
        return FormulaError(f"refused: {what}{_where(self.text, node)}")

    def fold(self, func: Callable[..., Any], args: list[float], node: ast.AST) -> ast.expr:
        with np.errstate(all="ignore"):
            value = float(func(*(np.float64(a) for a in args)))
        if not np.isfinite(value):
            raise self.refuse(
                f"constant sub-expression '{_segment(self.text, node)}' is not a finite number "
                f"({value}; division by zero, overflow or invalid operation)",
                node,
            )
        return _const_node(value)

    def visit(self, node: ast.AST) -> tuple[ast.expr, str]:
        """Return (canonical node, kind) where kind is 'number' or 'bool'."""
        if isinstance(node, ast.Constant):
            value = node.value
            if type(value) not in (int, float):
                raise self.refuse(f"constant {_segment(self.text, node)} (only int/float numbers)", node)
            try:
                as_float = float(value)
            except OverflowError:
                raise self.refuse(f"number '{_segment(self.text, node)}' is out of float range", node) from None
            if not np.isfinite(as_float):
                raise self.refuse(f"number '{_segment(self.text, node)}' is not finite", node)
            return ast.Constant(value=as_float), NUMBER

        if isinstance(node, ast.Name):
            name = node.id
            if not isinstance(node.ctx, ast.Load):  # pragma: no cover - mode="eval" only loads
                raise self.refuse(f"assignment to '{name}'", node)
            if name.startswith("_"):
                raise self.refuse(f"name '{name}' (names starting with '_' are not allowed)", node)
            if name in self.functions:
                raise self.refuse(f"function '{name}' used without a call", node)
            if name not in self.names:
                hint = difflib.get_close_matches(name, sorted(self.names), n=3)
                allowed = sorted(self.names)
                listed = ", ".join(allowed[:30]) + (", ..." if len(allowed) > 30 else "")
                extra = f"; did you mean {', '.join(hint)}?" if hint else ""
                raise self.refuse(f"unknown name '{name}'{extra} (allowed names: {listed or 'none'})", node)
            self.used.add(name)
            return ast.Name(id=name, ctx=ast.Load()), NUMBER

        if isinstance(node, ast.BinOp):
            op = type(node.op)
            left, lk = self.visit(node.left)
            right, rk = self.visit(node.right)
            if op in _ARITHMETIC:
                if lk != NUMBER or rk != NUMBER:
                    raise self.refuse(f"arithmetic on a comparison result '{_segment(self.text, node)}'", node)
                a, b = _const(left), _const(right)
                if a is not None and b is not None:
                    return self.fold(_ARITHMETIC[op], [a, b], node), NUMBER
                return ast.BinOp(left=left, op=node.op.__class__(), right=right), NUMBER
            if op in _LOGICAL:
                if lk != BOOL or rk != BOOL:
                    raise self.refuse(
                        f"'&'/'|' between non-comparisons '{_segment(self.text, node)}' "
                        "(write e.g. (a > 0) & (b < 1))",
                        node,
                    )
                return ast.BinOp(left=left, op=node.op.__class__(), right=right), BOOL
            if op is ast.Mod:
                # numexpr computes a % b as a - floor(a / b) * b, which differs from numpy/Python
                # (e.g. 1 % 0.01 gives 0.0 instead of 0.00999...); fmod is exact in both engines
                raise self.refuse(
                    f"operator '%' in '{_segment(self.text, node)}' (use fmod(a, b): remainder with the sign of a)",
                    node,
                )
            raise self.refuse(f"operator {op.__name__} '{_segment(self.text, node)}'", node)

        if isinstance(node, ast.UnaryOp):
            op = type(node.op)
            operand, kind = self.visit(node.operand)
            if op in _UNARY:
                if kind != NUMBER:
                    raise self.refuse(f"sign applied to a comparison '{_segment(self.text, node)}'", node)
                c = _const(operand)
                if c is not None:
                    return _const_node(-c if op is ast.USub else c), NUMBER
                return ast.UnaryOp(op=node.op.__class__(), operand=operand), NUMBER
            if op is ast.Invert:
                if kind != BOOL:
                    raise self.refuse(f"'~' applied to a number '{_segment(self.text, node)}'", node)
                return ast.UnaryOp(op=ast.Invert(), operand=operand), BOOL
            raise self.refuse(f"operator 'not' '{_segment(self.text, node)}' (use ~(comparison))", node)

        if isinstance(node, ast.Compare):
            if len(node.ops) != 1:
                raise self.refuse(
                    f"chained comparison '{_segment(self.text, node)}' (write (a < b) & (b < c))", node
                )
            op = type(node.ops[0])
            if op not in _COMPARE:
                raise self.refuse(f"comparison {op.__name__} '{_segment(self.text, node)}'", node)
            left, lk = self.visit(node.left)
            right, rk = self.visit(node.comparators[0])
            if lk != NUMBER or rk != NUMBER:
                raise self.refuse(f"comparison of comparisons '{_segment(self.text, node)}'", node)
            if _const(left) is not None and _const(right) is not None:
                raise self.refuse(f"comparison of two constants '{_segment(self.text, node)}'", node)
            return ast.Compare(left=left, ops=[node.ops[0].__class__()], comparators=[right]), BOOL

        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                raise self.refuse(f"call of '{_segment(self.text, node.func)}' (only named functions)", node)
            fname = node.func.id
            if fname not in self.functions:
                allowed = ", ".join(sorted(self.functions)) or "none"
                raise self.refuse(f"call of unknown function '{fname}' (allowed: {allowed})", node)
            if node.keywords:
                raise self.refuse(f"keyword argument in call of '{fname}' (positional only)", node)
            for arg in node.args:
                if isinstance(arg, ast.Starred):
                    raise self.refuse(f"starred argument in call of '{fname}'", arg)
            spec = KNOWN_FUNCTIONS[fname]
            if len(node.args) != len(spec.args):
                raise self.refuse(
                    f"{fname}() takes {len(spec.args)} argument(s), got {len(node.args)}", node
                )
            args = []
            for arg, want in zip(node.args, spec.args):
                canon, kind = self.visit(arg)
                if kind != want:
                    need = "a comparison" if want == BOOL else "a number"
                    raise self.refuse(f"argument '{_segment(self.text, arg)}' of {fname}() must be {need}", arg)
                args.append(canon)
            consts = [_const(a) for a in args]
            if all(c is not None for c in consts) and BOOL not in spec.args:
                return self.fold(spec.numpy, consts, node), NUMBER
            return ast.Call(func=ast.Name(id=fname, ctx=ast.Load()), args=args, keywords=[]), NUMBER

        if isinstance(node, ast.Attribute):
            # point at the attribute itself, not at the object it is taken from
            at = ast.Constant(value=None, lineno=node.end_lineno, col_offset=node.end_col_offset - len(node.attr) - 1)
            raise self.refuse(f"attribute access '.{node.attr}'", at)
        what = _REFUSED_NAMES.get(type(node), f"{type(node).__name__} node")
        raise self.refuse(f"{what} '{_segment(self.text, node)}'", node)


def compile_expression(
    text: str,
    names: Iterable[str],
    *,
    functions: Iterable[str] = DEFAULT_FUNCTIONS,
    max_length: int = 500,
) -> "Expression":
    """Validate a formula and return an :class:`Expression`.

    Parameters
    ----------
    text : str
        The formula, e.g. ``"capex_usd / h100e"``.
    names : iterable of str
        Variable names the formula may reference.
    functions : iterable of str
        Function names it may call; a subset of :data:`KNOWN_FUNCTIONS`
        (default: all of them: sqrt, exp, log, log10, abs, where, minimum, maximum, fmod).
    max_length : int
        Longest accepted formula [characters].

    Raises
    ------
    FormulaError
        With what was refused and where (1-based column), for anything outside the whitelist.
    """
    if not isinstance(text, str):
        raise FormulaError(f"refused: formula must be a str, got {type(text).__name__}")
    if not text.strip():
        raise FormulaError("refused: empty formula")
    if len(text) > max_length:
        raise FormulaError(f"refused: formula is {len(text)} characters long (limit {max_length})")
    functions = frozenset(functions)
    unknown = functions - set(KNOWN_FUNCTIONS)
    if unknown:
        raise ValueError(f"functions: {sorted(unknown)} are not supported by both engines "
                         f"(supported: {sorted(KNOWN_FUNCTIONS)})")
    names = frozenset(names)
    for name in names:
        if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
            raise ValueError(f"names: {name!r} is not a public identifier")
        if name in _RESERVED_NAMES or name in functions:
            raise ValueError(f"names: {name!r} collides with a function name and cannot be used as a variable")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        col = f" at column {err.offset}" if err.offset else ""
        raise FormulaError(f"refused: not a valid expression ({err.msg}){col} in {text!r}") from None
    except (ValueError, RecursionError, MemoryError) as err:  # null bytes, pathological nesting
        raise FormulaError(f"refused: cannot parse formula ({type(err).__name__}: {err})") from None
    depth, count = _depth_and_count(tree)
    if depth > MAX_DEPTH:
        raise FormulaError(f"refused: formula nests {depth} levels deep (limit {MAX_DEPTH})")
    if count > MAX_NODES:
        raise FormulaError(f"refused: formula has {count} syntax nodes (limit {MAX_NODES})")
    validator = _Validator(text.strip(), names, functions)
    body, kind = validator.visit(tree.body)
    canonical = ast.fix_missing_locations(ast.Expression(body=body))
    return Expression(
        source=text,
        text=ast.unparse(canonical),
        names=frozenset(validator.used),
        kind=kind,
        tree=canonical,
    )


def _as_float(name: str, value: Any) -> np.ndarray | np.float64:
    try:
        arr = np.asarray(value)
    except Exception as err:  # pragma: no cover - defensive
        raise FormulaError(f"value for {name!r} is not array-like: {err}") from None
    if arr.dtype.kind not in "biuf":
        raise FormulaError(f"value for {name!r} has dtype {arr.dtype}; only numbers and booleans are allowed")
    return arr.astype(np.float64, copy=False)


def _numpy_eval(node: ast.AST, env: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return np.float64(node.value)
    if isinstance(node, ast.Name):
        return env[node.id]
    if isinstance(node, ast.BinOp):
        op = type(node.op)
        func = _ARITHMETIC.get(op) or _LOGICAL[op]
        return func(_numpy_eval(node.left, env), _numpy_eval(node.right, env))
    if isinstance(node, ast.UnaryOp):
        operand = _numpy_eval(node.operand, env)
        if isinstance(node.op, ast.Invert):
            return np.logical_not(operand)
        return _UNARY[type(node.op)](operand)
    if isinstance(node, ast.Compare):
        return _COMPARE[type(node.ops[0])](_numpy_eval(node.left, env), _numpy_eval(node.comparators[0], env))
    if isinstance(node, ast.Call):
        return KNOWN_FUNCTIONS[node.func.id].numpy(*(_numpy_eval(a, env) for a in node.args))
    raise AssertionError(f"unvalidated node {type(node).__name__}")  # pragma: no cover


def square_as_product(node: ast.AST) -> ast.AST:
    """``name ** 2`` as ``name * name`` (other nodes unchanged, children not visited).

    numpy computes ``x ** 2`` as ``x * x`` (exactly); numexpr, run without its optimiser
    (:data:`NUMEXPR_OPTIONS`), would call ``pow``, which is slower and may differ in the last bit.
    """
    if (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) and isinstance(node.left, ast.Name)
            and isinstance(node.right, ast.Constant) and node.right.value == 2.0):
        return ast.BinOp(left=ast.Name(id=node.left.id, ctx=ast.Load()), op=ast.Mult(),
                         right=ast.Name(id=node.left.id, ctx=ast.Load()))
    return node


_NUMEXPR_TEXTS: dict[str, str] = {}


def numexpr_text(body: ast.AST) -> str:
    """The text numexpr evaluates for a validated tree: its canonical text with squares of names
    written as products (:func:`square_as_product`). Cached by canonical text."""
    key = ast.unparse(body) if not isinstance(body, str) else body
    if key not in _NUMEXPR_TEXTS:
        if len(_NUMEXPR_TEXTS) >= 4096:  # user formulas arrive one by one: keep the cache bounded
            _NUMEXPR_TEXTS.clear()
        class _Squares(ast.NodeTransformer):
            def visit_BinOp(self, node):
                return square_as_product(self.generic_visit(node))

        import copy

        _NUMEXPR_TEXTS[key] = ast.unparse(_Squares().visit(copy.deepcopy(body)))
    return _NUMEXPR_TEXTS[key]


@dataclass(frozen=True)
class Expression:
    """A validated formula.

    Attributes
    ----------
    source : str
        The text as given.
    text : str
        Canonical form (``ast.unparse`` of the validated, constant-folded tree); the only string
        ever handed to numexpr.
    names : frozenset of str
        Variable names the formula references.
    kind : {"number", "bool"}
        Whether it evaluates to numbers (float64) or booleans.
    """

    source: str
    text: str
    names: frozenset[str]
    kind: str = NUMBER
    tree: ast.Expression = field(default=None, repr=False, compare=False)

    def evaluate(
        self,
        arrays: Mapping[str, Any],
        engine: str = "numexpr",
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Evaluate element-wise with numpy broadcasting.

        Parameters
        ----------
        arrays : mapping of name -> ndarray or float
            Values of (at least) the referenced names; cast to float64.
        engine : {"numexpr", "numpy"}
            numexpr (multi-threaded, no temporaries) or the plain numpy reference path.
        out : ndarray, optional
            float64 (or bool for comparison formulas) array of the broadcast shape to write into.
        """
        missing = sorted(self.names - set(arrays))
        if missing:
            raise FormulaError(f"no value given for {', '.join(missing)} in {self.text!r}")
        env = {name: _as_float(name, arrays[name]) for name in sorted(self.names)}
        if engine == "numexpr":
            import numexpr

            result = numexpr.evaluate(numexpr_text(self.tree.body), local_dict=env, global_dict={}, out=out,
                                      **NUMEXPR_OPTIONS)
        elif engine == "numpy":
            with np.errstate(all="ignore"):
                result = _numpy_eval(self.tree.body, env)
            if out is not None:
                np.copyto(out, result)
                result = out
        else:
            raise ValueError(f"engine must be 'numexpr' or 'numpy', got {engine!r}")
        result = np.asarray(result)
        if self.kind == NUMBER and result.dtype != np.float64:  # pragma: no cover - all inputs are float
            result = result.astype(np.float64)
        return result

    def __str__(self) -> str:
        return self.text


def evaluate_dataarrays(
    expr: Expression | str,
    variables: Mapping[str, Any],
    engine: str = "numexpr",
):
    """Evaluate an expression on labelled arrays and return a labelled result.

    The referenced DataArrays are aligned with ``xr.align(join="exact")``: arrays whose shared
    dimensions carry different coordinate labels raise ``ValueError`` instead of silently
    producing NaN (as an outer join would) or dropping labels (inner join). Dimensions are then
    broadcast without copying: each array is transposed to the common dimension order and given
    length-1 axes for the dimensions it lacks (views), and the engine broadcasts. Plain numbers
    are allowed as values. Result dims are ordered by first appearance among the referenced names
    (sorted by name); coords are those of the inputs (conflicting scalar coords are dropped).
    Dask-backed inputs are evaluated lazily chunk by chunk through ``xr.apply_ufunc``.

    Parameters
    ----------
    expr : Expression or str
        Compiled expression, or text compiled against ``variables``' names.
    variables : mapping of name -> xr.DataArray or float
    engine : {"numexpr", "numpy"}
    """
    import xarray as xr

    if isinstance(expr, str):
        expr = compile_expression(expr, names=[n for n in variables if not n.startswith("_")])
    missing = sorted(expr.names - set(variables))
    if missing:
        raise FormulaError(f"no value given for {', '.join(missing)} in {expr.text!r}")
    order = sorted(expr.names)
    arrays = {n: variables[n] for n in order if isinstance(variables[n], xr.DataArray)}
    scalars = {n: variables[n] for n in order if not isinstance(variables[n], xr.DataArray)}
    for name, value in scalars.items():
        if np.ndim(value) != 0:
            raise FormulaError(f"value for {name!r} must be an xr.DataArray or a plain number")
    try:
        aligned = xr.align(*arrays.values(), join="exact", copy=False) if arrays else ()
    except ValueError as err:
        raise ValueError(
            f"cannot evaluate {expr.text!r}: coordinates of {', '.join(arrays)} do not match exactly ({err})"
        ) from None
    aligned = dict(zip(arrays, aligned))

    dims: list = []
    for da in aligned.values():
        dims.extend(d for d in da.dims if d not in dims)
    coords: dict = {}
    dropped: set = set()
    for da in aligned.values():
        for cname, coord in da.coords.items():
            if cname in dropped:
                continue
            if cname in coords:
                if not coords[cname].equals(coord.variable):
                    if cname in dims:  # pragma: no cover - align(join="exact") guarantees equality
                        raise ValueError(f"coordinate {cname!r} differs between inputs")
                    del coords[cname]
                    dropped.add(cname)
            else:
                coords[cname] = coord.variable

    if any(da.chunks is not None for da in aligned.values()):
        names = list(aligned)

        def _kernel(*values):
            env = dict(zip(names, values), **scalars)
            return expr.evaluate(env, engine=engine)

        dtype = bool if expr.kind == BOOL else np.float64
        result = xr.apply_ufunc(
            _kernel, *aligned.values(), dask="parallelized", output_dtypes=[dtype]
        ).transpose(*dims)
        return result.drop_vars([c for c in result.coords if c not in coords])

    env: dict[str, Any] = dict(scalars)
    for name, da in aligned.items():
        own = [d for d in dims if d in da.dims]
        values = da.transpose(*own).values
        index = tuple(slice(None) if d in da.dims else np.newaxis for d in dims)
        env[name] = values[index]
    values = expr.evaluate(env, engine=engine)
    sizes = [max((da.sizes.get(d, 1) for da in aligned.values())) for d in dims]
    if values.shape != tuple(sizes):
        values = np.broadcast_to(values, sizes)
    return xr.DataArray(values, dims=dims, coords=coords)
