"""The cheap content key of the data folder (chipsuite.data.content_key) and the caches keyed on it:
kept grid frames (explorers/grids.py), the event strips (charts.event_frame), run_points' dataset.

An edited data file must give a new key (even when its size and modification time are kept);
an unchanged folder must not be read again."""

from __future__ import annotations

import os
import shutil

import pandas as pd
import pytest
import xarray as xr

from chipsuite import charts, data
from chipsuite.data import content_key, load_dataset
from chipsuite.explorers import grids
from chipsuite.scenario import Scenario

from conftest import REAL_DATA_DIR


@pytest.fixture
def reads(monkeypatch):
    """Count the table files read by chipsuite.data (every read goes through read_file_bytes)."""
    calls = []
    real = data.read_file_bytes
    monkeypatch.setattr(data, "read_file_bytes", lambda path, file=None: calls.append(file) or real(path, file))
    return calls


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    """A copy of the repository's data folder, made the data folder of the process."""
    folder = tmp_path / "data"
    shutil.copytree(REAL_DATA_DIR, folder)
    monkeypatch.setenv("CHIPSUITE_DATA_DIR", str(folder))
    return folder


def _rewrite_keeping_size_and_mtime(path, old, new):
    assert len(old) == len(new)
    before = path.stat()
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8", newline="")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def test_content_key_equals_the_loaders_key_and_reads_nothing_when_unchanged(tiny_data_dir, reads):
    key = content_key(tiny_data_dir)
    assert reads  # first sight of the folder: read and hashed
    assert load_dataset(tiny_data_dir).attrs["content_key"] == str(key)
    reads.clear()
    assert content_key(tiny_data_dir) == key
    assert content_key(str(tiny_data_dir)) == key
    assert reads == []


def test_content_key_changes_when_a_file_changes_with_size_and_mtime_kept(tiny_data_dir, reads):
    key = content_key(tiny_data_dir)
    _rewrite_keeping_size_and_mtime(tiny_data_dir / "chip_specs.csv", "h100,tdp,W,700,700,700",
                                    "h100,tdp,W,700,701,702")
    reads.clear()
    new = content_key(tiny_data_dir)
    assert reads and new != key
    assert new == data._read_folder(tiny_data_dir.resolve())[1]
    assert load_dataset(tiny_data_dir).attrs["content_key"] == str(new)


def test_load_dataset_reads_nothing_when_unchanged_and_sees_an_edit(tiny_data_dir, reads):
    """load_dataset keys its cache by content_key: no file read when the tables are unchanged (the run path
    calls it every run), a rewrite that keeps size and mtime still gives the edited dataset."""
    first = load_dataset(tiny_data_dir)
    reads.clear()
    again = load_dataset(tiny_data_dir)
    assert reads == []
    xr.testing.assert_identical(again, first)
    assert float(first.tdp_w.sel(generation="h100", bound="base")) == 700.0
    _rewrite_keeping_size_and_mtime(tiny_data_dir / "chip_specs.csv", "h100,tdp,W,700,700,700",
                                    "h100,tdp,W,700,701,702")
    edited = load_dataset(tiny_data_dir)
    assert reads  # read again
    assert float(edited.tdp_w.sel(generation="h100", bound="base")) == 701.0
    assert edited.attrs["content_key"] != first.attrs["content_key"]


def test_content_key_of_a_missing_folder_raises_data_error(tmp_path):
    with pytest.raises(data.DataError, match="does not exist"):
        content_key(tmp_path / "nowhere")


def test_event_frame_sees_an_edited_events_file_and_reads_nothing_otherwise(data_copy, reads):
    first = charts.event_frame(["chips"])
    assert "Nvidia H100 announced" in set(first["label"])
    reads.clear()
    again = charts.event_frame(["chips"])
    assert reads == []
    pd.testing.assert_frame_equal(again, first)
    _rewrite_keeping_size_and_mtime(data_copy / "events.csv", "Nvidia H100 announced", "NVIDIA H100 ANNOUNCED")
    edited = charts.event_frame(["chips"])
    assert "NVIDIA H100 ANNOUNCED" in set(edited["label"]) and "Nvidia H100 announced" not in set(edited["label"])
    pd.testing.assert_frame_equal(edited, charts._event_frame(("chips",), None, None))


def test_kept_grid_frames_and_run_points_dataset_follow_an_edited_data_file(data_copy, reads, monkeypatch):
    calls = []
    run_points = grids.run_points
    monkeypatch.setattr(grids, "run_points", lambda *a, **k: calls.append(a) or run_points(*a, **k))
    grids._KEPT_FRAMES.clear()
    base = Scenario.default()
    first = grids.nvidia_price_grid_frame(base, (1.0, 1.2))
    assert grids._dataset().attrs["content_key"] == str(content_key())
    reads.clear()
    pd.testing.assert_frame_equal(grids.nvidia_price_grid_frame(base, (1.0, 1.2)), first)
    assert len(calls) == 1 and reads == []  # kept: no model run, no file read
    # the GB200 base price 36k instead of 35k USD: modelled capex changes
    path = data_copy / "chip_specs.csv"
    text = path.read_text(encoding="utf-8")
    assert "gb200,unit_price,USD,30000,35000,40000," in text
    path.write_text(text.replace("gb200,unit_price,USD,30000,35000,40000,", "gb200,unit_price,USD,30000,36000,40000,"),
                    encoding="utf-8", newline="")
    edited = grids.nvidia_price_grid_frame(base, (1.0, 1.2))
    assert len(calls) == 2
    assert grids._dataset().attrs["content_key"] == str(content_key())
    assert not edited.equals(first)
    pd.testing.assert_frame_equal(edited, grids.nvidia_price_grid_frame.uncached(base, (1.0, 1.2)))


def test_model_cache_reads_nothing_when_unchanged_and_follows_an_edited_data_file(data_copy, reads):
    """ModelCache.run (every slider change) checks the data folder by its content key: no file read and
    no dataset copy when unchanged; an edit (size and mtime kept) is a new dataset and a full run."""
    from chipsuite.model import ModelCache

    cache = ModelCache()
    base = Scenario.default()
    first = cache.run(base)
    reads.clear()
    again = cache.run(base.replace(utilisation=0.6))
    assert reads == [] and cache.last_path == "fast"
    assert float(again.capex_usd.sum()) == float(first.capex_usd.sum())
    # GB200's base chip price 35000 -> 36000 USD (same length; its system cost, hence capex, is unchanged)
    _rewrite_keeping_size_and_mtime(data_copy / "chip_specs.csv", "gb200,unit_price,USD,30000,35000,40000,",
                                    "gb200,unit_price,USD,30000,36000,40000,")
    edited = cache.run(base)
    assert reads and cache.last_path == "full"
    assert float(first.unit_price_usd.sel(generation="gb200").squeeze()) == 35000.0
    assert float(edited.unit_price_usd.sel(generation="gb200").squeeze()) == 36000.0
