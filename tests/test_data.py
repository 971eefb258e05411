"""load_tables / load_dataset: typing, units, dataset layout, golden values, provenance."""

import numpy as np
import pandas as pd
import pytest

from chipsuite import data as chipdata
from chipsuite.data import load_dataset, load_tables, provenance, resolve_data_dir, variable_sources
from chipsuite.schema import TABLES
from conftest import REAL_DATA_DIR, real_data_available, write_tables

needs_real_data = pytest.mark.skipif(not real_data_available(), reason="real data/ tables not written yet")


# --------------------------------------------------------------------------- tiny tables, golden by hand


def test_tables_are_typed_and_in_canonical_units(tiny_data_dir):
    t = load_tables(tiny_data_dir)
    annual = t["capex_annual"]
    assert annual["unit"].tolist() == ["USD"] * 4
    assert annual.loc[0, "base"] == 72_220_000_000.0  # 72.22 USD bn, exact
    q = t["capex_quarterly"]
    assert q["value"].tolist() == [22_140_000_000.0, 21_500_000_000.0, 5_500_000_000.0]  # 2021Q4 row kept
    assert q["quarter"].dtype == "datetime64[ns]"
    assert q.loc[0, "quarter"] == pd.Timestamp("2025-10-01")
    assert t["chips"]["in_meta_fleet"].tolist() == [True, True, False]
    assert t["chips"]["announced"].dtype == "datetime64[ns]"
    assert annual["year"].dtype == np.int64
    assert t["sources"]["date"].tolist() == ["2023-03-21", "2026-01-28", "n.d."]


def test_dataset_layout(tiny_data_dir):
    ds = load_dataset(tiny_data_dir)
    assert ds.sizes["quarter"] == 44  # 2022Q1-2032Q4
    assert ds.quarter.dtype == "datetime64[ns]"
    assert ds.quarter.values[0] == np.datetime64("2022-01-01", "ns")
    assert ds.quarter_label.values[0] == "2022Q1" and ds.quarter_label.values[-1] == "2032Q4"
    assert ds.bound.values.tolist() == ["low", "base", "high"]
    assert ds.workload.values.tolist() == ["rec_training", "genai_inference", "large_genai_inference",
                                           "frontier_training"]
    assert ds.measure.values.tolist() == ["headline", "ppe"]
    assert ds.series.values.tolist() == ["reported", "guidance_latest", "consensus_latest"]
    assert ds.generation.values.tolist() == ["h100", "mtia_v2", "tpu_v5"]  # file order
    assert ds.in_meta_fleet.dtype == bool
    assert ds.first_volume_quarter.sel(generation="mtia_v2").values == np.datetime64("2024-04-01", "ns")
    assert ds.name_site.sel(site="hyperion").item() == "Hyperion"
    assert set(ds.attrs) >= {"chipsuite_version", "data_dir", "title"}
    assert ds.attrs["data_dir"] == str(tiny_data_dir.resolve())
    for name, var in ds.data_vars.items():
        assert {"units", "long_name", "source_table", "source_ids"} <= set(var.attrs), name


def test_dataset_golden_values_tiny(tiny_data_dir):
    ds = load_dataset(tiny_data_dir)
    assert ds.tdp_w.sel(generation="h100", bound="base").item() == 700
    assert np.isnan(ds.tdp_w.sel(generation="tpu_v5", bound="base").item())  # missing row -> NaN
    assert ds.unit_price_usd.sel(generation="mtia_v2").values.tolist() == [3000, 5000, 8000]
    assert ds.h100e_factor.sel(generation="mtia_v2", workload="rec_training").values.tolist() == [0.1, 0.2, 0.3]
    assert np.isnan(ds.h100e_factor.sel(generation="h100", workload="frontier_training")).all()
    assert ds.eligible.sel(generation="h100").values.tolist() == [True, False, False, False]
    assert ds.long_run_capacity_mw.sel(site="hyperion", bound="base").item() == 5000


def test_dataset_capex_and_source_attrs_tiny(tiny_data_dir):
    ds = load_dataset(tiny_data_dir)
    # capex: quarterly, in USD; 2021Q4 lies outside the dataset quarters
    assert ds.capex_quarterly_usd.sel(quarter="2025-10-01", measure="headline").item() == 22.14e9
    assert ds.capex_quarterly_usd.sel(quarter="2025-10-01", measure="ppe").item() == 21.5e9
    assert int(ds.capex_quarterly_usd.notnull().sum()) == 2
    assert ds.capex_annual_usd.sel(year=2025, series="reported", bound="base").item() == 72.22e9
    # guidance_latest is the range given on 2026-01-28, not the older 2025-10-29 one
    assert ds.capex_annual_usd.sel(year=2026, series="guidance_latest").values.tolist() == [115e9, 125e9, 135e9]
    assert ds.capex_annual_usd.sel(year=2026, series="consensus_latest", bound="base").item() == 110e9
    assert np.isnan(ds.capex_annual_usd.sel(year=2025, series="guidance_latest")).all()
    assert ds.capex_annual_usd.attrs["source_ids"] == "S2"
    assert ds.site_capacity_mw.attrs["source_ids"] == "S2 S3"
    assert ds.unit_price_usd.attrs["source_ids"] == "S1"  # the assumption row has no source


def test_site_capacity_interpolation_by_hand(tiny_data_dir):
    cap = load_dataset(tiny_data_dir).site_capacity_mw
    prom = cap.sel(site="prometheus", bound="base").to_series()
    prom.index = [f"{t.year}Q{(t.month - 1) // 3 + 1}" for t in prom.index]
    # 0 before the first milestone (2026Q1 = 0), linear to 1000 at 2026Q3, then held
    assert prom["2025Q4"] == 0 and prom["2026Q1"] == 0
    assert prom["2026Q2"] == 500 and prom["2026Q3"] == 1000 and prom["2030Q4"] == 1000
    hyp = cap.sel(site="hyperion")
    # 0 before 2028Q1; 2000 -> 5000 over 12 quarters to 2031Q1 (beyond the dataset): +250 MW per quarter
    assert hyp.sel(quarter="2027-10-01", bound="base").item() == 0
    assert hyp.sel(quarter="2028-01-01", bound="base").item() == 2000
    assert hyp.sel(quarter="2029-01-01", bound="base").item() == 3000
    assert hyp.sel(quarter="2030-10-01", bound="base").item() == 2000 + 11 * 250
    assert hyp.sel(quarter="2030-10-01", bound="low").item() == 1000 + 11 * 250  # (4000-1000)/12 = 250


def test_site_capacity_function_holds_after_last_and_zero_before_first():
    quarters = pd.date_range("2022-01-01", periods=8, freq="QS").values
    rows = pd.DataFrame({"site": ["a", "a"], "quarter": quarters[[2, 4]],
                         "low": [10.0, 30.0], "base": [10.0, 30.0], "high": [10.0, 50.0]})
    out = chipdata.site_capacity_mw(rows, ["a", "b"], quarters)
    assert out[0, :, 1].tolist() == [0, 0, 10, 20, 30, 30, 30, 30]
    assert out[0, :, 2].tolist() == [0, 0, 10, 30, 50, 50, 50, 50]
    assert (out[1] == 0).all()


def test_data_dir_argument_env_and_default(tiny_data_dir, monkeypatch):
    monkeypatch.delenv("CHIPSUITE_DATA_DIR", raising=False)
    assert resolve_data_dir() == REAL_DATA_DIR.resolve()
    monkeypatch.setenv("CHIPSUITE_DATA_DIR", str(tiny_data_dir))
    assert resolve_data_dir() == tiny_data_dir.resolve()
    assert load_dataset().attrs["data_dir"] == str(tiny_data_dir.resolve())
    assert resolve_data_dir(REAL_DATA_DIR) == REAL_DATA_DIR.resolve()  # argument wins


def test_cached_results_are_copies(tiny_data_dir):
    ds = load_dataset(tiny_data_dir)
    ds["tdp_w"].loc[{"generation": "h100", "bound": "base"}] = -1
    ds.attrs["title"] = "changed"
    again = load_dataset(tiny_data_dir)
    assert again.tdp_w.sel(generation="h100", bound="base").item() == 700
    assert again.attrs["title"] != "changed"
    t = load_tables(tiny_data_dir)
    t["chip_specs"].loc[0, "base"] = -1
    assert load_tables(tiny_data_dir)["chip_specs"].loc[0, "base"] == 700


def test_cache_notices_edited_files(tiny_data_dir):
    assert load_dataset(tiny_data_dir).tdp_w.sel(generation="h100", bound="base").item() == 700
    path = tiny_data_dir / "chip_specs.csv"
    path.write_text(path.read_text().replace("h100,tdp,W,700,700,700", "h100,tdp,W,700,710,720,"[:-1]))
    assert load_dataset(tiny_data_dir).tdp_w.sel(generation="h100", bound="base").item() == 710


def test_provenance_joins_sources(tiny_data_dir):
    p = provenance("chip_specs", data_dir=tiny_data_dir, generation="h100", parameter="tdp")
    assert len(p) == 1
    assert p.loc[0, "publisher"] == "Nvidia" and p.loc[0, "url"] == "https://example.org/h100"
    assert p.loc[0, "base"] == 700
    q = provenance("capex_quarterly", data_dir=tiny_data_dir, quarter="2025Q4")
    assert q["measure"].tolist() == ["headline", "ppe"] and set(q["source_id"]) == {"S2"}
    a = provenance("chip_specs", data_dir=tiny_data_dir, generation="mtia_v2", parameter="unit_price")
    assert len(a) == 1 and pd.isna(a.loc[0, "publisher"])  # assumption without source
    ev = provenance("events", data_dir=tiny_data_dir)
    assert {"date", "source_date"} <= set(ev.columns)
    with pytest.raises(KeyError, match="no column 'gen'"):
        provenance("chip_specs", data_dir=tiny_data_dir, gen="h100")
    with pytest.raises(KeyError, match="unknown table"):
        provenance("chip_spec", data_dir=tiny_data_dir)


def test_variable_sources(tiny_data_dir):
    ds = load_dataset(tiny_data_dir)
    src = variable_sources(ds, "site_capacity_mw")
    assert src["source_id"].tolist() == ["S2", "S3"]


def test_extra_csv_files_are_ignored_but_rows_never_dropped(tmp_path):
    folder = write_tables(tmp_path, notes="free,text\n")
    assert set(load_tables(folder)) == set(TABLES)


# --------------------------------------------------------------------------- the real tables


@needs_real_data
def test_real_golden_values():
    ds = load_dataset()
    assert ds.tdp_w.sel(generation="h100", bound="base").item() == 700
    assert ds.capex_annual_usd.sel(year=2025, series="reported", bound="base").item() == 72.22e9
    assert ds.long_run_capacity_mw.sel(site="hyperion", bound="base").item() == 5000


@needs_real_data
def test_real_site_capacity_interpolated_by_hand():
    # milestones in data/site_capacity.csv: prometheus base 2025Q3 0 -> 2026Q2 500 -> 2026Q4 1000;
    # hyperion 2026Q4 0/0/0 -> 2027Q4 0/200/500 -> 2028Q4 300/800/1200 -> 2030Q4 1500/2000/3000
    cap = load_dataset().site_capacity_mw
    prom = cap.sel(site="prometheus", bound="base")
    assert prom.sel(quarter="2025-07-01").item() == 0
    assert prom.sel(quarter="2026-01-01").item() == pytest.approx(1000 / 3)  # 2 of 3 quarters to 500
    assert prom.sel(quarter="2026-07-01").item() == 750
    hyp = cap.sel(site="hyperion")
    assert hyp.sel(quarter="2026-01-01").values.tolist() == [0, 0, 0]
    assert hyp.sel(quarter="2027-04-01", bound="base").item() == 100
    assert hyp.sel(quarter="2028-04-01", bound="low").item() == 150
    assert hyp.sel(quarter="2030-10-01").values.tolist() == [1500, 2000, 3000]


@needs_real_data
def test_real_fleet_chips_have_required_specs_and_package_exports():
    import chipsuite

    ds = chipsuite.load_dataset()
    fleet = ds.sel(generation=ds.in_meta_fleet)
    for var in ("tdp_w", "bf16_dense_tflops", "unit_price_usd"):
        assert fleet[var].notnull().all(), var
    assert ds.eligible.sel(generation="h100").all()
    assert (ds.h100e_factor.sel(generation="h100") == 1).all()
    p = chipsuite.provenance("chip_specs", generation="h100", parameter="tdp")
    assert (p["base"] == 700).all() and p["url"].str.startswith("http").all()
    assert issubclass(chipsuite.DataError, ValueError)


@needs_real_data
def test_real_dataset_layout():
    ds = load_dataset()
    assert set(ds.dims) == {"generation", "site", "quarter", "bound", "workload", "measure", "year", "series"}
    assert ds.quarter.dtype == np.dtype("datetime64[ns]")
    assert ds.quarter.values[0] == np.datetime64("2022-01-01", "ns")
    assert np.datetime64("2028-10-01", "ns") in ds.quarter.values
    assert "2028Q4" in ds.quarter_label.values.tolist()
    assert ds.quarter_label.values.tolist()[:2] == ["2022Q1", "2022Q2"]
    assert {"prometheus", "hyperion", "el_paso", "rest_of_fleet"} >= set(ds.site.values.tolist())
    for name, var in ds.data_vars.items():
        assert var.attrs["units"] and var.attrs["long_name"], name
        assert var.attrs["source_table"].endswith(".csv"), name
    assert (ds.site_capacity_mw >= 0).all()
    assert ds.attrs["data_dir"] == str(REAL_DATA_DIR.resolve())


@needs_real_data
def test_real_source_ids_all_resolve():
    tables = load_tables()
    known = set(tables["sources"]["source_id"])
    assert len(known) == len(tables["sources"])
    for name, df in tables.items():
        if "source_ids" in df.columns:
            for cell, kind in zip(df["source_ids"], df["kind"]):
                ids = [s for s in cell.split(";") if s]
                assert set(ids) <= known, (name, cell)
                assert ids or kind == "assumption", (name, cell)


@needs_real_data
def test_real_dataset_source_ids_attrs_resolve():
    ds = load_dataset()
    known = set(load_tables()["sources"]["source_id"])
    for name, var in ds.data_vars.items():
        assert set(var.attrs["source_ids"].split()) <= known, name


@needs_real_data
def test_real_capex_headline_at_least_ppe_and_bounds_ordered():
    ds = load_dataset()
    both = ds.capex_quarterly_usd.dropna("quarter")
    assert both.sizes["quarter"] >= 1
    assert (both.sel(measure="headline") >= both.sel(measure="ppe")).all()  # headline adds finance leases
    for name, var in ds.data_vars.items():
        if "bound" in var.dims:
            low, base, high = (var.sel(bound=b) for b in ("low", "base", "high"))
            assert ((low <= base) | low.isnull()).all() and ((base <= high) | base.isnull()).all(), name
