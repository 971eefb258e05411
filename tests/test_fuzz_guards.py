"""Fuzz suite, load guards: sweep() and the explorer grids estimate their memory before any work."""

import tracemalloc

import numpy as np
import pytest

from chipsuite import data as chipdata
from chipsuite.explorers import grids
from chipsuite.scenario import PARAMETERS, Scenario
from chipsuite.uncertainty import GRID_BYTES_PER_POINT, GRID_MAX_BYTES, GridTooLargeError, check_grid_memory, sweep


def test_estimate_and_refusal_message():
    assert check_grid_memory(10) == 10 * GRID_BYTES_PER_POINT
    with pytest.raises(GridTooLargeError, match=r"sweep: 30,000 points need about 9 GB .* above the limit of 2 GB"):
        check_grid_memory(30_000, who="sweep")
    assert check_grid_memory(20, max_bytes=20 * GRID_BYTES_PER_POINT)  # the limit itself is allowed


@pytest.mark.parametrize("max_bytes", [0, -1, float("nan"), "1e9", None, True])
def test_limit_must_be_a_positive_number(max_bytes):
    with pytest.raises(ValueError, match="max_bytes"):
        check_grid_memory(1, max_bytes)


def _no_model_work(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the model ran although the grid is above the limit")

    monkeypatch.setattr(chipdata, "load_dataset", refuse)
    monkeypatch.setattr(grids, "_dataset", refuse)


def test_sweep_refuses_a_huge_grid_before_building_it(monkeypatch):
    _no_model_work(monkeypatch)
    grid = {name: np.linspace(p.lower, p.upper, 40) for name, p in list(PARAMETERS.items())[:6]}  # 4e9 points
    with pytest.raises(GridTooLargeError, match=r"sweep: 4,096,000,000 points"):
        sweep(Scenario.default(), grid)


def test_sweep_limit_is_a_parameter(monkeypatch):
    _no_model_work(monkeypatch)
    with pytest.raises(GridTooLargeError, match="5 points"):
        sweep(Scenario.default(), {"utilisation": [0.3, 0.4, 0.5, 0.6, 0.7]}, max_bytes=4 * GRID_BYTES_PER_POINT)


def test_run_points_refuses_too_many_points(monkeypatch):
    _no_model_work(monkeypatch)
    with pytest.raises(GridTooLargeError, match="run_points: 30 points"):
        grids.run_points(Scenario.default(), [{}] * 30, max_bytes=10 * GRID_BYTES_PER_POINT)
    n = GRID_MAX_BYTES // GRID_BYTES_PER_POINT + 1
    with pytest.raises(GridTooLargeError, match="run_points"):
        grids.run_points(Scenario.default(), ({} for _ in range(n)))


def test_bytes_per_point_covers_the_measured_peak():
    """The estimate must not be below what a sweep really allocates per point (tracemalloc peak)."""
    scenario = Scenario.default()
    sweep(scenario, {"utilisation": [0.5, 0.6]})  # warm caches (dataset, formula plans)
    n = 100
    tracemalloc.start()
    try:
        out = sweep(scenario, {"utilisation": np.linspace(0.3, 0.9, n)})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert out.sizes["utilisation"] == n
    per_point = peak / n
    assert out.nbytes / n <= per_point <= GRID_BYTES_PER_POINT, (
        f"measured {per_point:,.0f} bytes per point; update GRID_BYTES_PER_POINT ({GRID_BYTES_PER_POINT:,})")
