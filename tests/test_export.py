"""chipsuite.export: netCDF with CF-style attributes, tidy CSV and Parquet of any variable."""

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import chipsuite
from chipsuite import export


def small_result():
    """A hand-made result: 2 draws x 2 quarters of capex and a site coordinate."""
    quarters = pd.to_datetime(["2026-01-01", "2026-04-01"])
    return xr.Dataset(
        {"capex_usd": (("draw", "quarter"), np.array([[1.0, 2.0], [3.0, 4.0]]),
                       {"units": "USD", "long_name": "capital expenditure"}),
         "power_mw": (("site",), np.array([100.0, 250.0]), {"units": "MW", "long_name": "IT power"})},
        coords={"draw": [0, 1], "quarter": quarters, "quarter_label": ("quarter", ["2026Q1", "2026Q2"]),
                "site": ["prometheus", "hyperion"]},
        attrs={"title": "test run", "draws": 2, "sampled": True, "options": {"method": "pert"}},
    )


@pytest.fixture(scope="module")
def model_result():
    return chipsuite.run(draws=3, seed=0)


def test_plain_xarray_to_netcdf_round_trips(model_result, tmp_path):
    """`run().to_netcdf(path)` works with the installed backend (h5netcdf) and reads back identical."""
    path = tmp_path / "plain.nc"
    model_result.to_netcdf(path)
    xr.testing.assert_identical(xr.load_dataset(path), model_result)


def test_to_netcdf_round_trips_values_units_and_cf_attributes(model_result, tmp_path):
    path = export.to_netcdf(model_result, tmp_path / "run.nc", history="test")
    back = xr.load_dataset(path, engine="h5netcdf")
    xr.testing.assert_equal(back, model_result)  # values, dims and coordinates
    for name, var in model_result.data_vars.items():
        assert back[name].attrs["units"] == var.attrs["units"], name
        assert back[name].attrs["long_name"] == var.attrs["long_name"], name
    assert back.attrs["Conventions"] == "CF-1.10"
    assert back.attrs["source"] == f"chipsuite {chipsuite.__version__}"
    assert back.attrs["history"] == "test"
    assert back.attrs["seed"] == 0 and json.loads(back.attrs["scenario"]) == json.loads(model_result.attrs["scenario"])
    assert back.quarter.attrs["axis"] == "T" and back.quarter.attrs["standard_name"] == "time"
    assert back.draw.attrs["units"] == "1"
    assert back[next(iter(model_result.data_vars))].encoding["zlib"] is True  # gzip


def test_cf_dataset_stores_non_scalar_attrs_as_json_and_leaves_the_input_alone():
    result = small_result()
    ds = export.cf_dataset(result, history="h")
    assert ds.attrs["sampled"] == "true" and json.loads(ds.attrs["options"]) == {"method": "pert"}
    assert ds.attrs["draws"] == 2 and ds.attrs["title"] == "test run"
    assert ds.site.attrs["long_name"] == "data-centre site"
    assert result.site.attrs == {} and result.attrs["sampled"] is True  # a copy


def test_cf_dataset_refuses_variables_without_units():
    result = small_result()
    result["share"] = ("draw", [0.1, 0.2])
    with pytest.raises(export.ExportError, match=r"without a 'units' attribute: \['share'\]"):
        export.cf_dataset(result)


def test_tidy_frame_golden_values():
    frame = export.tidy_frame(small_result(), "capex_usd")
    assert list(frame.columns) == ["draw", "quarter", "quarter_label", "capex_usd"]
    assert frame["capex_usd"].tolist() == [1.0, 2.0, 3.0, 4.0]  # draw-major, as the array
    assert frame["draw"].tolist() == [0, 0, 1, 1]
    assert frame["quarter_label"].tolist() == ["2026Q1", "2026Q2", "2026Q1", "2026Q2"]
    assert frame.attrs == {"units": "USD", "long_name": "capital expenditure"}
    # a variable's frame has only its own dimensions
    assert list(export.tidy_frame(small_result(), "power_mw").columns) == ["site", "power_mw"]


def test_tidy_frame_names_unknown_variable():
    with pytest.raises(export.ExportError, match=r"no data variable 'capex' .*'capex_usd'"):
        export.tidy_frame(small_result(), "capex")


def test_csv_round_trip(tmp_path):
    path = export.to_csv(small_result(), "capex_usd", tmp_path / "capex.csv")
    back = pd.read_csv(path, parse_dates=["quarter"])
    pd.testing.assert_frame_equal(back, export.tidy_frame(small_result(), "capex_usd"), check_like=False)
    assert path.read_text().splitlines()[0] == "draw,quarter,quarter_label,capex_usd"


def test_parquet_round_trip_keeps_units(model_result, tmp_path):
    import pyarrow.parquet as pq

    path = export.to_parquet(model_result, "capex_usd", tmp_path / "capex.parquet")
    back = pd.read_parquet(path)
    expected = export.tidy_frame(model_result, "capex_usd")
    pd.testing.assert_frame_equal(back, expected, check_dtype=False)
    meta = json.loads(pq.read_schema(path).metadata[b"chipsuite"])
    assert meta["variable"] == "capex_usd" and meta["units"] == model_result.capex_usd.attrs["units"]
    assert meta["chipsuite_version"] == chipsuite.__version__
    assert len(back) == model_result.capex_usd.size
