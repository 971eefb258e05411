"""Ensembles end to end: run(draws, seed) sampling, chunked (dask) runs, streamed quantiles, progress."""

import tracemalloc

import dask
import dask.array
import numpy as np
import pytest
import xarray as xr

import chipsuite
import chipsuite.uncertainty
from chipsuite import run
from chipsuite.ensemble import compute, ensemble, ensemble_quantiles, related_input_groups


@pytest.fixture(scope="module")
def small():
    return run(draws=60, seed=5)


# ---------------------------------------------------------------- run(draws, seed)


def test_same_seed_identical_different_seeds_differ(small):
    xr.testing.assert_identical(small, run(draws=60, seed=5))
    other = run(draws=60, seed=6)
    for name in ("capex_usd", "pue", "unit_price_usd", "emissions_tco2"):
        assert not np.array_equal(small[name].values[1:], other[name].values[1:]), name
    # draws differ from one another
    assert np.unique(small.capex_usd.sum("quarter").values).size == 60


def test_draw_zero_is_the_base_case(small):
    base = run()
    xr.testing.assert_allclose(small.isel(draw=0), base.isel(draw=0), rtol=1e-12, atol=0)
    assert "draw 0 = base" in run(draws=3, seed=1, chunks={"draw": 2}).attrs["sampling"]


def test_sampled_inputs_follow_pert_in_the_result():
    ds = chipsuite.load_dataset()
    r = run(draws=4001, seed=11)
    for name, dim in (("pue", "site"), ("unit_price_usd", "generation")):
        x = r[name].isel(draw=slice(1, None))
        has = ds[name].sel(bound="base").sel({dim: x[dim]}).notnull()  # a rented-only chip has no price
        x = x.sel({dim: x[dim][has.values]})
        lo, ba, hi = (ds[name].sel(bound=b, drop=True).sel({dim: x[dim]}) for b in ("low", "base", "high"))
        mean = (lo + 4 * ba + hi) / 6
        tol = 5 * x.std("draw") / np.sqrt(x.sizes["draw"]) + 1e-9 * abs(mean)
        assert (abs(x.mean("draw") - mean) <= tol).all(), name
        assert ((x >= lo) & (x <= hi)).all(), name
        spread = hi > lo
        assert (x.std("draw").where(spread) > 0).where(spread, True).all()
        assert (x.std("draw").where(~spread, 0) == 0).all()  # no range -> the base value in every draw


def test_correlated_nvidia_prices_in_an_ensemble():
    ds = chipsuite.load_dataset()
    within = related_input_groups(ds, rho_nvidia_prices=0.9)
    r = ensemble(draws=3001, seed=2, within=within)
    nvidia = [g for g in within[1][2]]
    price = r.unit_price_usd.isel(draw=slice(1, None)).sel(generation=nvidia[-2:]).values
    ranks = np.argsort(np.argsort(price, axis=0), axis=0)
    assert np.corrcoef(ranks.T)[0, 1] > 0.8
    assert "within" in r.attrs["sampling"]
    assert np.corrcoef(np.argsort(np.argsort(run(draws=3001, seed=2).unit_price_usd.isel(
        draw=slice(1, None)).sel(generation=nvidia[-2:]).values, axis=0), axis=0).T)[0, 1] < 0.1


# ---------------------------------------------------------------- chunked == in-memory


@pytest.mark.parametrize("chunk", [7, 23, 100])
def test_chunked_run_equals_in_memory(monkeypatch, chunk):
    monkeypatch.setattr(chipsuite.uncertainty, "SAMPLING_BLOCK_DRAWS", 16)  # chunks straddle blocks
    mem = run(draws=100, seed=3)
    lazy = run(draws=100, seed=3, chunks={"draw": chunk})
    assert isinstance(lazy.capex_usd.data, dask.array.Array)
    assert lazy.capex_usd.chunksizes["draw"][0] == chunk
    assert set(lazy.data_vars) == set(mem.data_vars)
    done = lazy.compute(scheduler="synchronous")
    for name in mem.data_vars:
        xr.testing.assert_allclose(done[name], mem[name], rtol=1e-12, atol=0)
        assert done[name].attrs == mem[name].attrs
    assert done.attrs["seed"] == 3 and done.attrs["draws"] == 100


def test_chunked_with_correlations_equals_in_memory(monkeypatch):
    monkeypatch.setattr(chipsuite.uncertainty, "SAMPLING_BLOCK_DRAWS", 10)
    within = related_input_groups(chipsuite.load_dataset())
    mem = ensemble(draws=45, seed=8, within=within, method="triangular")
    lazy = ensemble(draws=45, seed=8, within=within, method="triangular", chunks=7).compute()
    xr.testing.assert_allclose(lazy, mem, rtol=1e-12, atol=0)


def test_bad_chunks():
    for chunks in ({"site": 2}, {"draw": 0}, {"draw": 2.5}, "auto", True):
        with pytest.raises(ValueError, match="chunks"):
            run(draws=10, chunks=chunks)
    with pytest.raises(ValueError, match="seed"):
        ensemble(draws=10, seed=-3, chunks=5)


# ---------------------------------------------------------------- streamed reductions


def test_ensemble_quantiles_equal_in_memory_quantiles():
    mem = run(draws=300, seed=4)
    q = ensemble_quantiles(draws=300, seed=4, chunk_draws=70, variables=["capex_usd", "energy_mwh"],
                           q=(0.1, 0.5, 0.9), scheduler="synchronous")
    ref = chipsuite.quantiles(mem[["capex_usd", "energy_mwh"]], q=(0.1, 0.5, 0.9))
    xr.testing.assert_allclose(q, ref, rtol=1e-12, atol=0)
    assert q.capex_usd.attrs["units"] == "USD"
    reduced = ensemble_quantiles(draws=300, seed=4, chunk_draws=70, variables=["energy_mwh"],
                                 reduce=lambda d: d.sum("site"), scheduler="synchronous")
    xr.testing.assert_allclose(reduced.energy_mwh, chipsuite.quantiles(mem.energy_mwh.sum("site")),
                               rtol=1e-12, atol=0)
    assert reduced.energy_mwh.attrs["units"] == "MWh"  # attrs survive the per-chunk reduction
    with pytest.raises(ValueError, match="not model outputs"):
        ensemble_quantiles(draws=10, variables=["nope"])
    with pytest.raises(ValueError, match="keep the 'draw' dim"):
        ensemble_quantiles(draws=10, variables=["capex_usd"], reduce=lambda d: d.mean("draw"))


def test_streaming_never_holds_the_whole_result():
    """Peak traced memory of a streamed reduction stays well below the size of the full result."""
    draws, chunk = 1200, 150
    full_bytes = run(draws=draws, seed=1, chunks={"draw": chunk}).nbytes  # lazy: nothing computed
    tracemalloc.start()
    try:
        ensemble_quantiles(draws=draws, seed=1, chunk_draws=chunk, variables=["capex_usd"],
                           scheduler="synchronous")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert full_bytes > 60e6
    assert peak < 0.4 * full_bytes, (peak, full_bytes)


def test_lazy_sum_matches(small):
    lazy = run(draws=60, seed=5, chunks={"draw": 16})
    total = lazy.capex_usd.sum("draw")
    assert isinstance(total.data, dask.array.Array)
    xr.testing.assert_allclose(total.compute(), small.capex_usd.sum("draw"), rtol=1e-12, atol=0)


# ---------------------------------------------------------------- progress


def test_progress_silent_by_default_and_shown_when_asked(capsys):
    lazy = run(draws=20, seed=1, chunks={"draw": 5})
    compute(lazy.capex_usd.sum("draw"), scheduler="synchronous")
    ensemble_quantiles(draws=20, seed=1, chunk_draws=5, scheduler="synchronous")
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    compute(lazy.capex_usd.sum("draw"), progress=True, scheduler="synchronous")
    out = capsys.readouterr()
    assert "chipsuite ensemble" in out.err
    compute(lazy.capex_usd.sum("draw"), progress=False, draws=10**9, scheduler="synchronous")
    assert capsys.readouterr().err == ""
    with pytest.raises(ValueError, match="progress"):
        compute(lazy.capex_usd.sum("draw"), progress="yes")


def test_progress_auto_threshold():
    from chipsuite.ensemble import PROGRESS_MIN_DRAWS, _show_progress

    assert not _show_progress(None, PROGRESS_MIN_DRAWS - 1)
    assert _show_progress(None, PROGRESS_MIN_DRAWS)
    with dask.config.set(scheduler="synchronous"):
        assert _show_progress(True, 1) and not _show_progress(False, 10**9)


def test_worker_with_other_data_fails_loudly(monkeypatch):
    import chipsuite.ensemble

    lazy = run(draws=10, seed=1, chunks={"draw": 5})
    monkeypatch.setattr(chipsuite.ensemble, "_data_token", lambda: "0.0:other-data")
    with pytest.raises(RuntimeError, match="CHIPSUITE_DATA_DIR"):
        lazy.compute(scheduler="synchronous")
