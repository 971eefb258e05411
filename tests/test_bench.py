"""python -m chipsuite bench: the JSON it writes (keys, types, sanity), never timings against targets.

The benchmark's figures depend on the machine; these tests check that the command runs end to end,
that it reports every figure the benchmarks document promises, and that the figures are sane
(positive, finite, internally consistent). No test asserts a speed.
"""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from chipsuite import bench
from chipsuite import formulas

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    path = tmp_path_factory.mktemp("bench") / "bench.json"
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    proc = subprocess.run([sys.executable, "-m", "chipsuite", "bench", "--quick", "--json", str(path)],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(path.read_text()), proc.stdout


def _positive(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x > 0


@pytest.mark.slow  # runs the quick benchmark (about a minute)
def test_quick_json_has_every_headline_figure(quick):
    out, _ = quick
    for key in ("numexpr_speedup", "bandwidth_fraction", "interactive_p95_ms", "interactive_p50_ms",
                "scale_peak_rss_mb", "scale_seconds", "copy_bandwidth_gb_per_s", "stream_bandwidth_gb_per_s",
                "stream_fraction", "run_draws1_ms"):
        assert _positive(out[key]), (key, out[key])
    assert out["quick"] is True
    assert out["results_equal"] is True
    assert out["interactive_p50_ms"] <= out["interactive_p95_ms"]
    r = out["run_draws1"]
    assert out["run_draws1_ms"] == r["median_ms"] <= r["p95_ms"]
    assert r["repeats"] == bench.QUICK["run_repeats"] and "run_draws1_compare" not in out
    assert out["stream_fraction"] == pytest.approx(out["stream_bandwidth_gb_per_s"] / out["copy_bandwidth_gb_per_s"])
    assert out["interactive"]["model_paths"] == {"fast": out["interactive"]["changes"]}  # every change incremental
    assert out["interactive_fleet"]["model_paths"] == {"full": out["interactive_fleet"]["changes"]}
    assert set(out["targets"]) == set(bench.TARGETS) >= {"numexpr_speedup", "bandwidth_fraction",
                                                         "interactive_p95_ms", "scale_peak_rss_mb"}
    for t in out["targets"].values():
        assert t["status"].startswith(("met", "NOT met", "not measured"))
        assert t["ratio_to_target"] is None or _positive(t["ratio_to_target"])


@pytest.mark.slow  # runs the quick benchmark (about a minute)
def test_quick_json_every_control_and_sobol(quick):
    out, stdout = quick
    from chipsuite import widgets

    controls = out["controls"]
    expected = {f"{nb}/{name}" for nb, (cls, _) in bench.NOTEBOOK_EXPLORERS.items()
                for name in getattr(widgets, cls).CONTROLS}
    assert set(controls) == expected  # every control of every explorer
    for key, c in controls.items():
        assert c["changes"] == bench.QUICK["control_changes"], key
        assert 0 < c["p50_ms"] <= c["p95_ms"] <= c["max_ms"], key
        assert c["draws"] == bench.NOTEBOOK_EXPLORERS[key.split("/")[0]][1]
    slow_notebook = max((v["p95_ms"] for v in controls.values() if v["draws"] < 1_000))
    assert out["controls_p95_ms"] == slow_notebook and out["controls_slowest"] in controls
    assert out["controls_1000_draws_p95_ms"] == max(v["p95_ms"] for v in controls.values() if v["draws"] >= 1_000)
    so = out["sobol"]
    assert so["n"] == bench.QUICK["sobol_n"] and so["evaluations"] == so["n"] * (so["inputs"] + 2)
    assert _positive(so["seconds"]) and so["seconds_at_1024"] == pytest.approx(so["seconds"] * 1024 / so["n"])
    assert out["sobol_seconds"] is None  # quick: n < 1,024, reported as not measured
    assert out["targets"]["sobol_seconds"]["status"].startswith("not measured")
    assert "3c. every control" in stdout and "Sobol'" in stdout


@pytest.mark.slow  # runs the quick benchmark (about a minute)
def test_quick_json_machine_and_versions(quick):
    out, _ = quick
    m = out["machine"]
    assert isinstance(m["cores"], int) and m["cores"] >= 1
    assert isinstance(m["numexpr_threads"], int) and m["numexpr_threads"] >= 1
    assert isinstance(m["cpu_model"], str)
    assert m["total_memory_mb"] > 0
    assert len(m["load_average_1_5_15"]) == 3
    import chipsuite

    assert set(out["versions"]) >= {"python", "numpy", "numexpr", "xarray", "dask", "chipsuite"}
    assert out["versions"]["chipsuite"] == chipsuite.__version__
    assert all(isinstance(v, str) and v for v in out["versions"].values())


@pytest.mark.slow  # runs the quick benchmark (about a minute)
def test_quick_json_per_size_rows_are_consistent(quick):
    out, _ = quick
    rows = out["sizes"]
    assert [r["draws"] for r in rows] == [1_000, 10_000]
    for r in rows:
        for key in ("numexpr_s", "plain_xarray_s", "numpy_engine_s", "numexpr_gb_per_s", "bandwidth_fraction"):
            assert _positive(r[key]), (r["draws"], key)
        assert r["repeats"] >= 3
        assert r["speedup"] == pytest.approx(r["plain_xarray_s"] / r["numexpr_s"])
        assert r["equal"] is True and r["missing_outputs"] == []
        assert 0 <= r["max_elementwise_relative_difference"] <= bench.EQUAL_RTOL
        assert 0 <= r["max_normwise_relative_difference"] <= bench.EQUAL_RTOL
        assert r["outputs"] == len(formulas.FORMULAS)
        # bytes scale with draws: at least one float64 per draw per output
        assert r["bytes_written"] >= 8 * r["draws"] * r["outputs"]
        assert r["numexpr_gb_per_s"] == pytest.approx((r["bytes_read"] + r["bytes_written"]) / r["numexpr_s"] / 1e9)
    assert out["numexpr_speedup"] == rows[1]["speedup"]
    assert out["bandwidth_fraction"] == pytest.approx(rows[-1]["bandwidth_fraction"])
    assert rows[1]["bytes_read"] > rows[0]["bytes_read"]


@pytest.mark.slow  # runs the quick benchmark (about a minute)
def test_quick_json_interactive_and_scale(quick):
    out, stdout = quick
    i = out["interactive"]
    assert i["draws"] == 1_000 and i["changes"] >= 10
    s = out["scale"]
    assert "error" not in s, s
    assert s["draws"] == bench.QUICK["scale_draws"] and s["chunk_draws"] < s["draws"]
    assert s["results_finite"] is True
    assert s["peak_rss_mb"] >= s["sampled_peak_rss_mb"] > s["rss_before_mb"] > 0
    assert _positive(s["throughput_ratio"])
    assert s["cells_per_s"] == pytest.approx(s["draws"] * s["cells_per_draw"] / s["seconds"])
    assert "QUICK" in stdout and "targets:" in stdout


# ------------------------------------------------------------------ helpers, by hand


def test_relative_difference_by_hand():
    a = xr.DataArray([1.0, 100.0, 0.0, np.nan], dims="x")
    b = xr.DataArray([1.0 + 1e-9, 100.0, 0.0, np.nan], dims="x")
    elem, norm = bench.relative_difference(a, b)
    assert elem == pytest.approx(1e-9 / (1 + 1e-9))
    assert norm == pytest.approx(1e-9 / 100.0)
    # NaN in different places is never equal
    c = xr.DataArray([1.0, 100.0, np.nan, np.nan], dims="x")
    assert bench.relative_difference(a, c) == (math.inf, math.inf)
    # dim order does not matter
    m = xr.DataArray(np.arange(6.0).reshape(2, 3), dims=("p", "q"))
    assert bench.relative_difference(m, m.transpose()) == (0.0, 0.0)


def test_counted_bytes_by_hand():
    inputs = {"a": xr.DataArray(np.zeros((10, 3))), "k": 4.0}
    outputs = {"o": xr.DataArray(np.zeros(10))}
    assert bench.counted_bytes(inputs, outputs) == (10 * 3 * 8 + 8, 10 * 8)


@pytest.fixture(scope="module")
def small_inputs():
    """Formula inputs of 40 sampled draws (draw 0 is the base case)."""
    return {k: v for k, v in bench.prepared_inputs(40, seed=3).items() if k in formulas.formula_inputs()}


def _baseline_problems(plain, reference, rtol=bench.EQUAL_RTOL):
    """What is wrong with a baseline result against the registry's: missing, extra, out of order, differing."""
    problems = [f"missing {n}" for n in reference if n not in plain]
    problems += [f"not in the registry {n}" for n in plain if n not in reference]
    if not problems and list(plain) != list(reference):
        problems.append("not in registry order")
    for name in reference:
        if name in plain:
            elem, _ = bench.relative_difference(reference[name], plain[name])
            if not elem <= rtol:
                problems.append(f"{name} differs by {elem:.3g}")
    return problems


@pytest.mark.parametrize("engine", ["numexpr", "numpy"])
def test_plain_xarray_baseline_matches_every_formula(small_inputs, engine):
    """The baseline is the same model: every formula, in registry order, equal to EQUAL_RTOL in every element."""
    plain = bench.plain_xarray_formulas(small_inputs)
    assert set(plain) == set(formulas.FORMULAS)
    reference = formulas.evaluate_formulas(small_inputs, engine=engine)
    assert _baseline_problems(plain, reference) == []


def test_baseline_check_catches_a_missing_or_differing_formula(small_inputs):
    """The check above can fail: a dropped formula, a last-digit change and a swapped order are each caught."""
    reference = formulas.evaluate_formulas(small_inputs, engine="numexpr")
    plain = bench.plain_xarray_formulas(small_inputs)
    dropped = {k: v for k, v in plain.items() if k != "capex_usd"}
    assert _baseline_problems(dropped, reference) == ["missing capex_usd"]
    nudged = dict(plain, hhi=plain["hhi"] * (1 + 1e-9))
    assert [p.split()[0] for p in _baseline_problems(nudged, reference)] == ["hhi"]
    swapped = dict(reversed(list(plain.items())))
    assert _baseline_problems(swapped, reference) == ["not in registry order"]


def test_baseline_inputs_exercise_both_time_reductions(small_inputs):
    """The inputs make paid_over and depreciation matter, so the comparison covers them."""
    out = formulas.evaluate_formulas(small_inputs, engine="numexpr")
    value, paid = out["accelerator_value_usd"], out["accelerator_capex_usd"]
    assert float(value.sum()) > 0 and not np.allclose(paid.values, value.values)
    assert float(small_inputs["payment_share_before"].max()) > 0 and float(small_inputs["payment_share_after"].max()) > 0
    assert float(out["it_depreciation_usd"].max()) > 0 and float(out["non_ai_depreciation_usd"].max()) > 0
    # the two reductions change the quarter profile, not only a scale
    assert not np.allclose(out["it_depreciation_usd"].values, out["it_capex_usd"].values)


def test_registry_shares_are_fractions(small_inputs):
    """Every share, fraction and index of the registry (units "1") lies in [0, 1] on sampled draws.

    (Model v2 first divided only the last term of a two-term numerator, ``a + b / total``: the shares
    incl. rented capacity were 4e4 to 7e10.)"""
    out = formulas.evaluate_formulas(small_inputs, engine="numexpr")
    shares = [n for n, f in formulas.FORMULAS.items() if f.units == "1"]  # shares, fractions, hhi, price factor
    assert "nvidia_share_h100e_incl_rented" in shares
    bad = {n: float(out[n].max()) for n in shares if not (0 <= float(out[n].min()) and float(out[n].max()) <= 1 + 1e-12)}
    assert bad == {}


def test_run_draws1_by_hand():
    r = bench.bench_run_draws1(3)
    assert r["repeats"] == 3 and r["draws"] == 1
    assert 0 < r["min_ms"] <= r["median_ms"] <= r["p95_ms"]
    assert _positive(r["prepare_median_ms"]) and _positive(r["formulas_median_ms"])
    assert 0 < r["formulas_fraction"] < 2 and 0 < r["prepare_fraction"] < 2


@pytest.mark.slow  # four child processes, each imports chipsuite and runs the model
def test_compare_run_draws1_imports_each_checkout():
    c = bench.compare_run_draws1({"a": str(ROOT), "b": str(ROOT)}, rounds=2, calls=2)
    assert c["a"]["root"] == c["b"]["root"] == str(ROOT)
    assert c["a"]["calls"] == c["b"]["calls"] == 4
    assert len(c["round_ratios"]) == 2 and c["ratio_of"] == "b / a"
    assert c["ratio"] == pytest.approx(c["b"]["median_ms"] / c["a"]["median_ms"])
    with pytest.raises(RuntimeError):
        bench.compare_run_draws1({"a": str(ROOT / "benchmarks")}, rounds=1, calls=1)  # no chipsuite there


def test_numexpr_fast_path_is_identical_to_per_formula_path(monkeypatch):
    """The draw-last numexpr path (a performance change) gives the per-formula path's results exactly."""
    inputs = {k: v for k, v in bench.prepared_inputs(700, seed=5).items() if k in formulas.formula_inputs()}
    fast = formulas.evaluate_formulas(inputs, engine="numexpr")
    monkeypatch.setattr(formulas, "_evaluate_numexpr_fast", lambda *a, **k: None)
    slow = formulas.evaluate_formulas(inputs, engine="numexpr")
    assert list(fast) == list(slow)
    for name in slow:
        xr.testing.assert_identical(fast[name], slow[name])
        assert fast[name].dims[0] == "draw" or "draw" not in fast[name].dims, name


def test_numexpr_fast_path_skips_nan_in_sums_like_xarray():
    inputs = {k: v for k, v in bench.prepared_inputs(5, seed=1).items() if k in formulas.formula_inputs()}
    units = inputs["units_installed"].copy()
    units[1, 2, 3] = np.nan
    inputs["units_installed"] = units
    out = formulas.evaluate_formulas(inputs, engine="numexpr")
    ref = formulas.evaluate_formulas(inputs, engine="numpy")
    total = out["units_installed_total"]
    assert np.isfinite(total.values).all()
    np.testing.assert_allclose(total.values, ref["units_installed_total"].values, rtol=1e-12)
    np.testing.assert_allclose(total.isel(draw=1, quarter=3).item(),
                               np.nansum(units.isel(draw=1, quarter=3).values), rtol=1e-12)


def test_control_values_alternate_and_cover_the_range():
    from chipsuite.explorers.base import Control

    slider = Control("slider", "x", min=0.0, max=1.0, step=0.25)
    values = bench.control_values(slider, "x", 12, current=0.5)
    assert len(values) == 12 and values[0] != 0.5
    assert all(a != b for a, b in zip(values, values[1:]))  # no change repeats the previous value
    assert set(values) == {0.0, 0.25, 0.5, 0.75, 1.0}
    select = Control("select", "view", default="a", options=("a", "b", "c"))
    assert bench.control_values(select, "view", 4, current="a") == ["b", "c", "a", "b"]
    text = bench.control_values(Control("text", "metric"), "metric", 5, current="")
    assert text[0] != "" and all(a != b for a, b in zip(text, text[1:]))
    with pytest.raises(ValueError, match="fewer than two"):
        bench.control_values(Control("select", "one", options=("only",)), "one", 3)


def test_bench_controls_by_hand():
    out = bench.bench_controls(2, explorers={"04_energy_sites": ("EnergyExplorer", 1)})
    from chipsuite import widgets

    assert set(out) == {f"04_energy_sites/{n}" for n in widgets.EnergyExplorer.CONTROLS}
    for c in out.values():
        assert c["changes"] == 2 and 0 < c["p50_ms"] <= c["p95_ms"] <= c["max_ms"]


def test_notebook_explorers_are_the_ones_the_notebooks_use():
    """The controls benchmark times, per notebook, the explorer class that notebook shows."""
    import json
    import re
    from pathlib import Path

    notebooks = Path(__file__).resolve().parent.parent / "notebooks"
    for notebook, (cls_name, _) in bench.NOTEBOOK_EXPLORERS.items():
        nb = json.loads((notebooks / f"{notebook}.ipynb").read_text())
        code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
        used = set(re.findall(r"widgets\.(\w+Explorer)\(", code))
        assert used == {cls_name}, (notebook, used)
