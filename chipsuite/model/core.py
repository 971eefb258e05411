"""The model chain: ``run(scenario) -> xarray.Dataset``.

Stages, in the order :func:`simulate_fleet` and :func:`evaluate_model` call them (see
``docs/model.md`` for the equations; each stage is a module of small numpy functions):

1. inputs (:mod:`.inputs`): dataset values and scenario parameters, at base values
   (``draws=1``) or sampled (``draws > 1``);
2. demand (:mod:`.demand`): new purchases in H100e per year (anchored 2022-2026, then a growth
   path), their quarterly profile and split over workload classes;
3. supply (:mod:`.supply`): MTIA cadence and ramps, deal schedules (AMD purchases, the Nvidia
   floor, rented cloud capacity), Nvidia's generation mix, and the split of each quarter's
   purchases between MTIA, AMD and Nvidia;
4. stock-flow (:mod:`.stockflow`): installed units and H100e from deliveries and a service life;
5. sites (:mod:`.sites`): capacity paths, owned vs leased and joint-venture capacity,
   construction spend;
6. the formula registry (:mod:`chipsuite.formulas`, numexpr or numpy): power and placement,
   energy and emissions, prices, capex paid (order-to-cash), depreciation of the whole asset
   base, leases and cloud opex, supplier dependence, cost per H100e-hour;
7. energy (:mod:`.energy`): dated supply contracts per site and quarter, the whole fleet's
   electricity (non-AI base), location- and market-based Scope 2, water, and the
   power-constrained build (``build_constraint``; it caps the capacity the formulas place into).

Everything is vectorised over ``draw``; arrays are at most 3-D per draw.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

from ..formulas import evaluate_formulas
from ..quarters import HOURS_PER_QUARTER, parse_quarter, quarters_between
from ..scenario import PARAMETERS, Scenario, check_seed
from . import demand as demand_stage
from . import energy as energy_stage
from . import sites as sites_stage
from . import stockflow
from . import supply as supply_stage
from .inputs import (base_inputs_with_draw, complete_inputs, dataset_spec, deal_volume, dim_coords, fleet_generations,
                     labelled, model_inputs, parameter_spec, site_capacity)

__all__ = ["run_in_memory", "evaluate_model", "simulate_fleet", "formula_inputs_for", "annual", "OUTPUT_ATTRS", "ModelCache",
           "SUPPLIERS"]

QUARTERS_PER_YEAR = 4.0  # unit conversion [quarters/year]
DEMAND_YEARS = (2022, 2023, 2024, 2025, 2026)
#: growth of purchases after the anchored years moves linearly between these years
GROWTH_YEARS = (2027, 2029)
#: first quarter whose rest_of_fleet capacity additions may be leased (``rest_of_fleet_leased_share``)
LEASE_START_QUARTER = "2026Q1"
#: Hyperion joint venture closed in Oct 2025: capacity added from this quarter on is partly JV-owned
JV_START_QUARTER = "2025Q4"
#: MTIA v1/v2 deployments: v1 from its volume start, v2 from its own, both ending here
LEGACY_MTIA_END_QUARTER = "2026Q1"
#: the 2026 rise of component prices ramps linearly over these quarters, then holds
COMPONENT_PRICE_RAMP = ("2026Q1", "2026Q4")
#: quarters in which the 2023 construction pause and re-architecture cut non-AI spend (first, last; inclusive):
#: Meta paused existing data-centre construction to switch to a new design (announced with Q4 2022 results on
#: 1 Feb 2023, S30) and cut non-AI server spend (Jul 2023, S30); the cut applies from the first full quarter
#: after the announcement to the year end (the pause "played through in some of our 2023 capex", S222)
REARCHITECTURE_PAUSE = ("2023Q2", "2023Q4")
#: the year whose first quarters run at the previous year-end rate (``demand_2026_hold_quarters``): 2026's volume
#: rests on supply that arrives during the year (the Nvidia and AMD agreements of 17 and 24 Feb 2026, S16 and S66;
#: Rubin and AMD's first 1 GW in volume from 2026H2, S46 and S66; Prometheus' own power from 2026Q3, S55)
HELD_START_YEAR = 2026
#: suppliers of capability, owned and rented: name -> (chip vendor, sourcing)
SUPPLIERS = {"nvidia": ("nvidia", "owned"), "amd": ("amd", "owned"), "mtia": ("meta", "owned"),
             "cloud_nvidia": ("nvidia", "rented"), "cloud_tpu": ("google", "rented")}

# non-formula outputs: name -> (units, long_name)
OUTPUT_ATTRS = {
    "units_delivered": ("units", "accelerators delivered (owned)"),
    "units_installed": ("units", "accelerators installed (owned)"),
    "units_retired": ("units", "accelerators retired"),
    "units_installed_start": ("units", "accelerators installed just before the first quarter"),
    "h100e": ("H100e", "installed capability (H100-equivalents, owned)"),
    "h100e_delivered": ("H100e", "capability delivered"),
    "demand_h100e": ("H100e", "new accelerator purchases demanded (H100-equivalents per quarter)"),
    "demand_annual_h100e": ("H100e", "new accelerator purchases demanded per year (anchors, then growth path)"),
    "mtia_purchases_h100e": ("H100e", "new purchases placed on MTIA (H100-equivalents per quarter)"),
    "amd_purchases_h100e": ("H100e", "new purchases delivered by AMD under its deal (H100-equivalents per quarter)"),
    "nvidia_purchases_h100e": ("H100e", "new purchases placed on Nvidia (H100-equivalents per quarter)"),
    "mtia_share_purchases_h100e": ("1", "MTIA share of new purchases (H100e)"),
    "mtia_availability": ("1", "MTIA availability by workload (ramped generations in volume)"),
    "mtia_volume_start_index": ("quarters", "quarter index (2022Q1 = 0) of volume start per MTIA generation"),
    "nvidia_floor_units": ("units", "Nvidia units bought only because of the deal's committed minimum"),
    "nvidia_min_units": ("units", "Nvidia deal's committed minimum units per quarter"),
    "amd_surplus_h100e": ("H100e", "AMD deal capability beyond the demand left after MTIA (extra capability)"),
    "purchase_mix": ("1", "share of a vendor's units bought of each generation (ramp-in / ramp-out)"),
    "all_nvidia_units": ("units", "Nvidia units an all-Nvidia fleet of equal capability would buy"),
    "replaced_nvidia_units": ("units", "Nvidia units an all-Nvidia fleet would buy instead of MTIA and AMD"),
    "nvidia_blend_unit_price_usd": ("USD", "list chip price of the Nvidia generations bought (mix-weighted)"),
    "nvidia_blend_system_cost_usd": ("USD", "system cost per GPU of the Nvidia generations bought (mix-weighted)"),
    "rented_units": ("units", "accelerators rented (average over the quarter)"),
    "rented_h100e": ("H100e", "capability rented (average over the quarter)"),
    "rented_spend_usd": ("USD", "spend on rented capacity"),
    "facility_capacity_additions_mw": ("MW", "owned facility capacity whose construction is paid in the quarter"),
    "power_unmet_h100e": ("H100e", "demand (incl. deferred) that found no site power in the quarter (power build)"),
    "power_gap_h100e": ("H100e", "capability the demand path would install less what site power allowed (power build)"),
    "leased_capacity_mw": ("MW", "facility capacity in service that is leased or owned by a joint venture"),
    "nre_usd": ("USD", "MTIA design and validation cost (NRE)"),
    "site_capacity_mw": ("MW", "site facility power capacity"),
    "pue": ("1", "power usage effectiveness"),
    "tdp_w": ("W", "thermal design power per accelerator"),
    "unit_price_usd": ("USD", "list price per accelerator chip"),
    "system_cost_usd": ("USD", "system capex per accelerator (chip, server, rack and network share)"),
    "system_share_usd": ("USD", "non-chip part of the system per accelerator (server, rack, network)"),
    "component_price_index": ("1", "server, memory and network price level relative to 2025"),
    "pre2022_depreciation_usd": ("USD", "depreciation of assets bought before 2022"),
    "supplier_h100e": ("H100e", "capability by supplier (owned and rented)"),
    "supplier_share_h100e": ("1", "supplier share of capability owned and rented"),
    "supplier_spend_usd": ("USD", "compute spend by supplier (systems capex paid and cloud opex)"),
    "supplier_share_spend": ("1", "supplier share of compute spend"),
    "supplier_units": ("units", "accelerators by supplier (installed and rented)"),
}


def _quarter_index(ds, when):
    """Quarters from the model's first quarter to ``when`` (reads the raw variable: no DataArray is built)."""
    return float(quarters_between(ds.variables["quarter"].values[0], when))


def _p(values, name):
    """Parameter as a (D,) numpy array (no transpose when it already is one)."""
    da = values[name]
    return (da.values if da.dims == ("draw",) else da.transpose("draw", ...).values).reshape(-1)


class _Parameters:
    """Scenario parameters of ``values`` as (D,) arrays, converted when read (``p[name]``, ``p.get``)."""

    def __init__(self, values):
        self._values = values
        self._cache = {}

    def __getitem__(self, name):
        if name not in self._cache:
            self._cache[name] = _p(self._values, name)
        return self._cache[name]

    def get(self, name, default=None):
        return self[name] if name in PARAMETERS else default


class _ReadLog(Mapping):
    """Read-only view of ``values`` that records which names were read (``.read``)."""

    def __init__(self, values):
        self._values = values
        self.read = set()

    def __getitem__(self, name):
        self.read.add(name)
        return self._values[name]

    def __contains__(self, name):  # a membership test reads nothing (Mapping's would record absent names)
        return name in self._values

    def __iter__(self):
        return iter(self._values)

    def __len__(self):
        return len(self._values)


def _mean_factor(factor, eligible, share):
    """H100e per unit averaged over the workloads a chip can serve, weighted by demand share. [H100e]

    factor (D, G, W), eligible (G, W), share (D, W) -> (D, G)
    """
    w = share[:, None, :] * eligible[None]
    return stockflow.safe_divide((factor * w).sum(axis=2), w.sum(axis=2))


def _tranche_generation(ds, k, gens, vendor, owned, first_volume, deals=None):
    """The generation a deal tranche delivers: as the table says, else the newest generation of the
    supplier's chip vendor in volume when the tranche starts (clouds other than Google: Nvidia).
    ``deals``: :func:`_deal_columns` of ``ds`` if already read."""
    deals = _deal_columns(ds) if deals is None else deals
    gen = str(deals["generation"][k])
    if gen:
        return gen
    supplier = str(deals["supplier"][k])
    chip_vendor = {"amd": "amd", "google_cloud": "google"}.get(supplier, "nvidia")
    start = _quarter_index(ds, deals["start"][k])
    candidates = [i for i in range(len(gens)) if vendor[i] == chip_vendor and (owned[i] or chip_vendor == "google")]
    started = [i for i in candidates if first_volume[i] <= start] or candidates[:1]
    return gens[max(started, key=lambda i: (first_volume[i], i))]


def _deal_columns(ds):
    """The deal columns the fleet stage reads, as numpy arrays (read once per run, not per tranche)."""
    return {name: getattr(ds, f"deal_{name}").values for name in ("generation", "supplier", "start", "type",
                                                                   "measure")}


def _power_limited(values, ds, site_capacity_mw, delivered, delivered_h100e, initial, initial_quarters, life_q,
                   unit_power_w):
    """Deliveries that wait for site power (:func:`stockflow.power_limited_deliveries`) in the draws with
    ``build_constraint`` = 1; ``(None, None)`` when no draw is power-constrained (the capex build).

    IT capacity = sum over sites of the power-capped facility capacity / PUE (the owned fleet is fungible
    across sites, as in the placement formulas); unmet demand is deferred where ``power_shortfall_mode``
    = 1, else dropped (rented: the energy stage prices the capability gap).
    """
    if "build_constraint" not in values:
        return None, None
    switch = np.asarray(_p(values, "build_constraint")) > 0.5
    if not switch.any():
        return None, None
    capped = energy_stage.power_capped_capacity(values, ds, site_capacity_mw).transpose("draw", "site", "quarter")
    pue = values["pue"].transpose("draw", "site").values
    it_capacity = (capped.values / pue[:, :, None]).sum(axis=1)
    it_capacity = np.where(switch[:, None], it_capacity, np.inf)
    power = (delivered * unit_power_w[:, :, None]).sum(axis=1) / 1e6  # MW of each quarter's deliveries
    initial_units, _ = stockflow.stock_flow(np.zeros_like(delivered), initial, initial_quarters, life_q[:, None])
    initial_power = (initial_units * unit_power_w[:, :, None]).sum(axis=1) / 1e6
    defer = np.asarray(_p(values, "power_shortfall_mode")) > 0.5
    surviving = stockflow.survival(life_q, delivered.shape[-1])
    return stockflow.power_limited_deliveries(delivered_h100e.sum(axis=1), power, surviving, initial_power,
                                              it_capacity, defer)


#: dataset variables :func:`_fleet_layout` reads (its cache is valid while they are equal)
_LAYOUT_SOURCES = ("generation", "workload", "quarter", "vendor", "in_meta_fleet", "eligible", "first_volume_quarter",
                   "tranche", "deal_volume", "deal_generation", "deal_supplier", "deal_start", "deal_type",
                   "deal_measure")
_LAYOUT_CACHE = []  # [(copies of the source Variables, layout)] of the last dataset seen


def _same_variable(a, b):
    """Variables ``a`` and ``b`` (or None) hold the same dims and values (NaN equal to NaN)."""
    if a is None or b is None:
        return a is b
    if a.dims != b.dims or a.shape != b.shape or a.dtype != b.dtype:
        return False
    return np.array_equal(a.values, b.values, equal_nan=a.dtype.kind in "fc")


def _fleet_layout(ds):
    """What :func:`simulate_fleet` reads of the dataset alone (generations, their vendors and eligibility,
    quarters, deal tranches), as a dict of read-only arrays and lists.

    Computed once per dataset content: the cached layout is reused while every variable of
    :data:`_LAYOUT_SOURCES` equals the copy kept of it (compared by value, so a changed dataset
    gets its own layout).
    """
    sources = tuple(ds.variables.get(n) for n in _LAYOUT_SOURCES)
    for cached, layout in _LAYOUT_CACHE:
        if all(_same_variable(a, b) for a, b in zip(cached, sources)):
            return layout
    layout = _compute_fleet_layout(ds)
    for value in layout.values():
        if isinstance(value, np.ndarray):
            value.flags.writeable = False
    _LAYOUT_CACHE[:] = [(tuple(None if v is None else v.copy(deep=True) for v in sources), layout)]
    return layout


def _compute_fleet_layout(ds):
    """:func:`_fleet_layout`, computed."""
    gens = fleet_generations(ds)
    gsel = ds.sel(generation=gens)
    quarters = ds.quarter.values.copy()
    nq = quarters.size
    t = np.arange(nq, dtype=float)
    workloads = [str(w) for w in ds.workload.values]
    vendor = gsel.vendor.values.astype(str)
    owned = gsel.in_meta_fleet.values.astype(bool)
    eligible = gsel.eligible.transpose("generation", "workload").values.astype(bool)
    legacy = (vendor == "meta") & ~eligible.any(axis=1)
    first_volume = np.array([_quarter_index(ds, v) for v in gsel.first_volume_quarter.values])
    years = np.array([int(str(q)[:4]) for q in quarters])
    layout = {
        "gens": gens, "quarters": quarters, "t": t, "workloads": workloads, "vendor": vendor, "owned": owned,
        "eligible": eligible, "legacy": legacy, "first_volume": first_volume,
        "mtia_pos": [i for i, g in enumerate(gens) if vendor[i] == "meta" and not legacy[i]],
        "legacy_pos": [i for i in range(len(gens)) if legacy[i]],
        "nv_pos": [i for i in range(len(gens)) if vendor[i] == "nvidia" and owned[i]],
        "years": years,
        "quarter_of_year": np.asarray(quarters, "datetime64[M]").astype(np.int64) % 12 // 3,  # 0 = Q1
        "calendar": np.arange(years.min(), years.max() + 1),
        "legacy_end": _quarter_index(ds, parse_quarter(LEGACY_MTIA_END_QUARTER)),
        "lease_start": int(_quarter_index(ds, parse_quarter(LEASE_START_QUARTER))) - 1,
        "jv_start": int(_quarter_index(ds, parse_quarter(JV_START_QUARTER))) - 1,
        "tranches": None,
    }
    if "deal_volume" in ds:
        deals = _deal_columns(ds)
        layout["tranches"] = [
            (str(deals["supplier"][k]), str(deals["type"][k]), str(deals["measure"][k]),
             _tranche_generation(ds, k, gens, vendor, owned, first_volume, deals), ds.tranche.values[k])
            for k in range(ds.sizes["tranche"])]
    return layout


def _labeller(coords):
    """``da(data, dims)``: ``data`` as a DataArray over ``dims`` with the dim coords of ``coords``
    (``(variables, indexes)`` of :func:`dim_coords`, built once), as ``xr.DataArray(data, coords, dims)``
    would label it; the coordinate Variables and indexes are shared by the DataArrays made (as xarray's
    arithmetic shares its operands')."""
    variables, indexes = coords

    def da(data, dims):
        return labelled(data, dims, variables, indexes)

    return da


def _raw(da, dims):
    """The numpy values of DataArray ``da`` laid out over ``dims`` (``da.transpose(*dims).values``)."""
    var = da.variable
    if var.dims == tuple(dims):
        return var.values
    return np.transpose(var.values, [var.dims.index(d) for d in dims])


def _unit_power_w(values):
    """``tdp_w * system_power_overhead`` (draw, generation) [W]: on the raw arrays when both have the same
    dims and generation coordinate (as the model's inputs do), else through xarray's aligning product."""
    tdp, overhead = values["tdp_w"], values["system_power_overhead"]
    dims = ("draw", "generation")
    if set(tdp.dims) == set(overhead.dims) == set(dims) and tdp.sizes == overhead.sizes and \
            _same_variable(tdp.coords.variables.get("generation"), overhead.coords.variables.get("generation")) and \
            tdp.coords.variables.get("generation") is not None and \
            _same_variable(tdp.coords.variables.get("draw"), overhead.coords.variables.get("draw")):
        return _raw(tdp, dims) * _raw(overhead, dims)
    return (tdp * overhead).transpose(*dims).values


def simulate_fleet(values, ds, site_capacity_mw=None):
    """Demand, supply, stock-flow and sites (numpy, vectorised over draws).

    ``values``: inputs with a leading ``draw`` dim; ``site_capacity_mw``: :func:`site_capacity` of
    ``values`` if already computed. Returns ``{name: DataArray}``.
    """
    layout = _fleet_layout(ds)
    gens, quarters, t, workloads = layout["gens"], layout["quarters"], layout["t"], layout["workloads"]
    nq = quarters.size
    draws = values["site_capacity_position"]["draw"].values
    nd = draws.size
    vendor, eligible = layout["vendor"], layout["eligible"]
    mtia_pos, legacy_pos, nv_pos = layout["mtia_pos"], layout["legacy_pos"], layout["nv_pos"]
    first_volume = layout["first_volume"]

    factor = _raw(values["h100e_factor"], ("draw", "generation", "workload"))  # (D, G, W)
    price = _raw(values["unit_price_usd"], ("draw", "generation"))  # (D, G)
    system_cost = price + _raw(values["system_share_usd"], ("draw", "generation"))  # (D, G) [USD]
    unit_power_w = _unit_power_w(values)
    p = _Parameters(values)  # converted when read, so a _ReadLog sees only what this stage uses

    weights = np.stack([p[f"demand_weight_{w}"] for w in workloads], axis=1)  # (D, W)
    demand_share = weights / weights.sum(axis=1, keepdims=True)

    # --- 3b. (first) Nvidia's generation mix: each generation ramps in from its first volume quarter
    nv_ramps = supply_stage.production_ramp(t[None, None, :], first_volume[nv_pos][None, :, None],
                                            p["nvidia_ramp_quarters"][:, None, None])
    nv_ramps = np.broadcast_to(nv_ramps, (nd, len(nv_pos), nq))
    mix = supply_stage.generation_mix(nv_ramps, eligible[nv_pos])  # (D, Gn, W, Q) H100e shares
    nv_factor_g = factor[:, nv_pos, :][..., None]  # (D, Gn, W, 1)
    units_per_h100e = (mix / nv_factor_g).sum(axis=1)  # (D, W, Q)
    nv_factor = stockflow.safe_divide(1.0, units_per_h100e)  # blended H100e per Nvidia unit
    unit_mix = (mix / nv_factor_g * demand_share[:, None, :, None]).sum(axis=2)  # (D, Gn, Q) units
    unit_mix = stockflow.safe_divide(unit_mix, unit_mix.sum(axis=1, keepdims=True))
    nv_price = np.einsum("dgq,dg->dq", unit_mix, price[:, nv_pos])
    nv_system = np.einsum("dgq,dg->dq", unit_mix, system_cost[:, nv_pos])
    nv_unit_power = np.einsum("dgq,dg->dq", unit_mix, unit_power_w[:, nv_pos])

    # --- 2. demand [H100e per quarter] (D, W, Q): anchored years, then the growth path
    years, quarter_of_year, calendar = layout["years"], layout["quarter_of_year"], layout["calendar"]
    anchors = np.stack([p[f"demand_{y}_h100e"] for y in DEMAND_YEARS], axis=1)
    annual_h100e = demand_stage.annual_demand(anchors, p["demand_growth_2027"], p["demand_growth_long_run"], calendar,
                                              *GROWTH_YEARS)
    profile = demand_stage.held_start(demand_stage.within_year_profile(annual_h100e), HELD_START_YEAR - calendar[0],
                                      p["demand_2026_hold_quarters"])
    quarterly = profile[:, years - calendar[0], quarter_of_year]
    demand = quarterly[:, None, :] * demand_share[:, :, None]

    # --- 3a. MTIA cadence and availability
    k_idx = np.arange(len(mtia_pos), dtype=float)
    release = supply_stage.mtia_release_quarter(k_idx[None, :], p["mtia_first_release_quarter_index"][:, None],
                                                p["mtia_cadence"][:, None], p["mtia_slip_per_generation"][:, None])
    start = release + p["mtia_validation_lag"][:, None]  # (D, K)
    ramps = supply_stage.production_ramp(t[None, None, :], start[:, :, None], p["mtia_ramp"][:, None, None])
    w_k = supply_stage.newest_first_weights(ramps, eligible[mtia_pos])  # (D, K, W, Q)
    availability = w_k.sum(axis=1)
    targets = np.stack([p.get(f"mtia_share_target_{w}", np.zeros(nd)) for w in workloads], axis=1)
    nre = p["mtia_nre_per_generation"][:, None] * supply_stage.spend_profile(
        t[None, None, :], release[:, :, None], p["mtia_design_quarters"][:, None, None]).sum(axis=1)
    supply_cap = p["mtia_supply_cap_units"][:, None] * (1.0 - np.prod(1.0 - ramps, axis=1))

    # --- 3c. deals: AMD purchases, Nvidia's committed minimum, rented capacity (per tranche)
    amd_units = np.zeros((nd, len(gens), nq))
    nv_min = np.zeros((nd, nq))
    rented_spend = np.zeros((nd, len(gens), nq))
    rented = np.zeros((nd, len(gens), nq))
    if "deal_position" in values:
        volume = deal_volume(ds, values["deal_position"]).values  # (D, T, Q), unit per quarter
        g_index = {g: i for i, g in enumerate(gens)}
        rental = values["rental_price_usd_per_hour"]
        rental_price = _raw(rental, ("draw", "generation"))
        rental_gens = [str(g) for g in rental.coords.variables["generation"].values]
        for k in range(volume.shape[1]):
            supplier, kind, measure, gen, tranche = layout["tranches"][k]
            v = volume[:, k, :]
            if kind == "purchase" and supplier == "amd":
                i = g_index[gen]
                amd_units[:, i] += p["amd_deal_scale"][:, None] * supply_stage.deal_units(
                    v, measure, unit_power_w[:, i, None], system_cost[:, i, None])
            elif kind == "purchase" and supplier == "nvidia":
                nv_min += p["nvidia_deal_scale"][:, None] * supply_stage.deal_units(
                    v, measure, nv_unit_power, nv_system)
            elif kind == "rental":
                i = g_index[gen]
                if np.isnan(rental_price[:, rental_gens.index(gen)]).any():
                    raise ValueError(f"deals.csv: rental tranche {tranche!r} rents {gen!r}, which has no "
                                     "rental_price in chip_specs.csv")
                spend = v if measure == "value" else supply_stage.deal_units(v, measure, unit_power_w[:, i, None], 1.0)
                spend = spend * p["rental_scale"][:, None]
                if measure == "value":
                    units = supply_stage.rented_units(spend, rental_price[:, i, None], HOURS_PER_QUARTER)
                else:  # units rented: spend from the rental price
                    units = spend
                    spend = units * rental_price[:, i, None] * HOURS_PER_QUARTER
                rented_spend[:, i] += spend
                rented[:, i] += units
    # AMD capability by workload: over the workloads each chip serves, in proportion to their demand
    alloc = demand_share[:, None, :] * eligible[None]  # (D, G, W)
    alloc = stockflow.safe_divide(alloc, alloc.sum(axis=2, keepdims=True))
    amd_gw = amd_units[:, :, None, :] * (factor * alloc)[..., None]  # (D, G, W, Q) H100e
    amd_w = amd_gw.sum(axis=1)

    # --- 3d. the split: MTIA by target and availability, AMD by its deal, Nvidia the rest (and its floor)
    mtia_factor = factor[:, mtia_pos, :]
    split = supply_stage.split_purchases(demand, targets, w_k, mtia_factor, nv_factor, supply_cap, nv_min,
                                         demand_share, committed_h100e=amd_w)
    nv_gw = split["nvidia_h100e"][:, None] * mix  # (D, Gn, W, Q) H100e by Nvidia generation

    # --- deliveries by generation (D, G, Q): MTIA roadmap, MTIA v1/v2, Nvidia, AMD
    delivered = amd_units.copy()
    delivered_h100e = amd_gw.sum(axis=2)
    delivered[:, mtia_pos, :] = split["mtia_units"]
    delivered_h100e[:, mtia_pos, :] = split["mtia_h100e"].sum(axis=2)
    delivered[:, nv_pos, :] = (nv_gw / nv_factor_g).sum(axis=2)
    delivered_h100e[:, nv_pos, :] = nv_gw.sum(axis=2)
    legacy_end = layout["legacy_end"]
    legacy_start = [first_volume[i] for i in legacy_pos]
    if legacy_pos:
        span = legacy_end + 1 - legacy_start[0]
        rate = p["mtia_legacy_units"][:, None] / span  # evenly over all legacy quarters
        for j, i in enumerate(legacy_pos):
            until = legacy_start[j + 1] if j + 1 < len(legacy_pos) else legacy_end + 1
            inside = (t >= legacy_start[j]) & (t < until)
            delivered[:, i, :] = rate * inside
            delivered_h100e[:, i, :] = delivered[:, i, :] * p["mtia_legacy_h100e_per_unit"][:, None]
    # --- 4a. power-constrained build (build_constraint = 1): deliveries wait for site power
    a100 = gens.index("a100") if "a100" in gens else int(np.argmin(first_volume))
    initial_quarters = max(int(round(-first_volume[a100])), 1)
    initial = np.zeros((nd, len(gens)))
    initial[:, a100] = p["initial_a100_units"]
    life_q = p["useful_life"] * QUARTERS_PER_YEAR
    if site_capacity_mw is None:
        site_capacity_mw = site_capacity(ds, values["site_capacity_position"])
    wanted_h100e = delivered_h100e  # the demand path; scaling below rebinds, never writes in place
    power_scale, unmet = _power_limited(values, ds, site_capacity_mw, delivered, delivered_h100e, initial,
                                        initial_quarters, life_q, unit_power_w)
    if power_scale is not None:  # every generation and workload of a quarter scales alike (the mix is kept)
        def scaled(a):
            return a * power_scale.reshape((nd,) + (1,) * (a.ndim - 2) + (nq,))
        delivered, delivered_h100e, amd_w = scaled(delivered), scaled(delivered_h100e), scaled(amd_w)
        split = {**split, **{k: scaled(split[k]) for k in ("mtia_h100e", "nvidia_h100e", "nvidia_units")}}
    mtia_w = split["mtia_h100e"].sum(axis=1)
    total_h100e = delivered_h100e.sum(axis=1)
    mtia_share_purchases = stockflow.safe_divide(mtia_w.sum(axis=1), total_h100e)
    legacy_h100e = delivered_h100e[:, legacy_pos, :].sum(axis=1)
    nv_factor_mean = stockflow.safe_divide(1.0, (demand_share[:, :, None] / nv_factor).sum(axis=1))
    replaced_units = (stockflow.safe_divide(mtia_w + amd_w, nv_factor).sum(axis=1)
                      + stockflow.safe_divide(legacy_h100e, nv_factor_mean))
    all_nvidia_units = replaced_units + split["nvidia_units"]

    # --- 4. stock-flow: initial A100-class base bought evenly since the A100's volume start
    installed, retired = stockflow.stock_flow(delivered, initial, initial_quarters, life_q[:, None])
    a100_factor = (factor[:, a100, :] * demand_share * eligible[a100]).sum(axis=1) / \
        (demand_share * eligible[a100]).sum(axis=1)
    initial_h100e = initial * a100_factor[:, None]
    h100e, _ = stockflow.stock_flow(delivered_h100e, initial_h100e, initial_quarters, life_q[:, None])
    if power_scale is None:
        gap = np.zeros((nd, nq))
    else:  # capability the demand path would have installed, less what power allowed
        wanted, _ = stockflow.stock_flow(wanted_h100e, initial_h100e, initial_quarters, life_q[:, None])
        gap = np.maximum((wanted - h100e).sum(axis=1), 0.0)
    # round-off of the cumulative sums can leave -1e-9 where a stock is empty: clip within tolerance
    installed = stockflow.clip_round_off(installed)
    h100e = stockflow.clip_round_off(h100e)
    start_units = installed[..., 0] - delivered[..., 0] + retired[..., 0]
    rented_h100e = rented * _mean_factor(factor, eligible, demand_share)[:, :, None]

    # --- 5. sites: owned capacity is paid ``facility_capex_lead`` quarters early; the leased share of
    # rest_of_fleet additions and the joint venture's share of Hyperion are built by others
    capacity = _raw(site_capacity_mw, ("draw", "site", "quarter"))
    site_ids = site_capacity_mw["site"].values
    owned_mw = sites_stage.owned_capacity_mw(capacity, site_ids == "rest_of_fleet",
                                             p["rest_of_fleet_leased_share"][:, None],
                                             layout["lease_start"])
    owned_mw = sites_stage.owned_capacity_mw(owned_mw, site_ids == "hyperion", p["hyperion_jv_share"][:, None],
                                             layout["jv_start"])
    additions = sites_stage.construction_spend_mw(owned_mw, p["facility_capex_lead"][:, None]).sum(axis=1)
    leased = (capacity - owned_mw).sum(axis=1)

    purchase_mix = np.zeros((nd, len(gens), nq))
    purchase_mix[:, nv_pos] = unit_mix
    amd_total = amd_units.sum(axis=1, keepdims=True)
    purchase_mix += stockflow.safe_divide(amd_units, amd_total)
    # every dim coordinate built (with its index) once, the Variables shared by the outputs (as xarray's
    # arithmetic shares its operands' coords); each output a DataArray of its Variable (no re-validation)
    _da = _labeller(dim_coords(draw=draws, generation=gens, quarter=quarters, workload=workloads, year=calendar,
                               mtia_generation=[gens[i] for i in mtia_pos]))

    dgq, dq, dwq = ("draw", "generation", "quarter"), ("draw", "quarter"), ("draw", "workload", "quarter")

    def _g(data):
        return _da(data, dgq)

    def _q(data):
        return _da(data, dq)

    def _w(data):
        return _da(data, dwq)

    out = {
        "units_delivered": _g(delivered),
        "units_installed": _g(installed),
        "units_retired": _g(retired),
        "units_installed_start": _da(start_units, ("draw", "generation")),
        "h100e": _g(h100e),
        "h100e_delivered": _g(delivered_h100e),
        "demand_h100e": _w(demand),
        "demand_annual_h100e": _da(annual_h100e, ("draw", "year")),
        "mtia_purchases_h100e": _w(mtia_w),
        "amd_purchases_h100e": _w(amd_w),
        "nvidia_purchases_h100e": _w(split["nvidia_h100e"]),
        "mtia_availability": _w(availability),
        "mtia_volume_start_index": _da(start, ("draw", "mtia_generation")),
        "mtia_share_purchases_h100e": _q(mtia_share_purchases),
        "nvidia_min_units": _q(nv_min),
        "nvidia_floor_units": _q(split["nvidia_floor_units"]),
        "amd_surplus_h100e": _q(split["committed_surplus_h100e"].sum(axis=1)),
        "purchase_mix": _g(purchase_mix),
        "all_nvidia_units": _q(all_nvidia_units),
        "replaced_nvidia_units": _q(replaced_units),
        "nvidia_blend_unit_price_usd": _q(nv_price),
        "nvidia_blend_system_cost_usd": _q(nv_system),
        "rented_units": _g(rented),
        "rented_h100e": _g(rented_h100e),
        "rented_spend_usd": _g(rented_spend),
        "facility_capacity_additions_mw": _q(additions),
        "power_unmet_h100e": _q(np.zeros((nd, nq)) if unmet is None else unmet),
        "power_gap_h100e": _q(gap),
        "leased_capacity_mw": _q(leased),
        "nre_usd": _q(nre),
        "is_mtia": _da((vendor == "meta").astype(float), ("generation",)),
        "is_nvidia": _da((vendor == "nvidia").astype(float), ("generation",)),
        "is_amd": _da((vendor == "amd").astype(float), ("generation",)),
        "is_google": _da((vendor == "google").astype(float), ("generation",)),
    }
    return out


#: fleet outputs that are masks, not results
_MASKS = ("is_mtia", "is_nvidia", "is_amd", "is_google")


def _annuity_factor(rate, life_years):
    """Annuity payment per year over straight-line depreciation per year (CRF x life). [1]

    ``rate / (1 - (1 + rate) ** -life) * life``, computed as ``rate * life / -expm1(-life * log1p(rate))`` so
    that it tends to 1 smoothly as the rate goes to 0 (no 0 / 0 for tiny rates).

    >>> float(_annuity_factor(0.0, 5.0)), round(float(_annuity_factor(0.1, 5.0)), 6)
    (1.0, 1.318987)
    """
    rate = np.asarray(rate, float)
    life = np.asarray(life_years, float)
    x = life * np.log1p(rate)
    small = np.abs(x) < 1e-8
    with np.errstate(divide="ignore", invalid="ignore"):
        exact = rate * life / -np.expm1(-np.where(small, 1.0, x))
    return np.where(small, 1.0 + x / 2, exact)  # series: x / (1 - e^-x) = 1 + x/2 + O(x^2)


def formula_inputs_for(values, fleet_out, ds, site_capacity_mw=None):
    """Assemble the inputs of :func:`chipsuite.formulas.evaluate_formulas` (``site_capacity_mw``:
    :func:`site_capacity` of ``values`` if already computed)."""
    years = np.array([int(str(q)[:4]) for q in ds.quarter.values], dtype=float)
    t = np.arange(ds.quarter.size, dtype=float)
    draws = values["site_capacity_position"].draw.values
    p = _Parameters(values)
    ramp0, ramp1 = (_quarter_index(ds, parse_quarter(q)) for q in COMPONENT_PRICE_RAMP)
    ramp = np.clip((t - ramp0 + 1.0) / (ramp1 - ramp0 + 1.0), 0.0, 1.0)
    index = 1.0 + p["component_price_rise_2026"][:, None] * ramp[None, :]
    pause0, pause1 = (_quarter_index(ds, parse_quarter(q)) for q in REARCHITECTURE_PAUSE)
    mid_year = (t + 0.5) / QUARTERS_PER_YEAR  # years since 2022-01-01 at mid-quarter
    server_left = np.clip(1.0 - mid_year[None, :] / p["pre2022_server_life_left"][:, None], 0.0, 1.0)
    other_left = np.clip(1.0 - mid_year[None, :] / p["pre2022_other_life_left"][:, None], 0.0, 1.0)
    share = p["pre2022_server_share"][:, None]
    pre2022 = p["pre2022_depreciation"][:, None] / QUARTERS_PER_YEAR * (share * server_left + (1 - share) * other_left)
    da = _labeller(dim_coords(draw=draws, quarter=ds.quarter.values))  # built once, shared below
    dq = ("draw", "quarter")
    inputs = {name: fleet_out[name] for name in (
        "units_installed", "units_delivered", "h100e", "mtia_share_purchases_h100e", "replaced_nvidia_units",
        "nvidia_blend_unit_price_usd", "nvidia_blend_system_cost_usd", "facility_capacity_additions_mw",
        "leased_capacity_mw", "nre_usd", "rented_units", "rented_h100e", "rented_spend_usd", "power_gap_h100e")
        + _MASKS}
    inputs.update({
        "site_capacity_mw": (site_capacity(ds, values["site_capacity_position"]) if site_capacity_mw is None
                             else site_capacity_mw),
        "non_ai_year_weight": da(np.clip((years - DEMAND_YEARS[0]) / (DEMAND_YEARS[-1] - DEMAND_YEARS[0]), 0.0, 1.0),
                                 ("quarter",)),
        "component_price_index": da(index, dq),
        "rearchitecture_window": da(((t >= pause0) & (t <= pause1)).astype(float), ("quarter",)),
        "first_quarter_of_year": da((np.asarray(ds.quarter.values, "datetime64[M]").astype(np.int64) % 12
                                     == 0).astype(float), ("quarter",)),
        "pre2022_depreciation_usd": da(pre2022, dq),
        "it_annuity_factor": da(_annuity_factor(p["cost_of_capital"], p["useful_life"]), ("draw",)),
        "facility_annuity_factor": da(_annuity_factor(p["cost_of_capital"], p["facility_life"]), ("draw",)),
        "quarters_per_year": QUARTERS_PER_YEAR,
        "hours_per_quarter": HOURS_PER_QUARTER,
        "useful_life_quarters": values["useful_life"] * QUARTERS_PER_YEAR,
        "facility_life_quarters": values["facility_life"] * QUARTERS_PER_YEAR,
        "non_ai_life_quarters": values["non_ai_life"] * QUARTERS_PER_YEAR,
    })
    for name in ("tdp_w", "unit_price_usd", "system_share_usd", "system_power_overhead", "pue",
                 "electricity_price_usd_per_mwh"):
        inputs[name] = values[name]
    for name in ("utilisation", "nvidia_price_multiplier", "bargaining_elasticity", "bargaining_cap",
                 "facility_capex_per_mw", "non_ai_capex_2022", "non_ai_capex_2026", "non_ai_pause_cut_2023",
                 "payment_share_before",
                 "payment_share_after", "finance_lease_principal_ratio", "lease_cost_per_mw_year",
                 "nvidia_gross_margin", "competitive_gross_margin"):
        inputs[name] = values[name]
    inputs["year_end_payment_share"] = values["year_end_payment_share"]
    # power-constrained build (build_constraint = 1): site power caps the capacity the formulas place into
    inputs["site_capacity_mw"] = energy_stage.power_capped_capacity(values, ds, inputs["site_capacity_mw"])
    return inputs


_DIM_ORDER = ("draw", "generation", "supplier", "site", "workload", "mtia_generation", "year", "quarter")


def _order(da):
    return da.transpose(*[d for d in _DIM_ORDER if d in da.dims], ...)


#: supplier -> the formula results of its capability, spend and units (in :data:`SUPPLIERS` order)
_SUPPLIER_PARTS = {
    "supplier_h100e": ("nvidia_h100e", "amd_h100e", "mtia_h100e", "cloud_nvidia_h100e", "cloud_tpu_h100e"),
    "supplier_spend_usd": ("nvidia_spend_usd", "amd_spend_usd", "mtia_spend_usd", "cloud_nvidia_spend_usd",
                           "cloud_tpu_spend_usd"),
    "supplier_units": ("nvidia_units_installed", "amd_units_installed", "mtia_units_installed", "cloud_nvidia_units",
                       "cloud_tpu_units"),
}


def supplier_view(results, fleet_out=None):
    """Capability, spend and units by supplier (dim ``supplier``, :data:`SUPPLIERS`), owned and rented,
    and the shares of the first two. ``results``: formula results with (draw, quarter) dims."""
    first = results[_SUPPLIER_PARTS["supplier_h100e"][0]]
    dims = ("draw", "supplier", "quarter")
    da = _labeller(dim_coords(draw=first.draw.values, supplier=list(SUPPLIERS), quarter=first.quarter.values))

    out = {}
    for name, parts in _SUPPLIER_PARTS.items():
        stacked = np.stack([_raw(results[p], ("draw", "quarter")) for p in parts], axis=1)
        out[name] = da(stacked, dims)
        if name != "supplier_units":
            total = stacked.sum(axis=1, keepdims=True)
            share = np.divide(stacked, total, out=np.zeros(stacked.shape), where=total > 0)
            out[name.replace("supplier_", "supplier_share_").replace("_usd", "")] = da(share, dims)
    return out


#: formula results the supplier view is built from
_SUPPLIER_SOURCES = frozenset({
    "nvidia_h100e", "amd_h100e", "mtia_h100e", "cloud_nvidia_h100e", "cloud_tpu_h100e", "nvidia_spend_usd",
    "amd_spend_usd", "mtia_spend_usd", "cloud_nvidia_spend_usd", "cloud_tpu_spend_usd", "nvidia_units_installed",
    "amd_units_installed", "mtia_units_installed", "cloud_nvidia_units", "cloud_tpu_units"})


def evaluate_model(values, ds, engine="numexpr"):
    """The model on prepared inputs (see :func:`chipsuite.model.model_inputs`): stages, then the formulas.

    Returns the result Dataset without run attrs. Tests and sensitivity studies may perturb
    ``values`` (e.g. scale ``pue``) before calling this.
    """
    return _evaluate(values, ds, engine)[0]


#: model inputs stored in the result as they are
_RESULT_INPUTS = ("tdp_w", "unit_price_usd", "system_share_usd", "pue")
#: formula inputs computed from parameters, stored in the result
_RESULT_FORMULA_INPUTS = ("component_price_index", "pre2022_depreciation_usd")


def _system_cost(values):
    """``unit_price_usd + system_share_usd`` [USD]: on the raw arrays when both have no attrs, the same
    dims and equal coords (as the base inputs do; the result as xarray's sum: no attrs, the first's
    coords), else through xarray's aligning sum (which also merges attrs, as sampled inputs have)."""
    a, b = values["unit_price_usd"], values["system_share_usd"]
    ca, cb = a.coords.variables, b.coords.variables
    if not a.attrs and not b.attrs and a.dims == b.dims and a.shape == b.shape and ca.keys() == cb.keys() and \
            set(a.xindexes) == set(a.dims) and \
            all(ca[c] is cb[c] or (_same_variable(ca[c], cb[c]) and ca[c].attrs == cb[c].attrs) for c in ca):
        return xr.DataArray(xr.Variable(a.dims, a.variable.values + b.variable.values), coords=dict(ca), name=None,
                            indexes=dict(a.xindexes), fastpath=True)  # all of a's coords, its non-dim ones too
    return a + b


def _result_data(values, fleet_out, site_capacity_mw, inputs, results):
    """Every result variable by name (fleet outputs, chosen inputs, formula results, supplier view)."""
    data = {name: da for name, da in fleet_out.items() if name not in _MASKS}
    data["site_capacity_mw"] = site_capacity_mw
    for name in _RESULT_INPUTS:
        data[name] = values[name]
    for name in _RESULT_FORMULA_INPUTS:
        data[name] = inputs[name]
    data["system_cost_usd"] = _system_cost(values)
    data.update(results)
    data.update(supplier_view(results, fleet_out))
    return data


def _dataset(data, ds):
    """The result Dataset of ``data`` (name -> DataArray, or Variable over dims some DataArray of ``data``
    labels: the energy stage's): one Variable per result (:func:`_result_var`), the dim coords of the
    first DataArray having each dim, and the label coords, built in one go."""
    variables, coords, indexes = {}, {}, {}
    for name, da in data.items():
        if isinstance(da, xr.Variable):
            variables[name] = _canonical_var(da)
            continue
        variables[name] = _canonical_var(da.variable)
        if len(coords) < len(_DIM_ORDER):
            for dim, var in da.coords.variables.items():
                if dim in da.dims and dim not in coords:
                    coords[dim] = var
                    index = da.xindexes.get(dim)
                    if index is not None:
                        indexes[dim] = index
    labels = {"quarter_label": xr.Variable("quarter", ds.quarter_label.values)}
    if "generation" in coords:
        labels["vendor"] = xr.Variable("generation", _vendor_labels(ds, coords["generation"].values))
    if "supplier" in coords:
        suppliers = coords["supplier"].values
        labels["chip_vendor"] = xr.Variable("supplier", [SUPPLIERS[s][0] for s in suppliers])
        labels["sourcing"] = xr.Variable("supplier", [SUPPLIERS[s][1] for s in suppliers])
    if indexes.keys() == coords.keys():  # the variables' own indexes: none built again, no alignment
        direct = _dataset_direct(variables, {**coords, **labels}, indexes)
        if direct is not None:
            return direct
        out = xr.Dataset(variables, coords=xr.Coordinates({**coords, **labels}, indexes=indexes))
    else:
        out = xr.Dataset(variables, coords={**coords, **labels})  # plain variables: no alignment
    # the Dataset holds shallow copies of the Variables (attrs dicts copied): units and long_name set on
    # those, as _result_var would set them on new Variables (tested equal), the sources left unchanged
    own = out.variables
    if any(own[name] is var for name, var in variables.items()):  # an xarray that did not copy them
        return xr.Dataset({name: _result_var(name, da) for name, da in data.items()}, coords=out.coords)
    for name in variables:
        if name in OUTPUT_ATTRS:
            attrs = own[name].attrs
            attrs["units"], attrs["long_name"] = OUTPUT_ATTRS[name]
    return out


def _dataset_direct(variables, coords, indexes):
    """The Dataset ``xr.Dataset(variables, coords=xr.Coordinates(coords, indexes=indexes))`` gives (tested
    identical), put together with xarray's own constructor of checked parts (``Dataset._construct_direct``:
    ~1 ms instead of ~6 ms of merging ~160 variables that share their coordinates by construction). As the
    public path, each variable is a shallow copy (its attrs dict its own) and the dims' sizes are checked
    (``calculate_dimensions`` raises on a conflict). None where this xarray has no such constructor."""
    construct = getattr(xr.Dataset, "_construct_direct", None)
    if construct is None:
        return None
    own = {name: var.copy(deep=False) for name, var in variables.items()}
    for name, var in own.items():
        if name in OUTPUT_ATTRS:
            var.attrs["units"], var.attrs["long_name"] = OUTPUT_ATTRS[name]
    own.update((name, var.copy(deep=False)) for name, var in coords.items())
    return construct(own, set(coords), attrs={}, indexes=dict(indexes))


def _canonical_var(var):
    """Variable ``var`` in the canonical dim order (itself if it is so ordered already)."""
    order = [d for d in _DIM_ORDER if d in var.dims]
    order += [d for d in var.dims if d not in order]
    if list(var.dims) != order:
        return xr.Variable(order, np.transpose(var.data, [var.dims.index(d) for d in order]), var.attrs)
    return var


def _vendor_labels(ds, generations):
    """``ds.vendor.sel(generation=generations).values``, by position (no labelled selection)."""
    position = {g: i for i, g in enumerate(ds.variables["generation"].values)}
    try:
        return ds.variables["vendor"].values[[position[g] for g in generations]]
    except KeyError:
        return ds.vendor.sel(generation=generations).values


def _evaluate(values, ds, engine="numexpr"):
    """:func:`evaluate_model`, and what :class:`ModelCache` keeps of it.

    Returns ``(dataset, stage)``: ``stage`` holds the fleet results, the site capacity, the
    formula inputs and results, and ``fleet_names``, the inputs the fleet stage read (recorded
    while it ran).
    """
    site_capacity_mw = site_capacity(ds, values["site_capacity_position"])  # once, used three times
    log = _ReadLog(values)
    fleet_out = simulate_fleet(log, ds, site_capacity_mw)
    inputs = formula_inputs_for(values, fleet_out, ds, site_capacity_mw)
    results = evaluate_formulas(inputs, engine=engine)
    data = _result_data(values, fleet_out, site_capacity_mw, inputs, results)
    data.update(energy_stage.energy_variables(values, ds, inputs, results))  # energy stage, after the formulas
    out = _dataset(data, ds)
    stage = {"fleet_out": fleet_out, "site_capacity": site_capacity_mw, "inputs": inputs, "results": results,
             "fleet_names": frozenset(log.read | {"site_capacity_position"})}
    stage["fleet_sizes"] = {name: int(np.size(values[name])) for name in stage["fleet_names"] if name in values}
    return out, stage


def _result_variable(name, da):
    """A result variable: dim coords only, canonical dim order, units and long_name."""
    extra = [c for c in da.coords if c not in da.dims]
    if extra:
        da = da.drop_vars(extra)
    order = [d for d in _DIM_ORDER if d in da.dims]
    if list(da.dims) != order + [d for d in da.dims if d not in order]:
        da = _order(da)
    attrs = dict(da.attrs)
    if name in OUTPUT_ATTRS:
        attrs["units"], attrs["long_name"] = OUTPUT_ATTRS[name]
    return da.assign_attrs(attrs)


def _result_var(name, da):
    """``_result_variable(name, da).variable``, from the Variable alone (no DataArray copies; tested equal).
    ``da`` may be a Variable (the energy stage's, :func:`energy_stage.energy_variables`)."""
    var = _canonical_var(da if isinstance(da, xr.Variable) else da.variable)
    attrs = dict(var.attrs)
    if name in OUTPUT_ATTRS:
        attrs["units"], attrs["long_name"] = OUTPUT_ATTRS[name]
    return xr.Variable(var.dims, var.data, attrs)


def _check_run_arguments(scenario, draws, engine, seed=0):
    if engine not in ("numexpr", "numpy"):
        raise ValueError(f"engine must be 'numexpr' or 'numpy', not {engine!r}")
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 1:
        raise ValueError(f"draws must be an integer >= 1, not {draws!r}")
    scenario = Scenario.default() if scenario is None else scenario
    if not isinstance(scenario, Scenario):
        raise TypeError(f"scenario must be a chipsuite.Scenario, not {type(scenario).__name__}")
    check_seed(seed)  # a non-negative integer (ScenarioError otherwise): 1.9 would be recorded as 1
    return scenario


def _run_attrs(scenario, draws, seed, engine):
    from .. import __version__

    return {
        "title": "chipsuite scenario model run",
        "chipsuite_version": __version__,
        "scenario": scenario.to_json(),
        "engine": engine,
        "draws": int(draws),
        "seed": int(seed),
    }


def _same_input(a, b):
    """Inputs ``a`` and ``b`` hold the same dims, coords and values (NaN equal to NaN)."""
    if a is b:
        return True
    if not isinstance(a, xr.DataArray) or not isinstance(b, xr.DataArray):
        return (not isinstance(a, xr.DataArray) and not isinstance(b, xr.DataArray)
                and np.array_equal(a, b, equal_nan=True))
    if a.dims != b.dims or a.shape != b.shape:
        return False
    ca, cb = a.coords.variables, b.coords.variables  # Variables: no DataArray per coordinate
    ia, ib = a.xindexes, b.xindexes  # one index object shared (the inputs' dim coords are cached): equal labels
    if not all(ca[d] is cb[d] or (d in ia and ia[d] is ib.get(d)) or np.array_equal(ca[d].values, cb[d].values)
               for d in a.dims if d in ca and d in cb):
        return False
    return np.array_equal(a.values, b.values, equal_nan=True)


def _same_dataset(a, b):
    """``a`` and ``b`` hold the same data: equal content keys of :func:`chipsuite.load_dataset` (a hash
    of the tables they were built from), else ``a.identical(b)``."""
    key_a, key_b = a.attrs.get("content_key"), b.attrs.get("content_key")
    if key_a is not None and key_b is not None:
        return key_a == key_b
    return a.identical(b)


def _read_only(obj):
    """Mark the numpy arrays behind DataArrays (dict values, or a Dataset's variables) read-only."""
    items = obj.variables.values() if isinstance(obj, xr.Dataset) else (
        v.variable for v in obj.values() if isinstance(v, xr.DataArray))
    for var in items:
        if isinstance(var.data, np.ndarray):
            var.data.flags.writeable = False
    return obj


def _cheapest_first(stage):
    """The fleet stage's inputs (``stage["fleet_names"]``), the smallest first, so that a changed parameter
    is found before the larger arrays are compared (the order is kept with the stage)."""
    order = stage.get("fleet_order")
    if order is None:
        values = stage.get("fleet_sizes", {})
        order = stage["fleet_order"] = sorted(stage["fleet_names"], key=lambda n: (values.get(n, 0), n))
    return order


class ModelCache:
    """:func:`run` for a sequence of scenarios, recomputing only what a change of inputs touches.

    ``cache.run(scenario, draws, seed)`` equals ``chipsuite.run(scenario, draws, seed)`` (tested
    bit for bit against it). Between calls with the same dataset content, draws, seed and engine
    it keeps:

    1. the dataset part of :func:`uncertain_inputs` and every sampled input: an input is sampled
       anew only if its (low, base, high) changed (each input has its own random stream,
       :func:`chipsuite.uncertainty.stream_rng`, so this equals sampling all of them);
    2. the fleet stage (cadence, procurement, stock-flow, :func:`simulate_fleet`), if every input
       it read in the previous run -- recorded while it ran, not listed by hand -- is unchanged;
    3. every formula of the registry that does not depend on a changed input
       (:func:`chipsuite.formulas.dependents`), and the result Dataset's other variables.

    So a change of a parameter that only the formulas read (utilisation, PUE, prices, electricity,
    carbon and supply mix, bargaining, capex ratios) re-samples that parameter and re-evaluates the
    formulas downstream of it; anything else runs the fleet stage and all formulas again.

    Results share arrays with the cache and with each other, so those arrays are read-only:
    writing into a result (``r["capex_usd"][0] = 0``) raises ``ValueError`` instead of corrupting
    the next result; use ``r.copy(deep=True)`` for a writeable copy. ``last_path`` is ``"fast"``
    (fleet stage reused) or ``"full"``.
    """

    def __init__(self):
        self._key = None
        self._ds = None
        self._dataset_spec = None
        self._samples = {}  # name -> (low, base, high) values, sampled DataArray
        self._stage = None
        self._values = None
        self._out = None
        self.last_path = None

    def clear(self):
        """Forget everything (the next call runs the whole model)."""
        self.__init__()

    def _model_inputs(self, scenario, ds, draws, seed):
        """:func:`model_inputs`, with unchanged inputs' samples reused."""
        from ..sampling import sample_inputs

        if draws == 1:  # as base_inputs, from the cached dataset part of the spec
            return base_inputs_with_draw(scenario, self._dataset_spec)
        spec = {**self._dataset_spec, **parameter_spec(scenario)}
        triples = {name: tuple(np.asarray(t.values) for t in triple) for name, triple in spec.items()}
        stale = [name for name in spec if name not in self._samples or not all(
            np.array_equal(a, b, equal_nan=True) for a, b in zip(triples[name], self._samples[name][0]))]
        if stale:
            fresh = sample_inputs({name: spec[name] for name in stale}, draws, seed, include_base=True,
                                  method="pert")
            for name in stale:
                self._samples[name] = (triples[name], _read_only({name: fresh[name]})[name])
        for name in [n for n in self._samples if n not in spec]:  # no longer uncertain
            del self._samples[name]
        sampled = {name: self._samples[name][1] for name in spec}
        return complete_inputs(scenario, sampled, np.arange(draws))

    def run(self, scenario=None, draws=1, seed=0, engine="numexpr"):
        """The model result of ``scenario`` (as :func:`run` in memory; see the class docstring)."""
        from ..data import content_key, load_dataset

        scenario = _check_run_arguments(scenario, draws, engine, seed)
        key = (int(draws), int(seed), engine)
        # the data folder unchanged since the kept dataset was loaded (its content key, one stat per file):
        # no copy of the dataset is made only to be compared
        if self._key != key or self._ds is None or self._ds.attrs.get("content_key") != str(content_key()):
            ds = load_dataset()
            if self._key != key or self._ds is None or not _same_dataset(ds, self._ds):
                self.clear()
                self._key, self._ds = key, ds
                self._dataset_spec = dataset_spec(ds)
                for triple in self._dataset_spec.values():
                    for da in triple:
                        da.attrs = {}
        values = self._model_inputs(scenario, self._ds, int(draws), int(seed))
        stage = self._stage
        if stage is not None and all(name in values and _same_input(values[name], self._values[name])
                                     for name in _cheapest_first(stage)):
            out = self._fast(values, engine)
            self.last_path = "fast"
        else:
            out, stage = _evaluate(values, self._ds, engine)
            _read_only(stage["results"])
            self._stage, self._values = stage, values
            self.last_path = "full"
        self._out = _read_only(out)
        out = out.copy(deep=False)
        out.attrs = _run_attrs(scenario, draws, seed, engine)
        return out

    def _fast(self, values, engine):
        """Re-evaluate the formulas that depend on changed inputs; update the previous Dataset."""
        stage = self._stage
        inputs = formula_inputs_for(values, stage["fleet_out"], self._ds, stage["site_capacity"])
        changed = {name for name, v in inputs.items() if not _same_input(v, stage["inputs"][name])}
        results = _read_only(evaluate_formulas(inputs, engine=engine, previous=stage["results"], changed=changed))
        update = {name: results[name] for name in results if results[name] is not stage["results"][name]}
        update.update({name: values[name] for name in _RESULT_INPUTS
                       if not _same_input(values[name], self._values[name])})
        update.update({name: inputs[name] for name in _RESULT_FORMULA_INPUTS if name in changed})
        if "unit_price_usd" in update or "system_share_usd" in update:
            update["system_cost_usd"] = _system_cost(values)
        if update.keys() & _SUPPLIER_SOURCES:
            update.update(supplier_view(results, stage["fleet_out"]))
        update.update(energy_stage.energy_variables(values, self._ds, inputs, results))
        variables = {name: self._out.variables[name] for name in self._out.data_vars}
        variables.update({name: _result_var(name, da) for name, da in update.items()})
        coords, indexes = dict(self._out.coords.variables), dict(self._out.xindexes)  # none rebuilt, no alignment
        out = _dataset_direct(variables, coords, indexes)
        if out is None:
            out = xr.Dataset(variables, coords=xr.Coordinates(coords, indexes=indexes))
        stage["inputs"], stage["results"] = inputs, results
        self._values = {**self._values, **{name: values[name] for name in _RESULT_INPUTS}}
        return out


def run_in_memory(scenario: Scenario | None = None, draws: int = 1, seed: int = 0, engine: str = "numexpr"):
    """:func:`chipsuite.model.run` without chunks: the whole result in memory."""
    from ..data import load_dataset

    scenario = _check_run_arguments(scenario, draws, engine, seed)
    ds = load_dataset()
    out = evaluate_model(model_inputs(scenario, ds, draws, seed), ds, engine=engine)
    out.attrs = _run_attrs(scenario, draws, seed, engine)
    return out


def annual(da, how="sum"):
    """Calendar-year totals (``how="sum"``) or year-end values (``how="last"``) over ``quarter``.

    As ``da.groupby(year).sum()`` / ``.last()`` (NaN skipped, as xarray does); for the usual layout
    (``quarter`` the last dim, whole calendar years, numpy data) computed with a reshape instead of
    xarray's groupby (tested equal), since the explorers call it on every change.
    """
    fast = _annual_fast(da, how)
    if fast is not None:
        return fast
    years = da.quarter.dt.year
    grouped = da.groupby(years.rename("year"))
    return grouped.sum() if how == "sum" else grouped.last()


def _annual_fast(da, how):
    """:func:`annual` by reshaping ``(..., quarter)`` to ``(..., year, 4)``; None if the layout differs."""
    if how not in ("sum", "last") or not da.dims or da.dims[-1] != "quarter" or "quarter" not in da.coords:
        return None
    data = da.variable.data
    if not isinstance(data, np.ndarray) or data.dtype.kind != "f" or data.shape[-1] % 4:
        return None
    quarters = np.asarray(da.coords.variables["quarter"].values)
    if quarters.dtype.kind != "M":
        return None
    months = quarters.astype("datetime64[M]").astype(np.int64)
    if np.any(np.diff(months) != 3) or months[0] % 12 != 0:  # consecutive quarters from a Q1
        return None
    blocks = data.reshape(data.shape[:-1] + (data.shape[-1] // 4, 4))
    if how == "sum":
        values = np.nansum(blocks, axis=-1)
    elif np.isnan(blocks[..., -1]).any():  # last skips NaN: leave such data to xarray
        return None
    else:
        values = blocks[..., -1].copy()
    years = (months[::4] // 12 + 1970).astype(np.int64)
    coords = {c: v.copy(deep=False) for c, v in da.coords.variables.items() if "quarter" not in v.dims}
    year = xr.Coordinates({"year": years})
    coords["year"] = year.variables["year"]
    indexes = {k: v for k, v in da.xindexes.items() if k in coords}
    indexes.update(year.xindexes)
    variable = xr.Variable(da.dims[:-1] + ("year",), values, dict(da.attrs))
    return xr.DataArray(variable, coords=coords, name=da.name, indexes=indexes, fastpath=True)
