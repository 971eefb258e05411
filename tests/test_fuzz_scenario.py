"""Fuzz suite, scenario side: malformed parameters, JSON, seeds and explorer inputs.

Every probe must give ScenarioError naming the parameter (or the JSON problem), or be accepted as
the number it is; never another exception type or a silently different value.
"""

import json
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chipsuite.explorers.base import ScenarioState
from chipsuite.scenario import PARAMETERS, Scenario, ScenarioError, as_number, check_seed

BASE = Scenario.default()


def _json(parameters=None, **top):
    return json.dumps({"chipsuite_scenario": 1, "parameters": parameters or {}, **top})


# --------------------------------------------------------------------------- parameter values

BAD_VALUES = [
    ("10**400", 10**400, "beyond the float range"),
    ("-10**400", -(10**400), "beyond the float range"),
    ("10**5000", 10**5000, "beyond the float range"),
    ("nan", float("nan"), "outside its bounds"),
    ("inf", float("inf"), "outside its bounds"),
    ("-inf", float("-inf"), "outside its bounds"),
    ("str", "0.5", "must be a number"),
    ("None", None, "must be a number"),
    ("True", True, "must be a number"),
    ("np.bool_", np.bool_(True), "must be a number"),
    ("complex", 0.5 + 0j, "must be a number"),
    ("list", [0.5], "must be a number"),
    ("1-d array", np.array([0.5]), "must be a number"),
    ("2-element array", np.array([0.5, 0.6]), "must be a number"),
    ("dict", {}, "must be a number"),
    ("object", object(), "must be a number"),
    ("Decimal", Decimal("0.5"), "must be a number"),
    ("bytes", b"0.5", "must be a number"),
    ("np.str_", np.str_("0.5"), "must be a number"),
    ("np.complex128", np.complex128(0.5), "must be a number"),
    ("np.float64 nan", np.float64("nan"), "outside its bounds"),
    ("below", -1.0, "outside its bounds"),
    ("above", 2.0, "outside its bounds"),
    ("0-d object array", np.array(None, dtype=object), "must be a number"),
]


@pytest.mark.parametrize("value, words", [c[1:] for c in BAD_VALUES], ids=[c[0] for c in BAD_VALUES])
def test_bad_value_is_a_scenario_error_naming_the_parameter(value, words):
    with pytest.raises(ScenarioError) as info:
        BASE.replace(utilisation=value)
    assert "'utilisation'" in str(info.value) and words in str(info.value)


def test_huge_integer_on_a_large_parameter_names_it():
    with pytest.raises(ScenarioError, match=r"'demand_2026_h100e' = 1000.*\(401 characters\) \[H100e\] is beyond"):
        BASE.replace(demand_2026_h100e=10**400)


GOOD_VALUES = [
    ("np.int64", np.int64(5), 5.0),
    ("np.int8", np.int8(5), 5.0),
    ("np.uint16", np.uint16(5), 5.0),
    ("np.float32", np.float32(5.5), 5.5),
    ("np.float64", np.float64(5.5), 5.5),
    ("0-d float array", np.array(5.5), 5.5),
    ("0-d int array", np.array(5), 5.0),
    ("Fraction", Fraction(11, 2), 5.5),
    ("int", 5, 5.0),
]


@pytest.mark.parametrize("value, expected", [c[1:] for c in GOOD_VALUES], ids=[c[0] for c in GOOD_VALUES])
def test_numpy_scalars_and_0d_arrays_are_numbers(value, expected):
    s = BASE.replace(useful_life=value)
    assert s.useful_life == expected and type(s.useful_life) is float
    assert Scenario.from_json(s.to_json()) == s  # what is stored is a plain float


def test_as_number_names_parameter_and_unit():
    with pytest.raises(ScenarioError, match=r"parameter 'x' = None \[MW\] must be a number, not NoneType"):
        as_number("x", None, "MW")


# --------------------------------------------------------------------------- mappings and names

BAD_MAPPINGS = [
    ("int key", {1: 0.5}, "names must be strings"),
    ("None key", {None: 0.5}, "names must be strings"),
    ("tuple key", {("utilisation",): 0.5}, "names must be strings"),
    ("unknown", {"utilization": 0.5}, "unknown scenario parameter"),
    ("list", [("utilisation", 0.5)], "must be a mapping"),
    ("str", "utilisation=0.5", "must be a mapping"),
    ("None", None, "must be a mapping"),
]


@pytest.mark.parametrize("values, words", [c[1:] for c in BAD_MAPPINGS], ids=[c[0] for c in BAD_MAPPINGS])
def test_from_dict_refuses_malformed_mappings(values, words):
    with pytest.raises(ScenarioError, match=words):
        Scenario.from_dict(values)


# --------------------------------------------------------------------------- JSON

BAD_JSON = [
    ("None", None, "must be text"),
    ("int", 5, "must be text"),
    ("dict", {"parameters": {}}, "must be text"),
    ("invalid utf-8 bytes", b'{"a": "\xff"}', "not valid UTF-8"),
    ("empty", "", "malformed"),
    ("not json", "not json", "malformed"),
    ("open bracket", "[", "malformed"),
    ("list", "[]", "must be an object"),
    ("string", '"x"', "must be an object"),
    ("null", "null", "must be an object"),
    ("number", "3", "must be an object"),
    ("deep nesting", "[" * 100000 + "]" * 100000, "nested too deeply"),
    ("deep objects", '{"a":' * 50000 + "1" + "}" * 50000, "nested too deeply"),
    ("5000-digit integer", '{"chipsuite_scenario": 1, "parameters": {"utilisation": ' + "9" * 5000 + "}}",
     "'utilisation'"),
    ("huge float", '{"chipsuite_scenario": 1, "parameters": {"utilisation": 1e400}}', "'utilisation'"),
    ("NaN", '{"chipsuite_scenario": 1, "parameters": {"utilisation": NaN}}', "NaN"),
    ("Infinity", '{"chipsuite_scenario": 1, "parameters": {"utilisation": Infinity}}', "Infinity"),
    ("-Infinity", '{"chipsuite_scenario": 1, "parameters": {"utilisation": -Infinity}}', "-Infinity"),
    ("duplicate parameter", '{"chipsuite_scenario": 1, "parameters": {"utilisation": 0.5, "utilisation": 0.6}}',
     "'utilisation' twice"),
    ("duplicate top key", '{"chipsuite_scenario": 1, "parameters": {}, "parameters": {}}', "'parameters' twice"),
    ("unknown top key", _json(comment="x"), "unknown key"),
    ("version 2", json.dumps({"chipsuite_scenario": 2, "parameters": {}}), "format version"),
    ("version '1'", json.dumps({"chipsuite_scenario": "1", "parameters": {}}), "format version"),
    ("version true", json.dumps({"chipsuite_scenario": True, "parameters": {}}), "format version"),
    ("version 1.5", json.dumps({"chipsuite_scenario": 1.5, "parameters": {}}), "format version"),
    ("no version", json.dumps({"parameters": {}}), "no format version"),
    ("parameters list", json.dumps({"chipsuite_scenario": 1, "parameters": []}), "'parameters' object"),
    ("parameters missing", json.dumps({"chipsuite_scenario": 1}), "'parameters' object"),
    ("string value", _json({"utilisation": "0.5"}), "'utilisation'"),
    ("null value", _json({"utilisation": None}), "'utilisation'"),
    ("bool value", _json({"utilisation": True}), "'utilisation'"),
    ("list value", _json({"utilisation": [0.5]}), "'utilisation'"),
    ("out of bounds", _json({"utilisation": 5}), "'utilisation'"),
    ("unknown parameter", _json({"utilization": 0.5}), "unknown scenario parameter"),
    ("too long", " " * 1_000_001 + "{}", "characters long"),
]


@pytest.mark.parametrize("text, words", [c[1:] for c in BAD_JSON], ids=[c[0] for c in BAD_JSON])
def test_malformed_json_is_a_scenario_error(text, words):
    with pytest.raises(ScenarioError) as info:
        Scenario.from_json(text)
    assert words in str(info.value)


def test_json_round_trip_accepts_bytes_and_the_current_version():
    s = BASE.replace(utilisation=0.55)
    assert Scenario.from_json(s.to_json().encode("utf-8")) == s
    assert json.loads(s.to_json())["chipsuite_scenario"] == 1


# --------------------------------------------------------------------------- seeds

BAD_SEEDS = [-1, 1.9, 1.0, True, "1", None, np.int64(-1), np.float64(3.0), np.array([1]), [1]]


@pytest.mark.parametrize("seed", BAD_SEEDS, ids=[repr(s) for s in BAD_SEEDS])
def test_bad_seed_is_refused(seed):
    with pytest.raises(ScenarioError, match="seed"):
        check_seed(seed)
    with pytest.raises(ScenarioError, match="seed"):
        ScenarioState(seed=seed)


@pytest.mark.parametrize("seed, expected", [(0, 0), (7, 7), (np.int64(7), 7), (np.uint8(7), 7), (np.array(7), 7),
                                            (2**70, 2**70)])
def test_good_seeds(seed, expected):
    assert check_seed(seed) == expected and type(check_seed(seed)) is int


@pytest.mark.parametrize("draws", [0, -3, 1.5, "10", None, True])
def test_bad_draws_are_refused(draws):
    with pytest.raises(ScenarioError, match="draws"):
        ScenarioState(draws=draws)


def test_state_refuses_a_non_scenario():
    with pytest.raises(TypeError, match="chipsuite.Scenario"):
        ScenarioState(scenario={"utilisation": 0.5})


# --------------------------------------------------------------------------- scenario files


@pytest.mark.parametrize("content, words", [
    (b"\xff\xfe{}", "not valid UTF-8"),
    ("{\"chipsuite_scenario\": 1, \"parameters\": {\"utilisation\": \"x\"}}".encode(), "'utilisation'"),
    (b"", "malformed"),
    (b"[" * 200000, "nested too deeply"),
])
def test_load_scenario_of_a_bad_file_is_a_scenario_error_naming_it(tmp_path, content, words):
    path = tmp_path / "scenario.json"
    path.write_bytes(content)
    state = ScenarioState()
    before = state.scenario
    with pytest.raises(ScenarioError) as info:
        state.load_scenario(path)
    assert str(path) in str(info.value) and words in str(info.value)
    assert state.scenario == before


def test_save_and_load_scenario_round_trip(tmp_path):
    state = ScenarioState(BASE.replace(utilisation=0.61))
    path = state.save_scenario(tmp_path / "s.json")
    other = ScenarioState()
    assert other.load_scenario(path) == state.scenario


# --------------------------------------------------------------------------- explorers


@pytest.fixture(scope="module")
def energy():
    from chipsuite.explorers.energy import EnergyExplorer

    return EnergyExplorer()


EXPLORER_VALUES = [None, "abc", float("nan"), 10**400, [0.5], True, 5.0, np.array([0.5, 0.6])]


@pytest.mark.parametrize("value", EXPLORER_VALUES, ids=[repr(v)[:20] for v in EXPLORER_VALUES])
def test_explorer_set_refuses_bad_values_naming_the_control(energy, value):
    before = (energy.scenario, dict(energy.values))
    with pytest.raises(ScenarioError, match=r"EnergyExplorer: control 'utilisation'"):
        energy.set(utilisation=value)
    assert (energy.scenario, energy.values) == before


@pytest.mark.parametrize("value", EXPLORER_VALUES, ids=[repr(v)[:20] for v in EXPLORER_VALUES])
def test_widget_callback_shows_every_error_and_keeps_the_state(energy, value):
    _ = energy.widget  # builds the controls and the message box
    before = (energy.scenario, dict(energy.values))
    energy._on_control("utilisation", {"new": value})  # what moving the control does; must not raise
    assert "Not applied" in energy._message.value and "#b00020" in energy._message.value
    assert (energy.scenario, energy.values) == before


def test_a_chart_failure_is_shown_and_rolls_back(energy, monkeypatch):
    _ = energy.widget
    before = (energy.scenario, dict(energy.values))

    def broken(view=None):
        raise RuntimeError("chart exploded")

    monkeypatch.setattr(energy, "chart_spec", broken)
    with pytest.raises(RuntimeError, match="chart exploded"):
        energy.set(utilisation=0.5)
    assert (energy.scenario, energy.values) == before
    energy._on_control("utilisation", {"new": 0.5})
    assert "RuntimeError: chart exploded" in energy._message.value
    monkeypatch.undo()
    energy.set(utilisation=0.5)  # a later control still works
    assert energy.scenario.utilisation == 0.5


def test_load_button_shows_errors(energy, tmp_path):
    _ = energy.widget
    path = tmp_path / "bad.json"
    path.write_bytes(b"\xff")
    energy._guarded(lambda: energy.load_scenario(path), "loaded")
    assert "ScenarioError" in energy._message.value and "UTF-8" in energy._message.value
    energy._guarded(lambda: energy.load_scenario(tmp_path / "missing.json"), "loaded")
    assert "FileNotFoundError" in energy._message.value


# --------------------------------------------------------------------------- hypothesis


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200))
def test_any_text_is_a_scenario_or_a_scenario_error(text):
    try:
        s = Scenario.from_json(text)
    except ScenarioError:
        return
    assert isinstance(s, Scenario)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(sorted(PARAMETERS)), value=JSON_VALUES)
def test_any_json_value_of_a_parameter_is_accepted_exactly_or_refused_by_name(name, value):
    text = json.dumps({"chipsuite_scenario": 1, "parameters": {name: value}})
    try:
        s = Scenario.from_json(text)
    except ScenarioError as err:
        # the parameter by name, a cross-parameter rule, or the JSON problem (Infinity is not JSON)
        assert repr(name) in str(err) or "must not" in str(err) or "JSON has no NaN/Infinity" in str(err)
        return
    assert getattr(s, name) == float(value)  # accepted only as the number it is


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_valid_scenarios_round_trip_through_json(data):
    values = {}
    for name, p in PARAMETERS.items():
        if data.draw(st.booleans()):
            values[name] = data.draw(st.floats(p.lower, p.upper, allow_nan=False))
    try:
        s = BASE.replace(**values)
    except ScenarioError as err:  # only the cross-parameter rules may refuse in-bounds values
        assert "must not" in str(err)
        return
    assert Scenario.from_json(s.to_json()) == s
