"""Uncertainty: reducing ensembles, one-at-a-time sensitivity (tornado) and sweeps.

Sampling (PERT/triangular draws, per-input random streams) lives in :mod:`chipsuite.sampling` and
is re-exported here: :func:`sample_inputs` turns (low, base, high) triples into draws the model
evaluates; this module reduces the resulting ensemble to quantiles for charts (:func:`quantiles`),
ranks inputs by their one-at-a-time effect on an output (:func:`tornado`) and evaluates grids of
scenario parameters in one vectorised pass (:func:`sweep`). Chunked (dask) ensembles live in
:mod:`chipsuite.ensemble`.
"""

from __future__ import annotations

import math
from typing import Iterable, Mapping, Sequence

import numpy as np

from .sampling import (  # noqa: F401  (re-exported: the public sampling API)
    METHODS,
    _locate,
    _split_spec,
    SAMPLING_BLOCK_DRAWS,
    block_rng,
    sample_inputs,
    sample_pert,
    sample_triangular,
    stream_rng,
    triangular_from_uniform,
)

__all__ = [
    "GRID_BYTES_PER_POINT",
    "GRID_MAX_BYTES",
    "GridTooLargeError",
    "SAMPLING_BLOCK_DRAWS",
    "check_grid_memory",
    "block_rng",
    "one_at_a_time",
    "quantiles",
    "sample_inputs",
    "sample_pert",
    "sample_triangular",
    "stream_rng",
    "sweep",
    "tornado",
]


# ---------------------------------------------------------------- ensemble -> quantiles


def quantiles(result, q: Iterable[float] = (0.05, 0.5, 0.95), dim: str = "draw"):
    """Reduce an ensemble to quantiles along ``dim``, keeping attrs (ready for charts).

    Parameters
    ----------
    result : xr.Dataset or xr.DataArray
        An ensemble; numeric variables with ``dim`` are reduced, others are kept unchanged.
    q : sequence of float in [0, 1]
        Quantiles; they become the ``quantile`` coordinate.
    dim : str
        The ensemble dimension.

    Returns
    -------
    Same type as ``result``. NaN propagates (``skipna=False``): a quantile of an ensemble with a
    failed draw is NaN rather than silently computed from fewer draws.
    """
    import xarray as xr

    q = [float(x) for x in np.atleast_1d(np.asarray(q, dtype=np.float64))]
    if not q or any(not 0.0 <= x <= 1.0 for x in q):
        raise ValueError(f"q must be quantiles in [0, 1], got {q}")

    def reduce(da):
        if dim not in da.dims or da.dtype.kind not in "biuf":
            return da
        if da.chunks is not None:
            da = da.chunk({dim: -1})
        out = da.astype(np.float64, copy=False).quantile(q, dim=dim, skipna=False, keep_attrs=True)
        out.attrs = dict(da.attrs)
        out["quantile"].attrs.update(long_name="quantile", units="1")
        return out

    if isinstance(result, xr.DataArray):
        if dim not in result.dims:
            raise ValueError(f"quantiles: {result.name!r} has no dim {dim!r} (dims: {result.dims})")
        return reduce(result)
    if not any(dim in v.dims for v in result.data_vars.values()):
        raise ValueError(f"quantiles: no variable has dim {dim!r}")
    reduced = {name: reduce(var) for name, var in result.data_vars.items()}
    ds = xr.Dataset(reduced, attrs=dict(result.attrs))
    return ds.drop_vars([c for c in ds.coords if dim in ds[c].dims] + ([dim] if dim in ds.coords else []),
                        errors="ignore")


# ---------------------------------------------------------------- one-at-a-time sensitivity (tornado)


def _element_label(name, da, index):
    if da.ndim == 0:
        return name
    return f"{name}[{_locate(da, index)}]".replace("'", "")


def one_at_a_time(spec, base_values, evaluate, *, by: str = "input"):
    """Evaluate every uncertain input at its low and at its high, all others at base, in ONE pass.

    Parameters
    ----------
    spec : mapping name -> (low, base, high) DataArrays (as for :func:`sample_inputs`)
    base_values : mapping name -> DataArray without ``draw`` (every model input at base)
    evaluate : callable(values with a leading ``draw`` dim) -> xr.Dataset with ``draw``
    by : {"input", "element"}
        "input": an array input (e.g. ``tdp_w`` by generation) moves all its elements to low
        (high) together; "element": each element on its own (``tdp_w[generation=h100]``).
        Inputs or elements with ``low == high`` are skipped.

    Returns
    -------
    (result, cases): ``result`` has ``draw = 0`` (base), then ``2 i + 1`` (case i at low) and
    ``2 i + 2`` (case i at high); ``cases`` is a list of dicts (input, name, input_low, input_high).
    """
    import xarray as xr

    if by not in ("input", "element"):
        raise ValueError(f"by must be 'input' or 'element', got {by!r}")
    cases = []
    for name in sorted(spec):
        low, base, high = _split_spec(name, spec[name])
        lo, hi = np.asarray(low.values, float), np.asarray(high.values, float)
        varies = ~(lo == hi) & ~(np.isnan(lo) & np.isnan(hi))
        if not varies.any():
            continue
        if by == "input" or base.ndim == 0:
            scalar = base.ndim == 0
            cases.append({"input": name, "name": name, "index": None,
                          "input_low": float(lo) if scalar else np.nan, "input_high": float(hi) if scalar else np.nan,
                          "low": lo, "high": hi})
        else:
            for index in zip(*np.nonzero(varies)):
                index = tuple(int(i) for i in index)
                cases.append({"input": _element_label(name, base, index), "name": name, "index": index,
                              "input_low": float(lo[index]), "input_high": float(hi[index]), "low": lo, "high": hi})
    n = 1 + 2 * len(cases)
    draw = np.arange(n)
    arrays = {}
    for name, da in base_values.items():
        if "draw" in da.dims:
            raise ValueError(f"base_values[{name!r}] must not have a 'draw' dim")
        arrays[name] = np.repeat(np.asarray(da.values, dtype=np.float64)[np.newaxis], n, axis=0)
    for i, case in enumerate(cases):
        target = arrays[case["name"]]
        for d, bound in ((2 * i + 1, "low"), (2 * i + 2, "high")):
            if case["index"] is None:
                target[d] = case[bound]
            else:
                target[(d,) + case["index"]] = case[bound][case["index"]]
    values = {}
    for name, da in base_values.items():
        values[name] = xr.DataArray(arrays[name], dims=("draw",) + da.dims,
                                    coords={**dict(da.coords), "draw": draw}, attrs=dict(da.attrs))
    return evaluate(values), [{k: c[k] for k in ("input", "name", "input_low", "input_high")} for c in cases]


def _select_output(result, output, quarter, reduce, selection):
    from .quarters import parse_quarter

    if output not in result.data_vars:
        raise ValueError(f"output {output!r} is not a model output (known: {', '.join(sorted(result.data_vars))})")
    da = result[output]
    if quarter is not None:
        if "quarter" not in da.dims:
            raise ValueError(f"output {output!r} has no quarter dim (dims: {da.dims}); pass quarter=None")
        da = da.sel(quarter=np.datetime64(parse_quarter(quarter), "ns") if isinstance(quarter, str) else quarter)
    for dim, label in selection.items():
        if label is None:
            continue
        if dim not in da.dims:
            raise ValueError(f"output {output!r} has no {dim} dim (dims: {da.dims}), so {dim}={label!r} is invalid")
        da = da.sel({dim: label})
    rest = [d for d in da.dims if d != "draw"]
    if reduce == "sum":
        da = da.sum(rest) if rest else da
    elif reduce == "value":
        if rest:
            raise ValueError(f"reduce='value' needs a single value per draw, but {output!r} still has dims {rest}: "
                             f"select them (e.g. site=...) or use reduce='sum'")
    else:
        raise ValueError(f"reduce must be 'sum' or 'value', got {reduce!r}")
    return da


def _input_units(name, ds):
    from .scenario import PARAMETERS

    if name in PARAMETERS:
        return PARAMETERS[name].unit
    if name in ds:
        return ds[name].attrs.get("units", "")
    return "1"  # site_capacity_position: 0 = low path, 0.5 = base, 1 = high


#: the last one-at-a-time passes of :func:`tornado`: [((scenario, by, engine, dataset content key),
#: (result, cases))]. A tornado of another output (or quarter, reduction, selection) of the same
#: scenario reduces the kept pass instead of running the model again; the results are only read.
_TORNADO_RUNS: list = []
_MAX_TORNADO_RUNS = 2


def tornado(scenario=None, output: str = "capex_usd", quarter: str | None = "2026Q4", *, reduce: str = "sum",
            site=None, generation=None, workload=None, by: str = "input", engine: str = "numexpr"):
    """One-at-a-time sensitivity of an output in a quarter to every uncertain input (tornado data).

    Each uncertain input (:func:`chipsuite.model.uncertain_inputs`: dataset ranges and scenario
    parameters with a range) is set to its low and then to its high with all others at base; all
    cases are evaluated in one vectorised model pass (one draw per case).

    Parameters
    ----------
    scenario : Scenario, optional
    output : str
        Model output, e.g. ``"capex_usd"``, ``"emissions_tco2"``.
    quarter : str or None
        ``"2026Q4"``; None keeps all quarters (then ``reduce="sum"`` totals them).
    reduce : {"sum", "value"}
        "sum" totals the remaining dims (site, generation, ...); "value" requires one value.
    site, generation, workload : label, optional
        Select one element of that dim of the output first.
    by : {"input", "element"}
        See :func:`one_at_a_time`.

    Returns
    -------
    pandas.DataFrame sorted by ``|swing|`` (largest first), columns ``input``, ``low_value``,
    ``high_value`` (output with the input at its low/high) [output units], ``swing =
    high_value - low_value``, ``units`` (output units), ``base_value``, ``input_low``,
    ``input_high`` (NaN for an array input moved as a whole), ``input_units``.

    The model pass is kept for the last :data:`_MAX_TORNADO_RUNS` (scenario, ``by``, engine, data
    content) combinations, so tornados of several outputs of one scenario cost one pass (tested equal
    to a fresh pass).
    """
    import pandas as pd

    from .model import core as model_core
    from .model import inputs as model
    from .data import load_dataset
    from .scenario import Scenario

    scenario = Scenario.default() if scenario is None else scenario
    ds = load_dataset()
    key = (scenario, by, engine, ds.attrs.get("content_key"))
    kept = next((run for k, run in _TORNADO_RUNS if k == key), None) if key[-1] is not None else None
    if kept is None:
        spec = model.uncertain_inputs(scenario, ds)

        def evaluate(values):
            return model_core.evaluate_model(values, ds, engine=engine)

        kept = one_at_a_time(spec, model.base_inputs(scenario, ds), evaluate, by=by)
        if key[-1] is not None:
            _TORNADO_RUNS[:] = [(key, kept)] + _TORNADO_RUNS[:_MAX_TORNADO_RUNS - 1]
    result, cases = kept
    da = _select_output(result, output, quarter, reduce,
                        {"site": site, "generation": generation, "workload": workload})
    v = np.asarray(da.values, dtype=np.float64)
    rows = []
    for i, case in enumerate(cases):
        low_value, high_value = v[2 * i + 1], v[2 * i + 2]
        rows.append({"input": case["input"], "low_value": low_value, "high_value": high_value,
                     "swing": high_value - low_value, "units": result[output].attrs.get("units", ""),
                     "base_value": v[0], "input_low": case["input_low"], "input_high": case["input_high"],
                     "input_units": _input_units(case["name"], ds)})
    table = pd.DataFrame(rows, columns=["input", "low_value", "high_value", "swing", "units", "base_value",
                                        "input_low", "input_high", "input_units"])
    order = np.argsort(-np.abs(table["swing"].to_numpy()), kind="stable")
    table = table.iloc[order].reset_index(drop=True)
    table.attrs = {"output": output, "quarter": quarter, "reduce": reduce, "by": by,
                   "long_name": result[output].attrs.get("long_name", output)}
    return table


# ---------------------------------------------------------------- parameter sweeps


#: Peak memory of one grid point of :func:`sweep` / :func:`chipsuite.explorers.grids.run_points`
#: (every model output of 44 quarters, ~175 kB, plus the evaluation's temporaries): measured
#: 198-208 kB with ``tracemalloc`` on model v2 (Dec 2026; 69-81 kB on model v1);
#: ``tests/test_fuzz_guards.py`` fails when the model outgrows it. [bytes]
GRID_BYTES_PER_POINT = 300_000
#: Largest estimated memory of a grid evaluation allowed by default (about 6,600 points). [bytes]
GRID_MAX_BYTES = 2_000_000_000


class GridTooLargeError(ValueError):
    """A scenario grid would need more memory than its limit (the message gives the estimate)."""


def check_grid_memory(n_points, max_bytes=GRID_MAX_BYTES, who="grid"):
    """Estimated peak memory [bytes] of evaluating ``n_points`` grid points; raises
    :class:`GridTooLargeError` with the estimate when it exceeds ``max_bytes`` [bytes].

    >>> check_grid_memory(10) == 10 * GRID_BYTES_PER_POINT
    True
    """
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, (int, float, np.integer, np.floating)) \
            or not max_bytes > 0:
        raise ValueError(f"{who}: max_bytes must be a positive number of bytes, got {max_bytes!r}")
    estimate = int(n_points) * GRID_BYTES_PER_POINT
    if estimate > max_bytes:
        raise GridTooLargeError(
            f"{who}: {int(n_points):,} points need about {estimate / 1e9:,.3g} GB "
            f"({GRID_BYTES_PER_POINT / 1e3:g} kB per point), above the limit of {max_bytes / 1e9:,.3g} GB "
            "(max_bytes); use fewer points or raise max_bytes")
    return estimate


def sweep(scenario=None, grid: Mapping[str, Sequence[float]] | None = None, *, engine: str = "numexpr",
          max_bytes: float = GRID_MAX_BYTES):
    """Evaluate the model on a grid of scenario parameters in ONE vectorised pass.

    The grid's points (Cartesian product, in ``grid`` order) are mapped onto the model's
    ``draw`` dimension and evaluated together, then reshaped to one dim per parameter: no loop
    of :func:`chipsuite.run` calls. Every scenario parameter is vectorised this way, including the
    stock-flow ones (``useful_life`` enters the stock-flow as one service life per draw,
    ``mtia_cadence`` etc. the cadence as one array per draw); only the dataset (chip specs, site
    paths) is shared by all points, at its base values. Each point is validated as a Scenario
    (bounds, supply shares) first. Memory: about 175 kB of output per grid point (model v2) and up to
    :data:`GRID_BYTES_PER_POINT` at the peak; the estimate is checked before anything is built.

    Parameters
    ----------
    scenario : Scenario, optional
        Values of the parameters not in ``grid``.
    grid : dict parameter -> sequence of values [parameter units]
    max_bytes : float
        Limit of the estimated peak memory [bytes]; a larger grid raises
        :class:`GridTooLargeError` with the estimate (default :data:`GRID_MAX_BYTES`).

    Returns
    -------
    xarray.Dataset: every model output with the ``draw`` dim replaced by one dim per grid
    parameter (coords = the grid values, attrs ``units``/``long_name``), e.g.
    ``out.capex_usd.sel(useful_life=5.0, utilisation=0.6)``; equal to ``run(scenario.replace(...))``.
    """
    import itertools

    import xarray as xr

    import chipsuite

    from .model import core as model_core
    from .model import inputs as model
    from .data import load_dataset
    from .scenario import PARAMETERS, Scenario

    scenario = Scenario.default() if scenario is None else scenario
    if not grid:
        raise ValueError("grid must map at least one scenario parameter to a sequence of values")
    axes = {}
    for name, values in grid.items():
        if name not in PARAMETERS:
            raise ValueError(f"grid: {name!r} is not a scenario parameter (known: {', '.join(PARAMETERS)})")
        arr = np.atleast_1d(np.asarray(values, dtype=np.float64))
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"grid[{name!r}] must be a non-empty 1-D sequence of numbers")
        if np.unique(arr).size != arr.size:
            raise ValueError(f"grid[{name!r}] has repeated values {arr.tolist()}")
        axes[name] = arr
    check_grid_memory(math.prod(a.size for a in axes.values()), max_bytes, "sweep")
    points = list(itertools.product(*axes.values()))
    for point in points:
        scenario.replace(**{n: float(v) for n, v in zip(axes, point)})  # validates (raises ScenarioError)
    n = len(points)
    ds = load_dataset()
    draw = np.arange(n)
    values = {name: da.expand_dims(draw=draw) for name, da in model.base_inputs(scenario, ds).items()}
    columns = np.array(points, dtype=np.float64).reshape(n, len(axes))
    for j, name in enumerate(axes):
        values[name] = xr.DataArray(columns[:, j], dims="draw", coords={"draw": draw})
    result = model_core.evaluate_model(values, ds, engine=engine)
    shape = tuple(a.size for a in axes.values())
    out = xr.Dataset(coords={k: v for k, v in result.coords.items() if "draw" not in v.dims})
    for name, a in axes.items():
        out = out.assign_coords({name: (name, a, {"units": PARAMETERS[name].unit,
                                                  "long_name": PARAMETERS[name].description})})
    for name, var in result.data_vars.items():
        var = var.transpose("draw", ...)
        out[name] = xr.Variable(tuple(axes) + var.dims[1:], var.values.reshape(shape + var.shape[1:]),
                                dict(var.attrs))
    out.attrs = {"title": "chipsuite parameter sweep", "chipsuite_version": chipsuite.__version__,
                 "scenario": scenario.to_json(), "engine": engine, "sweep": ", ".join(axes)}
    return out
