"""Energy and sites (notebook 04): :class:`PowerExplorer` on the energy stage (dated contracts, the whole
fleet's electricity, Scope 2 by both methods, the power-constrained build) and the smaller
:class:`EnergyExplorer` (power against capacity; energy, cost and the AI load's emissions under the dated
contract mix, with the delay of Hyperion's dedicated plants as its knob)."""

from __future__ import annotations

import re

from .. import charts
from .base import Control, Explorer, ScenarioState
from .grids import DELAY_PARAMETERS, delay_emissions_grid_frame

__all__ = ["EnergyExplorer", "PowerExplorer", "electricity_by_source_frame", "electricity_by_site_frame",
           "contract_timeline_frame", "emissions_methods_frame", "fleet_vs_reported_frame", "build_comparison_frame",
           "power_delay_grid_frame", "power_delay_effect"]


class EnergyExplorer(Explorer):
    """Energy and sites: power ramp against capacity; energy, cost and emissions (dated contract mix)."""

    title = "Energy and sites explorer"
    VIEWS = ("site power vs capacity", "fleet power vs capacity", "energy, cost and emissions")
    CONTROLS = {
        "hyperion_power_delay_quarters": Control("slider", "Hyperion gas plants' delay [quarters]", min=0.0,
                                                 max=8.0, step=1.0, param="hyperion_power_delay_quarters"),
        "utilisation": Control("slider", "utilisation [share of TDP]", min=0.3, max=1.0, step=0.05,
                               param="utilisation"),
        "view": Control("select", "chart", default=VIEWS[2], options=VIEWS),
    }

    def _case(self):
        return (f"Hyperion's plants {self.values['hyperion_power_delay_quarters']:.0f} quarters late, "
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
        from ..model import annual

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
        name = "hyperion_power_delay_quarters"
        delay = float(self.values[name])
        f = delay_emissions_grid_frame(self.scenario, name, sorted({0.0, 2.0, 4.0, delay}))
        return charts.emissions_delay_chart(f, delay_quarters=delay, what=DELAY_PARAMETERS[name])


# =========================================================================== the energy stage (issue 12)
# Frames (tidy DataFrames) and charts of the energy stage, chipsuite.model.energy. Charts live here, not in
# charts.py: one module per question.

import altair as alt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

#: supply sources in chart order, with labels and colours
SOURCE_LABELS = {"grid": "grid", "gas": "gas (dedicated plants)", "nuclear": "nuclear", "solar": "solar",
                 "wind": "wind", "geothermal": "geothermal"}
SOURCE_COLORS = alt.Scale(domain=list(SOURCE_LABELS.values()),
                          range=["#9e9e9e", "#d95f02", "#7570b3", "#e6ab02", "#1b9e77", "#a6761d"])
TECH_COLORS = alt.Scale(domain=["gas", "nuclear", "solar", "wind", "geothermal", "storage"],
                        range=["#d95f02", "#7570b3", "#e6ab02", "#1b9e77", "#a6761d", "#666666"])
BUILDS = {0.0: "capex-constrained", 1.0: "power-constrained"}


def _title(text, case):
    return alt.Title(text=text, subtitle=charts.source_line(case), anchor="start")


def _years(result, da, how="sum"):
    from ..model import annual

    return annual(da.isel(draw=0) if "draw" in da.dims else da, how)


def _twh_rows(by_year_mwh, key, label):
    """Rows ``{"year", key: label, "twh"}`` of an annual series in MWh (``year`` dim) [TWh]."""
    twh = by_year_mwh / 1e6
    return [{"year": str(int(y)), key: label, "twh": float(v)} for y, v in zip(twh.year.values, twh.values)]


def _twh_bars(frame, key, title, legend, case, colors=None):
    """Stacked bars of ``twh`` per year, one colour per ``key`` (the legend titled ``legend``); ``colors``:
    ``(domain, range)`` of the colour scale, also the legend's and the stack's order (default: Altair's)."""
    return charts._chart_or_spec(_twh_bars_build, (case, key, title, legend, colors), (frame,), text=(0,))


def _twh_bars_build(frames, case, key, title, legend, colors):
    color = {} if colors is None else {"scale": alt.Scale(domain=list(colors[0]), range=list(colors[1])),
                                       "sort": list(colors[0])}
    chart = alt.Chart(frames[0], title=_title(title, case), width=charts.WIDTH,
                      height=charts.HEIGHT).mark_bar().encode(
        x=alt.X("year:O", title="Year"),
        y=alt.Y("twh:Q", stack="zero", title="Electricity [TWh per year]"),
        color=alt.Color(f"{key}:N", title=legend, **color),
        tooltip=["year:O", f"{key}:N", alt.Tooltip("twh:Q", format=",.2f", title="TWh")])
    return chart if colors is None else chart.encode(order=alt.Order(f"{key}:N"))


def electricity_by_source_frame(result):
    """Whole-fleet electricity per year by supply source: ``year``, ``source``, ``twh`` [TWh]."""
    rows = []
    for k, label in SOURCE_LABELS.items():
        rows += _twh_rows(_years(result, result[f"supply_{k}_mwh"].sum("site")), "source", label)
    return pd.DataFrame(rows)


def electricity_by_source_chart(frame, case="base case"):
    """Stacked bars: electricity per year by source (dated contracts, then grid)."""
    return _twh_bars(frame, "source", "Electricity of the whole fleet by supply source", "Source", case,
                     colors=(tuple(SOURCE_LABELS.values()), tuple(SOURCE_COLORS.range)))


def electricity_by_site_frame(result):
    """Electricity per year by site, the rest of the fleet split into its AI and non-AI load [TWh]."""
    rows = []
    ai = result.energy_mwh
    for site in ai.site.values:
        label = "rest of fleet, AI" if site == "rest_of_fleet" else charts.SITE_LABELS.get(str(site), str(site))
        rows += _twh_rows(_years(result, ai.sel(site=site)), "site", label)
    rows += _twh_rows(_years(result, result.non_ai_electricity_mwh), "site", "non-AI load (owned and leased)")
    return pd.DataFrame(rows)


def electricity_by_site_chart(frame, case="base case"):
    """Stacked bars: electricity per year by site and the non-AI base."""
    return _twh_bars(frame, "site", "Electricity by site: AI load and the non-AI base", "Site or load", case)


def contract_timeline_frame(scenario=None, tables=None):
    """Every contract of ``energy_contracts.csv`` with its dates as the model uses them (a site's power delay
    moves its site contracts): ``contract``, ``technology``, ``site``, ``start``, ``end``, ``mw`` (at the
    scenario's ``energy_contract_position``), ``delayed_quarters``."""
    from ..data import load_tables
    from ..model.energy import contract_capacity_mw
    from ..scenario import Scenario

    scenario = Scenario.default() if scenario is None else scenario
    c = (load_tables() if tables is None else tables)["energy_contracts"]
    mw = contract_capacity_mw(c["low"].to_numpy(float), c["base"].to_numpy(float), c["high"].to_numpy(float),
                              np.array([scenario.energy_contract_position]))[0]
    rows = []
    for i, row in c.reset_index(drop=True).iterrows():
        delay = getattr(scenario, f"{row['site']}_power_delay_quarters", 0.0) if row["site"] != "fleet" else 0.0
        shift = pd.DateOffset(months=int(round(3 * delay)))
        plant = re.sub(r"\s*\([^)]*\)", "", str(row["plant"]))  # "Clinton ... (IL, MISO Zone 4)" -> "Clinton ..."
        rows.append({"contract": f"{row['counterparty']}: {plant}", "contract_id": row["contract_id"],
                     "technology": row["technology"],
                     "site": row["site"], "kind": row["contract_type"], "start": row["start_quarter"] + shift,
                     "end": row["end_quarter"] + shift, "mw": float(mw[i]), "delayed_quarters": float(delay)})
    return pd.DataFrame(rows).sort_values("start").reset_index(drop=True)


def contract_timeline_chart(frame, case="base case", end="2036-01-01"):
    """Gantt bars: when each contract is in force (to ``end``), coloured by technology, MW in the tooltip."""
    f = frame.assign(end=frame["end"].clip(upper=pd.Timestamp(end)))
    return charts._chart_or_spec(_contract_timeline_build, (case, tuple(f["contract"])), (f,), text=(0,))


def _contract_timeline_build(frames, case, contracts):
    return alt.Chart(frames[0], title=_title("Dated supply contracts", case), width=charts.WIDTH,
                     height=16 * len(contracts)).mark_bar().encode(
        x=alt.X("start:T", title="In force from start to end quarter (cut at 2036)"),
        x2="end:T",
        y=alt.Y("contract:N", sort=list(contracts), title=None, axis=alt.Axis(labelLimit=360)),
        color=alt.Color("technology:N", title="Technology", scale=TECH_COLORS),
        tooltip=[alt.Tooltip("contract:N", title="Contract"), alt.Tooltip("site:N", title="Site"),
                 alt.Tooltip("kind:N", title="Kind"), alt.Tooltip("mw:Q", format=",.0f", title="MW"),
                 alt.Tooltip("start:T", format="%Y-%m", title="Start"), alt.Tooltip("end:T", format="%Y-%m", title="End"),
                 alt.Tooltip("delayed_quarters:Q", title="Delay [quarters]")])


def emissions_methods_frame(result, tables=None):
    """Scope 2 per year, both methods [MtCO2], and Meta's reported figures: ``year``, ``method``, ``mtco2``,
    ``kind`` (model or reported)."""
    from ..data import load_tables

    rows = []
    for name, label in (("emissions_location_tco2", "location-based"), ("emissions_market_tco2", "market-based")):
        by_year = _years(result, result[name].sum("site")) / 1e6
        rows += [{"year": str(int(y)), "method": label, "mtco2": float(v), "kind": "model"}
                 for y, v in zip(by_year.year.values, by_year.values)]
    fe = (load_tables() if tables is None else tables)["fleet_energy_reported"]
    for measure, label in (("scope2_location_based_dc", "location-based"), ("scope2_market_based", "market-based")):
        for _, row in fe[fe["measure"] == measure].iterrows():
            rows.append({"year": str(int(row["year"])), "method": label, "mtco2": float(row["base"]) / 1e6,
                         "kind": "reported"})
    return pd.DataFrame(rows)


def emissions_methods_chart(frame, case="base case"):
    parts = (frame[frame["kind"] == "model"], frame[frame["kind"] == "reported"])
    return charts._chart_or_spec(_emissions_methods_build, (case,), parts, text=(0,))


def _emissions_methods_build(parts, case):
    model, reported = parts
    color = alt.Color("method:N", title="GHG Protocol Scope 2 method",
                      scale=alt.Scale(domain=["location-based", "market-based"], range=["#636363", "#31a354"]))
    lines = alt.Chart(model).mark_line(point=True).encode(
        x=alt.X("year:O", title="Year"), y=alt.Y("mtco2:Q", title="Scope 2 emissions [MtCO2 per year]"),
        color=color, tooltip=["year:O", "method:N", alt.Tooltip("mtco2:Q", format=",.2f", title="MtCO2")])
    points = alt.Chart(reported).mark_point(shape="diamond", size=90, filled=True, color="black").encode(
        x="year:O", y="mtco2:Q", tooltip=["year:O", "method:N", alt.Tooltip("mtco2:Q", format=",.3f",
                                                                          title="reported MtCO2")])
    return alt.layer(lines, points, title=_title("Location- vs market-based emissions (diamonds: Meta reported)",
                                                 case)).properties(width=charts.WIDTH, height=charts.HEIGHT)


def fleet_vs_reported_frame(result, tables=None):
    """Modelled data-centre electricity (AI and non-AI) and Meta's reported totals and leased figures [TWh]."""
    from ..data import load_tables

    rows = []
    for name, label in (("energy_mwh", "AI load (model)"), ("non_ai_electricity_mwh", "non-AI load (model)")):
        da = result[name].sum("site") if "site" in result[name].dims else result[name]
        by_year = _years(result, da) / 1e6
        rows += [{"year": str(int(y)), "series": label, "twh": float(v), "kind": "model"}
                 for y, v in zip(by_year.year.values, by_year.values)]
    scenario_json = result.attrs.get("scenario")
    if scenario_json:  # before the horizon: the calibrated non-AI trend (the calibration years)
        from ..scenario import Scenario

        s = Scenario.from_json(scenario_json)
        first = min(int(r["year"]) for r in rows)
        rows += [{"year": str(y), "series": "non-AI load (model)", "kind": "model",
                  "twh": (s.non_ai_electricity_2020 + s.non_ai_electricity_growth * (y - 2020)) / 1e6}
                 for y in range(2019, first)]
    fe = (load_tables() if tables is None else tables)["fleet_energy_reported"]
    for measure, label in (("electricity_total", "reported, all data centres"),
                           ("electricity_leased", "reported, leased")):
        for _, row in fe[fe["measure"] == measure].iterrows():
            rows.append({"year": str(int(row["year"])), "series": label, "twh": float(row["base"]) / 1e6,
                         "kind": "reported"})
    return pd.DataFrame(rows)


def fleet_vs_reported_chart(frame, case="base case", last_year=2027):
    f = frame[frame["year"].astype(int) <= last_year]
    parts = (f[f["kind"] == "model"], f[f["kind"] == "reported"])
    return charts._chart_or_spec(_fleet_vs_reported_build, (case,), parts, text=(0,))


def _fleet_vs_reported_build(parts, case):
    bars = alt.Chart(parts[0]).mark_bar().encode(
        x=alt.X("year:O", title="Year"), y=alt.Y("twh:Q", stack="zero", title="Electricity [TWh per year]"),
        color=alt.Color("series:N", title="Model", scale=alt.Scale(range=["#3182bd", "#9ecae1"])),
        tooltip=["year:O", "series:N", alt.Tooltip("twh:Q", format=",.2f", title="TWh")])
    points = alt.Chart(parts[1]).mark_point(filled=True, size=80).encode(
        x="year:O", y="twh:Q", shape=alt.Shape("series:N", title="Meta reported"),
        color=alt.value("black"), tooltip=["year:O", "series:N", alt.Tooltip("twh:Q", format=",.2f", title="TWh")])
    return alt.layer(bars, points, title=_title("Whole-fleet electricity against Meta's reports", case)).resolve_scale(
        color="independent", shape="independent").properties(width=charts.WIDTH, height=charts.HEIGHT)


def build_comparison_frame(results):
    """Capex- vs power-constrained build: ``build``, ``year``, ``measure``, ``value``; ``results`` maps a
    build label to a model result. Measures: IT power installed at year end [GW], IT power the sites
    can host [GW], compute short of power (annual mean) [million H100e], of it rented [million H100e]."""
    rows = []
    for build, r in results.items():
        m = {"IT power installed, year end [GW]": (_years(r, r.installed_it_power_mw.sum("site"), "last"), 1e3),
             "IT power sites can host, year end [GW]": (_years(r, (r.power_capacity_mw / r.pue).sum("site"),
                                                               "last"), 1e3),
             "idle or short of power, mean [million H100e]": (_years(
                 r, r.h100e_total - r.h100e_powered) / 4, 1e6)}
        for measure, (da, scale) in m.items():
            rows += [{"build": build, "year": str(int(y)), "measure": measure, "value": float(v) / scale}
                     for y, v in zip(da.year.values, da.values) if int(y) >= 2024]
    return pd.DataFrame(rows)


def build_comparison_chart(frame, case="base case"):
    """Side by side: installed IT power against what the sites can host, and compute without power."""
    measures = tuple(frame["measure"].unique())
    parts = tuple(frame[frame["measure"] == measure] for measure in measures)
    return charts._chart_or_spec(_build_comparison_build, (case, measures), parts, text=(0,))


def _build_comparison_build(parts, case, measures):
    panels = []
    for measure, part in zip(measures, parts):
        panels.append(alt.Chart(part, title=measure, width=250,
                                height=charts.HEIGHT - 60).mark_line(point=True).encode(
            x=alt.X("year:O", title="Year"), y=alt.Y("value:Q", title=None),
            color=alt.Color("build:N", title="Build", scale=alt.Scale(domain=list(BUILDS.values()),
                                                                      range=["#1f77b4", "#d62728"])),
            tooltip=["build:N", "year:O", alt.Tooltip("value:Q", format=",.2f")]))
    return alt.hconcat(*panels, title=_title("Capex- vs power-constrained build", case))


def power_delay_grid_frame(scenario, site="hyperion", delays=tuple(range(0, 9))):
    """Power-constrained build for each power delay of ``site`` (one vectorised run): ``delay``
    [quarters], ``year``, ``short_mh100e`` (compute short of power, annual mean) [million H100e],
    ``extra_mh100e`` (its change against no delay), ``site_power_gw`` (the site's power at year end) [GW]."""
    from .grids import run_points

    name = f"{site}_power_delay_quarters"
    points = [{name: float(d), "build_constraint": 1.0} for d in delays]
    r = run_points(scenario, points)
    from ..model import annual

    short = annual(r.power_shortfall_h100e) / 4 / 1e6
    power = annual(r.site_power_mw.sel(site=site), "last") / 1e3
    rows = []
    for i, d in enumerate(delays):
        for y in short.year.values:
            if int(y) < 2026:
                continue
            rows.append({"delay": float(d), "year": str(int(y)), "short_mh100e": float(short.sel(draw=i, year=y)),
                         "extra_mh100e": float(short.sel(draw=i, year=y) - short.sel(draw=0, year=y)),
                         "site_power_gw": float(power.sel(draw=i, year=y))})
    return pd.DataFrame(rows)


def power_delay_chart(frame, delay=4.0, site="hyperion", case="power-constrained build, base case"):
    """Kernel-free: a slider (bound param) for the site's power delay; bars = extra compute short of power
    against no delay, line = the site's power at year end."""
    label = charts.SITE_LABELS.get(site, site)
    param = alt.param(name="delay_quarters", value=float(delay), bind=alt.binding_range(
        min=float(frame["delay"].min()), max=float(frame["delay"].max()), step=1,
        name=f"{label}: power delay [quarters] "))
    base = alt.Chart(frame).add_params(param).transform_filter(alt.datum.delay == param)
    bars = base.mark_bar(color="#d62728").encode(
        x=alt.X("year:O", title="Year"),
        y=alt.Y("extra_mh100e:Q", title="Extra compute short of power [million H100e, annual mean]"),
        tooltip=["year:O", alt.Tooltip("extra_mh100e:Q", format=",.2f", title="extra, million H100e"),
                 alt.Tooltip("short_mh100e:Q", format=",.1f", title="all short of power, million H100e")])
    power = alt.Chart(frame).transform_filter(alt.datum.delay == param).mark_line(point=True, color="#333333").encode(
        x="year:O", y=alt.Y("site_power_gw:Q", title=f"{label} power at year end [GW]"),
        tooltip=["year:O", alt.Tooltip("site_power_gw:Q", format=",.2f", title="GW")])
    return alt.layer(bars, power, title=_title(f"{label}: a later power supply and the compute it strands",
                                               case)).resolve_scale(y="independent").properties(
        width=charts.WIDTH, height=charts.HEIGHT)


def power_delay_effect(scenario=None, site="hyperion", quarters=4.0):
    """What a power delay of ``site`` does in the power-constrained build, rent mode (purchases wait for
    power, the capability that finds none is rented). Returns a dict: ``extra_h100e_years`` (sum over
    2022-2032 of the extra compute short of power x 1/4 year) [H100e-years], ``extra_h100e_years_2028_2030``
    (the same over 2028-2030, while Hyperion's plants are late) [H100e-years], ``by_year`` [H100e, annual
    mean], ``extra_rental_cost_usd`` (rent mode) [USD], ``capex_by_year`` (change of headline capex) [USD],
    ``base_h100e_years`` (all compute short of power without the delay) [H100e-years]."""
    from ..model import annual
    from ..scenario import Scenario
    from .grids import run_points

    scenario = Scenario.default() if scenario is None else scenario
    name = f"{site}_power_delay_quarters"
    r = run_points(scenario, [{name: 0.0, "build_constraint": 1.0, "power_shortfall_mode": 0.0},
                              {name: float(quarters), "build_constraint": 1.0, "power_shortfall_mode": 0.0}])
    d = r.power_shortfall_h100e.isel(draw=1) - r.power_shortfall_h100e.isel(draw=0)
    cost = r.power_rental_cost_usd.isel(draw=1) - r.power_rental_cost_usd.isel(draw=0)
    by_year = annual(d) / 4
    capex = annual(r.capex_usd.isel(draw=1) - r.capex_usd.isel(draw=0))
    years = by_year.year.values
    return {"extra_h100e_years": float(d.sum()) / 4,
            "extra_h100e_years_2028_2030": float(by_year.sel(year=(years >= 2028) & (years <= 2030)).sum()),
            "by_year": {int(y): float(v) for y, v in zip(years, by_year.values)},
            "capex_by_year": {int(y): float(v) for y, v in zip(capex.year.values, capex.values)},
            "extra_rental_cost_usd": float(cost.sum()),
            "base_h100e_years": float(r.power_shortfall_h100e.isel(draw=0).sum()) / 4}


class PowerExplorer(Explorer):
    """Energy supply and power (issue 12): dated contracts per site, the whole fleet against Meta's reports,
    location- and market-based Scope 2, and the capex- vs power-constrained build with a site power delay."""

    title = "Energy supply and power explorer"
    VIEWS = ("power vs capex build", "electricity by source", "electricity by site", "contract timeline",
             "location vs market emissions", "fleet electricity vs reported")
    CONTROLS = {
        "hyperion_power_delay_quarters": Control("slider", "Hyperion gas plants' delay [quarters]", min=0.0,
                                                 max=8.0, step=1.0, param="hyperion_power_delay_quarters"),
        "build_constraint": Control("slider", "build: 0 = capex-, 1 = power-constrained", min=0.0, max=1.0,
                                    step=1.0, param="build_constraint"),
        "power_shortfall_mode": Control("slider", "no power: 0 = rent, 1 = defer", min=0.0, max=1.0, step=1.0,
                                        param="power_shortfall_mode"),
        "renewable_matching_share": Control("slider", "renewable matching, market-based [share]", min=0.5, max=1.0,
                                            step=0.05, param="renewable_matching_share"),
        "view": Control("select", "chart", default=VIEWS[0], options=VIEWS),
    }

    def __init__(self, *args, **kwargs):
        self._build_states = {}  # build_constraint value -> ScenarioState (see _build_result)
        super().__init__(*args, **kwargs)

    def _case(self):
        v = self.values
        return (f"{BUILDS[float(round(v['build_constraint']))]} build, Hyperion delay "
                f"{v['hyperion_power_delay_quarters']:.0f} q, matching {v['renewable_matching_share']:.0%}")

    @property
    def result(self):
        """The model result of the current scenario; with one draw the one of :meth:`_build_result`
        (shared with the *power vs capex build* view, so a change runs the model once for every view)."""
        if self.state.draws == 1:
            return self._build_result(self.scenario)
        return self.state.result

    def _build_result(self, scenario):
        """``chipsuite.run(scenario)`` (one draw, the base case), from a :class:`ScenarioState` (its
        :class:`~chipsuite.model.ModelCache`) per value of ``build_constraint``: each build keeps its own
        cache, so moving a control re-runs each build incrementally (a control the build does not read
        takes the formulas-only fast path) and flipping the build switch runs nothing."""
        states = self._build_states
        key = float(scenario.build_constraint)
        if key not in states:
            if len(states) >= 3:  # 0, 1 and one blend at most
                states.pop(next(k for k in states if k not in (0.0, 1.0)))
            states[key] = ScenarioState(scenario, seed=self.state.seed)
        states[key].scenario = scenario
        return states[key].result

    def _builds(self):
        """``{build label: result}`` of the current scenario as a capex- and as a power-constrained build
        (base case, one draw each; equal to :func:`~chipsuite.explorers.grids.run_points` over the two
        values of ``build_constraint``, tested)."""
        return {BUILDS[b]: self._build_result(self.scenario.replace(build_constraint=b)) for b in (0.0, 1.0)}

    def chart_data(self, view=None):
        view = view or self.values["view"]
        if view == "power vs capex build":
            return build_comparison_frame(self._builds())
        r = self.result
        if view == "electricity by source":
            return electricity_by_source_frame(r)
        if view == "electricity by site":
            return electricity_by_site_frame(r)
        if view == "contract timeline":
            return contract_timeline_frame(self.scenario)
        if view == "location vs market emissions":
            return emissions_methods_frame(r)
        if view == "fleet electricity vs reported":
            return fleet_vs_reported_frame(r)
        raise ValueError(f"unknown view {view!r}; views: {list(self.VIEWS)}")

    def chart(self, view=None):
        view = view or self.values["view"]
        f = self.chart_data(view)
        draw = {"power vs capex build": build_comparison_chart, "electricity by source": electricity_by_source_chart,
                "electricity by site": electricity_by_site_chart, "contract timeline": contract_timeline_chart,
                "location vs market emissions": emissions_methods_chart,
                "fleet electricity vs reported": fleet_vs_reported_chart}[view]
        case = self._case()
        if view == "power vs capex build":
            case = f"both builds, Hyperion delay {self.values['hyperion_power_delay_quarters']:.0f} q"
        return draw(f, case)

    def summary(self):
        """Key numbers of the current scenario (and its power-constrained twin for the delay effect)."""
        from ..model import annual

        r = self.result.isel(draw=0)
        elec = annual(r.fleet_electricity_mwh) / 1e6
        loc = annual(r.emissions_location_tco2.sum("site")) / 1e6
        mkt = annual(r.emissions_market_tco2.sum("site")) / 1e6
        supply = {k: annual(r[f"supply_{k}_mwh"].sum("site")) for k in SOURCE_LABELS}
        total = sum(supply.values())
        fe = self._reported()
        return {
            "electricity_twh": {int(y): float(elec.sel(year=y)) for y in (2023, 2024, 2025, 2027, 2030)},
            "reported_twh": fe,
            "location_mtco2": {int(y): float(loc.sel(year=y)) for y in range(2025, 2031)},
            "market_mtco2": {int(y): float(mkt.sel(year=y)) for y in range(2025, 2031)},
            "share_2030": {k: float(v.sel(year=2030) / total.sel(year=2030)) for k, v in supply.items()},
        }

    @staticmethod
    def _reported():
        from ..data import load_tables

        fe = load_tables()["fleet_energy_reported"]
        rows = fe[fe["measure"] == "electricity_total"]
        return {int(y): float(v) / 1e6 for y, v in zip(rows["year"], rows["base"])}

    def static_view(self):
        """Kernel-free: the capex- vs power-constrained build side by side (the live default view), above the
        power-constrained build over Hyperion delays of 0-8 quarters (a slider)."""
        frame = power_delay_grid_frame(self.scenario)
        return alt.vconcat(self.chart("power vs capex build"), power_delay_chart(frame, delay=4.0),
                           title="Hyperion's power delay: capex- vs power-constrained build")
