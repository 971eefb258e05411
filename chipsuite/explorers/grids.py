"""Model side of the explorers: scenario grids in one vectorised model call, and their tidy frames.

:func:`run_points` evaluates many variants of a scenario at once (the variants become the
model's ``draw`` dim); the ``*_frame`` functions reduce such runs to the small tidy DataFrames
that :mod:`chipsuite.charts` draws (cadence grid, break-even map, minimum volume, Nvidia price
grid, supply-mix grid, tornado, scenario diff, the 1.3-million-GPU money check). No GUI here.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pandas as pd

from .. import charts
from ..scenario import PARAMETERS, Scenario, ScenarioError

__all__ = [
    "MTIA_EFFICIENCY",
    "OUTPUTS",
    "run_points",
    "cadence_grid_frame",
    "breakeven_frame",
    "min_volume_frame",
    "nvidia_price_grid_frame",
    "delay_emissions_grid_frame", "DELAY_PARAMETERS",
    "tornado_frame",
    "scenario_diff_frame",
    "gpu_money_frame",
]

MTIA_EFFICIENCY = "mtia_efficiency"  # pseudo-parameter of run_points: multiplier on MTIA H100e factors [1]


#: the last grid frames: (function, arguments, data folder content) -> DataFrame (see :func:`_kept`)
_KEPT_FRAMES: dict = {}
_MAX_KEPT_FRAMES = 32


def _frozen(value):
    """``value`` with lists, tuples and sets as tuples (a key part), or raise TypeError if unhashable."""
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return ("set",) + tuple(sorted(_frozen(v) for v in value))
    hash(value)
    return value


def _kept(func):
    """Keep the frames of a grid function per arguments and content of the data folder.

    A grid is one vectorised model run over a scenario; an explorer asks for the same grid again when
    its view is switched back while the scenario is unchanged. The frame is kept per (arguments,
    content key of the data folder, whose files are read on every call as by ``load_tables``) for the
    last :data:`_MAX_KEPT_FRAMES` calls, and every call returns a copy. Arguments that cannot be
    hashed (after lists become tuples) are not kept. The content key is
    :func:`chipsuite.data.content_key` (one ``stat`` per file; the files are read again only after
    one of them changed), so an edited data file gives a new key.
    """

    @functools.wraps(func)
    def kept(*args, **kwargs):
        from ..data import content_key

        try:
            key = (func.__qualname__, _frozen(args), _frozen(sorted(kwargs.items())), content_key())
        except TypeError:
            return func(*args, **kwargs)
        if key not in _KEPT_FRAMES:
            if len(_KEPT_FRAMES) >= _MAX_KEPT_FRAMES:
                _KEPT_FRAMES.pop(next(iter(_KEPT_FRAMES)))
            _KEPT_FRAMES[key] = func(*args, **kwargs)
        return _KEPT_FRAMES[key].copy()

    kept.uncached = func
    return kept


_DATASET: list = []  # [(content key, dataset)]: the dataset of the data folder's current content


def _dataset():
    """:func:`chipsuite.load_dataset` of the data folder, kept while its content key
    (:func:`chipsuite.data.content_key`) is unchanged (shared, not copied: callers must not write to it)."""
    from ..data import content_key, load_dataset

    key = content_key()
    if not _DATASET or _DATASET[0][0] != key:
        ds = load_dataset()
        _DATASET[:] = [(content_key(), ds)]
    return _DATASET[0][1]


def run_points(scenario, points, engine="numexpr", max_bytes=None):
    """Evaluate many variants of ``scenario`` in one vectorised model call.

    Parameters
    ----------
    scenario : Scenario
        The base of every variant.
    points : list of dict
        Each dict overrides scenario parameters (validated like :meth:`Scenario.replace`);
        the key ``"mtia_efficiency"`` [1] additionally multiplies every MTIA H100e factor.
    engine : {"numexpr", "numpy"}
    max_bytes : float, optional
        Limit of the estimated peak memory [bytes] (default
        :data:`chipsuite.uncertainty.GRID_MAX_BYTES`); more points raise
        :class:`chipsuite.uncertainty.GridTooLargeError` with the estimate, before any model work.

    Returns
    -------
    xr.Dataset
        The model result with ``draw`` = point index (0, 1, ...): draw ``i`` is ``points[i]``
        with every other input at its base value.
    """
    import xarray as xr

    from ..model import evaluate_model
    from ..model.inputs import base_inputs, with_draw

    from ..uncertainty import GRID_MAX_BYTES, check_grid_memory

    points = list(points)
    if not points:
        raise ValueError("run_points: points must not be empty")
    check_grid_memory(len(points), GRID_MAX_BYTES if max_bytes is None else max_bytes, "run_points")
    points = [dict(p) for p in points]
    scenarios = []
    for i, p in enumerate(points):
        params = {k: v for k, v in p.items() if k != MTIA_EFFICIENCY}
        try:
            scenarios.append(scenario.replace(**params))
        except ScenarioError as err:
            raise ScenarioError(f"run_points: point {i} {p}: {err}") from None
    ds = _dataset()
    n = len(points)
    draws = np.arange(n)
    # every input at base, with the draw dim (as model_inputs(draws=1).isel(draw=0).expand_dims(draw), tested)
    values = with_draw(base_inputs(scenario, ds), draws)
    varied = sorted({k for p in points for k in p if k != MTIA_EFFICIENCY})
    for name in varied:
        values[name] = xr.DataArray(np.array([getattr(s, name) for s in scenarios], float), {"draw": draws}, ("draw",))
    if any(MTIA_EFFICIENCY in p for p in points):
        eff = np.array([float(p.get(MTIA_EFFICIENCY, 1.0)) for p in points])
        if not np.all(eff > 0):
            raise ValueError(f"run_points: {MTIA_EFFICIENCY} must be > 0, got {eff.min()}")
        factor = values["h100e_factor"]
        is_mtia = xr.DataArray(ds.vendor.sel(generation=factor.generation.values).values == "meta",
                               {"generation": factor.generation.values}, ("generation",))
        values["h100e_factor"] = factor * xr.where(is_mtia, xr.DataArray(eff, {"draw": draws}, ("draw",)), 1.0)
    return evaluate_model(values, ds, engine=engine)


def _quarter_value(da, quarter):
    """Value(s) of ``da`` at a quarter label such as ``"2027Q4"``."""
    labels = list(da.quarter_label.values) if "quarter_label" in da.coords else None
    if labels is None:
        raise ValueError("expected a model result with a quarter_label coordinate")
    return da.isel(quarter=labels.index(quarter))


def _year_mean(da, year):
    return da.sel(quarter=da.quarter.dt.year == year).mean("quarter")


@_kept
def cadence_grid_frame(scenario, cadences_months=(6, 12, 18), slips_quarters=(0.0, 0.25, 0.5, 1.0)):
    """MTIA share of installed H100e for a grid of cadences and slips (one model call).

    Columns ``quarter``, ``cadence_months`` [months], ``slip_quarters`` [quarters per
    generation], ``mtia_share`` [1]; quarters from 2025.
    """
    grid = list(itertools.product(cadences_months, slips_quarters))
    result = run_points(scenario, [{"mtia_cadence": c / 3.0, "mtia_slip_per_generation": s} for c, s in grid])
    share = result.mtia_share_h100e.values  # (draw, quarter)
    q = pd.to_datetime(result.quarter.values)
    frames = [pd.DataFrame({"quarter": q, "cadence_months": float(c), "slip_quarters": float(s),
                            "mtia_share": share[i]}) for i, (c, s) in enumerate(grid)]
    frame = pd.concat(frames, ignore_index=True)
    return frame[frame["quarter"] >= pd.Timestamp("2025-01-01")].reset_index(drop=True)


@_kept
def breakeven_frame(scenario, year=2028, efficiencies=(0.5, 0.75, 1.0, 1.25, 1.5, 2.0),
                    price_multipliers=(0.6, 0.8, 1.0, 1.2, 1.4, 1.6)):
    """Break-even map: total cost of ownership per H100e-hour with MTIA minus all-Nvidia.

    For each MTIA efficiency (multiplier on MTIA H100e factors [1]) and Nvidia price multiplier
    [1], the scenario is run as is and as an all-Nvidia fleet (every MTIA share target 0); the
    difference of ``cost_per_h100e_hour_usd`` (TCO: capital charge on system costs, electricity,
    leases and rented cloud capacity) averaged over ``year`` is returned (negative = building
    MTIA is cheaper). MTIA design cost (NRE) is not in this cost (it is expensed, not
    depreciated, in the model); the savings view counts it. One vectorised model call. Columns ``mtia_efficiency``,
    ``nvidia_price_multiplier``, ``cost_difference_usd_per_h100e_hour`` [USD/h],
    ``cost_mtia_usd_per_h100e_hour``, ``cost_all_nvidia_usd_per_h100e_hour`` [USD/h].
    """
    targets = [n for n in PARAMETERS if n.startswith("mtia_share_target_")]
    grid = list(itertools.product(efficiencies, price_multipliers))
    points = [{MTIA_EFFICIENCY: e, "nvidia_price_multiplier": p} for e, p in grid]
    points += [{"nvidia_price_multiplier": p, **{t: 0.0 for t in targets}} for p in price_multipliers]
    result = run_points(scenario, points)
    cost = _year_mean(result.cost_per_h100e_hour_usd, year).values
    n = len(grid)
    nvidia_only = dict(zip(price_multipliers, cost[n:]))
    rows = []
    for i, (e, p) in enumerate(grid):
        rows.append({"mtia_efficiency": float(e), "nvidia_price_multiplier": float(p),
                     "cost_mtia_usd_per_h100e_hour": float(cost[i]),
                     "cost_all_nvidia_usd_per_h100e_hour": float(nvidia_only[p]),
                     "cost_difference_usd_per_h100e_hour": float(cost[i] - nvidia_only[p])})
    return pd.DataFrame(rows)


@_kept
def min_volume_frame(scenario, deal_scales=(0.0, 0.5, 1.0, 2.0, 3.0, 4.0), quarter="2027Q4",
                     savings_years=(2026, 2030)):
    """Effect of the Nvidia deal's committed minimum (one vectorised model call over ``nvidia_deal_scale``).

    ``deal_scales`` [1]: multiples of the deal's committed minimum units (``data/deals.csv``; 0 =
    no floor). Columns ``deal_scale`` [1], ``measure`` and ``value``, with measures
    ``mtia_share`` (MTIA share of installed H100e in ``quarter`` [1]), ``net_savings_usd_bn``
    (savings against an all-Nvidia fleet summed over ``savings_years`` [USD bn]) and
    ``floor_units_thousand`` (Nvidia units bought only because the minimum binds,
    ``nvidia_floor_units`` summed over the horizon [thousand units]; 0 while the floor does not bind).
    """
    result = run_points(scenario, [{"nvidia_deal_scale": float(m)} for m in deal_scales])
    share = _quarter_value(result.mtia_share_h100e, quarter).values
    years = result.quarter.dt.year
    savings = result.savings_vs_all_nvidia_usd.sel(
        quarter=(years >= savings_years[0]) & (years <= savings_years[1])).sum("quarter").values / 1e9
    floor = result.nvidia_floor_units.sum("quarter").values / 1e3
    rows = []
    for i, m in enumerate(deal_scales):
        rows.append({"deal_scale": float(m), "measure": "mtia_share", "value": float(share[i])})
        rows.append({"deal_scale": float(m), "measure": "net_savings_usd_bn", "value": float(savings[i])})
        rows.append({"deal_scale": float(m), "measure": "floor_units_thousand", "value": float(floor[i])})
    return pd.DataFrame(rows)


@_kept
def nvidia_price_grid_frame(scenario, multipliers=(0.6, 0.8, 1.0, 1.2, 1.4, 1.6)):
    """Modelled annual capex for several Nvidia price multipliers, plus the public figures.

    The frame of :func:`chipsuite.charts.capex_annual_frame` with a ``nvidia_price_pct``
    column [% of list price] on the modelled rows (NaN on public rows).
    """
    result = run_points(scenario, [{"nvidia_price_multiplier": m} for m in multipliers])
    frames = []
    for i, m in enumerate(multipliers):
        f = charts.capex_annual_frame(result, draw=i)
        modelled = f[f["series"] == "modelled"].copy()
        modelled["nvidia_price_pct"] = float(round(m * 100))
        frames.append(modelled)
    public = f[f["series"] != "modelled"].copy()  # the same in every draw
    public["nvidia_price_pct"] = np.nan
    return pd.concat(frames + [public], ignore_index=True)


#: delay parameters a :func:`delay_emissions_grid_frame` can vary: name -> what is delayed
DELAY_PARAMETERS = {"hyperion_power_delay_quarters": "Hyperion's gas plants and solar",
                    "prometheus_power_delay_quarters": "Prometheus' on-site gas",
                    "el_paso_power_delay_quarters": "El Paso's McCloud gas plant",
                    "nuclear_contract_delay_quarters": "every nuclear contract"}


@_kept
def delay_emissions_grid_frame(scenario, parameter="hyperion_power_delay_quarters", delays=(0.0, 2.0, 4.0)):
    """Annual emissions by site for a grid of values of one supply delay (one vectorised model call).

    ``parameter``: a key of :data:`DELAY_PARAMETERS`. Columns ``year`` (str), ``site``,
    ``delay_quarters`` [quarters by which the dated contracts start late], ``emissions_mtco2``
    [MtCO2 per year: the AI load's location-based Scope 2, ``emissions_tco2``].
    """
    if parameter not in DELAY_PARAMETERS:
        raise ValueError(f"delay_emissions_grid_frame: parameter {parameter!r} is not one of {list(DELAY_PARAMETERS)}")
    delays = [float(d) for d in delays]
    result = run_points(scenario, [{parameter: d} for d in delays])
    frames = []
    for i, d in enumerate(delays):
        f = charts.energy_annual_frame(result, draw=i)
        f = f[f["measure"] == "emissions_mtco2"].rename(columns={"value": "emissions_mtco2"})
        f["delay_quarters"] = d
        frames.append(f[["year", "site", "delay_quarters", "emissions_mtco2"]])
    return pd.concat(frames, ignore_index=True)


#: outputs a tornado or fan chart can show: name -> (label with unit, variable, scale, reduction)
OUTPUTS = {
    "capex_usd_bn": ("Capex [USD bn per quarter]", "capex_usd", 1e9),
    "mtia_share_h100e": ("MTIA share of installed H100e [%]", "mtia_share_h100e", 1.0),
    "nvidia_share_h100e": ("Nvidia share of installed H100e [%]", "nvidia_share_h100e", 1.0),
    "h100e_total_million": ("Installed capability [million H100e]", "h100e_total", 1e6),
    "energy_twh": ("Data-centre electricity, whole fleet [TWh per quarter]", "fleet_electricity_mwh", 1e6),
    "emissions_mtco2": ("Scope 2 emissions, location-based [MtCO2 per quarter]", "emissions_location_tco2", 1e6),
    "savings_usd_bn": ("Savings vs all-Nvidia [USD bn per quarter]", "savings_vs_all_nvidia_usd", 1e9),
    "cost_per_h100e_hour_usd": ("Cost of ownership per H100e-hour [USD/h]", "cost_per_h100e_hour_usd", 1.0),
    "nvidia_share_h100e_incl_rented": ("Nvidia share of capability incl. rented [%]",
                                       "nvidia_share_h100e_incl_rented", 1.0),
    "scarcity_tax_usd_bn": ("Nvidia pricing premium paid [USD bn per quarter]", "scarcity_tax_usd", 1e9),
}


def _output_series(result, output):
    """(draw, quarter) values of an :data:`OUTPUTS` key, summed over other dims and scaled."""
    _, name, scale = OUTPUTS[output]
    da = result[name]
    extra = [d for d in da.dims if d not in ("draw", "quarter")]
    return (da.sum(extra) if extra else da) / scale


@_kept
def tornado_frame(scenario, output="capex_usd_bn", quarter="2027Q4", top=12):
    """One-at-a-time sensitivity of an :data:`OUTPUTS` key in ``quarter`` (tidy, for a tornado chart).

    Wraps :func:`chipsuite.uncertainty.tornado` (every uncertain input, dataset ranges and
    scenario parameters, at its low and its high with all others at base; one vectorised model
    pass). Columns ``parameter``, ``bound`` (``low``/``high``), ``value`` and ``delta`` (value
    minus base), in the output's unit (e.g. USD bn per quarter); the ``top`` inputs with the
    largest swing (``None``: all).
    """
    from ..uncertainty import tornado

    _, name, scale = OUTPUTS[output]
    t = tornado(scenario, output=name, quarter=quarter, reduce="sum")
    if top is not None:
        t = t.head(top)
    rows = []
    for _, row in t.iterrows():
        for bound in ("low", "high"):
            value = row[f"{bound}_value"] / scale
            rows.append({"parameter": row["input"], "bound": bound, "value": float(value),
                         "delta": float(value - row["base_value"] / scale)})
    return pd.DataFrame(rows)


def scenario_diff_frame(a, b, outputs=("capex_usd_bn", "mtia_share_h100e", "emissions_mtco2"), year=2027):
    """What differs between two scenarios: parameters, then key outputs for ``year``.

    Columns ``kind`` (``parameter``/``output``), ``name``, ``unit``, ``a``, ``b``, ``difference``.
    """
    rows = [{"kind": "parameter", "name": d.name, "unit": d.unit, "a": d.self_value, "b": d.other_value,
             "difference": d.other_value - d.self_value} for d in a.diff(b)]
    from ..model import run

    ra, rb = run(a), run(b)
    for out in outputs:
        label = OUTPUTS[out][0]
        va, vb = (_output_series(r, out) for r in (ra, rb))
        pick = va.quarter.dt.year == year
        how = "mean" if "share" in out or "per_h100e" in out else "sum"
        xa = float(getattr(va.sel(quarter=pick), how)())
        xb = float(getattr(vb.sel(quarter=pick), how)())
        unit = label[label.index("[") + 1:label.index("]")].replace("per quarter", "per year")
        if unit == "%":  # shares [1] shown in % (the difference in percentage points)
            xa, xb = 100 * xa, 100 * xb
        rows.append({"kind": "output", "name": f"{label.split(' [')[0]} in {year}", "unit": unit, "a": xa, "b": xb,
                     "difference": xb - xa})
    return pd.DataFrame(rows)


def gpu_money_frame(scenario=None, year=2025):
    """Is "over 1.3 million GPUs by end-2025" consistent with the money? A low/base/high check.

    GPUs added in ``year`` = the ``gpus_total`` milestone at the end of ``year`` minus the one a
    year before (``fleet_milestones.csv``). Cost per GPU on the model's one cost basis, the system
    cost per accelerator (chip, host, rack, fabric and network share; ``system_cost_usd`` of
    ``chip_specs.csv``): low = cheapest low, high = dearest high system cost of the GPU
    generations (Nvidia, AMD) of the fleet with first volume in ``year``; base = the model's
    average system value per GPU delivered in ``year`` (chip and system value of Nvidia and AMD
    deliveries / their units). Columns ``quantity``, ``unit``, ``low``, ``base``, ``high``; rows:
    GPUs added, system cost per GPU, GPU system spend, its share of reported capex, and the
    model's GPUs delivered in the year and installed at its end.
    """
    from ..data import load_tables
    from ..model import run

    scenario = Scenario.default() if scenario is None else scenario
    ds = _dataset()
    ms = load_tables()["fleet_milestones"]
    gpus = ms[ms["quantity"] == "gpus_total"].set_index(pd.to_datetime(ms.loc[ms["quantity"] == "gpus_total", "date"]))
    end = gpus.loc[pd.Timestamp(f"{year}-12-31")]
    start = gpus.loc[pd.Timestamp(f"{year - 1}-12-31")]
    added = (end["low"] - start["high"], end["base"] - start["base"], end["high"] - start["low"])
    r = run(scenario).isel(draw=0)
    gpu_gens = [str(g) for g, v in zip(r.generation.values, r.vendor.values) if v in ("nvidia", "amd")]
    first = pd.to_datetime(ds.first_volume_quarter.sel(generation=gpu_gens).values)
    gens = [g for g, f in zip(gpu_gens, first) if f.year == year]
    cost = ds.system_cost_usd.sel(generation=gens)
    in_year = r.quarter.dt.year == year
    delivered = r.units_delivered.sel(generation=gpu_gens, quarter=in_year).sum()
    value = (r.accelerator_value_usd + r.system_value_usd).sel(generation=gpu_gens, quarter=in_year).sum()
    model_cost = float(value / delivered)
    price = (float(cost.sel(bound="low").min()), model_cost, float(cost.sel(bound="high").max()))
    spend = tuple(a * p / 1e9 for a, p in zip(added, price))
    reported = float(ds.capex_annual_usd.sel(year=year, series="reported", bound="base")) / 1e9
    owned = r.nvidia_units_installed + r.amd_units_installed
    rows = [
        ("GPUs added in the year (milestones)", "units", *added),
        (f"system cost per GPU ({', '.join(gens)}; base = model average)", "USD", *price),
        ("GPU system spend (chip, server, rack, network)", "USD bn", *spend),
        (f"share of reported {year} capex ({reported:.1f} USD bn)", "%", *(100 * x / reported for x in spend)),
        ("model: GPUs delivered in the year (Nvidia and AMD)", "units", *(float(delivered),) * 3),
        ("model: GPUs installed at year end (Nvidia and AMD, owned)", "units",
         *(float(owned.sel(quarter=in_year).values[-1]),) * 3),
    ]
    return pd.DataFrame(rows, columns=["quantity", "unit", "low", "base", "high"])
