"""Every explorer control, this checkout against another one: per-control p50/p95 and their ratio.

    python benchmarks/compare_controls.py OLD_CHECKOUT [--rounds 2] [--changes 10] [--only NB,...] [--json PATH]

Each round runs one child process per checkout (the order alternates between rounds, so a change
of machine load hits both alike); the child imports the chipsuite of its checkout and times
``explorer.set(control=value)`` then ``explorer.chart_spec()`` for every control of the notebooks'
explorers, at the notebooks' draws (the method of ``chipsuite.bench.bench_controls``, written out
here with the public explorer API only, so that it runs on older checkouts too). Prints, per
control, the p50 and p95 of all rounds pooled and new / old ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent.parent

CHILD = r'''
import json, sys, time
sys.path.insert(0, ".")
import numpy as np
import chipsuite
from chipsuite import widgets
from chipsuite.scenario import ScenarioError
assert chipsuite.__file__.startswith(sys.argv[1]), chipsuite.__file__
changes = int(sys.argv[2])
only = [n for n in sys.argv[3].split(",") if n] if len(sys.argv) > 3 else []
EXPLORERS = {"01_cadence": ("CadenceExplorer", 1), "02_capex": ("CapexExplorer", 1),
             "03_nvidia_dependence": ("DependenceExplorer", 1), "04_energy_sites": ("PowerExplorer", 1),
             "05_uncertainty": ("UncertaintyExplorer", 1000), "06_data_explorer": ("DataExplorer", 1)}
TEXT = {"metric": ["capex_usd / h100e_total", "energy_mwh * pue", "emissions_tco2 / 1e6", ""],
        "filter": ["h100", "mtia", "price", ""]}
def cycle(c, name):
    if c.kind == "slider":
        grid = list(np.round(np.arange(c.min, c.max + c.step / 2, c.step), 10))
        return grid + grid[-2:0:-1]
    return list(c.options) if c.kind == "select" else TEXT.get(name, ["a", "b", ""])
def tryset(app, name, value):
    try:
        app.set(**{name: value})
        return True
    except ScenarioError:
        return False
out = {}
for nb, (cls, draws) in EXPLORERS.items():
    if only and nb not in only:
        continue
    app = getattr(widgets, cls)(draws=draws) if cls != "DataExplorer" else getattr(widgets, cls)()
    app.chart_spec()
    default_view = app.values.get("view")
    for name, c in app.CONTROLS.items():  # warm-up
        values = cycle(c, name)
        tryset(app, name, next(v for v in values if v != app.values[name]))
        app.chart_spec()
    if default_view is not None:
        app.set(view=default_view)
    for name, c in app.CONTROLS.items():
        values, ms, i = cycle(c, name), [], 0
        start = values.index(app.values[name]) + 1 if app.values[name] in values else 0
        while len(ms) < changes and i < 10 * changes:
            value = values[(start + i) % len(values)]
            i += 1
            if value == app.values[name]:
                continue
            t0 = time.perf_counter()
            if not tryset(app, name, value):
                continue
            app.chart_spec()
            ms.append((time.perf_counter() - t0) * 1e3)
        if name == "view" and default_view is not None:
            app.set(view=default_view)
        out[f"{nb}/{name}"] = ms
print(json.dumps(out))
'''


def run_child(root, changes, only=()):
    proc = subprocess.run([sys.executable, "-c", CHILD, str(Path(root).resolve()), str(changes), ",".join(only)],
                          cwd=root, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ""})
    if proc.returncode != 0:
        raise RuntimeError(f"child in {root} failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def compare(roots, rounds=2, changes=10, only=()):
    """``roots``: {"old": path, "new": path}; returns per-control pooled p50/p95 and new / old ratios."""
    pooled = {label: {} for label in roots}
    labels = list(roots)
    for r in range(rounds):
        for label in (labels if r % 2 == 0 else labels[::-1]):
            for key, ms in run_child(roots[label], changes, only).items():
                pooled[label].setdefault(key, []).extend(ms)
    out = {}
    for key in pooled[labels[0]]:
        row = {}
        for label in labels:
            ms = np.array(pooled[label].get(key, [np.nan]))
            row[label] = {"p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)),
                          "changes": int(ms.size)}
        old, new = labels
        row["p50_ratio"] = row[new]["p50_ms"] / row[old]["p50_ms"]
        row["p95_ratio"] = row[new]["p95_ms"] / row[old]["p95_ms"]
        out[key] = row
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", help="the other checkout (e.g. a git worktree of an older commit)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--changes", type=int, default=10, help="timed changes per control per round")
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--only", default="", help="comma-separated notebooks, e.g. 04_energy_sites,05_uncertainty")
    args = parser.parse_args(argv)
    only = tuple(n for n in args.only.split(",") if n)
    out = compare({"old": args.old, "new": str(HERE)}, args.rounds, args.changes, only)
    print(f"{'control':<46} {'old p50':>8} {'new p50':>8} {'ratio':>6}   {'old p95':>8} {'new p95':>8} {'ratio':>6}")
    for key, row in out.items():
        print(f"{key:<46} {row['old']['p50_ms']:>8.0f} {row['new']['p50_ms']:>8.0f} {row['p50_ratio']:>6.2f}   "
              f"{row['old']['p95_ms']:>8.0f} {row['new']['p95_ms']:>8.0f} {row['p95_ratio']:>6.2f}")
    ratios = np.array([row["p95_ratio"] for row in out.values()])
    print(f"p95 ratio new / old: median {np.median(ratios):.2f}, range {ratios.min():.2f}-{ratios.max():.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
