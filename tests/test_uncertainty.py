"""Tests for chipsuite.uncertainty: samplers, sample_inputs, quantiles."""

import doctest

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import chipsuite.uncertainty
from chipsuite.uncertainty import quantiles, sample_inputs, sample_pert, sample_triangular

N = 200_000  # draws for the statistics checks; tolerances are 5 standard errors


def test_doctests():
    import chipsuite.sampling

    res = doctest.testmod(chipsuite.sampling)
    assert res.attempted >= 3 and res.failed == 0
    assert doctest.testmod(chipsuite.uncertainty).failed == 0


# ---------------------------------------------------------------- samplers: statistics vs hand formulas


def _tol(samples, k=5.0):
    return k * samples.std() / np.sqrt(samples.size)


def test_pert_moments_and_bounds():
    low, base, high = 1.0, 2.0, 7.0
    x = sample_pert(low, base, high, N, np.random.default_rng(1))
    mean = (low + 4 * base + high) / 6  # = 2.6667
    assert abs(x.mean() - mean) < _tol(x)
    # PERT (lamb=4) variance = (mean - low)(high - mean) / 7
    assert x.var() == pytest.approx((mean - low) * (high - mean) / 7, rel=0.02)
    assert low <= x.min() and x.max() <= high
    assert x.min() < low + 0.05 * (high - low) and x.max() > high - 0.3 * (high - low)
    # mode near base: the densest histogram bin contains base
    hist, edges = np.histogram(x, bins=30, range=(low, high))
    k = hist.argmax()
    assert edges[k] - 0.2 <= base <= edges[k + 1] + 0.2


def test_pert_lamb_changes_spread():
    rng = np.random.default_rng(2)
    narrow = sample_pert(0.0, 0.5, 1.0, N, rng, lamb=20.0)
    wide = sample_pert(0.0, 0.5, 1.0, N, rng, lamb=1.0)
    assert narrow.std() < wide.std()
    assert abs(narrow.mean() - 0.5) < _tol(narrow)
    with pytest.raises(ValueError, match="lamb"):
        sample_pert(0.0, 0.5, 1.0, 3, rng, lamb=0.0)


def test_triangular_moments_and_mode_cdf():
    low, base, high = 1.0, 2.0, 7.0
    x = sample_triangular(low, base, high, N, np.random.default_rng(3))
    assert abs(x.mean() - (low + base + high) / 3) < _tol(x)
    var = (low**2 + base**2 + high**2 - low * base - low * high - base * high) / 18
    assert x.var() == pytest.approx(var, rel=0.02)
    # CDF at the mode = (base - low) / (high - low) = 1/6
    frac = (x < base).mean()
    assert abs(frac - 1 / 6) < 5 * np.sqrt(1 / 6 * 5 / 6 / N)
    assert low <= x.min() and x.max() <= high


def test_pert_is_narrower_than_triangular():
    rng = np.random.default_rng(4)
    assert sample_pert(0, 1, 10, N, rng).std() < sample_triangular(0, 1, 10, N, rng).std()


@pytest.mark.parametrize("sampler", [sample_pert, sample_triangular])
def test_vectorised_shapes_and_degenerate(sampler):
    rng = np.random.default_rng(5)
    low = np.array([[0.0, 5.0, 2.5], [1.0, np.nan, -3.0]])
    base = np.array([[1.0, 5.0, 2.5], [1.0, np.nan, -2.0]])
    high = np.array([[2.0, 5.0, 2.5], [4.0, np.nan, -1.0]])
    x = sampler(low, base, high, 1000, rng)
    assert x.shape == (1000, 2, 3)
    assert (x[:, 0, 1] == 5.0).all() and (x[:, 0, 2] == 2.5).all()  # degenerate: base exactly
    assert np.isnan(x[:, 1, 1]).all()  # all-NaN element (value not published) stays NaN
    assert (x[:, 1, 0] >= 1.0).all() and (x[:, 1, 0] <= 4.0).all()  # low == base is fine
    assert (x[:, 1, 2] >= -3.0).all() and (x[:, 1, 2] <= -1.0).all()
    # broadcasting a scalar bound
    assert sampler(0.0, np.array([0.5, 1.0]), 1.0, 7, rng).shape == (7, 2)
    assert sampler(1.0, 2.0, 3.0, 0, rng).shape == (0,)


@pytest.mark.parametrize("sampler", [sample_pert, sample_triangular])
@pytest.mark.parametrize(
    "low, base, high, where",
    [
        (3.0, 2.0, 4.0, "low=3.0, base=2.0"),
        (1.0, 5.0, 4.0, "base=5.0, high=4.0"),
        ([1.0, 2.0], [2.0, np.nan], [3.0, 4.0], "index (1,)"),
    ],
)
def test_bad_bounds_raise(sampler, low, base, high, where):
    with pytest.raises(ValueError, match="need low <= base <= high") as err:
        sampler(low, base, high, 10, np.random.default_rng(0))
    assert where in str(err.value)


@pytest.mark.parametrize("size", [-1, 2.5, True, "3"])
def test_bad_size(size):
    with pytest.raises(ValueError, match="size"):
        sample_pert(0, 1, 2, size, np.random.default_rng(0))


@settings(max_examples=100, deadline=None)
@given(
    st.floats(-1e6, 1e6, allow_nan=False),
    st.floats(0, 1e6, allow_nan=False),
    st.floats(0, 1e6, allow_nan=False),
    st.integers(0, 2**32 - 1),
)
def test_samples_stay_within_bounds(low, up1, up2, seed):
    base, high = low + up1, low + up1 + up2
    rng = np.random.default_rng(seed)
    for sampler in (sample_pert, sample_triangular):
        x = sampler(low, base, high, 200, rng)
        assert np.isfinite(x).all()
        assert (x >= low).all() and (x <= high).all()
        if low == base == high:
            assert (x == base).all()


# ---------------------------------------------------------------- sample_inputs


def _spec():
    gens = ["h100", "mtia_t", "gb200"]
    price_base = xr.DataArray(
        [25e3, 8e3, 40e3],
        dims="generation",
        coords={"generation": gens},
        attrs={"units": "USD", "long_name": "unit price"},
    )
    tdp = xr.DataArray(
        [[700, 700, 700], [90, 170, 220], [1000, 1200, 1200]],
        dims=("generation", "bound"),
        coords={"generation": gens, "bound": ["low", "base", "high"]},
        attrs={"units": "W", "long_name": "thermal design power"},
    )
    return {
        "unit_price_usd": (price_base * 0.8, price_base, price_base * 1.5),
        "tdp_w": tdp,
        "pue": (1.08, 1.1, 1.3),
    }


def test_sample_inputs_shapes_coords_attrs_and_base_draw():
    out = sample_inputs(_spec(), draws=50, seed=7)
    assert list(out) == ["unit_price_usd", "tdp_w", "pue"]
    price = out["unit_price_usd"]
    assert price.dims == ("draw", "generation")
    assert price.sizes == {"draw": 50, "generation": 3}
    assert price["draw"].values.tolist() == list(range(50))
    assert price.generation.values.tolist() == ["h100", "mtia_t", "gb200"]
    assert price.attrs["units"] == "USD" and price.attrs["long_name"] == "unit price"
    assert "pert" in price.attrs["sampling"] and "draw 0 = base" in price.attrs["sampling"]
    assert out["tdp_w"].dims == ("draw", "generation") and "bound" not in out["tdp_w"].coords
    assert out["pue"].dims == ("draw",)
    # draw 0 is the base case exactly
    assert price.isel(draw=0).values.tolist() == [25e3, 8e3, 40e3]
    assert out["tdp_w"].isel(draw=0).values.tolist() == [700.0, 170.0, 1200.0]
    assert out["pue"].isel(draw=0).item() == 1.1
    # degenerate element (h100 tdp) is the base in every draw; others vary within bounds
    assert (out["tdp_w"].sel(generation="h100") == 700.0).all()
    assert out["tdp_w"].sel(generation="mtia_t").std() > 0
    assert float(price.sel(generation="h100").min()) >= 20e3 and float(price.sel(generation="h100").max()) <= 37.5e3


def test_sample_inputs_reproducible_and_order_independent():
    a = sample_inputs(_spec(), 30, seed=11)
    b = sample_inputs(dict(reversed(list(_spec().items()))), 30, seed=11)
    c = sample_inputs(_spec(), 30, seed=12)
    for name in a:
        xr.testing.assert_identical(a[name], b[name])
        assert not np.array_equal(a[name].values[1:], c[name].values[1:]) or name == "never"


def test_sample_inputs_without_base_and_triangular():
    out = sample_inputs(_spec(), 20_000, seed=3, method="triangular", include_base=False)
    price = out["unit_price_usd"].sel(generation="mtia_t")
    assert price.isel(draw=0).item() != 8e3
    assert abs(float(price.mean()) - (6.4e3 + 8e3 + 12e3) / 3) < _tol(price.values)
    assert "triangular" in out["pue"].attrs["sampling"]


def test_sample_inputs_pert_mean_per_element():
    out = sample_inputs(_spec(), 40_001, seed=5)
    price = out["unit_price_usd"].isel(draw=slice(1, None))
    for gen, base in [("h100", 25e3), ("mtia_t", 8e3), ("gb200", 40e3)]:
        x = price.sel(generation=gen).values
        assert abs(x.mean() - (0.8 * base + 4 * base + 1.5 * base) / 6) < _tol(x)
    # elements of one input are independent
    r = np.corrcoef(price.sel(generation="h100"), price.sel(generation="mtia_t"))[0, 1]
    assert abs(r) < 0.03


@pytest.mark.parametrize("rho", [0.8, -0.6, 0.3])
def test_correlation_achieved(rho):
    spec = _spec()
    draws = 8001
    out = sample_inputs(spec, draws, seed=21, correlations=[("unit_price_usd", "tdp_w", rho)])
    price = out["unit_price_usd"].isel(draw=slice(1, None))
    tdp = out["tdp_w"].isel(draw=slice(1, None))
    for gen in ("mtia_t", "gb200"):
        x, y = price.sel(generation=gen).values, tdp.sel(generation=gen).values
        rx, ry = np.argsort(np.argsort(x)), np.argsort(np.argsort(y))
        spearman = np.corrcoef(rx, ry)[0, 1]
        expected = 6 / np.pi * np.arcsin(rho / 2)  # rank correlation of a Gaussian copula
        assert abs(spearman - expected) < 0.04
        assert abs(expected - rho) < 0.02  # documented: rank correlation within 0.02 of rho
    # marginals untouched by the reordering: same multiset of values as without correlation
    plain = sample_inputs(spec, draws, seed=21)
    for name in ("unit_price_usd", "tdp_w", "pue"):
        np.testing.assert_array_equal(np.sort(out[name].values, axis=0), np.sort(plain[name].values, axis=0))
    # base draw untouched
    assert out["unit_price_usd"].isel(draw=0).values.tolist() == [25e3, 8e3, 40e3]


def test_three_way_correlation_and_invalid_matrix():
    base = xr.DataArray([1.0, 2.0], dims="site", coords={"site": ["a", "b"]})
    spec = {n: (base * 0.5, base, base * 2) for n in ("x", "y", "z")}
    out = sample_inputs(spec, 6001, 1, correlations=[("x", "y", 0.7), ("y", "z", 0.7), ("x", "z", 0.5)])
    r = np.corrcoef(out["x"].values[1:, 0], out["z"].values[1:, 0])[0, 1]
    assert abs(r - 0.5) < 0.06
    with pytest.raises(ValueError, match="valid correlation matrix"):
        sample_inputs(spec, 10, 1, correlations=[("x", "y", 0.9), ("y", "z", 0.9), ("x", "z", -0.9)])


@pytest.mark.parametrize(
    "correlations, message",
    [
        ([("unit_price_usd", "nope", 0.5)], "unknown input 'nope'"),
        ([("pue", "pue", 0.5)], "itself"),
        ([("unit_price_usd", "tdp_w", 1.5)], r"\[-1, 1\]"),
        ([("unit_price_usd", "pue", 0.5)], "same dims"),
        ([("unit_price_usd", "tdp_w", 0.5), ("tdp_w", "unit_price_usd", 0.1)], "twice"),
        ([("unit_price_usd", 0.5)], "expected"),
    ],
)
def test_correlation_errors(correlations, message):
    with pytest.raises(ValueError, match=message):
        sample_inputs(_spec(), 10, 0, correlations=correlations)


def test_sample_inputs_errors_name_the_input_and_element():
    spec = _spec()
    low, base, high = spec["unit_price_usd"]
    spec["unit_price_usd"] = (low, base, high.where(high.generation != "mtia_t", 1.0))
    with pytest.raises(ValueError, match=r"spec\['unit_price_usd'\].*generation='mtia_t'.*high=1.0"):
        sample_inputs(spec, 10, 0)
    with pytest.raises(ValueError, match="identical dims"):
        sample_inputs({"a": (base, base, 1.0)}, 10, 0)
    with pytest.raises(ValueError, match="coordinates differ"):
        sample_inputs({"a": (base, base.assign_coords(generation=["x", "y", "z"]), base)}, 10, 0)
    with pytest.raises(ValueError, match="'bound' dim"):
        sample_inputs({"a": base}, 10, 0)
    with pytest.raises(ValueError, match="method"):
        sample_inputs(_spec(), 10, 0, method="uniform")
    for draws in (0, 2.0, True):
        with pytest.raises(ValueError, match="draws"):
            sample_inputs(_spec(), draws, 0)
    with pytest.raises(ValueError, match="seed"):
        sample_inputs(_spec(), 10, 1.5)


def test_single_draw_is_base():
    out = sample_inputs(_spec(), 1, 0)
    assert out["pue"].values.tolist() == [1.1]


# ---------------------------------------------------------------- quantiles


def test_quantiles_golden_and_attrs():
    ens = xr.Dataset(
        {
            "capex_usd": (("draw", "quarter"), [[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [4.0, 40.0], [5.0, 50.0]],
                          {"units": "USD", "long_name": "capex"}),
            "static_w": (("quarter",), [7.0, 8.0], {"units": "W", "long_name": "static"}),
        },
        coords={"draw": range(5), "quarter": ["2026Q1", "2026Q2"]},
        attrs={"chipsuite_version": "x"},
    )
    q = quantiles(ens, q=(0.0, 0.25, 0.5, 1.0))
    # linear interpolation over 5 sorted values: q=0.25 -> position 1 -> 2.0
    np.testing.assert_array_equal(q.capex_usd.sel(quarter="2026Q1").values, [1.0, 2.0, 3.0, 5.0])
    np.testing.assert_array_equal(q.capex_usd.sel(quarter="2026Q2").values, [10.0, 20.0, 30.0, 50.0])
    assert q.capex_usd.attrs == {"units": "USD", "long_name": "capex"}
    assert q.static_w.values.tolist() == [7.0, 8.0]
    assert "draw" not in q.dims and q.attrs == {"chipsuite_version": "x"}
    assert q["quantile"].values.tolist() == [0.0, 0.25, 0.5, 1.0]
    # a DataArray works too; NaN draws propagate instead of being skipped
    da = ens.capex_usd.where(ens.draw != 2)
    assert np.isnan(quantiles(da).sel(quarter="2026Q1")).all()
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        quantiles(ens, q=(0.5, 1.5))
    with pytest.raises(ValueError, match="no variable has dim"):
        quantiles(ens.drop_dims("draw"))


def test_quantiles_of_sampled_inputs_and_dask():
    ds = xr.Dataset(sample_inputs(_spec(), 2001, seed=9))
    q = quantiles(ds)
    lazy = quantiles(ds.chunk({"draw": 500}))
    xr.testing.assert_allclose(q, lazy.compute())
    med = q.unit_price_usd.sel(quantile=0.5, generation="h100").item()
    assert 20e3 < med < 37.5e3
    assert q.unit_price_usd.attrs["units"] == "USD"


# ---------------------------------------------------------------- block seeding, draw ranges


def test_draw_range_reproduces_slices_across_blocks(monkeypatch):
    monkeypatch.setattr(chipsuite.uncertainty, "SAMPLING_BLOCK_DRAWS", 7)  # many blocks, cheaply
    corr = [("unit_price_usd", "tdp_w", 0.6)]
    full = sample_inputs(_spec(), 40, seed=4, correlations=corr)
    for start, stop in [(0, 1), (0, 9), (3, 17), (8, 9), (15, 40), (39, 40), (5, 5)]:
        part = sample_inputs(_spec(), 40, seed=4, correlations=corr, draw_range=(start, stop))
        for name in full:
            xr.testing.assert_identical(part[name], full[name].isel(draw=slice(start, stop)))
    # blocks are independent streams, not copies of one another
    price = full["unit_price_usd"].sel(generation="gb200").values
    assert not np.array_equal(price[1:8], price[8:15])
    with pytest.raises(ValueError, match="draw_range"):
        sample_inputs(_spec(), 40, seed=4, draw_range=(10, 41))
    with pytest.raises(ValueError, match="seed"):
        sample_inputs(_spec(), 10, seed=-1)


def test_block_rng_is_the_spawned_child():
    child = np.random.SeedSequence(12).spawn(3)[2]
    a = np.random.default_rng(child).random(4)
    b = chipsuite.uncertainty.block_rng(12, 2).random(4)
    np.testing.assert_array_equal(a, b)


def test_stream_rng_is_the_keyed_grandchild_and_stable_across_processes():
    import hashlib
    import subprocess
    import sys

    from chipsuite.sampling import _stream_key, stream_rng

    key = int.from_bytes(hashlib.blake2b(b"input:pue", digest_size=8).digest(), "little")
    assert _stream_key("input:pue") == key
    ref = np.random.default_rng(np.random.SeedSequence(12, spawn_key=(2, key))).random(4)
    np.testing.assert_array_equal(stream_rng(12, 2, "input:pue").random(4), ref)
    # a small key is literally a spawned child of block_rng's SeedSequence: (block, child index)
    small = np.random.SeedSequence(12, spawn_key=(2,)).spawn(4)[3]
    assert small.spawn_key == (2, 3)
    # hash() is salted per process; the stream must not be: same numbers under two PYTHONHASHSEEDs
    code = "from chipsuite.uncertainty import stream_rng; print(stream_rng(12, 2, 'input:pue').random(4).tolist())"
    for hashseed in ("1", "2"):
        env = {**__import__("os").environ, "PYTHONHASHSEED": hashseed}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        assert eval(out.stdout) == ref.tolist()


# ---------------------------------------------------------------- one stream per input


def test_same_triple_under_two_names_gives_two_streams():
    t = (1.0, 2.0, 4.0)
    out = sample_inputs({"a": t, "b": t}, 50, seed=0)
    assert not np.array_equal(out["a"].values[1:], out["b"].values[1:])
    # and the stream follows the name, not the position in the spec
    alone = sample_inputs({"b": t}, 50, seed=0)
    np.testing.assert_array_equal(alone["b"].values, out["b"].values)


def test_changing_one_triple_leaves_correlated_partners_unchanged(monkeypatch):
    """Copulas draw latent normals from their own streams: a partner keeps its draws when one input moves."""
    monkeypatch.setattr(chipsuite.uncertainty, "SAMPLING_BLOCK_DRAWS", 9)
    corr = [("unit_price_usd", "tdp_w", 0.6)]
    within = [("pue", "site", ["a", "b"], 0.5)]
    pue_low = xr.DataArray([1.05, 1.1, 1.2], dims="site", coords={"site": ["a", "b", "c"]})
    spec = {**_spec(), "pue": (pue_low, pue_low * 1.1, pue_low * 1.3), "x": (0.0, 1.0, 3.0)}
    full = sample_inputs(spec, 40, seed=3, correlations=corr, within=within)
    low, base, high = spec["unit_price_usd"]
    moved = sample_inputs({**spec, "unit_price_usd": (low, base * 1.2, high * 1.4)}, 40, seed=3,
                          correlations=corr, within=within)
    for name in ("tdp_w", "pue", "x"):
        xr.testing.assert_identical(moved[name], full[name])
    assert not np.array_equal(moved["unit_price_usd"].values, full["unit_price_usd"].values)
    # a subset holding whole copula groups samples exactly as the whole spec (attrs list only its copulas)
    part = sample_inputs({n: spec[n] for n in ("tdp_w", "unit_price_usd")}, 40, seed=3, correlations=corr)
    for name in part:
        np.testing.assert_array_equal(part[name].values, full[name].values)
    part = sample_inputs({n: spec[n] for n in ("pue", "x")}, 40, seed=3, within=within)
    for name in part:
        np.testing.assert_array_equal(part[name].values, full[name].values)


_NAMES = st.text(alphabet="abcdefgh_", min_size=1, max_size=6)


@st.composite
def _triples(draw):
    """A (low, base, high) triple: scalar or over a small 'k' dim, sometimes degenerate."""
    n = draw(st.sampled_from([None, 2, 3]))
    values = st.floats(-1e3, 1e3, allow_nan=False)
    widths = st.floats(0, 1e3, allow_nan=False)
    shape = () if n is None else (n,)
    low = np.array(draw(st.lists(values, min_size=max(n or 1, 1), max_size=max(n or 1, 1)))).reshape(shape)
    up1 = np.array(draw(st.lists(widths, min_size=max(n or 1, 1), max_size=max(n or 1, 1)))).reshape(shape)
    up2 = np.array(draw(st.lists(widths, min_size=max(n or 1, 1), max_size=max(n or 1, 1)))).reshape(shape)
    dims = () if n is None else ("k",)
    return tuple(xr.DataArray(v, dims=dims) for v in (low, low + up1, low + up1 + up2))


@settings(max_examples=80, deadline=None)
@given(st.dictionaries(_NAMES, _triples(), min_size=2, max_size=5), st.integers(1, 30), st.integers(0, 2**32 - 1),
       st.integers(1, 9), st.sampled_from(["pert", "triangular"]), st.booleans(), st.data())
def test_each_input_samples_independently_of_the_others(spec, draws, seed, block, method, include_base, data):
    """The point of per-input streams: a subset samples bit for bit as the whole spec, and moving
    one input's (low, base, high) changes no other input's draws (fails with one stream per block)."""
    names = sorted(spec)
    subset = data.draw(st.lists(st.sampled_from(names), min_size=1, unique=True))
    moved_name = data.draw(st.sampled_from(names))
    moved_triple = data.draw(_triples())
    kw = dict(draws=draws, seed=seed, method=method, include_base=include_base)
    saved = chipsuite.uncertainty.SAMPLING_BLOCK_DRAWS
    chipsuite.uncertainty.SAMPLING_BLOCK_DRAWS = block
    try:
        full = sample_inputs(spec, **kw)
        part = sample_inputs({n: spec[n] for n in subset}, **kw)
        moved = sample_inputs({**spec, moved_name: moved_triple}, **kw)
        moved_alone = sample_inputs({moved_name: moved_triple}, **kw)
    finally:
        chipsuite.uncertainty.SAMPLING_BLOCK_DRAWS = saved
    for name in subset:
        np.testing.assert_array_equal(part[name].values, full[name].values)
    for name in names:
        if name != moved_name:
            np.testing.assert_array_equal(moved[name].values, full[name].values)
    np.testing.assert_array_equal(moved[moved_name].values, moved_alone[moved_name].values)


# ---------------------------------------------------------------- correlation within one input


def test_within_input_correlation():
    spec = _spec()
    draws = 8001
    out = sample_inputs(spec, draws, seed=2, within=[("unit_price_usd", "generation", ["h100", "gb200"], 0.8)])
    price = out["unit_price_usd"].isel(draw=slice(1, None))
    rank = lambda x: np.argsort(np.argsort(x))  # noqa: E731
    r = np.corrcoef(rank(price.sel(generation="h100").values), rank(price.sel(generation="gb200").values))[0, 1]
    assert abs(r - 6 / np.pi * np.arcsin(0.8 / 2)) < 0.04
    r_free = np.corrcoef(rank(price.sel(generation="h100").values), rank(price.sel(generation="mtia_t").values))[0, 1]
    assert abs(r_free) < 0.04  # an element not listed stays independent
    plain = sample_inputs(spec, draws, seed=2)
    np.testing.assert_array_equal(np.sort(out["unit_price_usd"].values, axis=0),
                                  np.sort(plain["unit_price_usd"].values, axis=0))  # marginals untouched
    assert "correlated within" in out["unit_price_usd"].attrs["sampling"]


@pytest.mark.parametrize(
    "within, message",
    [
        ([("nope", "generation", ["h100", "gb200"], 0.5)], "unknown input"),
        ([("unit_price_usd", "site", ["a", "b"], 0.5)], "no dim 'site'"),
        ([("unit_price_usd", "generation", ["h100", "zz"], 0.5)], "no generation='zz'"),
        ([("unit_price_usd", "generation", ["h100"], 0.5)], "at least two"),
        ([("unit_price_usd", "generation", ["h100", "gb200"], -0.2)], r"\[0, 1\]"),
        ([("unit_price_usd", "generation", ["h100"])], "expected"),
    ],
)
def test_within_errors(within, message):
    with pytest.raises(ValueError, match=message):
        sample_inputs(_spec(), 10, 0, within=within)


def test_within_and_between_on_one_input_is_refused():
    with pytest.raises(ValueError, match="not both"):
        sample_inputs(_spec(), 10, 0, correlations=[("unit_price_usd", "tdp_w", 0.5)],
                      within=[("unit_price_usd", "generation", ["h100", "gb200"], 0.5)])


# ---------------------------------------------------------------- one-at-a-time / tornado


def _toy():
    """Toy model y = 10 a + b + 0.1 c + d_x + d_y (per quarter), hand-computable swings."""
    quarter = xr.DataArray(np.array(["2026-01-01", "2026-04-01"], dtype="datetime64[ns]"), dims="quarter")
    d = xr.DataArray([1.0, 2.0], dims="k", coords={"k": ["x", "y"]})
    spec = {
        "a": (xr.DataArray(1.0), xr.DataArray(2.0), xr.DataArray(5.0)),  # swing 10 * 4 = 40
        "b": (xr.DataArray(0.0), xr.DataArray(1.0), xr.DataArray(3.0)),  # swing 3
        "c": (xr.DataArray(-10.0), xr.DataArray(0.0), xr.DataArray(10.0)),  # swing 0.1 * 20 = 2
        "d": (d - 1.0, d, d + [0.5, 2.0]),  # elements: swings 1.5 and 3.0; whole input 4.5
        "e": (xr.DataArray(7.0), xr.DataArray(7.0), xr.DataArray(7.0)),  # no range: skipped
    }
    base = {n: t[1] for n, t in spec.items()}

    def evaluate(v):
        y = (10 * v["a"] + v["b"] + 0.1 * v["c"] + v["d"].sum("k") + 0 * v["e"]) * xr.ones_like(quarter, float)
        return xr.Dataset({"y": y.assign_coords(quarter=quarter).assign_attrs(units="USD")})

    return spec, base, evaluate


def test_one_at_a_time_golden_toy():
    spec, base, evaluate = _toy()
    result, cases = chipsuite.uncertainty.one_at_a_time(spec, base, evaluate)
    assert [c["input"] for c in cases] == ["a", "b", "c", "d"]
    y = result.y.isel(quarter=0).values
    assert y[0] == 20 + 1 + 0 + 3  # base
    # (low, high) per case, by hand
    assert y[1:].tolist() == [14.0, 54.0, 23.0, 26.0, 23.0, 25.0, 22.0, 26.5]
    result, cases = chipsuite.uncertainty.one_at_a_time(spec, base, evaluate, by="element")
    assert [c["input"] for c in cases][-2:] == ["d[k=x]", "d[k=y]"]
    assert result.y.isel(quarter=0).values[-4:].tolist() == [23.0, 24.5, 23.0, 26.0]
    assert cases[-1]["input_low"] == 1.0 and cases[-1]["input_high"] == 4.0


def test_tornado_ranks_dominant_input_first():
    from chipsuite import Scenario, tornado

    # a what-if far outside the assumptions range widens that parameter's range to [low, what-if]:
    # non-AI capex of 2022 at 1e12 USD/year dominates 2022 capex
    s = Scenario.default().replace(non_ai_capex_2022=1e12)
    table = tornado(s, "capex_usd", "2022Q3")
    assert list(table.columns[:5]) == ["input", "low_value", "high_value", "swing", "units"]
    top = table.iloc[0]
    assert top["input"] == "non_ai_capex_2022" and top["units"] == "USD" and top["input_units"] == "USD"
    assert top["input_high"] == 1e12
    # by hand: 2022 non-AI capex is spent evenly over 4 quarters, and headline capex adds finance-lease principal
    # in proportion to P&E -> swing = (high - low) / 4 x (1 + finance_lease_principal_ratio)
    ratio = Scenario.default().finance_lease_principal_ratio
    assert top["swing"] == pytest.approx((1e12 - top["input_low"]) / 4 * (1 + ratio), rel=1e-12)
    assert top["high_value"] == pytest.approx(top["base_value"], rel=1e-12)  # the scenario sits at high
    # the runner-up is the finance-lease ratio (principal in proportion to the huge P&E): 0.035 x its range
    assert table.iloc[1]["input"] == "finance_lease_principal_ratio"
    assert abs(table.iloc[1]["swing"]) < 0.05 * top["swing"]
    assert (np.diff(np.abs(table.swing.to_numpy())) <= 0).all()
    # the same swing from two full runs
    lo = chipsuite.run(s.replace(non_ai_capex_2022=top["input_low"]))
    q = np.datetime64("2022-07-01", "ns")
    assert top["low_value"] == pytest.approx(lo.capex_usd.sel(quarter=q).item(), rel=1e-12)


def test_tornado_selection_and_errors():
    from chipsuite import tornado

    t = tornado(None, "energy_mwh", "2027Q4", reduce="value", site="hyperion", by="element")
    assert t.input.str.contains(r"\[site=hyperion\]").any()
    assert not t.input.str.startswith("pue[site=prometheus]").iloc[:1].any()
    with pytest.raises(ValueError, match="single value"):
        tornado(None, "energy_mwh", "2027Q4", reduce="value")
    with pytest.raises(ValueError, match="not a model output"):
        tornado(None, "nope")
    with pytest.raises(ValueError, match="no site dim"):
        tornado(None, "capex_usd", "2026Q4", site="hyperion")
    with pytest.raises(ValueError, match="reduce"):
        tornado(None, "capex_usd", "2026Q4", reduce="mean")


# ---------------------------------------------------------------- sweep


def test_sweep_equals_per_point_runs():
    from chipsuite import Scenario, run, sweep

    s = Scenario.default()
    grid = {"useful_life": [4.0, 6.5], "utilisation": [0.5, 0.6, 0.8], "mtia_cadence": [2.0]}
    out = sweep(s, grid)
    assert out.capex_usd.dims == ("useful_life", "utilisation", "mtia_cadence", "quarter")
    assert out.useful_life.attrs["units"] == "years"
    for life in grid["useful_life"]:
        for util in grid["utilisation"]:
            ref = run(s.replace(useful_life=life, utilisation=util, mtia_cadence=2.0)).isel(draw=0, drop=True)
            point = out.sel(useful_life=life, utilisation=util, mtia_cadence=2.0, drop=True)
            for name in ("capex_usd", "units_installed", "energy_mwh", "emissions_tco2", "depreciation_usd"):
                xr.testing.assert_allclose(point[name], ref[name], rtol=1e-12, atol=0)
    # the sweep really varies: longer life -> more installed units at the end
    end = out.units_installed_total.isel(quarter=-1, utilisation=0, mtia_cadence=0)
    assert end.sel(useful_life=6.5) > end.sel(useful_life=4.0)


def test_sweep_errors():
    from chipsuite import ScenarioError, sweep

    with pytest.raises(ValueError, match="not a scenario parameter"):
        sweep(None, {"pue": [1.1]})
    with pytest.raises(ScenarioError, match="utilisation"):
        sweep(None, {"utilisation": [0.5, 1.5]})
    with pytest.raises(ValueError, match="repeated"):
        sweep(None, {"utilisation": [0.5, 0.5]})
    with pytest.raises(ValueError, match="at least one"):
        sweep(None, {})


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 60), st.integers(0, 2**32 - 1), st.integers(1, 9), st.data())
def test_any_draw_range_equals_the_slice(draws, seed, block, data):
    """Invariant behind chunked ensembles: sampling a range of draws == slicing the full ensemble."""
    start = data.draw(st.integers(0, draws))
    stop = data.draw(st.integers(start, draws))
    include_base = data.draw(st.booleans())
    saved = chipsuite.uncertainty.SAMPLING_BLOCK_DRAWS
    chipsuite.uncertainty.SAMPLING_BLOCK_DRAWS = block
    try:
        full = sample_inputs(_spec(), draws, seed, include_base=include_base,
                             within=[("unit_price_usd", "generation", ["h100", "gb200"], 0.5)])
        part = sample_inputs(_spec(), draws, seed, include_base=include_base, draw_range=(start, stop),
                             within=[("unit_price_usd", "generation", ["h100", "gb200"], 0.5)])
    finally:
        chipsuite.uncertainty.SAMPLING_BLOCK_DRAWS = saved
    for name in full:
        xr.testing.assert_identical(part[name], full[name].isel(draw=slice(start, stop)))


def test_tornado_of_emissions_sees_the_nuclear_delay_only_market_based():
    from chipsuite import Scenario, tornado

    # 2027Q4: a year's delay keeps Clinton (from 2027Q2) out and Vistra (from 2026Q4) just in; below full
    # matching the grid electricity that replaces them counts in the market-based figure
    s = Scenario.default().replace(renewable_matching_share=0.9)
    t = tornado(s, "emissions_market_tco2", "2027Q4").set_index("input")
    assert (t.low_value >= 0).all() and (t.high_value >= 0).all()
    delay = t.loc["nuclear_contract_delay_quarters"]
    assert delay.low_value == pytest.approx(delay.base_value, rel=1e-12)  # low = base = on time
    assert delay.high_value > delay.base_value
    # virtual PPAs: the location-based figures do not move
    loc = tornado(s, "emissions_tco2", "2027Q4").set_index("input").loc["nuclear_contract_delay_quarters"]
    assert loc.swing == 0.0


def test_tornado_reuses_its_model_pass_for_other_outputs_and_equals_a_fresh_pass(monkeypatch):
    import pandas as pd

    from chipsuite import Scenario, tornado
    from chipsuite.model import core

    passes = []
    evaluate = core.evaluate_model
    monkeypatch.setattr(core, "evaluate_model", lambda *a, **k: passes.append(1) or evaluate(*a, **k))
    chipsuite.uncertainty._TORNADO_RUNS.clear()
    s = Scenario.default().replace(utilisation=0.7)
    asks = [("capex_usd", "2027Q4", {}), ("mtia_share_h100e", "2027Q4", {}),
            ("energy_mwh", "2026Q4", {"reduce": "value", "site": "hyperion"}), ("capex_usd", None, {})]
    kept = [tornado(s, output, quarter, **kw) for output, quarter, kw in asks]
    assert len(passes) == 1
    for (output, quarter, kw), table in zip(asks, kept):
        chipsuite.uncertainty._TORNADO_RUNS.clear()
        fresh = tornado(s, output, quarter, **kw)
        pd.testing.assert_frame_equal(table, fresh)
        assert table.attrs == fresh.attrs
    assert len(passes) == 1 + len(asks)
    passes.clear()
    tornado(s.replace(utilisation=0.6), "capex_usd", "2027Q4")  # another scenario: a new pass
    tornado(s, "capex_usd", "2027Q4", by="element")  # another grouping: a new pass
    assert len(passes) == 2
