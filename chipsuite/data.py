"""Load the sourced CSV tables of ``data/`` as validated tables and as one xarray Dataset.

>>> tables = load_tables()                        # doctest: +SKIP
>>> ds = load_dataset()                           # doctest: +SKIP
>>> ds.tdp_w.sel(generation="h100", bound="base").item()  # doctest: +SKIP
700.0

The data folder is, in order of precedence: the ``data_dir`` argument, the
environment variable ``CHIPSUITE_DATA_DIR``, the repository's ``data/`` folder.
Loads are cached per folder and file content (a SHA-256 of every table's bytes, so
an edit is noticed even when it keeps the file's size and modification time); every
call returns a fresh copy, so callers may mutate what they get.

Readings of ``data/README.md`` where it leaves room (the data follows them):

- Column order in a file is free; the set of columns is fixed.
- Tables keep every row; the dataset shows quarters 2022Q1-2032Q4 only (a capex
  quarter outside is in ``load_tables()["capex_quarterly"]`` but not in the dataset),
  while site-capacity milestones beyond 2032Q4 still shape the interpolation.
- ``capex_annual_usd``: ``reported`` is the reported row with the latest ``date_given``;
  ``guidance_latest`` / ``consensus_latest`` the latest-dated guidance / consensus row of
  each year. ``year`` holds the years present in ``capex_annual.csv``.
- A variable's ``source_ids`` attr is the union over the rows whose values it shows.
- ``assumptions.csv`` numbers may be zero or negative; each row is checked against its
  parameter's validity bounds (:func:`chipsuite.scenario.check_assumption_rows`) by
  ``load_tables`` too. ``site_capacity.csv`` may be zero; every other value table must be > 0
  and inside the plausibility bounds of ``chipsuite.schema`` (``TableSchema.bounds``).
"""

from __future__ import annotations

import collections
import hashlib
import os
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from chipsuite import __version__
from chipsuite.quarters import parse_quarter, quarter_label, quarter_range, quarters_between
from chipsuite.scenario import check_assumption_rows
from chipsuite.schema import (
    BOOL, BOUNDS, CAPEX_QUARTERLY_MEASURES, CHIP_PARAMETERS, DATE, NUMBER, OPTIONAL_NUMBER, QUARTER,
    SITE_PARAMETERS, TABLES, UNITS, WORKLOADS, YEAR, DataError, check_cell, check_cross_references, parse_table,
    read_file_bytes,
)

#: The repository's data folder, used when neither argument nor environment variable is given.
DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / "data"

#: series of ``capex_annual_usd``
CAPEX_ANNUAL_SERIES = ("reported", "guidance_latest", "consensus_latest")


def resolve_data_dir(data_dir=None):
    """The data folder to read: ``data_dir``, else ``$CHIPSUITE_DATA_DIR``, else the repository's ``data/``."""
    if data_dir is None:
        data_dir = os.environ.get("CHIPSUITE_DATA_DIR") or DEFAULT_DATA_DIR
    try:
        return Path(data_dir).expanduser().resolve()
    except (OSError, RuntimeError) as err:  # a symlink loop: RuntimeError before Python 3.13
        raise DataError(str(data_dir), None, None, f"data folder cannot be resolved: {err}") from None


def _check_folder(folder):
    """Raise :class:`DataError` naming ``folder`` unless it is an existing directory."""
    try:
        is_dir = folder.is_dir()
        exists = is_dir or folder.exists()
    except OSError as err:  # e.g. a symlink loop on Python versions where is_dir() raises
        raise DataError(str(folder), None, None, f"data folder cannot be read: {err.strerror or err}") from None
    if not exists:
        raise DataError(str(folder), None, None, "data folder does not exist")
    if not is_dir:
        raise DataError(str(folder), None, None, "data folder is not a directory")


def _read_folder(folder):
    """``{table name: bytes}`` of every table file and their content key (SHA-256 per file).

    Also records the files' stat signature with the key, for :func:`content_key`."""
    _check_folder(folder)
    signature = _stat_signature(folder)  # before reading: a file changed while being read is read again later
    contents = {name: read_file_bytes(folder / schema.file, schema.file) for name, schema in TABLES.items()}
    key = (str(folder),) + tuple(hashlib.sha256(data).hexdigest() for data in contents.values())
    if signature is not None:
        _KEYS_BY_STAT[str(folder)] = (signature, key)
    return contents, key


#: data folder -> (stat signature of its table files, content key read with that signature)
_KEYS_BY_STAT: dict = {}


def _stat_signature(folder):
    """(inode, size, mtime, ctime) [ns] of every table file of ``folder``; None if one cannot be stat'ed.

    The ctime is set by the kernel on every write and on ``os.utime``, so a rewrite that keeps the
    size and restores the modification time still changes the signature."""
    signature = []
    for schema in TABLES.values():
        try:
            st = os.stat(folder / schema.file)
        except OSError:
            return None
        signature.append((st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
    return tuple(signature)


def content_key(data_dir=None):
    """The content key of the data folder's tables, without reading them when they are unchanged.

    The key (folder and a SHA-256 per table file, as the caches of :func:`load_tables` and
    :func:`load_dataset` use; ``load_dataset().attrs["content_key"]`` is its ``str``) is computed
    from the files' bytes when the folder is first seen or when a table file's stat signature
    (inode, size, modification and status-change times) differs from the one recorded with the
    last reading; otherwise the recorded key is returned after one ``stat`` per file. For caches
    on the interactive path (explorer grid frames, event strips), which must notice an edited
    data file but should not read every file on each slider move. Raises :class:`DataError` as
    ``load_tables`` does for a missing or unreadable folder or file.
    """
    folder = resolve_data_dir(data_dir)
    known = _KEYS_BY_STAT.get(str(folder))
    if known is not None and known[0] == _stat_signature(folder):
        return known[1]
    return _read_folder(folder)[1]


class _ContentCache:
    """A small LRU map ``content key -> value`` (the last ``size`` folders or file versions)."""

    def __init__(self, size=8):
        self.size, self._items = size, collections.OrderedDict()

    def get(self, key, make):
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        value = make()
        self._items[key] = value
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return value

    def clear(self):
        self._items.clear()

    def __contains__(self, key):
        return key in self._items


_TABLES_CACHE = _ContentCache()
_DATASET_CACHE = _ContentCache()


# --------------------------------------------------------------------------- tables


def load_tables(data_dir=None):
    """Read, validate and type every table of the data folder.

    Returns ``{table name: DataFrame}`` keyed by file stem, rows in file order.
    Numbers are floats converted to the canonical unit (``unit`` column updated,
    e.g. ``USD bn`` -> ``USD``), dates and quarters are ``datetime64[ns]``
    (a quarter at its first day), years ``int64``, booleans ``bool``; text,
    ``source_ids`` (``"S1;S2"``) and source dates stay strings.
    Raises :class:`chipsuite.DataError` naming file, line, column and rule.
    """
    tables = _load_tables_cached(*_read_folder(resolve_data_dir(data_dir)))
    return {name: df.copy() for name, df in tables.items()}


def _load_tables_cached(contents, key):
    return _TABLES_CACHE.get(key, lambda: _typed_tables(contents))


def _typed_tables(contents):
    raw = {name: parse_table(contents[name], schema) for name, schema in TABLES.items()}
    check_cross_references(raw)
    check_assumption_rows(raw["assumptions"])
    return {name: _typed_frame(table) for name, table in raw.items()}


def _typed_frame(table):
    schema = table.schema
    columns = {}
    factors = None
    if "unit" in schema.columns:
        factors = [UNITS[r["unit"]][1] for r in table.rows]
    for name, rule in schema.columns.items():
        cells = [r[name] for r in table.rows]
        if rule == NUMBER:
            # Decimal keeps "72.22 USD bn" exactly 72220000000.0
            columns[name] = np.array([float(Decimal(c) * f) for c, f in zip(cells, factors or [1] * len(cells))],
                                     dtype=float)
        elif rule == OPTIONAL_NUMBER:  # empty cell -> NaN (no unit factor: these columns carry their own unit)
            columns[name] = np.array([float(c) if c != "" else np.nan for c in cells], dtype=float)
        elif name == "unit":
            columns[name] = pd.Series([UNITS[c][0] for c in cells], dtype=object)
        elif rule == BOOL:
            columns[name] = np.array([c == "true" for c in cells], dtype=bool)
        elif rule == DATE:
            columns[name] = pd.to_datetime(pd.Series(cells, dtype=object), format="%Y-%m-%d").to_numpy("datetime64[ns]")
        elif rule == QUARTER:
            columns[name] = np.array([parse_quarter(c) for c in cells], dtype="datetime64[ns]")
        elif rule == YEAR:
            columns[name] = np.array([int(c) for c in cells], dtype=np.int64)
        else:
            columns[name] = pd.Series(cells, dtype=object)
    return pd.DataFrame(columns)


def provenance(table, data_dir=None, **keys):
    """Rows of ``table`` matching ``keys`` (column=value), one per source, with the source joined.

    >>> provenance("chip_specs", generation="h100", parameter="tdp")  # doctest: +SKIP

    Adds columns ``source_id``, ``publisher``, ``title``, ``date``, ``url``, ``source_type``
    (empty for assumption rows without sources). Values are compared after
    typing, so quarters may be given as ``"2026Q1"`` and dates as ``"2025-01-29"``.
    """
    tables = load_tables(data_dir)
    if table not in tables:
        raise KeyError(f"unknown table {table!r}; tables: {', '.join(tables)}")
    df = tables[table]
    mask = np.ones(len(df), dtype=bool)
    for column, value in keys.items():
        if column not in df.columns:
            raise KeyError(f"table {table!r} has no column {column!r}; columns: {', '.join(df.columns)}")
        rule = TABLES[table].columns[column]
        if rule in (QUARTER, DATE) and isinstance(value, str):
            problem = check_cell(rule, value)  # ASCII digits, supported years (no datetime64 wrap-around)
            if problem:
                raise ValueError(f"provenance({table!r}, {column}=...): {problem}")
            value = parse_quarter(value) if rule == QUARTER else np.datetime64(value, "ns")
        mask &= (df[column] == value).to_numpy()
    rows = df[mask].reset_index(drop=True)
    if "source_ids" not in rows.columns:
        return rows
    return _join_sources(rows, tables["sources"])


def _join_sources(rows, sources):
    rows = rows.assign(source_id=rows["source_ids"].str.split(";")).explode("source_id")
    rows["source_id"] = rows["source_id"].replace("", None)
    sources = sources[["source_id", "publisher", "title", "date", "url", "source_type"]].rename(
        columns={"date": "source_date"})
    if "date" not in rows.columns:
        sources = sources.rename(columns={"source_date": "date"})
    return rows.merge(sources, on="source_id", how="left").reset_index(drop=True)


def variable_sources(ds, name):
    """The sources behind dataset variable ``name``: rows of ``sources.csv`` listed in its ``source_ids`` attr."""
    ids = ds[name].attrs.get("source_ids", "").split()
    sources = load_tables(ds.attrs.get("data_dir") or None)["sources"]
    return sources[sources["source_id"].isin(ids)].reset_index(drop=True)


# --------------------------------------------------------------------------- dataset


def load_dataset(data_dir=None):
    """One labelled :class:`xarray.Dataset` built from the validated tables (see ``data/README.md``).

    Dims ``generation``, ``site``, ``quarter`` (2022Q1-2032Q4 quarter starts,
    ``datetime64[ns]``, with coordinate ``quarter_label``), ``bound``, ``workload``,
    ``measure``, ``year``, ``series``. Every variable carries ``units``,
    ``long_name``, ``source_table`` and ``source_ids`` attrs. Returns a copy of a
    cached dataset.
    """
    folder = resolve_data_dir(data_dir)
    key = content_key(folder)  # files unchanged since last read (stat signature): not read again
    if key not in _DATASET_CACHE:
        contents, key = _read_folder(folder)
        ds = _DATASET_CACHE.get(key, lambda: build_dataset(_load_tables_cached(contents, key), folder))
    else:
        ds = _DATASET_CACHE.get(key, None)
    ds = ds.copy(deep=True)
    ds.attrs["content_key"] = str(key)  # identifies the tables' content (the model caches per-dataset work by it)
    return ds


def _source_ids(frame):
    ids = {s for cell in frame["source_ids"] for s in cell.split(";") if s}
    return " ".join(sorted(ids, key=lambda s: int(s[1:])))


def _attrs(units, long_name, table, frame):
    return {"units": units, "long_name": long_name, "source_table": f"{table}.csv",
            "source_ids": _source_ids(frame)}


def _bounded(frame):
    return frame[list(BOUNDS)].to_numpy(dtype=float)


_LONG_NAMES = {
    "tdp_w": "thermal design power per chip",
    "bf16_dense_tflops": "dense BF16 throughput per chip",
    "fp8_dense_tflops": "dense FP8 throughput per chip",
    "memory_gb": "on-package memory per chip",
    "memory_bandwidth_tbps": "memory bandwidth per chip",
    "unit_price_usd": "unit price per chip",
    "fp4_dense_tflops": "dense FP4/MX4 throughput per chip",
    "system_cost_usd": "capex per deployed accelerator (chip, host, rack, fabric, network; no building)",
    "system_power_overhead": "system power per accelerator / accelerator TDP",
    "rental_price_usd_per_hour": "public cloud rental price per accelerator-hour",
    "pue": "power usage effectiveness",
    "electricity_price_usd_per_mwh": "electricity price",
    "carbon_intensity_gco2_per_kwh": "grid carbon intensity",
    "long_run_capacity_mw": "announced long-run facility power capacity",
}


def build_dataset(tables, data_dir=None):
    """Assemble the dataset from typed ``tables`` (as returned by :func:`load_tables`)."""
    chips, sites = tables["chips"], tables["sites"]
    generations = chips["generation"].tolist()
    site_ids = sites["site"].tolist()
    quarters = quarter_range()
    g_index = {g: i for i, g in enumerate(generations)}
    s_index = {s: i for i, s in enumerate(site_ids)}
    data_vars = {}

    specs = tables["chip_specs"]
    for parameter, (units, var) in CHIP_PARAMETERS.items():
        rows = specs[specs["parameter"] == parameter]
        values = np.full((len(generations), 3), np.nan)
        values[[g_index[g] for g in rows["generation"]]] = _bounded(rows)
        data_vars[var] = (("generation", "bound"), values,
                          _attrs(units[0], _LONG_NAMES[var], "chip_specs", rows))

    work = tables["chip_workloads"]
    w_index = {w: i for i, w in enumerate(WORKLOADS)}
    factor = np.full((len(generations), len(WORKLOADS), 3), np.nan)
    gi = [g_index[g] for g in work["generation"]]
    wi = [w_index[w] for w in work["workload"]]
    factor[gi, wi] = _bounded(work)
    eligible = np.zeros((len(generations), len(WORKLOADS)), dtype=bool)
    eligible[gi, wi] = True
    data_vars["h100e_factor"] = (("generation", "workload", "bound"), factor,
                                 _attrs("H100e", "H100-equivalence factor (H100s one unit replaces)",
                                        "chip_workloads", work))
    data_vars["eligible"] = (("generation", "workload"), eligible,
                             _attrs("1", "chip can serve the workload class", "chip_workloads", work))

    params = tables["site_params"]
    for parameter, (units, var) in SITE_PARAMETERS.items():
        rows = params[params["parameter"] == parameter]
        values = np.full((len(site_ids), 3), np.nan)
        values[[s_index[s] for s in rows["site"]]] = _bounded(rows)
        data_vars[var] = (("site", "bound"), values, _attrs(units[0], _LONG_NAMES[var], "site_params", rows))

    capacity = tables["site_capacity"]
    data_vars["site_capacity_mw"] = (
        ("site", "quarter", "bound"), site_capacity_mw(capacity, site_ids, quarters),
        _attrs("MW", "facility power capacity (interpolated between milestones)", "site_capacity", capacity))

    cq = tables["capex_quarterly"]
    q_index = {q: i for i, q in enumerate(quarters.astype("datetime64[ns]").tolist())}
    m_index = {m: i for i, m in enumerate(CAPEX_QUARTERLY_MEASURES)}
    values = np.full((len(quarters), len(CAPEX_QUARTERLY_MEASURES)), np.nan)
    inside = cq[cq["quarter"].isin(quarters)]
    values[[q_index[q] for q in inside["quarter"].to_numpy("datetime64[ns]").tolist()],
           [m_index[m] for m in inside["measure"]]] = inside["value"].to_numpy(float)
    data_vars["capex_quarterly_usd"] = (("quarter", "measure"), values,
                                        _attrs("USD", "Meta quarterly capital expenditure", "capex_quarterly", inside))

    ca = tables["capex_annual"]
    years, annual, used = capex_annual_usd(ca)
    data_vars["capex_annual_usd"] = (("year", "series", "bound"), annual,
                                     _attrs("USD", "Meta annual capital expenditure", "capex_annual", used))

    if "deals" in tables:
        deals = tables["deals"]
        schedule, measure_units = deal_schedule(deals, quarters)
        data_vars["deal_volume"] = (("tranche", "quarter", "bound"), schedule,
                                    _attrs("per quarter, in deal_unit", "deal volume per quarter (spread evenly "
                                           "over the tranche's quarters)", "deals", deals))
        tranche_coords = {
            "tranche": ("tranche", np.array([f"{d}:{t}" for d, t in zip(deals["deal_id"], deals["tranche"])],
                                            dtype=object)),
            "deal_id": ("tranche", deals["deal_id"].to_numpy(object)),
            "deal_supplier": ("tranche", deals["supplier"].to_numpy(object)),
            "deal_type": ("tranche", deals["deal_type"].to_numpy(object)),
            "deal_measure": ("tranche", deals["measure"].to_numpy(object)),
            "deal_unit": ("tranche", np.array(measure_units, dtype=object)),
            "deal_generation": ("tranche", deals["generation"].fillna("").to_numpy(object)),
            "deal_start": ("tranche", deals["start_quarter"].to_numpy("datetime64[ns]")),
            "deal_end": ("tranche", deals["end_quarter"].to_numpy("datetime64[ns]")),
        }
    else:
        tranche_coords = {}

    coords = {
        **tranche_coords,
        "generation": ("generation", np.array(generations, dtype=object)),
        "name": ("generation", chips["name"].to_numpy(object)),
        "vendor": ("generation", chips["vendor"].to_numpy(object)),
        "in_meta_fleet": ("generation", chips["in_meta_fleet"].to_numpy(bool)),
        "announced": ("generation", chips["announced"].to_numpy("datetime64[ns]")),
        "first_volume_quarter": ("generation", chips["first_volume_quarter"].to_numpy("datetime64[ns]")),
        "site": ("site", np.array(site_ids, dtype=object)),
        "name_site": ("site", sites["name"].to_numpy(object)),
        "state": ("site", sites["state"].to_numpy(object)),
        "quarter": ("quarter", quarters),
        "quarter_label": ("quarter", quarter_label(quarters)),
        "bound": ("bound", np.array(BOUNDS, dtype=object)),
        "workload": ("workload", np.array(WORKLOADS, dtype=object)),
        "measure": ("measure", np.array(CAPEX_QUARTERLY_MEASURES, dtype=object)),
        "year": ("year", years),
        "series": ("series", np.array(CAPEX_ANNUAL_SERIES, dtype=object)),
    }
    ds = xr.Dataset(data_vars, coords=coords)
    ds.attrs = {
        "title": "chipsuite input data: sourced chip, site and capex tables",
        "chipsuite_version": __version__,
        "data_dir": str(data_dir) if data_dir is not None else "",
    }
    return ds


#: canonical unit of a deal's volume per quarter, by measure (the tables' values are converted to it)
DEAL_VOLUME_UNITS = {"units": "units", "power": "MW", "value": "USD"}


def deal_schedule(deals, quarters):
    """Deal volume per tranche, quarter and bound, spread evenly over each tranche's quarters.

    A tranche from ``start_quarter`` to ``end_quarter`` (inclusive) delivers ``1 / n`` of its
    volume in each of its ``n`` quarters; quarters outside ``quarters`` are dropped (the horizon
    sees only its part). Units: see :data:`DEAL_VOLUME_UNITS` (per quarter). Returns
    ``(values (T, Q, 3), canonical unit per tranche)``.
    """
    out = np.zeros((len(deals), len(quarters), 3))
    q = np.asarray(quarters, "datetime64[ns]")
    for k, (_, row) in enumerate(deals.iterrows()):
        start, end = np.datetime64(row["start_quarter"], "ns"), np.datetime64(row["end_quarter"], "ns")
        n = quarters_between(start, end) + 1
        inside = (q >= start) & (q <= end)
        for b, bound in enumerate(BOUNDS):
            out[k, inside, b] = float(row[bound]) / n
    return out, [DEAL_VOLUME_UNITS[m] for m in deals["measure"]]


def site_capacity_mw(capacity, sites, quarters):
    """Facility power per site, quarter and bound from milestone rows. [MW]

    Linear in quarter count between a site's milestones, held after the last,
    0 before the first. ``capacity`` has columns site, quarter, low, base, high.
    """
    out = np.zeros((len(sites), len(quarters), 3))
    origin = quarters[0]
    x = np.array([quarters_between(origin, q) for q in quarters], dtype=float)
    for i, site in enumerate(sites):
        rows = capacity[capacity["site"] == site].sort_values("quarter")
        if rows.empty:
            continue
        xp = np.array([quarters_between(origin, q) for q in rows["quarter"]], dtype=float)
        for b, bound in enumerate(BOUNDS):
            fp = rows[bound].to_numpy(float)
            out[i, :, b] = np.interp(x, xp, fp, left=0.0, right=fp[-1])
    return out


def capex_annual_usd(capex_annual):
    """Annual capex by year, series and bound. [USD]

    ``reported``: the reported row (latest ``date_given`` if several);
    ``guidance_latest`` / ``consensus_latest``: the guidance / consensus row with
    the latest ``date_given`` for that year. Returns ``(years, values, rows used)``.
    """
    years = np.array(sorted(set(capex_annual["year"].tolist())), dtype=np.int64)
    y_index = {int(y): i for i, y in enumerate(years)}
    values = np.full((len(years), len(CAPEX_ANNUAL_SERIES), 3), np.nan)
    used = []
    for s, measure in enumerate(("reported", "guidance", "consensus")):
        rows = capex_annual[capex_annual["measure"] == measure].sort_values(["year", "date_given"])
        latest = rows.groupby("year", sort=True).tail(1)
        used.append(latest)
        for (_, row) in latest.iterrows():
            values[y_index[int(row["year"])], s] = [row[b] for b in BOUNDS]
    return years, values, pd.concat(used)
