"""``run(draws=1)`` and ``ModelCache.run`` per change: this checkout against others, in alternating child processes.

    python benchmarks/run_overhead.py /tmp/old_chipsuite [more checkouts] [--rounds 3] [--modes run1 cadence util]

Each round runs, for every mode and checkout in turn, a fresh child process (this interpreter,
``PYTHONPATH`` set to the checkout, so each imports its own ``chipsuite`` and ``data/``) that times
25 calls after 2 warm-ups and prints min and median [ms]. Modes: ``run1`` = ``chipsuite.run(draws=1)``
of the base case; ``cadence`` = ``ModelCache.run`` after a change of ``mtia_cadence`` (01's
``cadence_months`` slider: the full path, fleet stage included); ``util`` = ``ModelCache.run`` after a
change of ``utilisation`` (the formulas-only fast path). The load average is printed before and
after: figures, not a test; say the load with them.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import statistics, sys, time
import chipsuite
from chipsuite.model import ModelCache
mode, s = sys.argv[1], chipsuite.Scenario.default()
if mode == "run1":
    def f(i):
        chipsuite.run(s, draws=1)
else:
    cache = ModelCache()
    cache.run(s)
    name, values = {"cadence": ("mtia_cadence", [4.0, 2.0, 5.0, 3.0, 6.0, 1.0]),
                    "util": ("utilisation", [0.5, 0.6, 0.8, 0.75])}[mode]
    scenarios = [s.replace(**{name: v}) for v in values]
    def f(i):
        cache.run(scenarios[i % len(scenarios)], draws=1)
times = []
for i in range(27):
    t0 = time.perf_counter()
    f(i)
    if i >= 2:
        times.append((time.perf_counter() - t0) * 1e3)
print(f"min {min(times):.1f} median {statistics.median(times):.1f} ms")
"""


def _load():
    return "load average %.2f %.2f %.2f" % os.getloadavg()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("others", nargs="+", help="other checkouts (folders holding chipsuite/ and data/)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--modes", nargs="+", default=["run1", "cadence", "util"])
    args = parser.parse_args(argv)
    trees = [str(Path(__file__).resolve().parent.parent)] + [str(Path(p).resolve()) for p in args.others]
    print(_load())
    for _ in range(args.rounds):
        for mode in args.modes:
            for tree in trees:
                env = {**os.environ, "PYTHONPATH": tree}
                out = subprocess.run([sys.executable, "-c", CHILD, mode], env=env, cwd=tree, check=True,
                                     capture_output=True, text=True).stdout.strip()
                label = "this checkout" if tree == trees[0] else tree
                print(f"{mode:8s} {label}: {out}")
    print(_load())
    return 0


if __name__ == "__main__":
    sys.exit(main())
