"""Scenario: the immutable, validated parameters of one model run.

Every field of :class:`Scenario` is a number with a unit. Its default (the base case) and the
``low``/``high`` range used for sampling come from ``data/assumptions.csv`` (or the file in
``$CHIPSUITE_DATA_DIR``), read at import by :func:`read_assumptions` with the schema of
:mod:`chipsuite.schema`; the hard validity bounds (``lower``/``upper``: what a parameter may be set
to at all, and what the file's ``low``/``base``/``high`` must respect) live in :data:`PARAMETERS`.
A bad file raises :class:`chipsuite.DataError` naming file, line, column and rule.

>>> s = Scenario.default()
>>> s.useful_life
5.5
>>> s2 = s.replace(nvidia_price_multiplier=1.2)
>>> [d.name for d in s.diff(s2)]
['nvidia_price_multiplier']
>>> Scenario.from_json(s2.to_json()) == s2
True
>>> s.replace(utilisation=1.5)  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
...
chipsuite.scenario.ScenarioError: parameter 'utilisation' = 1.5 [1] is outside its bounds [0.01, 1]
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
import os
import re
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

from .schema import BOUNDS, KINDS, TABLES, UNITS, DataError, read_table

__all__ = ["PARAMETERS", "REMOVED_PARAMETERS", "Parameter", "Scenario", "ScenarioError", "ScenarioDiff",
           "assumptions_path",
           "check_assumption_rows", "check_seed", "read_assumptions", "NamedScenario", "NamedScenarioError",
           "scenarios_path", "read_named_scenario", "named_scenarios", "load_named"]

#: the repository's data folder (``$CHIPSUITE_DATA_DIR`` or an argument may name another)
DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / "data"
ASSUMPTIONS_FILE = DEFAULT_DATA_DIR / "assumptions.csv"


class ScenarioError(ValueError):
    """A scenario parameter is unknown, of the wrong type, or outside its bounds; or scenario JSON
    (or a seed) is malformed."""


#: ``"chipsuite_scenario"`` format version written by :meth:`Scenario.to_json` (the only one read)
FORMAT_VERSION = 1
#: longest scenario JSON text read [characters] (a scenario is ~2 kB)
MAX_JSON_CHARS = 1_000_000


def as_number(name, value, unit="1"):
    """``value`` as a float if it is a real number (int, float, numpy scalar, 0-d numeric array).

    Booleans, strings, None, complex numbers, arrays with more than one element and integers beyond
    the float range raise :class:`ScenarioError` naming parameter ``name`` [``unit``].
    """
    value = _unwrap(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ScenarioError(f"parameter {name!r} = {_short(value)} [{unit}] must be a number, "
                            f"not {type(value).__name__}")
    try:
        return float(value)
    except (OverflowError, ValueError, TypeError):
        raise ScenarioError(f"parameter {name!r} = {_short(value)} [{unit}] is beyond the float range") from None


def _unwrap(value):
    """A numpy scalar or 0-d array -> its Python scalar (so numpy need not be imported here)."""
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
        return value.item()
    return value


def _short(value, limit=60):
    """``repr(value)`` cut to about ``limit`` characters (a 400-digit integer is no readable message)."""
    try:
        text = repr(value)
    except ValueError:  # an int beyond sys.get_int_max_str_digits()
        return f"<integer of about {value.bit_length() * 0.30103:.0f} digits>"
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def check_seed(seed):
    """``seed`` as an int if it is a non-negative integer (int, numpy integer); else :class:`ScenarioError`.

    ``1.9``, ``True``, ``"1"`` and ``-1`` are refused (a float seed would be recorded truncated).
    """
    seed = _unwrap(seed)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ScenarioError(f"seed = {_short(seed)} must be a non-negative integer, not {type(seed).__name__}")
    seed = int(seed)
    if seed < 0:
        raise ScenarioError(f"seed = {seed} must be a non-negative integer (>= 0)")
    return seed


def _no_duplicates(pairs):
    """``object_pairs_hook`` of :func:`json.loads`: a dict, refusing duplicate keys."""
    out = {}
    for key, value in pairs:
        if key in out:
            raise ScenarioError(f"scenario JSON has the key {key!r} twice")
        out[key] = value
    return out


def _parse_int(text):
    """``parse_int`` of :func:`json.loads`: an integer of more than 300 digits (beyond the float
    range) becomes +-inf, which every parameter refuses by name, instead of a ValueError."""
    return int(text) if len(text) <= 300 else float(text)


def _refuse_constant(name):
    raise ScenarioError(f"scenario JSON contains {name}, which is not a number (JSON has no NaN/Infinity)")


class Parameter(NamedTuple):
    """One scenario parameter: validity bounds here, default and range from assumptions.csv."""

    name: str
    unit: str
    lower: float
    upper: float
    description: str


class ScenarioDiff(NamedTuple):
    name: str
    self_value: float
    other_value: float
    unit: str


_P = Parameter
#: Scenario parameters in field order. ``lower``/``upper`` are hard validity bounds.
PARAMETERS = {p.name: p for p in [
    # cadence
    _P("mtia_first_release_quarter_index", "quarters", 0, 35,
       "quarter (2022Q1 = 0) in which MTIA 300 is released to validation"),
    _P("mtia_cadence", "quarters", 0.5, 12, "planned interval between MTIA generations"),
    _P("mtia_slip_per_generation", "quarters", 0, 8,
       "delay per generation, accumulating (generation k slips (k+1) x this)"),
    _P("mtia_validation_lag", "quarters", 0, 8, "release to volume deployment"),
    _P("mtia_ramp", "quarters", 0.25, 12, "volume start to full supply (linear ramp)"),
    _P("mtia_design_quarters", "quarters", 0.25, 16, "period over which a generation's NRE is spent"),
    _P("mtia_nre_per_generation", "USD", 0, 1e10, "design/validation cost per MTIA generation"),
    # demand
    _P("demand_2022_h100e", "H100e", 0, 1e8, "accelerator purchases in 2022 [H100e/year]"),
    _P("demand_2023_h100e", "H100e", 0, 1e8, "accelerator purchases in 2023 [H100e/year]"),
    _P("demand_2024_h100e", "H100e", 0, 1e8, "accelerator purchases in 2024 [H100e/year]"),
    _P("demand_2025_h100e", "H100e", 0, 1e8, "accelerator purchases in 2025 [H100e/year]"),
    _P("demand_2026_h100e", "H100e", 0, 1e8, "accelerator purchases in 2026 [H100e/year]"),
    _P("demand_growth_2027", "1/year", -0.5, 3, "growth of purchases [H100e] from 2026 to 2027"),
    _P("demand_2026_hold_quarters", "quarters", 0, 3,
       "quarters at the start of 2026 whose purchases run at the 2025Q4 rate (2026's supply arrives during the year)"),
    _P("demand_growth_long_run", "1/year", -0.5, 3,
       "growth of purchases [H100e] from 2029 on (linear in the year between 2027 and 2029)"),
    _P("demand_weight_rec_training", "1", 0, 1, "relative weight of rec training in purchases"),
    _P("demand_weight_genai_inference", "1", 0, 1, "relative weight of gen-AI inference"),
    _P("demand_weight_large_genai_inference", "1", 0, 1, "relative weight of large gen-AI inference"),
    _P("demand_weight_frontier_training", "1", 0, 1, "relative weight of frontier training"),
    # procurement policy
    _P("mtia_share_target_rec_training", "1", 0, 1, "MTIA share target, rec training purchases"),
    _P("mtia_share_target_genai_inference", "1", 0, 1, "MTIA share target, gen-AI inference purchases"),
    _P("mtia_share_target_large_genai_inference", "1", 0, 1,
       "MTIA share target, large gen-AI inference purchases"),
    _P("mtia_supply_cap_units", "units", 0, 1e7, "MTIA units per quarter at full production"),
    _P("mtia_legacy_units", "units", 0, 1e7,
       "MTIA v1/v2 (recommendation inference) deployed 2023Q2-2026Q1, in all"),
    _P("mtia_legacy_h100e_per_unit", "H100e", 0, 2, "H100-equivalents per MTIA v1/v2 chip (rec inference)"),
    _P("nvidia_ramp_quarters", "quarters", 0.25, 12,
       "quarters over which a new Nvidia generation ramps into Meta's purchases (and the older ramp out)"),
    _P("nvidia_deal_scale", "1", 0, 5, "multiplier on the Nvidia deal's committed minimum units (0 = no floor)"),
    _P("amd_deal_scale", "1", 0, 5, "multiplier on the AMD deal schedules (0 = no AMD purchases)"),
    _P("rental_scale", "1", 0, 5, "multiplier on rented (cloud) capacity contracts (0 = no rented compute)"),
    _P("nvidia_price_multiplier", "1", 0.1, 5, "multiplier on dataset Nvidia unit prices"),
    _P("bargaining_elasticity", "1", 0, 5, "Nvidia price cut per unit of MTIA purchase share"),
    _P("bargaining_cap", "1", 0, 0.9, "largest Nvidia price cut from bargaining"),
    # fleet
    _P("useful_life", "years", 1, 15, "service life of servers (retirement, depreciation)"),
    _P("facility_life", "years", 5, 60, "depreciation life of facilities"),
    _P("initial_a100_units", "units", 0, 1e7, "A100-class units installed at 2022Q1"),
    # energy and emissions
    _P("utilisation", "1", 0.01, 1, "average power draw as a fraction of TDP"),
    # energy stage (chipsuite.model.energy): dated contracts, whole-fleet electricity, power-constrained build
    _P("capacity_factor_nuclear", "1", 0, 1, "energy of a contracted nuclear MW as a share of its nameplate"),
    _P("capacity_factor_solar", "1", 0, 1, "energy of a contracted solar MW as a share of its nameplate"),
    _P("capacity_factor_wind", "1", 0, 1, "energy of a contracted wind MW as a share of its nameplate"),
    _P("capacity_factor_geothermal", "1", 0, 1, "energy of a contracted geothermal MW as a share of its nameplate"),
    _P("gas_plant_availability", "1", 0, 1, "largest share of the hours a dedicated gas plant can serve its site"),
    _P("energy_contract_position", "1", 0, 1, "contracted MW between each contract's low (0), base (0.5), high (1)"),
    _P("renewable_matching_share", "1", 0, 1,
       "share of grid-delivered electricity matched with renewable PPAs and certificates (market-based)"),
    _P("non_ai_electricity_2020", "MWh", 0, 1e9, "data-centre electricity not of the modelled AI fleet, 2020 trend"),
    _P("non_ai_electricity_growth", "MWh", -1e8, 1e8,
       "growth of the non-AI data-centre electricity per year (linear trend) [MWh/year]"),
    _P("non_ai_leased_share", "1", 0, 1, "share of the non-AI data-centre electricity used in leased facilities"),
    _P("water_withdrawal_intensity", "L/kWh", 0, 20,
       "operational water withdrawal per kWh of data-centre electricity (fleet average)"),
    _P("build_constraint", "1", 0, 1,
       "build switch: 0 = capex-constrained (today's model), 1 = power-constrained (> 0.5 counts as 1)"),
    _P("power_shortfall_mode", "1", 0, 1,
       "power-constrained build: compute that finds no site power is 0 = rented (cloud), 1 = deferred (> 0.5 = 1)"),
    _P("site_power_plan_position", "1", 0, 1, "site power plans between low (0), base (0.5) and high (1)"),
    _P("prometheus_power_delay_quarters", "quarters", 0, 16, "delay of Prometheus' dedicated power (Socrates gas)"),
    _P("hyperion_power_delay_quarters", "quarters", 0, 16, "delay of Hyperion's dedicated power (Entergy gas plants)"),
    _P("el_paso_power_delay_quarters", "quarters", 0, 16, "delay of El Paso's dedicated power (McCloud gas)"),
    _P("nuclear_contract_delay_quarters", "quarters", 0, 16,
       "delay of every nuclear supply contract (energy_contracts.csv) from its announced start"),
    # costs
    _P("component_price_rise_2026", "1", 0, 3,
       "rise of server, memory and network prices over 2026 (relative to 2025; linear ramp, then held)"),
    _P("payment_share_before", "1", 0, 1, "share of a system's price paid one quarter before delivery"),
    _P("payment_share_after", "1", 0, 1, "share of a system's price paid one quarter after delivery"),
    _P("year_end_payment_share", "1", 0, 1,
       "share of a year's first-quarter capex paid in the quarter before (year-end payments)"),
    _P("facility_capex_per_mw", "USD/MW", 0, 1e8, "facility capex per MW of facility power"),
    _P("facility_capex_lead", "quarters", 0, 12, "facility capex precedes capacity by this"),
    _P("rest_of_fleet_leased_share", "1", 0, 1,
       "share of rest_of_fleet capacity added from 2026Q1 that is leased (no Meta facility capex)"),
    _P("hyperion_jv_share", "1", 0, 1,
       "share of Hyperion capacity owned by the joint venture (built by it, leased to Meta)"),
    _P("lease_cost_per_mw_year", "USD/MW", 0, 1e8, "lease cost per MW of leased facility power [USD/MW/year]"),
    _P("finance_lease_principal_ratio", "1", 0, 0.5,
       "finance-lease principal payments per USD of purchases of property and equipment"),
    _P("cost_of_capital", "1", 0, 0.5, "Meta's cost of capital (nominal, per year) for the capital charge"),
    _P("nvidia_gross_margin", "1", 0, 0.95, "Nvidia's gross margin on data-centre products"),
    _P("competitive_gross_margin", "1", 0, 0.9, "gross margin of a competitive hardware supplier"),
    _P("non_ai_capex_2022", "USD", 0, 1e12, "non-AI capex in 2022 [USD/year]"),
    _P("non_ai_capex_2026", "USD", 0, 1e12, "non-AI capex in 2026 and later [USD/year]"),
    _P("non_ai_pause_cut_2023", "1", 0, 1,
       "share of non-AI capex not spent in 2023Q2-2023Q4 (construction pause for the new data-centre design)"),
    _P("non_ai_life", "years", 1, 40, "depreciation life of non-AI capex (servers, storage, offices)"),
    # depreciation of the asset base bought before 2022
    _P("pre2022_depreciation", "USD", 0, 1e12, "D&A in 2021 of assets bought before 2022 [USD/year]"),
    _P("pre2022_server_share", "1", 0, 1, "share of 2021 D&A from servers and network equipment"),
    _P("pre2022_server_life_left", "years", 0.25, 10,
       "years until servers bought before 2022 are fully depreciated (linear run-off)"),
    _P("pre2022_other_life_left", "years", 1, 60,
       "years until buildings and other assets bought before 2022 are fully depreciated"),
]}

#: parameters of earlier versions that were removed, with what replaced them (named in the error a
#: scenario, a named-scenario file or an assumptions table that still uses them gets)
REMOVED_PARAMETERS = {
    "supply_share_gas": "the dated supply contracts of data/energy_contracts.csv (gas plants of Prometheus, "
                        "Hyperion and El Paso with their start quarters); scenario knobs: "
                        "'<site>_power_delay_quarters', 'gas_plant_availability', 'energy_contract_position' "
                        "(the result variable 'supply_share_gas' is the modelled share per site and quarter)",
    "supply_share_nuclear": "the dated nuclear contracts of data/energy_contracts.csv; scenario knobs: "
                            "'nuclear_contract_delay_quarters', 'capacity_factor_nuclear', "
                            "'energy_contract_position' (the result variable 'supply_share_nuclear' is the modelled "
                            "share per site and quarter)",
    "gas_carbon_intensity": "each gas contract's own carbon_intensity_gco2_per_kwh column in "
                            "data/energy_contracts.csv",
    "nuclear_carbon_intensity": "nothing: Scope 2 counts no emissions for contracted nuclear (GHG Protocol; "
                                "its life-cycle emissions are Scope 3)",
}


def _removed(name):
    """The message for a removed parameter ``name`` (what replaced it), or ``None``."""
    what = REMOVED_PARAMETERS.get(name)
    return None if what is None else (f"parameter {name!r} was removed: the supply mix is no longer one share "
                                      f"for every site and quarter; use {what}")


#: scenario switches (choices, not estimates): never sampled, whatever value the scenario sets
SWITCHES = frozenset({"build_constraint", "power_shortfall_mode"})


def assumptions_path(path=None):
    """The assumptions file to read: ``path`` (a file, or a data folder holding ``assumptions.csv``),
    else ``$CHIPSUITE_DATA_DIR/assumptions.csv``, else the repository's ``data/assumptions.csv``."""
    if path is None:
        path = os.environ.get("CHIPSUITE_DATA_DIR") or DEFAULT_DATA_DIR
    path = Path(path).expanduser()
    return path / TABLES["assumptions"].file if path.is_dir() else path


def read_assumptions(path=None):
    """Rows of ``assumptions.csv`` keyed by parameter, numbers in canonical units.

    Returns ``{parameter: {"unit", "low", "base", "high", "kind", "source_ids", "note", "line"}}``.
    The file is read and validated by :func:`chipsuite.schema.read_table` (the same rules and
    units vocabulary as ``chipsuite.load_tables()``; only the standard library is imported), then
    checked against the scenario: one row per parameter of :data:`PARAMETERS`, no other rows, the
    parameter's unit, and ``low``/``base``/``high`` inside its validity bounds. Any violation
    raises :class:`chipsuite.DataError` naming file, line, column and rule.
    ``path``: see :func:`assumptions_path`.
    """
    path = assumptions_path(path)
    table = read_table(path, TABLES["assumptions"])
    rows = check_assumption_rows(table)
    missing = [n for n in PARAMETERS if n not in rows]
    if missing:
        raise DataError(table.schema.file, None, "parameter",
                        f"no row for scenario parameter(s) {', '.join(missing)}")
    return rows


def check_assumption_rows(table):
    """Check each row of a raw ``assumptions`` table (:class:`chipsuite.schema.RawTable`) against
    :data:`PARAMETERS`: a known parameter, its unit, ``low``/``base``/``high`` inside its validity
    bounds. Returns the rows as :func:`read_assumptions` does (rows need not cover every parameter:
    that is checked by :func:`read_assumptions`). Raises :class:`chipsuite.DataError`."""
    file = table.schema.file
    rows = {}
    for row, line in zip(table.rows, table.lines):
        name = row["parameter"]
        p = PARAMETERS.get(name)
        if p is None:
            raise DataError(file, line, "parameter", _removed(name) or f"{name!r} is not a scenario parameter "
                            f"(chipsuite.scenario.PARAMETERS)")
        canonical, factor = UNITS[row["unit"]]
        if canonical != p.unit:
            raise DataError(file, line, "unit", f"unit {row['unit']!r} is not allowed for parameter {name!r} "
                            f"(the scenario expects {p.unit!r})")
        values = {b: float(Decimal(row[b]) * factor) for b in BOUNDS}
        for b in BOUNDS:
            if not p.lower <= values[b] <= p.upper:
                raise DataError(file, line, b, f"{b} {row[b]} {row['unit']} of parameter {name!r} is outside its "
                                f"validity bounds [{p.lower:g}, {p.upper:g}] {p.unit}")
        rows[name] = {"unit": canonical, **values, "kind": row["kind"], "source_ids": row["source_ids"],
                      "note": row["note"], "line": line}
    return rows


_ASSUMPTIONS = read_assumptions()


def _check_names(values):
    """Raise :class:`ScenarioError` for names in ``values`` that are not scenario parameters."""
    bad = [k for k in values if not isinstance(k, str)]
    if bad:
        raise ScenarioError(f"scenario parameter names must be strings, got {_short(bad[0])} "
                            f"({type(bad[0]).__name__})")
    unknown = sorted(set(values) - set(PARAMETERS))
    removed = [_removed(n) for n in unknown if n in REMOVED_PARAMETERS]
    if removed:
        raise ScenarioError("; ".join(removed))
    if unknown:
        raise ScenarioError(f"unknown scenario parameter(s) {unknown}; known: {sorted(PARAMETERS)}")


def _default(name):
    return dataclasses.field(default=_ASSUMPTIONS[name]["base"])


@dataclasses.dataclass(frozen=True)
class Scenario:
    """Validated model parameters (units in :data:`PARAMETERS`; defaults = base case)."""

    mtia_first_release_quarter_index: float = _default("mtia_first_release_quarter_index")
    mtia_cadence: float = _default("mtia_cadence")
    mtia_slip_per_generation: float = _default("mtia_slip_per_generation")
    mtia_validation_lag: float = _default("mtia_validation_lag")
    mtia_ramp: float = _default("mtia_ramp")
    mtia_design_quarters: float = _default("mtia_design_quarters")
    mtia_nre_per_generation: float = _default("mtia_nre_per_generation")
    demand_2022_h100e: float = _default("demand_2022_h100e")
    demand_2023_h100e: float = _default("demand_2023_h100e")
    demand_2024_h100e: float = _default("demand_2024_h100e")
    demand_2025_h100e: float = _default("demand_2025_h100e")
    demand_2026_h100e: float = _default("demand_2026_h100e")
    demand_growth_2027: float = _default("demand_growth_2027")
    demand_2026_hold_quarters: float = _default("demand_2026_hold_quarters")
    demand_growth_long_run: float = _default("demand_growth_long_run")
    demand_weight_rec_training: float = _default("demand_weight_rec_training")
    demand_weight_genai_inference: float = _default("demand_weight_genai_inference")
    demand_weight_large_genai_inference: float = _default("demand_weight_large_genai_inference")
    demand_weight_frontier_training: float = _default("demand_weight_frontier_training")
    mtia_share_target_rec_training: float = _default("mtia_share_target_rec_training")
    mtia_share_target_genai_inference: float = _default("mtia_share_target_genai_inference")
    mtia_share_target_large_genai_inference: float = _default("mtia_share_target_large_genai_inference")
    mtia_supply_cap_units: float = _default("mtia_supply_cap_units")
    mtia_legacy_units: float = _default("mtia_legacy_units")
    mtia_legacy_h100e_per_unit: float = _default("mtia_legacy_h100e_per_unit")
    nvidia_ramp_quarters: float = _default("nvidia_ramp_quarters")
    nvidia_deal_scale: float = _default("nvidia_deal_scale")
    amd_deal_scale: float = _default("amd_deal_scale")
    rental_scale: float = _default("rental_scale")
    nvidia_price_multiplier: float = _default("nvidia_price_multiplier")
    bargaining_elasticity: float = _default("bargaining_elasticity")
    bargaining_cap: float = _default("bargaining_cap")
    useful_life: float = _default("useful_life")
    facility_life: float = _default("facility_life")
    initial_a100_units: float = _default("initial_a100_units")
    utilisation: float = _default("utilisation")
    capacity_factor_nuclear: float = _default("capacity_factor_nuclear")
    capacity_factor_solar: float = _default("capacity_factor_solar")
    capacity_factor_wind: float = _default("capacity_factor_wind")
    capacity_factor_geothermal: float = _default("capacity_factor_geothermal")
    gas_plant_availability: float = _default("gas_plant_availability")
    energy_contract_position: float = _default("energy_contract_position")
    renewable_matching_share: float = _default("renewable_matching_share")
    non_ai_electricity_2020: float = _default("non_ai_electricity_2020")
    non_ai_electricity_growth: float = _default("non_ai_electricity_growth")
    non_ai_leased_share: float = _default("non_ai_leased_share")
    water_withdrawal_intensity: float = _default("water_withdrawal_intensity")
    build_constraint: float = _default("build_constraint")
    power_shortfall_mode: float = _default("power_shortfall_mode")
    site_power_plan_position: float = _default("site_power_plan_position")
    prometheus_power_delay_quarters: float = _default("prometheus_power_delay_quarters")
    hyperion_power_delay_quarters: float = _default("hyperion_power_delay_quarters")
    el_paso_power_delay_quarters: float = _default("el_paso_power_delay_quarters")
    nuclear_contract_delay_quarters: float = _default("nuclear_contract_delay_quarters")
    component_price_rise_2026: float = _default("component_price_rise_2026")
    payment_share_before: float = _default("payment_share_before")
    payment_share_after: float = _default("payment_share_after")
    year_end_payment_share: float = _default("year_end_payment_share")
    facility_capex_per_mw: float = _default("facility_capex_per_mw")
    facility_capex_lead: float = _default("facility_capex_lead")
    rest_of_fleet_leased_share: float = _default("rest_of_fleet_leased_share")
    hyperion_jv_share: float = _default("hyperion_jv_share")
    lease_cost_per_mw_year: float = _default("lease_cost_per_mw_year")
    finance_lease_principal_ratio: float = _default("finance_lease_principal_ratio")
    cost_of_capital: float = _default("cost_of_capital")
    nvidia_gross_margin: float = _default("nvidia_gross_margin")
    competitive_gross_margin: float = _default("competitive_gross_margin")
    non_ai_capex_2022: float = _default("non_ai_capex_2022")
    non_ai_capex_2026: float = _default("non_ai_capex_2026")
    non_ai_pause_cut_2023: float = _default("non_ai_pause_cut_2023")
    non_ai_life: float = _default("non_ai_life")
    pre2022_depreciation: float = _default("pre2022_depreciation")
    pre2022_server_share: float = _default("pre2022_server_share")
    pre2022_server_life_left: float = _default("pre2022_server_life_left")
    pre2022_other_life_left: float = _default("pre2022_other_life_left")

    def __post_init__(self):
        for f in dataclasses.fields(self):
            p = PARAMETERS[f.name]
            value = as_number(f.name, getattr(self, f.name), p.unit)
            if not math.isfinite(value) or not p.lower <= value <= p.upper:
                raise ScenarioError(f"parameter {f.name!r} = {value!r} [{p.unit}] is outside its bounds "
                                    f"[{p.lower:g}, {p.upper:g}]")
            object.__setattr__(self, f.name, value)
        paid = self.payment_share_before + self.payment_share_after
        if paid > 1:
            raise ScenarioError(f"parameters 'payment_share_before' + 'payment_share_after' = {paid!r} [1] "
                                f"must not exceed 1 (the rest is paid on delivery)")
        weights = sum(getattr(self, n) for n in PARAMETERS if n.startswith("demand_weight_"))
        if weights <= 0:
            raise ScenarioError("parameters 'demand_weight_*' must not all be 0 (they are normalised)")

    # ------------------------------------------------------------------ construction
    @classmethod
    def default(cls):
        """The base case: every parameter at its ``base`` value in assumptions.csv."""
        return cls()

    @classmethod
    def named(cls, name, path=None):
        """The named scenario ``name`` of ``data/scenarios/`` (:func:`load_named`): its overrides
        applied to the base case. ``"base"`` is the base case."""
        return load_named(name, path).scenario

    @classmethod
    def from_dict(cls, values):
        """Build from a mapping; unknown or non-string names raise :class:`ScenarioError`."""
        if not isinstance(values, Mapping):
            raise ScenarioError(f"scenario parameters must be a mapping name -> number, not {type(values).__name__}")
        _check_names(values)
        return cls(**values)

    def replace(self, **changes):
        """A copy with ``changes`` applied (validated)."""
        _check_names(changes)
        return dataclasses.replace(self, **changes)

    def to_dict(self):
        """``{parameter: value}`` in field order."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def to_json(self):
        """JSON text; floats are written by ``repr`` so :meth:`from_json` restores them exactly."""
        return json.dumps({"chipsuite_scenario": FORMAT_VERSION, "parameters": self.to_dict()}, indent=1)

    @classmethod
    def from_json(cls, text):
        """Inverse of :meth:`to_json`.

        ``text`` must be a str (or UTF-8 bytes) holding one object with exactly the keys
        ``"chipsuite_scenario"`` (= :data:`FORMAT_VERSION`) and ``"parameters"``; duplicate keys,
        NaN/Infinity, other keys and anything malformed raise :class:`ScenarioError`.
        """
        if isinstance(text, (bytes, bytearray)):
            try:
                text = bytes(text).decode("utf-8")
            except UnicodeDecodeError as err:
                raise ScenarioError(f"scenario JSON is not valid UTF-8 (byte {err.start})") from None
        if not isinstance(text, str):
            raise ScenarioError(f"scenario JSON must be text (str), not {type(text).__name__}")
        if len(text) > MAX_JSON_CHARS:
            raise ScenarioError(f"scenario JSON is {len(text)} characters long (limit {MAX_JSON_CHARS})")
        try:
            data = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_refuse_constant,
                              parse_int=_parse_int)
        except json.JSONDecodeError as err:
            raise ScenarioError(f"scenario JSON is malformed: {err}") from None
        except RecursionError:
            raise ScenarioError("scenario JSON is malformed: nested too deeply") from None
        if not isinstance(data, dict):
            raise ScenarioError(f"scenario JSON must be an object, not {type(data).__name__}")
        extra = sorted(set(data) - {"chipsuite_scenario", "parameters"})
        if extra:
            raise ScenarioError(f"scenario JSON has unknown key(s) {extra} (expected 'chipsuite_scenario', "
                                "'parameters')")
        version = data.get("chipsuite_scenario")
        if isinstance(version, bool) or version != FORMAT_VERSION:
            what = ("has no format version 'chipsuite_scenario'" if "chipsuite_scenario" not in data
                    else f"has format version 'chipsuite_scenario' = {_short(version)}")
            raise ScenarioError(f"scenario JSON {what} (this chipsuite reads version {FORMAT_VERSION})")
        if not isinstance(data.get("parameters"), dict):
            raise ScenarioError("scenario JSON must be an object with a 'parameters' object")
        return cls.from_dict(data["parameters"])

    def diff(self, other):
        """Parameters that differ: a list of ``ScenarioDiff(name, self_value, other_value, unit)``."""
        return [ScenarioDiff(n, a, other.to_dict()[n], PARAMETERS[n].unit)
                for n, a in self.to_dict().items() if a != other.to_dict()[n]]

    # ------------------------------------------------------------------ description
    @staticmethod
    def parameter_table():
        """The parameter table as a DataFrame: name, unit, lower, upper, default, low, high, kind,
        source_ids, description, note."""
        import pandas as pd

        rows = []
        for name, p in PARAMETERS.items():
            a = _ASSUMPTIONS[name]
            rows.append({"name": name, "unit": p.unit, "lower": p.lower, "upper": p.upper,
                         "default": a["base"], "low": a["low"], "high": a["high"], "kind": a["kind"],
                         "source_ids": a["source_ids"], "description": p.description, "note": a["note"]})
        return pd.DataFrame(rows)

    def sampling_range(self, name):
        """``(low, value, high)`` for sampling ``name`` around this scenario's value (a switch of
        :data:`SWITCHES`: ``(value, value, value)``, not sampled).

        The range is the assumptions.csv range widened to contain the scenario's value (so a
        what-if outside the range stays the mode). ``low == high`` means not uncertain.
        """
        a = _ASSUMPTIONS[name]
        value = getattr(self, name)
        if name in SWITCHES:  # a scenario switch is never sampled
            return value, value, value
        return min(a["low"], value), value, max(a["high"], value)


# ---------------------------------------------------------------------------------------------- named scenarios
#: folder of the named scenario files inside a data folder (``data/scenarios/*.toml``)
SCENARIOS_FOLDER = "scenarios"
#: name of the base case in menus and tables (it has no file: every parameter at its base value)
BASE_NAME = "base"
#: a scenario name: lower-case letters, digits and underscores, starting with a letter
_NAME_RULE = re.compile(r"[a-z][a-z0-9_]{0,47}")
#: top-level keys of a scenario file (all required), and the optional ones
_FILE_KEYS = ("name", "title", "reasoning", "source_ids", "parameters")
_OPTIONAL_KEYS = ("reference",)
#: keys of one parameter override (all required)
_OVERRIDE_KEYS = ("value", "unit", "kind", "note")
#: files a scenarios folder may hold besides ``*.toml``
_OTHER_FILES = ("README.md",)


class NamedScenarioError(ScenarioError):
    """A named scenario file breaks a rule. ``file`` (folder/name), ``key`` (dotted key in the file,
    ``None`` for the whole file) and ``rule`` are attributes; the message names all three."""

    def __init__(self, file, key, rule):
        self.file, self.key, self.rule = str(file), key, rule
        where = f"{self.file}, key {key!r}" if key else self.file
        super().__init__(f"{where}: {rule}")


class Override(NamedTuple):
    """One parameter a named scenario sets: ``value`` in the parameter's ``unit``, the value's
    ``kind`` (reported, guidance, estimate, assumption) and a ``note`` with its reasoning."""

    name: str
    value: float
    unit: str
    kind: str
    note: str


@dataclasses.dataclass(frozen=True)
class NamedScenario:
    """A sourced what-if: parameter overrides of the base case with their reasoning.

    Read from ``data/scenarios/<name>.toml`` by :func:`read_named_scenario`; ``scenario`` is the
    validated :class:`Scenario` (the base case with ``overrides`` applied).
    """

    name: str
    title: str
    reasoning: str
    source_ids: tuple = ()
    overrides: tuple = ()
    path: Path | None = None
    #: the named scenario this one reads against (``"base"`` unless the file names another, e.g. a
    #: power delay against the power-constrained build it needs)
    reference: str = BASE_NAME

    @property
    def scenario(self):
        return Scenario.default().replace(**{o.name: o.value for o in self.overrides})

    def diff(self):
        """Parameters that differ from the base case: ``ScenarioDiff(name, base, scenario, unit)``."""
        return Scenario.default().diff(self.scenario)


BASE_CASE = NamedScenario(BASE_NAME, "Base case", "Every parameter at its base value in data/assumptions.csv.")


def scenarios_path(path=None):
    """The folder of named scenario files: ``path`` (a folder of ``*.toml`` files, or a data folder
    holding ``scenarios/``), else ``$CHIPSUITE_DATA_DIR/scenarios``, else ``data/scenarios``."""
    if path is None:
        path = os.environ.get("CHIPSUITE_DATA_DIR") or DEFAULT_DATA_DIR
    path = Path(path).expanduser()
    return path / SCENARIOS_FOLDER if (path / SCENARIOS_FOLDER).is_dir() else path


def _file_label(path):
    path = Path(path)
    return f"{path.parent.name}/{path.name}" if path.parent.name else path.name


def _source_ids(folder):
    """Source ids of the ``sources.csv`` next to a scenarios folder (``<data folder>/sources.csv``)."""
    table = read_table(Path(folder).parent / TABLES["sources"].file, TABLES["sources"])
    return frozenset(r["source_id"] for r in table.rows)


def _text(file, data, key, label=None):
    """``data[key]`` as one line of text (a paragraph's line breaks become spaces); else an error
    naming ``label`` (default ``key``)."""
    value = data[key]
    if not isinstance(value, str) or not value.strip():
        raise NamedScenarioError(file, label or key, f"must be a non-empty string, not {_short(value)}")
    return " ".join(value.split())


def _override(file, name, entry):
    key = f"parameters.{name}"
    p = PARAMETERS.get(name)
    if p is None:
        raise NamedScenarioError(file, key, _removed(name) or "is not a scenario parameter "
                                 "(chipsuite.scenario.PARAMETERS)")
    if not isinstance(entry, dict):
        raise NamedScenarioError(file, key, f"must be a table with the keys {', '.join(_OVERRIDE_KEYS)}, "
                                 f"not {_short(entry)}")
    for k in entry:
        if k not in _OVERRIDE_KEYS:
            raise NamedScenarioError(file, f"{key}.{k}", f"unknown key (allowed: {', '.join(_OVERRIDE_KEYS)})")
    for k in _OVERRIDE_KEYS:
        if k not in entry:
            raise NamedScenarioError(file, f"{key}.{k}", "is missing (required)")
    unit = entry["unit"]
    if unit != p.unit:
        raise NamedScenarioError(file, f"{key}.unit", f"unit {_short(unit)} is not the parameter's unit {p.unit!r}")
    try:
        value = as_number(name, entry["value"], p.unit)
    except ScenarioError as err:
        raise NamedScenarioError(file, f"{key}.value", str(err)) from None
    if not math.isfinite(value) or not p.lower <= value <= p.upper:
        raise NamedScenarioError(file, f"{key}.value", f"{value:g} {p.unit} is outside the parameter's validity "
                                 f"bounds [{p.lower:g}, {p.upper:g}]")
    if entry["kind"] not in KINDS:
        raise NamedScenarioError(file, f"{key}.kind", f"{_short(entry['kind'])} is not one of {', '.join(KINDS)}")
    return Override(name, value, p.unit, entry["kind"], _text(file, entry, "note", f"{key}.note"))


def read_named_scenario(path, source_ids=None):
    """Read and validate one named scenario file (TOML, read with :mod:`tomllib`).

    The file holds ``name`` (= the file name without ``.toml``; lower-case letters, digits, ``_``;
    not ``"base"``), ``title``, ``reasoning`` (one paragraph), ``source_ids`` (ids of
    ``sources.csv``, at least one), optionally ``reference`` (the named scenario it reads against,
    default ``"base"``; that it exists is checked by :func:`named_scenarios`) and a
    ``[parameters.<parameter>]`` table per override with
    ``value`` (in the parameter's ``unit``), ``unit``, ``kind`` (reported, guidance, estimate,
    assumption) and ``note`` (the reasoning for this value). Any violation -- malformed TOML, a
    missing or unknown key, an unknown parameter, a wrong unit, a value outside the parameter's
    validity bounds, an unknown source id, or overrides that make no valid :class:`Scenario` --
    raises :class:`NamedScenarioError` naming file, key and rule.

    ``source_ids``: the known source ids (default: those of the ``sources.csv`` of the data folder
    holding the file's folder).
    """
    path = Path(path)
    file = _file_label(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise NamedScenarioError(file, None, f"is not valid UTF-8 (byte {err.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise NamedScenarioError(file, None, f"is not valid TOML: {err}") from None
    for key in data:
        if key not in _FILE_KEYS + _OPTIONAL_KEYS:
            raise NamedScenarioError(file, key, f"unknown key (allowed: {', '.join(_FILE_KEYS + _OPTIONAL_KEYS)})")
    for key in _FILE_KEYS:
        if key not in data:
            raise NamedScenarioError(file, key, "is missing (required)")
    name = data["name"]
    if not isinstance(name, str) or not _NAME_RULE.fullmatch(name):
        raise NamedScenarioError(file, "name", f"{_short(name)} must be lower-case letters, digits and '_', "
                                 "starting with a letter (at most 48 characters)")
    if name != path.stem:
        raise NamedScenarioError(file, "name", f"{name!r} must equal the file name {path.stem!r}")
    if name == BASE_NAME:
        raise NamedScenarioError(file, "name", f"{BASE_NAME!r} is reserved for the base case")
    title, reasoning = _text(file, data, "title"), _text(file, data, "reasoning")
    ids = data["source_ids"]
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise NamedScenarioError(file, "source_ids", f"must be a non-empty list of source ids, not {_short(ids)}")
    known = _source_ids(path.parent) if source_ids is None else source_ids
    for sid in ids:
        if sid not in known:
            raise NamedScenarioError(file, "source_ids", f"source id {sid!r} is not in sources.csv")
    params = data["parameters"]
    if not isinstance(params, dict) or not params:
        raise NamedScenarioError(file, "parameters", "must hold at least one [parameters.<name>] table")
    overrides = tuple(_override(file, n, entry) for n, entry in params.items())
    reference = data.get("reference", BASE_NAME)
    if not isinstance(reference, str) or not _NAME_RULE.fullmatch(reference) or reference == name:
        raise NamedScenarioError(file, "reference", f"{_short(reference)} must name another scenario "
                                 f"(a file name without .toml, or {BASE_NAME!r})")
    named = NamedScenario(name, title, reasoning, tuple(ids), overrides, path, reference)
    try:
        named.scenario
    except ScenarioError as err:
        raise NamedScenarioError(file, "parameters", f"the overrides make no valid scenario: {err}") from None
    return named


def named_scenarios(path=None):
    """Every named scenario of the scenarios folder (:func:`scenarios_path`), validated:
    ``{name: NamedScenario}`` in file-name order.

    A folder that does not exist holds no scenarios (``{}``: a data folder of tests may have none);
    a file other than ``*.toml`` or ``README.md`` raises :class:`NamedScenarioError`, as does any bad file
    (:func:`read_named_scenario`).
    """
    folder = scenarios_path(path)
    if not folder.is_dir():
        return {}
    files = sorted(folder.iterdir())
    for f in files:
        if not (f.suffix == ".toml" or f.name in _OTHER_FILES or f.name.startswith(".")):
            raise NamedScenarioError(_file_label(f), None, "is not a scenario file (*.toml) or README.md")
    tomls = [f for f in files if f.suffix == ".toml"]
    known = _source_ids(folder) if tomls else frozenset()
    found = {f.stem: read_named_scenario(f, known) for f in tomls}
    for named in found.values():
        if named.reference != BASE_NAME and named.reference not in found:
            raise NamedScenarioError(_file_label(named.path), "reference", f"{named.reference!r} is not a named "
                                     f"scenario of {folder.name}/ (nor {BASE_NAME!r})")
    return found


def load_named(name, path=None):
    """The named scenario ``name`` (``"base"``: the base case, :data:`BASE_CASE`); an unknown name
    raises :class:`ScenarioError` listing the known ones."""
    if name == BASE_NAME:
        return BASE_CASE
    found = named_scenarios(path)
    if name not in found:
        raise ScenarioError(f"unknown named scenario {_short(name)}; known: {[BASE_NAME, *found]} "
                            f"(files in {scenarios_path(path)})")
    return found[name]
