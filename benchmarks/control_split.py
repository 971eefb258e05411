"""Per slider control: how much of a change is the model run and how much the explorer's chart.

    python benchmarks/control_split.py [--changes 8]

For every parameter control of the notebooks' explorers (``chipsuite.bench.NOTEBOOK_EXPLORERS``,
at their draws; 06 has none), ``explorer.set(control=value)``, then ``explorer.result`` (the model
run, timed), then ``explorer.chart_spec()`` (timed: frames, chart spec; for 04 also the other
build's run). Prints the median of each per control. Figures, not a test; the machine's load
shapes them (say it with the numbers).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chipsuite import bench, widgets  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=8)
    args = parser.parse_args(argv)
    for notebook, (cls, draws) in bench.NOTEBOOK_EXPLORERS.items():
        if cls == "DataExplorer":
            continue
        app = getattr(widgets, cls)(draws=draws)
        app.chart_spec()
        for name, control in app.CONTROLS.items():
            if control.param is None:
                continue
            model, rest = [], []
            for value in bench.control_values(control, name, args.changes + 1, app.values.get(name))[1:]:
                if not bench._try_set(app, name, value):
                    continue
                t0 = time.perf_counter()
                app.result
                t1 = time.perf_counter()
                app.chart_spec()
                t2 = time.perf_counter()
                model.append((t1 - t0) * 1e3)
                rest.append((t2 - t1) * 1e3)
            print(f"{notebook}/{name}: model {np.median(model):.0f} ms, rest {np.median(rest):.0f} ms (medians)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
