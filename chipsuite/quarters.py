"""Calendar quarters: parsing, labels and ranges.

A quarter is represented on xarray coordinates as ``datetime64[ns]`` at the
first day of the quarter (2026Q1 -> 2026-01-01), with a readable label such as
``"2026Q1"`` available from :func:`quarter_label`.
"""

import re

import numpy as np
import pandas as pd

#: First and last quarter of every dataset and model run.
FIRST_QUARTER = "2022Q1"
LAST_QUARTER = "2032Q4"

_QUARTER_RE = re.compile(r"^([0-9]{4})Q([1-4])$")  # ASCII digits only (\d would accept e.g. full-width ones)
#: years a quarter may have: the supported range of the data tables (data/README.md)
YEAR_RANGE = (1990, 2100)


def parse_quarter(text):
    """Parse ``"YYYYQn"`` into the quarter's first day as ``numpy.datetime64[ns]``.

    >>> parse_quarter("2026Q3")
    np.datetime64('2026-07-01T00:00:00.000000000')

    Raises ``ValueError`` naming the expected form if ``text`` is malformed (ASCII digits only) or
    its year is outside :data:`YEAR_RANGE`.
    """
    match = _QUARTER_RE.match(str(text).strip())
    if match is None:
        raise ValueError(f"malformed quarter {text!r}: expected YYYYQn, e.g. 2026Q1")
    year, q = int(match.group(1)), int(match.group(2))
    if not YEAR_RANGE[0] <= year <= YEAR_RANGE[1]:
        raise ValueError(f"quarter {text!r} is outside the supported years {YEAR_RANGE[0]}-{YEAR_RANGE[1]}")
    return np.datetime64(f"{year:04d}-{3 * (q - 1) + 1:02d}-01", "ns")


def quarter_label(value):
    """Label ``"YYYYQn"`` for a datetime-like value or an array of them.

    >>> quarter_label(np.datetime64("2026-08-15"))
    '2026Q3'
    """
    if np.ndim(value) == 0:
        ts = pd.Timestamp(value)
        return f"{ts.year}Q{(ts.month - 1) // 3 + 1}"
    idx = pd.DatetimeIndex(np.asarray(value).ravel())
    labels = [f"{y}Q{(m - 1) // 3 + 1}" for y, m in zip(idx.year, idx.month)]
    return np.asarray(labels, dtype=object).reshape(np.shape(value))


def quarter_range(start=FIRST_QUARTER, end=LAST_QUARTER):
    """Quarter starts from ``start`` to ``end`` inclusive, as ``datetime64[ns]``.

    >>> len(quarter_range("2022Q1", "2028Q4"))
    28
    """
    first, last = parse_quarter(start), parse_quarter(end)
    if last < first:
        raise ValueError(f"quarter range ends ({end}) before it starts ({start})")
    return pd.date_range(first, last, freq="QS").values.astype("datetime64[ns]")


def quarters_between(start, end):
    """Number of quarters from ``start`` to ``end`` (both datetime-like); may be negative.

    >>> quarters_between(parse_quarter("2026Q1"), parse_quarter("2027Q3"))
    6
    """
    a, b = pd.Timestamp(start), pd.Timestamp(end)
    return (b.year - a.year) * 4 + ((b.month - 1) // 3 - (a.month - 1) // 3)


#: Hours per quarter used by energy formulas: 8766 h / 4 (mean year incl. leap years). [h]
HOURS_PER_QUARTER = 8766.0 / 4.0
