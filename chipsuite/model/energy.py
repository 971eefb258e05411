"""Energy stage: dated supply contracts, the whole fleet's electricity, Scope 2 emissions and the
power-constrained build.

Runs after the formula registry (it reads the sites' AI electricity, ``energy_mwh``) and adds
variables to the result; see ``docs/model.md`` ("Energy, supply and emissions") for the equations
and the allocation rule. Small pure numpy functions, ``quarter`` last; :func:`energy_results` and
:func:`power_capped_capacity` are the two entry points :mod:`chipsuite.model.core` calls.

Supply waterfall per site and quarter (every step capped by the load still unserved):

1. dedicated contracts of the site (``contract_type`` ``on_site`` or ``utility_supply``: Prometheus'
   Socrates gas, Hyperion's Entergy plants and solar, El Paso's McCloud gas), non-fossil first, gas
   up to ``MW x gas_plant_availability x hours``;
2. virtual contracts of the site (PPAs named for a site, e.g. ENGIE Sypert Branch for
   rest_of_fleet);
3. fleet-wide contracts delivered to a grid region (:data:`CONTRACT_GRID`) over the sites in
   that grid, in proportion to their unserved load; what they cannot place joins step 4;
4. the other fleet-wide contracts over all sites, in proportion to their unserved load; energy
   beyond the whole fleet's load is ``contract_surplus_mwh`` (not counted as supply);
5. grid electricity for the rest, at the site's grid-region intensity.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..energy import emissions_tco2
from ..quarters import HOURS_PER_QUARTER

__all__ = ["SOURCES", "SITE_REGION", "CONTRACT_GRID", "SITE_GRID", "contract_capacity_mw", "active_quarters",
           "contracts_in_force", "supply_by_source",
           "power_plan_mw", "allocate_supply", "non_ai_electricity_mwh", "location_emissions_tco2",
           "market_emissions_tco2", "energy_spec", "energy_results", "energy_variables", "power_capped_capacity",
           "ENERGY_ATTRS"]

#: supply sources (``source`` dim): contract technologies, then grid electricity
SOURCES = ("gas", "nuclear", "solar", "wind", "geothermal", "storage", "grid")
#: technologies whose Scope 2 factor is the contract's own (combustion); the rest emit 0 in Scope 2
FOSSIL = ("gas",)
#: site -> grid region of grid_regions.csv whose location factor its grid electricity carries
SITE_REGION = {"prometheus": "pjm_aep_ohio",  # New Albany OH, AEP Ohio in PJM (Meta's own 2023 factor)
               "hyperion": "miso_entergy_louisiana",  # Entergy Louisiana in MISO
               "el_paso": "wecc_el_paso_electric",  # El Paso Electric, WECC (Los Lunas proxy)
               "rest_of_fleet": "meta_fleet_dc"}  # Meta's implied data-centre fleet factor
#: site -> grid (RTO) for placing fleet-wide contracts delivered to one grid
SITE_GRID = {"prometheus": "PJM", "hyperion": "MISO", "el_paso": "WECC", "rest_of_fleet": None}
#: fleet-wide contracts whose energy is delivered to one grid where a named site is (their notes say so)
CONTRACT_GRID = {"constellation_clinton": "MISO",  # Clinton, MISO Zone 4 (Hyperion is MISO South)
                 "vistra_perry_davis_besse": "PJM",  # 'PJM grids that support Meta's operations incl. Prometheus'
                 "vistra_uprates": "PJM", "oklo_pike_county": "PJM"}  # Ohio, PJM
DEDICATED_TYPES = ("on_site", "utility_supply")

#: result variables of this stage: name -> (units, long_name); per source ``supply_<source>_mwh`` and
#: ``supply_share_<source>`` (:data:`SOURCES`), so every variable keeps the model's dims (draw, site, quarter)
ENERGY_ATTRS = {
    "non_ai_electricity_mwh": ("MWh", "data-centre electricity not of the modelled AI fleet (calibrated trend)"),
    "site_electricity_mwh": ("MWh", "site electricity: AI facility load plus non-AI load (rest_of_fleet)"),
    "fleet_electricity_mwh": ("MWh", "whole-fleet data-centre electricity (AI and non-AI, owned and leased)"),
    "leased_electricity_mwh": ("MWh", "data-centre electricity in leased facilities (AI and non-AI)"),
    **{f"supply_{k}_mwh": ("MWh", f"electricity supplied by {k}" + (" (dedicated plants)" if k == "gas" else
                                                                      " (grid, for the load no contract covers)"
                                                                      if k == "grid" else " contracts"))
       for k in SOURCES},
    **{f"supply_share_{k}": ("1", f"share of a site's electricity supplied by {k}") for k in SOURCES},
    "dedicated_supply_mwh": ("MWh", "electricity from the site's dedicated plants (on-site or utility-dedicated)"),
    "contract_surplus_mwh": ("MWh", "contracted energy beyond the whole fleet's load (not counted as supply)"),
    "grid_intensity_gco2_per_kwh": ("gCO2/kWh", "location-based grid emission factor of the site's grid region"),
    "emissions_location_tco2": ("tCO2", "Scope 2 emissions, location-based (GHG Protocol)"),
    "emissions_market_tco2": ("tCO2", "Scope 2 emissions, market-based with renewable matching (GHG Protocol)"),
    "carbon_intensity_effective_gco2_per_kwh": ("gCO2/kWh", "location-based carbon intensity of a site's "
                                                "electricity (dated contract mix and grid)"),
    "emissions_tco2": ("tCO2", "Scope 2 emissions of the AI load, location-based: the site's AI electricity "
                               "at the site's effective intensity"),
    "site_electricity_cost_usd": ("USD", "electricity cost of the site's load at its grid price"),
    "water_withdrawal_l": ("L", "operational water withdrawal (site electricity x fleet withdrawal intensity)"),
    "site_power_mw": ("MW", "power available to a site from its power plan, delays applied (before a plan's "
                            "first milestone, or without a plan: the site's capacity)"),
    "power_capacity_mw": ("MW", "facility power usable for IT: site capacity, capped by site power in the "
                                "power-constrained build"),
    "installed_it_power_mw": ("MW", "IT power installed at a site (nameplate; capex build: incl. unplaced)"),
    "power_shortfall_h100e": ("H100e", "capability of the demand path not installed for lack of site power (power build)"),
    "power_rented_h100e": ("H100e", "capability rented from cloud providers because it finds no site power"),
    "power_deferred_h100e": ("H100e", "capability missing because its purchase waits for site power"),
    "power_rental_cost_usd": ("USD", "cost of renting the capability that finds no site power"),
}


# --------------------------------------------------------------------------- small pure functions


def active_quarters(t, start, end, delay=0.0):
    """1 where a contract is in force: from its start quarter (inclusive) to its end quarter (exclusive),
    both shifted by ``delay`` quarters. [1]

    >>> active_quarters(np.arange(5.0), np.array([2.0]), np.array([4.0]))
    array([[0., 0., 1., 1., 0.]])
    """
    start = np.asarray(start, float)[..., None] + np.asarray(delay, float)[..., None]
    end = np.asarray(end, float)[..., None] + np.asarray(delay, float)[..., None]
    return ((t >= start) & (t < end)).astype(float)


def contract_capacity_mw(low, base, high, position):
    """Contracted MW between low (position 0), base (0.5) and high (1), linear in between. [MW]

    low, base, high : (C,); position : (D,); returns (D, C).

    >>> contract_capacity_mw(np.array([0.0]), np.array([10.0]), np.array([30.0]), np.array([0.25, 0.75]))
    array([[ 5.],
           [20.]])
    """
    pos = np.asarray(position, float)[:, None]
    lower = low + (base - low) * np.clip(2 * pos, 0, 1)
    upper = base + (high - base) * np.clip(2 * pos - 1, 0, 1)
    return np.where(pos <= 0.5, lower, upper)


def power_plan_mw(t, milestone_t, values, delay, delay_from):
    """Site power from dated milestones: the value of the latest milestone reached (a step: a plant
    is online from the end of its quarter), ``inf`` before the first (no plan binds). [MW]

    Milestones at or after ``delay_from`` move ``delay`` quarters later. ``t`` : (Q,);
    ``milestone_t`` : (M,); ``values`` : (D, M); ``delay`` : (D,); returns (D, Q).

    >>> power_plan_mw(np.arange(6.0), np.array([1.0, 3.0]), np.array([[100.0, 500.0]]), np.array([2.0]), 2.0)
    array([[ inf, 100., 100., 100., 100., 500.]])
    """
    delay = np.asarray(delay, float)
    shifted = milestone_t[None, :] + np.where(milestone_t[None, :] >= delay_from, delay[:, None], 0.0)  # (D, M)
    reached = t[None, None, :] >= shifted[:, :, None]  # (D, M, Q)
    # latest reached milestone: the one with the largest shifted time among the reached
    key = np.where(reached, shifted[:, :, None], -np.inf)
    idx = np.argmax(key, axis=1)  # (D, Q)
    val = np.take_along_axis(values, idx, axis=1)
    return np.where(reached.any(axis=1), val, np.inf)


def _place(supply, remaining, mask=None):
    """Spread ``supply`` (D, Q) over sites in proportion to ``remaining`` load (D, S, Q) (only sites in
    ``mask`` (S,)), capped by it. Returns (served (D, S, Q), unplaced (D, Q))."""
    rem = remaining if mask is None else remaining * mask[None, :, None]
    total = rem.sum(axis=1)
    served_total = np.minimum(supply, total)
    frac = np.divide(served_total, total, out=np.zeros_like(total), where=total > 0)
    return rem * frac[:, None, :], supply - served_total


def allocate_supply(load_mwh, contracts_mwh, tech, site, dedicated, grid, site_grid):
    """Supply by source per site and quarter from contract energy (the waterfall of the module docstring).

    load_mwh : (D, S, Q) [MWh]; contracts_mwh : (D, C, Q) energy each contract can deliver [MWh];
    tech : (C,) technology names; site : (C,) site index or -1 (fleet); dedicated : (C,) bool;
    grid : (C,) grid name or None; site_grid : (S,) grid names.

    Returns ``supply`` (D, S, K, Q) [MWh] by :data:`SOURCES`, ``dedicated`` (D, S, K, Q) [MWh] (the part
    from dedicated plants) and ``surplus`` (D, Q) [MWh].
    """
    nd, ns, nq = load_mwh.shape
    k_of = {s: i for i, s in enumerate(SOURCES)}
    supply = np.zeros((nd, ns, len(SOURCES), nq))
    ded = np.zeros_like(supply)
    remaining = np.array(load_mwh, float)
    fossil_last = sorted(range(len(tech)), key=lambda c: tech[c] in FOSSIL)
    # 1-2. site contracts: dedicated first (non-fossil, then gas), then the site's virtual contracts
    for want_dedicated in (True, False):
        for c in fossil_last:
            if site[c] < 0 or bool(dedicated[c]) != want_dedicated:
                continue
            s, k = site[c], k_of[tech[c]]
            served = np.minimum(contracts_mwh[:, c], remaining[:, s])
            supply[:, s, k] += served
            if want_dedicated:
                ded[:, s, k] += served
            remaining[:, s] -= served
    # 3. fleet contracts delivered to one grid: its sites; the rest joins the fleet pool
    pool = np.zeros((nd, len(SOURCES), nq))
    for c in range(len(tech)):
        if site[c] >= 0:
            continue
        k = k_of[tech[c]]
        mask = (np.asarray(site_grid) == grid[c]).astype(float) if grid[c] else None
        if mask is None or not mask.any():
            pool[:, k] += contracts_mwh[:, c]
            continue
        served, spill = _place(contracts_mwh[:, c], remaining, mask)
        supply[:, :, k] += served
        remaining -= served
        pool[:, k] += spill
    # 4. the fleet pool over all sites, every technology in proportion to its energy
    total_pool = pool.sum(axis=1)
    served_all, surplus = _place(total_pool, remaining)
    frac = np.divide(pool, total_pool[:, None, :], out=np.zeros_like(pool), where=total_pool[:, None, :] > 0)
    supply += served_all[:, :, None, :] * frac[:, None, :, :]
    remaining = remaining - served_all
    # 5. grid for the rest
    supply[:, :, k_of["grid"]] += np.maximum(remaining, 0.0)
    return supply, ded, surplus


def non_ai_electricity_mwh(mid_year, level_2020, growth, ai_initial_mwh_per_year):
    """Non-AI data-centre electricity per quarter: the linear 2019-2021 trend at mid-quarter, less the
    AI load of the initial (pre-2022) accelerator base already inside that trend, never below 0. [MWh]

    mid_year : (Q,) calendar year at mid-quarter (2022.125 = mid-2022Q1); level_2020 [MWh/year],
    growth [MWh/year per year], ai_initial_mwh_per_year : (D,). Returns (D, Q).

    >>> non_ai_electricity_mwh(np.array([2022.125]), np.array([7e6]), np.array([2e6]), np.array([0.0]))
    array([[2562500.]])
    """
    rate = (np.asarray(level_2020, float)[:, None] + np.asarray(growth, float)[:, None] * (mid_year[None, :] - 2020.5)
            - np.asarray(ai_initial_mwh_per_year, float)[:, None])
    return np.maximum(rate, 0.0) / 4.0


def location_emissions_tco2(grid_delivered_mwh, grid_intensity, dedicated_fossil_tco2):
    """Location-based Scope 2: grid-delivered electricity (grid plus virtual contracts) at the grid
    region's average factor, plus dedicated plants at their own combustion factor. [tCO2]

    >>> float(location_emissions_tco2(1000.0, 400.0, 50.0))
    450.0
    """
    return grid_delivered_mwh * grid_intensity / 1e3 + dedicated_fossil_tco2


def market_emissions_tco2(grid_mwh, grid_intensity, matching_share, dedicated_fossil_tco2):
    """Market-based Scope 2: contracted clean energy and certificates count 0; grid electricity left
    unmatched carries the grid factor (no residual mix is published: the location factor stands in);
    dedicated plants keep their combustion factor (a direct line carries its own attributes). [tCO2]

    >>> round(float(market_emissions_tco2(1000.0, 400.0, 0.9, 50.0)), 9)
    90.0
    """
    return grid_mwh * (1.0 - matching_share) * grid_intensity / 1e3 + dedicated_fossil_tco2


# --------------------------------------------------------------------------- dataset spec (tables -> arrays)

_SPEC_CACHE: dict = {}


def _quarter_number(when):
    when = np.asarray(when, "datetime64[M]").astype(np.int64)
    return when // 3  # months since 1970 -> quarters since 1970


def energy_spec(ds, sites, tables=None):
    """Arrays of the energy tables (``tables``, default :func:`chipsuite.load_tables`) for the quarters of
    the dataset ``ds`` and ``sites``; cached by the dataset's ``content_key`` (the tables' content)."""
    content = ds.attrs.get("content_key")
    key = (tuple(sites), content if content is not None else id(ds))
    cached = _SPEC_CACHE.get(key) if tables is None else None  # tables given: not cached
    if cached is not None and (content is not None or cached[0] is ds):
        return cached[1]
    use_cache = tables is None
    if tables is None:
        from ..data import load_tables

        tables = load_tables()
    quarters = ds.quarter.values
    q0 = _quarter_number(np.asarray(quarters)[:1])[0]
    c = tables["energy_contracts"]
    site_index = {s: i for i, s in enumerate(sites)}
    spec = {
        "contract_id": c["contract_id"].astype(str).tolist(),
        "tech": c["technology"].astype(str).tolist(),
        "site": np.array([site_index.get(s, -1) for s in c["site"].astype(str)]),
        "dedicated": c["contract_type"].isin(DEDICATED_TYPES).to_numpy(),
        "grid": [CONTRACT_GRID.get(cid) for cid in c["contract_id"].astype(str)],
        "low": c["low"].to_numpy(float), "base": c["base"].to_numpy(float), "high": c["high"].to_numpy(float),
        "start": (_quarter_number(c["start_quarter"].to_numpy()) - q0).astype(float),
        "end": (_quarter_number(c["end_quarter"].to_numpy()) - q0).astype(float),
        "intensity": c["carbon_intensity_gco2_per_kwh"].to_numpy(float),
    }
    unknown = [s for s in c["site"].astype(str) if s != "fleet" and s not in site_index]
    if unknown:
        raise ValueError(f"energy_contracts.csv: site(s) {sorted(set(unknown))} are not model sites {list(sites)}")
    # grid factor per site and quarter: the region's value of the latest year <= the quarter's year, else earliest
    g = tables["grid_regions"]
    g = g[g["measure"] == "carbon_intensity_location"]
    years = np.asarray(quarters, "datetime64[Y]").astype(int) + 1970
    intensity = np.zeros((len(sites), len(years)))
    for i, s in enumerate(sites):
        rows = g[g["region"] == SITE_REGION[s]].sort_values("year")
        if rows.empty:
            raise ValueError(f"grid_regions.csv: no carbon_intensity_location row for region {SITE_REGION[s]!r}")
        ys, vs = rows["year"].to_numpy(), rows["base"].to_numpy(float)
        pos = np.clip(np.searchsorted(ys, years, side="right") - 1, 0, len(ys) - 1)
        intensity[i] = vs[pos]
    spec["grid_intensity"] = intensity
    # power plans per site
    p = tables["site_power_plans"]
    plans = {}
    for s in sites:
        rows = p[p["site"] == s].sort_values("quarter")
        if rows.empty:
            continue
        first_own = [spec["start"][k] for k in range(len(spec["tech"])) if spec["site"][k] == site_index[s]
                     and spec["dedicated"][k]]
        plans[s] = {"t": (_quarter_number(rows["quarter"].to_numpy()) - q0).astype(float),
                    "low": rows["low"].to_numpy(float), "base": rows["base"].to_numpy(float),
                    "high": rows["high"].to_numpy(float),
                    "delay_from": min(first_own) if first_own else -np.inf}
    spec["plans"] = plans
    if use_cache:
        _SPEC_CACHE.clear()
        _SPEC_CACHE[key] = (ds, spec)
    return spec


def _p(values, name):
    da = values[name]
    return np.asarray(da.values if da.dims == ("draw",) else da.transpose("draw", ...).values, float).reshape(-1)


def _np(da, dims):
    """``da``'s values in ``dims`` order (no transpose when already so)."""
    return da.values if da.dims == dims else da.transpose(*dims).values


def _site_delays(values, sites):
    return {s: _p(values, f"{s}_power_delay_quarters") if f"{s}_power_delay_quarters" in values
            else np.zeros(values["build_constraint"].size) for s in sites}


def site_power_mw(values, spec, sites, nq):
    """Power available per site from its plan, delays applied, plan position sampled (D, S, Q) [MW]."""
    t = np.arange(nq, dtype=float)
    pos = _p(values, "site_power_plan_position")
    delays = _site_delays(values, sites)
    out = np.full((pos.size, len(sites), nq), np.inf)
    for i, s in enumerate(sites):
        plan = spec["plans"].get(s)
        if plan is None:
            continue
        mw = contract_capacity_mw(plan["low"], plan["base"], plan["high"], pos)  # (D, M)
        out[:, i] = power_plan_mw(t, plan["t"], mw, delays[s], plan["delay_from"])
    return out


def power_capped_capacity(values, ds, site_capacity_mw):
    """Facility capacity usable for IT: ``site_capacity_mw`` where the build is capex-constrained, capped
    by each site's power plan where it is power-constrained (``build_constraint`` = 1). Returns the
    input object itself when no draw is power-constrained (so the capex build stays bit-identical).

    A site's capped capacity never falls: at each quarter it is the smallest capped value from then on
    (a site cannot run more before a delayed plant than after it; without this, the capacity path
    before a site's first, delayed milestone would be its capex path, and could exceed the milestone)."""
    if "build_constraint" not in values:  # inputs assembled without the scenario switch: the capex build
        return site_capacity_mw
    switch = _p(values, "build_constraint")
    if not (switch > 0.5).any():
        return site_capacity_mw
    sites = [str(s) for s in site_capacity_mw.site.values]
    spec = energy_spec(ds, sites)
    cap = site_capacity_mw.transpose("draw", "site", "quarter")
    power = site_power_mw(values, spec, sites, cap.sizes["quarter"])
    capped = np.minimum(cap.values, power)
    capped = np.minimum.accumulate(capped[..., ::-1], axis=-1)[..., ::-1]  # never falls over time
    capped = np.where(switch[:, None, None] > 0.5, capped, cap.values)
    return cap.copy(data=capped)


# --------------------------------------------------------------------------- the stage


def _contracts(values, spec, sites, nq):
    """Contracted MW in force and the energy each contract can deliver, (D, C, Q) [MW], [MWh]; a site's
    power delay moves its site contracts, ``nuclear_contract_delay_quarters`` every nuclear contract."""
    t = np.arange(nq, dtype=float)
    p = {name: _p(values, name) for name in ("capacity_factor_nuclear", "capacity_factor_solar",
                                             "capacity_factor_wind", "capacity_factor_geothermal",
                                             "gas_plant_availability", "energy_contract_position")}
    nd = p["energy_contract_position"].size
    delays = _site_delays(values, sites)
    nuclear_delay = (_p(values, "nuclear_contract_delay_quarters") if "nuclear_contract_delay_quarters" in values
                     else np.zeros(nd))
    site_delay = np.zeros((nd, len(spec["tech"])))
    for k, s in enumerate(spec["site"]):
        if s >= 0:
            site_delay[:, k] = delays[sites[s]]
        if spec["tech"][k] == "nuclear":
            site_delay[:, k] += nuclear_delay
    mw = contract_capacity_mw(spec["low"], spec["base"], spec["high"], p["energy_contract_position"])  # (D, C)
    capacity = mw[:, :, None] * active_quarters(t, spec["start"][None, :], spec["end"][None, :], site_delay)
    factor = np.stack([p["gas_plant_availability"] if tech == "gas" else p[f"capacity_factor_{tech}"]
                       if f"capacity_factor_{tech}" in p else np.zeros(nd) for tech in spec["tech"]], axis=1)
    return capacity, capacity * factor[:, :, None] * HOURS_PER_QUARTER


#: names of the inputs the supply side (:func:`_contracts`, :func:`site_power_mw`) reads, besides site delays
_SUPPLY_INPUTS = ("capacity_factor_nuclear", "capacity_factor_solar", "capacity_factor_wind",
                  "capacity_factor_geothermal", "gas_plant_availability", "energy_contract_position",
                  "nuclear_contract_delay_quarters", "site_power_plan_position", "build_constraint")
_SUPPLY_MEMO: dict = {}


def _supply_side(values, spec, sites, nq):
    """``(contract energy (D, C, Q) [MWh], site power plan (D, S, Q) [MW])`` of :func:`_contracts` and
    :func:`site_power_mw`, kept for the last inputs: they do not depend on the load, so a change of
    utilisation, PUE or the matching share (the formulas-only path of a live control) reuses them. The key
    is the spec object (cached per dataset) and the bytes of every input they read; the arrays are returned
    read-only (shared between runs)."""
    names = [n for n in (*_SUPPLY_INPUTS, *(f"{s}_power_delay_quarters" for s in sites)) if n in values]
    arrays = [_p(values, n) for n in names]
    key = (tuple(sites), int(nq), tuple(names), tuple(a.tobytes() for a in arrays))
    hit = _SUPPLY_MEMO.get("last")
    if hit is not None and hit[0] is spec and hit[1] == key:
        return hit[2]
    _, contract_mwh = _contracts(values, spec, sites, nq)
    plan_mw = site_power_mw(values, spec, sites, nq)
    for a in (contract_mwh, plan_mw):
        a.flags.writeable = False
    _SUPPLY_MEMO["last"] = (spec, key, (contract_mwh, plan_mw))
    return contract_mwh, plan_mw


def contracts_in_force(values, ds, tables=None):
    """Contracted capacity in force per contract and quarter, (draw, contract, quarter) [MW]: the contract
    timeline (dates of ``energy_contracts.csv``, site delays applied). ``values``: model inputs
    (:func:`chipsuite.model.model_inputs`)."""
    sites = [str(s) for s in ds.site.values]
    spec = energy_spec(ds, sites, tables)
    capacity, _ = _contracts(values, spec, sites, ds.quarter.size)
    draws = values["energy_contract_position"].draw.values
    da = xr.DataArray(capacity, {"draw": draws, "contract": spec["contract_id"], "quarter": ds.quarter.values},
                      ("draw", "contract", "quarter"))
    return da.assign_attrs(units="MW", long_name="contracted capacity in force (energy_contracts.csv)")


def supply_by_source(result):
    """``supply_<source>_mwh`` of a result stacked along a ``source`` dim (:data:`SOURCES`). [MWh]"""
    return xr.concat([result[f"supply_{k}_mwh"] for k in SOURCES], dim="source").assign_coords(
        source=list(SOURCES)).assign_attrs(units="MWh", long_name="electricity supplied by source")


def energy_results(values, ds, inputs, results, tables=None):
    """Variables of the energy stage (``{name: DataArray}``) from the formula results of a run.

    ``tables``: the energy tables to use (default :func:`chipsuite.load_tables`; tests pass edited copies).
    """
    energy = results["energy_mwh"]
    tsq = energy if energy.dims == ("draw", "site", "quarter") else energy.transpose("draw", "site", "quarter")
    tq = results["placed_it_power_mw"]
    tq = tq if tq.dims == ("draw", "quarter") else tq.transpose("draw", "quarter")
    out = {}
    for name, var in energy_variables(values, ds, inputs, results, tables).items():
        da = (tsq if var.ndim == 3 else tq).copy(deep=False, data=var.data)
        da.attrs = dict(var.attrs)
        out[name] = da
    return out


def energy_variables(values, ds, inputs, results, tables=None):
    """:func:`energy_results` as plain :class:`xarray.Variable` objects (dims ``(draw, site, quarter)`` or
    ``(draw, quarter)``, the coords those of ``results["energy_mwh"]``), for the model's result Dataset
    (no DataArray per variable: the stage's part of a run is dominated by wrapping otherwise)."""
    energy = results["energy_mwh"]
    energy = energy if energy.dims == ("draw", "site", "quarter") else energy.transpose("draw", "site", "quarter")
    sites = [str(s) for s in energy.site.values]
    quarters = energy.quarter.values
    nd, ns, nq = energy.shape
    spec = energy_spec(ds, sites, tables)
    p = {name: _p(values, name) for name in (
        "renewable_matching_share", "non_ai_electricity_2020", "non_ai_electricity_growth", "non_ai_leased_share",
        "build_constraint", "power_shortfall_mode", "water_withdrawal_intensity")}

    contract_mwh, plan_mw = _supply_side(values, spec, sites, nq)

    # --- load: AI facility electricity plus the non-AI trend at rest_of_fleet
    years = np.asarray(quarters, "datetime64[Y]").astype(int) + 1970
    q_of_year = np.asarray(quarters, "datetime64[M]").astype(int) % 12 // 3
    mid_year = years + (q_of_year + 0.5) / 4.0
    ai = energy.values
    non_ai = non_ai_electricity_mwh(mid_year, p["non_ai_electricity_2020"], p["non_ai_electricity_growth"],
                                    ai[:, :, 0].sum(axis=1) * 4.0)
    load = ai.copy()
    rest = sites.index("rest_of_fleet") if "rest_of_fleet" in sites else ns - 1
    load[:, rest] += non_ai

    supply, dedicated, surplus = allocate_supply(load, contract_mwh, spec["tech"], spec["site"], spec["dedicated"],
                                                 spec["grid"], [SITE_GRID.get(s) for s in sites])
    share = np.divide(supply, load[:, :, None, :], out=np.zeros_like(supply), where=load[:, :, None, :] > 0)
    share[:, :, SOURCES.index("grid")] = np.where(load > 0, share[:, :, SOURCES.index("grid")], 1.0)

    # --- emissions: dedicated gas at its contract's combustion factor (served share of each gas contract)
    fossil_t = np.zeros((nd, ns, nq))
    for s in range(ns):
        for tech in FOSSIL:
            ks = [k for k in range(len(spec["tech"])) if spec["site"][k] == s and spec["dedicated"][k]
                  and spec["tech"][k] == tech]
            if not ks:
                continue
            avail = contract_mwh[:, ks]  # (D, n, Q)
            tot = avail.sum(axis=1)
            served = dedicated[:, s, SOURCES.index(tech)]
            weighted = (avail * spec["intensity"][ks][None, :, None]).sum(axis=1)
            mean_ci = np.divide(weighted, tot, out=np.zeros_like(tot), where=tot > 0)
            fossil_t[:, s] += served * mean_ci / 1e3
    ded_total = dedicated.sum(axis=2)
    grid_delivered = load - ded_total
    grid = supply[:, :, SOURCES.index("grid")]
    ci = spec["grid_intensity"][None, :, :]
    location = location_emissions_tco2(grid_delivered, ci, fossil_t)
    market = market_emissions_tco2(grid, ci, p["renewable_matching_share"][:, None, None], fossil_t)
    # the AI load's share of each site's location-based emissions: its electricity at the site's mix
    intensity = np.divide(location * 1e3, load, out=np.broadcast_to(ci, load.shape).copy(), where=load > 0)

    # --- leased: non-AI at its leased share; AI in proportion to leased capacity
    cap_total = _np(inputs["site_capacity_mw"], ("draw", "site", "quarter")).sum(axis=1)
    leased_cap = _np(inputs["leased_capacity_mw"], ("draw", "quarter"))
    leased_frac = np.divide(leased_cap, cap_total, out=np.zeros_like(cap_total), where=cap_total > 0)
    leased = non_ai * p["non_ai_leased_share"][:, None] + ai.sum(axis=1) * np.clip(leased_frac, 0, 1)
    price = _np(values["electricity_price_usd_per_mwh"], ("draw", "site"))

    # --- power-constrained build: the fleet stage's deliveries waited for power (installed IT power
    # never exceeds the capped capacity); the capability gap against the demand path is rented or deferred
    capex_cap = _np(inputs["site_capacity_mw"], ("draw", "site", "quarter"))
    share_site = _np(results["site_placement_share"], ("draw", "site", "quarter"))
    provisioned = _np(results["fleet_provisioned_it_power_mw"], ("draw", "quarter"))
    power_mode = p["build_constraint"][:, None] > 0.5
    installed = provisioned[:, None, :] * share_site
    shortfall = np.where(power_mode, _np(inputs["power_gap_h100e"], ("draw", "quarter")), 0.0)
    rent = p["power_shortfall_mode"][:, None] < 0.5
    rented = shortfall * rent
    rental_price = values["rental_price_usd_per_hour"].sel(generation="h100").transpose("draw", ...).values
    rental_price = np.asarray(rental_price, float).reshape(nd, -1)[:, :1]

    def sq(data):
        return xr.Variable(("draw", "site", "quarter"), data)

    def q(data):
        return xr.Variable(("draw", "quarter"), data)

    out = {
        "non_ai_electricity_mwh": q(non_ai),
        "site_electricity_mwh": sq(load),
        "fleet_electricity_mwh": q(load.sum(axis=1)),
        "leased_electricity_mwh": q(leased),
        **{f"supply_{k}_mwh": sq(supply[:, :, i]) for i, k in enumerate(SOURCES)},
        **{f"supply_share_{k}": sq(share[:, :, i]) for i, k in enumerate(SOURCES)},
        "dedicated_supply_mwh": sq(ded_total),
        "contract_surplus_mwh": q(surplus),
        "grid_intensity_gco2_per_kwh": sq(np.broadcast_to(spec["grid_intensity"], load.shape).copy()),
        "emissions_location_tco2": sq(location),
        "emissions_market_tco2": sq(market),
        "carbon_intensity_effective_gco2_per_kwh": sq(intensity),
        "emissions_tco2": sq(emissions_tco2(ai, intensity)),
        "site_electricity_cost_usd": sq(load * price[:, :, None]),
        "water_withdrawal_l": sq(load * 1e3 * p["water_withdrawal_intensity"][:, None, None]),
        "site_power_mw": sq(np.where(np.isinf(plan_mw), capex_cap, plan_mw)),
        "power_capacity_mw": sq(capex_cap),
        "installed_it_power_mw": sq(installed),
        "power_shortfall_h100e": q(shortfall),
        "power_rented_h100e": q(rented),
        "power_deferred_h100e": q(shortfall - rented),
        "power_rental_cost_usd": q(rented * rental_price * HOURS_PER_QUARTER),
    }
    for name, var in out.items():
        var.attrs = {"units": ENERGY_ATTRS[name][0], "long_name": ENERGY_ATTRS[name][1]}
    return out
