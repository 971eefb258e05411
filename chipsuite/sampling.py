"""Sampling: random draws of uncertain inputs from their (low, base, high) triples.

Every uncertain value in chipsuite's data carries ``low``, ``base`` and ``high``. This module turns
such triples into random draws that the model evaluates draw by draw (:func:`sample_inputs`). It
imports nothing of the model, so the model can use it; :mod:`chipsuite.uncertainty` (quantiles,
tornado, sweep) builds on both. Chunked (dask) ensembles live in :mod:`chipsuite.ensemble`.

Why PERT is the default
-----------------------
The (modified) PERT distribution is a Beta distribution rescaled to ``[low, high]`` with its mode at
``base``. Compared with the triangular distribution on the same three numbers it

- puts less weight on the extremes (a ``low``/``high`` from a press report is a plausible bound, not
  a likely outcome), and its mean ``(low + 4 base + high) / 6`` stays close to the base case;
- is smooth, so sampled quantiles are stable with a few hundred draws;
- is the customary choice for expert three-point estimates (project risk analysis, @RISK, Vose).

The triangular distribution (mean ``(low + base + high) / 3``) is available for readers who want
heavier tails: ``method="triangular"``.

Reproducibility
---------------
:func:`sample_inputs` draws in blocks of :data:`SAMPLING_BLOCK_DRAWS` draws, and within block ``k``
every input has its OWN random stream, :func:`stream_rng` ``(seed, k, "input:" + name)`` =
``np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(k, key)))`` where ``key`` is a
stable 64-bit hash of the label (BLAKE2b of its UTF-8 text; not Python's ``hash()``, which is
salted per process). A correlation group draws its latent normals from the stream
``"correlation:" + "|".join(sorted members)``, a ``within`` group from ``"within:" + name``, so a
copula never consumes numbers of a marginal stream. Consequences:

- results depend only on ``(spec, draws, seed, method, correlations, within, include_base)``,
  never on dict order;
- any chunk of draws (``draw_range``) can be sampled on its own, identical to the same slice of the
  in-memory ensemble: this is how chunked (dask) ensembles reproduce in-memory ones;
- an input's draws depend only on its own ``(low, base, high)``, its name and its copula (and not
  on which other inputs are sampled): sampling a subset of the spec gives, for every input in it,
  bit for bit the arrays of sampling the whole spec, and changing one input's triple leaves every
  other input's draws unchanged. This lets :class:`chipsuite.model.ModelCache` re-sample only
  the inputs a slider moved. (Before this, one generator per block fed all inputs in sorted
  name order, and because PERT's Beta sampler consumes a parameter-dependent count of random
  numbers, moving one input's mode shifted the draws of every input after it.)

Correlation
-----------
Correlations between inputs are imposed by a rank-based Gaussian copula (Iman-Conover style
reordering): each input's marginal draws are sampled independently, then reordered along the
``draw`` axis so that their ranks follow correlated standard normals. Marginals are therefore
exactly PERT/triangular (the sorted draws are identical with and without correlation), and the
achieved rank correlation is ``(6 / pi) * arcsin(rho / 2)``, within 0.02 of ``rho``. This needs
only numpy (scipy, which a Beta inverse CDF would need, is not a chipsuite dependency).
"""

from __future__ import annotations

import hashlib
from typing import Any, Mapping, Sequence

import numpy as np

__all__ = [
    "SAMPLING_BLOCK_DRAWS",
    "block_rng",
    "sample_inputs",
    "sample_pert",
    "sample_triangular",
    "stream_rng",
    "triangular_from_uniform",
]

METHODS = ("pert", "triangular")


# ---------------------------------------------------------------- bounds


def _as_triple(low, base, high) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.broadcast_arrays(
        np.asarray(low, dtype=np.float64), np.asarray(base, dtype=np.float64), np.asarray(high, dtype=np.float64)
    )


def _first_bad(low, base, high) -> tuple[int, ...] | None:
    """Index of the first element breaking ``low <= base <= high`` (or partly NaN), else None.

    An element whose three values are all NaN (a value not published) is allowed and samples as NaN.
    """
    nan = np.isnan(low) | np.isnan(base) | np.isnan(high)
    missing = np.isnan(low) & np.isnan(base) & np.isnan(high)
    with np.errstate(invalid="ignore"):
        bad = (nan & ~missing) | (~nan & ((low > base) | (base > high)))
    if not np.any(bad):
        return None
    if bad.ndim == 0:
        return ()
    return tuple(int(i) for i in np.argwhere(bad)[0])


def _check_bounds(low, base, high, who: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    low, base, high = _as_triple(low, base, high)
    idx = _first_bad(low, base, high)
    if idx is not None:
        at = f" at index {idx}" if idx else ""
        raise ValueError(
            f"{who}: need low <= base <= high (NaN only if all three are NaN); violated{at}: "
            f"low={float(low[idx])}, base={float(base[idx])}, high={float(high[idx])}"
        )
    return low, base, high


def _shape(size: int, param_shape: tuple[int, ...]) -> tuple[int, ...]:
    if isinstance(size, (bool, np.bool_)) or not isinstance(size, (int, np.integer)) or size < 0:
        raise ValueError(f"size must be a non-negative int (number of draws), got {size!r}")
    return (int(size),) + param_shape


# ---------------------------------------------------------------- marginal samplers


def sample_pert(low, base, high, size: int, rng: np.random.Generator, lamb: float = 4.0) -> np.ndarray:
    """Draw from the modified PERT distribution on ``[low, high]`` with mode ``base``.

    ``x = low + (high - low) * B`` with ``B ~ Beta(1 + lamb (base - low) / (high - low),
    1 + lamb (high - base) / (high - low))``; mean ``(low + lamb base + high) / (lamb + 2)``.

    Parameters
    ----------
    low, base, high : float or array_like (broadcastable)
        Bounds and mode [any units, the same for all three]. ``low == base == high`` gives
        ``base`` exactly; all-NaN elements give NaN.
    size : int
        Number of draws; the result has shape ``(size, *broadcast_shape)``.
    rng : numpy.random.Generator
    lamb : float
        Shape parameter (> 0); 4 is the classic PERT.

    Returns
    -------
    ndarray of float64, shape ``(size, *broadcast_shape)``

    >>> rng = np.random.default_rng(0)
    >>> sample_pert(1.0, 1.0, 1.0, 3, rng).tolist()
    [1.0, 1.0, 1.0]
    """
    if not lamb > 0 or not np.isfinite(lamb):
        raise ValueError(f"lamb must be a positive finite number, got {lamb!r}")
    low, base, high = _check_bounds(low, base, high, "sample_pert")
    shape = _shape(size, low.shape)
    width = high - low
    degenerate = ~(width > 0)  # low == high, or all NaN (missing value)
    safe = np.where(degenerate, 1.0, width)
    alpha = np.where(degenerate, 1.0, 1.0 + lamb * (base - low) / safe)
    beta = np.where(degenerate, 1.0, 1.0 + lamb * (high - base) / safe)
    b = rng.beta(alpha, beta, size=shape)
    # clip: rounding in low + b * width must never leave [low, high]
    out = np.clip(low + b * np.where(degenerate, 0.0, width), low, high)
    return np.where(degenerate, base, out)  # exactly base; NaN where the value is missing


def triangular_from_uniform(u, low, base, high) -> np.ndarray:
    """Inverse CDF of the triangular distribution: map uniforms ``u`` in [0, 1) to draws.

    Vectorised; ``low == base == high`` gives ``base`` exactly. Inputs are assumed checked.
    """
    u = np.asarray(u, dtype=np.float64)
    width = high - low
    degenerate = ~(width > 0)  # low == high, or all NaN (missing value)
    safe = np.where(degenerate, 0.0, width)
    fc = np.where(degenerate, 0.0, (base - low) / np.where(degenerate, 1.0, safe))  # CDF at the mode
    left = low + np.sqrt(u * safe * np.where(degenerate, 0.0, base - low))
    right = high - np.sqrt((1.0 - u) * safe * np.where(degenerate, 0.0, high - base))
    out = np.clip(np.where(u < fc, left, right), low, high)
    return np.where(degenerate, base, out)


def sample_triangular(low, base, high, size: int, rng: np.random.Generator) -> np.ndarray:
    """Draw from the triangular distribution on ``[low, high]`` with mode ``base``.

    Mean ``(low + base + high) / 3``. Sampled by inverse CDF from ``rng.random``, which (unlike
    ``rng.triangular``) accepts ``low == high``.

    Parameters
    ----------
    low, base, high : float or array_like (broadcastable)
        Bounds and mode [any units]. ``low == base == high`` gives ``base`` exactly; all-NaN
        elements give NaN.
    size : int
        Number of draws; the result has shape ``(size, *broadcast_shape)``.
    rng : numpy.random.Generator

    >>> rng = np.random.default_rng(0)
    >>> sample_triangular([0.0, 2.0], [0.0, 2.0], [0.0, 2.0], 2, rng).tolist()
    [[0.0, 2.0], [0.0, 2.0]]
    """
    low, base, high = _check_bounds(low, base, high, "sample_triangular")
    return triangular_from_uniform(rng.random(_shape(size, low.shape)), low, base, high)


_SAMPLERS = {
    "pert": lambda lo, ba, hi, n, rng: sample_pert(lo, ba, hi, n, rng),
    "triangular": sample_triangular,
}


# ---------------------------------------------------------------- inputs -> draws


def _split_spec(name: str, value: Any):
    """(low, base, high) DataArrays from a tuple or from a DataArray with a ``bound`` dim."""
    import xarray as xr

    if isinstance(value, xr.DataArray):
        if "bound" not in value.dims:
            raise ValueError(f"spec[{name!r}]: a DataArray needs a 'bound' dim (low/base/high)")
        missing = {"low", "base", "high"} - set(np.asarray(value["bound"].values).tolist())
        if missing:
            raise ValueError(f"spec[{name!r}]: 'bound' lacks {sorted(missing)}")
        triple = [value.sel(bound=b, drop=True) for b in ("low", "base", "high")]
    else:
        try:
            triple = list(value)
        except TypeError:
            raise ValueError(f"spec[{name!r}]: expected (low, base, high), got {type(value).__name__}") from None
        if len(triple) != 3:
            raise ValueError(f"spec[{name!r}]: expected (low, base, high), got {len(triple)} values")
        triple = [v if isinstance(v, xr.DataArray) else xr.DataArray(v) for v in triple]
    low, base, high = triple
    if not (low.dims == base.dims == high.dims):
        raise ValueError(f"spec[{name!r}]: low, base, high need identical dims, got {low.dims}, {base.dims}, {high.dims}")
    try:
        low, base, high = xr.align(low, base, high, join="exact", copy=False)
    except ValueError as err:
        raise ValueError(f"spec[{name!r}]: low, base, high coordinates differ ({err})") from None
    return low, base, high


def _locate(da, flat_index: tuple[int, ...]) -> str:
    """Human-readable position of an element: "generation='h100', site='hyperion'"."""
    parts = []
    for dim, i in zip(da.dims, flat_index):
        label = da[dim].values[i] if dim in da.coords else i
        parts.append(f"{dim}={label!r}" if not isinstance(label, np.generic) else f"{dim}={label.item()!r}")
    return ", ".join(parts)


def _correlation_groups(correlations, names, shapes):
    """Validate pairs and return [(group names sorted, correlation matrix)], sorted."""
    if not correlations:
        return []
    seen = {}
    for item in correlations:
        try:
            a, b, rho = item
        except (TypeError, ValueError):
            raise ValueError(f"correlations: expected (name_a, name_b, rho), got {item!r}") from None
        for n in (a, b):
            if n not in names:
                raise ValueError(f"correlations: unknown input {n!r} (inputs: {', '.join(sorted(names))})")
        if a == b:
            raise ValueError(f"correlations: input {a!r} paired with itself")
        rho = float(rho)
        if not -1.0 <= rho <= 1.0:
            raise ValueError(f"correlations: rho for ({a!r}, {b!r}) must lie in [-1, 1], got {rho}")
        key = tuple(sorted((a, b)))
        if key in seen:
            raise ValueError(f"correlations: pair {key} given twice")
        if shapes[a] != shapes[b]:
            raise ValueError(
                f"correlations: {a!r} {shapes[a]} and {b!r} {shapes[b]} must have the same dims and "
                "coordinates (elements are correlated one to one)"
            )
        seen[key] = rho
    # connected groups
    parent = {n: n for pair in seen for n in pair}

    def find(n):
        while parent[n] != n:
            n = parent[n]
        return n

    for a, b in seen:
        parent[find(a)] = find(b)
    groups: dict[str, list[str]] = {}
    for n in sorted(parent):
        groups.setdefault(find(n), []).append(n)
    out = []
    for members in sorted(groups.values()):
        k = len(members)
        corr = np.eye(k)
        for (a, b), rho in seen.items():
            if a in members:
                i, j = members.index(a), members.index(b)
                corr[i, j] = corr[j, i] = rho
        eigval, eigvec = np.linalg.eigh(corr)
        if eigval.min() < -1e-10:
            raise ValueError(
                f"correlations among {members} do not form a valid correlation matrix "
                f"(smallest eigenvalue {eigval.min():.3g}); make the coefficients mutually consistent"
            )
        root = eigvec * np.sqrt(np.clip(eigval, 0.0, None))  # corr = root @ root.T
        out.append((members, root))
    return out


def _reorder_by_ranks(samples: np.ndarray, latent: np.ndarray) -> np.ndarray:
    """Reorder ``samples`` along axis 0 so their ranks follow ``latent`` (same shape)."""
    ranks = np.argsort(np.argsort(latent, axis=0, kind="stable"), axis=0, kind="stable")
    return np.take_along_axis(np.sort(samples, axis=0), ranks, axis=0)


def _within_groups(within, triples, names_between):
    """Validate ``within`` items -> [(name, axis, positions, rho)] (axis counts the draw axis)."""
    out = []
    seen = set()
    for item in within or ():
        try:
            name, dim, labels, rho = item
        except (TypeError, ValueError):
            raise ValueError(f"within: expected (input, dim, labels, rho), got {item!r}") from None
        if name not in triples:
            raise ValueError(f"within: unknown input {name!r} (inputs: {', '.join(sorted(triples))})")
        if name in names_between:
            raise ValueError(f"within: input {name!r} is already in `correlations`; an input may be correlated "
                             "with other inputs or among its own elements, not both")
        if name in seen:
            raise ValueError(f"within: input {name!r} given twice")
        seen.add(name)
        base = triples[name][1]
        if dim not in base.dims:
            raise ValueError(f"within: input {name!r} has no dim {dim!r} (dims: {base.dims})")
        index = [str(v) for v in base[dim].values] if dim in base.coords else list(range(base.sizes[dim]))
        positions = []
        for label in labels:
            key = str(label) if dim in base.coords else label
            if key not in index:
                raise ValueError(f"within: {name!r} has no {dim}={label!r} (known: {index})")
            positions.append(index.index(key))
        if len(set(positions)) < 2:
            raise ValueError(f"within: {name!r} needs at least two distinct {dim} labels, got {list(labels)!r}")
        rho = float(rho)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"within: rho for {name!r} must lie in [0, 1] (a common factor), got {rho}")
        out.append((name, 1 + base.dims.index(dim), positions, rho))
    return sorted(out, key=lambda g: g[0])


#: Random draws are generated in blocks of this many draws; in block ``k`` every input (and every
#: copula's latent normals) has its own generator :func:`stream_rng` ``(seed, k, label)``. A chunk of
#: an ensemble can so sample exactly its own draws.
SAMPLING_BLOCK_DRAWS = 8192


def block_rng(seed: int, block: int) -> np.random.Generator:
    """Generator of ``SeedSequence(seed, spawn_key=(block,))``, the ``block``-th child of ``SeedSequence(seed)``.

    The parent of sampling block ``block``'s streams: :func:`stream_rng` ``(seed, block, label)``
    is its child number ``_stream_key(label)`` (spawn key ``(block, _stream_key(label))``).
    :func:`sample_inputs` itself draws only from the per-input streams, never from this generator.
    """
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(int(block),)))


def _stream_key(label: str) -> int:
    """Stable 64-bit integer of a stream label: BLAKE2b (8 bytes) of its UTF-8 text, little-endian.

    Not ``hash()``, which is salted per process (``PYTHONHASHSEED``) and would change every run.
    """
    return int.from_bytes(hashlib.blake2b(str(label).encode("utf-8"), digest_size=8).digest(), "little")


def stream_rng(seed: int, block: int, label: str) -> np.random.Generator:
    """Generator of one random stream of sampling block ``block`` (see :data:`SAMPLING_BLOCK_DRAWS`).

    ``np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(block, _stream_key(label))))``.
    :func:`sample_inputs` uses the labels ``"input:" + name`` (an input's marginal draws),
    ``"correlation:" + "|".join(members)`` (latent normals of a correlation group, members sorted)
    and ``"within:" + name`` (latent normals of a ``within`` group).

    >>> pue = stream_rng(0, 0, "input:pue").random(3)
    >>> np.array_equal(pue, stream_rng(0, 0, "input:pue").random(3))  # stable across calls and processes
    True
    >>> np.array_equal(pue, stream_rng(0, 0, "input:tdp_w").random(3))  # another label: another stream
    False
    """
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(int(block), _stream_key(label))))


def _sample_block(triples, names, groups, within_groups, method, n, seed, block):
    """``n`` random draws of every input (dict name -> ndarray (n, *shape)) in block ``block``, copulas applied.

    Each input, correlation group and ``within`` group draws from its own :func:`stream_rng`.
    """
    values = {}
    for name in names:
        low, base, high = triples[name]
        values[name] = _SAMPLERS[method](low.values, base.values, high.values, n,
                                         stream_rng(seed, block, f"input:{name}"))
    for members, root in groups:
        shape = values[members[0]].shape
        rng = stream_rng(seed, block, "correlation:" + "|".join(map(str, members)))
        z = rng.standard_normal((len(members),) + shape)
        latent = np.tensordot(root, z, axes=(1, 0))  # correlated normals, one set per element
        for i, name in enumerate(members):
            values[name] = _reorder_by_ranks(values[name], latent[i])
    for name, axis, positions, rho in within_groups:
        rng = stream_rng(seed, block, f"within:{name}")
        part = np.take(values[name], positions, axis=axis)
        common_shape = list(part.shape)
        common_shape[axis] = 1
        common = rng.standard_normal(common_shape)
        own = rng.standard_normal(part.shape)
        latent = np.sqrt(rho) * common + np.sqrt(1.0 - rho) * own  # equicorrelated normals
        index = [slice(None)] * part.ndim
        index[axis] = positions
        values[name][tuple(index)] = _reorder_by_ranks(part, latent)
    return values


def sample_inputs(
    spec: Mapping[str, Any],
    draws: int,
    seed: int,
    *,
    method: str = "pert",
    correlations: Sequence[tuple[str, str, float]] | None = None,
    within: Sequence[tuple[str, str, Sequence[Any], float]] | None = None,
    include_base: bool = True,
    draw_range: tuple[int, int] | None = None,
) -> dict:
    """Sample uncertain inputs into arrays with a leading ``draw`` dimension.

    Parameters
    ----------
    spec : mapping of name -> (low, base, high)
        Each value is a tuple of three xr.DataArrays (or numbers) with identical dims and coords,
        or one DataArray with a ``bound`` dim holding ``low``, ``base``, ``high`` (as in
        ``chipsuite.load_dataset()``). Units are those of the inputs.
    draws : int
        Number of draws of the whole ensemble (>= 1).
    seed : int
        Seed (>= 0). Random draws come in blocks of :data:`SAMPLING_BLOCK_DRAWS`; in block ``k``
        input ``name`` draws from its own stream :func:`stream_rng` ``(seed, k, "input:" + name)``
        and each copula from a stream of its own (module docstring, "Reproducibility"). Results
        depend only on ``(spec, draws, seed, method, correlations, within, include_base)``, never
        on dict order or ``draw_range``; an input's draws do not depend on the other inputs in
        ``spec`` (sampling a subset gives the same arrays bit for bit, changing one input's
        triple changes no other input's draws), only on its own triple, name and copula.
    method : {"pert", "triangular"}
        Marginal distribution (PERT: see the module docstring for why it is the default).
    correlations : list of (name_a, name_b, rho), optional
        Rank correlations between inputs, imposed with a rank-based Gaussian copula within each
        sampling block. Correlated inputs must have the same dims and coords; element ``i`` of
        one is correlated with element ``i`` of the other. Pairs not listed are independent.
    within : list of (name, dim, labels, rho), optional
        Correlation among elements of one input, e.g. ``("unit_price_usd", "generation",
        ["h100", "b200"], 0.8)``: the listed elements share a common Gaussian factor, so any two
        have latent correlation ``rho`` in [0, 1] (rank correlation ~ ``rho``). Other elements
        (and other positions along the remaining dims) stay independent.
    include_base : bool
        If True, draw 0 is the base case exactly and draws ``1..draws-1`` are random.
    draw_range : (start, stop), optional
        Return only draws ``start <= draw < stop`` of the ``draws``-draw ensemble, identical to
        the same slice of the full result (used to sample one chunk of a large ensemble).

    Returns
    -------
    dict of name -> xr.DataArray
        Dims ``("draw", *input dims)``, coord ``draw`` (``start..stop-1``), the input's coords,
        and the attrs of ``base`` (units, long_name) plus ``sampling`` (e.g.
        ``"pert(lamb=4); seed 0; draw 0 = base"``).
    """
    import xarray as xr

    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if isinstance(draws, (bool, np.bool_)) or not isinstance(draws, (int, np.integer)) or draws < 1:
        raise ValueError(f"draws must be an int >= 1, got {draws!r}")
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    draws = int(draws)
    start, stop = (0, draws) if draw_range is None else (int(draw_range[0]), int(draw_range[1]))
    if not 0 <= start <= stop <= draws:
        raise ValueError(f"draw_range must satisfy 0 <= start <= stop <= draws={draws}, got {draw_range!r}")
    names = sorted(spec)
    triples = {}
    for name in names:
        low, base, high = _split_spec(name, spec[name])
        lo, ba, hi = _as_triple(low.values, base.values, high.values)
        idx = _first_bad(lo, ba, hi)
        if idx is not None:
            where = _locate(base, idx)
            raise ValueError(
                f"spec[{name!r}]: need low <= base <= high (NaN only if all three are NaN); violated"
                f"{' at ' + where if where else ''}: low={float(lo[idx])}, base={float(ba[idx])}, high={float(hi[idx])}"
            )
        triples[name] = (low, base, high)
    shapes = {n: (t[1].dims, t[1].shape) for n, t in triples.items()}
    groups = _correlation_groups(correlations, set(names), shapes)
    for a, b, _ in correlations or ():
        try:
            xr.align(triples[a][1], triples[b][1], join="exact", copy=False)
        except ValueError:
            raise ValueError(f"correlations: {a!r} and {b!r} have different coordinates") from None
    within_groups = _within_groups(within, triples, {n for members, _ in groups for n in members})

    # random draws j = 0..n_random-1 sit at draw j + offset; blocks of SAMPLING_BLOCK_DRAWS over j
    offset = 1 if include_base else 0
    n_random = draws - offset
    j0, j1 = max(start - offset, 0), max(stop - offset, 0)
    size = SAMPLING_BLOCK_DRAWS
    pieces: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for k in range(j0 // size, -(-j1 // size)) if j1 > j0 else ():
        first = k * size
        block = _sample_block(triples, names, groups, within_groups, method, min(size, n_random - first),
                              seed, k)
        for name in names:
            pieces[name].append(block[name][max(j0 - first, 0):j1 - first])

    label = "pert(lamb=4)" if method == "pert" else "triangular"
    notes = ""
    if correlations:
        notes += "; rank-correlated: " + ", ".join(f"{a}~{b} {float(r):+.2f}" for a, b, r in correlations)
    if within:
        notes += "; correlated within: " + ", ".join(f"{n}[{d}={list(map(str, ls))}] {float(r):+.2f}"
                                                      for n, d, ls, r in within)
    out = {}
    for name in names:
        low, base, high = triples[name]
        parts = pieces[name]
        if include_base and start == 0 and stop > 0:
            parts = [np.asarray(base.values, dtype=np.float64)[np.newaxis]] + parts
        data = np.concatenate(parts, axis=0) if parts else np.empty((0,) + base.shape)
        attrs = dict(base.attrs)
        attrs.setdefault("units", low.attrs.get("units", high.attrs.get("units", "1")))
        attrs.setdefault("long_name", name)
        attrs["sampling"] = f"{label}; seed {int(seed)}" + ("; draw 0 = base" if include_base else "") + notes
        da = xr.DataArray(
            data,
            dims=("draw",) + base.dims,
            coords={**{k: v for k, v in base.coords.items()}, "draw": np.arange(start, stop)},
            attrs=attrs,
            name=name,
        )
        da["draw"].attrs.update(long_name="draw", units="1")
        out[name] = da
    return {name: out[name] for name in spec}


