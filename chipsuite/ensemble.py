"""Large ensembles: chunked (dask) model runs, streamed reductions, progress.

``chipsuite.run(scenario, draws=N, seed=S, chunks={"draw": n})`` calls :func:`ensemble`, which
returns a lazy, dask-backed Dataset equal to the in-memory run (same draws, same numbers). How:

- sampling is block-seeded (:data:`chipsuite.uncertainty.SAMPLING_BLOCK_DRAWS`): each chunk samples
  exactly its own draws with ``sample_inputs(..., draw_range=(start, stop))``, so nothing of size
  ``draws`` is ever built in the client, and the in-memory path draws the same numbers;
- each chunk is one task (``xarray.map_blocks``) that loads the dataset (cached per process),
  samples its draws and evaluates the model; the model is vectorised over ``draw`` and has no
  cross-draw step, so a chunk's numbers do not depend on the chunking.

Quantiles over a chunked ``draw`` dim: exact quantiles need every draw of an element at once
(xarray requires ``draw`` in one chunk). :func:`ensemble_quantiles` therefore reduces first: it
keeps only the requested variables (optionally reduced per chunk, e.g. summed over ``site``),
rechunks those to one ``draw`` chunk and computes exact quantiles. Memory is about
``draws x (values per draw of the selection) x 8 bytes`` plus a few chunks in flight, never the
whole result (about 0.2 MB per draw for all variables: 215 kB measured at 5,000 draws, 2026-12-02).

Progress: :func:`compute` shows a ``tqdm.auto`` bar (terminal or notebook widget) for local dask
schedulers, or ``distributed.progress`` on a cluster; ``progress=None`` shows it only for big runs
(:data:`PROGRESS_MIN_DRAWS` draws or more), ``True``/``False`` force it on/off.
"""

from __future__ import annotations

from typing import Callable, Iterable, Sequence

import numpy as np
import xarray as xr

__all__ = ["ensemble", "ensemble_inputs", "ensemble_quantiles", "compute", "related_input_groups",
           "PROGRESS_MIN_DRAWS", "DEFAULT_CHUNK_DRAWS"]

#: progress=None shows a bar from this many draws on
PROGRESS_MIN_DRAWS = 100_000
#: default draws per chunk of :func:`ensemble_quantiles`: a chunk's run peaks at ~0.33 GB per 1,000 draws
#: (0.65 GB at 2,000, 1.4 GB at 5,000 measured), two in flight on 2 cores: 2,048 keeps a million draws
#: within a 2 GB Binder machine (benchmarks/README.md)
DEFAULT_CHUNK_DRAWS = 2048


def related_input_groups(ds, rho_nvidia_prices: float = 0.8, rho_mtia_factors: float = 0.7):
    """Example ``within`` correlations for :func:`ensemble` (an assumption, not a sourced fact).

    - list prices of the modelled Nvidia generations move together (one vendor, one pricing
      policy) with latent correlation ``rho_nvidia_prices``;
    - H100-equivalence factors of the MTIA generations move together per workload (one design
      team, one software stack) with ``rho_mtia_factors``.

    Returns a list of ``(input, dim, labels, rho)`` for :func:`chipsuite.uncertainty.sample_inputs`.
    """
    from .model.inputs import fleet_generations

    gens = fleet_generations(ds)
    vendor = {str(g): str(v) for g, v in zip(ds.generation.values, ds.vendor.values)}
    nvidia = [g for g in gens if vendor[g] == "nvidia"]
    mtia = [g for g in gens if vendor[g] == "meta"]
    return [("h100e_factor", "generation", mtia, rho_mtia_factors),
            ("unit_price_usd", "generation", nvidia, rho_nvidia_prices)]


def ensemble_inputs(scenario, ds, draws: int, seed: int, *, draw_range=None, method="pert", correlations=None,
                    within=None):
    """Model inputs of draws ``draw_range`` (default: all) of an ensemble, with a leading ``draw`` dim.

    ``draws == 1`` gives the base case. Thin wrapper of :func:`chipsuite.model.model_inputs`,
    so chunks get exactly the in-memory inputs (incl. its post-processing of sampled values).
    """
    from .model import inputs as model

    sampling = {"method": method, "correlations": correlations, "within": within}
    if draw_range is not None:
        sampling["draw_range"] = (int(draw_range[0]), int(draw_range[1]))
    return model.model_inputs(scenario, ds, int(draws), int(seed), **sampling)


def _dataset():
    from .data import load_dataset

    return load_dataset()  # cached per process (and per file modification time)


def _attrs(scenario, draws, seed, engine, method, correlations, within):
    import chipsuite

    sampling = "base case only" if draws == 1 else f"{method}; draw 0 = base; block-seeded, one SeedSequence stream per input (uncertainty.stream_rng)"
    if correlations:
        sampling += "; correlations " + repr([tuple(c) for c in correlations])
    if within:
        sampling += "; within " + repr([(n, d, [str(x) for x in ls], r) for n, d, ls, r in within])
    return {"title": "chipsuite scenario model run", "chipsuite_version": chipsuite.__version__,
            "scenario": scenario.to_json(), "engine": engine, "draws": int(draws), "seed": int(seed),
            "sampling": sampling}


def _evaluate(scenario, draws, seed, engine, method, correlations, within, draw_range):
    from .model.core import evaluate_model

    ds = _dataset()
    values = ensemble_inputs(scenario, ds, draws, seed, draw_range=draw_range, method=method,
                             correlations=correlations, within=within)
    return evaluate_model(values, ds, engine=engine)


def _data_token():
    """Fingerprint of the package version and the dataset this process loads."""
    import dask.base

    import chipsuite

    return f"{chipsuite.__version__}:{dask.base.tokenize(_dataset())}"


def _block(driver, scenario, draws, seed, engine, method, correlations, within, data_token):
    """One chunk for ``xarray.map_blocks``: ``driver`` holds the chunk's draw numbers."""
    here = _data_token()
    if here != data_token:
        raise RuntimeError(
            f"this dask worker's chipsuite version/data ({here}) differ from the client's ({data_token}): "
            "install the same chipsuite version on every worker and point CHIPSUITE_DATA_DIR at identical data")
    d = driver["draw"].values
    return _evaluate(scenario, draws, seed, engine, method, correlations, within, (int(d[0]), int(d[-1]) + 1))


def _chunk_draws(chunks, draws):
    if isinstance(chunks, (int, np.integer)) and not isinstance(chunks, bool):
        n = int(chunks)
    elif isinstance(chunks, dict) and set(chunks) == {"draw"}:
        n = chunks["draw"]
        n = draws if n in (-1, None) else n
    else:
        raise ValueError(f"chunks must be {{'draw': n}} (or an int n): only the draw dim is chunked, got {chunks!r}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"chunks['draw'] must be an int >= 1 (draws per chunk), got {n!r}")
    return min(int(n), draws)


def _check(scenario, draws, seed, engine):
    from .scenario import Scenario

    scenario = Scenario.default() if scenario is None else scenario
    if not isinstance(scenario, Scenario):
        raise TypeError(f"scenario must be a chipsuite.Scenario, not {type(scenario).__name__}")
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 1:
        raise ValueError(f"draws must be an integer >= 1, not {draws!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, not {seed!r}")
    if engine not in ("numexpr", "numpy"):
        raise ValueError(f"engine must be 'numexpr' or 'numpy', not {engine!r}")
    return scenario


def ensemble(scenario=None, draws: int = 1000, seed: int = 0, *, engine: str = "numexpr", chunks=None,
             method: str = "pert", correlations=None, within=None) -> xr.Dataset:
    """Monte Carlo ensemble of the scenario model, in memory or lazy (dask).

    Parameters
    ----------
    scenario : Scenario, optional
        Default :meth:`Scenario.default`.
    draws, seed : int
        Number of draws (draw 0 = base case) and sampler seed (>= 0).
    engine : {"numexpr", "numpy"}
    chunks : None, int or {"draw": n}
        None: evaluate in memory. Otherwise a lazy dask-backed Dataset with ``n`` draws per chunk,
        equal to the in-memory result; nothing is computed until ``.compute()`` (or a reduction).
    method, correlations, within
        Sampling options of :func:`chipsuite.uncertainty.sample_inputs` (PERT, no correlation by
        default; see :func:`related_input_groups` for an example ``within``).

    Returns
    -------
    xarray.Dataset like :func:`chipsuite.run`; attrs include ``seed``, ``draws`` and ``sampling``.
    """
    scenario = _check(scenario, draws, seed, engine)
    draws, seed = int(draws), int(seed)
    attrs = _attrs(scenario, draws, seed, engine, method, correlations, within)
    if chunks is None:
        out = _evaluate(scenario, draws, seed, engine, method, correlations, within, None)
        out.attrs = attrs
        return out
    import dask.array as dsa

    n = _chunk_draws(chunks, draws)
    # validate the sampling options and build the template from the base draw (cheap, in memory)
    one = _evaluate(scenario, draws, seed, engine, method, correlations, within, (0, 1))
    draw = np.arange(draws)
    draw_chunks = (n,) * (draws // n) + ((draws % n,) if draws % n else ())
    template = xr.Dataset(coords={k: v for k, v in one.coords.items() if k != "draw"})
    template = template.assign_coords(draw=draw)
    for name, var in one.data_vars.items():
        shape = tuple(draws if d == "draw" else one.sizes[d] for d in var.dims)
        chunks_ = tuple(draw_chunks if d == "draw" else (one.sizes[d],) for d in var.dims)
        template[name] = xr.Variable(var.dims, dsa.empty(shape, chunks=chunks_, dtype=var.dtype), var.attrs)
    driver = xr.DataArray(draw, dims="draw", coords={"draw": draw}, name="draw_number").chunk({"draw": n})
    lazy = xr.map_blocks(_block, driver, kwargs=dict(scenario=scenario, draws=draws, seed=seed, engine=engine,
                                                     method=method, correlations=correlations, within=within,
                                                     data_token=_data_token()),
                         template=template)
    lazy.attrs = attrs
    lazy["draw"].attrs = dict(one["draw"].attrs)
    return lazy


# ---------------------------------------------------------------- computing with progress


def _distributed_client():
    try:
        from distributed import get_client
    except ImportError:  # pragma: no cover - distributed is a dependency
        return None
    try:
        return get_client()
    except ValueError:  # no client/cluster in this process
        return None


def _show_progress(progress, draws):
    if progress is None:
        return draws >= PROGRESS_MIN_DRAWS
    if not isinstance(progress, bool):
        raise ValueError(f"progress must be None (auto), True or False, not {progress!r}")
    return progress


def compute(obj, progress: bool | None = None, draws: int | None = None, **kwargs):
    """Compute a lazy xarray object (or dask collection), optionally with a progress bar.

    Parameters
    ----------
    obj : xr.Dataset, xr.DataArray or dask collection
    progress : None, True or False
        None: show a bar only when ``draws`` (default: ``obj.attrs["draws"]``) is at least
        :data:`PROGRESS_MIN_DRAWS`; True/False: always/never. A ``tqdm.auto`` bar under local
        dask schedulers; ``distributed.progress`` when a ``distributed.Client`` is active.
    kwargs : passed to ``compute`` (e.g. ``scheduler="synchronous"``).
    """
    import dask

    if draws is None:
        draws = int(getattr(obj, "attrs", {}).get("draws", 0))
    show = _show_progress(progress, draws)
    client = _distributed_client() if "scheduler" not in kwargs else None
    if client is not None:
        future = client.compute(obj, **kwargs)
        if show:
            from distributed import progress as distributed_progress

            distributed_progress(future)
        return future.result()
    if not show:
        return dask.compute(obj, **kwargs)[0] if not hasattr(obj, "compute") else obj.compute(**kwargs)
    from tqdm.auto import tqdm
    from tqdm.dask import TqdmCallback

    with TqdmCallback(desc="chipsuite ensemble", tqdm_class=tqdm):
        return obj.compute(**kwargs) if hasattr(obj, "compute") else dask.compute(obj, **kwargs)[0]


# ---------------------------------------------------------------- streamed reductions


def ensemble_quantiles(scenario=None, draws: int = 10_000, seed: int = 0, *,
                       variables: Sequence[str] = ("capex_usd",), q: Iterable[float] = (0.05, 0.5, 0.95),
                       reduce: Callable[[xr.Dataset], xr.Dataset] | None = None,
                       chunk_draws: int = DEFAULT_CHUNK_DRAWS, progress: bool | None = None,
                       engine: str = "numexpr", method: str = "pert", correlations=None, within=None,
                       **compute_kwargs) -> xr.Dataset:
    """Exact quantiles over ``draw`` of a large ensemble, streamed chunk by chunk.

    The full result is never materialised: each chunk evaluates the model, keeps ``variables``
    (after ``reduce``, applied per chunk: it must act draw by draw, e.g. ``lambda d:
    d.sum("site")`` or ``.sel(quarter=...)``), and only that selection is gathered into one
    ``draw`` chunk for exact quantiles (xarray needs the whole ``draw`` dim). Peak memory is about
    ``draws x values per draw of the selection x 8 bytes`` (``capex_usd``: 36 quarters -> 288 B
    per draw, 0.29 GB for a million draws) plus ``chunk_draws x ~0.33 MB`` per chunk in flight
    (the run's peak, not only its result).

    Returns a Dataset with a ``quantile`` dim (attrs as :func:`chipsuite.uncertainty.quantiles`).
    """
    from .uncertainty import quantiles

    lazy = ensemble(scenario, draws, seed, engine=engine, chunks={"draw": chunk_draws}, method=method,
                    correlations=correlations, within=within)
    missing = [v for v in variables if v not in lazy.data_vars]
    if missing:
        raise ValueError(f"variables {missing} are not model outputs (known: {sorted(lazy.data_vars)})")
    selection = lazy[list(variables)]
    if reduce is not None:
        reduced = reduce(selection)
        if not isinstance(reduced, xr.Dataset) or any("draw" not in v.dims for v in reduced.data_vars.values()):
            raise ValueError("reduce must return a Dataset whose variables keep the 'draw' dim")
        for name, var in reduced.data_vars.items():  # reductions drop attrs: keep units and long_name
            if name in selection and not var.attrs:
                var.attrs.update(selection[name].attrs)
        selection = reduced
    out = compute(quantiles(selection, q=q), progress=progress, draws=draws, **compute_kwargs)
    out.attrs = dict(lazy.attrs)
    return out
