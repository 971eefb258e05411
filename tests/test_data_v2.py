"""Model v2 data: deals.csv, financials.csv and the new chip_specs parameters (data11 build).

Tiny-table tests check the rules of the two new tables (each broken by one edit); real-table tests
check that the real tables load, that cross-references resolve, golden values of key rows, and that
chip_workloads.csv follows its one documented method (data/README.md, "H100-equivalence").
"""

import math

import numpy as np
import pytest

from chipsuite.data import load_dataset, load_tables
from chipsuite.schema import CHIP_PARAMETERS, TABLES, UNITS, DataError
from conftest import REAL_DATA_DIR, TINY_TABLES, write_tables

needs_real_data = pytest.mark.skipif(
    not all((REAL_DATA_DIR / f"{name}.csv").exists() for name in TABLES), reason="real data/ tables missing")


def _tiny(table, old, new):
    text = TINY_TABLES[table]
    assert old in text, (table, old)
    return {table: text.replace(old, new, 1)}


# --------------------------------------------------------------------------- schema of the new tables


def test_new_tables_units_and_parameters_are_registered():
    assert {"deals", "financials"} <= set(TABLES)
    names = list(TABLES)
    assert names.index("deals") > names.index("assumptions") and names.index("financials") > names.index("deals")
    assert UNITS["USD/hour"] == ("USD/hour", 1)
    for p, var in [("fp4_dense", "fp4_dense_tflops"), ("system_cost", "system_cost_usd"),
                   ("system_power_overhead", "system_power_overhead"),
                   ("rental_price", "rental_price_usd_per_hour")]:
        assert CHIP_PARAMETERS[p][1] == var
    assert TABLES["deals"].key == ("deal_id", "tranche")
    assert TABLES["financials"].key == ("period", "measure")


def test_tiny_new_tables_load_typed_in_canonical_units(tiny_data_dir):
    t = load_tables(tiny_data_dir)
    deals, fin = t["deals"], t["financials"]
    assert deals["start_quarter"].dtype == np.dtype("datetime64[ns]")
    assert deals.loc[1, "base"] == 20e9 and deals.loc[1, "unit"] == "USD"
    assert deals.loc[1, "generation"] == ""  # unknown generation is allowed
    assert fin.loc[0, "base"] == pytest.approx(18.62e9) and fin["period"].tolist() == ["2025", "2025Q4"]
    ds = load_dataset(tiny_data_dir)  # new tables do not disturb the dataset
    assert "fp4_dense_tflops" in ds and ds.rental_price_usd_per_hour.attrs["units"] == "USD/hour"


BROKEN = [
    ("generation not in chips", _tiny("deals", "purchase,h100,2026Q1", "purchase,h999,2026Q1"),
     "deals.csv", 2, "generation", "not in chips.csv"),
    ("end before start", _tiny("deals", "2026Q1,2027Q4", "2026Q1,2025Q4"),
     "deals.csv", 2, "end_quarter", "before start_quarter"),
    ("tranche with other supplier", _tiny("deals", "nvidia_2026,2,Nvidia,nvidia", "nvidia_2026,2,Nvidia,amd"),
     "deals.csv", 3, "supplier", "share counterparty"),
    ("unit not allowed for measure", _tiny("deals", "value,USD bn,10", "value,MW,10"),
     "deals.csv", 3, "unit", "not allowed for measure 'value'"),
    ("bad supplier", _tiny("deals", "Nvidia,nvidia,purchase,h100", "Nvidia,intel,purchase,h100"),
     "deals.csv", 2, "supplier", "not one of"),
    ("tranche not a number", _tiny("deals", "nvidia_2026,2,", "nvidia_2026,two,"),
     "deals.csv", 3, "tranche", "not one of"),
    ("duplicate tranche", _tiny("deals", "nvidia_2026,2,", "nvidia_2026,1,"),
     "deals.csv", 3, "deal_id, tranche", "duplicate key"),
    ("bad period", _tiny("financials", "2025Q4,finance", "2025-12,finance"),
     "financials.csv", 3, "period", "not a year YYYY or a quarter"),
    ("margin in USD", _tiny("financials", "2025,depreciation_amortization,USD bn", "2025,amd_gross_margin,USD bn"),
     "financials.csv", 2, "unit", "not allowed for measure 'amd_gross_margin'"),
    ("assumption without note", _tiny("deals", "assumption,,tranche split assumed", "assumption,,"),
     "deals.csv", 3, "note", "needs a note"),
    ("unknown source", _tiny("financials", "reported,S2,\n2025Q4", "reported,S9,\n2025Q4"),
     "financials.csv", 2, "source_ids", "not in sources.csv"),
    ("rental price in USD", _tiny("chip_specs", "h100,unit_price,USD,25000,30000,40000",
                                  "h100,rental_price,USD,2,3,4"),
     "chip_specs.csv", 4, "unit", "not allowed for parameter 'rental_price'"),
    ("zero deal volume", _tiny("deals", "units,units,100000", "units,units,0"),
     "deals.csv", 2, "low", "must be > 0"),
]


@pytest.mark.parametrize("label,replace,file,line,column,rule", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_rows_name_file_line_column(tmp_path, label, replace, file, line, column, rule):
    with pytest.raises(DataError) as err:
        load_tables(write_tables(tmp_path, **replace))
    e = err.value
    assert (e.file, e.line, e.column) == (file, line, column), str(e)
    assert rule in e.rule, str(e)


def test_missing_new_table_is_a_data_error(tmp_path):
    folder = write_tables(tmp_path)
    (folder / "deals.csv").unlink()
    with pytest.raises(DataError, match="deals.csv: file is missing"):
        load_tables(folder)


# --------------------------------------------------------------------------- the real tables


@pytest.fixture(scope="module")
def real():
    return load_tables(REAL_DATA_DIR)


@needs_real_data
def test_real_new_tables_load_and_resolve(real):
    chips = set(real["chips"]["generation"])
    sources = set(real["sources"]["source_id"])
    for name in ("deals", "financials", "chip_specs", "chip_workloads"):
        for cell in real[name]["source_ids"]:
            assert set(filter(None, cell.split(";"))) <= sources, (name, cell)
    deals = real["deals"]
    assert set(filter(None, deals["generation"])) <= chips
    assert (deals["end_quarter"] >= deals["start_quarter"]).all()
    assert set(deals["supplier"]) == {"nvidia", "amd", "coreweave", "google_cloud", "other_cloud"}
    assert any(100 <= int(s[1:]) <= 199 for s in sources)  # data11 sources are S100-S199


@needs_real_data
def test_real_chips_v2_rows(real):
    chips = real["chips"].set_index("generation")
    assert chips.loc["mi300x", "vendor"] == "amd" and chips.loc["mi300x", "in_meta_fleet"]
    assert chips.loc["mi450", "in_meta_fleet"] and chips.loc["mi450", "first_volume_quarter"] == np.datetime64(
        "2026-07-01")
    assert not chips.loc["mi355x", "in_meta_fleet"]  # no public evidence of a Meta purchase
    assert not chips.loc["tpu7_ironwood", "in_meta_fleet"]  # rented
    assert chips.loc["rubin_ultra", "kind"] == "guidance" and chips.loc["feynman", "in_meta_fleet"]


@needs_real_data
def test_real_golden_values_v2(real):
    specs = real["chip_specs"].set_index(["generation", "parameter"])
    assert specs.loc[("h100", "system_power_overhead"), "base"] == 1.82
    assert specs.loc[("gb200", "system_power_overhead"), "base"] == 1.39
    assert specs.loc[("h100", "system_cost"), "base"] == 45000
    assert specs.loc[("gb200", "fp4_dense"), "base"] == 10000
    assert specs.loc[("mi450", "memory_bandwidth"), "base"] == 19.6
    assert specs.loc[("mi300x", "rental_price"), ["low", "base", "high"]].tolist() == [1.5, 1.99, 6.0]
    assert specs.loc[("gb300", "fp8_dense"), "base"] == 5000  # per GPU in NVL72
    fin = real["financials"].set_index(["period", "measure"])
    assert fin.loc[("2025", "depreciation_amortization"), "base"] == pytest.approx(18.616e9)
    assert fin.loc[("2024", "finance_lease_principal"), "base"] == pytest.approx(1.969e9)
    assert fin.loc[("2025", "nvidia_gross_margin"), "base"] == pytest.approx(0.711)
    assert fin.loc[("2025", "server_useful_life"), "unit"] == "years"
    deals = real["deals"].set_index(["deal_id", "tranche"])
    assert deals.loc[("coreweave_meta", "1"), "base"] == pytest.approx(14.2e9)
    assert deals.loc[("coreweave_meta", "2"), "base"] == pytest.approx(21e9)
    assert deals.loc[("amd_2026", "1"), ["unit", "base", "kind"]].tolist() == ["MW", 1000, "guidance"]
    assert deals.xs("amd_2026", level="deal_id")["base"].max() == 1000  # tranches of at most 1 GW
    assert deals.loc[("meta_q1_2026_commitments", "1"), "base"] == pytest.approx(107e9)
    work = real["chip_workloads"].set_index(["generation", "workload"])
    assert work.loc[("rubin", "genai_inference"), "base"] == 13
    assert work.loc[("mi450", "genai_inference"), "method"] == "fp4_bw_geomean"


@needs_real_data
def test_real_capex_quarterly_headline_equals_ppe_plus_finance_leases(real):
    cq = real["capex_quarterly"].pivot(index="quarter", columns="measure", values="value").dropna()
    fin = real["financials"]
    lease = fin[(fin["measure"] == "finance_lease_principal") & fin["period"].str.contains("Q")]
    from chipsuite.quarters import parse_quarter

    lease = {parse_quarter(p): v for p, v in zip(lease["period"], lease["base"])}
    checked = 0
    for q, row in cq.iterrows():
        if np.datetime64(q, "ns") in lease:
            assert row["headline"] - row["ppe"] == pytest.approx(lease[np.datetime64(q, "ns")], abs=0.02e9), q
            checked += 1
    assert checked >= 8


@needs_real_data
def test_real_fleet_chips_have_v2_parameters(real):
    chips = real["chips"]
    specs = set(zip(real["chip_specs"]["generation"], real["chip_specs"]["parameter"]))
    fleet = chips.loc[chips["in_meta_fleet"], "generation"].tolist()
    for g in fleet + ["tpu7_ironwood", "mi355x"]:
        for p in ("tdp", "bf16_dense", "unit_price", "system_cost", "system_power_overhead") if g != "tpu7_ironwood" \
                else ("tdp", "system_cost", "system_power_overhead"):
            assert (g, p) in specs, (g, p)
    for g in ("h100", "h200", "b200", "gb200", "gb300", "tpu7_ironwood", "mi300x"):
        assert (g, "rental_price") in specs, g
    work = set(zip(real["chip_workloads"]["generation"], real["chip_workloads"]["workload"]))
    for g in fleet:
        has = {w for gg, w in work if gg == g}
        assert bool(has) == (g not in ("mtia_v1", "mtia_v2")), (g, has)
    ds = load_dataset(REAL_DATA_DIR)
    assert ds.system_cost_usd.sel(generation=fleet).notnull().all()
    assert (ds.system_power_overhead.sel(generation=fleet) >= 1).all()


REF = {"bf16_dense": 989.0, "fp8_dense": 1979.0, "memory_bandwidth": 3.35}
HAIRCUT = {"nvidia": 1 / 1.2}  # log-symmetric with the high x 1.2; every other vendor 0.6


def _sig2(x):
    return float(f"{x:.2g}")


@needs_real_data
def test_real_chip_workloads_follow_one_method(real):
    specs = real["chip_specs"].set_index(["generation", "parameter"])
    vendor = real["chips"].set_index("generation")["vendor"]
    for _, row in real["chip_workloads"].iterrows():
        g, method = row["generation"], row["method"]
        if g == "h100":
            assert (row["low"], row["base"], row["high"]) == (1, 1, 1)
            continue
        precision = {"bf16_ratio": "bf16_dense", "fp8_ratio": "fp8_dense", "bf16_bw_geomean": "bf16_dense",
                     "fp8_bw_geomean": "fp8_dense", "fp4_bw_geomean": "fp4_dense"}[method]
        ref = 1979.0 if precision in ("fp8_dense", "fp4_dense") else 989.0
        if "inference" in row["workload"]:
            assert method.endswith("bw_geomean"), (g, row["workload"])
            # lowest precision the chip has a row for
            lowest = next(p for p in ("fp4_dense", "fp8_dense", "bf16_dense") if (g, p) in specs.index)
            assert precision == lowest, (g, method)
        else:
            assert method.endswith("ratio")
            expected = "bf16_dense" if row["workload"] == "rec_training" or (g, "fp8_dense") not in specs.index \
                else "fp8_dense"
            assert precision == expected, (g, row["workload"], method)

        def formula(bound):
            x = specs.loc[(g, precision), bound] / ref
            if method.endswith("bw_geomean"):
                x = math.sqrt(x * specs.loc[(g, "memory_bandwidth"), bound] / 3.35)
            return x

        haircut = HAIRCUT.get(vendor[g], 0.6)
        assert row["base"] == _sig2(formula("base")), (g, row["workload"])
        assert row["low"] == _sig2(formula("low") * haircut), (g, row["workload"])
        assert row["high"] == _sig2(formula("high") * 1.2), (g, row["workload"])


@needs_real_data
def test_real_newer_generations_do_not_rate_below_predecessors(real):
    work = real["chip_workloads"].set_index(["generation", "workload"])["base"]
    lines = [["a100", "h100", "h200", "b200", "gb200", "gb300", "rubin", "rubin_ultra", "feynman"],
             ["mi300x", "mi355x", "mi450"], ["mtia_300", "mtia_400", "mtia_450", "mtia_500"]]
    for line in lines:
        for w in ("rec_training", "genai_inference", "large_genai_inference", "frontier_training"):
            values = [work[(g, w)] for g in line if (g, w) in work.index]
            assert values == sorted(values), (w, line, values)
