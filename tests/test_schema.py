"""Every validation rule of data/README.md, each broken by exactly one edit of the tiny valid tables."""

import pickle

import pytest

from chipsuite.data import load_tables
from chipsuite.schema import TABLES, UNITS, DataError, check_cell, NUMBER, QUARTER, DATE, YEAR
from conftest import TINY_TABLES, write_tables


def edit(table, old, new, count=1):
    """TINY_TABLES with one text replacement in ``table`` (asserting that ``old`` occurs)."""
    text = TINY_TABLES[table]
    assert text.count(old) >= count, (table, old)
    return {table: text.replace(old, new, count)}


def test_tiny_tables_are_valid(tiny_data_dir):
    tables = load_tables(tiny_data_dir)
    assert set(tables) == set(TABLES)
    assert len(tables["chip_specs"]) == 6  # no row dropped


# (id, replaced files, file, line, column, words of the rule)
CASES = [
    ("missing column", edit("chip_specs", "unit,low,base", "unit,base"), "chip_specs.csv", 1, "low",
     "missing column"),
    ("unexpected column", {"events": TINY_TABLES["events"].replace(",note\n", ",note,extra\n")
                           .replace("S3,\n", "S3,,x\n")},
     "events.csv", 1, "extra", "unexpected column"),
    ("renamed column", edit("sites", "utility", "utilities"), "sites.csv", 1, "utility", "missing column"),
    ("duplicate header", edit("assumptions", "note\n", "note,note\n"), "assumptions.csv", 1, "note", "twice"),
    ("blank line", edit("chip_specs", "h100,bf16_dense", "\nh100,bf16_dense"), "chip_specs.csv", 3, None, "blank"),
    ("short row", edit("chip_specs", "989,989,989,reported,S1,", "989,989,989,reported,S1"),
     "chip_specs.csv", 3, None, "short"),
    ("long row", edit("site_params", "1.1,1.2,1.3,estimate,S2,", "1.1,1.2,1.3,estimate,S2,,"),
     "site_params.csv", 2, None, "long"),
    ("not a number", edit("chip_specs", "W,90,90,90", "W,abc,90,90"), "chip_specs.csv", 5, "low",
     "value 'abc' is not a number"),
    ("empty number", edit("chip_specs", "W,90,90,90", "W,90,,90"), "chip_specs.csv", 5, "base", "empty"),
    ("infinite number", edit("chip_specs", "W,90,90,90", "W,90,90,1e999"), "chip_specs.csv", 5, "high", "finite"),
    ("overflow after unit conversion", edit("capex_quarterly", "USD bn,22.14", "USD bn,1e308"),
     "capex_quarterly.csv", 2, "value", "overflows"),
    ("full-width digits", edit("chip_specs", "h100,tdp,W,700,", "h100,tdp,W,\uff17\uff10\uff10,"), "chip_specs.csv", 2,
     "low", "is not a number"),
    ("unknown unit", edit("chip_specs", "h100,tdp,W,", "h100,tdp,kW,"), "chip_specs.csv", 2, "unit",
     "not in the units vocabulary"),
    ("unit not allowed for parameter", edit("chip_specs", "h100,tdp,W,", "h100,tdp,MW,"),
     "chip_specs.csv", 2, "unit", "not allowed for parameter 'tdp'"),
    ("unit not allowed for table", edit("site_capacity", "prometheus,2026Q3,MW", "prometheus,2026Q3,W"),
     "site_capacity.csv", 3, "unit", "not allowed"),
    ("unit not allowed for quantity", edit("fleet_milestones", "h100e_total,H100e", "h100e_total,units"),
     "fleet_milestones.csv", 2, "unit", "not allowed for quantity 'h100e_total' (allowed: H100e)"),
    ("zero where positive", edit("site_params", "hyperion,pue,1,1.1", "hyperion,pue,1,0"),
     "site_params.csv", 6, "low", "must be > 0"),
    ("negative", edit("capex_quarterly", "USD bn,22.14", "USD bn,-22.14"), "capex_quarterly.csv", 2, "value",
     "must be > 0"),
    ("negative capacity", edit("site_capacity", "MW,0,0,0", "MW,-1,0,0"), "site_capacity.csv", 2, "low",
     "must be >= 0"),
    ("low > base", edit("chip_specs", "25000,30000,40000", "35000,30000,40000"), "chip_specs.csv", 4, "low",
     "low 35000 > base 30000"),
    ("base > high", edit("chip_specs", "25000,30000,40000", "25000,50000,40000"), "chip_specs.csv", 4, "high",
     "base 50000 > high 40000"),
    ("duplicate key", edit("chip_specs", "h100,bf16_dense,TFLOPS,989", "h100,tdp,W,989"),
     "chip_specs.csv", 3, "generation, parameter", "duplicate key"),
    ("malformed quarter", edit("site_capacity", "2026Q3", "2026Q5"), "site_capacity.csv", 3, "quarter",
     "not a quarter"),
    ("malformed quarter text", edit("capex_quarterly", "2025Q4,ppe", "Q4 2025,ppe"), "capex_quarterly.csv", 3,
     "quarter", "not a quarter"),
    ("malformed date", edit("events", "2024-12-04", "2024-13-04"), "events.csv", 2, "date", "not a date"),
    ("malformed date form", edit("chips", "2024-04-10", "10/04/2024"), "chips.csv", 3, "announced", "not a date"),
    ("malformed source date", edit("sources", "n.d.", "nd"), "sources.csv", 4, "date", "not a date"),
    ("malformed year", edit("capex_annual", "2025,reported", "25,reported"), "capex_annual.csv", 2, "year",
     "not a year"),
    ("unknown enum value", edit("chips", "google,false", "alphabet,false"), "chips.csv", 4, "vendor",
     "'alphabet' is not one of"),
    ("unknown kind", edit("events", "site,reported", "site,rumour"), "events.csv", 2, "kind", "not one of"),
    ("bad bool", edit("chips", "nvidia,true", "nvidia,yes"), "chips.csv", 2, "in_meta_fleet", "true/false"),
    ("bad identifier", edit("chips", "tpu_v5,", "TPU-v5,"), "chips.csv", 4, "generation", "identifier"),
    ("bad url", edit("sources", "https://example.org/h100", "example.org/h100"), "sources.csv", 2, "url", "URL"),
    ("unknown source type", edit("sources", ",,press\n", ",,newspaper\n"), "sources.csv", 4, "source_type",
     "'newspaper' is not one of filing, company_release, datasheet, official_report, press, analyst, blog, aggregator"),
    ("empty source type", edit("sources", ",,datasheet\n", ",,\n"), "sources.csv", 2, "source_type", "is not one of"),
    ("missing source_type column", {"sources": "\n".join(line.rsplit(",", 1)[0] for line in
                                                       TINY_TABLES["sources"].splitlines()) + "\n"},
     "sources.csv", 1, "source_type", "missing column"),
    ("extra field", edit("events", "site,reported,S3", "site,reported,S3,S1"), "events.csv", 2, None, "long"),
    ("bad source id separator", edit("events", "reported,S3,", "reported,S3 S1,"), "events.csv", 2, "source_ids",
     "not a source id"),
    ("unknown generation", edit("chip_specs", "h100,unit_price", "h200,unit_price"), "chip_specs.csv", 4,
     "generation", "'h200' is not in chips.csv"),
    ("unknown generation in workloads", edit("chip_workloads", "h100,rec", "b200,rec"), "chip_workloads.csv", 2,
     "generation", "not in chips.csv"),
    ("site not in sites.csv", edit("site_capacity", "prometheus,2026Q1", "el_paso,2026Q1"),
     "site_capacity.csv", 2, "site", "'el_paso' is not in sites.csv"),
    ("missing source", edit("site_params", "estimate,S3,", "estimate,S9,"), "site_params.csv", 6, "source_ids",
     "'S9' is not in sources.csv"),
    ("empty source_ids", edit("chips", "reported,S2,", "reported,,"), "chips.csv", 3, "source_ids",
     "only assumptions may lack sources"),
    ("assumption without note", edit("assumptions", ",typical fleet utilisation", ","), "assumptions.csv", 2,
     "note", "needs a note"),
    ("fleet chip without tdp", edit("chip_specs", "mtia_v2,tdp,W,90,90,90,reported,S2,\n", ""), "chips.csv", 3,
     "generation", "'mtia_v2' has no 'tdp' row"),
    ("fleet chip without price", edit("chip_specs", "h100,unit_price,USD,25000,30000,40000,estimate,S1,\n", ""),
     "chips.csv", 2, "generation", "no 'unit_price' row"),
    ("site without a parameter", edit("site_params", "hyperion,carbon_intensity,gCO2/kWh,300,400,500,estimate,S3,\n",
                                      ""), "sites.csv", 3, "site", "no 'carbon_intensity' row"),
    ("site without milestone", edit("site_capacity", "hyperion,2028Q1,MW,1000,2000,2000,guidance,S3,\n"
                                    "hyperion,2031Q1,MW,4000,5000,5000,guidance,S3,\n", ""),
     "sites.csv", 3, "site", "no capacity milestone"),
    ("empty required text", edit("events", "Hyperion announced", ""), "events.csv", 2, "label", "empty"),
]


@pytest.mark.parametrize("replace, file, line, column, words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_rule_raises_data_error_naming_file_line_column(tmp_path, replace, file, line, column, words):
    folder = write_tables(tmp_path, **replace)
    with pytest.raises(DataError) as info:
        load_tables(folder)
    err = info.value
    assert (err.file, err.line, err.column) == (file, line, column), str(err)
    assert words in err.rule
    message = str(err)
    assert message.startswith(f"{file}, line {line}")
    if column is not None:
        assert f"column {column!r}" in message


def test_message_format_matches_contract_example():
    err = DataError("chip_specs.csv", 14, "low", "value 'abc' is not a number")
    assert str(err) == "chip_specs.csv, line 14, column 'low': value 'abc' is not a number"
    assert isinstance(err, ValueError)
    again = pickle.loads(pickle.dumps(err))
    assert (again.file, again.line, again.column, again.rule) == (err.file, err.line, err.column, err.rule)


def test_missing_file_is_a_data_error(tmp_path):
    folder = write_tables(tmp_path)
    (folder / "events.csv").unlink()
    with pytest.raises(DataError, match=r"^events\.csv: file is missing"):
        load_tables(folder)


def test_empty_file_and_bad_encoding(tmp_path):
    folder = write_tables(tmp_path, events="")
    with pytest.raises(DataError, match="events.csv, line 1: file is empty"):
        load_tables(folder)
    (folder / "events.csv").write_bytes(TINY_TABLES["events"].encode() + b"x,\xff\n")
    with pytest.raises(DataError, match="events.csv, line 3: file is not valid UTF-8"):
        load_tables(folder)


def test_line_numbers_count_physical_lines_of_quoted_newlines(tmp_path):
    text = TINY_TABLES["events"] + 'second,2025-01-01,"two\nlines",site,reported,S3,\nthird,2025-13-01,x,site,reported,S3,\n'
    folder = write_tables(tmp_path, events=text)
    with pytest.raises(DataError) as info:
        load_tables(folder)
    assert (info.value.line, info.value.column) == (5, "date")


def test_unterminated_quote_is_a_data_error(tmp_path):
    folder = write_tables(tmp_path, events=TINY_TABLES["events"] + 'x,2025-01-01,"open,site\n')
    with pytest.raises(DataError, match="events.csv"):
        load_tables(folder)


def test_units_vocabulary_factors():
    assert UNITS["USD bn"] == ("USD", 10**9)
    assert all(UNITS[canonical][0] == canonical for canonical, _ in UNITS.values())


@pytest.mark.parametrize("rule, good, bad", [
    (NUMBER, ["1", "-2.5", "1e9", ".5", "72.22"], ["", "abc", "1,0", " 1", "nan", "inf", "1_000", "0x10"]),
    (QUARTER, ["2026Q1", "2030Q4"], ["2026Q0", "2026Q5", "2026q1", " 2026Q1", "26Q1", "2026-Q1"]),
    (DATE, ["2024-02-29", "2026-01-28"], ["2023-02-29", "2026-1-28", "2026/01/28", "", "2026-01"]),
    (YEAR, ["2025"], ["25", "2025.0", "", "twenty"]),
])
def test_cell_rules(rule, good, bad):
    assert all(check_cell(rule, v) is None for v in good)
    assert all(check_cell(rule, v) for v in bad)


def test_value_floors_site_capacity_zero_assumptions_any_sign(tmp_path):
    assert TABLES["site_capacity"].value_floor == ">=0"
    assert TABLES["assumptions"].value_floor is None
    assert {t.name for t in TABLES.values() if t.value_floor != ">0"} == {"site_capacity", "assumptions"}
    growth = "demand_growth_long_run,1/year,-0.1,0,0.2,assumption,,may shrink\n"
    tables = load_tables(write_tables(tmp_path, assumptions=TINY_TABLES["assumptions"] + growth))
    assert tables["assumptions"]["low"].tolist() == [0.5, -0.1]
