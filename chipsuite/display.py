"""One place for what the reader sees: display names, units and number formats.

Charts, tables and prose take their labels from here, so a chip is "MTIA 300" (never
``mtia_300``), a factor is "H100e", an amount "USD bn", a share "%" everywhere.

- :func:`name` turns a model or data id (generation, supplier, vendor, workload, site,
  parameter, column) into its display name;
- :func:`unit` turns a unit code (``usd_bn``, ``1``, ``h100e``) into its display form;
- :func:`number` and :func:`percent` format one number (thousands separators, a few
  significant digits, float noise shown as 0);
- :func:`table` formats a DataFrame for display: display names and units in the headers,
  numbers formatted per column, no index column (a pandas ``Styler``, HTML in JupyterLab and
  in the reports);
- :func:`headline` displays a Markdown sentence and records its numbers in the output's
  metadata, where the report index and the tests find them.

>>> from chipsuite import display
>>> display.name("mtia_300"), display.unit("usd_bn"), display.number(1311892.17)
('MTIA 300', 'USD bn', '1,311,892')
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

__all__ = ["NAMES", "UNITS", "name", "unit", "prose_html", "names_in_text", "spell_ids", "header", "number",
           "percent", "table", "headline",
           "HEADLINE_KEY", "GENERATION_NAMES", "SUPPLIER_NAMES", "VENDOR_NAMES", "WORKLOAD_NAMES", "SITE_NAMES"]

#: chip generation id -> short display name
GENERATION_NAMES = {
    "mtia_v1": "MTIA v1", "mtia_v2": "MTIA v2", "mtia_300": "MTIA 300", "mtia_400": "MTIA 400",
    "mtia_450": "MTIA 450", "mtia_500": "MTIA 500",
    "a100": "A100", "h100": "H100", "h200": "H200", "b200": "B200", "gb200": "GB200", "gb300": "GB300",
    "rubin": "Rubin", "rubin_ultra": "Rubin Ultra", "feynman": "Feynman",
    "tpu_v5p": "TPU v5p", "tpu_v6e": "TPU v6e", "tpu7_ironwood": "TPU7 Ironwood",
    "trainium2": "Trainium2", "trainium3": "Trainium3", "maia_100": "Maia 100", "maia_200": "Maia 200",
    "mi300x": "MI300X", "mi355x": "MI355X", "mi450": "MI450",
}
#: model vendor code -> chip family
VENDOR_NAMES = {"meta": "MTIA", "nvidia": "Nvidia", "amd": "AMD", "google": "Google TPU", "aws": "AWS",
                "microsoft": "Microsoft"}
#: supplier code (``supplier`` dim of a result) -> display name
SUPPLIER_NAMES = {
    "nvidia": "Nvidia (owned)",
    "amd": "AMD (owned)",
    "mtia": "MTIA (owned)",
    "cloud_nvidia": "Nvidia in clouds (rented: CoreWeave, Nebius, Oracle)",
    "cloud_tpu": "Google TPU (rented)",
}
WORKLOAD_NAMES = {
    "rec_training": "ranking/recommendation training",
    "genai_inference": "gen-AI inference",
    "large_genai_inference": "large gen-AI inference",
    "frontier_training": "frontier training",
}
SITE_NAMES = {"prometheus": "Prometheus (OH)", "hyperion": "Hyperion (LA)", "el_paso": "El Paso (TX)",
              "rest_of_fleet": "rest of fleet"}
#: parameters, inputs and columns that read better with a name of their own
OTHER_NAMES = {
    "h100e_factor": "H100e factor per chip",
    "demand_growth_2027": "demand growth 2026-2027",
    "demand_2026_hold_quarters": "quarters of 2026 at the 2025Q4 purchase rate",
    "year_end_payment_share": "share of Q1 capex paid at the year end",
    "demand_growth_long_run": "long-run demand growth",
    "demand_2026_h100e": "2026 demand (H100e)",
    "system_share_usd": "non-chip system cost",
    "unit_price_usd": "chip unit price",
    "unit_price": "unit price",
    "deal_position": "deal timing",
    "nvidia_price_multiplier": "Nvidia price",
    "mtia_supply_cap_units": "MTIA supply cap",
    "mtia_slip_per_generation": "MTIA slip per generation",
    "mtia_cadence": "MTIA cadence",
    "component_price_rise_2026": "component price rise 2026",
    "nvidia_ramp_quarters": "Nvidia ramp time",
    "facility_capex_per_mw": "facility capex per MW",
    "bargaining_elasticity": "bargaining elasticity",
    "tdp": "thermal design power",
    "amd_deal_scale": "AMD deal volume (x the deal table)",
    "nvidia_deal_scale": "Nvidia deal volume (x the deal table)",
    "build_constraint": "build (0 = capex-, 1 = power-constrained)",
    "power_shortfall_mode": "compute without power (0 = rent, 1 = defer)",
    "hyperion_power_delay_quarters": "Hyperion power delay",
    "prometheus_power_delay_quarters": "Prometheus power delay",
    "el_paso_power_delay_quarters": "El Paso power delay",
    "mtia_first_release_quarter_index": "MTIA first release (quarters from 2022Q1)",
    "non_ai_pause_cut_2023": "non-AI capex cut in the 2023 construction pause",
    "capex_usd_bn": "capex", "capex_low_usd_bn": "capex at low", "capex_high_usd_bn": "capex at high",
    "capex_base_usd_bn": "capex at base", "swing_usd_bn": "swing",
    "source_id": "source", "source_ids": "sources", "other_urls": "other URLs",
    "source_type": "type of source", "cited_rows": "value rows citing it",
}
#: sources.csv source_type -> what a reader sees (table() maps a ``source_type`` column with it)
SOURCE_TYPE_NAMES = {
    "filing": "regulatory filing", "company_release": "company release", "datasheet": "vendor datasheet / docs",
    "official_report": "official report", "press": "press", "analyst": "analyst", "blog": "blog",
    "aggregator": "aggregator / mirror",
}
NAMES = {**GENERATION_NAMES, **VENDOR_NAMES, **SUPPLIER_NAMES, **WORKLOAD_NAMES, **SITE_NAMES, **OTHER_NAMES}

#: unit code -> display form ("" = a plain number: no unit shown)
UNITS = {
    "1": "", "": "", "usd": "USD", "usd_bn": "USD bn", "usd bn": "USD bn", "USD bn": "USD bn", "usd_m": "USD m",
    "h100e": "H100e", "H100e": "H100e", "pct": "%", "%": "%", "share": "%", "mw": "MW", "MW": "MW",
    "twh": "TWh", "mtco2": "MtCO2", "units": "units", "quarters": "quarters", "months": "months",
}

_TOKENS = {"usd": "USD", "bn": "bn", "h100e": "H100e", "mtia": "MTIA", "amd": "AMD", "hhi": "HHI", "tco2": "tCO2",
           "mtco2": "MtCO2", "mw": "MW", "twh": "TWh", "gpu": "GPU", "gpus": "GPUs", "nre": "NRE", "pue": "PUE",
           "it": "IT", "tpu": "TPU", "nvidia": "Nvidia", "capex": "capex", "ppe": "P&E", "q4": "Q4"}
_UNIT_SUFFIXES = (("_usd_bn", "USD bn"), ("_usd_m", "USD m"), ("_usd", "USD"), ("_h100e_million", "million H100e"),
                  ("_million", "million"), ("_thousand", "thousand"), ("_mw", "MW"), ("_twh", "TWh"),
                  ("_mtco2", "MtCO2"), ("_pct", "%"))


def name(key) -> str:
    """Display name of an id: ``"mtia_300"`` -> ``"MTIA 300"``, ``"cloud_tpu"`` -> ``"Google TPU (rented)"``.

    Unknown ids are spelled out: underscores become spaces and known tokens (usd, h100e, mtia,
    ...) their display form; a rented generation ``"<id> (rented)"`` keeps its suffix.
    """
    text = str(key)
    if text in NAMES:
        return NAMES[text]
    if text.endswith(" (rented)"):
        return f"{name(text[:-len(' (rented)')])} (rented)"
    if not re.fullmatch(r"[A-Za-z0-9_]+", text):
        return text
    words = [_TOKENS.get(w.lower(), w) for w in text.split("_") if w]
    return " ".join(words) if words else text


_PROSE_ID = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
_PROSE_TOKEN = re.compile(r"\b(?P<id>[a-z][a-z0-9]*(?:_[a-z0-9]+)+)(?P<ext>\.(?:csv|toml|json|md)\b)?")


def prose_html(text, names=None) -> str:
    """``text`` (plain prose, e.g. a scenario's reasoning) as HTML for a reader: escaped, each id in it
    (``amd_deal_scale``) replaced by its display name (``names``, e.g. scenario titles, then
    :data:`NAMES`, else spelled out by :func:`name`); a file name (``site_capacity.csv``) set as code.

    >>> prose_html("set mtia_cadence and amd_2026 in site_capacity.csv", {"mtia_cadence": "MTIA cadence"})
    'set MTIA cadence and AMD 2026 in <code>site_capacity.csv</code>'
    """
    import html as _html

    known = {**NAMES, **(names or {})}
    out, last = [], 0
    text = str(text)
    for match in _PROSE_TOKEN.finditer(text):
        out.append(_html.escape(text[last:match.start()]))
        token, ext = match.group("id"), match.group("ext")
        if ext:
            out.append(f"<code>{_html.escape(token + ext)}</code>")
        else:
            out.append(_html.escape(known.get(token, name(token))))
        last = match.end()
    out.append(_html.escape(text[last:]))
    return "".join(out)


def names_in_text(text) -> str:
    """``text`` with every known id in it (:data:`NAMES`: chips, suppliers, sites, ...) replaced by its
    display name: ``"power placed, el_paso"`` -> ``"power placed, El Paso (TX)"``; URLs are left alone."""
    return _sub_ids(text, lambda token: NAMES.get(token, token))


def spell_ids(text) -> str:
    """``text`` (a note) with every id in it by its display name, unknown ids spelled out
    (:func:`name`): ``"no fp8_dense row"`` -> ``"no fp8 dense row"``; URLs are left alone."""
    return _sub_ids(text, name)


_URL_OR_ID = re.compile(r"(?P<url>\b(?:https?://|www\.)\S+)|" + _PROSE_ID.pattern)


def _sub_ids(text, replace):
    """``text`` with each id token replaced by ``replace(token)``; URLs in it are left as they are."""
    return _URL_OR_ID.sub(lambda m: m.group(0) if m.group("url") else replace(m.group(0)), str(text))


def unit(code) -> str:
    """Display form of a unit code: ``"usd_bn"`` -> ``"USD bn"``, ``"1"`` -> ``""`` (a plain number)."""
    if code is None or (isinstance(code, float) and math.isnan(code)):
        return ""
    text = str(code).strip()
    return UNITS.get(text, UNITS.get(text.lower(), text))


def header(column, unit_code=None) -> str:
    """A table header ``"name [unit]"``; the unit from ``unit_code`` or the column's suffix."""
    col = str(column)
    if unit_code is None:
        for suffix, u in _UNIT_SUFFIXES:
            if col.endswith(suffix) and len(col) > len(suffix):
                base = NAMES.get(col, name(col[: -len(suffix)]))
                return f"{base} [{u}]"
        return name(col)
    u = unit(unit_code)
    return f"{name(col)} [{u}]" if u else name(col)


def _noise(x, scale):
    """True when ``x`` is float noise next to ``scale`` (e.g. 1.8e-15 in a column of tens)."""
    return abs(x) < 1e-9 * max(1.0, abs(scale))


def number(x, sig: int = 3, scale=None) -> str:
    """``x`` for a reader: thousands separators, ``sig`` significant digits (whole numbers from
    1,000 up), trailing zeros dropped, float noise (|x| < 1e-9 x ``scale``) shown as ``0``;
    NaN and None as ``""``.

    >>> number(638000.0), number(2.0), number(0.012345), number(1.776357e-15, scale=10)
    ('638,000', '2', '0.0123', '0')
    """
    if x is None or isinstance(x, str):
        return "" if x is None else x
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    try:
        value = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(value):
        return ""
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == 0 or _noise(value, 1.0 if scale is None else scale):
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    if magnitude >= 3 or magnitude >= sig - 1:
        return f"{round(value):,}"
    decimals = sig - 1 - magnitude
    text = f"{value:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def percent(share, digits: int = 0) -> str:
    """A share [1] as ``"17 %"`` (``digits`` decimals); float noise as ``"0 %"``."""
    value = float(share)
    if math.isnan(value):
        return ""
    if _noise(value, 1.0):
        value = 0.0
    return f"{value * 100:.{digits}f} %"


def table(frame, units=None, percent_columns=(), sig: int = 3, names=None, max_rows=None):
    """A DataFrame formatted for a reader (a pandas ``Styler``; HTML in notebooks and reports).

    Columns get display names (:func:`name`) and units in brackets (``units``: column ->
    unit code, else from the column's suffix, e.g. ``_usd_bn``); a column ``unit`` holding one
    unit for all rows moves into the headers of the value columns ``low``/``base``/``high``/
    ``value``; id cells (generation, supplier, parameter, ...) get display names; numbers
    are formatted per column with :func:`number` (noise next to the column's largest value
    shows as 0); shares in ``percent_columns`` as %; the index is hidden.
    """
    f = frame.reset_index(drop=not _named_index(frame)).copy()
    if max_rows is not None:
        f = f.head(max_rows)
    units = dict(units or {})
    if "unit" in f.columns and f["unit"].nunique() == 1:
        common = f["unit"].iloc[0]
        for col in ("low", "base", "high", "value", "public_low", "public", "public_high", "model"):
            if col in f.columns:
                units.setdefault(col, common)
        f = f.drop(columns="unit")
    elif "unit" in f.columns:
        f["unit"] = f["unit"].map(unit)
    id_columns = ("generation", "supplier", "vendor", "workload", "site", "parameter", "name", "table", "measure")
    for col in f.columns:
        if not (f[col].dtype == object or pd.api.types.is_string_dtype(f[col])) or col == "source_type":
            continue
        if col in id_columns:
            f[col] = f[col].map(lambda v: name(v) if isinstance(v, str) else v)
        elif col == "note":  # a note's ids are spelled out ("the amd_2026 tranches" -> "the AMD 2026 tranches")
            f[col] = f[col].map(lambda v: spell_ids(v) if isinstance(v, str) else v)
        else:  # text that names a known id ("facility power placed, el_paso") gets its display name
            f[col] = f[col].map(lambda v: names_in_text(v) if isinstance(v, str) else v)
    if "source_type" in f.columns:
        f["source_type"] = f["source_type"].map(lambda v: SOURCE_TYPE_NAMES.get(v, v) if isinstance(v, str) else v)
    headers = {}
    for col in f.columns:
        if col in percent_columns:
            headers[col] = f"{name(col)} [%]"
        elif names and col in names:
            u = unit(units.get(col, ""))
            headers[col] = f"{names[col]} [{u}]" if u else names[col]
        else:
            headers[col] = header(col, units.get(col)) if col in units else header(col)
    formats = {}
    for col in f.columns:
        if col in percent_columns:
            formats[col] = lambda v: "" if pd.isna(v) else percent(v, 1)
        elif pd.api.types.is_numeric_dtype(f[col]) and not pd.api.types.is_bool_dtype(f[col]):
            values = pd.to_numeric(f[col], errors="coerce")
            top = float(np.nanmax(np.abs(values))) if values.notna().any() else 1.0
            formats[col] = (lambda s: (lambda v: number(v, sig=sig, scale=s)))(top)
        elif f[col].dtype == object:
            formats[col] = lambda v: number(v, sig=sig) if isinstance(v, (int, float, np.number)) else (
                "" if v is None else str(v))
    f = f.rename(columns=headers)
    formats = {headers[c]: fn for c, fn in formats.items()}
    return Table(f, formats)


class Table:
    """A formatted table: HTML (``_repr_html_``, no index column) and plain text (``repr``) for
    the reader; ``.frame`` holds the renamed, unformatted values, ``.styler`` the pandas Styler."""

    def __init__(self, frame, formats):
        self.frame = frame
        self._formats = formats

    @property
    def styler(self):
        styler = self.frame.style.format(self._formats, na_rep="").hide(axis="index")
        text = [c for c in self.frame.columns if not pd.api.types.is_numeric_dtype(self.frame[c])]
        if text:  # words read from the left; numbers stay right-aligned
            styler = styler.set_properties(subset=text, **{"text-align": "left"})
        return styler.set_table_attributes('class="chipsuite-table"').set_table_styles([
            {"selector": "th", "props": "text-align: left; vertical-align: bottom;"},
            {"selector": "td", "props": "vertical-align: top;"},
        ])

    def text_frame(self):
        """The table as strings, as the reader sees it."""
        out = self.frame.copy()
        for col, fn in self._formats.items():
            out[col] = [fn(v) for v in self.frame[col]]
        return out.fillna("").astype(str)

    def _repr_html_(self):
        return self.styler.to_html()

    def __repr__(self):
        return self.text_frame().to_string(index=False)

    def __len__(self):
        return len(self.frame)


def _named_index(frame) -> bool:
    return any(n is not None for n in frame.index.names) and not isinstance(frame.index, pd.RangeIndex)


#: output metadata key under which :func:`headline` records its numbers
HEADLINE_KEY = "chipsuite"


def headline(text, numbers=None, question=None, lead: bool = False):
    """Display a Markdown sentence and record ``numbers`` (key -> float) in the output metadata.

    ``numbers`` keys name a quantity the tests recompute from the model (see
    :data:`chipsuite.headlines.CHECKS`); ``lead=True`` marks the page's headline for the report
    index (with ``question``, what the page answers).
    """
    from IPython.display import Markdown, display

    meta = {"numbers": {k: float(v) for k, v in (numbers or {}).items()}}
    if lead:
        meta["lead"] = True
        meta["text"] = str(text)
        if question:
            meta["question"] = str(question)
    display(Markdown(text), metadata={HEADLINE_KEY: meta})
