"""Command line: ``python -m chipsuite report ...``, ``bench ...`` and ``datapackage ...``."""

from __future__ import annotations

import importlib
import sys

USAGE = """usage: python -m chipsuite {report,bench,datapackage} [options]

subcommands:
  report       execute the notebooks in report mode and write offline HTML reports
               (python -m chipsuite report --help)
  bench        run the performance benchmarks (python -m chipsuite bench --help)
  datapackage  write data/datapackage.json from chipsuite.schema.TABLES (--check: verify it)
"""


def _bench(argv) -> int:
    try:
        bench = importlib.import_module("chipsuite.bench")
    except ModuleNotFoundError as err:
        if err.name != "chipsuite.bench":
            raise
        print("chipsuite bench: chipsuite/bench.py is not available in this checkout "
              "(the benchmark module has not been written yet)", file=sys.stderr)
        return 2
    return bench.main(argv) or 0


def _report(argv) -> int:
    from chipsuite import report

    return report.main(argv)


def _datapackage(argv) -> int:
    from chipsuite import datapackage

    return datapackage.main(argv)


SUBCOMMANDS = {"report": _report, "bench": _bench, "datapackage": _datapackage}


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, end="")
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command not in SUBCOMMANDS:
        print(f"python -m chipsuite: unknown subcommand {command!r}\n{USAGE}", end="", file=sys.stderr)
        return 2
    return SUBCOMMANDS[command](rest)


if __name__ == "__main__":
    sys.exit(main())
