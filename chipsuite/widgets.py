"""Explorers: interactive views of the scenario model, with the model separate from the GUI.

Three layers, as in the ipywidgets tutorial:

1. model functions (no GUI): :func:`run_points` evaluates many scenarios in one vectorised
   model call (the points become the ``draw`` dim), and small ``*_frame`` functions build the
   tidy data of the grid charts (cadence grid, break-even map, minimum volume, tornado);
2. :class:`ScenarioState`: one Scenario, its model result (cached) and JSON save/load;
3. explorer classes (:class:`CadenceExplorer`, :class:`CapexExplorer`,
   :class:`DependenceExplorer`, :class:`EnergyExplorer`, :class:`UncertaintyExplorer`,
   :class:`DataExplorer`) that hold control values, compute ``chart_data()``/``chart()``
   from them, and build ipywidgets controls linked to an :class:`~chipsuite.OfflineChart`
   only when ``.widget`` is first used.

Every explorer offers ``.set(**controls)`` (what a slider does, usable in tests),
``.chart_data()`` (the DataFrame currently charted), ``.chart(view=None)``, ``.summary()``
(key numbers of the current state), ``.static_view()`` (a kernel-free Altair chart, with
bound parameters over a precomputed grid where that helps) and ``.show()`` (the widget UI,
or the static view in report mode, see :func:`chipsuite.is_report_mode`).

>>> from chipsuite.widgets import CadenceExplorer
>>> app = CadenceExplorer()                  # doctest: +SKIP
>>> app.set(cadence_months=12)               # what moving the slider does   # doctest: +SKIP
>>> app.show()                               # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import functools
import html
import itertools
from pathlib import Path

import numpy as np
import pandas as pd

from . import charts
from .report import is_report_mode
from .scenario import PARAMETERS, Scenario, ScenarioError

__all__ = [
    "run_points",
    "cadence_grid_frame",
    "breakeven_frame",
    "min_volume_frame",
    "nvidia_price_grid_frame",
    "supply_mix_grid_frame",
    "tornado_frame",
    "scenario_diff_frame",
    "gpu_money_frame",
    "ScenarioState",
    "Control",
    "Explorer",
    "CadenceExplorer",
    "CapexExplorer",
    "DependenceExplorer",
    "EnergyExplorer",
    "UncertaintyExplorer",
    "DataExplorer",
]

MTIA_EFFICIENCY = "mtia_efficiency"  # pseudo-parameter of run_points: multiplier on MTIA H100e factors [1]


# =========================================================================== model layer


@functools.lru_cache(maxsize=1)
def _dataset():
    from .data import load_dataset

    return load_dataset()


def run_points(scenario, points, engine="numexpr"):
    """Evaluate many variants of ``scenario`` in one vectorised model call.

    Parameters
    ----------
    scenario : Scenario
        The base of every variant.
    points : list of dict
        Each dict overrides scenario parameters (validated like :meth:`Scenario.replace`);
        the key ``"mtia_efficiency"`` [1] additionally multiplies every MTIA H100e factor.
    engine : {"numexpr", "numpy"}

    Returns
    -------
    xr.Dataset
        The model result with ``draw`` = point index (0, 1, ...): draw ``i`` is ``points[i]``
        with every other input at its base value.
    """
    import xarray as xr

    from .model import evaluate_model, model_inputs

    points = [dict(p) for p in points]
    if not points:
        raise ValueError("run_points: points must not be empty")
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
    base = model_inputs(scenario, ds, draws=1)
    values = {k: v.isel(draw=0, drop=True).expand_dims(draw=draws) for k, v in base.items()}
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


def breakeven_frame(scenario, year=2028, efficiencies=(0.5, 0.75, 1.0, 1.25, 1.5, 2.0),
                    price_multipliers=(0.6, 0.8, 1.0, 1.2, 1.4, 1.6)):
    """Break-even map: fleet cost per powered H100e-hour with MTIA minus all-Nvidia.

    For each MTIA efficiency (multiplier on MTIA H100e factors [1]) and Nvidia price multiplier
    [1], the scenario is run as is and as an all-Nvidia fleet (every MTIA share target 0); the
    difference of ``cost_per_h100e_hour_usd`` averaged over ``year`` is returned (negative =
    building MTIA is cheaper). MTIA design cost (NRE) is not in this cost (it is not
    depreciated in the model); the savings view counts it. One vectorised model call. Columns ``mtia_efficiency``,
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


def min_volume_frame(scenario, min_units=(0, 50e3, 100e3, 150e3, 200e3, 300e3), quarter="2027Q4",
                     savings_years=(2026, 2030)):
    """Effect of the Nvidia deal's minimum volume (one vectorised model call).

    Columns ``min_units_thousand`` [thousand units per quarter], ``measure`` (``mtia_share``:
    MTIA share of installed H100e in ``quarter`` [1]; ``net_savings_usd_bn``: savings against an
    all-Nvidia fleet summed over ``savings_years`` [USD bn]) and ``value``.
    """
    result = run_points(scenario, [{"nvidia_min_units_per_quarter": float(m)} for m in min_units])
    share = _quarter_value(result.mtia_share_h100e, quarter).values
    years = result.quarter.dt.year
    savings = result.savings_vs_all_nvidia_usd.sel(
        quarter=(years >= savings_years[0]) & (years <= savings_years[1])).sum("quarter").values / 1e9
    rows = []
    for i, m in enumerate(min_units):
        rows.append({"min_units_thousand": m / 1e3, "measure": "mtia_share", "value": float(share[i])})
        rows.append({"min_units_thousand": m / 1e3, "measure": "net_savings_usd_bn", "value": float(savings[i])})
    return pd.DataFrame(rows)


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


def supply_mix_grid_frame(scenario, gas_shares=(0.0, 0.08, 0.25, 0.5), nuclear_shares=(0.0, 0.05, 0.25, 0.5)):
    """Annual emissions by site for a grid of supply mixes (one vectorised model call).

    Columns ``year`` (str), ``site``, ``gas_pct`` [% of electricity from dedicated gas],
    ``nuclear_pct`` [% from contracted nuclear], ``emissions_mtco2`` [MtCO2 per year]. Mixes
    with gas + nuclear above 100 % are skipped.
    """
    mixes = [(g, n) for g in gas_shares for n in nuclear_shares if g + n <= 1]
    result = run_points(scenario, [{"supply_share_gas": g, "supply_share_nuclear": n} for g, n in mixes])
    frames = []
    for i, (g, n) in enumerate(mixes):
        f = charts.energy_annual_frame(result, draw=i)
        f = f[f["measure"] == "emissions_mtco2"].rename(columns={"value": "emissions_mtco2"})
        f["gas_pct"] = float(round(g * 100))
        f["nuclear_pct"] = float(round(n * 100))
        frames.append(f[["year", "site", "gas_pct", "nuclear_pct", "emissions_mtco2"]])
    return pd.concat(frames, ignore_index=True)


#: outputs a tornado or fan chart can show: name -> (label with unit, variable, scale, reduction)
OUTPUTS = {
    "capex_usd_bn": ("Capex [USD bn per quarter]", "capex_usd", 1e9),
    "mtia_share_h100e": ("MTIA share of installed H100e [1]", "mtia_share_h100e", 1.0),
    "nvidia_share_h100e": ("Nvidia share of installed H100e [1]", "nvidia_share_h100e", 1.0),
    "h100e_total_million": ("Installed capability [million H100e]", "h100e_total", 1e6),
    "energy_twh": ("Electricity use [TWh per quarter]", "energy_mwh", 1e6),
    "emissions_mtco2": ("Emissions [MtCO2 per quarter]", "emissions_tco2", 1e6),
    "savings_usd_bn": ("Savings vs all-Nvidia [USD bn per quarter]", "savings_vs_all_nvidia_usd", 1e9),
    "cost_per_h100e_hour_usd": ("Cost per powered H100e-hour [USD/h]", "cost_per_h100e_hour_usd", 1.0),
}


def _output_series(result, output):
    """(draw, quarter) values of an :data:`OUTPUTS` key, summed over other dims and scaled."""
    _, name, scale = OUTPUTS[output]
    da = result[name]
    extra = [d for d in da.dims if d not in ("draw", "quarter")]
    return (da.sum(extra) if extra else da) / scale


def tornado_frame(scenario, output="capex_usd_bn", quarter="2027Q4", top=12):
    """One-at-a-time sensitivity of an :data:`OUTPUTS` key in ``quarter`` (tidy, for a tornado chart).

    Wraps :func:`chipsuite.uncertainty.tornado` (every uncertain input, dataset ranges and
    scenario parameters, at its low and its high with all others at base; one vectorised model
    pass). Columns ``parameter``, ``bound`` (``low``/``high``), ``value`` and ``delta`` (value
    minus base), in the output's unit (e.g. USD bn per quarter); the ``top`` inputs with the
    largest swing (``None``: all).
    """
    from .uncertainty import tornado

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
    from .model import run

    ra, rb = run(a), run(b)
    for out in outputs:
        label = OUTPUTS[out][0]
        va, vb = (_output_series(r, out) for r in (ra, rb))
        pick = va.quarter.dt.year == year
        how = "mean" if "share" in out or "per_h100e" in out else "sum"
        xa = float(getattr(va.sel(quarter=pick), how)())
        xb = float(getattr(vb.sel(quarter=pick), how)())
        unit = label[label.index("[") + 1:label.index("]")].replace("per quarter", "per year")
        rows.append({"kind": "output", "name": f"{label.split(' [')[0]} in {year}", "unit": unit, "a": xa, "b": xb,
                     "difference": xb - xa})
    return pd.DataFrame(rows)


def gpu_money_frame(scenario=None, year=2025):
    """Is "over 1.3 million GPUs by end-2025" consistent with the money? A low/base/high check.

    GPUs added in ``year`` = the ``gpus_total`` milestone at the end of ``year`` minus the one a
    year before (``fleet_milestones.csv``); price per GPU = low: cheapest low price, high: dearest
    high price of the Nvidia generations with first volume in ``year``; base: the model's
    average accelerator price paid in ``year`` (accelerator capex / units delivered). Server and
    network spend adds ``server_network_capex_ratio``. Columns ``quantity``, ``unit``, ``low``,
    ``base``, ``high``.
    """
    from .data import load_tables
    from .model import run

    scenario = Scenario.default() if scenario is None else scenario
    ds = _dataset()
    ms = load_tables()["fleet_milestones"]
    gpus = ms[ms["quantity"] == "gpus_total"].set_index(pd.to_datetime(ms.loc[ms["quantity"] == "gpus_total", "date"]))
    end = gpus.loc[pd.Timestamp(f"{year}-12-31")]
    start = gpus.loc[pd.Timestamp(f"{year - 1}-12-31")]
    added = (end["low"] - start["high"], end["base"] - start["base"], end["high"] - start["low"])
    first = pd.to_datetime(ds.first_volume_quarter.values)
    gens = [str(g) for g, v, f in zip(ds.generation.values, ds.vendor.values, first)
            if v == "nvidia" and f.year == year]
    prices = ds.unit_price_usd.sel(generation=gens)
    r = run(scenario).isel(draw=0)
    in_year = r.quarter.dt.year == year
    model_price = float(r.fleet_accelerator_capex_usd.sel(quarter=in_year).sum()
                        / r.units_delivered.sum("generation").sel(quarter=in_year).sum())
    price = (float(prices.sel(bound="low").min()), model_price, float(prices.sel(bound="high").max()))
    chips = tuple(a * p / 1e9 for a, p in zip(added, price))
    ratio = scenario.server_network_capex_ratio
    it = tuple(c * (1 + ratio) for c in chips)
    reported = float(ds.capex_annual_usd.sel(year=year, series="reported", bound="base")) / 1e9
    rows = [
        ("GPUs added in the year (milestones)", "units", *added),
        (f"price per GPU ({', '.join(gens)}; base = model average)", "USD", *price),
        ("GPU spend", "USD bn", *chips),
        (f"GPU + server and network spend (x{1 + ratio:.2f})", "USD bn", *it),
        (f"share of reported {year} capex ({reported:.1f} USD bn)", "%", *(100 * x / reported for x in it)),
        ("model: accelerators delivered in the year", "units",
         *(float(r.units_delivered.sum("generation").sel(quarter=in_year).sum()),) * 3),
        ("model: accelerators installed at year end", "units",
         *(float(r.units_installed_total.sel(quarter=in_year).values[-1]),) * 3),
    ]
    return pd.DataFrame(rows, columns=["quantity", "unit", "low", "base", "high"])


class ScenarioState:
    """A Scenario and its model result (recomputed lazily after each change).

    Parameters
    ----------
    scenario : Scenario, optional (default: the base case)
    draws : int -- 1 = base case; > 1 = Monte Carlo ensemble
    seed : int
    """

    def __init__(self, scenario=None, draws=1, seed=0):
        self._scenario = Scenario.default() if scenario is None else scenario
        self.draws = int(draws)
        self.seed = int(seed)
        self._result = None

    @property
    def scenario(self):
        return self._scenario

    @scenario.setter
    def scenario(self, value):
        if not isinstance(value, Scenario):
            raise TypeError(f"scenario must be a chipsuite.Scenario, not {type(value).__name__}")
        if value != self._scenario:
            self._scenario = value
            self._result = None

    def update(self, **params):
        """Replace parameters (validated; raises :class:`ScenarioError`)."""
        self.scenario = self._scenario.replace(**params)

    @property
    def result(self):
        """The model result of the current scenario (``chipsuite.run``)."""
        if self._result is None:
            from .model import run

            self._result = run(self._scenario, draws=self.draws, seed=self.seed)
        return self._result

    def save_scenario(self, path):
        """Write the scenario as JSON (:meth:`Scenario.to_json`) to ``path``; returns the Path."""
        path = Path(path)
        path.write_text(self._scenario.to_json(), encoding="utf-8")
        return path

    def load_scenario(self, path):
        """Read a scenario saved by :meth:`save_scenario` and make it current."""
        self.scenario = Scenario.from_json(Path(path).read_text(encoding="utf-8"))
        return self._scenario


# =========================================================================== GUI layer


@dataclasses.dataclass(frozen=True)
class Control:
    """One control of an explorer.

    ``kind``: ``"slider"`` (float, ``min``/``max``/``step``), ``"select"`` (``options``) or
    ``"text"``. ``param`` links it to a scenario parameter: parameter value = control value x
    ``scale`` (e.g. a cadence in months drives ``mtia_cadence`` in quarters with scale 1/3).
    Controls without ``param`` choose what is shown.
    """

    kind: str
    label: str
    default: object = None
    min: float = 0.0
    max: float = 1.0
    step: float = 0.1
    options: tuple = ()
    param: str | None = None
    scale: float = 1.0


class Explorer:
    """Base class: control values -> scenario -> chart data -> chart (and the ipywidgets UI)."""

    #: control name -> Control
    CONTROLS: dict = {}
    #: name of the control holding the view (chart) to show, if any
    VIEW = "view"
    title = "Explorer"

    def __init__(self, scenario=None, draws=1, seed=0, **controls):
        self.state = ScenarioState(scenario, draws=draws, seed=seed)
        self.values = {}
        for name, c in self.CONTROLS.items():
            if c.param is not None:
                self.values[name] = self._from_param(c, getattr(self.state.scenario, c.param))
            else:
                self.values[name] = c.default
        self._widget = None
        self._controls = {}
        self._chart_widget = None
        self._message = None
        self._syncing = False
        if controls:
            self.set(**controls)

    # ------------------------------------------------------------------ model side
    @staticmethod
    def _from_param(control, value):
        v = value / control.scale
        return float(round(v, 10))

    def set(self, **controls):
        """Set control values (what moving a control does) and update the chart if shown.

        Unknown controls raise ``KeyError``; values that make an invalid scenario raise
        :class:`ScenarioError` and leave the explorer unchanged.
        """
        unknown = sorted(set(controls) - set(self.CONTROLS))
        if unknown:
            raise KeyError(f"{type(self).__name__}: unknown control(s) {unknown}; known: {sorted(self.CONTROLS)}")
        for name, value in controls.items():
            c = self.CONTROLS[name]
            if c.kind == "select" and c.options and value not in c.options:
                raise ValueError(f"{type(self).__name__}: control {name!r} = {value!r} is not one of {list(c.options)}")
        params = {self.CONTROLS[n].param: float(v) * self.CONTROLS[n].scale
                  for n, v in controls.items() if self.CONTROLS[n].param is not None}
        if params:
            self.state.update(**params)  # raises ScenarioError before anything changes
        self.values.update(controls)
        self._sync_controls()
        self._refresh()
        return self

    @property
    def scenario(self):
        return self.state.scenario

    @property
    def result(self):
        return self.state.result

    def chart_data(self, view=None):
        """The tidy DataFrame of the current (or given) view."""
        raise NotImplementedError

    def chart(self, view=None):
        """The Altair chart of the current (or given) view."""
        raise NotImplementedError

    def summary(self):
        """Key numbers of the current state (a dict, for prose computed in notebooks)."""
        return {}

    def static_view(self):
        """A kernel-free chart: bound parameters over a precomputed grid, or the current chart."""
        return self.chart()

    def save_scenario(self, path):
        """Save the current scenario as JSON; returns the Path."""
        return self.state.save_scenario(path)

    def load_scenario(self, path):
        """Load a scenario saved as JSON and move the controls to it."""
        self.state.load_scenario(path)
        for name, c in self.CONTROLS.items():
            if c.param is not None:
                self.values[name] = self._from_param(c, getattr(self.state.scenario, c.param))
        self._sync_controls()
        self._refresh()
        return self.state.scenario

    # ------------------------------------------------------------------ GUI side
    @property
    def widget(self):
        """The ipywidgets container (built on first use)."""
        if self._widget is None:
            self._widget = self._build()
        return self._widget

    def _make_control(self, name, c):
        import ipywidgets as w

        style = {"description_width": "initial"}
        if c.kind == "slider":
            ctl = w.FloatSlider(value=float(self.values[name]), min=c.min, max=c.max, step=c.step,
                                description=c.label, continuous_update=False, style=style,
                                layout=w.Layout(width="420px"), readout_format=".2f")
        elif c.kind == "select":
            ctl = w.Dropdown(options=list(c.options), value=self.values[name], description=c.label, style=style)
        elif c.kind == "text":
            ctl = w.Text(value=str(self.values[name] or ""), description=c.label, continuous_update=False,
                         style=style, layout=w.Layout(width="520px"))
        else:  # pragma: no cover - programming error
            raise ValueError(f"unknown control kind {c.kind!r}")
        ctl.observe(functools.partial(self._on_control, name), names="value")
        return ctl

    def _build(self):
        import ipywidgets as w

        from .vega import OfflineChart

        self._controls = {name: self._make_control(name, c) for name, c in self.CONTROLS.items()}
        self._message = w.HTML("")
        self._chart_widget = OfflineChart(self.chart())
        path = w.Text(value="scenario.json", description="scenario file", style={"description_width": "initial"})
        save = w.Button(description="save scenario", icon="save")
        load = w.Button(description="load scenario", icon="folder-open")
        save.on_click(lambda _: self._guarded(lambda: self.save_scenario(path.value),
                                              f"saved to {html.escape(path.value)}"))
        load.on_click(lambda _: self._guarded(lambda: self.load_scenario(path.value),
                                              f"loaded {html.escape(path.value)}"))
        files = w.HBox([path, save, load])
        return w.VBox([w.HTML(f"<b>{html.escape(self.title)}</b>"), *self._controls.values(), self._message,
                       self._chart_widget, files])

    def _guarded(self, action, ok_text):
        try:
            action()
        except (OSError, ScenarioError, ValueError) as err:
            self._show_message(f"{type(err).__name__}: {err}", error=True)
        else:
            self._show_message(ok_text)

    def _show_message(self, text, error=False):
        if self._message is not None:
            color = "#b00020" if error else "#555555"
            self._message.value = f'<span style="color:{color}">{html.escape(str(text))}</span>'

    def _on_control(self, name, change):
        if self._syncing:
            return
        self._show_message("")
        try:
            self.set(**{name: change["new"]})
        except (ScenarioError, ValueError) as err:
            self._show_message(f"Not applied: {err}", error=True)
            self._sync_controls()

    def _sync_controls(self):
        if not self._controls:
            return
        self._syncing = True
        try:
            for name, ctl in self._controls.items():
                if ctl.value != self.values[name]:
                    ctl.value = self.values[name]
        finally:
            self._syncing = False

    def _refresh(self):
        if self._chart_widget is not None:
            self._chart_widget.update(self.chart())

    def show(self):
        """Display the widget UI; in report mode the kernel-free :meth:`static_view` instead."""
        from IPython.display import display

        if is_report_mode():
            display_chart(self.static_view())
        else:
            display(self.widget)


def display_chart(chart):
    """Display an Altair chart offline (Vega-Lite spec + SVG mimebundle), whatever the renderer."""
    from IPython.display import display

    from .vega import chart_mimebundle

    data, metadata = chart_mimebundle(chart.to_dict())
    display(data, metadata=metadata, raw=True)


# --------------------------------------------------------------------------- explorers


class CadenceExplorer(Explorer):
    """MTIA cadence and slips: MTIA share, fleet by generation, performance per watt, NRE vs savings."""

    title = "MTIA cadence explorer"
    VIEWS = ("MTIA share by workload", "fleet by generation", "cadence comparison", "performance per watt",
             "design cost vs savings")
    CONTROLS = {
        "cadence_months": Control("slider", "MTIA cadence [months]", min=3, max=18, step=3,
                                  param="mtia_cadence", scale=1 / 3),
        "slip_quarters": Control("slider", "slip per generation [quarters]", min=0, max=2, step=0.25,
                                 param="mtia_slip_per_generation"),
        "view": Control("select", "chart", default=VIEWS[0], options=VIEWS),
    }

    def _case(self):
        return (f"cadence {self.values['cadence_months']:g} months, slip "
                f"{self.values['slip_quarters']:g} quarters/generation")

    def chart_data(self, view=None):
        view = view or self.values["view"]
        r = self.result
        if view == "MTIA share by workload":
            return charts.mtia_share_frame(r)
        if view == "fleet by generation":
            return charts.fleet_by_generation_frame(r)
        if view == "cadence comparison":
            slips = sorted({0.0, 0.5, 1.0, float(self.values["slip_quarters"])})
            cadences = sorted({6.0, 12.0, 18.0, float(self.values["cadence_months"])})
            f = cadence_grid_frame(self.scenario, cadences, slips)
            return f[f["slip_quarters"] == float(self.values["slip_quarters"])].reset_index(drop=True)
        if view == "performance per watt":
            return charts.perf_per_watt_frame(r)
        if view == "design cost vs savings":
            return charts.nre_savings_frame(r)
        raise ValueError(f"unknown view {view!r}; views: {list(self.VIEWS)}")

    def chart(self, view=None):
        view = view or self.values["view"]
        f = self.chart_data(view)
        case = self._case()
        if view == "MTIA share by workload":
            return charts.mtia_share_chart(f, case, events=charts.event_frame(["chips"], start="2025-06-01"))
        if view == "fleet by generation":
            return charts.fleet_by_generation_chart(f, case, events=charts.event_frame(["chips"]))
        if view == "cadence comparison":
            return charts.cadence_comparison_chart(f, f"slip {self.values['slip_quarters']:g} quarters/generation")
        if view == "performance per watt":
            return charts.perf_per_watt_chart(f, case)
        return charts.nre_savings_chart(f, case)

    def summary(self):
        r = self.result.isel(draw=0)
        share = _quarter_value(r.mtia_share_h100e, "2027Q4").item()
        purchases = _quarter_value(r.mtia_share_purchases_h100e, "2027Q4").item()
        starts = r.mtia_volume_start_index.values
        labels = list(r.quarter_label.values)
        start_labels = {str(g): (labels[int(np.floor(s))] if 0 <= s < len(labels) else "after 2030")
                        for g, s in zip(r.mtia_generation.values, starts)}
        return {"mtia_share_h100e_2027q4": share, "mtia_share_purchases_2027q4": purchases,
                "volume_start": start_labels,
                "nre_usd_bn_total": float(r.nre_usd.sum()) / 1e9,
                "net_savings_usd_bn_2026_2030": float(r.savings_vs_all_nvidia_usd.sel(
                    quarter=r.quarter.dt.year >= 2026).sum()) / 1e9}

    def static_view(self):
        f = cadence_grid_frame(self.scenario)
        cad = float(self.values["cadence_months"])
        slip = float(self.values["slip_quarters"])
        if cad not in set(f["cadence_months"]) or slip not in set(f["slip_quarters"]):
            f = cadence_grid_frame(self.scenario, sorted({6.0, 12.0, 18.0, cad}), sorted({0.0, 0.25, 0.5, 1.0, slip}))
        return charts.cadence_comparison_chart(f, "cadence grid (choose cadence and slip below the chart)",
                                               cadence=cad, slip=slip)


class CapexExplorer(Explorer):
    """Capex: modelled against reported and guided; parts; Nvidia price and cost ratios."""

    title = "Capex explorer"
    VIEWS = ("annual: reported, guided, modelled", "quarterly", "by part")
    CONTROLS = {
        "nvidia_price_multiplier": Control("slider", "Nvidia price [x list]", min=0.5, max=2.0, step=0.05,
                                           param="nvidia_price_multiplier"),
        "server_network_capex_ratio": Control("slider", "servers+network per USD of chips", min=0.0, max=1.5,
                                              step=0.05, param="server_network_capex_ratio"),
        "facility_capex_usd_m_per_mw": Control("slider", "facility capex [USD m per MW]", min=4, max=25, step=1,
                                               param="facility_capex_per_mw", scale=1e6),
        "view": Control("select", "chart", default=VIEWS[0], options=VIEWS),
    }

    def _case(self):
        return (f"Nvidia price x{self.values['nvidia_price_multiplier']:.2f}, servers+network "
                f"{self.values['server_network_capex_ratio']:.2f}, facilities "
                f"{self.values['facility_capex_usd_m_per_mw']:g} USD m/MW")

    def chart_data(self, view=None):
        view = view or self.values["view"]
        if view == "annual: reported, guided, modelled":
            return charts.capex_annual_frame(self.result)
        if view == "quarterly":
            return charts.capex_quarterly_frame(self.result)
        if view == "by part":
            return charts.capex_parts_frame(self.result)
        raise ValueError(f"unknown view {view!r}; views: {list(self.VIEWS)}")

    def chart(self, view=None):
        view = view or self.values["view"]
        f = self.chart_data(view)
        if view == "annual: reported, guided, modelled":
            return charts.capex_annual_chart(f, self._case())
        if view == "quarterly":
            return charts.capex_quarterly_chart(f, self._case(), events=charts.event_frame(
                ["capex"], start="2023-06-01"))
        return charts.capex_parts_chart(f, self._case())

    def summary(self):
        from .model import annual

        r = self.result.isel(draw=0)
        ds = _dataset()
        capex = annual(r.capex_usd)
        acc = annual(r.fleet_accelerator_capex_usd)
        installed = annual(r.units_installed_total, "last")
        reported = ds.capex_annual_usd.sel(series="reported", bound="base")
        guided = ds.capex_annual_usd.sel(series="guidance_latest", year=2026)
        consensus = ds.capex_annual_usd.sel(series="consensus_latest", year=2025, bound="base")
        return {
            "capex_usd_bn": {int(y): float(capex.sel(year=y)) / 1e9 for y in (2024, 2025, 2026, 2027)},
            "reported_usd_bn": {int(y): float(reported.sel(year=y)) / 1e9 for y in (2024, 2025)},
            "guided_2026_usd_bn": tuple(float(guided.sel(bound=b)) / 1e9 for b in ("low", "base", "high")),
            "consensus_2025_usd_bn": float(consensus) / 1e9,
            "accelerator_capex_usd_bn": {int(y): float(acc.sel(year=y)) / 1e9 for y in (2024, 2025, 2026)},
            "accelerators_installed_end_2025_million": float(installed.sel(year=2025)) / 1e6,
            "accelerator_capex_2024_2025_usd_bn": float(acc.sel(year=[2024, 2025]).sum()) / 1e9,
        }

    def static_view(self):
        f = nvidia_price_grid_frame(self.scenario)
        return charts.capex_annual_chart(f, "Nvidia price varied (slider under the chart), other inputs as set",
                                         initial_price_pct=100.0)


class DependenceExplorer(Explorer):
    """Nvidia dependence: shares, concentration, savings, break-even map, the deal's minimum volume."""

    title = "Nvidia dependence explorer"
    VIEWS = ("shares", "concentration (HHI)", "design cost vs savings", "break-even map", "minimum volume")
    CONTROLS = {
        "nvidia_price_multiplier": Control("slider", "Nvidia price [x list]", min=0.5, max=2.0, step=0.05,
                                           param="nvidia_price_multiplier"),
        "bargaining_elasticity": Control("slider", "bargaining elasticity [1]", min=0.0, max=1.0, step=0.05,
                                         param="bargaining_elasticity"),
        "min_units_thousand": Control("slider", "Nvidia minimum [k units/quarter]", min=0, max=300, step=25,
                                      param="nvidia_min_units_per_quarter", scale=1e3),
        "view": Control("select", "chart", default=VIEWS[0], options=VIEWS),
    }
    breakeven_year = 2028

    def _case(self):
        return (f"Nvidia price x{self.values['nvidia_price_multiplier']:.2f}, minimum "
                f"{self.values['min_units_thousand']:g}k units/quarter")

    def chart_data(self, view=None):
        view = view or self.values["view"]
        r = self.result
        if view == "shares":
            return charts.dependence_shares_frame(r)
        if view == "concentration (HHI)":
            return charts.hhi_frame(r)
        if view == "design cost vs savings":
            return charts.nre_savings_frame(r)
        if view == "break-even map":
            return breakeven_frame(self.scenario.replace(nvidia_price_multiplier=1.0), year=self.breakeven_year)
        if view == "minimum volume":
            return min_volume_frame(self.scenario)
        raise ValueError(f"unknown view {view!r}; views: {list(self.VIEWS)}")

    def chart(self, view=None):
        view = view or self.values["view"]
        f = self.chart_data(view)
        case = self._case()
        if view == "shares":
            return charts.dependence_shares_chart(f, case, events=charts.event_frame(["deal"], start="2025-01-01"))
        if view == "concentration (HHI)":
            return charts.hhi_chart(f, case)
        if view == "design cost vs savings":
            return charts.nre_savings_chart(f, case)
        if view == "break-even map":
            return charts.breakeven_chart(f, "scenario with Nvidia price varied", year=self.breakeven_year)
        return charts.min_volume_chart(f, case)

    def summary(self):
        r = self.result.isel(draw=0)
        years = r.quarter.dt.year
        nv = r.nvidia_accelerator_capex_usd.sel(quarter=(years >= 2026) & (years <= 2028)).sum().item()
        all_nv = r.all_nvidia_capex_usd.sel(quarter=(years >= 2026) & (years <= 2028)).sum().item()
        it = r.it_capex_usd.sel(quarter=(years >= 2026) & (years <= 2028)).sum().item()
        savings = r.savings_vs_all_nvidia_usd.sel(quarter=(years >= 2026) & (years <= 2028)).sum().item()
        return {
            "nvidia_accelerator_capex_2026_2028_usd_bn": nv / 1e9,
            "all_nvidia_it_capex_2026_2028_usd_bn": all_nv / 1e9,
            "it_capex_2026_2028_usd_bn": it / 1e9,
            "net_savings_2026_2028_usd_bn": savings / 1e9,
            "nvidia_share_h100e_2027q4": _quarter_value(r.nvidia_share_h100e, "2027Q4").item(),
            "hhi_2027q4": _quarter_value(r.hhi, "2027Q4").item(),
            "nvidia_price_factor_2027q4": _quarter_value(r.nvidia_effective_price_factor, "2027Q4").item(),
        }

    def static_view(self):
        f = min_volume_frame(self.scenario)
        return charts.min_volume_chart(f, "Nvidia minimum volume varied, other inputs base case")


class EnergyExplorer(Explorer):
    """Energy and sites: power ramp against capacity, energy, cost, emissions; supply mix."""

    title = "Energy and sites explorer"
    VIEWS = ("site power vs capacity", "fleet power vs capacity", "energy, cost and emissions")
    CONTROLS = {
        "supply_share_gas": Control("slider", "share of dedicated gas [1]", min=0.0, max=1.0, step=0.05,
                                    param="supply_share_gas"),
        "supply_share_nuclear": Control("slider", "share of contracted nuclear [1]", min=0.0, max=1.0, step=0.05,
                                        param="supply_share_nuclear"),
        "utilisation": Control("slider", "utilisation [share of TDP]", min=0.3, max=1.0, step=0.05,
                               param="utilisation"),
        "view": Control("select", "chart", default=VIEWS[2], options=VIEWS),
    }

    def _case(self):
        return (f"gas {self.values['supply_share_gas']:.0%}, nuclear {self.values['supply_share_nuclear']:.0%}, "
                f"utilisation {self.values['utilisation']:.0%}")

    def chart_data(self, view=None):
        view = view or self.values["view"]
        if view == "site power vs capacity":
            return charts.site_power_frame(self.result)
        if view == "fleet power vs capacity":
            return charts.fleet_power_frame(self.result)
        if view == "energy, cost and emissions":
            return charts.energy_annual_frame(self.result)
        raise ValueError(f"unknown view {view!r}; views: {list(self.VIEWS)}")

    def chart(self, view=None):
        view = view or self.values["view"]
        f = self.chart_data(view)
        if view == "site power vs capacity":
            return charts.site_power_chart(f, self._case())
        if view == "fleet power vs capacity":
            return charts.fleet_power_chart(f, self._case(), events=charts.event_frame(
                ["site"], start="2025-01-01"))
        return charts.energy_annual_chart(f, self._case())

    def summary(self):
        from .model import annual

        r = self.result.isel(draw=0)
        energy = annual(r.energy_mwh.sum("site")) / 1e6
        cost = annual(r.electricity_cost_usd.sum("site")) / 1e9
        emissions = annual(r.emissions_tco2.sum("site")) / 1e6
        cap = annual(r.site_capacity_mw, "last")
        unplaced = annual(r.unplaced_power_mw, "last")
        return {
            "energy_twh": {y: float(energy.sel(year=y)) for y in (2025, 2027, 2030)},
            "electricity_cost_usd_bn": {y: float(cost.sel(year=y)) for y in (2025, 2027, 2030)},
            "emissions_mtco2": {y: float(emissions.sel(year=y)) for y in (2025, 2027, 2030)},
            "capacity_end_2027_mw": {str(s): float(cap.sel(year=2027, site=s)) for s in r.site.values},
            "unplaced_it_power_end_2027_mw": float(unplaced.sel(year=2027)),
        }

    def static_view(self):
        gas = float(self.values["supply_share_gas"])
        nuclear = float(self.values["supply_share_nuclear"])
        f = supply_mix_grid_frame(self.scenario, sorted({0.0, 0.08, 0.25, 0.5, gas}),
                                  sorted({0.0, 0.05, 0.25, 0.5, nuclear}))
        return charts.emissions_mix_chart(f, gas_pct=float(round(gas * 100)), nuclear_pct=float(round(nuclear * 100)))


class UncertaintyExplorer(Explorer):
    """Fan charts of key outputs, a tornado, and a custom-metric box (errors shown as a message)."""

    title = "Uncertainty explorer"
    VIEWS = ("fan chart", "tornado")
    CONTROLS = {
        "output": Control("select", "output", default="capex_usd_bn", options=tuple(OUTPUTS)),
        "metric": Control("text", "custom metric", default=""),
        "view": Control("select", "chart", default=VIEWS[0], options=VIEWS),
    }
    tornado_quarter = "2027Q4"

    def __init__(self, scenario=None, draws=200, seed=0, **controls):
        self.metric_error = ""
        super().__init__(scenario, draws=draws, seed=seed, **controls)

    def set(self, **controls):
        """As :meth:`Explorer.set`; a refused custom metric is kept as :attr:`metric_error`."""
        if "metric" in controls:
            from .expr import FormulaError
            from .metrics import custom_metric

            text = (controls["metric"] or "").strip()
            self.metric_error = ""
            if text:
                try:
                    custom_metric(text, self.result.isel(draw=slice(0, 2)))
                except (FormulaError, ValueError, KeyError, TypeError) as err:
                    self.metric_error = f"{type(err).__name__}: {err}"
            controls = {**controls, "metric": text}
        super().set(**controls)
        self._show_message(f"Custom metric not shown: {self.metric_error}" if self.metric_error else "",
                           error=bool(self.metric_error))
        return self

    def _metric_active(self):
        return bool(self.values.get("metric")) and not self.metric_error

    def chart_data(self, view=None):
        view = view or self.values["view"]
        if view == "fan chart":
            if self._metric_active():
                from .metrics import custom_metric

                da = custom_metric(self.values["metric"], self.result)
                extra = [d for d in da.dims if d not in ("draw", "quarter")]
                if extra:
                    da = da.sum(extra)
                return charts.fan_frame(da.to_dataset(name="custom").assign_coords(quarter=self.result.quarter),
                                        "custom")
            _, name, scale = OUTPUTS[self.values["output"]]
            return charts.fan_frame(self.result, name, scale=scale)
        if view == "tornado":
            return tornado_frame(self.scenario, self.values["output"], quarter=self.tornado_quarter)
        raise ValueError(f"unknown view {view!r}; views: {list(self.VIEWS)}")

    def chart(self, view=None):
        view = view or self.values["view"]
        f = self.chart_data(view)
        label = OUTPUTS[self.values["output"]][0]
        case = f"{self.state.draws} draws, seed {self.state.seed}"
        if view == "fan chart":
            if self._metric_active():
                from .metrics import custom_metric

                units = custom_metric(self.values["metric"], self.result.isel(draw=slice(0, 2))).attrs.get("units")
                return charts.fan_chart(f, f"Custom metric {self.values['metric']}", f"Custom metric [{units}]", case)
            return charts.fan_chart(f, label.split(" [")[0], label, case)
        unit = label[label.index("[") + 1:label.index("]")]
        return charts.tornado_chart(f, f"What moves {label.split(' [')[0].lower()} in {self.tornado_quarter}",
                                    f"Change from base case [{unit}]")

    def summary(self):
        from .uncertainty import quantiles

        out = {}
        for key in ("capex_usd_bn", "mtia_share_h100e", "emissions_mtco2"):
            s = _output_series(self.result, key)
            year = s.sel(quarter=s.quarter.dt.year == 2027)
            agg = year.mean("quarter") if "share" in key else year.sum("quarter")
            q = quantiles(agg, q=(0.05, 0.5, 0.95)).values
            out[f"{key}_2027"] = tuple(float(x) for x in q)
        return out

    def static_view(self):
        return self.chart("fan chart")


class DataExplorer(Explorer):
    """Browse the sourced data tables with their sources: pick a table, filter rows, see sources."""

    title = "Data explorer"
    TABLES = ("sources",) + charts.VALUE_TABLES
    CONTROLS = {
        "table": Control("select", "table", default="chip_specs", options=TABLES),
        "filter": Control("text", "rows containing", default=""),
    }
    max_rows = 60

    def chart_data(self, view=None):
        """The filtered rows of the selected table, with their sources joined (publisher, title, url)."""
        from .data import load_tables

        tables = load_tables()
        table = tables[self.values["table"]].copy()
        text = (self.values.get("filter") or "").strip().lower()
        if text:
            hay = table.astype(str).apply(lambda col: col.str.lower()).agg(" ".join, axis=1)
            table = table[hay.str.contains(text, regex=False)]
        if "source_ids" in table.columns:
            sources = tables["sources"].set_index("source_id")

            def describe(ids):
                parts = [i.strip() for i in str(ids or "").split(";") if i.strip()]
                return " | ".join(f"{i}: {sources.loc[i, 'publisher']}, {sources.loc[i, 'title']} ({sources.loc[i, 'url']})"
                                  for i in parts if i in sources.index)

            table["sources"] = table["source_ids"].map(describe)
        return table.reset_index(drop=True)

    def chart(self, view=None):
        f = self.chart_data()
        if {"low", "base", "high"} <= set(f.columns) and len(f) and "unit" in f.columns and f["unit"].nunique() == 1:
            keys = [c for c in f.columns if c in ("generation", "site", "parameter", "workload", "quarter", "year",
                                                    "measure", "date_given", "date", "quantity")]
            item = f[keys].astype(str).agg(" / ".join, axis=1)
            frame = pd.DataFrame({"item": item, "low": f["low"].astype(float), "base": f["base"].astype(float),
                                  "high": f["high"].astype(float), "kind": f["kind"].astype(str)}).head(self.max_rows)
            unit = str(f["unit"].iloc[0])
            return charts.value_range_chart(frame, f"{self.values['table']}: base values and low-high ranges",
                                            f"Value [{unit}]")
        return charts.provenance_kinds_chart(charts.provenance_kinds_frame())

    def table_html(self):
        """The filtered rows as an HTML table (escaped), at most :attr:`max_rows` rows."""
        f = self.chart_data()
        note = f"<p>{len(f)} rows" + (f", first {self.max_rows} shown" if len(f) > self.max_rows else "") + "</p>"
        return note + f.head(self.max_rows).to_html(index=False, escape=True, na_rep="")

    def _build(self):
        import ipywidgets as w

        box = super()._build()
        self._table = w.HTML(self.table_html(), layout=w.Layout(max_height="420px", overflow="auto"))
        return w.VBox([*box.children[:-1], self._table])  # no scenario files for data

    def _refresh(self):
        super()._refresh()
        if getattr(self, "_table", None) is not None:
            self._table.value = self.table_html()

    def static_view(self):
        return charts.provenance_kinds_chart(charts.provenance_kinds_frame())

    def show(self):
        """The widget UI; in report mode the kinds chart and the default table, kernel-free."""
        from IPython.display import HTML, display

        if is_report_mode():
            display_chart(self.static_view())
            display(HTML(self.table_html()))
        else:
            display(self.widget)
