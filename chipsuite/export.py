"""Results in standard formats: netCDF (CF-style attributes), tidy CSV and Parquet.

A model result (:func:`chipsuite.run`) is an :class:`xarray.Dataset` whose variables carry
``units`` and ``long_name``. These functions hand it to other tools:

- :func:`cf_dataset` / :func:`to_netcdf` -- a copy with CF-style attributes (global
  ``Conventions``, ``title``, ``source``, ``history``; ``long_name``/``units``/``axis`` on the
  coordinates) written with the ``h5netcdf`` engine (netCDF-4/HDF5; no C netCDF library
  needed). ``xarray.open_dataset(path)`` reads it back equal to the result.
- :func:`tidy_frame` / :func:`to_csv` / :func:`to_parquet` -- one variable as a long
  ("tidy") table: one row per element, one column per dimension (plus the coordinates
  along them, such as ``quarter_label``), and the value in a column named after the
  variable (whose name carries its unit suffix, e.g. ``capex_usd``). Parquet files also keep
  ``units`` and ``long_name`` in the schema metadata.

>>> import chipsuite
>>> from chipsuite import export
>>> result = chipsuite.run(draws=100, seed=0)                  # doctest: +SKIP
>>> export.to_netcdf(result, "run.nc")                         # doctest: +SKIP
>>> export.to_csv(result, "capex_usd", "capex_usd.csv")        # doctest: +SKIP

Unit strings are chipsuite's own (``USD``, ``H100e``, ``gCO2/kWh``, ...; see
``chipsuite.schema.UNITS``): several are not UDUNITS units, so the files are CF-*style*,
not certified CF-compliant.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

__all__ = ["CF_CONVENTIONS", "cf_dataset", "to_netcdf", "tidy_frame", "to_csv", "to_parquet"]

CF_CONVENTIONS = "CF-1.10"
NETCDF_ENGINE = "h5netcdf"

#: CF attributes of the model's dimension coordinates (others get a ``long_name`` from the name)
COORDINATE_ATTRS = {
    "draw": {"long_name": "Monte Carlo draw (0 = base case)", "units": "1"},
    "quarter": {"long_name": "start of calendar quarter", "standard_name": "time", "axis": "T"},
    "quarter_label": {"long_name": "calendar quarter (YYYYQn)"},
    "generation": {"long_name": "accelerator generation"},
    "mtia_generation": {"long_name": "MTIA generation"},
    "workload": {"long_name": "workload class"},
    "site": {"long_name": "data-centre site"},
    "vendor": {"long_name": "accelerator vendor"},
    "bound": {"long_name": "bound of the sourced range (low, base, high)"},
}


class ExportError(ValueError):
    """A result cannot be exported as asked (names the variable or the missing package)."""


def _require(module: str, purpose: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ExportError(f"{purpose} needs the {module!r} package: python3 -m pip install {module}") from err


def _netcdf_attr(value):
    """An attribute value netCDF can store: numbers and strings as they are, others as JSON text."""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return value
    return json.dumps(value, default=str)


def cf_dataset(result, history: str | None = None):
    """A copy of ``result`` with CF-style attributes, ready for netCDF.

    Adds ``Conventions`` (:data:`CF_CONVENTIONS`), ``source`` (chipsuite version), ``history``
    (``history`` or a UTC time stamp) and, where missing, ``title``; sets ``long_name``
    (and ``units``/``axis``/``standard_name`` where :data:`COORDINATE_ATTRS` has them) on
    coordinates; stores non-scalar attributes (bools, dicts, lists) as JSON text. Data
    variables must already carry ``units`` (raises :class:`ExportError` naming those without).
    """
    import chipsuite

    missing = sorted(str(name) for name, var in result.data_vars.items() if "units" not in var.attrs)
    if missing:
        raise ExportError(f"data variables without a 'units' attribute: {missing}")
    ds = result.copy(deep=False)
    for name in ds.coords:
        attrs = dict(COORDINATE_ATTRS.get(str(name), {"long_name": str(name).replace("_", " ")}))
        attrs.update(ds[name].attrs)
        ds[name].attrs = attrs
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    attrs = {"title": "chipsuite result", **result.attrs}
    attrs.update(Conventions=CF_CONVENTIONS, source=f"chipsuite {chipsuite.__version__}",
                 history=history if history is not None else f"{stamp}: written by chipsuite.export")
    ds.attrs = {key: _netcdf_attr(value) for key, value in attrs.items()}
    for name in ds.variables:
        ds[name].attrs = {key: _netcdf_attr(value) for key, value in ds[name].attrs.items()}
    return ds


def to_netcdf(result, path, compress: bool = True, history: str | None = None) -> Path:
    """Write ``result`` with CF-style attributes (:func:`cf_dataset`) to netCDF-4 at ``path``.

    ``compress`` gzips the float variables (level 4). Returns the Path.
    """
    _require("h5netcdf", "netCDF export")
    ds = cf_dataset(result, history=history)
    encoding = {}
    if compress:
        encoding = {name: {"compression": "gzip", "compression_opts": 4}
                    for name, var in ds.data_vars.items() if var.dtype.kind == "f" and var.ndim > 0}
    path = Path(path)
    ds.to_netcdf(path, engine=NETCDF_ENGINE, encoding=encoding)
    return path


def tidy_frame(result, variable: str):
    """One variable of ``result`` as a tidy :class:`pandas.DataFrame`.

    Columns: the variable's dimensions (in order), the non-dimension coordinates along them
    (e.g. ``quarter_label``, ``vendor``), then ``variable`` itself. ``frame.attrs`` holds the
    variable's ``units`` and ``long_name``. Raises :class:`ExportError` for an unknown name.
    """
    if variable not in result.data_vars:
        known = sorted(str(name) for name in result.data_vars)
        raise ExportError(f"no data variable {variable!r} in the result; known: {known}")
    var = result[variable]
    frame = var.to_dataframe(name=variable).reset_index()
    extra = [str(c) for c in var.coords if c not in var.dims and set(var[c].dims) <= set(var.dims)
             and var[c].ndim > 0]
    columns = [*map(str, var.dims), *extra, variable]
    frame = frame[columns]
    frame.attrs = {"units": var.attrs.get("units", ""), "long_name": var.attrs.get("long_name", "")}
    return frame


def to_csv(result, variable: str, path) -> Path:
    """Write :func:`tidy_frame` of ``variable`` as CSV (header row, no index). Returns the Path."""
    path = Path(path)
    tidy_frame(result, variable).to_csv(path, index=False)
    return path


def to_parquet(result, variable: str, path) -> Path:
    """Write :func:`tidy_frame` of ``variable`` as Parquet (pyarrow), with ``units`` and
    ``long_name`` of the variable (and the result's ``chipsuite_version``/``scenario`` if
    present) in the schema metadata under ``chipsuite``. Returns the Path."""
    pa = _require("pyarrow", "Parquet export")
    pq = _require("pyarrow.parquet", "Parquet export")
    frame = tidy_frame(result, variable)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    meta = {"variable": variable, **frame.attrs,
            **{key: result.attrs[key] for key in ("chipsuite_version", "scenario") if key in result.attrs}}
    table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                           b"chipsuite": json.dumps(meta, default=str).encode()})
    path = Path(path)
    pq.write_table(table, path)
    return path
