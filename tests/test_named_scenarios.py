"""Named scenarios (data/scenarios/*.toml): every file loads, bad files fail naming file, key and
rule, the diff against the base case, the headline table, and each scenario moves its main output
the way its reasoning says."""

import shutil
import tomllib
from pathlib import Path

import pytest

import chipsuite
from chipsuite import compare
from chipsuite.scenario import (BASE_NAME, PARAMETERS, NamedScenarioError, Scenario, ScenarioError, load_named,
                                named_scenarios, read_named_scenario)

DATA = Path(__file__).resolve().parent.parent / "data"
FOLDER = DATA / "scenarios"
EXPECTED = {"meta_guidance", "bear", "bull", "mtia_slip_two_quarters", "amd_full_6gw", "hyperion_gas_delay",
            "memory_price_shock", "frontier_model_delay", "power_constrained"}

GOOD = '''name = "{name}"
title = "A test case"
reasoning = """
Two lines of
reasoning.
"""
source_ids = ["S14"]

[parameters.mtia_cadence]
value = 3
unit = "quarters"
kind = "assumption"
note = "Nine months."
'''


@pytest.fixture(scope="module")
def results():
    return compare.run_named()


@pytest.fixture(scope="module")
def headlines(results):
    return compare.headline_frame(results=results).set_index("scenario")


# --------------------------------------------------------------------------- the files


def test_every_file_loads_and_the_examples_are_there():
    found = named_scenarios()
    assert set(found) == EXPECTED
    assert sorted(p.stem for p in FOLDER.glob("*.toml")) == sorted(found)
    for name, named in found.items():
        assert named.name == name and named.title and len(named.reasoning) > 200
        assert named.source_ids and named.overrides
        assert named.diff(), f"{name} changes nothing against the base case"
        assert isinstance(named.scenario, Scenario)
        for o in named.overrides:
            assert o.unit == PARAMETERS[o.name].unit and o.note


def test_file_values_are_what_the_scenario_holds():
    raw = tomllib.loads((FOLDER / "bear.toml").read_text())
    s = Scenario.named("bear")
    assert s.demand_2026_h100e == raw["parameters"]["demand_2026_h100e"]["value"] == 5_800_000
    assert s.demand_growth_2027 == 0.4
    assert s.useful_life == Scenario.default().useful_life  # not named: the base value
    assert Scenario.named(BASE_NAME) == Scenario.default()
    assert load_named("bear").scenario == s


def test_reasoning_is_one_paragraph_of_text():
    named = load_named("bear")
    assert "\n" not in named.reasoning and "  " not in named.reasoning


def test_amd_scale_is_six_gw_over_the_deals_base():
    """amd_full_6gw: the multiplier takes the amd_2026 tranches' base MW (deals.csv) to 6,000 MW."""
    deals = chipsuite.load_tables()["deals"]
    amd = deals[(deals["deal_id"] == "amd_2026") & (deals["measure"] == "power")]
    scale = Scenario.named("amd_full_6gw").amd_deal_scale
    assert amd["base"].sum() * scale == pytest.approx(6000, abs=1)
    assert amd["high"].sum() == pytest.approx(6000)  # "up to 6 GW": every tranche at its high


def test_mtia_slip_keeps_mtia_300_on_its_date():
    from chipsuite.model.supply import mtia_release_quarter

    base, slip = Scenario.default(), Scenario.named("mtia_slip_two_quarters")
    guided = mtia_release_quarter(0, base.mtia_first_release_quarter_index, base.mtia_cadence, 0.0)
    assert mtia_release_quarter(0, slip.mtia_first_release_quarter_index, slip.mtia_cadence,
                                slip.mtia_slip_per_generation) == guided
    # MTIA 400, 450, 500: 2, 4 and 6 quarters after the roadmap held exactly
    for k in (1, 2, 3):
        late = mtia_release_quarter(k, slip.mtia_first_release_quarter_index, slip.mtia_cadence,
                                    slip.mtia_slip_per_generation)
        on_plan = mtia_release_quarter(k, base.mtia_first_release_quarter_index, base.mtia_cadence, 0.0)
        assert late - on_plan == pytest.approx(2 * k)


# --------------------------------------------------------------------------- validation: one test per rule


def _folder(tmp_path, text=None, name="case"):
    """A data folder with sources.csv and scenarios/<name>.toml holding ``text`` (default: a good file)."""
    shutil.copy(DATA / "sources.csv", tmp_path / "sources.csv")
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / f"{name}.toml").write_text(GOOD.format(name=name) if text is None else text, encoding="utf-8")
    return folder


def _replace(old, new, name="case"):
    good = GOOD.format(name=name)
    assert old in good
    return good.replace(old, new)


def test_a_good_temp_file_loads(tmp_path):
    folder = _folder(tmp_path)
    found = named_scenarios(folder)
    assert list(found) == ["case"]
    assert found["case"].scenario.mtia_cadence == 3.0
    assert found["case"].reasoning == "Two lines of reasoning."
    assert named_scenarios(tmp_path) == found  # a data folder holding scenarios/ works too


BAD = [
    # (replace this, with this, key, rule)
    ('title = "A test case"', 'title = "A test case', None, "is not valid TOML"),
    ('source_ids = ["S14"]', 'source_ids = ["S14"]\nauthor = "me"', "author", "unknown key"),
    ('title = "A test case"\n', "", "title", "is missing (required)"),
    ('name = "case"', 'name = "other"', "name", "must equal the file name 'case'"),
    ('name = "case"', 'name = "Case"', "name", "must be lower-case letters"),
    ('["S14"]', '["S14", "S9999"]', "source_ids", "source id 'S9999' is not in sources.csv"),
    ('["S14"]', "[]", "source_ids", "must be a non-empty list"),
    ("[parameters.mtia_cadence]", "[parameters.mtia_cadense]", "parameters.mtia_cadense",
     "is not a scenario parameter"),
    ('note = "Nine months."\n', "", "parameters.mtia_cadence.note", "is missing (required)"),
    ('note = "Nine months."', 'note = "Nine months."\nsource = "S1"', "parameters.mtia_cadence.source",
     "unknown key"),
    ('unit = "quarters"', 'unit = "months"', "parameters.mtia_cadence.unit",
     "unit 'months' is not the parameter's unit 'quarters'"),
    ("value = 3", "value = 30", "parameters.mtia_cadence.value", "30 quarters is outside the parameter's "
     "validity bounds [0.5, 12]"),
    ("value = 3", 'value = "3"', "parameters.mtia_cadence.value", "must be a number, not str"),
    ('kind = "assumption"', 'kind = "guess"', "parameters.mtia_cadence.kind", "'guess' is not one of reported"),
    ('note = "Nine months."', 'note = " "', "parameters.mtia_cadence.note", "must be a non-empty string"),
    ('[parameters.mtia_cadence]\nvalue = 3\nunit = "quarters"\nkind = "assumption"\nnote = "Nine months."\n',
     "parameters = {}\n", "parameters", "must hold at least one"),
    ('[parameters.mtia_cadence]\nvalue = 3\nunit = "quarters"\n',
     '[parameters.payment_share_before]\nvalue = 0.7\nunit = "1"\nkind = "assumption"\nnote = "x"\n'
     '[parameters.payment_share_after]\nvalue = 0.5\nunit = "1"\n', "parameters",
     "the overrides make no valid scenario: parameters 'payment_share_before' + 'payment_share_after'"),
    ('[parameters.mtia_cadence]\nvalue = 3\nunit = "quarters"\n',
     '[parameters.supply_share_gas]\nvalue = 0.1\nunit = "1"\n', "parameters.supply_share_gas",
     "parameter 'supply_share_gas' was removed: the supply mix is no longer one share"),
]


@pytest.mark.parametrize("old, new, key, rule", BAD, ids=[f"{k}: {r}"[:60] for _, _, k, r in BAD])
def test_bad_file_names_file_key_and_rule(tmp_path, old, new, key, rule):
    folder = _folder(tmp_path, _replace(old, new))
    with pytest.raises(NamedScenarioError) as info:
        named_scenarios(folder)
    err = info.value
    assert err.file == "scenarios/case.toml"
    assert err.key == key
    assert rule in err.rule
    assert str(err).startswith("scenarios/case.toml" + (f", key {key!r}: " if key else ": "))
    assert isinstance(err, ScenarioError)


def test_reference_must_name_another_scenario(tmp_path):
    folder = _folder(tmp_path, _replace('source_ids = ["S14"]', 'source_ids = ["S14"]\nreference = "elsewhere"'))
    with pytest.raises(NamedScenarioError, match=r"scenarios/case.toml, key 'reference': 'elsewhere' is not a "
                                                 r"named scenario of scenarios/"):
        named_scenarios(folder)
    (folder / "case.toml").write_text(_replace('source_ids = ["S14"]', 'source_ids = ["S14"]\nreference = "case"'))
    with pytest.raises(NamedScenarioError, match=r"key 'reference': 'case' must name another scenario"):
        named_scenarios(folder)
    (folder / "other.toml").write_text(GOOD.format(name="other"), encoding="utf-8")
    (folder / "case.toml").write_text(_replace('source_ids = ["S14"]', 'source_ids = ["S14"]\nreference = "other"'))
    assert named_scenarios(folder)["case"].reference == "other"
    assert named_scenarios(folder)["other"].reference == BASE_NAME


def test_base_is_reserved(tmp_path):
    folder = _folder(tmp_path, GOOD.format(name="base"), name="base")
    with pytest.raises(NamedScenarioError, match=r"scenarios/base.toml, key 'name': 'base' is reserved"):
        named_scenarios(folder)


def test_not_utf8_is_refused(tmp_path):
    folder = _folder(tmp_path)
    (folder / "case.toml").write_bytes(GOOD.format(name="case").encode("utf-8").replace(b"A test", b"A \xff test"))
    with pytest.raises(NamedScenarioError, match="scenarios/case.toml: is not valid UTF-8"):
        read_named_scenario(folder / "case.toml")


def test_other_files_in_the_folder_are_refused(tmp_path):
    folder = _folder(tmp_path)
    (folder / "notes.txt").write_text("a stray file", encoding="utf-8")
    with pytest.raises(NamedScenarioError, match=r"scenarios/notes.txt: is not a scenario file \(\*.toml\)"):
        named_scenarios(folder)
    (folder / "notes.txt").unlink()
    (folder / "README.md").write_text("# about", encoding="utf-8")
    assert list(named_scenarios(folder)) == ["case"]


def test_unknown_name_lists_the_known_ones(tmp_path):
    folder = _folder(tmp_path)
    with pytest.raises(ScenarioError, match=r"unknown named scenario 'bera'; known: \['base', 'case'\]"):
        load_named("bera", folder)
    with pytest.raises(ScenarioError, match="unknown named scenario"):
        Scenario.named("bera")


def test_missing_folder_holds_no_scenarios(tmp_path):
    assert named_scenarios(tmp_path / "nowhere") == {}


# --------------------------------------------------------------------------- diff against the base case


def test_diff_frame_lists_what_changes():
    f = compare.diff_frame("mtia_slip_two_quarters")
    assert list(f.columns[:5]) == ["parameter", "display_name", "unit", "base", "scenario"]
    rows = f.set_index("parameter")
    base = Scenario.default()
    assert set(rows.index) == {"mtia_slip_per_generation", "mtia_first_release_quarter_index"}
    assert rows.loc["mtia_slip_per_generation", "base"] == base.mtia_slip_per_generation
    assert rows.loc["mtia_slip_per_generation", "scenario"] == 2.0
    assert rows.loc["mtia_slip_per_generation", "display_name"] == "MTIA slip per generation"
    assert rows.loc["mtia_first_release_quarter_index", "unit"] == "quarters"
    # the same as ScenarioDiff
    assert [(d.name, d.self_value, d.other_value) for d in base.diff(Scenario.named("mtia_slip_two_quarters"))] == \
        [(p, rows.loc[p, "base"], rows.loc[p, "scenario"]) for p in f["parameter"]]


def test_diff_table_for_a_reader():
    text = repr(compare.diff_table("bear"))
    assert "2026 demand (H100e)" in text and "5,800,000" in text and "6,330,000" in text
    assert "demand_2026_h100e" not in text  # no raw ids
    one_unit = compare.diff_table("hyperion_gas_delay", notes=False)
    assert list(one_unit.frame.columns) == ["parameter", "unit", "base case", "scenario"]
    single = compare.diff_table("meta_guidance", notes=False)
    assert list(single.frame.columns) == ["parameter", "base case [quarters]", "scenario [quarters]"]


# --------------------------------------------------------------------------- headline results


def test_run_named_equals_single_runs(results):
    for name in ("bear", "hyperion_gas_delay"):
        single = chipsuite.run(Scenario.named(name))
        for key, (_, _, fn) in compare.HEADLINES.items():
            assert fn(results[name]) == pytest.approx(fn(single), rel=1e-9), (name, key)


def test_base_row_equals_the_notebook_headlines(headlines):
    from chipsuite.headlines import CHECKS

    base = chipsuite.run()
    row = headlines.loc[BASE_NAME]
    assert row["capex_2026_usd_bn"] == pytest.approx(CHECKS["capex_2026_usd_bn_base"](base))
    assert row["capex_2027_usd_bn"] == pytest.approx(CHECKS["capex_2027_usd_bn_base"](base))
    assert row["nvidia_share_incl_rented_2027q4"] == pytest.approx(
        CHECKS["nvidia_share_h100e_incl_rented_2027q4_base"](base))
    assert row["mtia_share_2027q4"] == pytest.approx(CHECKS["mtia_share_h100e_2027q4_base"](base))
    assert row["power_rented_2029_million_h100e"] == 0  # the base case builds what capex buys


def test_bear_and_bull_hit_the_guidance_ends(headlines):
    """Calibrated: 2026 capex at the low and high ends of the Apr 2026 guidance, 125-145 USD bn."""
    assert headlines.loc["bear", "capex_2026_usd_bn"] == pytest.approx(125, abs=1.5)
    assert headlines.loc["bull", "capex_2026_usd_bn"] == pytest.approx(145, abs=1.5)


def test_each_scenario_moves_its_main_output(headlines):
    h = headlines
    base = h.loc[BASE_NAME]
    assert h.loc["bear", "capex_2027_usd_bn"] < base["capex_2027_usd_bn"] - 20
    assert h.loc["bull", "capex_2027_usd_bn"] > base["capex_2027_usd_bn"] + 20
    assert h.loc["meta_guidance", "mtia_share_2027q4"] > base["mtia_share_2027q4"]
    assert h.loc["mtia_slip_two_quarters", "mtia_share_2027q4"] < base["mtia_share_2027q4"] - 0.03
    assert h.loc["mtia_slip_two_quarters", "nvidia_share_incl_rented_2027q4"] > base["nvidia_share_incl_rented_2027q4"]
    assert h.loc["amd_full_6gw", "amd_share_2027q4"] > base["amd_share_2027q4"]
    assert h.loc["memory_price_shock", "capex_2026_usd_bn"] > base["capex_2026_usd_bn"]
    assert h.loc["memory_price_shock", "capex_2027_usd_bn"] > base["capex_2027_usd_bn"]
    assert h.loc["frontier_model_delay", "capex_2027_usd_bn"] < base["capex_2027_usd_bn"] - 10
    assert h.loc["frontier_model_delay", "capex_2026_usd_bn"] == pytest.approx(base["capex_2026_usd_bn"], abs=1)
    # the power delay rents more compute than the power-constrained build it is read against
    assert h.loc["power_constrained", "power_rented_2029_million_h100e"] > 0
    assert h.loc["hyperion_gas_delay", "power_rented_2029_million_h100e"] > \
        h.loc["power_constrained", "power_rented_2029_million_h100e"]


def test_hyperion_delay_rents_more_while_hyperion_waits(results):
    """The delay moves Hyperion's first gas plants from 2028Q4 to 2029Q4: more rented in between. (Later the
    delayed build may rent less: its purchases, made later, are newer chips with more H100e per MW.)"""
    late = results["hyperion_gas_delay"].power_rented_h100e.isel(draw=0)
    ref = results["power_constrained"].power_rented_h100e.isel(draw=0)
    gap = (late - ref).to_series()
    assert (gap[:"2029-10-01"] >= -1e-6 * ref.max().item()).all()
    assert gap["2028-10-01":"2029-07-01"].min() > 0
    assert gap[:"2028-07-01"].abs().max() == pytest.approx(0, abs=1e-6)


def test_headline_table_for_a_reader(headlines):
    t = compare.headline_table(headlines.reset_index())
    cols = list(t.frame.columns)
    assert cols[0] == "scenario" and "capex 2027 [USD bn]" in cols and "MTIA share, 2027Q4 [%]" in cols
    text = repr(t)
    assert "Base case" in text and "Bear case" in text and "%" in text
    assert "mtia_share" not in text


def test_each_view_charts_the_main_output_against_base(results):
    views = compare.scenario_views(results=results)
    assert [label for label, _, _ in views] == [load_named(n).title for n in sorted(EXPECTED)]
    by_label = {label: (chart, text) for label, chart, text in views}
    chart, text = by_label[load_named("amd_full_6gw").title]
    spec = chart.to_dict()
    assert "AMD share" in str(spec["title"])
    data = next(iter(spec["datasets"].values()))
    assert {row["scenario"] for row in data} == {"base case", "scenario"}
    base = [r["value"] for r in data if r["scenario"] == "base case"]
    more = [r["value"] for r in data if r["scenario"] == "scenario"]
    assert max(b - a for a, b in zip(base, more)) > 1  # AMD share higher by more than a percentage point
    assert "AMD deal volume" in text and "S109" in text and "evertiq.com" in text


def test_a_power_delay_reads_against_its_reference(results):
    named = load_named("hyperion_gas_delay")
    assert named.reference == "power_constrained"
    assert [d.name for d in load_named("power_constrained").scenario.diff(named.scenario)] == [
        "hyperion_power_delay_quarters"]
    views = {label: (chart, text) for label, chart, text in compare.scenario_views(results=results)}
    chart, text = views[named.title]
    data = next(iter(chart.to_dict()["datasets"].values()))
    assert {row["scenario"] for row in data} == {"reference", "scenario"}
    ref = [r["value"] for r in data if r["scenario"] == "reference"]
    assert max(ref) > 1  # the power-constrained build rents compute: not the base case's zero
    assert "It reads against <b>Power-constrained build" in text and "Hyperion power delay" in text
