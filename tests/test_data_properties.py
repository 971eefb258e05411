"""Property: a randomly corrupted copy of the tables either loads with the expected data or raises DataError.

The tables are the real ones in data/ when they exist, else the tiny fixture tables. Each example
copies them to a fresh folder, applies one corruption and loads tables and dataset. Any exception
other than DataError fails the test; so does a load that silently drops, fills or clips a row.
"""

import csv
import io
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from chipsuite.data import load_dataset, load_tables
from chipsuite.schema import QUARTER, TABLES, DataError
from conftest import REAL_DATA_DIR, TINY_TABLES, real_data_available, write_tables

if real_data_available():
    ORIGINAL = {name: (REAL_DATA_DIR / f"{name}.csv").read_text(encoding="utf-8") for name in TABLES}
else:
    ORIGINAL = dict(TINY_TABLES)
PARSED = {name: list(csv.reader(io.StringIO(text, newline=""))) for name, text in ORIGINAL.items()}
NAMES = sorted(TABLES)


def _baseline():
    with tempfile.TemporaryDirectory() as tmp:
        return load_tables(write_tables(tmp, ORIGINAL))


BASELINE = _baseline()

weird_text = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", " ", "abc", "-1", "0", "1e999", "nan", "2026Q5", "2026-02-30", "true", "S99999",
                     "USD bn", "kW", "h100", "prometheus", "assumption", ";", "\n", '"', "1,5"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-10**12, 10**12).map(str),
)


@st.composite
def corruptions(draw):
    name = draw(st.sampled_from(NAMES))
    rows = PARSED[name]
    header, body = rows[0], rows[1:]
    kinds = ["cell", "cell", "cell", "delete_row", "duplicate_row", "drop_column", "rename_column", "blank_line"]
    if "low" in header:
        kinds.append("swap_low_high")
    if any(TABLES[name].columns.get(c) == QUARTER for c in header):
        kinds.append("bad_quarter")
    kind = draw(st.sampled_from(kinds))
    i = draw(st.integers(0, len(body) - 1)) if body else None
    j = draw(st.integers(0, len(header) - 1))
    if kind == "cell":
        column_values = [r[j] for r in body]
        value = draw(st.one_of(weird_text, st.sampled_from(column_values)))
        return name, kind, i, j, value
    if kind == "rename_column":
        value = draw(st.text(min_size=1, max_size=10).filter(lambda s: s != header[j]))
        return name, kind, i, j, value
    if kind == "bad_quarter":
        j = next(k for k, c in enumerate(header) if TABLES[name].columns.get(c) == QUARTER)
        value = draw(st.sampled_from(["2026Q0", "2026Q5", "2026q1", "26Q1", "2026-01-01", "", "Q1 2026"]))
        return name, kind, i, j, value
    return name, kind, i, j, None


def apply(rows, kind, i, j, value):
    """A corrupted copy of ``rows`` (header first); ``i`` indexes body rows."""
    header, body = list(rows[0]), [list(r) for r in rows[1:]]
    if kind in ("cell", "bad_quarter"):
        body[i][j] = value
    elif kind == "delete_row":
        del body[i]
    elif kind == "duplicate_row":
        body.insert(i, list(body[i]))
    elif kind == "drop_column":
        del header[j]
        for r in body:
            del r[j]
    elif kind == "rename_column":
        header[j] = value
    elif kind == "swap_low_high":
        lo, hi = header.index("low"), header.index("high")
        body[i][lo], body[i][hi] = body[i][hi], body[i][lo]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for k, r in enumerate(body):
        if kind == "blank_line" and k == i:
            out.write("\n")
        writer.writerow(r)
    return out.getvalue()


@pytest.mark.skipif(not PARSED, reason="no tables")
@settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(corruptions())
def test_corrupted_tables_load_identically_or_raise_data_error(corruption):
    name, kind, i, j, value = corruption
    text = apply(PARSED[name], kind, i, j, value)
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_tables(tmp, ORIGINAL, **{name: text})
        try:
            tables = load_tables(folder)
            load_dataset(folder)
        except DataError as err:
            # cross-table rules may name another table (e.g. chips.csv for a deleted tdp row)
            assert err.file in {f"{n}.csv" for n in NAMES}, err
            assert err.line is None or err.line >= 1, err
            return
    # loaded: no other table changed, and nothing was dropped, filled or clipped
    for other in NAMES:
        if other != name:
            pd.testing.assert_frame_equal(tables[other], BASELINE[other])
    got, base = tables[name], BASELINE[name]
    assert kind not in ("duplicate_row", "drop_column", "rename_column", "bad_quarter"), kind
    if kind == "blank_line" and i is not None:
        pytest.fail("a blank line was accepted")
    if kind == "delete_row":
        expected = base.drop(index=i).reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected)
    elif kind == "swap_low_high":
        pd.testing.assert_frame_equal(got, base)  # only harmless when low == high
    else:  # one cell changed: same rows, every other row identical
        assert len(got) == len(base)
        keep = [k for k in range(len(base)) if k != i]
        pd.testing.assert_frame_equal(got.iloc[keep], base.iloc[keep])


def test_corruption_helper_round_trips_unchanged_tables():
    for name in NAMES:
        rows = PARSED[name]
        assert list(csv.reader(io.StringIO(apply(rows, "none", None, None, None), newline=""))) == rows
