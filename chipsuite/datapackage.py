"""The data tables as a Frictionless (Tabular) Data Package: ``data/datapackage.json``.

The descriptor is *generated* from :data:`chipsuite.schema.TABLES` (never written by hand):

    python -m chipsuite datapackage           # rewrite data/datapackage.json
    python -m chipsuite datapackage --check   # exit 1 if the committed file is out of date

Each table becomes a resource with a Table Schema: field types (``string``, ``number``,
``boolean``, ``date``, ``year``), constraints (``required``, ``enum``, ``pattern``,
``minimum``/``exclusiveMinimum`` from the table's ``value_floor``), the primary key and
foreign keys. Units: the ``unit`` column lists the units the schema allows; value columns
name it in ``unitColumn`` (and ``unit`` when a table allows only one). Foreign keys are
derived by one rule: a column with the name and cell rule of another table's one-column
primary key refers to that table (``generation`` -> ``chips``, ``site`` -> ``sites``). Rules the Table Schema
cannot express (a row's unit depending on its parameter, ``source_ids`` lists referring to
``sources``, required parameters per chip and site) stay with ``chipsuite.data.load_tables``,
which checks them all; the package lets R, spreadsheet and other users read and check the
tables with any Frictionless tool, e.g. ``frictionless validate data/datapackage.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

from . import schema as _schema

__all__ = ["DESCRIPTOR_NAME", "field_descriptor", "foreign_keys", "package_descriptor",
           "descriptor_text", "write_descriptor", "main"]

DESCRIPTOR_NAME = "datapackage.json"
#: Data Package v2 (needed for ``exclusiveMinimum``); Frictionless knows the profile, nothing is fetched
DATAPACKAGE_PROFILE = "https://datapackage.org/profiles/2.0/datapackage.json"
DATA_DIR = Path(__file__).resolve().parent.parent / "data"

_SOURCE_ID = r"S[1-9][0-9]*"
_URL = r"https?://\S+"

#: cell rule -> (Table Schema type, extra field properties, constraints)
_RULE_FIELDS = {
    _schema.IDENTIFIER: ("string", {}, {"required": True, "pattern": "[a-z0-9_]+"}),
    _schema.TEXT: ("string", {}, {}),
    _schema.REQUIRED_TEXT: ("string", {}, {"required": True, "pattern": r"[\s\S]*\S[\s\S]*"}),
    _schema.NUMBER: ("number", {}, {"required": True}),
    _schema.BOOL: ("boolean", {"trueValues": ["true"], "falseValues": ["false"]}, {"required": True}),
    _schema.DATE: ("date", {"format": "default"}, {"required": True}),
    _schema.SOURCE_DATE: ("string", {}, {"required": True, "pattern": r"([0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?|n\.d\.)"}),
    _schema.QUARTER: ("string", {}, {"required": True, "pattern": "[0-9]{4}Q[1-4]"}),
    _schema.YEAR: ("year", {}, {"required": True}),
    _schema.SOURCE_ID: ("string", {}, {"required": True, "pattern": _SOURCE_ID}),
    _schema.SOURCE_IDS: ("string", {"description": "source ids of sources.csv separated by ';' "
                                                   "(empty only on assumption rows)"},
                         {"pattern": f"{_SOURCE_ID}(;{_SOURCE_ID})*"}),
    _schema.URL: ("string", {"format": "uri"}, {"required": True, "pattern": _URL}),
    _schema.URLS: ("string", {"description": "URLs separated by ' ; '"},
                   {"pattern": f"{_URL}( ; {_URL})*"}),
    _schema.UNIT: ("string", {}, {"required": True}),
    # empty or a number; its range is a row rule of the table (checked by chipsuite.load_tables)
    _schema.OPTIONAL_NUMBER: ("number", {}, {}),
}
_VALUE_COLUMNS = ("low", "base", "high", "value")


def _allowed_units(table) -> list[str]:
    units = table.units
    if units is None:
        return list(_schema.UNITS)
    if isinstance(units, dict):
        return sorted({u for allowed in units.values() for u in allowed})
    return list(units)


def field_descriptor(table, column: str, rule) -> dict:
    """The Table Schema field of ``column`` (cell rule ``rule``) in ``table`` (a TableSchema)."""
    if isinstance(rule, tuple):  # ("enum", values)
        kind, extra, constraints = "string", {}, {"required": True, "enum": list(rule[1])}
    else:
        try:
            kind, extra, constraints = _RULE_FIELDS[rule]
        except KeyError:
            raise ValueError(f"{table.file}, column {column!r}: no Table Schema type for cell rule {rule!r}") from None
        constraints = dict(constraints)
    field = {"name": column, "type": kind, **extra}
    if rule == _schema.UNIT:
        constraints["enum"] = _allowed_units(table)
        if table.unit_by:
            field["description"] = f"unit of the value columns; allowed units depend on {table.unit_by!r}"
    if rule == _schema.NUMBER and column in _VALUE_COLUMNS:
        if table.value_floor == ">0":
            constraints["exclusiveMinimum"] = 0
        elif table.value_floor == ">=0":
            constraints["minimum"] = 0
        if "unit" in table.columns:
            field["unitColumn"] = "unit"
            units = _allowed_units(table)
            if len(units) == 1:
                field["unit"] = units[0]
    if constraints:
        field["constraints"] = constraints
    return field


def foreign_keys(table, tables) -> list[dict]:
    """Foreign keys of ``table``: a column with the name and cell rule of another table's
    one-column primary key (so ``chip_specs.parameter``, an enumeration of chip parameters,
    does not refer to ``assumptions.parameter``, an identifier)."""
    targets = {(t.key[0], repr(t.columns[t.key[0]])): t.name for t in tables.values()
               if len(t.key) == 1 and t.name != table.name}
    keys = []
    for column, rule in table.columns.items():
        target = targets.get((column, repr(rule)))
        if target is not None:
            keys.append({"fields": column, "reference": {"resource": target, "fields": column}})
    return keys


def resource_descriptor(table, tables) -> dict:
    """The resource (path, format, Table Schema) of one table."""
    table_schema = {
        "fields": [field_descriptor(table, column, rule) for column, rule in table.columns.items()],
        "primaryKey": list(table.key),
        "missingValues": [""],
    }
    keys = foreign_keys(table, tables)
    if keys:
        table_schema["foreignKeys"] = keys
    return {"name": table.name, "type": "table", "path": table.file, "format": "csv",
            "mediatype": "text/csv", "encoding": "utf-8", "schema": table_schema}


def package_descriptor(tables=None) -> dict:
    """The Data Package descriptor of ``tables`` (default :data:`chipsuite.schema.TABLES`)."""
    tables = _schema.TABLES if tables is None else tables
    return {
        "$schema": DATAPACKAGE_PROFILE,
        "name": "chipsuite-data",
        "title": "chipsuite: sourced tables on Meta's AI compute build-out",
        "description": ("Generated from chipsuite.schema.TABLES by `python -m chipsuite datapackage`; "
                        "do not edit by hand. Table contract and units: README.md in this folder. "
                        "Every row names its public sources (sources.csv) or is a labelled assumption."),
        "resources": [resource_descriptor(table, tables) for table in tables.values()],
    }


def descriptor_text(tables=None) -> str:
    """The descriptor as the JSON text written to ``data/datapackage.json``."""
    return json.dumps(package_descriptor(tables), indent=2, ensure_ascii=False) + "\n"


def write_descriptor(data_dir=None, tables=None) -> Path:
    """Write ``<data_dir>/datapackage.json`` (default: the repository's ``data/``); returns the Path."""
    path = Path(data_dir or DATA_DIR) / DESCRIPTOR_NAME
    path.write_text(descriptor_text(tables), encoding="utf-8")
    return path


def main(argv=None) -> int:
    """``python -m chipsuite datapackage [--check] [--data-dir DIR]``."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m chipsuite datapackage",
                                     description="Write data/datapackage.json from chipsuite.schema.TABLES.")
    parser.add_argument("--data-dir", default=str(DATA_DIR), help=f"data folder (default: {DATA_DIR})")
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if the file differs from the generated descriptor")
    args = parser.parse_args(argv)
    path = Path(args.data_dir) / DESCRIPTOR_NAME
    if args.check:
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != descriptor_text():
            print(f"{path} is out of date: run python -m chipsuite datapackage", file=sys.stderr)
            return 1
        print(f"{path} is up to date")
        return 0
    print(f"wrote {write_descriptor(args.data_dir)}")
    return 0
