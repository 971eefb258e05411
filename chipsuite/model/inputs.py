"""Inputs: every number the model reads, at its base value or sampled over draws.

Two sources: the sourced dataset (:func:`chipsuite.load_dataset`; values with a ``bound`` dim:
TDP, prices, system costs, H100e factors, PUE, electricity prices, grid intensity, site capacity
paths, deal volumes) and the scenario (:class:`chipsuite.Scenario`, every parameter of
``data/assumptions.csv``). :func:`uncertain_inputs` lists those with a range as
``(low, base, high)`` triples; :func:`model_inputs` returns every input with a leading ``draw``
dim, at base values (``draws=1``) or sampled (PERT, :func:`chipsuite.sampling.sample_inputs`).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..sampling import sample_inputs
from ..scenario import PARAMETERS, Scenario
from .sites import capacity_from_position

__all__ = ["fleet_generations", "rented_generations", "uncertain_inputs", "base_inputs", "model_inputs",
           "site_capacity", "deal_volume"]

#: dataset values per generation sampled from their bounds: name -> value where a generation has none
_GENERATION_VALUES = {"tdp_w": np.nan, "unit_price_usd": 0.0, "system_power_overhead": 1.0,
                      "rental_price_usd_per_hour": np.nan}


def _is_legacy_mtia(ds):
    return (ds.vendor.values == "meta") & ~ds.eligible.any("workload").values


def rented_generations(ds):
    """Generations rented under the deals table's rental contracts (in dataset order)."""
    if "deal_volume" not in ds:
        return []
    rented = {str(g) for g, kind in zip(ds.deal_generation.values, ds.deal_type.values)
              if kind == "rental" and str(g)}
    return [str(g) for g in ds.generation.values if str(g) in rented]


def fleet_generations(ds):
    """Generations modelled, in dataset order: Meta's own fleet and the chips it rents.

    Meta's fleet (``in_meta_fleet``) holds the chips that serve a workload class and MTIA v1/v2
    (recommendation inference, outside the four classes); rented generations (Google's TPUs, or
    Nvidia generations in CoreWeave's clouds) come from the rental contracts of ``deals.csv``.
    """
    keep = ds.in_meta_fleet.values & (ds.eligible.any("workload").values | _is_legacy_mtia(ds))
    rented = set(rented_generations(ds))
    return [str(g) for g, k in zip(ds.generation.values, keep) if k or str(g) in rented]


def uncertain_inputs(scenario: Scenario, ds):
    """Inputs with a range: ``{name: (low, base, high)}`` of DataArrays (0-d for parameters).

    Dataset values with a ``bound`` dim (restricted to the modelled generations; H100e factors
    of non-eligible pairs set to 1, they are masked out; a generation without a value gets a
    neutral one: no price, no overhead) and every scenario parameter whose assumptions.csv range
    is not a single value (:meth:`Scenario.sampling_range`). Site capacity and deal volumes are
    sampled through one position per site or deal tranche in [0, 1] (0 = low, 0.5 = base, 1 =
    high path, linear in between), so each sampled path stays a plausible schedule instead of
    independent noise per quarter.
    """
    spec = {**dataset_spec(ds), **parameter_spec(scenario)}
    for triple in spec.values():
        for da in triple:
            da.attrs = {}
    return spec


#: dataset specs by the dataset's content key (``ds.attrs["content_key"]``): they depend on the tables only
_SPEC_CACHE = {}
_MAX_SPECS = 8


def dataset_spec(ds):
    """The dataset part of :func:`uncertain_inputs` (does not depend on the scenario).

    Cached per content of the data tables (``ds.attrs["content_key"]``, set by
    :func:`chipsuite.load_dataset`); the cached arrays are read-only, so no caller can change them.
    """
    key = ds.attrs.get("content_key")
    if key is None:
        return _dataset_spec(ds)
    if key not in _SPEC_CACHE:
        if len(_SPEC_CACHE) >= _MAX_SPECS:
            _SPEC_CACHE.clear()
        spec = _dataset_spec(ds)
        for triple in spec.values():
            for da in triple:
                da.attrs = {}
                da.variable.data.flags.writeable = False
        _SPEC_CACHE[key] = spec
    return dict(_SPEC_CACHE[key])


def _dataset_spec(ds):
    """:func:`dataset_spec`, computed."""
    gens = fleet_generations(ds)
    spec = {}
    for name, missing in _GENERATION_VALUES.items():
        if name not in ds:
            continue
        da = ds[name].sel(generation=gens)
        if not np.isnan(missing):
            da = da.fillna(missing)
        spec[name] = tuple(da.sel(bound=b, drop=True) for b in ("low", "base", "high"))
    spec["system_share_usd"] = _system_share(ds, gens)
    da = ds["h100e_factor"].sel(generation=gens)
    da = da.where(ds.eligible.sel(generation=gens), 1.0)
    spec["h100e_factor"] = tuple(da.sel(bound=b, drop=True) for b in ("low", "base", "high"))
    for name in ("pue", "electricity_price_usd_per_mwh"):  # (grid carbon factors: the energy stage's grid_regions)
        spec[name] = tuple(ds[name].sel(bound=b, drop=True) for b in ("low", "base", "high"))
    spec["site_capacity_position"] = _positions(ds.site)
    if "deal_volume" in ds:
        spec["deal_position"] = _positions(ds.tranche)
    return spec


def _system_share(ds, gens):
    """(low, base, high) of the non-chip part of a system per accelerator (server, rack, network). [USD]

    ``system_cost - unit_price`` at each bound, widened to contain the base difference, so that a
    sampled system never costs less than its sampled chip (the two are sampled independently).
    """
    diff = (ds.system_cost_usd - ds.unit_price_usd).sel(generation=gens).fillna(0.0)
    low, base, high = (diff.sel(bound=b, drop=True) for b in ("low", "base", "high"))
    return (np.minimum(low, base), base, np.maximum(high, base))


def _positions(index):
    return (xr.zeros_like(index, dtype=float), xr.full_like(index, 0.5, dtype=float),
            xr.ones_like(index, dtype=float))


def parameter_spec(scenario):
    """The scenario part of :func:`uncertain_inputs`: parameters with a range, in ``PARAMETERS`` order."""
    spec = {}
    for name in PARAMETERS:
        low, value, high = scenario.sampling_range(name)
        if low < high:
            spec[name] = (_scalar(low), _scalar(value), _scalar(high))
    return spec


def base_inputs(scenario: Scenario, ds):
    """Every input at its base value (DataArrays without a ``draw`` dim)."""
    spec = uncertain_inputs(scenario, ds)
    return with_fixed_parameters(scenario, {name: triple[1] for name, triple in spec.items()})


def base_inputs_with_draw(scenario, spec, draws=(0,)):
    """``with_draw(base_inputs(scenario, ds), draws)`` from ``spec``, the dataset part of the inputs'
    ranges (:func:`dataset_spec`): the dataset values at their base, then every scenario parameter (those
    with a range first, as :func:`base_inputs` orders them) built with its ``draw`` dim directly, without
    a 0-d DataArray per parameter and its ``(low, base, high)`` triple (tested equal).
    """
    values = {}
    for name, triple in spec.items():
        if triple[1].attrs:  # as uncertain_inputs: no attrs (the cached spec has none)
            for da in triple:
                da.attrs = {}
        values[name] = triple[1]
    ranged, fixed = [], []
    for name in PARAMETERS:
        low, _, high = scenario.sampling_range(name)
        (ranged if low < high else fixed).append(name)
    parameters = {name: getattr(scenario, name) for name in ranged + fixed}
    draw = xr.Coordinates(*dim_coords(draw=np.asarray(draws)))
    out = with_draw(values, draws, draw)
    shared = draw.variables["draw"].copy(deep=False)  # one draw coordinate for the parameters (as arithmetic shares)
    for name, value in parameters.items():
        out[name] = (_draw_scalar(value, shared, draw.xindexes["draw"]) if type(value) in (float, int)
                     else _expand_draw(_scalar(value), draw))
    return out


def labelled(data, dims, coords, indexes):
    """``data`` as a DataArray over ``dims`` with the coordinate Variables ``coords`` and their ``indexes``
    (dicts by dim, e.g. of :func:`dim_coords`), as ``xr.DataArray(data, coords, dims)`` would label it,
    without building or checking them again (the Variables and indexes are shared, not copied)."""
    return xr.DataArray(xr.Variable(dims, data), coords={d: coords[d] for d in dims}, name=None,
                        indexes={d: indexes[d] for d in dims}, fastpath=True)


def _draw_scalar(value, draw_var, draw_index):
    """``_expand_draw(_scalar(value), draw)`` for a float or int ``value``, built directly over the ``draw``
    coordinate Variable ``draw_var`` (and its index)."""
    data = np.asarray(value)
    n = draw_var.shape[0]
    new = data[np.newaxis] if n == 1 else np.broadcast_to(data[np.newaxis], (n,))
    return labelled(new, ("draw",), {"draw": draw_var}, {"draw": draw_index})


def with_fixed_parameters(scenario, values):
    """``values`` plus every scenario parameter it lacks, at the scenario's value (0-d DataArrays)."""
    values = dict(values)
    for name in PARAMETERS:
        if name not in values:
            values[name] = _scalar(getattr(scenario, name))
    return values


def _bounded_path(var, position, dim):
    """(draw, ``dim``, quarter) paths from ``var``'s (low, base, high) bounds and ``position`` (draw, ``dim``).

    Works on the raw arrays (numpy views, no labelled transposes) and labels the result with the
    coordinate Variables and indexes of ``var`` and ``position`` (shallow copies), as building them
    from their values would (tested equal); :func:`_labelled_path` falls back to that when a
    coordinate carries attrs or has no index.
    """
    source = var.variable
    ordered = np.transpose(source.values, [source.dims.index(d) for d in ("bound", dim, "quarter")])
    bounds = [str(b) for b in var.coords.variables["bound"].values]
    low, base, high = (ordered[bounds.index(b)] for b in ("low", "base", "high"))
    pos = position.variable
    pos_values = pos.values if pos.dims == ("draw", dim) else np.transpose(pos.values, [pos.dims.index(d) for d in
                                                                                       ("draw", dim)])
    out = capacity_from_position(low, base, high, pos_values)
    return _labelled_path(out, (position, "draw"), (var, dim), (var, "quarter"))


def _labelled_path(out, *sources):
    """``out`` as a DataArray over the dims of ``sources`` ((DataArray, dim) pairs): each dim's coordinate
    is a shallow copy of that DataArray's (with its index), else built from its values."""
    dims = tuple(dim for _, dim in sources)
    coords, indexes = {}, {}
    for da, dim in sources:
        var = da.coords.variables.get(dim)
        index = da.xindexes.get(dim)
        if var is None or index is None or var.attrs or var.encoding or var.dims != (dim,):
            built = xr.Coordinates({d: s[d].values for s, d in sources})
            return xr.DataArray(out, built, dims)
        coords[dim] = var.copy(deep=False)
        indexes[dim] = index
    return labelled(out, dims, coords, indexes)


def site_capacity(ds, position):
    """Site capacity [MW] (draw, site, quarter) from per-site positions in [0, 1]."""
    return _bounded_path(ds.site_capacity_mw, position, "site")


def deal_volume(ds, position):
    """Deal volume per tranche and quarter (draw, tranche, quarter) from per-tranche positions in [0, 1].

    In each tranche's own unit per quarter (units, MW or USD, see ``ds.deal_measure``).
    """
    return _bounded_path(ds.deal_volume, position, "tranche")


def with_draw(values, draws, draw=None):
    """``values`` with a ``draw`` dim of coordinates ``draws`` added where missing.

    As ``da.expand_dims(draw=draws)`` (tested equal: values, coords, attrs, writeability), with the
    ``draw`` coordinate and its index built once for all inputs (``draw``: that ``xr.Coordinates``,
    if built already).
    """
    draw = xr.Coordinates({"draw": np.asarray(draws)}) if draw is None else draw
    out = {}
    for name, da in values.items():
        if "draw" not in da.dims:
            da = _expand_draw(da, draw)
        out[name] = da
    return out


def _expand_draw(da, draw):
    """``da.expand_dims(draw=...)`` with the prebuilt ``draw`` coordinate (xr.Coordinates)."""
    data = da.variable.data
    if not isinstance(data, np.ndarray):
        return da.expand_dims(draw=draw["draw"].values)
    n = draw.sizes["draw"]
    # expand_dims gives a writeable view for one draw and a read-only broadcast for more
    new = data[np.newaxis] if n == 1 else np.broadcast_to(data[np.newaxis], (n,) + data.shape)
    variable = xr.Variable(("draw",) + da.dims, new, dict(da.attrs))
    coords = {"draw": draw.variables["draw"].copy(deep=False)}
    coords.update({c: v.copy(deep=False) for c, v in da.coords.variables.items()})
    return xr.DataArray(variable, coords=coords, name=da.name, indexes={**draw.xindexes, **da.xindexes},
                        fastpath=True)


#: indexes of dim coordinates by (dim, dtype, shape, values): pandas indexes are immutable and xarray shares
#: them between copies, so one index serves every run with the same labels (coordinate Variables stay per call)
_INDEX_CACHE = {}
_MAX_INDEXES = 64
_MAX_CACHED_SIZE = 4096  # longer coordinates (large draw chunks) get their index built each time


def dim_coords(**dims):
    """``(variables, indexes)`` of ``xr.Coordinates(dims)`` (dim -> values): new coordinate Variables over
    indexes built once per distinct labels (tested identical to the Coordinates built from the values)."""
    variables, indexes = {}, {}
    for dim, values in dims.items():
        arr = np.asarray(values)
        key = None
        if arr.ndim == 1 and arr.size <= _MAX_CACHED_SIZE and arr.dtype.kind in "iufMUSO":
            labels = tuple(arr.tolist()) if arr.dtype.kind == "O" else arr.tobytes()
            key = (dim, arr.dtype.str, arr.shape, labels)
        index = _INDEX_CACHE.get(key) if key is not None else None
        if index is None:
            built = xr.Coordinates({dim: values})
            index = built.xindexes[dim]
            variables[dim] = built.variables[dim]
            if key is not None:
                if len(_INDEX_CACHE) >= _MAX_INDEXES:
                    _INDEX_CACHE.clear()
                _INDEX_CACHE[key] = index
        else:
            variables.update(index.create_variables())
        indexes[dim] = index
    return variables, indexes


def _scalar(value):
    """``xr.DataArray(value)`` for a number: a 0-d float DataArray without coords, built directly."""
    return xr.DataArray(xr.Variable((), value), coords={}, name=None, indexes={}, fastpath=True)


def _sampled_inputs(scenario, ds, draws, seed, **sampling):
    spec = uncertain_inputs(scenario, ds)
    sampling = {"method": "pert", **sampling}
    return dict(sample_inputs(spec, draws, seed, include_base=True, **sampling))


def model_inputs(scenario: Scenario, ds, draws=1, seed=0, **sampling):
    """Every input of the model with a leading ``draw`` dim: base values (``draws=1``) or sampled.

    ``sampling``: options of :func:`chipsuite.sampling.sample_inputs` (``method``,
    ``correlations``, ``within``, ``draw_range=(start, stop)`` for one chunk of the ensemble).

    Sampled payment shares before and after delivery that add up to more than 1 are scaled down
    proportionally to sum to 1 (nothing paid on delivery).
    """
    if draws == 1:
        return base_inputs_with_draw(scenario, dataset_spec(ds))
    start, stop = sampling.get("draw_range") or (0, int(draws))
    return complete_inputs(scenario, _sampled_inputs(scenario, ds, int(draws), seed, **sampling),
                           np.arange(start, stop))


def _scaled_to_one(values, a, b):
    total = values[a] + values[b]
    scale = xr.where(total > 1, 1 / total.where(total > 1, 1), 1.0)
    for name in (a, b):
        values[name] = (values[name] * scale).assign_attrs(values[name].attrs)


def complete_inputs(scenario, sampled, draw_coords):
    """Sampled inputs + fixed parameters, all with a ``draw`` dim; payment shares above 1 scaled down."""
    values = with_draw(with_fixed_parameters(scenario, sampled), draw_coords)
    _scaled_to_one(values, "payment_share_before", "payment_share_after")
    return values
