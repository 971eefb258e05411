"""Scenario: defaults from assumptions.csv, validation, JSON round-trip, diff."""

import csv
import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chipsuite
from chipsuite.scenario import PARAMETERS, Scenario, ScenarioError

ASSUMPTIONS = Path(__file__).resolve().parent.parent / "data" / "assumptions.csv"


def test_exports():
    assert chipsuite.Scenario is Scenario
    assert chipsuite.ScenarioError is ScenarioError
    assert issubclass(ScenarioError, ValueError)


def test_default_is_base_of_assumptions_csv():
    with open(ASSUMPTIONS, newline="", encoding="utf-8") as fh:
        rows = {r["parameter"]: r for r in csv.DictReader(fh)}
    s = Scenario.default()
    assert s == Scenario()
    # golden values read by hand from data/assumptions.csv
    assert s.useful_life == 5.5
    assert s.mtia_cadence == 2.0
    assert s.nvidia_price_multiplier == 1.0
    assert s.mtia_nre_per_generation == 0.6e9  # "0.6" in USD bn
    assert s.facility_capex_per_mw == float(rows["facility_capex_per_mw"]["base"])
    for name in PARAMETERS:
        assert name in rows, f"{name} has no row in assumptions.csv"


def test_every_field_is_a_parameter_and_float():
    s = Scenario.default()
    assert list(s.to_dict()) == list(PARAMETERS)
    assert all(isinstance(v, float) for v in s.to_dict().values())


def test_int_is_accepted_and_stored_as_float():
    s = Scenario.default().replace(mtia_cadence=3)
    assert s.mtia_cadence == 3.0 and isinstance(s.mtia_cadence, float)


@pytest.mark.parametrize("name, value", [("utilisation", 1.5), ("utilisation", 0.0), ("useful_life", 100.0),
                                         ("bargaining_cap", -0.1), ("utilisation", math.nan),
                                         ("facility_capex_per_mw", math.inf)])
def test_out_of_bounds_names_parameter_value_and_bounds(name, value):
    with pytest.raises(ScenarioError) as err:
        Scenario.default().replace(**{name: value})
    text = str(err.value)
    p = PARAMETERS[name]
    assert repr(name) in text and repr(float(value)) in text
    assert f"[{p.lower:g}, {p.upper:g}]" in text


@pytest.mark.parametrize("value", ["0.7", None, True, [0.7]])
def test_wrong_type(value):
    with pytest.raises(ScenarioError, match="'utilisation'.*must be a number"):
        Scenario.default().replace(utilisation=value)


def test_unknown_parameter():
    with pytest.raises(ScenarioError, match="unknown scenario parameter.*'utilization'"):
        Scenario.default().replace(utilization=0.5)
    with pytest.raises(ScenarioError, match="unknown"):
        Scenario.from_json(json.dumps({"chipsuite_scenario": 1, "parameters": {"no_such_thing": 1.0}}))


def test_payment_shares_must_not_exceed_one():
    with pytest.raises(ScenarioError, match="payment_share_before.*payment_share_after.*must not exceed 1"):
        Scenario.default().replace(payment_share_before=0.7, payment_share_after=0.4)


@pytest.mark.parametrize("name, replacement", [("supply_share_gas", "energy_contracts.csv"),
                                               ("supply_share_nuclear", "nuclear_contract_delay_quarters"),
                                               ("gas_carbon_intensity", "carbon_intensity_gco2_per_kwh"),
                                               ("nuclear_carbon_intensity", "Scope 3")])
def test_removed_parameters_say_what_replaced_them(name, replacement):
    from chipsuite.scenario import REMOVED_PARAMETERS

    assert name in REMOVED_PARAMETERS and name not in PARAMETERS
    for make in (lambda: Scenario.default().replace(**{name: 0.1}), lambda: Scenario.from_dict({name: 0.1}),
                 lambda: Scenario.from_json(json.dumps({"chipsuite_scenario": 1, "parameters": {name: 0.1}}))):
        with pytest.raises(ScenarioError, match=f"parameter '{name}' was removed.*{replacement}"):
            make()


def test_frozen():
    with pytest.raises(Exception):
        Scenario.default().utilisation = 0.5


def test_diff():
    a = Scenario.default()
    b = a.replace(utilisation=0.5, useful_life=4)
    d = a.diff(b)
    assert [(x.name, x.self_value, x.other_value, x.unit) for x in d] == [
        ("useful_life", 5.5, 4.0, "years"), ("utilisation", a.utilisation, 0.5, "1")]
    assert a.diff(a) == []


def test_json_is_readable_and_round_trips():
    s = Scenario.default().replace(utilisation=0.1 + 0.2)  # a float that needs all its digits
    text = s.to_json()
    assert json.loads(text)["parameters"]["utilisation"] == 0.1 + 0.2
    assert Scenario.from_json(text) == s


@pytest.mark.parametrize("text", ["not json", "[]", '{"parameters": 3}'])
def test_malformed_json(text):
    with pytest.raises(ScenarioError):
        Scenario.from_json(text)


def test_parameter_table():
    table = Scenario.parameter_table()
    assert list(table.name) == list(PARAMETERS)
    assert {"name", "unit", "lower", "upper", "default", "low", "high", "description"} <= set(table.columns)
    assert (table.lower <= table.low).all() and (table.low <= table.default).all()
    assert (table.default <= table.high).all() and (table.high <= table.upper).all()


def test_sampling_range_contains_the_scenario_value():
    s = Scenario.default().replace(nvidia_price_multiplier=2.0)
    low, value, high = s.sampling_range("nvidia_price_multiplier")
    assert (low, value, high) == (0.8, 2.0, 2.0)


def _scenarios():
    def one(name):
        p = PARAMETERS[name]
        return st.floats(min_value=p.lower, max_value=p.upper, allow_nan=False, allow_infinity=False)

    # pairs that must sum to at most 1 stay at their defaults
    names = [n for n in PARAMETERS if n not in ("payment_share_before", "payment_share_after")]
    return st.fixed_dictionaries({n: one(n) for n in names}).filter(
        lambda d: sum(v for k, v in d.items() if k.startswith("demand_weight_")) > 0
    ).map(lambda d: Scenario(**d))


@settings(max_examples=40, deadline=None)
@given(_scenarios())
def test_json_round_trip_property(s):
    assert Scenario.from_json(s.to_json()) == s
    assert Scenario.from_json(s.to_json()).diff(s) == []


# ----------------------------------------------------------------------- assumptions.csv through the schema


def _line_of(text, parameter):
    return next(i for i, line in enumerate(text.splitlines(), start=1) if line.startswith(parameter + ","))


def _corrupt(tmp_path, parameter, column, value):
    """A copy of assumptions.csv with one cell replaced; returns (folder, line of the row)."""
    text = ASSUMPTIONS.read_text(encoding="utf-8")
    rows = list(csv.reader(text.splitlines(keepends=True)))
    header = rows[0]
    for row in rows[1:]:
        if row[0] == parameter:
            row[header.index(column)] = value
    out = tmp_path / "assumptions.csv"
    with open(out, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    return tmp_path, _line_of(text, parameter)


def test_read_assumptions_goes_through_the_schema():
    from chipsuite.scenario import read_assumptions

    rows = read_assumptions()
    assert list(rows) == list(PARAMETERS)
    text = ASSUMPTIONS.read_text(encoding="utf-8")
    assert rows["utilisation"]["line"] == _line_of(text, "utilisation")
    assert rows["mtia_nre_per_generation"]["unit"] == "USD"  # "USD bn" converted by schema.UNITS
    assert rows["mtia_nre_per_generation"]["high"] == 1.2e9
    # zeros are allowed where they mean something (read by hand from the file)
    assert rows["mtia_slip_per_generation"]["low"] == 0.0
    assert rows["bargaining_elasticity"]["low"] == 0.0
    assert rows["nuclear_contract_delay_quarters"]["low"] == 0.0


@pytest.mark.parametrize("parameter, column, value, rule", [
    ("utilisation", "base", "0.7x", "is not a number"),
    ("utilisation", "high", "1.5", "outside its validity bounds [0.01, 1]"),
    ("utilisation", "low", "-0.1", "outside its validity bounds"),  # negative where it means nothing
    ("useful_life", "unit", "quarters", "not allowed for parameter 'useful_life'"),
    ("useful_life", "unit", "furlongs", "not in the units vocabulary"),
    ("mtia_ramp", "low", "4", "low 4 > base 3"),
    ("mtia_ramp", "kind", "guess", "not one of"),
])
def test_corrupted_assumptions_raise_data_error_with_line_and_column(tmp_path, parameter, column, value, rule):
    from chipsuite.scenario import read_assumptions

    folder, line = _corrupt(tmp_path, parameter, column, value)
    with pytest.raises(chipsuite.DataError) as err:
        read_assumptions(folder)
    assert (err.value.file, err.value.line, err.value.column) == ("assumptions.csv", line, column)
    assert rule in err.value.rule
    assert f"assumptions.csv, line {line}, column '{column}'" in str(err.value)


def test_an_assumptions_row_of_a_removed_parameter_names_its_replacement(tmp_path):
    """An old data folder with a ``supply_share_gas`` row: the error names file, line, column and what replaced it."""
    from chipsuite.scenario import read_assumptions

    lines = ASSUMPTIONS.read_text(encoding="utf-8").splitlines(keepends=True)
    lines.append('supply_share_gas,1,0,0.08,0.25,assumption,S54,"the old dateless gas share"\n')
    (tmp_path / "assumptions.csv").write_text("".join(lines), encoding="utf-8")
    with pytest.raises(chipsuite.DataError) as err:
        read_assumptions(tmp_path)
    assert (err.value.file, err.value.line, err.value.column) == ("assumptions.csv", len(lines), "parameter")
    assert "'supply_share_gas' was removed" in err.value.rule and "energy_contracts.csv" in err.value.rule


def test_negative_growth_is_a_valid_assumption(tmp_path):
    """demand_growth_2027 is the one parameter whose meaning allows a negative value."""
    from chipsuite.scenario import read_assumptions

    folder, _ = _corrupt(tmp_path, "demand_growth_2027", "low", "-0.1")
    assert read_assumptions(folder / "assumptions.csv")["demand_growth_2027"]["low"] == -0.1


def test_missing_and_unknown_rows(tmp_path):
    from chipsuite.scenario import read_assumptions

    folder, line = _corrupt(tmp_path, "utilisation", "parameter", "utilisation_typo")
    with pytest.raises(chipsuite.DataError) as err:
        read_assumptions(folder)
    assert (err.value.line, err.value.column) == (line, "parameter")
    lines = ASSUMPTIONS.read_text(encoding="utf-8").splitlines(keepends=True)
    (tmp_path / "assumptions.csv").write_text("".join(l for l in lines if not l.startswith("utilisation,")),
                                              encoding="utf-8")
    with pytest.raises(chipsuite.DataError, match="no row for scenario parameter.*utilisation"):
        read_assumptions(tmp_path)


def test_data_dir_environment_variable(tmp_path, monkeypatch):
    import subprocess
    import sys

    from chipsuite.scenario import read_assumptions

    folder, line = _corrupt(tmp_path, "mtia_cadence", "base", "two")
    monkeypatch.setenv("CHIPSUITE_DATA_DIR", str(folder))
    with pytest.raises(chipsuite.DataError, match=f"line {line}, column 'base'"):
        read_assumptions()
    # the defaults are read when the module is imported: a bad file stops the import with the same message
    proc = subprocess.run([sys.executable, "-c", "import chipsuite.scenario"], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parent.parent)
    assert proc.returncode != 0
    assert f"DataError: assumptions.csv, line {line}, column 'base'" in proc.stderr
