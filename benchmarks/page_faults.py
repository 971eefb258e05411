"""Minor page faults and wall time per formula-registry evaluation: numexpr fast path vs plain xarray.

Supports finding 12 of benchmarks/README.md. Run from the repository root::

    python benchmarks/page_faults.py [draws]      # default 10,000 draws, 5 interleaved rounds

Linux/macOS only (``resource.getrusage``). Prints the median time [ms] and the median count of
minor page faults per call of each path.
"""

import resource
import sys
import time

import numpy as np

from chipsuite.bench import plain_xarray_formulas, prepared_inputs
from chipsuite.formulas import evaluate_formulas, formula_inputs


def minor_faults():
    """Minor page faults of this process so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def measure(draws=10_000, rounds=5):
    """``{path: [(milliseconds, minor faults), ...]}`` over interleaved rounds."""
    full = prepared_inputs(draws)
    inputs = {name: full[name] for name in formula_inputs()}
    paths = {"numexpr": lambda: evaluate_formulas(inputs, "numexpr"),
             "plain xarray": lambda: plain_xarray_formulas(inputs)}
    for func in paths.values():  # warm-up: numexpr compiles, caches fill
        func()
    stats = {name: [] for name in paths}
    for _ in range(rounds):
        for name, func in paths.items():
            faults, start = minor_faults(), time.perf_counter()
            func()  # the result is dropped at once, as in the benchmark
            stats[name].append(((time.perf_counter() - start) * 1e3, minor_faults() - faults))
    return stats


if __name__ == "__main__":
    draws = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    for name, rows in measure(draws).items():
        ms, faults = np.median(np.array(rows), axis=0)
        print(f"{name:>12}: median {ms:.0f} ms, median minor page faults {faults:.0f} per call ({draws:,} draws)")
