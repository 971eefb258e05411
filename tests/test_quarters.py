"""chipsuite.quarters: parsing, labels, ranges, counting; golden values by hand plus round-trip properties."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from chipsuite.quarters import (
    FIRST_QUARTER, HOURS_PER_QUARTER, LAST_QUARTER, parse_quarter, quarter_label, quarter_range, quarters_between,
)


def test_parse_quarter_golden():
    assert parse_quarter("2026Q1") == np.datetime64("2026-01-01", "ns")
    assert parse_quarter("2026Q3") == np.datetime64("2026-07-01", "ns")
    assert parse_quarter("2030Q4") == np.datetime64("2030-10-01", "ns")
    assert parse_quarter("2026Q2").dtype == np.dtype("datetime64[ns]")


@pytest.mark.parametrize("bad", ["2026Q0", "2026Q5", "2026q1", "26Q1", "2026-Q1", "", "Q1 2026", "2026Q12"])
def test_parse_quarter_rejects_malformed(bad):
    with pytest.raises(ValueError, match="expected YYYYQn"):
        parse_quarter(bad)


def test_quarter_label_scalar_and_array():
    assert quarter_label(np.datetime64("2026-08-15")) == "2026Q3"
    assert quarter_label(pd.Timestamp("2022-12-31")) == "2022Q4"
    labels = quarter_label(np.array(["2022-01-01", "2024-04-30"], dtype="datetime64[ns]"))
    assert labels.tolist() == ["2022Q1", "2024Q2"]


def test_quarter_range_golden():
    q = quarter_range()
    assert (FIRST_QUARTER, LAST_QUARTER) == ("2022Q1", "2032Q4")
    assert len(q) == 44 and q.dtype == np.dtype("datetime64[ns]")  # 11 years
    assert q[0] == np.datetime64("2022-01-01", "ns") and q[-1] == np.datetime64("2032-10-01", "ns")
    assert len(quarter_range("2022Q1", "2028Q4")) == 28
    assert len(quarter_range("2026Q2", "2026Q2")) == 1
    with pytest.raises(ValueError, match="ends"):
        quarter_range("2026Q2", "2026Q1")


def test_quarters_between_and_hours():
    assert quarters_between(parse_quarter("2026Q1"), parse_quarter("2027Q3")) == 6
    assert quarters_between(parse_quarter("2027Q3"), parse_quarter("2026Q1")) == -6
    assert HOURS_PER_QUARTER * 4 == 365.25 * 24


quarters = st.builds(lambda y, q: f"{y}Q{q}", st.integers(1990, 2100), st.integers(1, 4))


@settings(deadline=None, max_examples=100)
@given(quarters, quarters)
def test_label_parse_round_trip_and_counting(a, b):
    ta, tb = parse_quarter(a), parse_quarter(b)
    assert quarter_label(ta) == a
    assert quarters_between(ta, tb) == -quarters_between(tb, ta)
    if ta <= tb:
        r = quarter_range(a, b)
        assert len(r) == quarters_between(ta, tb) + 1
        assert quarter_label(r).tolist()[0] == a and quarter_label(r).tolist()[-1] == b


@pytest.mark.parametrize("text", ["２０２６Q2", "2০26Q2", "2926Q3", "1815Q1"])
def test_parse_quarter_refuses_non_ascii_digits_and_years_out_of_range(text):
    with pytest.raises(ValueError, match="malformed|supported years"):
        parse_quarter(text)
