"""data/datapackage.json: generated from chipsuite.schema.TABLES, committed in step, and valid
for the frictionless library on the real tables (and invalid on broken ones)."""

import csv
import json
import shutil
from pathlib import Path

import pytest

from chipsuite import datapackage, schema
from chipsuite.__main__ import main as cli_main

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "data"


def test_committed_descriptor_equals_the_generated_one():
    committed = (DATA / "datapackage.json").read_text(encoding="utf-8")
    assert committed == datapackage.descriptor_text(), (
        "data/datapackage.json is out of date with chipsuite.schema.TABLES: run python -m chipsuite datapackage")


def test_every_table_and_every_csv_is_a_resource():
    resources = json.loads(datapackage.descriptor_text())["resources"]
    assert [r["name"] for r in resources] == list(schema.TABLES)
    assert sorted(r["path"] for r in resources) == sorted(p.name for p in DATA.glob("*.csv"))
    for r in resources:
        table = schema.TABLES[r["name"]]
        assert [f["name"] for f in r["schema"]["fields"]] == list(table.columns)
        assert r["schema"]["primaryKey"] == list(table.key)


def test_field_types_units_and_constraints_by_hand():
    fields = {r["name"]: {f["name"]: f for f in r["schema"]["fields"]}
              for r in json.loads(datapackage.descriptor_text())["resources"]}
    capacity = fields["site_capacity"]
    assert capacity["base"] == {"name": "base", "type": "number", "unitColumn": "unit", "unit": "MW",
                                "constraints": {"required": True, "minimum": 0}}
    assert capacity["unit"]["constraints"] == {"required": True, "enum": ["MW"]}
    specs = fields["chip_specs"]
    assert specs["low"]["constraints"]["exclusiveMinimum"] == 0 and "unit" not in specs["low"]
    allowed = set(specs["unit"]["constraints"]["enum"])
    assert {"W", "TFLOPS", "GB", "TB/s", "USD"} <= allowed and not {"MW", "USD bn", "gCO2/kWh"} & allowed
    assert fields["chips"]["in_meta_fleet"]["type"] == "boolean"
    assert fields["chips"]["announced"]["type"] == "date"
    assert fields["capex_annual"]["year"]["type"] == "year"
    assert "minimum" not in fields["assumptions"]["base"].get("constraints", {})  # any finite number
    assert fields["sites"]["site"]["constraints"]["enum"] == list(schema.SITES)


def test_foreign_keys_are_those_load_tables_checks():
    # the generation/site references of chipsuite.schema.check_cross_references and
    # check_energy_cross_references, listed by hand (energy_contracts.site may also be "fleet": no key)
    expected = {("chip_specs", "generation", "chips"), ("chip_workloads", "generation", "chips"),
                ("site_params", "site", "sites"), ("site_capacity", "site", "sites"),
                ("site_power_plans", "site", "sites")}
    found = {(r["name"], fk["fields"], fk["reference"]["resource"])
             for r in json.loads(datapackage.descriptor_text())["resources"]
             for fk in r["schema"].get("foreignKeys", [])}
    assert found == expected


def validate(folder):
    import frictionless

    return frictionless.validate(str(folder / "datapackage.json"))


def test_real_tables_validate_with_frictionless():
    report = validate(DATA)
    errors = [(t.name, e.message) for t in report.tasks for e in t.errors] + [e.message for e in report.errors]
    assert report.valid, errors[:10]
    assert len(report.tasks) == len(schema.TABLES)


def break_first_row(path, column, value):
    """Rewrite ``path`` (a CSV table) with ``column`` of its first data row set to ``value``."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    rows[1][rows[0].index(column)] = value
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


@pytest.mark.parametrize("table, column, value, error", [
    ("chip_specs", "generation", "h999", "foreign-key"),      # not in chips.csv
    ("site_capacity", "low", "-1", "constraint-error"),       # below the table's floor of 0
    ("chips", "in_meta_fleet", "yes", "type-error"),          # true/false only
    ("chip_specs", "unit", "kW", "constraint-error"),         # not an allowed unit
    ("chips", "generation", "", "constraint-error"),          # required
])
def test_broken_tables_do_not_validate(tmp_path, table, column, value, error):
    folder = tmp_path / "data"
    shutil.copytree(DATA, folder)
    assert validate(folder).valid
    break_first_row(folder / f"{table}.csv", column, value)
    report = validate(folder)
    assert not report.valid
    assert error in {e.type for t in report.tasks for e in t.errors}


def test_cli_check_and_write(tmp_path, capsys):
    assert cli_main(["datapackage", "--check"]) == 0
    assert cli_main(["datapackage", "--data-dir", str(tmp_path), "--check"]) == 1
    assert "out of date" in capsys.readouterr().err
    assert cli_main(["datapackage", "--data-dir", str(tmp_path)]) == 0
    assert (tmp_path / "datapackage.json").read_text() == datapackage.descriptor_text()
