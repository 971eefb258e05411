"""Altair chart builders: small functions from a tidy, reduced DataFrame to a chart.

Two kinds of functions live here:

- ``*_frame(result, ...)`` reduce a model result (``chipsuite.run``) or the data tables to a small
  tidy DataFrame with only the columns a chart needs (draw 0 or quantiles, never a whole
  ensemble). Units are in the column names (``h100e_million``, ``capex_usd_bn``, ``power_mw``).
- ``*_chart(frame, ...)`` build an Altair chart from such a frame: explicit encoding types,
  a title with a source line as subtitle, and axis titles with units in brackets.

For the interactive path, :func:`fan_spec` gives the finished Vega-Lite dict of a fan chart for new
data from a cached template (Altair builds and validates it once), equal to ``fan_chart(...).to_dict()``.
Most other ``*_chart`` builders have a template too (:func:`template_spec`): inside
``with spec_mode():`` they return their Vega-Lite dict, equal to ``chart.to_dict()``, with only the
data rows and the case text put into a cached spec (what ``Explorer.chart_spec`` uses on a change).

Charts display offline with :func:`chipsuite.enable_offline_rendering` or inside an
:class:`chipsuite.OfflineChart`.

>>> import chipsuite
>>> from chipsuite import charts
>>> frame = charts.mtia_share_frame(chipsuite.run())      # doctest: +SKIP
>>> charts.mtia_share_chart(frame)                          # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import hashlib
import json

import altair as alt
import numpy as np
import pandas as pd

from . import display

__all__ = [
    "SOURCE_DATA",
    "source_line",
    "event_frame",
    "with_events",
    "fleet_by_generation_frame",
    "fleet_by_generation_chart",
    "fleet_group_frame",
    "event_lanes",
    "mtia_share_frame",
    "mtia_share_chart",
    "cadence_comparison_chart",
    "perf_per_watt_frame",
    "perf_per_watt_chart",
    "nre_savings_frame",
    "nre_savings_chart",
    "capex_annual_frame",
    "capex_annual_chart",
    "capex_quarterly_frame",
    "capex_quarterly_chart",
    "capex_parts_frame",
    "capex_parts_chart",
    "dependence_shares_frame",
    "dependence_shares_chart",
    "supplier_frame",
    "supplier_chart",
    "hhi_frame",
    "hhi_chart",
    "breakeven_chart",
    "min_volume_chart",
    "site_power_frame",
    "site_power_chart",
    "fleet_power_frame",
    "fleet_power_chart",
    "energy_annual_frame",
    "energy_annual_chart",
    "emissions_delay_chart",
    "fan_frame",
    "fan_chart",
    "fan_spec",
    "spec_mode",
    "template_spec",
    "tornado_chart",
    "scenario_comparison_chart",
    "provenance_kinds_frame",
    "provenance_kinds_chart",
    "value_range_chart",
]

#: the data behind every model chart (full list with URLs: data/sources.csv)
SOURCE_DATA = "data: Meta releases and filings, Nvidia, EIA and others; see data/sources.csv"

WIDTH = 520
HEIGHT = 260
VENDOR_COLORS = alt.Scale(domain=["MTIA", "Nvidia", "AMD", "Google TPU", "fleet"],
                          range=["#1f77b4", "#76b900", "#d62728", "#ff7f0e", "#555555"])
#: model vendor code (``vendor`` coordinate, ``chip_vendor`` of a supplier) -> label of its chip family
VENDOR_LABELS = display.VENDOR_NAMES
#: per chip family, shades from light to dark (generations and suppliers of a family share a hue)
FAMILY_SHADES = {
    "MTIA": ["#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c", "#08306b"],
    "Nvidia": ["#edf8e9", "#d9f0d3", "#c7e9c0", "#b2dfa6", "#a1d99b", "#8ccd87", "#74c476", "#5bb462", "#41ab5d",
               "#2f974c", "#238b45", "#006d2c", "#00441b"],
    "AMD": ["#fcbba1", "#fb6a4a", "#cb181d", "#67000d"],
    "Google TPU": ["#fdd0a2", "#fd8d3c", "#d94801"],
}


#: chart defaults for every chipsuite chart (the ``"chipsuite"`` Altair theme, enabled on import):
#: horizontal labels on x axes (years read without turning the head), legends wide enough for
#: their labels, no label of an axis drawn over another
THEME_CONFIG = {
    "axisX": {"labelAngle": 0, "labelOverlap": "greedy"},
    "axisY": {"labelOverlap": "greedy"},
    "legend": {"labelLimit": 420, "titleLimit": 420},
    "title": {"subtitleColor": "#666666", "subtitleFontSize": 10, "limit": 0},
}


@alt.theme.register("chipsuite", enable=True)
def _chipsuite_theme():
    return alt.theme.ThemeConfig({"config": THEME_CONFIG})


def source_line(case="base case"):
    """The source line shown under a chart title: model case and data sources."""
    if case is None:
        return f"Source: chipsuite data tables; {SOURCE_DATA}"
    return f"Source: chipsuite model, {case}; {SOURCE_DATA}"


def _title(text, case="base case"):
    return alt.Title(text=text, subtitle=source_line(case), anchor="start")


def _year_label(values):
    return [str(int(v)) for v in values]


def _draw_view(result, draw):
    """``result`` at one draw for a frame function: each variable is selected when read (equal to
    ``result.isel(draw=draw)[name]``, without selecting every variable of the result; a variable
    without a ``draw`` dim comes as it is, without isel's scalar ``draw`` coordinate)."""
    return _DrawView(result, draw)


class _DrawView:
    """Read-only stand-in for ``result.isel(draw=draw)``: ``view[name]``, ``view.name``, ``name in view``."""

    __slots__ = ("_result", "_draw")

    def __init__(self, result, draw):
        self._result, self._draw = result, draw

    def __getitem__(self, name):
        da = self._result[name]
        return da.isel(draw=self._draw) if "draw" in da.dims else da

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self._result.variables:
            return self[name]
        return getattr(self._result, name)

    def __contains__(self, name):
        return name in self._result


def _draw0(da):
    return da.isel(draw=0) if "draw" in da.dims else da


def _quarters(result):
    return pd.to_datetime(result.quarter.values)


def _annual(da, how="sum"):
    from .model import annual

    return annual(da, how)


# --------------------------------------------------------------------------- events


def event_frame(categories=None, start=None, end=None):
    """Dated events from ``events.csv`` (``date``, ``label``, ``category``), optionally filtered.

    categories : iterable of str, optional -- e.g. ``("capex", "deal")``
    start, end : str or Timestamp, optional -- keep events within ``[start, end]``

    Kept per content key of the data folder (:func:`chipsuite.data.content_key`: one ``stat`` per
    file, the files read again only after one changed, so an edited ``events.csv`` is seen); each
    call returns a new copy.
    """
    from .data import content_key

    categories = None if categories is None else tuple(categories)
    key = (content_key(), categories, start, end)
    if key not in _EVENT_FRAMES:
        if len(_EVENT_FRAMES) >= 64:
            _EVENT_FRAMES.clear()
        _EVENT_FRAMES[key] = _event_frame(categories, start, end)
    return _EVENT_FRAMES[key].copy()


_EVENT_FRAMES: dict = {}


def _event_frame(categories, start, end):
    from .data import load_tables

    events = load_tables()["events"][["date", "label", "category"]].copy()
    events["date"] = pd.to_datetime(events["date"])
    if categories is not None:
        events = events[events["category"].isin(list(categories))]
    if start is not None:
        events = events[events["date"] >= pd.Timestamp(start)]
    if end is not None:
        events = events[events["date"] <= pd.Timestamp(end)]
    return events.reset_index(drop=True)


EVENT_LANE_PX = 18  #: height of one lane of event markers [px]
EVENT_KEY_LINE_PX = 15  #: height of one line of the event key [px]


def _chart_dates(chart):
    """Dates in the data of ``chart`` (and its layers), for the extent of its time axis."""
    dates = []
    for part in [chart, *getattr(chart, "layer", [])]:
        dates += _frame_dates(getattr(part, "data", None))
    return dates


def _frame_dates(data):
    """First and last ``quarter`` and ``date`` of a DataFrame (``[]`` for anything else)."""
    dates = []
    if isinstance(data, pd.DataFrame):
        for col in ("quarter", "date"):
            if col in data.columns and len(data):
                dates += [pd.Timestamp(data[col].min()), pd.Timestamp(data[col].max())]
    return dates


def event_lanes(dates, start, end, width=WIDTH, min_gap_px=17.0):
    """Lane (0, 1, ...) of each event marker so that no two markers in a lane come closer than
    ``min_gap_px`` [px] on an axis of ``width`` [px] from ``start`` to ``end`` (greedy, in date order)."""
    span = max((pd.Timestamp(end) - pd.Timestamp(start)).total_seconds(), 1.0)
    last = []  # x of the last marker in each lane
    lanes = []
    for d in dates:
        x = (pd.Timestamp(d) - pd.Timestamp(start)).total_seconds() / span * width
        for i, previous in enumerate(last):
            if x - previous >= min_gap_px:
                last[i] = x
                lanes.append(i)
                break
        else:
            last.append(x)
            lanes.append(len(last) - 1)
    return lanes


def with_events(chart, events, height=HEIGHT, width=WIDTH):
    """Mark dated events on a time chart without a label that could collide.

    Each event is a dotted grey rule over the chart and a numbered marker on a strip under the
    time axis (markers that would touch move to a second lane); a key under the strip lists
    number, month and event, and every rule and marker carries the event as a tooltip.
    ``events``: a frame from :func:`event_frame`; an empty frame returns ``chart`` unchanged.
    """
    if events is None or len(events) == 0:
        return chart
    ev, layout = _event_layout(events, _chart_dates(chart), width)
    return _events_composed(chart, ev, *layout)


def _event_layout(events, chart_dates, width=WIDTH):
    """The rows of the event strip and key (``ev``) and the strip's layout ``(n_lanes, per_column,
    columns, width)``, for a chart whose data spans ``chart_dates``."""
    ev = events.sort_values("date").reset_index(drop=True).copy()
    ev["n"] = [str(i + 1) for i in range(len(ev))]
    ev["month"] = ev["date"].dt.strftime("%b %Y")
    dates = list(chart_dates) + list(ev["date"])
    start, end = min(dates), max(dates)
    ev["lane"] = event_lanes(ev["date"], start, end, width=width)
    n_lanes = int(ev["lane"].max()) + 1
    ev["y"] = ev["lane"] * EVENT_LANE_PX + EVENT_LANE_PX / 2
    columns = 2 if len(ev) > 5 else 1
    per_column = -(-len(ev) // columns)
    ev["kx"] = (ev.index // per_column) * (width / columns)
    ev["ky"] = (ev.index % per_column) * EVENT_KEY_LINE_PX + EVENT_KEY_LINE_PX / 2
    ev["key"] = ev["n"] + "  " + ev["month"] + ": " + ev["label"]
    return ev, (n_lanes, per_column, columns, width)


def _events_composed(chart, ev, n_lanes, per_column, columns, width):
    """:func:`with_events` of ``chart`` from the rows and layout of :func:`_event_layout` (reads
    nothing else from ``ev``: the layout is all of the structure)."""
    tooltip = [alt.Tooltip("n:N", title="Event"), alt.Tooltip("date:T", title="Date", format="%d %b %Y"),
               alt.Tooltip("label:N", title="What")]
    inner = chart.copy()
    title = inner.title
    inner.title = alt.Undefined  # the title (and source line) belongs to the whole chart
    rules = alt.Chart(ev).mark_rule(color="#999999", strokeDash=[2, 3]).encode(x=alt.X("date:T"), tooltip=tooltip)
    main = alt.layer(inner, rules).resolve_scale(color="independent")
    strip_base = alt.Chart(ev, width=width, height=n_lanes * EVENT_LANE_PX)
    x = alt.X("date:T", axis=None)
    y = alt.Y("y:Q", scale=None, axis=None, title="event marker lane [px]")
    markers = strip_base.mark_circle(size=190, color="#666666", opacity=1).encode(x=x, y=y, tooltip=tooltip)
    numbers = strip_base.mark_text(color="white", fontSize=9, fontWeight="bold", baseline="middle").encode(
        x=x, y=y, text="n:N", tooltip=tooltip)
    strip = alt.layer(markers, numbers).properties(view=alt.ViewBackground(stroke=None))
    key = alt.Chart(ev, width=width, height=per_column * EVENT_KEY_LINE_PX).mark_text(
        align="left", baseline="middle", fontSize=10, color="#444444", limit=width / columns - 8).encode(
        x=alt.X("kx:Q", scale=None, axis=None, title="key column [px]"),
        y=alt.Y("ky:Q", scale=None, axis=None, title="key line [px]"), text="key:N",
        tooltip=tooltip).properties(view=alt.ViewBackground(stroke=None))
    timeline = alt.vconcat(main, strip, spacing=4).resolve_scale(x="shared")
    return alt.vconcat(timeline, key, spacing=6, title=title)


# --------------------------------------------------------------------------- cadence and fleet


def fleet_by_generation_frame(result, draw=0):
    """Capability by generation, owned and rented: ``quarter``, ``generation``, ``h100e_million``,
    ``vendor`` (chip family: MTIA, Nvidia, AMD, Google TPU), ``sourcing`` (owned/rented). [million H100e]

    Owned rows are the installed capability (``h100e``) of every generation Meta ever owns; rented
    rows (generation label ``"<generation> (rented)"``) are the capability rented in clouds
    (``rented_h100e``) of every generation ever rented. Owned rows sum to ``h100e_total``, rented
    rows to ``rented_h100e_total``.
    """
    r = _draw_view(result, draw)
    vendors = {g: VENDOR_LABELS.get(str(v), str(v)) for g, v in zip(result.generation.values, result.vendor.values)}
    parts = []
    for sourcing, name in (("owned", "h100e"), ("rented", "rented_h100e")):
        if name not in r:
            continue
        da = r[name] / 1e6
        # one reduction, not one per generation
        totals = np.abs(da).sum([d for d in da.dims if d != "generation"]).values
        keep = [g for g, t in zip(da.generation.values, totals) if t > 0]
        if sourcing == "owned" and not keep:
            keep = list(da.generation.values[:1])
        f = da.sel(generation=keep).to_dataframe(name="h100e_million").reset_index()[
            ["quarter", "generation", "h100e_million"]]
        f["vendor"] = f["generation"].map(vendors)
        f["sourcing"] = sourcing
        if sourcing == "rented":
            f["generation"] = f["generation"].astype(str) + " (rented)"
        parts.append(f)
    frame = pd.concat(parts, ignore_index=True)
    frame["generation"] = frame["generation"].astype(str)
    return frame


#: generation groups of the fleet chart (at most eight colours): id -> (group label, colour); rented
#: capacity is one group per chip family
GENERATION_GROUPS = {
    **{g: ("Nvidia A100, H100, H200", "#a1d99b") for g in ("a100", "h100", "h200")},
    **{g: ("Nvidia Blackwell (B200, GB200, GB300)", "#41ab5d") for g in ("b200", "gb200", "gb300")},
    **{g: ("Nvidia Rubin and later", "#006d2c") for g in ("rubin", "rubin_ultra", "feynman")},
    **{g: ("AMD Instinct", "#d62728") for g in ("mi300x", "mi355x", "mi450")},
    **{g: ("MTIA v1, v2, 300", "#9ecae1") for g in ("mtia_v1", "mtia_v2", "mtia_300")},
    **{g: ("MTIA 400, 450, 500", "#2171b5") for g in ("mtia_400", "mtia_450", "mtia_500")},
}
RENTED_GROUPS = {"Nvidia": ("Nvidia, rented in clouds", "#c7e9c0"), "Google TPU": ("Google TPU, rented", "#fd8d3c"),
                 "AMD": ("AMD, rented", "#fcbba1"), "MTIA": ("MTIA, rented", "#deebf7")}
_GROUP_ORDER = ["Nvidia A100, H100, H200", "Nvidia Blackwell (B200, GB200, GB300)", "Nvidia Rubin and later",
                "Nvidia, rented in clouds", "AMD Instinct", "AMD, rented", "MTIA v1, v2, 300", "MTIA 400, 450, 500",
                "MTIA, rented", "Google TPU, rented"]


def fleet_group_frame(frame):
    """:func:`fleet_by_generation_frame` summed into the chart's groups: ``quarter``, ``group``,
    ``generations`` (display names), ``sourcing``, ``h100e_million`` [million H100e]."""
    f = frame.copy()
    base = f["generation"].str.replace(" (rented)", "", regex=False)

    def group(gen, vendor, sourcing):
        if sourcing == "rented":
            return RENTED_GROUPS.get(vendor, (f"{vendor}, rented", "#bbbbbb"))[0]
        return GENERATION_GROUPS.get(gen, (f"{vendor}, other", "#888888"))[0]

    f["group"] = [group(g, v, s) for g, v, s in zip(base, f["vendor"], f["sourcing"])]
    f["name"] = base.map(display.name)
    names = f.drop_duplicates(["group", "name"]).groupby("group", sort=False)["name"].agg(", ".join)
    out = f.groupby(["quarter", "group", "sourcing"], as_index=False, sort=False)["h100e_million"].sum()
    out["generations"] = out["group"].map(names)
    return out


def fleet_by_generation_chart(frame, case="base case", events=None):
    """Stacked area of H100-equivalents by generation group, owned and rented: at most eight colours,
    one hue per chip family (Nvidia greens, AMD red, MTIA blues, Google orange), older generations
    grouped, rented capacity paler."""
    f = fleet_group_frame(frame)
    present = set(f["group"])
    order = [g for g in _GROUP_ORDER if g in present] + sorted(present - set(_GROUP_ORDER))
    return _events_or_spec(_fleet_by_generation_build, (case, tuple(order)), (f,), events, text=(0,))


def _fleet_by_generation_build(frames, case, order):
    (f,) = frames
    order = list(order)
    colours = {**{v[0]: v[1] for v in GENERATION_GROUPS.values()}, **{v[0]: v[1] for v in RENTED_GROUPS.values()}}
    return alt.Chart(f, title=_title("Capability by chip generation, owned and rented", case),
                      width=WIDTH, height=HEIGHT).mark_area().encode(
        x=alt.X("quarter:T", title="Quarter"),
        y=alt.Y("h100e_million:Q", stack="zero", title="Capability [million H100e]"),
        color=alt.Color("group:N", sort=order, title="Generations",
                        scale=alt.Scale(domain=order, range=[colours.get(g, "#888888") for g in order])),
        order=alt.Order("group_order:Q"),
        tooltip=[alt.Tooltip("quarter:T", title="Quarter", format="%Y Q%q"), alt.Tooltip("group:N", title="Group"),
                 alt.Tooltip("generations:N", title="Generations"),
                 alt.Tooltip("sourcing:N", title="Owned or rented"),
                 alt.Tooltip("h100e_million:Q", title="H100e [million]", format=".2f")],
    ).transform_calculate(group_order=f"indexof({order!r}, datum.group)")


def _family_colors(families):
    """One colour per item of ``families`` (chip family labels): the family's shades, light to dark."""
    counts = {f: families.count(f) for f in set(families)}
    seen, out = {}, []
    for family in families:
        shades = FAMILY_SHADES.get(family, ["#bbbbbb", "#888888", "#555555"])
        i, n = seen.get(family, 0), counts[family]
        seen[family] = i + 1
        start = 1 if len(shades) > n else 0  # skip the lightest shade when there are enough
        idx = (2 * len(shades)) // 3 if n == 1 else start + round(i * (len(shades) - 1 - start) / (n - 1))
        out.append(shades[min(idx, len(shades) - 1)])
    return out


def _generation_colors(frame, order):
    vendor = dict(zip(frame["generation"], frame["vendor"]))
    return _family_colors([vendor[g] for g in order])


WORKLOAD_LABELS = display.WORKLOAD_NAMES


def mtia_share_frame(result, draw=0):
    """MTIA share of new purchases by workload class: ``quarter``, ``workload``, ``share``. [1]

    Share = MTIA purchases / demand where demand > 0, else 0 (NaN also becomes 0). Computed on the
    plain arrays for the usual layout (both ``(workload, quarter)`` at the draw, numpy data, the same
    coordinates), as it runs on every change in 01; equal to :func:`_mtia_share_frame_plain` (tested)."""
    r = _draw_view(result, draw)
    purchases, demand = r.mtia_purchases_h100e, r.demand_h100e
    if (purchases.dims == demand.dims == ("workload", "quarter")
            and isinstance(purchases.variable.data, np.ndarray) and isinstance(demand.variable.data, np.ndarray)
            and all(purchases.coords.variables[d].equals(demand.coords.variables[d]) for d in demand.dims)):
        p, d = purchases.values, demand.values
        with np.errstate(divide="ignore", invalid="ignore"):
            share = p / np.where(d > 0, d, np.nan)
        share = np.where(np.isnan(share), 0.0, share)
        workloads = np.asarray(demand.coords.variables["workload"].values)
        quarters = np.asarray(demand.coords.variables["quarter"].values)
        frame = pd.DataFrame({"quarter": np.tile(quarters, len(workloads)),
                              "workload": np.repeat(workloads, len(quarters)), "share": share.ravel()})
        frame["workload"] = frame["workload"].map(WORKLOAD_LABELS)
        return frame
    return _mtia_share_frame_plain(result, draw)


def _mtia_share_frame_plain(result, draw=0):
    """:func:`mtia_share_frame` with xarray (any layout)."""
    r = _draw_view(result, draw)
    demand = r.demand_h100e
    share = (r.mtia_purchases_h100e / demand.where(demand > 0)).fillna(0.0)
    frame = share.to_dataframe(name="share").reset_index()[["quarter", "workload", "share"]]
    frame["workload"] = frame["workload"].map(WORKLOAD_LABELS)
    return frame


def mtia_share_chart(frame, case="base case", events=None):
    """Lines of the MTIA share of new purchases per workload class."""
    return _events_or_spec(_mtia_share_build, (case,), (frame,), events, text=(0,))


def _mtia_share_build(frames, case):
    (frame,) = frames
    return alt.Chart(frame, title=_title("MTIA share of new purchases by workload class", case),
                      width=WIDTH, height=HEIGHT).mark_line().encode(
        x=alt.X("quarter:T", title="Quarter"),
        y=alt.Y("share:Q", title="MTIA share of purchases [%]", axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("workload:N", title="Workload class"),
        tooltip=[alt.Tooltip("quarter:T", title="Quarter", format="%Y Q%q"), "workload:N",
                 alt.Tooltip("share:Q", title="share", format=".0%")],
    )


def cadence_comparison_chart(frame, case="cadence grid", cadence=None, slip=None):
    """MTIA share of installed capability for several cadences and slips.

    ``frame``: ``quarter``, ``cadence_months``, ``slip_quarters``, ``mtia_share``. With
    ``cadence``/``slip`` given (the initial values) the chart gets two bound select
    parameters that filter the grid, so it stays interactive in a static HTML page; without,
    one line per cadence (the first slip in the frame).
    """
    base = alt.Chart(frame, title=_title("MTIA share of installed capability by cadence", case),
                     width=WIDTH, height=HEIGHT)
    y = alt.Y("mtia_share:Q", title="MTIA share of installed H100e [%]", axis=alt.Axis(format="%"),
              scale=alt.Scale(domain=[0, max(0.05, float(frame["mtia_share"].max()) * 1.05)]))
    tooltip = [alt.Tooltip("quarter:T", title="Quarter", format="%Y Q%q"),
               alt.Tooltip("cadence_months:Q", title="cadence [months]"),
               alt.Tooltip("slip_quarters:Q", title="slip [quarters/generation]"),
               alt.Tooltip("mtia_share:Q", title="MTIA share", format=".1%")]
    if cadence is None:
        first_slip = sorted(frame["slip_quarters"].unique())[0]
        return base.mark_line().encode(
            x=alt.X("quarter:T", title="Quarter"), y=y,
            color=alt.Color("cadence_months:O", title="Cadence [months]"), tooltip=tooltip,
        ).transform_filter(alt.datum.slip_quarters == float(first_slip))
    cadences = sorted(float(c) for c in frame["cadence_months"].unique())
    slips = sorted(float(s) for s in frame["slip_quarters"].unique())
    p_cadence = alt.param(name="cadence_months", value=float(cadence), bind=alt.binding_select(
        options=cadences, name="MTIA cadence [months] "))
    p_slip = alt.param(name="slip_quarters", value=float(slip), bind=alt.binding_select(
        options=slips, name="slip per generation [quarters] "))
    return base.mark_line(point=True).encode(
        x=alt.X("quarter:T", title="Quarter"), y=y, tooltip=tooltip,
    ).add_params(p_cadence, p_slip).transform_filter(
        (alt.datum.cadence_months == p_cadence) & (alt.datum.slip_quarters == p_slip))


def perf_per_watt_frame(result, draw=0):
    """Capability per MW of nameplate IT power, by vendor and for the whole fleet.

    Columns ``quarter``, ``vendor`` (``MTIA``, ``Nvidia``, ``AMD``, ``fleet``), ``h100e_per_mw``
    [H100e/MW]. Owned accelerators only (rented ones draw power in the providers' data centres).
    """
    r = _draw_view(result, draw)
    vendor = np.asarray(r.vendor.values).astype(str)
    groups = {"MTIA": vendor == "meta", "Nvidia": vendor == "nvidia", "AMD": vendor == "amd",
              "fleet": np.ones(vendor.shape, bool)}
    rows = []
    for label, mask in groups.items():
        gens = r.generation.values[mask]
        h = r.h100e.sel(generation=gens).sum("generation")
        p = r.provisioned_it_power_mw.sel(generation=gens).sum("generation")
        ratio = (h / p.where(p > 0)).to_series()
        rows.append(pd.DataFrame({"quarter": ratio.index, "vendor": label, "h100e_per_mw": ratio.values}))
    frame = pd.concat(rows, ignore_index=True).dropna()
    return frame.reset_index(drop=True)


def perf_per_watt_chart(frame, case="base case"):
    """Lines of installed H100e per MW of nameplate IT power (MTIA, Nvidia, AMD, fleet; owned)."""
    return _chart_or_spec(_perf_per_watt_build, (case,), (frame,), text=(0,))


def _perf_per_watt_build(frames, case):
    (frame,) = frames
    return alt.Chart(frame, title=_title("Fleet performance per watt", case), width=WIDTH,
                     height=HEIGHT).mark_line().encode(
        x=alt.X("quarter:T", title="Quarter"),
        y=alt.Y("h100e_per_mw:Q", title="Capability per IT power [H100e per MW]"),
        color=alt.Color("vendor:N", title="Chips", scale=VENDOR_COLORS),
        tooltip=[alt.Tooltip("quarter:T", title="Quarter", format="%Y Q%q"), "vendor:N",
                 alt.Tooltip("h100e_per_mw:Q", title="H100e per MW", format=",.0f")],
    )


def nre_savings_frame(result, draw=0):
    """Annual MTIA NRE, gross and net savings against an all-Nvidia fleet of equal H100e.

    Savings are on one cost basis, the system cost per accelerator (chip, server, rack, network).

    Columns ``year`` (str), ``measure``, ``usd_bn``. [USD bn per year]
    """
    r = _draw_view(result, draw)
    nre = _annual(r.nre_usd)
    net = _annual(r.savings_vs_all_nvidia_usd)
    parts = {"MTIA design cost (NRE)": nre, "savings before NRE": net + nre, "net savings": net}
    rows = [pd.DataFrame({"year": _year_label(da.year.values), "measure": name, "usd_bn": da.values / 1e9})
            for name, da in parts.items()]
    frame = pd.concat(rows, ignore_index=True)
    return frame[frame["year"].astype(int) >= 2024].reset_index(drop=True)


def nre_savings_chart(frame, case="base case"):
    """Grouped bars of annual NRE, savings before NRE and net savings."""
    return _chart_or_spec(_nre_savings_build, (case,), (frame,), text=(0,))


def _nre_savings_build(frames, case):
    (frame,) = frames
    order = ["MTIA design cost (NRE)", "savings before NRE", "net savings"]
    return alt.Chart(frame, title=_title("MTIA design cost against savings versus an all-Nvidia fleet", case),
                     width=WIDTH, height=HEIGHT).mark_bar().encode(
        x=alt.X("year:O", title="Year"),
        xOffset=alt.XOffset("measure:N", sort=order),
        y=alt.Y("usd_bn:Q", title="Amount per year [USD bn]"),
        color=alt.Color("measure:N", sort=order, title="",
                        scale=alt.Scale(domain=order, range=["#d62728", "#9ecae1", "#1f77b4"])),
        tooltip=["year:O", "measure:N", alt.Tooltip("usd_bn:Q", title="USD bn", format=",.2f")],
    )


# --------------------------------------------------------------------------- capex


def capex_annual_frame(result, draw=0, ds=None):
    """Annual capex: modelled, reported, latest guidance (range) and consensus.

    Columns ``year`` (str), ``series``, ``low``, ``value``, ``high`` [USD bn].
    """
    from .data import load_dataset

    ds = load_dataset() if ds is None else ds
    r = _draw_view(result, draw)
    model = _annual(r.capex_usd)
    rows = [{"year": str(int(y)), "series": "modelled", "low": v / 1e9, "value": v / 1e9, "high": v / 1e9}
            for y, v in zip(model.year.values, model.values) if 2022 <= y <= 2028]
    names = {"reported": "reported", "guidance_latest": "guidance (latest)", "consensus_latest": "consensus"}
    annual = ds.capex_annual_usd.transpose("series", "year", "bound")
    series_index = {str(v): i for i, v in enumerate(annual.series.values)}
    bounds = [list(annual.bound.values).index(b) for b in ("low", "base", "high")]
    values = annual.values  # [series, year, bound]
    for series, label in names.items():
        for j, y in enumerate(annual.year.values):
            lo, ba, hi = (float(values[series_index[series], j, b]) for b in bounds)
            if np.isfinite(ba):
                rows.append({"year": str(int(y)), "series": label, "low": lo / 1e9, "value": ba / 1e9,
                             "high": hi / 1e9})
    return pd.DataFrame(rows)


def capex_annual_chart(frame, case="base case", initial_price_pct=None):
    """Annual capex: modelled bars, reported/guided/consensus points with their ranges.

    If ``frame`` has a ``nvidia_price_pct`` column (a grid of modelled rows, see
    :func:`chipsuite.widgets.nvidia_price_grid_frame`) and ``initial_price_pct`` is given, a
    slider bound to an Altair param picks the modelled bars (works in a static page).
    """
    if initial_price_pct is None:
        return _chart_or_spec(_capex_annual_build, (case,), (frame,), text=(0,))
    return _capex_annual_build((frame,), case, initial_price_pct)


def _capex_annual_build(frames, case, initial_price_pct=None):
    (frame,) = frames
    title = _title("Meta capex: reported and guided (points) against modelled (bars)", case)
    base = alt.Chart(frame, width=WIDTH, height=HEIGHT)
    series_order = ["reported", "guidance (latest)", "consensus"]
    y = alt.Y("value:Q", title="Capital expenditure [USD bn per year]")
    modelled = base.transform_filter(alt.datum.series == "modelled")
    price = None
    if initial_price_pct is not None and "nvidia_price_pct" in frame.columns:
        pcts = sorted(float(p) for p in frame["nvidia_price_pct"].dropna().unique())
        step = float(np.min(np.diff(pcts))) if len(pcts) > 1 else 1.0
        price = alt.param(name="nvidia_price_pct", value=float(initial_price_pct), bind=alt.binding_range(
            min=pcts[0], max=pcts[-1], step=step, name="Nvidia price [% of list] "))
        modelled = modelled.transform_filter(alt.datum.nvidia_price_pct == price)
    bars = modelled.mark_bar(color="#c6dbef").encode(
        x=alt.X("year:O", title="Year"), y=y,
        tooltip=["year:O", "series:N", alt.Tooltip("value:Q", title="USD bn", format=",.1f")])
    if price is not None:
        bars = bars.add_params(price)
    public = base.transform_filter(alt.datum.series != "modelled")
    color = alt.Color("series:N", title="Public figure", sort=series_order,
                      scale=alt.Scale(domain=series_order, range=["#000000", "#ff7f0e", "#9467bd"]))
    ranges = public.mark_rule(strokeWidth=2).encode(
        x="year:O", y=alt.Y("low:Q", title="Capital expenditure [USD bn per year]"), y2="high:Q", color=color,
        xOffset=alt.XOffset("series:N", sort=series_order))
    points = public.mark_point(filled=True, size=60).encode(
        x="year:O", y=y, color=color, xOffset=alt.XOffset("series:N", sort=series_order),
        tooltip=["year:O", "series:N", alt.Tooltip("low:Q", format=",.1f", title="low [USD bn]"),
                 alt.Tooltip("value:Q", format=",.1f", title="value [USD bn]"),
                 alt.Tooltip("high:Q", format=",.1f", title="high [USD bn]")])
    return alt.layer(bars, ranges, points, title=title)


CAPEX_QUARTERLY_SERIES = ["modelled (headline)", "modelled (purchases of P&E)", "reported (headline)",
                          "reported (purchases of P&E)"]


def capex_quarterly_frame(result, draw=0, ds=None, end="2028-10-01"):
    """Quarterly capex: modelled headline and purchases of P&E against the reported quarters.

    Headline capex = purchases of property and equipment (P&E, cash paid) + finance-lease
    principal. Columns ``quarter``, ``series`` (:data:`CAPEX_QUARTERLY_SERIES`), ``measure``
    (``headline``/``purchases of P&E``), ``source`` (``modelled``/``reported``), ``capex_usd_bn``
    [USD bn per quarter]; no NaN rows; quarters up to ``end``.
    """
    from .data import load_dataset

    ds = load_dataset() if ds is None else ds
    r = _draw_view(result, draw)
    parts = []
    for measure, label, name in (("headline", "headline", "capex_usd"), ("ppe", "purchases of P&E", "ppe_capex_usd")):
        parts.append(pd.DataFrame({"quarter": _quarters(r), "series": f"modelled ({label})", "measure": label,
                                   "source": "modelled", "capex_usd_bn": r[name].values / 1e9}))
        s = ds.capex_quarterly_usd.sel(measure=measure).to_series().dropna() / 1e9
        parts.append(pd.DataFrame({"quarter": pd.to_datetime(s.index), "series": f"reported ({label})",
                                   "measure": label, "source": "reported", "capex_usd_bn": s.values}))
    frame = pd.concat(parts, ignore_index=True)
    return frame[frame["quarter"] <= pd.Timestamp(end)].reset_index(drop=True)


def capex_quarterly_chart(frame, case="base case", events=None):
    """Quarterly capex lines: modelled (dashed) against reported (solid, points), headline and P&E."""
    return _events_or_spec(_capex_quarterly_build, (case,), (frame,), events, text=(0,))


def _capex_quarterly_build(frames, case):
    (frame,) = frames
    order = CAPEX_QUARTERLY_SERIES
    return alt.Chart(frame, title=_title("Quarterly capex: headline and purchases of P&E, reported and modelled",
                                          case), width=WIDTH, height=HEIGHT).mark_line(point=True).encode(
        x=alt.X("quarter:T", title="Quarter"),
        y=alt.Y("capex_usd_bn:Q", title="Capital expenditure [USD bn per quarter]"),
        color=alt.Color("series:N", sort=order, title="Series",
                        scale=alt.Scale(domain=order, range=["#1f77b4", "#9ecae1", "#000000", "#999999"])),
        strokeDash=alt.StrokeDash("source:N", title="Source", sort=["reported", "modelled"],
                                  scale=alt.Scale(domain=["reported", "modelled"], range=[[1, 0], [5, 3]])),
        tooltip=[alt.Tooltip("quarter:T", title="Quarter", format="%Y Q%q"), "series:N",
                 alt.Tooltip("capex_usd_bn:Q", title="USD bn", format=",.2f")],
    )


CAPEX_PARTS = {
    "accelerators": "fleet_accelerator_capex_usd",
    "servers and network": "server_network_capex_usd",
    "facilities": "facility_capex_usd",
    "non-AI": "non_ai_capex_usd",
    "year-end payments": "year_end_timing_usd",
    "finance-lease principal": "finance_lease_principal_usd",
}


def capex_parts_frame(result, draw=0, years=(2022, 2028)):
    """Annual modelled headline capex by part: ``year`` (str), ``part``, ``capex_usd_bn`` [USD bn per year].

    The parts (:data:`CAPEX_PARTS`: accelerators and servers/network at per-generation system
    costs, facilities, non-AI, year-end payments, finance-lease principal) sum to headline ``capex_usd``.
    Year-end payments are what the year's last quarter pays ahead for the next year's first, less
    what its own first quarter paid in the year before: small, and negative in a year that follows a
    larger first quarter than it leads into.
    """
    r = _draw_view(result, draw)
    rows = []
    for part, name in CAPEX_PARTS.items():
        da = _annual(r[name])
        da = da.sel(year=slice(*years))
        rows.append(pd.DataFrame({"year": _year_label(da.year.values), "part": part, "capex_usd_bn": da.values / 1e9}))
    return pd.concat(rows, ignore_index=True)


def capex_parts_chart(frame, case="base case"):
    """Stacked bars of modelled annual headline capex: chips, servers, facilities, non-AI, finance leases."""
    return _chart_or_spec(_capex_parts_build, (case,), (frame,), text=(0,))


def _capex_parts_build(frames, case):
    (frame,) = frames
    order = list(CAPEX_PARTS)
    return alt.Chart(frame, title=_title("Modelled capex by part", case), width=WIDTH,
                     height=HEIGHT).mark_bar().encode(
        x=alt.X("year:O", title="Year"),
        y=alt.Y("capex_usd_bn:Q", stack="zero", title="Capital expenditure [USD bn per year]"),
        color=alt.Color("part:N", sort=order, title="Part"),
        order=alt.Order("part_order:Q"),
        tooltip=["year:O", "part:N", alt.Tooltip("capex_usd_bn:Q", title="USD bn", format=",.1f")],
    ).transform_calculate(part_order=f"indexof({order!r}, datum.part)")


# --------------------------------------------------------------------------- Nvidia dependence

SHARES = {
    "capability, owned (H100e)": "nvidia_share_h100e",
    "capability incl. rented (H100e)": "nvidia_share_h100e_incl_rented",
    "installed units (owned)": "nvidia_share_units",
    "accelerator capex (owned)": "nvidia_share_capex",
    "compute spend incl. rented": "nvidia_share_spend_incl_rented",
    "accelerator power (owned)": "nvidia_share_power",
}


def dependence_shares_frame(result, draw=0):
    """Nvidia shares over time, owned and incl. rented clouds: ``quarter``, ``measure``, ``share`` [1].

    One frame from the plain arrays when every share is a float series by quarter (the model's
    layout); else :func:`_dependence_shares_frame_plain` (one frame per share, concatenated), which
    it equals (tested)."""
    r = _draw_view(result, draw)
    q = _quarters(r)
    present = [(label, name) for label, name in SHARES.items() if name in r]
    arrays = [r[name] for _, name in present]
    if present and all(a.dims == ("quarter",) and isinstance(a.variable.data, np.ndarray)
                       and a.dtype == np.float64 for a in arrays):
        frame = pd.DataFrame({"quarter": np.tile(q.values, len(present)),
                              "measure": np.repeat(np.array([label for label, _ in present], dtype=object), len(q)),
                              "share": np.concatenate([a.values for a in arrays])})
        return frame[frame["quarter"] >= pd.Timestamp("2024-01-01")].reset_index(drop=True)
    return _dependence_shares_frame_plain(result, draw)


def _dependence_shares_frame_plain(result, draw=0):
    """:func:`dependence_shares_frame` as one frame per share, concatenated (any layout)."""
    r = _draw_view(result, draw)
    q = _quarters(r)
    rows = [pd.DataFrame({"quarter": q, "measure": label, "share": r[name].values}) for label, name in SHARES.items()
            if name in r]
    frame = pd.concat(rows, ignore_index=True)
    return frame[frame["quarter"] >= pd.Timestamp("2024-01-01")].reset_index(drop=True)


def dependence_shares_chart(frame, case="base case", events=None):
    """Lines of Nvidia's share of capability (owned and incl. rented), units, capex, spend and power."""
    order = [m for m in SHARES if m in set(frame["measure"])]
    return _events_or_spec(_dependence_shares_build, (case, tuple(order)), (frame,), events, text=(0,))


def _dependence_shares_build(frames, case, order):
    (frame,) = frames
    order = list(order)
    return alt.Chart(frame, title=_title("Nvidia's share of Meta's compute, owned and incl. rented", case),
                      width=WIDTH, height=HEIGHT).mark_line().encode(
        x=alt.X("quarter:T", title="Quarter"),
        y=alt.Y("share:Q", title="Nvidia share [%]", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("measure:N", title="Share of", sort=order),
        strokeDash=alt.condition(alt.FieldOneOfPredicate(field="measure", oneOf=[
            "capability incl. rented (H100e)", "compute spend incl. rented"]), alt.value([5, 3]), alt.value([1, 0])),
        tooltip=[alt.Tooltip("quarter:T", title="Quarter", format="%Y Q%q"), "measure:N",
                 alt.Tooltip("share:Q", format=".1%")],
    )


#: supplier code (``supplier`` dim of a result) -> label
SUPPLIER_LABELS = display.SUPPLIER_NAMES
SUPPLIER_BASES = {
    "h100e": ("supplier_h100e", "supplier_share_h100e", "h100e_million", 1e6, "Capability [million H100e]",
              "capability"),
    "spend": ("supplier_spend_usd", "supplier_share_spend", "spend_usd_bn", 1e9, "Compute spend [USD bn per quarter]",
              "compute spend (systems capex paid, cloud opex)"),
}


def supplier_frame(result, draw=0, basis="h100e", start="2024-01-01"):
    """Every supplier, owned and rented, by quarter (from the result's ``supplier`` dim).

    ``basis``: ``"h100e"`` (capability, ``supplier_h100e`` and ``supplier_share_h100e``) or
    ``"spend"`` (``supplier_spend_usd``, ``supplier_share_spend``). Columns ``quarter``,
    ``supplier`` (label, :data:`SUPPLIER_LABELS`), ``chip_vendor`` (chip family), ``sourcing``
    (owned/rented), the amount (``h100e_million`` [million H100e] or ``spend_usd_bn`` [USD bn per
    quarter]) and ``share`` [1]; the shares of a quarter sum to 1.
    """
    if basis not in SUPPLIER_BASES:
        raise ValueError(f"supplier_frame: basis must be one of {sorted(SUPPLIER_BASES)}, got {basis!r}")
    amount, share, column, scale, _, _ = SUPPLIER_BASES[basis]
    r = _draw_view(result, draw)
    frames = []
    for i, code in enumerate(r.supplier.values):
        code = str(code)
        frames.append(pd.DataFrame({
            "quarter": _quarters(r), "supplier": SUPPLIER_LABELS.get(code, code),
            "chip_vendor": VENDOR_LABELS.get(str(r.chip_vendor.values[i]), str(r.chip_vendor.values[i])),
            "sourcing": str(r.sourcing.values[i]),
            column: r[amount].isel(supplier=i).values / scale, "share": r[share].isel(supplier=i).values}))
    frame = pd.concat(frames, ignore_index=True)
    return frame[frame["quarter"] >= pd.Timestamp(start)].reset_index(drop=True)


def supplier_chart(frame, case="base case", shares=False, events=None):
    """Stacked area by supplier, owned and rented (one hue per chip family; rented lighter).

    ``frame`` from :func:`supplier_frame`; ``shares=True`` stacks the shares (to 100 %), else the
    amount (capability in million H100e or spend in USD bn per quarter).
    """
    column = "h100e_million" if "h100e_million" in frame.columns else "spend_usd_bn"
    basis = "h100e" if column == "h100e_million" else "spend"
    _, _, _, _, amount_title, what = SUPPLIER_BASES[basis]
    order = list(dict.fromkeys(frame["supplier"]))
    fam = dict(zip(frame["supplier"], frame["chip_vendor"]))
    src = dict(zip(frame["supplier"], frame["sourcing"]))
    colors = []
    for sup in order:
        shades = FAMILY_SHADES.get(fam[sup], ["#bbbbbb", "#888888"])
        colors.append(shades[2] if src[sup] == "rented" else shades[-2])
    args = (case, bool(shares), column, amount_title, what, tuple(order), tuple(colors))
    return _events_or_spec(_supplier_build, args, (frame,), events, text=(0,))


def _supplier_build(frames, case, shares, column, amount_title, what, order, colors):
    (frame,) = frames
    order, colors = list(order), list(colors)
    if shares:
        y = alt.Y("share:Q", stack="zero", title=f"Share of {what.split(' (')[0]} [%]", axis=alt.Axis(format="%"),
                  scale=alt.Scale(domain=[0, 1]))
        value_tip = alt.Tooltip("share:Q", title="share", format=".1%")
    else:
        y = alt.Y(f"{column}:Q", stack="zero", title=amount_title)
        value_tip = alt.Tooltip(f"{column}:Q", title=amount_title, format=",.2f")
    return alt.Chart(frame, title=_title(f"Meta's {what} by supplier, owned and rented", case),
                      width=WIDTH, height=HEIGHT).mark_area().encode(
        x=alt.X("quarter:T", title="Quarter"), y=y,
        color=alt.Color("supplier:N", sort=order, title="Supplier", scale=alt.Scale(domain=order, range=colors)),
        order=alt.Order("supplier_order:Q"),
        tooltip=[alt.Tooltip("quarter:T", title="Quarter", format="%Y Q%q"), "supplier:N",
                 alt.Tooltip("sourcing:N", title="Owned or rented"), value_tip,
                 alt.Tooltip("share:Q", title="share", format=".1%")],
    ).transform_calculate(supplier_order=f"indexof({order!r}, datum.supplier)")


def hhi_frame(result, draw=0):
    """Supplier concentration over chip vendors (owned and rented): ``quarter``, ``hhi`` [1, 0-1 scale]."""
    r = _draw_view(result, draw)
    frame = pd.DataFrame({"quarter": _quarters(r), "hhi": r.hhi.values})
    return frame[frame["quarter"] >= pd.Timestamp("2024-01-01")].reset_index(drop=True)


def hhi_chart(frame, case="base case"):
    """Line of the Herfindahl-Hirschman index over chip vendors of capability owned and rented (1 = one)."""
    return _chart_or_spec(_hhi_build, (case,), (frame, _HHI_THRESHOLD, _HHI_LABEL), text=(0,))


_HHI_THRESHOLD = pd.DataFrame({"hhi": [0.25], "label": ["0.25: highly concentrated (US merger guidelines)"]})
_HHI_LABEL = pd.DataFrame({"hhi": [0.25], "label": ["0.25: highly concentrated"]})


def _hhi_build(frames, case):
    frame, threshold_rows, label_rows = frames
    line = alt.Chart(frame, width=WIDTH, height=180).mark_line(color="#333333").encode(
        x=alt.X("quarter:T", title="Quarter"),
        y=alt.Y("hhi:Q", title="Concentration (HHI) [0-1]", scale=alt.Scale(domain=[0, 1])),
        tooltip=[alt.Tooltip("quarter:T", title="Quarter", format="%Y Q%q"), alt.Tooltip("hhi:Q", format=".3f")])
    threshold = alt.Chart(threshold_rows).mark_rule(strokeDash=[4, 3], color="#d62728").encode(
        y=alt.Y("hhi:Q", title="Concentration (HHI) [0-1]"))
    label = alt.Chart(label_rows).mark_text(
        align="left", dy=-6, color="#d62728", fontSize=10).encode(
        y=alt.Y("hhi:Q", title="Concentration (HHI) [0-1]"), x=alt.value(4), text="label:N")
    return alt.layer(line, threshold, label, title=_title("Supplier concentration over chip vendors (HHI), owned and rented",
                                                        case))


def breakeven_chart(frame, case="base case", year=None):
    """Heatmap: MTIA efficiency x Nvidia price -> cost difference per H100e-hour.

    ``frame``: ``mtia_efficiency`` [1, multiple of the dataset H100e factors],
    ``nvidia_price_multiplier`` [1], ``cost_difference_usd_per_h100e_hour`` [USD/h]
    (with MTIA minus all-Nvidia; negative = MTIA cheaper).
    """
    limit = float(np.nanmax(np.abs(frame["cost_difference_usd_per_h100e_hour"]))) or 1.0
    when = f" in {year}" if year else ""
    rect = alt.Chart(frame, width=WIDTH - 120, height=HEIGHT + 40).mark_rect().encode(
        x=alt.X("mtia_efficiency:O", title="MTIA efficiency [multiple of base H100e factor]",
                axis=alt.Axis(format=".2f")),
        y=alt.Y("nvidia_price_multiplier:O", title="Nvidia price [multiple of list]", sort="descending",
                axis=alt.Axis(format=".2f")),
        color=alt.Color("cost_difference_usd_per_h100e_hour:Q",
                        title=["cost difference", "[USD per H100e-hour]"],
                        scale=alt.Scale(scheme="redblue", reverse=True, domain=[-limit, limit], domainMid=0)),
        tooltip=[alt.Tooltip("mtia_efficiency:Q", format=".2f", title="MTIA efficiency [x]"),
                 alt.Tooltip("nvidia_price_multiplier:Q", format=".2f", title="Nvidia price [x list]"),
                 alt.Tooltip("cost_difference_usd_per_h100e_hour:Q", format="+.3f", title="USD per H100e-hour")],
    )
    return alt.layer(rect, title=_title(f"Break-even map: fleet cost per H100e-hour with MTIA minus all-Nvidia{when}",
                                        case))


MIN_VOLUME_MEASURES = {
    "mtia_share": ("MTIA share of installed H100e [%]", ".1%"),
    "net_savings_usd_bn": ("Net savings vs all-Nvidia [USD bn]", ",.1f"),
    "floor_units_thousand": ("Nvidia units bought for the floor [thousand]", ",.0f"),
}


def min_volume_chart(frame, case="base case", savings_years=(2026, 2030), quarter="2027Q4"):
    """Effect of the Nvidia deal's committed minimum: MTIA share, net savings, floor units bought.

    ``frame`` (see :func:`chipsuite.explorers.grids.min_volume_frame`): ``deal_scale`` [multiple of
    the deal's committed minimum], ``measure`` (``mtia_share`` [1] in ``quarter``,
    ``net_savings_usd_bn`` [USD bn over ``savings_years``], ``floor_units_thousand`` [thousand
    units bought only because the minimum binds, whole horizon]) and ``value``; one panel each.
    """
    base = alt.Chart(frame, width=WIDTH // 3 - 10, height=HEIGHT - 60).mark_line(point=True)
    x = alt.X("deal_scale:Q", title="Nvidia deal minimum [x committed]")
    titles = {"mtia_share": f"MTIA share of installed H100e, {quarter} [%]",
              "net_savings_usd_bn": f"Net savings vs all-Nvidia, {savings_years[0]}-{savings_years[1]} [USD bn]",
              "floor_units_thousand": "Nvidia units bought for the floor [thousand]"}
    panels = []
    for measure, (_, fmt) in MIN_VOLUME_MEASURES.items():
        if measure not in set(frame["measure"]):
            continue
        axis = alt.Axis(format="%") if measure == "mtia_share" else alt.Axis()
        panels.append(base.transform_filter(alt.datum.measure == measure).encode(
            x=x, y=alt.Y("value:Q", title=titles[measure], axis=axis),
            tooltip=[alt.Tooltip("deal_scale:Q", title="deal minimum [x]"),
                     alt.Tooltip("value:Q", format=fmt, title=titles[measure])]))
    return alt.hconcat(*panels, title=_title("Effect of the Nvidia deal's committed minimum (the floor)", case))


# --------------------------------------------------------------------------- energy and sites

SITE_LABELS = display.SITE_NAMES


def site_power_frame(result, draw=0, sites=("prometheus", "hyperion", "el_paso")):
    """Facility power placed at a site against its capacity.

    Columns ``quarter``, ``site``, ``measure`` (``capacity``, ``facility power``), ``power_mw`` [MW].
    """
    r = result.isel(draw=draw).sel(site=list(sites))
    parts = []
    for measure, name in (("capacity", "site_capacity_mw"), ("facility power", "facility_power_mw")):
        f = r[name].to_dataframe(name="power_mw").reset_index()[["quarter", "site", "power_mw"]]
        f["measure"] = measure
        parts.append(f)
    frame = pd.concat(parts, ignore_index=True)
    frame["site"] = frame["site"].map(SITE_LABELS)
    return frame[frame["quarter"] >= pd.Timestamp("2025-01-01")].reset_index(drop=True)


def site_power_chart(frame, case="base case"):
    """Power ramp against capacity, one panel per site (capacity as a grey area, power as a line)."""
    return _chart_or_spec(_site_power_build, (case,), (frame,), text=(0,))


def _site_power_build(frames, case):
    (frame,) = frames
    tooltip = [alt.Tooltip("quarter:T", title="Quarter", format="%Y Q%q"), "site:N", "measure:N",
               alt.Tooltip("power_mw:Q", title="MW", format=",.0f")]
    x = alt.X("quarter:T", title="Quarter")
    y = alt.Y("power_mw:Q", title="Facility power [MW]")
    area = alt.Chart().transform_filter(alt.datum.measure == "capacity").mark_area(
        color="#cccccc", opacity=0.7).encode(x=x, y=y, tooltip=tooltip)
    line = alt.Chart().transform_filter(alt.datum.measure == "facility power").mark_line(
        color="#d62728").encode(x=x, y=y, tooltip=tooltip)
    return alt.layer(area, line, data=frame, width=WIDTH // 2 - 20, height=170).facet(
        facet=alt.Facet("site:N", title=None), columns=3,
        title=_title("Site facility power (red) against capacity (grey)", case))


def fleet_power_frame(result, draw=0):
    """IT power the installed fleet needs against the IT power all sites can host.

    Columns ``quarter``, ``measure``, ``power_mw`` [MW of IT power, nameplate].
    """
    r = _draw_view(result, draw)
    q = _quarters(r)
    parts = {"IT power needed by installed accelerators": r.fleet_provisioned_it_power_mw,
             "IT capacity of all sites": r.fleet_it_capacity_mw,
             "unplaced IT power": r.unplaced_power_mw}
    frame = pd.concat([pd.DataFrame({"quarter": q, "measure": k, "power_mw": v.values}) for k, v in parts.items()],
                      ignore_index=True)
    return frame[frame["quarter"] >= pd.Timestamp("2024-01-01")].reset_index(drop=True)


def fleet_power_chart(frame, case="base case", events=None):
    """Lines: IT power needed by the fleet, IT capacity of the sites, and the gap (unplaced)."""
    return _events_or_spec(_fleet_power_build, (case,), (frame,), events, text=(0,))


def _fleet_power_build(frames, case):
    (frame,) = frames
    order = ["IT power needed by installed accelerators", "IT capacity of all sites", "unplaced IT power"]
    return alt.Chart(frame, title=_title("Is there room for the fleet? IT power against site capacity", case),
                      width=WIDTH, height=HEIGHT).mark_line().encode(
        x=alt.X("quarter:T", title="Quarter"),
        y=alt.Y("power_mw:Q", title="IT power [MW]"),
        color=alt.Color("measure:N", sort=order, title="", scale=alt.Scale(
            domain=order, range=["#d62728", "#555555", "#ff9896"])),
        tooltip=[alt.Tooltip("quarter:T", title="Quarter", format="%Y Q%q"), "measure:N",
                 alt.Tooltip("power_mw:Q", title="MW", format=",.0f")])


ENERGY_MEASURES = {
    "energy_twh": ("Electricity use [TWh per year]", "energy_mwh", 1e6),
    "electricity_cost_usd_bn": ("Electricity cost [USD bn per year]", "electricity_cost_usd", 1e9),
    "emissions_mtco2": ("Emissions [MtCO2 per year]", "emissions_tco2", 1e6),
}


def energy_annual_frame(result, draw=0, years=(2024, 2030)):
    """Annual energy, electricity cost and emissions by site.

    Columns ``year`` (str), ``site``, ``measure`` (keys of :data:`ENERGY_MEASURES`), ``value``
    (in the measure's unit: TWh, USD bn, MtCO2 per year).
    """
    r = _draw_view(result, draw)
    rows = []
    for measure, (_, name, scale) in ENERGY_MEASURES.items():
        da = _annual(r[name]).sel(year=slice(*years)) / scale
        f = da.to_dataframe(name="value").reset_index()[["year", "site", "value"]]
        f["measure"] = measure
        rows.append(f)
    frame = pd.concat(rows, ignore_index=True)
    frame["year"] = frame["year"].astype(int).astype(str)
    frame["site"] = frame["site"].map(SITE_LABELS)
    return frame


def energy_annual_chart(frame, case="base case"):
    """Three panels of stacked bars by site: electricity use, cost and emissions per year."""
    return _chart_or_spec(_energy_annual_build, (case,), (frame,), text=(0,))


def _energy_annual_build(frames, case):
    (frame,) = frames
    panels = []
    for measure, (axis_title, _, _) in ENERGY_MEASURES.items():
        panels.append(alt.Chart(frame, width=190, height=HEIGHT - 40).transform_filter(
            alt.datum.measure == measure).mark_bar().encode(
            x=alt.X("year:O", title="Year"),
            y=alt.Y("value:Q", stack="zero", title=axis_title),
            color=alt.Color("site:N", title="Site", sort=list(SITE_LABELS.values())),
            tooltip=["year:O", "site:N", alt.Tooltip("value:Q", format=",.2f", title=axis_title)]))
    return alt.hconcat(*panels, title=_title("Electricity, cost and emissions by site", case))


def emissions_delay_chart(frame, delay_quarters, what="the dated supply",
                          case="delay grid, other inputs as set"):
    """Annual emissions by site, with a select (bound param) over the supply delays of ``frame``.

    ``frame``: ``year``, ``site``, ``delay_quarters`` [quarters], ``emissions_mtco2`` [MtCO2 per
    year] (see :func:`chipsuite.widgets.delay_emissions_grid_frame`); ``what``: what the delay moves
    (for the select's label). Works in a static page.
    """
    options = sorted(float(d) for d in frame["delay_quarters"].unique())
    delay = alt.param(name="delay_quarters", value=float(delay_quarters),
                      bind=alt.binding_select(options=options, name=f"{what} starts late by [quarters] "))
    return alt.Chart(frame, title=_title("Emissions by site (AI load, location-based) for a supply delay", case),
                     width=WIDTH, height=HEIGHT).mark_bar().encode(
        x=alt.X("year:O", title="Year"),
        y=alt.Y("emissions_mtco2:Q", stack="zero", title="Emissions [MtCO2 per year]"),
        color=alt.Color("site:N", title="Site", sort=list(SITE_LABELS.values())),
        tooltip=["year:O", "site:N", alt.Tooltip("emissions_mtco2:Q", format=",.2f", title="MtCO2")],
    ).add_params(delay).transform_filter(alt.datum.delay_quarters == delay)


# --------------------------------------------------------------------------- uncertainty


def fan_frame(result, name, q=(0.05, 0.5, 0.95), scale=1.0, reduce=None):
    """Quantiles of one quarterly variable over draws: ``quarter``, ``q05``, ``q50``, ``q95``.

    name : variable of ``result`` (dims ``draw``, ``quarter`` and possibly others)
    scale : divide values by this (e.g. 1e9 for USD bn)
    reduce : dim to sum over before the quantiles (e.g. ``"site"``); other extra dims are summed too

    Same numbers as ``chipsuite.uncertainty.quantiles(result[name].sum(extra)) / scale`` (extra dims
    summed skipping NaN, as xarray does; NaN in a draw makes its quantiles NaN), computed with numpy
    on the plain array: this runs on every widget change.
    """
    da = result[name]
    qs = [float(x) for x in np.atleast_1d(np.asarray(q, dtype=np.float64))]
    if not qs or any(not 0.0 <= x <= 1.0 for x in qs):
        raise ValueError(f"fan_frame: q must be quantiles in [0, 1], got {qs}")
    missing = [d for d in ("draw", "quarter") if d not in da.dims]
    if missing:
        raise ValueError(f"fan_frame: variable {name!r} has dims {da.dims}; it needs 'draw' and 'quarter'")
    if da.dtype.kind not in "biuf":
        raise TypeError(f"fan_frame: variable {name!r} has dtype {da.dtype}; quantiles need numbers")
    extra = [d for d in da.dims if d not in ("draw", "quarter")]
    if extra and da.chunks is not None:  # dask: reduce lazily before loading
        da = da.sum(extra)
        extra = []
    values = da.transpose("quarter", "draw", *extra).values  # [quarter, draw, extra...]
    if extra:  # xarray's sum skips NaN for floats
        axes = tuple(range(2, values.ndim))
        values = np.nansum(values, axis=axes) if values.dtype.kind == "f" else values.sum(axis=axes)
    quantile_values = np.quantile(values.astype(np.float64, copy=False), qs, axis=1) / scale  # [q, quarter]
    columns = {"quarter": _quarters(result)}
    for qq, row in zip(qs, quantile_values):
        columns[f"q{int(round(qq * 100)):02d}"] = row
    return pd.DataFrame(columns)


def fan_chart(frame, title, y_title, case="uncertainty ensemble"):
    """A fan chart: 5-95 % band and the median line.

    ``frame`` from :func:`fan_frame`; ``y_title`` must name the unit, e.g. ``"Capex [USD bn per quarter]"``.
    """
    return _fan_build(frame, title, y_title, case, "[%]" in y_title)  # shares [1] drawn as %


def _fan_build(frame, title, y_title, case, share):
    """:func:`fan_chart` with the share flag (percent axis and tooltips) given: ``title``, ``y_title``
    and ``case`` only fill strings, so :func:`_fan_template` can hold them as text slots."""
    fmt = ".1%" if share else ",.3g"
    axis = alt.Axis(format="%") if share else alt.Axis()
    base = alt.Chart(frame, width=WIDTH, height=HEIGHT)
    band = base.mark_area(opacity=0.3, color="#1f77b4").encode(
        x=alt.X("quarter:T", title="Quarter"), y=alt.Y("q05:Q", title=y_title, axis=axis), y2="q95:Q",
        tooltip=[alt.Tooltip("quarter:T", title="Quarter", format="%Y Q%q"),
                 alt.Tooltip("q05:Q", format=fmt, title="5 %"), alt.Tooltip("q50:Q", format=fmt, title="median"),
                 alt.Tooltip("q95:Q", format=fmt, title="95 %")])
    line = base.mark_line(color="#1f77b4").encode(x="quarter:T", y=alt.Y("q50:Q", title=y_title, axis=axis))
    return alt.layer(band, line, title=_title(f"{title}: median and 5-95 % range", case))


def fan_spec(frame, title, y_title, case="uncertainty ensemble"):
    """The Vega-Lite spec (dict) of :func:`fan_chart` for new data, without rebuilding the chart.

    Equal to ``fan_chart(frame, title, y_title, case).to_dict()`` (same dataset name, rows and JSON
    text), for the path a widget change takes: the chart is built and validated by Altair once per
    ``(share axis or not, columns, theme)`` (:func:`_fan_template`, a small LRU cache of templates
    with the three texts as slots, so a new custom-metric title needs no new chart); each call
    copies the template and puts in the frame's rows, written as Altair's default data transformer
    writes them (dates as ISO strings ``"2026-01-01T00:00:00"``, NaN and inf as ``None``), and the
    texts. The result is the caller's to change; the template is never handed out.

    Frames the fast path does not handle exactly (other data transformers, column types other than
    float, int, bool and whole-second dates, more rows than Altair allows) and texts that are not
    strings take the full ``fan_chart(...).to_dict()`` path, so the result is always what Altair would give.

    frame : DataFrame from :func:`fan_frame` (``quarter``, ``q05``, ``q50``, ``q95``)
    title, y_title, case : as for :func:`fan_chart`; ``y_title`` names the unit
    """
    columns = tuple(frame.columns)
    texts = (title, y_title, case)
    values = _altair_records(frame) if _default_data_transformer(len(frame)) else None
    if (values is None or not all(isinstance(c, str) for c in columns)
            or not all(type(t) is str and "\ue000" not in t for t in texts)):
        return fan_chart(frame, title, y_title, case).to_dict()
    template, data_paths, text_paths = _fan_template("[%]" in y_title, columns, alt.theme.active)
    if template is None:  # a chart structure the template cannot serve (see _fan_template)
        return fan_chart(frame, title, y_title, case).to_dict()
    name = _dataset_name(values)
    spec = _copy_spec(template)
    for path in data_paths:
        node = spec
        for key in path:
            node = node[key]
        node["name"] = name
    _fill_text_slots(spec, text_paths, texts)
    spec["datasets"] = {name: values}
    return spec


@functools.lru_cache(maxsize=32)
def _fan_template(share, columns, theme):
    """Altair's spec of a fan chart of an empty frame with ``columns`` and text slots for title,
    y title and case, where it names its data, and where it holds the slots.

    Returns ``(spec, data paths, text paths)``: data paths lead to every ``{"name": ...}`` data
    reference, text paths are ``(path, string with slots, slot numbers)``; ``(None, (), ())`` if the
    spec does not hold exactly one dataset, or if the template filled with sample texts is not
    Altair's spec for them. ``theme`` is part of the cache key only (the active theme shapes
    ``config``). Clear with ``_fan_template.cache_clear()``.
    """
    empty = pd.DataFrame({c: pd.Series([], dtype="datetime64[ns]" if c == "quarter" else "float64")
                          for c in columns})
    slots = tuple(_text_slot(k) for k in range(3))
    spec = _fan_build(empty, *slots, share).to_dict()  # validates against the Vega-Lite schema
    datasets = spec.get("datasets", {})
    if len(datasets) != 1:
        return None, (), ()
    (old_name,) = datasets
    skeleton = {k: v for k, v in spec.items() if k != "datasets"}
    paths = tuple(path for path, node in _dict_paths(skeleton)
                  if path and path[-1] == "data" and node == {"name": old_name})
    text_paths = tuple((path, value, tuple(k for k, slot in enumerate(slots) if slot in value))
                       for path, value in _string_paths(skeleton) if any(slot in value for slot in slots))
    sample = ("Sample title", "Sample [%]" if share else "Sample [unit]", "sample case")
    filled = _copy_spec(spec)
    for path, value, found in text_paths:
        for k in found:
            value = value.replace(slots[k], sample[k])
        node = filled
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    if filled != _fan_build(empty, *sample, share).to_dict():
        return None, (), ()
    return spec, paths, text_paths


def _dict_paths(node, path=()):
    """``(path, dict)`` for every dict inside a spec (paths are tuples of keys and list indices)."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _dict_paths(value, path + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _dict_paths(value, path + (i,))


def _copy_spec(node):
    """A copy of a JSON-like spec: new dicts and lists, shared immutable leaves (str, numbers)."""
    if isinstance(node, dict):
        return {key: _copy_spec(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_copy_spec(value) for value in node]
    return node


def _default_data_transformer(rows):
    """True if Altair would inline ``rows`` rows as values (its default transformer, row limit 5000)."""
    registry = alt.data_transformers
    return registry.active == "default" and not registry.options and rows <= 5000


def _altair_records(frame):
    """The rows of ``frame`` as Altair's ``to_values`` writes them, or None if not a plain case.

    Floats become Python floats with NaN and inf as None; ints and bools Python ints and bools;
    timezone-free dates ``Timestamp.isoformat()`` strings (whole seconds only; NaT as ``""``); string
    columns (pandas' string dtypes, or object columns of ``str`` only) their strings, missing as None.
    """
    if not frame.columns.is_unique:
        return None
    names, columns = list(frame.columns), []
    for name, series in frame.items():  # one Series per column (frame[name] builds a new one each time)
        array = series.to_numpy()
        kind = array.dtype.kind
        if isinstance(series.dtype, pd.StringDtype) or kind == "O":
            column = _string_column(series)
            if column is None:
                return None
            columns.append(column)
            continue
        if not isinstance(series.dtype, np.dtype) or kind not in "fiubM":
            return None  # categoricals, nullable and timezone-aware types: Altair's own path
        if kind == "M":
            nat = np.isnat(array)
            if not (nat | (array == array.astype("datetime64[s]"))).all():
                return None  # sub-second dates: isoformat writes fractions
            column = np.datetime_as_string(array, unit="s").tolist()
            for i in np.flatnonzero(nat):
                column[i] = ""
        else:
            column = array.tolist()
            if kind == "f":
                for i in np.flatnonzero(~np.isfinite(array)):
                    column[i] = None
        columns.append(column)
    return [dict(zip(names, row)) for row in zip(*columns)]


def _string_column(series):
    """A string column as Altair writes it (missing values as None), or None if not all strings."""
    if isinstance(series.dtype, pd.StringDtype):
        return series.to_numpy(dtype=object, na_value=None).tolist()
    column = series.tolist()
    return column if all(type(v) is str for v in column) else None


def _dataset_name(values):
    """Altair's name for inline rows: ``"data-"`` and the first 32 hex digits of their SHA-256."""
    if values == [{}]:
        return "empty"
    text = json.dumps(values, sort_keys=True, default=str)
    return "data-" + hashlib.sha256(text.encode()).hexdigest()[:32]


# --------------------------------------------------------------------------- chart templates

#: True inside :func:`spec_mode`: chart builders with a template return the finished spec (dict)
_SPEC_MODE = contextvars.ContextVar("chipsuite_charts_spec_mode", default=False)
#: (build, args, dataset pattern, theme) -> (template spec, name paths, dataset order) or None
_TEMPLATES: dict = {}
_MAX_TEMPLATES = 256


@contextlib.contextmanager
def spec_mode():
    """Within this block the chart builders that have a template (:func:`template_spec`) return the
    chart's Vega-Lite dict, equal to ``chart.to_dict()``, instead of the Altair chart.

    What :meth:`chipsuite.explorers.base.Explorer.chart_spec` uses: the explorer's ``chart()`` runs
    unchanged and its builders skip Altair on a change of data. Builders without a template still
    return Altair charts (the caller converts them).
    """
    token = _SPEC_MODE.set(True)
    try:
        yield
    finally:
        _SPEC_MODE.reset(token)


def _chart_or_spec(build, args, frames, text=()):
    """``build(frames, *args)`` (an Altair chart), or in :func:`spec_mode` its spec via :func:`template_spec`."""
    if _SPEC_MODE.get():
        return template_spec(build, args, frames, text)
    return build(frames, *args)


def _events_or_spec(build, args, frames, events, text=()):
    """``with_events(build(frames, *args), events)``, or in :func:`spec_mode` its spec from a template
    (``build`` makes one ``alt.Chart`` over ``frames[0]``: the event strip spans its dates)."""
    if events is None or len(events) == 0:
        return _chart_or_spec(build, args, frames, text)
    if not _SPEC_MODE.get():
        return with_events(build(frames, *args), events)
    ev, layout = _event_layout_cached(events, _frame_dates(frames[0]))
    return template_spec(_events_build, (build, layout, *args), (*frames, ev), tuple(i + 2 for i in text))


_EVENT_LAYOUTS: dict = {}


def _event_layout_cached(events, chart_dates):
    """:func:`_event_layout`, kept per content of ``events`` (its rows as Altair writes them, columns
    and dtypes) and chart dates; the rows it returns are shared: only ever used as chart data."""
    records = _altair_records(events) if len(events) <= 5000 else None
    if records is None:
        return _event_layout(events, chart_dates)
    key = (tuple(events.columns), tuple(str(t) for t in events.dtypes), json.dumps(records), tuple(chart_dates))
    if key not in _EVENT_LAYOUTS:
        if len(_EVENT_LAYOUTS) >= 64:
            _EVENT_LAYOUTS.clear()
        _EVENT_LAYOUTS[key] = _event_layout(events, chart_dates)
    return _EVENT_LAYOUTS[key]


def _events_build(frames, build, layout, *args):
    """The chart of :func:`_events_or_spec`: ``frames[-1]`` holds the event rows."""
    return _events_composed(build(frames[:-1], *args), frames[-1], *layout)


def template_spec(build, args, frames, text=()):
    """``build(frames, *args).to_dict()``, from a template when only the frames' rows (and free text)
    are new.

    build : module-level function ``(frames, *args) -> Altair chart``. Its contract: it uses each
        frame only as chart data (``alt.Chart(frame)``) and reads nothing from the frames; every
        value that shapes the chart (titles, orders, domains, sizes) is in ``args``.
    args : tuple of hashable values
    frames : tuple of DataFrames -- every inline dataset of the chart comes from one of them
    text : positions in ``args`` of strings the chart only writes into its strings (e.g. the case
        in a subtitle); they are slots of the template, not part of its key

    The first call for ``(build, args)`` (without the text; with which frames hold equal rows, and
    the active theme) builds the chart with Altair twice, with the text and with placeholders, both
    validated; the placeholder spec is kept as the template, with the places that name each dataset
    and hold each text, if it gives the first spec exactly (else this key always takes Altair's
    path). Later calls copy the template and put in the new rows and their names, written as Altair's
    default data transformer writes them (:func:`_altair_records`), and the text. Anything the
    template cannot serve exactly (another data transformer, more than 5,000 rows, an empty frame,
    column types :func:`_altair_records` does not write, a dataset that is not one of ``frames``, a
    text that is not a string) takes Altair's own ``to_dict()``, so the result is always Altair's spec.
    """
    frames = tuple(frames)
    records = [_altair_records(f) if _default_data_transformer(len(f)) else None for f in frames]
    texts = tuple(args[i] for i in text)
    if any(r is None or not r for r in records) or not all(
            type(t) is str and "\ue000" not in t for t in texts):
        return build(frames, *args).to_dict()
    names = [_dataset_name(r) for r in records]
    pattern = tuple(names.index(n) for n in names)  # frames with equal rows share one dataset
    slotted = list(args)
    for k, i in enumerate(text):
        slotted[i] = _text_slot(k)
    key = (build, tuple(slotted), pattern, alt.theme.active)
    if key not in _TEMPLATES:
        spec = build(frames, *args).to_dict()  # validates against the Vega-Lite schema
        if len(_TEMPLATES) >= _MAX_TEMPLATES:
            _TEMPLATES.clear()
        template = _spec_template(build(frames, *slotted).to_dict() if text else spec, names, records, len(text))
        if template is not None and _fill_template(template, names, records, texts) != spec:
            template = None  # the text does more than fill strings: no template for this chart
        _TEMPLATES[key] = template
        return spec
    template = _TEMPLATES[key]
    if template is None:
        return build(frames, *args).to_dict()
    return _fill_template(template, names, records, texts)


def _text_slot(k):
    """Placeholder of text slot ``k`` in a template (private-use characters: never in real text)."""
    return f"\ue000chipsuite text slot {k}\ue000"


def _fill_template(template, names, records, texts):
    """A new spec from a template of :func:`_spec_template`: dataset names, rows and text put in."""
    skeleton, name_paths, text_paths, order = template
    spec = _copy_spec(skeleton)
    for i, paths in name_paths:
        for path in paths:
            node = spec
            for step in path[:-1]:
                node = node[step]
            node[path[-1]] = names[i]
    _fill_text_slots(spec, text_paths, texts)
    spec["datasets"] = {names[i]: records[i] for i in order}
    return spec


def _fill_text_slots(spec, text_paths, texts):
    """Write into ``spec`` (in place) each templated text of ``text_paths`` (``(path, value, slots)``) with
    its slots replaced by ``texts[k]``."""
    for path, value, slots in text_paths:
        for k in slots:
            value = value.replace(_text_slot(k), texts[k])
        node = spec
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = value


def _spec_template(spec, names, records, n_text=0):
    """``(spec without datasets, ((frame, paths of its name), ...), ((path, string, text slots), ...),
    frame of each dataset in order)`` of a spec built from frames whose rows are ``records`` (named
    ``names``); None if the spec holds other datasets or other rows than these."""
    datasets = spec.get("datasets")
    if not isinstance(datasets, dict) or set(datasets) != set(names) or list(spec)[-1] != "datasets":
        return None
    if any(datasets[n] != r for n, r in zip(names, records)):
        return None
    first = {n: names.index(n) for n in names}
    skeleton = {k: v for k, v in spec.items() if k != "datasets"}
    found, text_paths = {}, []
    for path, value in _string_paths(skeleton):
        if value in first:
            found.setdefault(first[value], []).append(path)
        slots = tuple(k for k in range(n_text) if _text_slot(k) in value)
        if slots:
            text_paths.append((path, value, slots))
    name_paths = tuple((i, tuple(paths)) for i, paths in found.items())
    order = tuple(first[n] for n in datasets)
    return _copy_spec(skeleton), name_paths, tuple(text_paths), order


def _string_paths(node, path=()):
    """``(path, str)`` for every string inside a spec (dict values and list items; not dict keys)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _string_paths(value, path + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _string_paths(value, path + (i,))
    elif isinstance(node, str):
        yield path, node


def tornado_chart(frame, title, x_title, case="one-at-a-time sensitivity"):
    """Tornado: the output at each input's low and high value, relative to the base.

    ``frame``: ``parameter``, ``bound`` (``low``/``high``), ``delta`` (output minus base, in
    the unit named by ``x_title``). Bars are sorted by swing.
    """
    frame = frame.assign(parameter=frame["parameter"].map(display.name))
    swing = frame["delta"].abs().groupby(frame["parameter"]).max().sort_values(ascending=False)
    return _chart_or_spec(_tornado_build, (title, x_title, case, tuple(swing.index)), (frame,), text=(0, 2))


def _tornado_build(frames, title, x_title, case, swing_order):
    (frame,) = frames
    swing = list(swing_order)
    share = "[%]" in x_title
    return alt.Chart(frame, title=_title(title, case), width=WIDTH - 100,
                     height=max(120, 22 * len(swing))).mark_bar().encode(
        y=alt.Y("parameter:N", sort=swing, title="Input (set to its low / high value)"),
        x=alt.X("delta:Q", title=x_title, axis=alt.Axis(format="+%" if share else "+,.3~g")),
        color=alt.Color("bound:N", title="Input at", scale=alt.Scale(domain=["low", "high"],
                                                                     range=["#4c78a8", "#f58518"])),
        tooltip=[alt.Tooltip("parameter:N", title="Input"), alt.Tooltip("bound:N", title="Input at"),
                 alt.Tooltip("delta:Q", format="+.2%" if share else "+,.3g", title=x_title)],
    )


def scenario_comparison_chart(frame, title, y_title, case="two scenarios"):
    """Lines of one variable for several named scenarios: ``quarter``, ``scenario``, ``value``."""
    return alt.Chart(frame, title=_title(title, case), width=WIDTH, height=HEIGHT).mark_line().encode(
        x=alt.X("quarter:T", title="Quarter"), y=alt.Y("value:Q", title=y_title),
        color=alt.Color("scenario:N", title="Scenario"),
        tooltip=[alt.Tooltip("quarter:T", title="Quarter", format="%Y Q%q"), "scenario:N",
                 alt.Tooltip("value:Q", format=",.3g", title=y_title)])


# --------------------------------------------------------------------------- data tables

VALUE_TABLES = ("chips", "chip_specs", "chip_workloads", "sites", "site_params", "site_capacity",
                "capex_quarterly", "capex_annual", "events", "fleet_milestones", "assumptions", "deals", "financials",
                "energy_contracts", "fleet_energy_reported", "grid_regions", "site_power_plans")


def provenance_kinds_frame(tables=None):
    """Rows per table and kind of value: ``table``, ``kind``, ``rows`` [count]."""
    from .data import load_tables

    tables = load_tables() if tables is None else tables
    rows = []
    for name in VALUE_TABLES:
        counts = tables[name]["kind"].value_counts()
        rows += [{"table": name, "kind": str(kind), "rows": int(n)} for kind, n in counts.items()]
    return pd.DataFrame(rows)


KINDS = ["reported", "guidance", "estimate", "assumption"]


def provenance_kinds_chart(frame):
    """Stacked bars: how many rows of each table are reported, guidance, estimate or assumption."""
    frame = frame.assign(table=frame["table"].map(display.name))
    return _chart_or_spec(_provenance_kinds_build, (), (frame,))


def _provenance_kinds_build(frames):
    return alt.Chart(frames[0], title=_title("What kind of value each table holds", None), width=WIDTH,
                     height=HEIGHT).mark_bar().encode(
        y=alt.Y("table:N", title="Table (file in data/)", sort=[display.name(t) for t in VALUE_TABLES]),
        x=alt.X("rows:Q", stack="zero", title="Rows [count]"),
        color=alt.Color("kind:N", title="Kind", sort=KINDS, scale=alt.Scale(
            domain=KINDS, range=["#2ca02c", "#1f77b4", "#ff7f0e", "#d62728"])),
        order=alt.Order("kind_order:Q"),
        tooltip=["table:N", "kind:N", alt.Tooltip("rows:Q", title="rows")],
    ).transform_calculate(kind_order=f"indexof({KINDS!r}, datum.kind)")


def value_range_chart(frame, title, x_title):
    """Base values with low-high ranges: ``item``, ``low``, ``base``, ``high``, ``kind``.

    ``x_title`` names the common unit, e.g. ``"Thermal design power [W]"``.
    """
    return _chart_or_spec(_value_range_build, (title, x_title, tuple(frame["item"])), (frame,), text=(0,))


def _value_range_build(frames, title, x_title, items):
    base = alt.Chart(frames[0], width=WIDTH - 100, height=max(120, 18 * len(items)))
    y = alt.Y("item:N", title=None, sort=list(items))
    rule = base.mark_rule(color="#888888").encode(y=y, x=alt.X("low:Q", title=x_title), x2="high:Q")
    point = base.mark_point(filled=True, size=50).encode(
        y=y, x=alt.X("base:Q", title=x_title),
        color=alt.Color("kind:N", title="Kind", sort=KINDS, scale=alt.Scale(
            domain=KINDS, range=["#2ca02c", "#1f77b4", "#ff7f0e", "#d62728"])),
        tooltip=["item:N", "kind:N", alt.Tooltip("low:Q", format=",.4g"), alt.Tooltip("base:Q", format=",.4g"),
                 alt.Tooltip("high:Q", format=",.4g")])
    return alt.layer(rule, point, title=_title(title, None))
