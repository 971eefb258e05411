"""A chunked ensemble on a dask.distributed LocalCluster (worker processes) equals the in-memory run."""

import numexpr
import numpy as np
import pytest
import xarray as xr

import chipsuite
from chipsuite.ensemble import compute, ensemble_quantiles

distributed = pytest.importorskip("distributed")


def _numexpr_threads():
    import numexpr as ne

    return ne.get_num_threads()


@pytest.fixture(scope="module")
def client():
    # two single-threaded worker processes; numexpr limited to 1 thread per worker (no oversubscription)
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, scheduler_port=0, silence_logs=40)
    client = distributed.Client(cluster)
    client.run(numexpr.set_num_threads, 1)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def test_workers_are_limited_to_one_numexpr_thread(client):
    threads = client.run(_numexpr_threads)
    assert len(threads) == 2 and set(threads.values()) == {1}


def test_cluster_run_equals_in_memory(client):
    mem = chipsuite.run(draws=200, seed=9)
    lazy = chipsuite.run(draws=200, seed=9, chunks={"draw": 50})
    with distributed.get_task_stream(client) as stream:
        done = compute(lazy)  # uses the active distributed client
    xr.testing.assert_allclose(done, mem, rtol=1e-12, atol=0)
    assert np.isfinite(done.capex_usd.values).all()
    # the model ran on the workers: one block task per chunk
    blocks = [t for t in stream.data if str(t["key"]).startswith("('_block-")]
    assert len(blocks) == 4
    assert {t["worker"] for t in stream.data} <= set(client.scheduler_info()["workers"])


def test_cluster_streamed_quantiles(client):
    mem = chipsuite.run(draws=200, seed=9)
    q = ensemble_quantiles(draws=200, seed=9, chunk_draws=40, variables=["capex_usd", "emissions_tco2"])
    xr.testing.assert_allclose(q, chipsuite.quantiles(mem[["capex_usd", "emissions_tco2"]]), rtol=1e-12, atol=0)
