"""Table schemas, units vocabulary and cell validation for the CSV files in ``data/``.

The schemas below transcribe ``data/README.md``. Each table is a mapping
``column name -> rule``; :func:`read_table` reads one CSV with the :mod:`csv`
module (so line numbers are exact, the header being line 1), checks every cell
and every row, and returns the raw rows with their line numbers.
:func:`check_cross_references` checks what spans tables (foreign keys, source
ids, required parameters). Any violation raises :class:`DataError` naming
file, line, column and rule. Nothing is dropped, filled or clipped.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import math
import os
import re
import stat
import sys
from dataclasses import dataclass, field


class DataError(ValueError):
    """A data table breaks the contract of ``data/README.md``.

    The message reads ``"<file>, line <n>, column '<col>': <rule>"``; the parts
    are kept as ``.file``, ``.line`` (header = line 1; ``None`` for a whole
    file), ``.column`` (``None`` for a whole row) and ``.rule``.
    """

    def __init__(self, file, line, column, rule):
        self.file, self.line, self.column, self.rule = file, line, column, rule
        where = [str(file)]
        if line is not None:
            where.append(f"line {line}")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {rule}")

    def __reduce__(self):
        return (type(self), (self.file, self.line, self.column, self.rule))


# --------------------------------------------------------------------------- units

#: unit as written in the tables -> (canonical unit of the dataset, factor to canonical)
UNITS = {
    "1": ("1", 1),
    "W": ("W", 1),
    "MW": ("MW", 1),
    "TFLOPS": ("TFLOPS", 1),
    "GB": ("GB", 1),
    "TB/s": ("TB/s", 1),
    "USD": ("USD", 1),
    "USD bn": ("USD", 10**9),
    "USD/MWh": ("USD/MWh", 1),
    "USD/MW": ("USD/MW", 1),
    "gCO2/kWh": ("gCO2/kWh", 1),
    "H100e": ("H100e", 1),
    "units": ("units", 1),
    "years": ("years", 1),
    "quarters": ("quarters", 1),
    "1/year": ("1/year", 1),
    "USD/hour": ("USD/hour", 1),
    # energy tables (issue #12 data)
    "MWh": ("MWh", 1),
    "L/kWh": ("L/kWh", 1),
    "ML": ("ML", 1),
    "tCO2": ("tCO2", 1),
}

# --------------------------------------------------------------------------- vocabularies

KINDS = ("reported", "guidance", "estimate", "assumption")
VENDORS = ("meta", "nvidia", "amd", "google", "aws", "microsoft")
WORKLOADS = ("rec_training", "genai_inference", "large_genai_inference", "frontier_training")
SITES = ("prometheus", "hyperion", "el_paso", "rest_of_fleet")
CAPEX_QUARTERLY_MEASURES = ("headline", "ppe")
CAPEX_ANNUAL_MEASURES = ("reported", "guidance", "consensus")
EVENT_CATEGORIES = ("model", "org", "deal", "chips", "energy", "capex", "site")
#: sources.csv ``source_type``: what the document at ``url`` is, most authoritative first (data/README.md).
#: Primary: the issuer's own words or an official body's; secondary: someone reporting or compiling them.
PRIMARY_SOURCE_TYPES = (
    "filing",  # a regulatory filing: SEC 10-K / 10-Q / 8-K (and exhibits), 6-K, a utility-commission docket
    "company_release",  # the company's own press release, newsroom or engineering-blog post, investor page
    "datasheet",  # a vendor's datasheet, product brief or technical documentation of its product
    "official_report",  # a company report (sustainability report) or a government / intergovernmental body's
)
SECONDARY_SOURCE_TYPES = (
    "press",  # a news outlet reporting (incl. wire stories and their reprints)
    "analyst",  # analyst, research firm or consultancy notes and estimates
    "blog",  # personal or company blogs, newsletters, Substack posts not by the issuer
    "aggregator",  # wikis, data aggregators, summaries and mirrors of other documents, datasets compiled by third parties
)
SOURCE_TYPES = PRIMARY_SOURCE_TYPES + SECONDARY_SOURCE_TYPES
#: fleet_milestones quantity -> allowed units
FLEET_QUANTITIES = {
    "gpus_total": ("units",),
    "h100_units": ("units",),
    "h100e_total": ("H100e",),
    "mtia_units": ("units",),
}
BOUNDS = ("low", "base", "high")

#: chip_specs parameter -> (allowed units, dataset variable)
CHIP_PARAMETERS = {
    "tdp": (("W",), "tdp_w"),
    "bf16_dense": (("TFLOPS",), "bf16_dense_tflops"),
    "fp8_dense": (("TFLOPS",), "fp8_dense_tflops"),
    "memory": (("GB",), "memory_gb"),
    "memory_bandwidth": (("TB/s",), "memory_bandwidth_tbps"),
    "unit_price": (("USD",), "unit_price_usd"),
    "fp4_dense": (("TFLOPS",), "fp4_dense_tflops"),
    "system_cost": (("USD",), "system_cost_usd"),
    "system_power_overhead": (("1",), "system_power_overhead"),
    "rental_price": (("USD/hour",), "rental_price_usd_per_hour"),
}
#: parameters every chip with ``in_meta_fleet = true`` must have
REQUIRED_FLEET_CHIP_PARAMETERS = ("tdp", "bf16_dense", "unit_price")

#: site_params parameter -> (allowed units, dataset variable); every site needs all of them
SITE_PARAMETERS = {
    "pue": (("1",), "pue"),
    "electricity_price": (("USD/MWh",), "electricity_price_usd_per_mwh"),
    "carbon_intensity": (("gCO2/kWh",), "carbon_intensity_gco2_per_kwh"),
    "long_run_capacity": (("MW",), "long_run_capacity_mw"),
}

#: deals.csv vocabularies; measure -> allowed units
DEAL_SUPPLIERS = ("nvidia", "amd", "coreweave", "google_cloud", "other_cloud")
DEAL_TYPES = ("purchase", "rental", "commitment")
DEAL_MEASURES = {
    "units": ("units",),
    "power": ("MW",),
    "value": ("USD bn", "USD"),
}
#: tranche numbers of a deal (text in the tables; 1 = first tranche)
DEAL_TRANCHES = tuple(str(i) for i in range(1, 25))

#: financials.csv measure -> allowed units
FINANCIAL_MEASURES = {
    "depreciation_amortization": ("USD bn", "USD"),
    "finance_lease_principal": ("USD bn", "USD"),
    "gross_ppe_end": ("USD bn", "USD"),
    "net_ppe_end": ("USD bn", "USD"),
    "construction_in_progress_end": ("USD bn", "USD"),
    "operating_lease_cost": ("USD bn", "USD"),
    "nvidia_gross_margin": ("1",),
    "amd_gross_margin": ("1",),
    "cost_of_capital": ("1",),
    "server_useful_life": ("years",),
    "useful_life_depreciation_reduction": ("USD bn", "USD"),
}

# --------------------------------------------------------------------------- table schemas

#: cell rules (column types). ("enum", values) is an enumeration.
IDENTIFIER = "identifier"  # lower-case [a-z0-9_]+
TEXT = "text"  # anything, may be empty
REQUIRED_TEXT = "required text"  # non-empty, not only blanks
NUMBER = "number"  # decimal number; range set by the table's value_floor
BOOL = "bool"  # true / false
DATE = "date"  # YYYY-MM-DD
SOURCE_DATE = "source date"  # YYYY-MM-DD, YYYY-MM, YYYY or n.d.
QUARTER = "quarter"  # YYYYQn
YEAR = "year"  # YYYY
SOURCE_ID = "source id"  # S<n>
SOURCE_IDS = "source ids"  # S<n>;S<m>, may be empty only for assumptions
URL = "url"  # one http(s):// URL
URLS = "urls"  # URLs separated by " ; ", may be empty
UNIT = "unit"  # a unit of UNITS, allowed for the row's parameter
OPTIONAL_NUMBER = "optional number"  # empty, or a finite number (range set by the table's row rule)


def enum(*values):
    """Cell rule: one of ``values``."""
    return ("enum", tuple(values))


#: Years that dates, quarters and years in the tables may fall in (inclusive; ``data/README.md``).
#: Outside it a typo (``2926Q3``) would silently become another date (``datetime64[ns]`` wraps
#: around beyond 1677-2262), so it is refused.
SUPPORTED_YEARS = (1990, 2100)


@dataclass(frozen=True)
class Bound:
    """Plausibility bounds of a number, in the canonical unit of its column or parameter.

    ``lower <= value <= upper`` (both inclusive); ``reason`` says why (shown in the error).
    """

    lower: float
    upper: float
    reason: str

    def problem(self, value):
        """``None`` if ``value`` [canonical unit] is inside, else the broken rule as text."""
        if self.lower <= value <= self.upper:
            return None
        return f"outside its plausible range [{self.lower:g}, {self.upper:g}] ({self.reason})"


@dataclass(frozen=True)
class TableSchema:
    """Schema of one CSV table.

    ``value_floor`` is ``">0"`` (every number must be strictly positive),
    ``">=0"`` (zero is meaningful, e.g. no capacity yet) or ``None`` (any finite number). ``units`` is the set
    of units allowed in the ``unit`` column, or a mapping ``parameter -> units``
    keyed by the value of ``unit_by`` (the parameter column).

    ``bounds`` holds plausibility bounds (:class:`Bound`, canonical units) of the numbers: keyed by
    the value of the ``unit_by`` column in long tables (``"tdp"``: applies to low/base/high of the
    tdp rows), else by the number column's name (``"value"``, or ``"low"``/``"base"``/``"high"``;
    the key ``"*"`` applies to every number column). A table without entries has no bounds beyond
    ``value_floor`` (``assumptions.csv`` is bounded by ``chipsuite.scenario.PARAMETERS``).
    """

    name: str
    columns: dict
    key: tuple
    value_floor: str = ">0"
    units: object = None
    unit_by: str | None = None
    bounds: dict = field(default_factory=dict)
    bounded: bool = field(init=False, default=False)

    def __post_init__(self):
        object.__setattr__(self, "bounded", all(b in self.columns for b in BOUNDS))

    @property
    def file(self):
        return f"{self.name}.csv"

    def allowed_units(self, row):
        """Units allowed in ``row`` (a dict of raw cells)."""
        if isinstance(self.units, dict):
            return self.units[row[self.unit_by]]
        return tuple(self.units) if self.units is not None else tuple(UNITS)

    def bound_for(self, row, column):
        """The :class:`Bound` of number ``column`` in ``row`` (a dict of raw cells), or ``None``."""
        if self.unit_by is not None and row.get(self.unit_by) in self.bounds:
            return self.bounds[row[self.unit_by]]
        return self.bounds.get(column, self.bounds.get("*"))


def _units_by(parameters):
    """``{parameter: allowed units}`` from ``{parameter: (allowed units, dataset variable)}``."""
    return {p: units for p, (units, _) in parameters.items()}


#: plausibility bounds [canonical units] per chip_specs parameter (see TableSchema.bounds)
CHIP_BOUNDS = {
    "tdp": Bound(1, 10_000, "package power in W; the largest planned packages (Rubin Ultra, Feynman) are ~4.5 kW"),
    "bf16_dense": Bound(1, 200_000, "dense TFLOPS; the fastest planned parts are ~40,000"),
    "fp8_dense": Bound(1, 400_000, "dense TFLOPS; the fastest planned parts are ~90,000"),
    "fp4_dense": Bound(1, 1_000_000, "dense TFLOPS; the fastest planned parts are ~250,000"),
    "memory": Bound(1, 10_000, "GB per package; the largest planned parts hold ~2,000 GB"),
    "memory_bandwidth": Bound(0.01, 500, "TB/s per package; the fastest planned parts reach ~64 TB/s"),
    "unit_price": Bound(100, 2_000_000, "USD per accelerator; the priciest parts cost up to ~250 thousand"),
    "system_cost": Bound(100, 5_000_000, "USD per accelerator of a whole system; rack-scale is ~400 thousand"),
    "system_power_overhead": Bound(1, 5, "system power per W of accelerator TDP is >= 1; racks are 1.1-3.5"),
    "rental_price": Bound(0.01, 1_000, "USD per accelerator-hour; cloud GPUs rent at 1.5-10"),
}
#: plausibility bounds [canonical units] per site_params parameter
SITE_BOUNDS = {
    "pue": Bound(1, 3, "PUE = facility power / IT power is >= 1 by definition; old halls reach ~2.5"),
    "electricity_price": Bound(1, 1_000, "USD/MWh; US industrial prices are 40-200"),
    "carbon_intensity": Bound(0, 2_000, "gCO2/kWh; coal emits ~1,000, nothing emits twice that"),
    "long_run_capacity": Bound(0, 100_000, "MW; the largest announced campus is ~7 GW"),
}
#: facility power [MW] of one site at a milestone
SITE_CAPACITY_BOUND = Bound(0, 100_000, "MW; the largest announced campus is ~7 GW, the whole fleet ~15 GW")
#: plausibility bounds [canonical units] per fleet_milestones quantity
FLEET_BOUNDS = {q: Bound(1, 100_000_000, "units or H100e; Meta's fleet is ~1.3 million GPUs (2025)")
                for q in FLEET_QUANTITIES}

#: plausibility bounds [canonical units] per financials measure
FINANCIAL_BOUNDS = {
    **{m: Bound(1e6, 2e12, "USD; Meta's statement lines are 0.3-240 bn") for m, u in FINANCIAL_MEASURES.items()
       if u == ("USD bn", "USD")},
    "nvidia_gross_margin": Bound(0, 1, "a gross margin is a share of revenue"),
    "amd_gross_margin": Bound(0, 1, "a gross margin is a share of revenue"),
    "cost_of_capital": Bound(0, 1, "a rate per year; Meta's is ~7-10 %"),
    "server_useful_life": Bound(1, 15, "years; Meta depreciates servers over 4-5.5"),
}

_VALUE_COLUMNS = {"unit": UNIT, "low": NUMBER, "base": NUMBER, "high": NUMBER}
_TAIL = {"kind": enum(*KINDS), "source_ids": SOURCE_IDS, "note": TEXT}

TABLES = {
    t.name: t
    for t in [
        TableSchema(
            "sources",
            {"source_id": SOURCE_ID, "publisher": REQUIRED_TEXT, "title": REQUIRED_TEXT,
             "date": SOURCE_DATE, "url": URL, "other_urls": URLS, "source_type": enum(*SOURCE_TYPES)},
            key=("source_id",),
        ),
        TableSchema(
            "chips",
            {"generation": IDENTIFIER, "name": REQUIRED_TEXT, "vendor": enum(*VENDORS),
             "in_meta_fleet": BOOL, "announced": DATE, "first_volume_quarter": QUARTER,
             "status": REQUIRED_TEXT, **_TAIL},
            key=("generation",),
        ),
        TableSchema(
            "chip_specs",
            {"generation": IDENTIFIER, "parameter": enum(*CHIP_PARAMETERS), **_VALUE_COLUMNS, **_TAIL},
            key=("generation", "parameter"), units=_units_by(CHIP_PARAMETERS), unit_by="parameter",
            bounds=CHIP_BOUNDS,
        ),
        TableSchema(
            "chip_workloads",
            {"generation": IDENTIFIER, "workload": enum(*WORKLOADS), **_VALUE_COLUMNS,
             "method": IDENTIFIER, **_TAIL},
            key=("generation", "workload"), units=("H100e",),
            bounds={"*": Bound(0.001, 100, "H100s one unit replaces; the fastest chips replace ~11")},
        ),
        TableSchema(
            "sites",
            {"site": enum(*SITES), "name": REQUIRED_TEXT, "state": REQUIRED_TEXT,
             "utility": TEXT, "grid": TEXT, **_TAIL},
            key=("site",),
        ),
        TableSchema(
            "site_params",
            {"site": enum(*SITES), "parameter": enum(*SITE_PARAMETERS), **_VALUE_COLUMNS, **_TAIL},
            key=("site", "parameter"), units=_units_by(SITE_PARAMETERS), unit_by="parameter",
            bounds=SITE_BOUNDS,
        ),
        TableSchema(
            # zero is meaningful here: a site may have no capacity yet at a milestone
            "site_capacity",
            {"site": enum(*SITES), "quarter": QUARTER, **_VALUE_COLUMNS, **_TAIL},
            key=("site", "quarter"), value_floor=">=0", units=("MW",), bounds={"*": SITE_CAPACITY_BOUND},
        ),
        TableSchema(
            "capex_quarterly",
            {"quarter": QUARTER, "measure": enum(*CAPEX_QUARTERLY_MEASURES), "unit": UNIT,
             "value": NUMBER, **_TAIL},
            key=("quarter", "measure"), units=("USD bn", "USD"),
            bounds={"value": Bound(1e8, 5e11, "USD per quarter; Meta's quarterly capex is 5-40 bn")},
        ),
        TableSchema(
            "capex_annual",
            {"year": YEAR, "measure": enum(*CAPEX_ANNUAL_MEASURES), "date_given": DATE,
             **_VALUE_COLUMNS, **_TAIL},
            key=("year", "measure", "date_given"), units=("USD bn", "USD"),
            bounds={"*": Bound(1e9, 2e12, "USD per year; Meta's annual capex is 27-145 bn")},
        ),
        TableSchema(
            "events",
            {"event_id": IDENTIFIER, "date": DATE, "label": REQUIRED_TEXT,
             "category": enum(*EVENT_CATEGORIES), **_TAIL},
            key=("event_id",),
        ),
        TableSchema(
            "fleet_milestones",
            {"date": DATE, "quantity": enum(*FLEET_QUANTITIES), **_VALUE_COLUMNS, **_TAIL},
            key=("date", "quantity"), units=FLEET_QUANTITIES, unit_by="quantity", bounds=FLEET_BOUNDS,
        ),
        TableSchema(
            # scenario parameters may be 0 or negative (shares, lags, growth rates): any finite number;
            # each parameter's own bounds are checked by chipsuite.scenario
            "assumptions",
            {"parameter": IDENTIFIER, **_VALUE_COLUMNS, **_TAIL},
            key=("parameter",), value_floor=None,
        ),
        TableSchema(
            # Meta's chip purchase, rental and cloud-commitment deals, one row per tranche
            "deals",
            {"deal_id": IDENTIFIER, "tranche": enum(*DEAL_TRANCHES), "counterparty": REQUIRED_TEXT,
             "supplier": enum(*DEAL_SUPPLIERS), "deal_type": enum(*DEAL_TYPES), "generation": TEXT,
             "start_quarter": QUARTER, "end_quarter": QUARTER, "measure": enum(*DEAL_MEASURES),
             **_VALUE_COLUMNS, **_TAIL},
            key=("deal_id", "tranche"), units=DEAL_MEASURES, unit_by="measure",
            bounds={"units": Bound(1, 100_000_000, "units of one tranche; the largest deals are ~1.5 million"),
                    "power": Bound(1, 100_000, "MW of one tranche; the largest deals are ~1 GW per tranche"),
                    "value": Bound(1e6, 2e12, "USD of one tranche; the largest deals are ~100-150 bn")},
        ),
        TableSchema(
            # Meta financial-statement lines and vendor margins; period is a year YYYY or a quarter YYYYQn
            "financials",
            {"period": REQUIRED_TEXT, "measure": enum(*FINANCIAL_MEASURES), **_VALUE_COLUMNS, **_TAIL},
            key=("period", "measure"), units=FINANCIAL_MEASURES, unit_by="measure",
            bounds=FINANCIAL_BOUNDS,
        ),
    ]
}

# --------------------------------------------------------------------------- energy tables (issue #12 data)

#: energy_contracts vocabularies
ENERGY_TECHNOLOGIES = ("nuclear", "gas", "solar", "wind", "storage", "geothermal", "grid")
CONTRACT_TYPES = ("ppa", "utility_supply", "on_site", "prepayment", "uprate", "option")
PRICE_KINDS = ("reported", "estimate", "assumption", "not_public")
PRICE_COLUMNS = ("price_usd_per_mwh_low", "price_usd_per_mwh_base", "price_usd_per_mwh_high")
#: site value of a contract not tied to one data centre
FLEET_SITE = "fleet"
#: fleet_energy_reported measure -> (unit, lowest allowed, highest allowed); per-site measures by prefix below
FLEET_ENERGY_MEASURES = {
    "electricity_total": ("MWh", 0, 1e9),
    "electricity_company_total": ("MWh", 0, 1e9),
    "electricity_leased": ("MWh", 0, 1e9),
    "pue_fleet": ("1", 1, 3),
    "wue_fleet": ("L/kWh", 0, 10),
    "water_withdrawal": ("ML", 0, 1e6),
    "water_withdrawal_company": ("ML", 0, 1e6),
    "water_consumption": ("ML", 0, 1e6),
    "renewable_matching": ("1", 0, 1),
    "scope2_market_based": ("tCO2", 0, 1e9),
    "scope2_location_based": ("tCO2", 0, 1e9),
    "scope2_location_based_dc": ("tCO2", 0, 1e9),
}
#: fleet_energy_reported per-site measure prefix -> (unit, lowest, highest); the rest is the site name
FLEET_ENERGY_SITE_PREFIXES = {
    "electricity_site_": ("MWh", 0, 1e8),
    "water_withdrawal_site_": ("ML", 0, 1e5),
    "scope2_location_based_site_": ("tCO2", 0, 1e8),
}
#: grid_regions measure -> (unit, lowest, highest)
GRID_MEASURES = {
    "carbon_intensity_location": ("gCO2/kWh", 0, 1500),
    "carbon_intensity_market": ("gCO2/kWh", 0, 1500),
    "industrial_price": ("USD/MWh", 0, 1000),
}
#: site_power_plans: last quarter a plan may name
POWER_PLAN_LAST_QUARTER = "2032Q4"

for _t in [
    TableSchema(
        "energy_contracts",
        {"contract_id": IDENTIFIER, "counterparty": REQUIRED_TEXT, "plant": REQUIRED_TEXT,
         "technology": enum(*ENERGY_TECHNOLOGIES), "site": enum(*SITES, FLEET_SITE),
         "contract_type": enum(*CONTRACT_TYPES), **_VALUE_COLUMNS,
         "start_quarter": QUARTER, "end_quarter": QUARTER, "carbon_intensity_gco2_per_kwh": NUMBER,
         **{c: OPTIONAL_NUMBER for c in PRICE_COLUMNS}, "price_kind": enum(*PRICE_KINDS), **_TAIL},
        key=("contract_id",), units=("MW",),
        bounds={"*": Bound(0.1, 100_000, "MW of one contract; the largest are ~2.2 GW"),
                "carbon_intensity_gco2_per_kwh": Bound(0, 2_000, "gCO2/kWh; coal emits ~1,000"),
                **{c: Bound(1, 1_000, "USD/MWh; contract prices are 40-200") for c in PRICE_COLUMNS}},
    ),
    TableSchema(
        "fleet_energy_reported",
        {"year": YEAR, "measure": IDENTIFIER, **_VALUE_COLUMNS, **_TAIL},
        key=("year", "measure"),  # unit per measure: checked by the row rule
    ),
    TableSchema(
        "grid_regions",
        {"region": IDENTIFIER, "measure": enum(*GRID_MEASURES), "year": YEAR, **_VALUE_COLUMNS, **_TAIL},
        key=("region", "measure", "year"), units={m: (u,) for m, (u, _, _) in GRID_MEASURES.items()},
        unit_by="measure",
    ),
    TableSchema(
        "site_power_plans",
        {"site": enum(*SITES), "quarter": QUARTER, **_VALUE_COLUMNS, **_TAIL},
        key=("site", "quarter"), units=("MW",), bounds={"*": SITE_CAPACITY_BOUND},
    ),
]:
    TABLES[_t.name] = _t
del _t


# --------------------------------------------------------------------------- cell rules

_IDENTIFIER_RE = re.compile(r"[a-z0-9_]+")
# digits are ASCII [0-9] only: ``\d`` would accept "７００" or Bengali "৭৪০" (which float() reads)
_NUMBER_RE = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SOURCE_DATE_RE = re.compile(r"[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?|n\.d\.")
_QUARTER_RE = re.compile(r"[0-9]{4}Q[1-4]")
_YEAR_RE = re.compile(r"[0-9]{4}")
_SOURCE_ID_RE = re.compile(r"S[1-9][0-9]*")
_URL_RE = re.compile(r"https?://\S+")


def check_cell(rule, value):
    """Return ``None`` if ``value`` (raw text) satisfies ``rule``, else the broken rule as text."""
    if isinstance(rule, tuple):  # enum
        if value not in rule[1]:
            return f"value {value!r} is not one of {', '.join(rule[1])}"
        return None
    if rule == TEXT:
        return None
    if rule == REQUIRED_TEXT:
        return None if value.strip() else "value is empty but required"
    if rule == IDENTIFIER:
        ok = _IDENTIFIER_RE.fullmatch(value)
        return None if ok else f"value {value!r} is not an identifier (lower-case [a-z0-9_]+)"
    if rule == NUMBER:
        if value == "":
            return "value is empty but a number is required"
        if not _NUMBER_RE.fullmatch(value):
            return f"value {value!r} is not a number"
        return _finite_problem(value)
    if rule == OPTIONAL_NUMBER:
        if value == "":
            return None
        if not _NUMBER_RE.fullmatch(value):
            return f"value {value!r} is not a number (or empty)"
        return _finite_problem(value)
    if rule == BOOL:
        return None if value in ("true", "false") else f"value {value!r} is not true/false"
    if rule == DATE:
        if not _is_date(value):
            return f"value {value!r} is not a date YYYY-MM-DD"
        return _year_problem(value, int(value[:4]))
    if rule == SOURCE_DATE:
        ok = _SOURCE_DATE_RE.fullmatch(value) and (len(value) != 10 or _is_date(value))
        if not ok:
            return f"value {value!r} is not a date YYYY-MM-DD, YYYY-MM, YYYY or n.d."
        if value != "n.d." and len(value) == 7 and not 1 <= int(value[5:]) <= 12:
            return f"value {value!r} is not a date YYYY-MM (month 01-12)"
        return None if value == "n.d." else _year_problem(value, int(value[:4]))
    if rule == QUARTER:
        if not _QUARTER_RE.fullmatch(value):
            return f"value {value!r} is not a quarter YYYYQn (e.g. 2026Q1)"
        return _year_problem(value, int(value[:4]))
    if rule == YEAR:
        if not _YEAR_RE.fullmatch(value):
            return f"value {value!r} is not a year YYYY"
        return _year_problem(value, int(value))
    if rule == SOURCE_ID:
        return None if _SOURCE_ID_RE.fullmatch(value) else f"value {value!r} is not a source id S<n>"
    if rule == SOURCE_IDS:
        if value == "":
            return None  # emptiness is a row rule (assumptions only)
        bad = [s for s in value.split(";") if not _SOURCE_ID_RE.fullmatch(s)]
        return None if not bad else f"value {value!r}: {bad[0]!r} is not a source id S<n> (separator ';')"
    if rule == URL:
        return None if _URL_RE.fullmatch(value) else f"value {value!r} is not an http(s):// URL"
    if rule == URLS:
        if value == "":
            return None
        bad = [u for u in value.split(" ; ") if not _URL_RE.fullmatch(u)]
        return None if not bad else f"value {value!r}: {bad[0]!r} is not an http(s):// URL (separator ' ; ')"
    if rule == UNIT:
        return None if value in UNITS else f"unit {value!r} is not in the units vocabulary"
    raise AssertionError(f"unknown cell rule {rule!r}")  # pragma: no cover


def _finite_problem(value):
    """``None`` if the number text ``value`` is a finite, normal float (or zero), else the broken rule."""
    x = float(value)
    if not math.isfinite(x):
        return f"value {value!r} is not a finite number"
    if x != 0 and abs(x) < sys.float_info.min:  # subnormal: below 2.2e-308, precision is lost
        return f"value {value!r} is below the smallest normal number ({sys.float_info.min:.3g}); a typo?"
    return None


def _year_problem(value, year):
    """``None`` if ``year`` is inside :data:`SUPPORTED_YEARS`, else the broken rule as text."""
    first, last = SUPPORTED_YEARS
    if first <= year <= last:
        return None
    return f"value {value!r} is outside the supported years {first}-{last} (data/README.md)"


def _is_date(value):
    if not _DATE_RE.fullmatch(value):
        return False
    try:
        _dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------- reading one table


@dataclass
class RawTable:
    """Validated raw cells of one table: ``rows`` (dicts of text) and their ``lines``."""

    schema: TableSchema
    rows: list
    lines: list


def read_table(path, schema):
    """Read and validate one CSV file against ``schema``; return a :class:`RawTable`.

    Raises :class:`DataError` for a file that cannot be read (:func:`read_file_bytes`), a bad
    encoding, a bad header, a blank, short or long row, a cell breaking its rule, a row rule
    (bounds order, positivity, plausibility bounds, unit for the parameter, source ids / note by
    kind) or a duplicate key.
    """
    return parse_table(read_file_bytes(path, schema.file), schema)


def read_file_bytes(path, file=None):
    """The bytes of the regular file at ``path``; any file-system fault raises :class:`DataError`.

    Missing file, directory, FIFO / socket / device (refused without blocking: the file is opened
    non-blocking and checked with ``fstat`` before it is read), symlink loop, no permission, or any
    other ``OSError``: the message names ``path``. ``file`` is the name used in the message
    (default: the file name of ``path``).
    """
    path = os.fspath(path)
    file = file or os.path.basename(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise DataError(file, None, None, f"file is missing (expected at {path})") from None
    except IsADirectoryError:
        raise DataError(file, None, None, f"{path} is a directory, not a CSV file") from None
    except PermissionError:
        raise DataError(file, None, None, f"file {path} cannot be read: permission denied") from None
    except OSError as err:  # ELOOP (symlink loop), ENXIO (a socket), ENAMETOOLONG, EIO, ...
        mode = _mode_or_none(path)
        if mode is not None and not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
            raise DataError(file, None, None, f"{path} is not a regular file ({_file_type(mode)}); "
                            "a CSV table must be a regular file") from None
        raise DataError(file, None, None, f"file {path} cannot be opened: {err.strerror or err}") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise DataError(file, None, None, f"{path} is a directory, not a CSV file")
        if not stat.S_ISREG(mode):
            raise DataError(file, None, None, f"{path} is not a regular file ({_file_type(mode)}); "
                            "a CSV table must be a regular file")
        with os.fdopen(fd, "rb", closefd=True) as fh:
            fd = None
            return fh.read()
    except OSError as err:
        raise DataError(file, None, None, f"file {path} cannot be read: {err.strerror or err}") from None
    finally:
        if fd is not None:
            os.close(fd)


def _mode_or_none(path):
    try:
        return os.stat(path).st_mode
    except (OSError, ValueError):
        return None


def _file_type(mode):
    for test, name in ((stat.S_ISFIFO, "a FIFO / named pipe"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "not a regular file"  # pragma: no cover


#: byte-order marks of encodings other than UTF-8, refused with their name
_OTHER_BOMS = ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
               (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16"))


def decode_utf8(data, file):
    """Text of ``data`` (UTF-8, an optional UTF-8 byte-order mark dropped); else :class:`DataError`."""
    for bom, name in _OTHER_BOMS:
        if data.startswith(bom):
            raise DataError(file, 1, None, f"file is {name} (byte-order mark); save it as UTF-8")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise DataError(file, line, None, "file is not valid UTF-8 (save it as UTF-8 / 'CSV UTF-8')") from None
    return text[1:] if text.startswith("\ufeff") else text  # spreadsheets write a BOM for "CSV UTF-8"


def parse_table(data, schema):
    """Validate the bytes ``data`` of one CSV file against ``schema``; return a :class:`RawTable`."""
    file = schema.file
    text = decode_utf8(data, file)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows, lines, seen = [], [], {}
    header = None
    last_line = 0
    try:
        for record in reader:
            line = last_line + 1
            last_line = reader.line_num
            if header is None:
                header = _check_header(record, schema)
                continue
            row = _check_row(record, header, line, schema)
            key = tuple(row[k] for k in schema.key)
            if key in seen:
                raise DataError(
                    file, line, ", ".join(schema.key),
                    f"duplicate key {_fmt_key(schema.key, key)} (first on line {seen[key]})",
                )
            seen[key] = line
            rows.append(row)
            lines.append(line)
    except csv.Error as err:
        raise DataError(file, last_line + 1, None, f"malformed CSV: {err}") from None
    if header is None:
        raise DataError(file, 1, None, "file is empty (no header row)")
    return RawTable(schema, rows, lines)


def _fmt_key(names, values):
    return ", ".join(f"{n}={v!r}" for n, v in zip(names, values))


def _check_header(record, schema):
    file, expected = schema.file, list(schema.columns)
    seen = set()
    for name in record:
        if name in seen:
            raise DataError(file, 1, name, "column appears twice in the header")
        seen.add(name)
    for name in expected:
        if name not in seen:
            raise DataError(file, 1, name, f"missing column (expected columns: {', '.join(expected)})")
    for name in record:
        if name not in schema.columns:
            raise DataError(file, 1, name, f"unexpected column (expected columns: {', '.join(expected)})")
    return record


def _check_row(record, header, line, schema):
    file = schema.file
    if not record or record == [""] and len(header) > 1:
        raise DataError(file, line, None, "blank line (blank lines are not allowed)")
    if len(record) != len(header):
        what = "short" if len(record) < len(header) else "long"
        raise DataError(file, line, None, f"row is {what}: {len(record)} fields, header has {len(header)}")
    row = dict(zip(header, record))
    for name, rule in schema.columns.items():
        problem = check_cell(rule, row[name])
        if problem:
            raise DataError(file, line, name, problem)
    _check_row_rules(row, line, schema)
    return row


def _check_row_rules(row, line, schema):
    file = schema.file
    if "unit" in row:
        allowed = schema.allowed_units(row)
        if row["unit"] not in allowed:
            whom = f" for {schema.unit_by} {row[schema.unit_by]!r}" if schema.unit_by else ""
            raise DataError(file, line, "unit",
                            f"unit {row['unit']!r} is not allowed{whom} (allowed: {', '.join(allowed)})")
    factor = UNITS[row["unit"]][1] if "unit" in row else 1
    for name, rule in schema.columns.items():
        if rule == NUMBER:
            x = float(row[name])
            if not math.isfinite(x * factor):
                raise DataError(file, line, name, f"value {row[name]!r} {row['unit']} overflows in canonical units")
            if schema.value_floor == ">0" and not x > 0:
                raise DataError(file, line, name, f"value {row[name]!r} must be > 0")
            if schema.value_floor == ">=0" and not x >= 0:
                raise DataError(file, line, name, f"value {row[name]!r} must be >= 0")
            _check_bound(row, line, schema, name, x * factor)
        elif rule == OPTIONAL_NUMBER and row[name] != "":
            _check_bound(row, line, schema, name, float(row[name]))  # these columns carry their own unit
    if "kind" in row and "source_ids" in row:
        if row["kind"] == "assumption":
            if not row["note"].strip():
                raise DataError(file, line, "note", "an assumption row needs a note giving its reasoning")
        elif row["source_ids"] == "":
            raise DataError(file, line, "source_ids",
                            f"source_ids is empty on a {row['kind']!r} row (only assumptions may lack sources)")
    extra = ROW_RULES.get(schema.name)
    if extra is not None:
        extra(row, line, schema)
    # the order comes last, so that an absurd value is named by its own column's rule first
    if schema.bounded:
        low, base, high = (float(row[b]) for b in BOUNDS)
        if low > base:
            raise DataError(file, line, "low", f"low {row['low']} > base {row['base']} (need low <= base <= high)")
        if base > high:
            raise DataError(file, line, "high", f"base {row['base']} > high {row['high']} (need low <= base <= high)")


def _check_bound(row, line, schema, column, value):
    """Raise :class:`DataError` if ``value`` [canonical unit] breaks the bound of ``column`` in ``row``."""
    bound = schema.bound_for(row, column)
    problem = bound.problem(value) if bound is not None else None
    if problem:
        whom = f"{schema.unit_by} {row[schema.unit_by]!r}: " if schema.unit_by else ""
        unit = f" {row['unit']}" if "unit" in row and schema.columns[column] == NUMBER else ""
        raise DataError(schema.file, line, column, f"{whom}value {row[column]}{unit} is {problem}")


# --------------------------------------------------------------------------- rules across tables


def check_cross_references(raw):
    """Check rules spanning tables in ``raw`` (dict table name -> :class:`RawTable`).

    Foreign keys (generation -> chips, site -> sites), source ids -> sources,
    required chip and site parameters, and at least one capacity milestone per site.
    """
    source_ids = {r["source_id"] for r in raw["sources"].rows}
    for table in raw.values():
        if "source_ids" not in table.schema.columns:
            continue
        for row, line in zip(table.rows, table.lines):
            for sid in filter(None, row["source_ids"].split(";")):
                if sid not in source_ids:
                    raise DataError(table.schema.file, line, "source_ids",
                                    f"source id {sid!r} is not in sources.csv")
    generations = {r["generation"] for r in raw["chips"].rows}
    sites = {r["site"] for r in raw["sites"].rows}
    for name, column, known, target in [
        ("chip_specs", "generation", generations, "chips.csv"),
        ("chip_workloads", "generation", generations, "chips.csv"),
        ("site_params", "site", sites, "sites.csv"),
        ("site_capacity", "site", sites, "sites.csv"),
    ]:
        table = raw[name]
        for row, line in zip(table.rows, table.lines):
            if row[column] not in known:
                raise DataError(table.schema.file, line, column, f"{column} {row[column]!r} is not in {target}")
    specs = {(r["generation"], r["parameter"]) for r in raw["chip_specs"].rows}
    for row, line in zip(raw["chips"].rows, raw["chips"].lines):
        if row["in_meta_fleet"] == "true":
            for p in REQUIRED_FLEET_CHIP_PARAMETERS:
                if (row["generation"], p) not in specs:
                    raise DataError("chips.csv", line, "generation",
                                    f"in-meta-fleet chip {row['generation']!r} has no {p!r} row in chip_specs.csv "
                                    f"(required: {', '.join(REQUIRED_FLEET_CHIP_PARAMETERS)})")
    params = {(r["site"], r["parameter"]) for r in raw["site_params"].rows}
    milestones = {r["site"] for r in raw["site_capacity"].rows}
    for row, line in zip(raw["sites"].rows, raw["sites"].lines):
        for p in SITE_PARAMETERS:
            if (row["site"], p) not in params:
                raise DataError("sites.csv", line, "site",
                                f"site {row['site']!r} has no {p!r} row in site_params.csv "
                                f"(every site needs {', '.join(SITE_PARAMETERS)})")
        if row["site"] not in milestones:
            raise DataError("sites.csv", line, "site",
                            f"site {row['site']!r} has no capacity milestone in site_capacity.csv")
    if "deals" in raw:
        _check_deals(raw["deals"], generations)
        _check_rental_prices(raw["deals"], raw["chip_specs"])
    if "financials" in raw:
        _check_financials(raw["financials"])
    check_energy_cross_references(raw)


_PERIOD_RE = re.compile(r"[0-9]{4}(Q[1-4])?")


def _check_deals(table, generations):
    """deals.csv: generation empty or a chip id; start <= end quarter; one deal_id = one counterparty,
    supplier and deal type."""
    file = table.schema.file
    first = {}
    for row, line in zip(table.rows, table.lines):
        if row["generation"] and row["generation"] not in generations:
            raise DataError(file, line, "generation", f"generation {row['generation']!r} is not in chips.csv")
        if _quarter_index(row["end_quarter"]) < _quarter_index(row["start_quarter"]):
            raise DataError(file, line, "end_quarter",
                            f"end_quarter {row['end_quarter']} is before start_quarter {row['start_quarter']}")
        shared = tuple(row[c] for c in ("counterparty", "supplier", "deal_type"))
        seen = first.setdefault(row["deal_id"], (shared, line))
        for column, value, expected in zip(("counterparty", "supplier", "deal_type"), shared, seen[0]):
            if value != expected:
                raise DataError(file, line, column,
                                f"deal {row['deal_id']!r} has {column} {expected!r} on line {seen[1]}, "
                                f"{value!r} here (all tranches of a deal share counterparty, supplier, deal_type)")


def _check_rental_prices(deals, specs):
    """deals.csv: a rental tranche that names its generation needs that chip's rental_price in chip_specs.csv
    (the model turns rental spend into accelerator-hours with it)."""
    priced = {row["generation"] for row in specs.rows if row["parameter"] == "rental_price"}
    for row, line in zip(deals.rows, deals.lines):
        if row["deal_type"] == "rental" and row["generation"] and row["generation"] not in priced:
            raise DataError(deals.schema.file, line, "generation",
                            f"rental tranche of {row['generation']!r} needs a rental_price row for it in chip_specs.csv")


def _check_financials(table):
    """financials.csv: period is a year YYYY or a quarter YYYYQn."""
    for row, line in zip(table.rows, table.lines):
        if not _PERIOD_RE.fullmatch(row["period"]):
            raise DataError(table.schema.file, line, "period",
                            f"value {row['period']!r} is not a year YYYY or a quarter YYYYQn")
        problem = _year_problem(row["period"], int(row["period"][:4]))
        if problem:
            raise DataError(table.schema.file, line, "period", problem)


def _quarter_index(value):
    """'2026Q3' -> 4 * 2026 + 2 (the cell was already checked as a quarter)."""
    return int(value[:4]) * 4 + int(value[-1]) - 1


# --------------------------------------------------------------------------- energy tables: row and cross-table rules


def _fleet_measure_rule(measure):
    """(unit, lowest, highest) of a fleet_energy_reported measure, or None if unknown."""
    if measure in FLEET_ENERGY_MEASURES:
        return FLEET_ENERGY_MEASURES[measure]
    for prefix, rule in FLEET_ENERGY_SITE_PREFIXES.items():
        if measure.startswith(prefix) and len(measure) > len(prefix):
            return rule
    return None


def _check_range(row, line, schema, what, lo, hi):
    for b in BOUNDS:
        x = float(row[b])
        if not lo <= x <= hi:
            raise DataError(schema.file, line, b, f"value {row[b]} is outside the range {lo:g}..{hi:g} for {what}")


def _check_energy_contract_row(row, line, schema):
    from chipsuite.quarters import parse_quarter

    file = schema.file
    if parse_quarter(row["end_quarter"]) < parse_quarter(row["start_quarter"]):
        raise DataError(file, line, "end_quarter",
                        f"end_quarter {row['end_quarter']} is before start_quarter {row['start_quarter']}")
    prices = [row[c] for c in PRICE_COLUMNS]
    if row["price_kind"] == "not_public":
        for c, v in zip(PRICE_COLUMNS, prices):
            if v != "":
                raise DataError(file, line, c, "price must be empty when price_kind is 'not_public'")
        return
    for c, v in zip(PRICE_COLUMNS, prices):
        if v == "":
            raise DataError(file, line, c,
                            f"price is empty on a price_kind {row['price_kind']!r} row "
                            "(only 'not_public' may leave prices empty)")
        if not float(v) > 0:
            raise DataError(file, line, c, f"value {v!r} must be > 0")
    low, base, high = (float(v) for v in prices)
    if low > base:
        raise DataError(file, line, PRICE_COLUMNS[0], f"price low {prices[0]} > base {prices[1]}")
    if base > high:
        raise DataError(file, line, PRICE_COLUMNS[2], f"price base {prices[1]} > high {prices[2]}")
    if row["price_kind"] == "assumption" and not row["note"].strip():
        raise DataError(file, line, "note", "an assumed price needs a note giving its reasoning")


def _check_fleet_energy_row(row, line, schema):
    rule = _fleet_measure_rule(row["measure"])
    if rule is None:
        raise DataError(schema.file, line, "measure",
                        f"measure {row['measure']!r} is not one of {', '.join(FLEET_ENERGY_MEASURES)} "
                        f"nor {', '.join(p + '<name>' for p in FLEET_ENERGY_SITE_PREFIXES)}")
    unit, lo, hi = rule
    if row["unit"] != unit:
        raise DataError(schema.file, line, "unit",
                        f"unit {row['unit']!r} is not allowed for measure {row['measure']!r} (allowed: {unit})")
    if not 2000 <= int(row["year"]) <= 2100:
        raise DataError(schema.file, line, "year", f"year {row['year']} is outside 2000..2100")
    _check_range(row, line, schema, f"measure {row['measure']!r}", lo, hi)


def _check_grid_row(row, line, schema):
    _, lo, hi = GRID_MEASURES[row["measure"]]
    if not 2000 <= int(row["year"]) <= 2100:
        raise DataError(schema.file, line, "year", f"year {row['year']} is outside 2000..2100")
    _check_range(row, line, schema, f"measure {row['measure']!r}", lo, hi)


def _check_power_plan_row(row, line, schema):
    from chipsuite.quarters import parse_quarter

    if parse_quarter(row["quarter"]) > parse_quarter(POWER_PLAN_LAST_QUARTER):
        raise DataError(schema.file, line, "quarter",
                        f"quarter {row['quarter']} is after {POWER_PLAN_LAST_QUARTER} "
                        f"(plans run to {POWER_PLAN_LAST_QUARTER})")


#: table name -> extra row rule (called after the generic row rules)
ROW_RULES = {
    "energy_contracts": _check_energy_contract_row,
    "fleet_energy_reported": _check_fleet_energy_row,
    "grid_regions": _check_grid_row,
    "site_power_plans": _check_power_plan_row,
}


def check_energy_cross_references(raw):
    """Site references of the energy tables: a site of sites.csv (or ``fleet`` for contracts)."""
    if "sites" not in raw:
        return
    sites = {r["site"] for r in raw["sites"].rows}
    for name, extra in [("energy_contracts", {FLEET_SITE}), ("site_power_plans", set())]:
        table = raw.get(name)
        if table is None:
            continue
        for row, line in zip(table.rows, table.lines):
            if row["site"] not in sites | extra:
                allowed = "sites.csv" + (f" or {FLEET_SITE!r}" if extra else "")
                raise DataError(table.schema.file, line, "site", f"site {row['site']!r} is not in {allowed}")
