"""The scenario model: ``run(scenario) -> xarray.Dataset``.

Steps (see ``docs/model.md`` for the equations):

1. inputs: dataset values and scenario parameters, at their base values (``draws=1``) or sampled
   (``draws > 1``, :func:`chipsuite.uncertainty.sample_inputs` over :func:`uncertain_inputs`);
2. cadence and procurement (:mod:`chipsuite.fleet`): MTIA availability by generation and quarter,
   demand split between MTIA and the newest Nvidia generation;
3. stock-flow: installed units and H100e from deliveries and a service life;
4. the formula registry (:mod:`chipsuite.formulas`, numexpr or numpy): power, placement by site,
   energy, costs, emissions, Nvidia dependence.

Everything is vectorised over ``draw``; arrays are at most 3-D per draw
(``draw x generation x quarter``, ``draw x site x quarter``, ``draw x workload x quarter``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

from . import fleet
from .formulas import evaluate_formulas
from .quarters import HOURS_PER_QUARTER, parse_quarter, quarters_between
from .scenario import PARAMETERS, Scenario

__all__ = ["run", "uncertain_inputs", "base_inputs", "model_inputs", "evaluate_model", "fleet_generations",
           "reconciliation", "OUTPUT_ATTRS", "ModelCache"]

QUARTERS_PER_YEAR = 4.0  # unit conversion [quarters/year]
DEMAND_YEARS = (2022, 2023, 2024, 2025, 2026)
#: first quarter whose rest_of_fleet capacity additions may be leased (``rest_of_fleet_leased_share``)
LEASE_START_QUARTER = "2026Q1"

# non-formula outputs: name -> (units, long_name)
OUTPUT_ATTRS = {
    "units_delivered": ("units", "accelerators delivered"),
    "units_installed": ("units", "accelerators installed"),
    "units_retired": ("units", "accelerators retired"),
    "units_installed_start": ("units", "accelerators installed just before the first quarter"),
    "h100e": ("H100e", "installed capability (H100-equivalents)"),
    "h100e_delivered": ("H100e", "capability delivered"),
    "demand_h100e": ("H100e", "new accelerator purchases demanded (H100-equivalents per quarter)"),
    "mtia_purchases_h100e": ("H100e", "new purchases placed on MTIA (H100-equivalents per quarter)"),
    "mtia_share_purchases_h100e": ("1", "MTIA share of new purchases (H100e)"),
    "mtia_availability": ("1", "MTIA availability by workload (ramped generations in volume)"),
    "mtia_volume_start_index": ("quarters", "quarter index (2022Q1 = 0) of volume start per MTIA generation"),
    "all_nvidia_units": ("units", "Nvidia units an all-Nvidia fleet of equal capability would buy"),
    "nvidia_newest_price_usd": ("USD", "list price of the Nvidia generation bought in the quarter"),
    "facility_capacity_additions_mw": ("MW", "owned facility capacity whose construction is paid in the quarter"),
    "nre_usd": ("USD", "MTIA design and validation cost (NRE)"),
    "site_capacity_mw": ("MW", "site facility power capacity"),
    "pue": ("1", "power usage effectiveness"),
    "tdp_w": ("W", "thermal design power per accelerator"),
    "unit_price_usd": ("USD", "list price per accelerator"),
}


def fleet_generations(ds):
    """Generations modelled: in Meta's fleet and able to serve at least one workload class.

    (MTIA v1/v2 are recommendation-inference chips outside the four workload classes.)
    """
    keep = ds.in_meta_fleet.values & ds.eligible.any("workload").values
    return [str(g) for g in ds.generation.values[keep]]


def _quarter_index(ds, when):
    return float(quarters_between(ds.quarter.values[0], when))


def uncertain_inputs(scenario: Scenario, ds):
    """Inputs with a range: ``{name: (low, base, high)}`` of DataArrays (0-d for parameters).

    Dataset values with a ``bound`` dim (restricted to the modelled generations; H100e factors
    of non-eligible pairs set to 1, they are masked out) and every scenario parameter whose
    assumptions.csv range is not a single value (:meth:`Scenario.sampling_range`). Site capacity
    is sampled through one position per site, ``site_capacity_position`` in [0, 1] (0 = low,
    0.5 = base, 1 = high path, linear in between), so each sampled path stays a plausible
    build-out instead of independent noise per quarter.
    """
    spec = {**_dataset_spec(ds), **_parameter_spec(scenario)}
    for name, triple in spec.items():
        for da in triple:
            da.attrs = {}
    return spec


def _dataset_spec(ds):
    """The dataset part of :func:`uncertain_inputs` (does not depend on the scenario)."""
    gens = fleet_generations(ds)
    spec = {}
    for name in ("tdp_w", "unit_price_usd", "h100e_factor"):
        da = ds[name].sel(generation=gens)
        if name == "h100e_factor":
            da = da.where(ds.eligible.sel(generation=gens), 1.0)
        spec[name] = tuple(da.sel(bound=b, drop=True) for b in ("low", "base", "high"))
    for name in ("pue", "electricity_price_usd_per_mwh", "carbon_intensity_gco2_per_kwh"):
        spec[name] = tuple(ds[name].sel(bound=b, drop=True) for b in ("low", "base", "high"))
    site = ds.site
    spec["site_capacity_position"] = (xr.zeros_like(site, dtype=float), xr.full_like(site, 0.5, dtype=float),
                                      xr.ones_like(site, dtype=float))
    return spec


def _parameter_spec(scenario):
    """The scenario part of :func:`uncertain_inputs`: parameters with a range, in ``PARAMETERS`` order."""
    spec = {}
    for name in PARAMETERS:
        low, value, high = scenario.sampling_range(name)
        if low < high:
            spec[name] = (xr.DataArray(low), xr.DataArray(value), xr.DataArray(high))
    return spec


def base_inputs(scenario: Scenario, ds):
    """Every input at its base value (DataArrays without a ``draw`` dim)."""
    spec = uncertain_inputs(scenario, ds)
    return _with_fixed_parameters(scenario, {name: triple[1] for name, triple in spec.items()})


def _with_fixed_parameters(scenario, values):
    """``values`` plus every scenario parameter it lacks, at the scenario's value (0-d DataArrays)."""
    values = dict(values)
    for name in PARAMETERS:
        values.setdefault(name, xr.DataArray(getattr(scenario, name)))
    return values


def _site_capacity(ds, position):
    """Site capacity [MW] (draw, site, quarter) from per-site positions in [0, 1]."""
    cap = ds.site_capacity_mw
    low, base, high = (cap.sel(bound=b, drop=True) for b in ("low", "base", "high"))
    lower = low + (base - low) * np.clip(2 * position, 0, 1)
    upper = base + (high - base) * np.clip(2 * position - 1, 0, 1)
    out = xr.where(position <= 0.5, lower, upper)
    return out.transpose("draw", "site", "quarter")


def _with_draw(values, draws):
    out = {}
    for name, da in values.items():
        if "draw" not in da.dims:
            da = da.expand_dims(draw=draws)
        out[name] = da
    return out


def _sampled_inputs(scenario, ds, draws, seed, **sampling):
    spec = uncertain_inputs(scenario, ds)
    try:
        from .uncertainty import sample_inputs
    except ImportError as err:  # pragma: no cover - depends on the uncertainty module
        raise NotImplementedError(f"run(draws > 1) needs chipsuite.uncertainty.sample_inputs ({err})") from None
    sampling = {"method": "pert", **sampling}
    return dict(sample_inputs(spec, draws, seed, include_base=True, **sampling))


def _p(values, name):
    """Parameter as a (D,) numpy array."""
    return values[name].transpose("draw", ...).values.reshape(-1)


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

    def __iter__(self):
        return iter(self._values)

    def __len__(self):
        return len(self._values)


def simulate_fleet(values, ds, site_capacity=None):
    """Cadence, procurement and stock-flow (numpy, vectorised over draws).

    ``values``: inputs with a leading ``draw`` dim; ``site_capacity``: :func:`_site_capacity` of
    ``values`` if already computed. Returns ``{name: DataArray}``.
    """
    gens = fleet_generations(ds)
    gsel = ds.sel(generation=gens)
    quarters = ds.quarter.values
    nq = quarters.size
    t = np.arange(nq, dtype=float)
    draws = values["site_capacity_position"].draw.values
    nd = draws.size
    workloads = [str(w) for w in ds.workload.values]
    vendor = gsel.vendor.values.astype(str)
    is_mtia = vendor == "meta"
    is_nvidia = vendor == "nvidia"
    mtia_gens = [g for g, m in zip(gens, is_mtia) if m]
    nv_gens = [g for g, n in zip(gens, is_nvidia) if n]
    eligible = gsel.eligible.transpose("generation", "workload").values.astype(bool)
    first_volume = np.array([_quarter_index(ds, v) for v in gsel.first_volume_quarter.values])

    factor = values["h100e_factor"].transpose("draw", "generation", "workload").values  # (D, G, W)
    price = values["unit_price_usd"].transpose("draw", "generation").values  # (D, G)
    p = _Parameters(values)  # converted when read, so a _ReadLog sees only what this stage uses

    # --- demand [H100e per quarter] (D, W, Q)
    years = np.array([int(str(q)[:4]) for q in quarters])
    quarter_of_year = np.asarray(quarters, "datetime64[M]").astype(np.int64) % 12 // 3  # 0 = Q1
    calendar = np.arange(years.min(), years.max() + 1)
    annual = np.empty((nd, calendar.size))  # [H100e per year]
    for i, y in enumerate(calendar):
        if y in DEMAND_YEARS:
            annual[:, i] = p[f"demand_{y}_h100e"]
        else:
            annual[:, i] = p["demand_2026_h100e"] * (1 + p["demand_growth_after_2026"]) ** (y - DEMAND_YEARS[-1])
    # within-year geometric path: each year's quarters sum to its annual demand
    quarterly = fleet.within_year_profile(annual)[:, years - calendar[0], quarter_of_year]  # (D, Q)
    weights = np.stack([p[f"demand_weight_{w}"] for w in workloads], axis=1)  # (D, W)
    demand_share = weights / weights.sum(axis=1, keepdims=True)
    demand = quarterly[:, None, :] * demand_share[:, :, None]

    # --- MTIA cadence and availability
    k_idx = np.arange(len(mtia_gens), dtype=float)
    release = fleet.mtia_release_quarter(k_idx[None, :], p["mtia_first_release_quarter_index"][:, None],
                                         p["mtia_cadence"][:, None], p["mtia_slip_per_generation"][:, None])
    start = release + p["mtia_validation_lag"][:, None]  # (D, K)
    ramps = fleet.production_ramp(t[None, None, :], start[:, :, None], p["mtia_ramp"][:, None, None])
    mtia_pos = [gens.index(g) for g in mtia_gens]
    nv_pos = [gens.index(g) for g in nv_gens]
    w_k = fleet.newest_first_weights(ramps, eligible[mtia_pos])  # (D, K, W, Q)
    availability = w_k.sum(axis=1)
    targets = np.stack([p.get(f"mtia_share_target_{w}", np.zeros(nd)) for w in workloads], axis=1)
    nre = p["mtia_nre_per_generation"][:, None] * fleet.spend_profile(
        t[None, None, :], release[:, :, None], p["mtia_design_quarters"][:, None, None]).sum(axis=1)

    # --- newest Nvidia generation per quarter
    newest = fleet.newest_generation_mask(first_volume[nv_pos], nq)  # (Gn, Q)
    nv_factor = np.einsum("dgw,gq->dwq", factor[:, nv_pos, :], newest.astype(float))
    nv_price = np.einsum("dg,gq->dq", price[:, nv_pos], newest.astype(float))
    mtia_factor = factor[:, mtia_pos, :]

    supply_cap = p["mtia_supply_cap_units"][:, None] * (1.0 - np.prod(1.0 - ramps, axis=1))
    nv_min = np.where(t[None, :] >= p["nvidia_deal_start_quarter_index"][:, None],
                      p["nvidia_min_units_per_quarter"][:, None], 0.0)
    split = fleet.split_purchases(demand, targets, w_k, mtia_factor, nv_factor, supply_cap, nv_min, demand_share)

    # --- deliveries by generation (D, G, Q)
    delivered = np.zeros((nd, len(gens), nq))
    delivered_h100e = np.zeros((nd, len(gens), nq))
    delivered[:, mtia_pos, :] = split["mtia_units"]
    delivered_h100e[:, mtia_pos, :] = split["mtia_h100e"].sum(axis=2)
    delivered[:, nv_pos, :] = split["nvidia_units"][:, None, :] * newest[None]
    delivered_h100e[:, nv_pos, :] = split["nvidia_h100e"].sum(axis=1)[:, None, :] * newest[None]
    purchases = demand.sum(axis=1) + 0.0  # incl. surplus below
    total_h100e = delivered_h100e.sum(axis=1)
    mtia_share_purchases = fleet.safe_divide(split["mtia_h100e"].sum(axis=(1, 2)), total_h100e)
    all_nvidia_units = (fleet.safe_divide(split["mtia_h100e"].sum(axis=1), nv_factor).sum(axis=1)
                        + split["nvidia_units"])
    del purchases

    # --- stock-flow: initial A100-class base bought evenly since the A100's volume start
    a100 = gens.index("a100") if "a100" in gens else int(np.argmin(first_volume))
    initial_quarters = max(int(round(-first_volume[a100])), 1)
    initial = np.zeros((nd, len(gens)))
    initial[:, a100] = p["initial_a100_units"]
    life_q = p["useful_life"] * QUARTERS_PER_YEAR
    installed, retired = fleet.stock_flow(delivered, initial, initial_quarters, life_q[:, None])
    # capability: the initial base at its workload-weighted factor
    a100_factor = (factor[:, a100, :] * demand_share * eligible[a100]).sum(axis=1) / \
        (demand_share * eligible[a100]).sum(axis=1)
    initial_h100e = initial * a100_factor[:, None]
    h100e, _ = fleet.stock_flow(delivered_h100e, initial_h100e, initial_quarters, life_q[:, None])
    start_units = installed[..., 0] - delivered[..., 0] + retired[..., 0]

    # --- facility capex timing: owned capacity additions paid ``facility_capex_lead`` quarters early;
    # the leased share of rest_of_fleet additions is built by the lessor (no Meta facility capex)
    if site_capacity is None:
        site_capacity = _site_capacity(ds, values["site_capacity_position"])
    capacity = site_capacity.transpose("draw", "site", "quarter")
    owned = fleet.owned_capacity_mw(capacity.values, capacity.site.values == "rest_of_fleet",
                                    p["rest_of_fleet_leased_share"][:, None],
                                    int(_quarter_index(ds, parse_quarter(LEASE_START_QUARTER))) - 1)
    additions = fleet.construction_spend_mw(owned, p["facility_capex_lead"][:, None]).sum(axis=1)

    coords_g = {"draw": draws, "generation": gens, "quarter": ds.quarter}
    coords_q = {"draw": draws, "quarter": ds.quarter}
    coords_w = {"draw": draws, "workload": workloads, "quarter": ds.quarter}
    dgq = ("draw", "generation", "quarter")
    dq = ("draw", "quarter")
    dwq = ("draw", "workload", "quarter")
    out = {
        "units_delivered": xr.DataArray(delivered, coords_g, dgq),
        "units_installed": xr.DataArray(installed, coords_g, dgq),
        "units_retired": xr.DataArray(retired, coords_g, dgq),
        "units_installed_start": xr.DataArray(start_units, {"draw": draws, "generation": gens},
                                              ("draw", "generation")),
        "h100e": xr.DataArray(h100e, coords_g, dgq),
        "h100e_delivered": xr.DataArray(delivered_h100e, coords_g, dgq),
        "demand_h100e": xr.DataArray(demand, coords_w, dwq),
        "mtia_purchases_h100e": xr.DataArray(split["mtia_h100e"].sum(axis=1), coords_w, dwq),
        "mtia_availability": xr.DataArray(availability, coords_w, dwq),
        "mtia_volume_start_index": xr.DataArray(start, {"draw": draws, "mtia_generation": mtia_gens},
                                                ("draw", "mtia_generation")),
        "mtia_share_purchases_h100e": xr.DataArray(mtia_share_purchases, coords_q, dq),
        "all_nvidia_units": xr.DataArray(all_nvidia_units, coords_q, dq),
        "nvidia_newest_price_usd": xr.DataArray(nv_price, coords_q, dq),
        "facility_capacity_additions_mw": xr.DataArray(additions, coords_q, dq),
        "nre_usd": xr.DataArray(nre, coords_q, dq),
        "is_mtia": xr.DataArray(is_mtia.astype(float), {"generation": gens}, ("generation",)),
        "is_nvidia": xr.DataArray(is_nvidia.astype(float), {"generation": gens}, ("generation",)),
    }
    return out


def formula_inputs_for(values, fleet_out, ds, site_capacity=None):
    """Assemble the inputs of :func:`chipsuite.formulas.evaluate_formulas` (``site_capacity``:
    :func:`_site_capacity` of ``values`` if already computed)."""
    years = np.array([int(str(q)[:4]) for q in ds.quarter.values], dtype=float)
    inputs = {
        "units_installed": fleet_out["units_installed"],
        "units_delivered": fleet_out["units_delivered"],
        "h100e": fleet_out["h100e"],
        "is_mtia": fleet_out["is_mtia"],
        "is_nvidia": fleet_out["is_nvidia"],
        "mtia_share_purchases_h100e": fleet_out["mtia_share_purchases_h100e"],
        "all_nvidia_units": fleet_out["all_nvidia_units"],
        "nvidia_newest_price_usd": fleet_out["nvidia_newest_price_usd"],
        "facility_capacity_additions_mw": fleet_out["facility_capacity_additions_mw"],
        "nre_usd": fleet_out["nre_usd"],
        "site_capacity_mw": (_site_capacity(ds, values["site_capacity_position"]) if site_capacity is None
                             else site_capacity),
        "non_ai_year_weight": xr.DataArray(np.clip((years - DEMAND_YEARS[0]) / (DEMAND_YEARS[-1] - DEMAND_YEARS[0]),
                                                   0.0, 1.0), {"quarter": ds.quarter}, ("quarter",)),
        "quarters_per_year": QUARTERS_PER_YEAR,
        "hours_per_quarter": HOURS_PER_QUARTER,
        "useful_life_quarters": values["useful_life"] * QUARTERS_PER_YEAR,
        "facility_life_quarters": values["facility_life"] * QUARTERS_PER_YEAR,
    }
    for name in ("tdp_w", "unit_price_usd", "pue", "electricity_price_usd_per_mwh",
                 "carbon_intensity_gco2_per_kwh"):
        inputs[name] = values[name]
    for name in ("utilisation", "server_power_overhead", "supply_share_gas", "supply_share_nuclear",
                 "gas_carbon_intensity", "nuclear_carbon_intensity", "nvidia_price_multiplier",
                 "bargaining_elasticity", "bargaining_cap", "server_network_capex_ratio",
                 "facility_capex_per_mw", "non_ai_capex_2022", "non_ai_capex_2026"):
        inputs[name] = values[name]
    return inputs


_DIM_ORDER = ("draw", "generation", "site", "workload", "mtia_generation", "quarter")


def _order(da):
    return da.transpose(*[d for d in _DIM_ORDER if d in da.dims], ...)


def model_inputs(scenario: Scenario, ds, draws=1, seed=0, **sampling):
    """Every input of the model with a leading ``draw`` dim: base values (``draws=1``) or sampled.

    ``sampling``: options of :func:`chipsuite.uncertainty.sample_inputs` (``method``,
    ``correlations``, ``within``, ``draw_range=(start, stop)`` for one chunk of the ensemble).

    Sampled gas and nuclear supply shares that add up to more than 1 are scaled down
    proportionally to sum to 1 (no grid electricity), so the supply mix stays a mix.
    """
    if draws == 1:
        return _with_draw(base_inputs(scenario, ds), [0])
    start, stop = sampling.get("draw_range") or (0, int(draws))
    return _complete_inputs(scenario, _sampled_inputs(scenario, ds, int(draws), seed, **sampling),
                            np.arange(start, stop))


def _complete_inputs(scenario, sampled, draw_coords):
    """Sampled inputs + fixed parameters, all with a ``draw`` dim; supply shares above 1 scaled down."""
    values = _with_draw(_with_fixed_parameters(scenario, sampled), draw_coords)
    gas, nuclear = values["supply_share_gas"], values["supply_share_nuclear"]
    total = gas + nuclear
    scale = xr.where(total > 1, 1 / total.where(total > 1, 1), 1.0)
    values["supply_share_gas"] = (gas * scale).assign_attrs(gas.attrs)
    values["supply_share_nuclear"] = (nuclear * scale).assign_attrs(nuclear.attrs)
    return values


def evaluate_model(values, ds, engine="numexpr"):
    """The model on prepared inputs (see :func:`model_inputs`): fleet steps, then the formulas.

    Returns the result Dataset without run attrs. Tests and sensitivity studies may perturb
    ``values`` (e.g. scale ``pue``) before calling this.
    """
    return _evaluate(values, ds, engine)[0]


def _evaluate(values, ds, engine="numexpr"):
    """:func:`evaluate_model`, and what :class:`ModelCache` keeps of it.

    Returns ``(dataset, stage)``: ``stage`` holds the fleet results, the site capacity, the
    formula inputs and results, and ``fleet_names``, the inputs the fleet stage read (recorded
    while it ran).
    """
    site_capacity = _site_capacity(ds, values["site_capacity_position"])  # once, used three times
    log = _ReadLog(values)
    fleet_out = simulate_fleet(log, ds, site_capacity)
    inputs = formula_inputs_for(values, fleet_out, ds, site_capacity)
    results = evaluate_formulas(inputs, engine=engine)
    data = {name: da for name, da in fleet_out.items() if name not in ("is_mtia", "is_nvidia")}
    data["site_capacity_mw"] = site_capacity
    for name in _RESULT_INPUTS:
        data[name] = values[name]
    data.update(results)
    out = xr.Dataset({name: _result_variable(name, da) for name, da in data.items()})  # one merge, not ~70
    out = out.assign_coords(quarter_label=("quarter", ds.quarter_label.values))
    out = out.assign_coords(vendor=("generation", ds.vendor.sel(generation=out.generation.values).values))
    stage = {"fleet_out": fleet_out, "site_capacity": site_capacity, "inputs": inputs, "results": results,
             "fleet_names": frozenset(log.read | {"site_capacity_position"})}
    return out, stage


#: model inputs stored in the result as they are
_RESULT_INPUTS = ("tdp_w", "unit_price_usd", "pue")


def _result_variable(name, da):
    """A result variable: dim coords only, canonical dim order, units and long_name."""
    da = _order(da.drop_vars([c for c in da.coords if c not in da.dims], errors="ignore"))
    attrs = dict(da.attrs)
    if name in OUTPUT_ATTRS:
        attrs["units"], attrs["long_name"] = OUTPUT_ATTRS[name]
    return da.assign_attrs(attrs)


def _check_run_arguments(scenario, draws, engine):
    if engine not in ("numexpr", "numpy"):
        raise ValueError(f"engine must be 'numexpr' or 'numpy', not {engine!r}")
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 1:
        raise ValueError(f"draws must be an integer >= 1, not {draws!r}")
    scenario = Scenario.default() if scenario is None else scenario
    if not isinstance(scenario, Scenario):
        raise TypeError(f"scenario must be a chipsuite.Scenario, not {type(scenario).__name__}")
    return scenario


def _run_attrs(scenario, draws, seed, engine):
    import chipsuite

    return {
        "title": "chipsuite scenario model run",
        "chipsuite_version": chipsuite.__version__,
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
    if not all(np.array_equal(a[d].values, b[d].values) for d in a.dims if d in a.coords and d in b.coords):
        return False
    return np.array_equal(a.values, b.values, equal_nan=True)


def _read_only(obj):
    """Mark the numpy arrays behind DataArrays (dict values, or a Dataset's variables) read-only."""
    items = obj.variables.values() if isinstance(obj, xr.Dataset) else (
        v.variable for v in obj.values() if isinstance(v, xr.DataArray))
    for var in items:
        if isinstance(var.data, np.ndarray):
            var.data.flags.writeable = False
    return obj


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
        from .uncertainty import sample_inputs

        spec = {**self._dataset_spec, **_parameter_spec(scenario)}
        if draws == 1:  # as base_inputs, from the cached dataset part of the spec
            return _with_draw(_with_fixed_parameters(scenario, {name: t[1] for name, t in spec.items()}), [0])
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
        return _complete_inputs(scenario, sampled, np.arange(draws))

    def run(self, scenario=None, draws=1, seed=0, engine="numexpr"):
        """The model result of ``scenario`` (as :func:`run` in memory; see the class docstring)."""
        from .data import load_dataset

        scenario = _check_run_arguments(scenario, draws, engine)
        ds = load_dataset()
        key = (int(draws), int(seed), engine)
        if self._key != key or self._ds is None or not ds.identical(self._ds):
            self.clear()
            self._key, self._ds = key, ds
            self._dataset_spec = _dataset_spec(ds)
            for triple in self._dataset_spec.values():
                for da in triple:
                    da.attrs = {}
        values = self._model_inputs(scenario, self._ds, int(draws), int(seed))
        stage = self._stage
        if stage is not None and all(name in values and _same_input(values[name], self._values[name])
                                     for name in stage["fleet_names"]):
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
        variables = {name: self._out.variables[name] for name in self._out.data_vars}
        variables.update({name: _result_variable(name, da).variable for name, da in update.items()})
        out = xr.Dataset(variables, coords=self._out.coords)
        stage["inputs"], stage["results"] = inputs, results
        self._values = {**self._values, **{name: values[name] for name in _RESULT_INPUTS}}
        return out


def run(scenario: Scenario | None = None, draws: int = 1, seed: int = 0, engine: str = "numexpr", chunks=None):
    """Run the scenario model.

    Parameters
    ----------
    scenario : Scenario, optional
        Parameters (default: :meth:`Scenario.default`).
    draws : int
        1 = the base case (every input at its base value); > 1 = Monte Carlo draws of every
        uncertain input (draw 0 is the base case).
    seed : int
        Seed of the sampler (stored in the result attrs).
    engine : {"numexpr", "numpy"}
        Engine of the element-wise formulas; both run the same formula registry.
    chunks : None, int or {"draw": n}
        None: compute in memory. ``{"draw": n}``: a lazy, dask-backed Dataset with ``n`` draws
        per chunk, equal to the in-memory result (block-seeded sampling, see
        :mod:`chipsuite.ensemble`); reduce it (``chipsuite.quantiles``, sums) before computing
        large ensembles.

    Returns
    -------
    xarray.Dataset with dims among ``draw``, ``generation``, ``site``, ``workload``, ``quarter``;
    every variable has ``units`` and ``long_name``.
    """
    from .data import load_dataset

    if chunks is not None:
        from .ensemble import ensemble

        return ensemble(scenario, draws, seed, engine=engine, chunks=chunks)
    scenario = _check_run_arguments(scenario, draws, engine)
    ds = load_dataset()

    out = evaluate_model(model_inputs(scenario, ds, draws, seed), ds, engine=engine)
    out.attrs = _run_attrs(scenario, draws, seed, engine)
    return out


def annual(da, how="sum"):
    """Calendar-year totals (``how="sum"``) or year-end values (``how="last"``) over ``quarter``."""
    years = da.quarter.dt.year
    grouped = da.groupby(years.rename("year"))
    return grouped.sum() if how == "sum" else grouped.last()


def reconciliation(result=None):
    """Base case against public figures: a small DataFrame (quantity, year, model, public, note)."""
    import pandas as pd

    from .data import load_dataset

    r = run() if result is None else result
    ds = load_dataset()
    r0 = r.isel(draw=0)
    capex = annual(r0.capex_usd)
    rows = []
    reported = ds.capex_annual_usd.sel(series="reported", bound="base")
    guided = ds.capex_annual_usd.sel(series="guidance_latest")
    for year in (2022, 2023, 2024, 2025, 2026):
        public = reported.sel(year=year).item() if year in reported.year and np.isfinite(
            reported.sel(year=year).item()) else np.nan
        note = "reported"
        if not np.isfinite(public) and year in guided.year:
            g = guided.sel(year=year)
            public = g.sel(bound="base").item()
            note = f"guided {g.sel(bound='low').item() / 1e9:.0f}-{g.sel(bound='high').item() / 1e9:.0f} USD bn"
        rows.append(("capex [USD bn]", year, capex.sel(year=year).item() / 1e9, public / 1e9, note))
    parts = {"accelerators": "fleet_accelerator_capex_usd", "servers+network": "server_network_capex_usd",
             "facilities": "facility_capex_usd", "non-AI": "non_ai_capex_usd"}
    for label, name in parts.items():
        for year in (2024, 2025, 2026):
            rows.append((f"capex part: {label} [USD bn]", year, annual(r0[name]).sel(year=year).item() / 1e9,
                         np.nan, ""))
    end = annual(r0.units_installed.sum("generation"), "last")
    nv_end = annual(r0.nvidia_units_installed, "last")
    rows.append(("accelerators installed, end of year [million]", 2025, end.sel(year=2025).item() / 1e6, 1.3,
                 "Zuckerberg (Jan 2025): >1.3 million GPUs by end-2025"))
    rows.append(("Nvidia GPUs installed, end of year [million]", 2025, nv_end.sel(year=2025).item() / 1e6, 1.3,
                 ""))
    h100e_end = annual(r0.h100e_total, "last")
    rows.append(("installed H100e, end of year [million]", 2024, h100e_end.sel(year=2024).item() / 1e6, 0.6,
                 "Meta (Jan 2024): 'almost 600,000 H100 equivalents' by end-2024"))
    fac = annual(r0.facility_power_mw.sum("site"), "last")
    cap = annual(r0.site_capacity_mw.sum("site"), "last")
    unplaced = annual(r0.unplaced_power_mw, "last")
    for year in (2025, 2026, 2027, 2030):
        rows.append(("facility power placed / capacity, end of year [MW]", year, fac.sel(year=year).item(),
                     cap.sel(year=year).item(), f"unplaced IT power {unplaced.sel(year=year).item():.0f} MW"))
    mtia = annual(r0.mtia_share_h100e, "last")
    mtia_p = annual(r0.mtia_share_purchases_h100e.where(r0.mtia_share_purchases_h100e >= 0), "last")
    for year in (2026, 2027, 2030):
        rows.append(("MTIA share of installed H100e, end of year", year, mtia.sel(year=year).item(), np.nan,
                     f"share of Q4 purchases {mtia_p.sel(year=year).item():.2f}"))
    energy = annual(r0.energy_mwh.sum("site"))
    rows.append(("electricity [TWh]", 2023, energy.sel(year=2023).item() / 1e6, 14.975,
                 "Meta 2023 data-centre electricity (all workloads, incl. non-AI)"))
    for year in (2025, 2030):
        rows.append(("electricity [TWh]", year, energy.sel(year=year).item() / 1e6, np.nan, ""))
    return pd.DataFrame(rows, columns=["quantity", "year", "model", "public", "note"])


if __name__ == "__main__":  # python -m chipsuite.model
    import pandas as pd

    with pd.option_context("display.width", 200, "display.max_colwidth", 70, "display.float_format", "{:.3f}".format):
        print(reconciliation().to_string(index=False))
