"""Energy tables for issue #12: energy_contracts, fleet_energy_reported, grid_regions, site_power_plans.

Real-data tests read data/ (golden values, cross-references, internal consistency); the broken-row
tests corrupt one cell of the tiny fixture tables and expect a DataError naming file, line and column.
"""

import math

import numpy as np
import pandas as pd
import pytest

from chipsuite.data import load_tables
from chipsuite.schema import (
    CONTRACT_TYPES, ENERGY_TECHNOLOGIES, FLEET_SITE, PRICE_COLUMNS, TABLES, UNITS, DataError,
)
from conftest import REAL_DATA_DIR, TINY_TABLES, write_tables

ENERGY_TABLES = ("energy_contracts", "fleet_energy_reported", "grid_regions", "site_power_plans")
needs_energy_data = pytest.mark.skipif(
    not all((REAL_DATA_DIR / f"{n}.csv").exists() for n in ENERGY_TABLES), reason="energy tables not written yet")


@pytest.fixture(scope="module")
def real():
    return load_tables()


def _one(df, **keys):
    mask = np.ones(len(df), dtype=bool)
    for k, v in keys.items():
        mask &= (df[k] == v).to_numpy()
    rows = df[mask]
    assert len(rows) == 1, (keys, len(rows))
    return rows.iloc[0]


def _fleet(real, year, measure):
    return _one(real["fleet_energy_reported"], year=year, measure=measure)


# --------------------------------------------------------------------------- schema


def test_energy_tables_are_appended_with_their_units():
    names = list(TABLES)
    assert names[-4:] == list(ENERGY_TABLES)
    for unit in ("MWh", "L/kWh", "ML", "tCO2"):
        assert UNITS[unit] == (unit, 1)
    assert TABLES["energy_contracts"].columns["technology"][1] == ENERGY_TECHNOLOGIES
    assert TABLES["energy_contracts"].columns["contract_type"][1] == CONTRACT_TYPES


def test_tiny_energy_tables_load_with_typed_prices(tiny_data_dir):
    t = load_tables(tiny_data_dir)
    c = t["energy_contracts"]
    assert c["start_quarter"].dtype == "datetime64[ns]" and c["end_quarter"].dtype == "datetime64[ns]"
    for col in PRICE_COLUMNS:
        assert c[col].dtype == float
    assert np.isnan(c.loc[0, "price_usd_per_mwh_base"])  # not_public -> NaN
    assert c.loc[1, "price_usd_per_mwh_base"] == 75.0
    assert t["fleet_energy_reported"]["year"].dtype == np.int64
    assert t["fleet_energy_reported"]["unit"].tolist() == ["MWh", "1", "MWh"]


# --------------------------------------------------------------------------- real data: load and cross-references


@needs_energy_data
def test_real_energy_tables_load_with_rows(real):
    assert len(real["energy_contracts"]) >= 15
    assert len(real["fleet_energy_reported"]) >= 100
    assert len(real["grid_regions"]) >= 10
    assert len(real["site_power_plans"]) >= 8


@needs_energy_data
def test_real_energy_cross_references_resolve(real):
    sites = set(real["sites"]["site"])
    sources = set(real["sources"]["source_id"])
    assert set(real["energy_contracts"]["site"]) <= sites | {FLEET_SITE}
    assert set(real["site_power_plans"]["site"]) <= sites
    for name in ENERGY_TABLES:
        for ids in real[name]["source_ids"]:
            assert set(filter(None, ids.split(";"))) <= sources, (name, ids)
    # the sources this build added are S200-S299 only (S400+ are primary documents added later)
    cited = {s for name in ENERGY_TABLES for ids in real[name]["source_ids"] for s in filter(None, ids.split(";"))}
    new = [s for s in sources if 200 <= int(s[1:]) < 400]
    assert new and all(200 <= int(s[1:]) <= 299 for s in new)
    assert all(int(s[1:]) <= 299 for s in cited)


@needs_energy_data
def test_real_contracts_are_consistent(real):
    c = real["energy_contracts"]
    assert c["contract_id"].is_unique
    assert (c["end_quarter"] >= c["start_quarter"]).all()
    assert (c["low"] <= c["base"]).all() and (c["base"] <= c["high"]).all()
    assert set(c["unit"]) == {"MW"}
    not_public = c["price_kind"] == "not_public"
    assert c.loc[not_public, list(PRICE_COLUMNS)].isna().all().all()
    assert c.loc[~not_public, list(PRICE_COLUMNS)].notna().all().all()
    assert (c["carbon_intensity_gco2_per_kwh"] > 0).all()
    # every assumption-heavy row explains itself
    assert all(note.strip() for note in c["note"])


# --------------------------------------------------------------------------- real data: golden values


@needs_energy_data
def test_golden_contracts(real):
    c = real["energy_contracts"].set_index("contract_id")
    clinton = c.loc["constellation_clinton"]
    assert (clinton.low, clinton.base, clinton.high) == (1121, 1121, 1121)
    assert clinton.start_quarter == pd.Timestamp("2027-04-01")  # 2027Q2 (June 2027)
    assert clinton.end_quarter == pd.Timestamp("2047-04-01")  # 20-year term
    assert (clinton.technology, clinton.contract_type, clinton.site) == ("nuclear", "ppa", "fleet")
    assert c.loc["vistra_perry_davis_besse", "base"] == 2176
    assert c.loc["vistra_uprates", "base"] == 433
    assert c.loc["oklo_pike_county", "base"] == 1200
    assert c.loc["terrapower_natrium_firm", "base"] == 690
    assert c.loc["terrapower_natrium_firm", "start_quarter"] == pd.Timestamp("2032-01-01")
    assert c.loc["terrapower_natrium_option", "base"] == 2100
    gas = c.loc[["entergy_ccct_richland", "entergy_ccct_waterford"], "base"].sum()
    assert gas == 2262  # the LPSC-approved CCCT package for Hyperion
    assert (c.loc[["entergy_ccct_richland", "entergy_ccct_waterford"], "site"] == "hyperion").all()
    assert c.loc["entergy_solar_hyperion", "base"] == 1500
    socrates = c.loc["williams_socrates"]
    assert (socrates.base, socrates.site, socrates.contract_type) == (400, "prometheus", "on_site")
    assert socrates.start_quarter == pd.Timestamp("2026-07-01")
    assert (c.loc["epe_mccloud", "base"], c.loc["epe_mccloud", "site"]) == (366, "el_paso")
    nuclear = c[(c.technology == "nuclear") & (c.contract_type != "option")]
    assert nuclear["base"].sum() >= 5600  # Clinton + Vistra + uprates + Oklo + TerraPower firm


@needs_energy_data
def test_golden_fleet_2023_matches_ledger(real):
    assert _fleet(real, 2023, "electricity_total").base == 14_975_435
    assert _fleet(real, 2023, "electricity_leased").base == 2_187_020
    assert _fleet(real, 2023, "pue_fleet").base == 1.08
    assert _fleet(real, 2023, "water_withdrawal").base == 3_881
    assert _fleet(real, 2023, "renewable_matching").base == 1.0
    assert _fleet(real, 2023, "electricity_site_prineville").base == 1_375_321
    assert _fleet(real, 2023, "electricity_site_altoona").base == 1_243_306
    assert _fleet(real, 2023, "electricity_site_sarpy").base == 1_148_091
    assert _fleet(real, 2024, "electricity_total").base == 18_061_781
    assert _fleet(real, 2024, "pue_fleet").base == 1.08
    # rest_of_fleet's reported PUE in site_params.csv is the same 2023 figure
    pue = _one(real["site_params"], site="rest_of_fleet", parameter="pue")
    assert pue.base == _fleet(real, 2023, "pue_fleet").base


@needs_energy_data
def test_fleet_series_are_internally_consistent(real):
    f = real["fleet_energy_reported"]
    assert (f.low == f.base).all() and (f.base == f.high).all()  # reported figures are exact
    years = range(2019, 2025)
    for y in years:
        total = _fleet(real, y, "electricity_total").base
        leased = _fleet(real, y, "electricity_leased").base
        sites = f[(f.year == y) & f.measure.str.startswith("electricity_site_")]["base"].sum()
        assert leased < total
        # owned sites + leased <= data-centre total (the rest is "other data center-related facilities")
        assert sites + leased <= total * 1.001, y
        assert sites + leased >= total * 0.95, y
        assert 1.0 < _fleet(real, y, "pue_fleet").base < 1.2
    for y in range(2019, 2024):
        assert _fleet(real, y, "electricity_total").base < _fleet(real, y, "electricity_company_total").base
        assert _fleet(real, y, "water_withdrawal").base < _fleet(real, y, "water_withdrawal_company").base
    # data-centre electricity grew every year 2019-2024
    totals = [_fleet(real, y, "electricity_total").base for y in years]
    assert totals == sorted(totals)


@needs_energy_data
def test_golden_grid_regions(real):
    g = real["grid_regions"]
    ohio = _one(g, region="pjm_aep_ohio", measure="carbon_intensity_location", year=2023)
    assert ohio.base == pytest.approx(361857 / 793063 * 1000, abs=0.05)
    el_paso = _one(g, region="wecc_el_paso_electric", measure="carbon_intensity_location", year=2023)
    assert el_paso.base == pytest.approx(392487 / 1110100 * 1000, abs=0.05)
    fleet = _one(g, region="meta_fleet_dc", measure="carbon_intensity_location", year=2023)
    lb = _fleet(real, 2023, "scope2_location_based_dc").base
    assert fleet.base == pytest.approx(lb / _fleet(real, 2023, "electricity_total").base * 1000, abs=0.05)
    assert _one(g, region="miso_entergy_louisiana", measure="industrial_price", year=2023).base == 58.8
    assert set(g["unit"]) <= {"gCO2/kWh", "USD/MWh"}


@needs_energy_data
def test_site_power_plans(real):
    p = real["site_power_plans"]
    assert p["quarter"].max() <= pd.Timestamp("2032-10-01")
    assert _one(p, site="hyperion", quarter=pd.Timestamp("2029-10-01")).base == 2262
    assert _one(p, site="hyperion", quarter=pd.Timestamp("2032-10-01")).high == 7000
    assert _one(p, site="el_paso", quarter=pd.Timestamp("2027-07-01")).base == 366
    # per site the base path never falls
    for _, rows in p.sort_values("quarter").groupby("site"):
        assert rows["base"].is_monotonic_increasing


# --------------------------------------------------------------------------- broken rows name file, line, column


def _replace(table, old, new):
    text = TINY_TABLES[table]
    assert old in text, (table, old)
    return {table: text.replace(old, new, 1)}


BROKEN = [
    ("bad technology", _replace("energy_contracts", "Plant A,nuclear,", "Plant A,coal,"),
     "energy_contracts.csv", 2, "technology", "not one of"),
    ("end before start", _replace("energy_contracts", "2027Q2,2047Q2", "2027Q2,2026Q1"),
     "energy_contracts.csv", 2, "end_quarter", "before start_quarter"),
    ("unknown site", _replace("energy_contracts", ",nuclear,fleet,", ",nuclear,el_paso,"),
     "energy_contracts.csv", 2, "site", "not in sites.csv"),
    ("price with not_public", _replace("energy_contracts", ",12,,,,not_public", ",12,50,,,not_public"),
     "energy_contracts.csv", 2, "price_usd_per_mwh_low", "must be empty"),
    ("missing assumed price", _replace("energy_contracts", "530,60,75,90,assumption", "530,60,,90,assumption"),
     "energy_contracts.csv", 3, "price_usd_per_mwh_base", "price is empty"),
    ("price order", _replace("energy_contracts", "530,60,75,90,assumption", "530,80,75,90,assumption"),
     "energy_contracts.csv", 3, "price_usd_per_mwh_low", "low 80 > base 75"),
    ("bad price", _replace("energy_contracts", "530,60,75,90,assumption", "530,60,x,90,assumption"),
     "energy_contracts.csv", 3, "price_usd_per_mwh_base", "not a number"),
    ("wrong contract unit", _replace("energy_contracts", ",ppa,MW,1000", ",ppa,MWh,1000"),
     "energy_contracts.csv", 2, "unit", "not allowed"),
    ("unknown measure", _replace("fleet_energy_reported", "2023,pue_fleet,", "2023,pue_total,"),
     "fleet_energy_reported.csv", 3, "measure", "not one of"),
    ("unit for measure", _replace("fleet_energy_reported", "2023,electricity_total,MWh,", "2023,electricity_total,MW,"),
     "fleet_energy_reported.csv", 2, "unit", "not allowed for measure"),
    ("pue below 1", _replace("fleet_energy_reported", "pue_fleet,1,1.08,", "pue_fleet,1,0.9,"),
     "fleet_energy_reported.csv", 3, "low", "outside the range"),
    ("unknown source", _replace("fleet_energy_reported", "1375321,reported,S2,", "1375321,reported,S299,"),
     "fleet_energy_reported.csv", 4, "source_ids", "not in sources.csv"),
    ("grid unit", _replace("grid_regions", "industrial_price,2023,USD/MWh", "industrial_price,2023,gCO2/kWh"),
     "grid_regions.csv", 3, "unit", "not allowed"),
    ("grid measure", _replace("grid_regions", "pjm,industrial_price", "pjm,retail_price"),
     "grid_regions.csv", 3, "measure", "not one of"),
    ("plan after 2032", _replace("site_power_plans", "hyperion,2028Q4", "hyperion,2033Q1"),
     "site_power_plans.csv", 2, "quarter", "after 2032Q4"),
    ("plan site not in sites.csv", _replace("site_power_plans", "hyperion,2028Q4", "el_paso,2028Q4"),
     "site_power_plans.csv", 2, "site", "not in sites.csv"),
    ("plan zero", _replace("site_power_plans", "MW,754,1508", "MW,0,1508"),
     "site_power_plans.csv", 2, "low", "must be > 0"),
]


@pytest.mark.parametrize("label, replace, file, line, column, rule", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_energy_row_names_file_line_column(tmp_path, label, replace, file, line, column, rule):
    folder = write_tables(tmp_path, **replace)
    with pytest.raises(DataError) as info:
        load_tables(folder)
    err = info.value
    assert (err.file, err.line, err.column) == (file, line, column), str(err)
    assert rule in err.rule, str(err)
    assert str(err).startswith(f"{file}, line {line}, column {column!r}: ")


def test_missing_energy_file_is_named(tmp_path):
    folder = write_tables(tmp_path)
    (folder / "energy_contracts.csv").unlink()
    with pytest.raises(DataError, match=r"energy_contracts\.csv: file is missing"):
        load_tables(folder)


def test_optional_number_is_finite_or_empty():
    from chipsuite.schema import OPTIONAL_NUMBER, check_cell

    assert check_cell(OPTIONAL_NUMBER, "") is None
    assert check_cell(OPTIONAL_NUMBER, "72.5") is None
    assert "not a number" in check_cell(OPTIONAL_NUMBER, "n/a")
    assert "finite" in check_cell(OPTIONAL_NUMBER, "1e999")
    assert math.isfinite(float("72.5"))
