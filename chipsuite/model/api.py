"""``run``: the model's entry point, in memory or as a chunked (dask) ensemble.

The chunked path lives in :mod:`chipsuite.ensemble`, which builds on :mod:`.core`; this module
sits above both, so the chain never imports the ensemble machinery.
"""

from __future__ import annotations

from ..scenario import Scenario
from .core import run_in_memory

__all__ = ["run"]


def run(scenario: Scenario | None = None, draws: int = 1, seed: int = 0, engine: str = "numexpr", chunks=None):
    """Run the scenario model.

    Parameters
    ----------
    scenario : Scenario, optional
        Parameters (default: :meth:`Scenario.default`).
    draws : int
        1 = the base case (every input at its base value); > 1 = Monte Carlo draws of every
        uncertain input (draw 0 is the base case).
    seed : int
        Seed of the sampler (stored in the result attrs).
    engine : {"numexpr", "numpy"}
        Engine of the element-wise formulas; both run the same formula registry.
    chunks : None, int or {"draw": n}
        None: compute in memory. ``{"draw": n}``: a lazy, dask-backed Dataset with ``n`` draws
        per chunk, equal to the in-memory result (block-seeded sampling, see
        :mod:`chipsuite.ensemble`); reduce it (``chipsuite.quantiles``, sums) before computing
        large ensembles.

    Returns
    -------
    xarray.Dataset with dims among ``draw``, ``generation``, ``site``, ``workload``, ``quarter``;
    every variable has ``units`` and ``long_name``.
    """
    if chunks is not None:
        from ..ensemble import ensemble

        return ensemble(scenario, draws, seed, engine=engine, chunks=chunks)
    return run_in_memory(scenario, draws, seed, engine)
