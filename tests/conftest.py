"""Shared test fixtures: small, generic and independent of each other."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
REAL_DATA_DIR = REPO / "data"

#: A tiny but complete set of valid tables (file stem -> CSV text); line numbers matter in tests.
TINY_TABLES = {
    "sources": """\
source_id,publisher,title,date,url,other_urls,source_type
S1,Nvidia,H100 datasheet,2023-03-21,https://example.org/h100,,datasheet
S2,Meta,Q4 2025 results,2026-01-28,https://example.org/q4,https://example.org/a ; https://example.org/b,company_release
S3,Press,Hyperion report,n.d.,https://example.org/hyperion,,press
""",
    "chips": """\
generation,name,vendor,in_meta_fleet,announced,first_volume_quarter,status,kind,source_ids,note
h100,H100,nvidia,true,2022-03-22,2022Q4,shipping,reported,S1,
mtia_v2,MTIA v2,meta,true,2024-04-10,2024Q2,deployed,reported,S2,
tpu_v5,TPU v5p,google,false,2023-12-06,2024Q1,shipping,reported,S1,
""",
    "chip_specs": """\
generation,parameter,unit,low,base,high,kind,source_ids,note
h100,tdp,W,700,700,700,reported,S1,
h100,bf16_dense,TFLOPS,989,989,989,reported,S1,
h100,unit_price,USD,25000,30000,40000,estimate,S1,
mtia_v2,tdp,W,90,90,90,reported,S2,
mtia_v2,bf16_dense,TFLOPS,177,177,177,reported,S2,
mtia_v2,unit_price,USD,3000,5000,8000,assumption,,cost-plus guess
""",
    "chip_workloads": """\
generation,workload,unit,low,base,high,method,kind,source_ids,note
h100,rec_training,H100e,1,1,1,reference,reported,S1,
mtia_v2,rec_training,H100e,0.1,0.2,0.3,flops_ratio,assumption,,ratio of dense flops
""",
    "sites": """\
site,name,state,utility,grid,kind,source_ids,note
prometheus,Prometheus,Ohio,AEP,PJM,reported,S2,
hyperion,Hyperion,Louisiana,Entergy,MISO,reported,S3,
""",
    "site_params": """\
site,parameter,unit,low,base,high,kind,source_ids,note
prometheus,pue,1,1.1,1.2,1.3,estimate,S2,
prometheus,electricity_price,USD/MWh,50,60,70,estimate,S2,
prometheus,carbon_intensity,gCO2/kWh,300,400,500,estimate,S2,
prometheus,long_run_capacity,MW,1000,1000,1000,reported,S2,
hyperion,pue,1,1.1,1.2,1.3,estimate,S3,
hyperion,electricity_price,USD/MWh,50,60,70,estimate,S3,
hyperion,carbon_intensity,gCO2/kWh,300,400,500,estimate,S3,
hyperion,long_run_capacity,MW,5000,5000,5000,reported,S3,
""",
    "site_capacity": """\
site,quarter,unit,low,base,high,kind,source_ids,note
prometheus,2026Q1,MW,0,0,0,estimate,S2,
prometheus,2026Q3,MW,500,1000,1000,estimate,S2,
hyperion,2028Q1,MW,1000,2000,2000,guidance,S3,
hyperion,2031Q1,MW,4000,5000,5000,guidance,S3,
""",
    "capex_quarterly": """\
quarter,measure,unit,value,kind,source_ids,note
2025Q4,headline,USD bn,22.14,reported,S2,
2025Q4,ppe,USD,21500000000,reported,S2,
2021Q4,headline,USD bn,5.5,reported,S2,outside the dataset range
""",
    "capex_annual": """\
year,measure,date_given,unit,low,base,high,kind,source_ids,note
2025,reported,2026-01-28,USD bn,72.22,72.22,72.22,reported,S2,
2026,guidance,2025-10-29,USD bn,100,110,120,guidance,S2,
2026,guidance,2026-01-28,USD bn,115,125,135,guidance,S2,
2026,consensus,2026-01-20,USD bn,105,110,115,estimate,S2,
""",
    "events": """\
event_id,date,label,category,kind,source_ids,note
hyperion_announced,2024-12-04,Hyperion announced,site,reported,S3,
""",
    "fleet_milestones": """\
date,quantity,unit,low,base,high,kind,source_ids,note
2024-12-31,h100e_total,H100e,600000,600000,600000,guidance,S2,
""",
    "assumptions": """\
parameter,unit,low,base,high,kind,source_ids,note
utilisation,1,0.5,0.7,0.9,assumption,,typical fleet utilisation
""",
    "deals": """\
deal_id,tranche,counterparty,supplier,deal_type,generation,start_quarter,end_quarter,measure,unit,low,base,high,kind,source_ids,note
nvidia_2026,1,Nvidia,nvidia,purchase,h100,2026Q1,2027Q4,units,units,100000,200000,300000,estimate,S1,
nvidia_2026,2,Nvidia,nvidia,purchase,,2028Q1,2029Q4,value,USD bn,10,20,30,assumption,,tranche split assumed
""",
    "financials": """\
period,measure,unit,low,base,high,kind,source_ids,note
2025,depreciation_amortization,USD bn,18.62,18.62,18.62,reported,S2,
2025Q4,finance_lease_principal,USD bn,0.75,0.75,0.75,reported,S2,
""",
    # energy tables (issue #12 data)
    "energy_contracts": """\
contract_id,counterparty,plant,technology,site,contract_type,unit,low,base,high,start_quarter,end_quarter,\
carbon_intensity_gco2_per_kwh,price_usd_per_mwh_low,price_usd_per_mwh_base,price_usd_per_mwh_high,price_kind,kind,\
source_ids,note
nuclear_ppa,Utility,Plant A,nuclear,fleet,ppa,MW,1000,1100,1100,2027Q2,2047Q2,12,,,,not_public,reported,S3,
gas_on_site,Developer,Plant B,gas,prometheus,on_site,MW,400,400,400,2026Q3,2036Q3,530,60,75,90,assumption,assumption,,fuel plus capital
""",
    "fleet_energy_reported": """\
year,measure,unit,low,base,high,kind,source_ids,note
2023,electricity_total,MWh,14975435,14975435,14975435,reported,S2,
2023,pue_fleet,1,1.08,1.08,1.08,reported,S2,
2023,electricity_site_prineville,MWh,1375321,1375321,1375321,reported,S2,
""",
    "grid_regions": """\
region,measure,year,unit,low,base,high,kind,source_ids,note
pjm,carbon_intensity_location,2023,gCO2/kWh,400,450,500,estimate,S2,
pjm,industrial_price,2023,USD/MWh,70,70,70,reported,S2,
""",
    "site_power_plans": """\
site,quarter,unit,low,base,high,kind,source_ids,note
hyperion,2028Q4,MW,754,1508,1508,guidance,S3,
""",
}


def write_tables(folder, tables=None, **replace):
    """Write ``tables`` (default: :data:`TINY_TABLES`) to ``folder``; ``replace`` overrides whole files."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in {**(tables or TINY_TABLES), **replace}.items():
        (folder / f"{name}.csv").write_text(text, encoding="utf-8", newline="")
    return folder


@pytest.fixture
def tiny_data_dir(tmp_path):
    """A folder holding the valid tiny tables of :data:`TINY_TABLES`."""
    return write_tables(tmp_path / "data")


def real_data_available():
    """True when every real CSV table exists in the repository's ``data/`` folder."""
    return all((REAL_DATA_DIR / f"{name}.csv").exists() for name in TINY_TABLES)


# --- offline reports (test_report.py, test_browser.py) ---------------------------------------
FIXTURE_NOTEBOOKS = Path(__file__).resolve().parent / "fixtures" / "notebooks"
REAL_TOUR_NOTEBOOK = REPO / "notebooks" / "00_tour.ipynb"


@pytest.fixture(scope="session")
def fixture_reports(tmp_path_factory):
    """Offline reports of tests/fixtures/notebooks (CI mode): ``(out_dir, pages)``, built once."""
    from chipsuite import report

    out = tmp_path_factory.mktemp("fixture-reports")
    pages = report.build_reports(str(FIXTURE_NOTEBOOKS / "*.ipynb"), out, timeout_s=120,
                                 extra_env={"CHIPSUITE_DRAWS": "50"})
    return out, pages


@pytest.fixture(scope="session")
def real_reports(tmp_path_factory):
    """Offline reports of notebooks/*.ipynb (CI mode): ``(out_dir, pages)``, built once."""
    assert REAL_TOUR_NOTEBOOK.exists(), "notebooks/00_tour.ipynb is missing"
    from chipsuite import report

    out = tmp_path_factory.mktemp("real-reports")
    pages = report.build_reports(str(REPO / "notebooks" / "*.ipynb"), out, timeout_s=600,
                                 extra_env={"CHIPSUITE_DRAWS": "50"})
    return out, pages
