"""Named scenarios against the base case: what each changes, and what it does to the headlines.

The named scenarios are the sourced files of ``data/scenarios/`` (read and validated by
:func:`chipsuite.scenario.named_scenarios`). This module tabulates them for a reader:

- :func:`diff_frame` -- the parameters a scenario changes: ``parameter``, ``display_name``,
  ``unit``, ``base``, ``scenario`` (plus the override's ``kind`` and ``note``);
- :func:`headline_frame` -- the headline results of the base case and every named scenario
  (capex 2026 and 2027, Nvidia's share incl. rented clouds, MTIA's and AMD's shares in 2027Q4,
  compute rented for lack of site power in 2029), all scenarios in one vectorised model call;
- :func:`path_frame` / :func:`path_chart` -- a scenario's main output quarter by quarter
  against the base case;
- :func:`show` -- the notebook section: the comparison table and a *scenario* menu (ipywidgets
  with a kernel; in the kernel-free report a view menu over the precomputed scenarios).

>>> from chipsuite import compare
>>> compare.diff_frame("bear")[["parameter", "base", "scenario"]]   # doctest: +SKIP
"""

from __future__ import annotations

import html

import pandas as pd

from . import display
from .scenario import BASE_CASE, BASE_NAME, load_named, named_scenarios

__all__ = ["HEADLINES", "MAIN_OUTPUTS", "diff_frame", "diff_table", "run_named", "headline_frame",
           "headline_table", "path_frame", "path_chart", "scenario_views", "show"]

#: the quarter whose shares the headlines report (one number per question: a quarter, the base case)
QUARTER = "2027Q4"


def _quarter(result, name, quarter=QUARTER):
    from .explorers.grids import _quarter_value

    return float(_quarter_value(result[name].isel(draw=0), quarter))


def _annual_capex_usd_bn(result, year):
    from .model import annual

    return float(annual(result.capex_usd.isel(draw=0)).sel(year=year)) / 1e9


def _year_mean(result, name, year, scale):
    da = result[name].isel(draw=0)
    return float(da.sel(quarter=da.quarter.dt.year == year).mean()) / scale


#: headline key -> (display name, unit code, function of a one-draw result). Shares are [1] (shown
#: in %); the capex and share keys are those of :data:`chipsuite.headlines.CHECKS` for one scenario
HEADLINES = {
    "capex_2026_usd_bn": ("capex 2026", "usd_bn", lambda r: _annual_capex_usd_bn(r, 2026)),
    "capex_2027_usd_bn": ("capex 2027", "usd_bn", lambda r: _annual_capex_usd_bn(r, 2027)),
    "nvidia_share_incl_rented_2027q4": ("Nvidia share incl. rented, 2027Q4", "%",
                                        lambda r: _quarter(r, "nvidia_share_h100e_incl_rented")),
    "mtia_share_2027q4": ("MTIA share, 2027Q4", "%", lambda r: _quarter(r, "mtia_share_h100e")),
    "amd_share_2027q4": ("AMD share, 2027Q4", "%", lambda r: _quarter(r, "amd_share_h100e")),
    "power_rented_2029_million_h100e": ("rented for lack of site power, 2029 mean", "million H100e",
                                        lambda r: _year_mean(r, "power_rented_h100e", 2029, 1e6)),
}
SHARE_HEADLINES = tuple(k for k, (_, u, _) in HEADLINES.items() if u == "%")

#: main output of a scenario's chart -> (title, axis title, result variable, divisor)
MAIN_OUTPUTS = {
    "capex_usd_bn": ("Capex", "Capex [USD bn per quarter]", "capex_usd", 1e9),
    "mtia_share_h100e": ("MTIA share of installed capability", "MTIA share of installed H100e [%]",
                         "mtia_share_h100e", 0.01),
    "amd_share_h100e": ("AMD share of installed capability", "AMD share of installed H100e [%]",
                        "amd_share_h100e", 0.01),
    "nvidia_share_h100e_incl_rented": ("Nvidia share of capability incl. rented",
                                       "Nvidia share incl. rented [%]", "nvidia_share_h100e_incl_rented", 0.01),
    "power_rented_h100e": ("Compute rented for lack of site power",
                           "Rented for lack of site power [million H100e]", "power_rented_h100e", 1e6),
}


def _main_output(named):
    """The output a scenario's chart shows: the one its levers move most directly."""
    names = {o.name for o in named.overrides}
    if names & {"build_constraint", "power_shortfall_mode"} or any(n.endswith("_power_delay_quarters") for n in names):
        return "power_rented_h100e"
    if "amd_deal_scale" in names:
        return "amd_share_h100e"
    if any(n.startswith("mtia_") for n in names):
        return "mtia_share_h100e"
    if names & {"rental_scale", "nvidia_deal_scale"}:
        return "nvidia_share_h100e_incl_rented"
    return "capex_usd_bn"


def _named(name_or_named, path=None):
    return load_named(name_or_named, path) if isinstance(name_or_named, str) else name_or_named


def diff_frame(name, path=None):
    """What named scenario ``name`` changes against the base case, one row per changed parameter.

    Columns ``parameter`` (id), ``display_name``, ``unit`` (the parameter's unit code),
    ``base`` and ``scenario`` (values in that unit), ``kind`` and ``note`` (the override's).
    Overrides equal to the base value are not listed (they change nothing).
    """
    named = _named(name, path)
    notes = {o.name: o for o in named.overrides}
    rows = [{"parameter": d.name, "display_name": display.name(d.name), "unit": d.unit, "base": d.self_value,
             "scenario": d.other_value, "kind": notes[d.name].kind, "note": notes[d.name].note}
            for d in named.diff()]
    return pd.DataFrame(rows, columns=["parameter", "display_name", "unit", "base", "scenario", "kind", "note"])


def diff_table(name, path=None, notes=True):
    """:func:`diff_frame` formatted for a reader (:func:`chipsuite.display.table`): display name,
    unit, base and scenario values (and kind and note if ``notes``), no ids, no index."""
    frame = diff_frame(name, path).drop(columns="parameter").rename(columns={"display_name": "parameter"})
    if not notes:
        frame = frame.drop(columns=["kind", "note"])
    units = frame["unit"].unique()
    common = {"base": units[0], "scenario": units[0]} if len(units) == 1 else None  # one unit: in the headers
    return display.table(frame, units=common, names={"base": "base case", "scenario": "scenario"})


def run_named(names=None, path=None):
    """Model results of the base case and named scenarios: ``{name: one-draw result}``, the base case
    first. ``names``: scenario names (default: every named scenario). One vectorised model call
    (:func:`chipsuite.explorers.grids.run_points`), equal to ``chipsuite.run`` of each scenario."""
    from .explorers.grids import run_points
    from .scenario import Scenario

    found = {BASE_NAME: BASE_CASE, **named_scenarios(path)} if names is None else {
        BASE_NAME: BASE_CASE, **{n: load_named(n, path) for n in names}}
    points = [{o.name: o.value for o in n.overrides} for n in found.values()]
    grid = run_points(Scenario.default(), points)
    return {name: grid.isel(draw=[i]) for i, name in enumerate(found)}


def headline_frame(names=None, path=None, results=None):
    """Headline results of the base case and the named scenarios, one row each (base case first).

    Columns ``scenario`` (name), ``title``, then one per :data:`HEADLINES` key (shares [1],
    amounts in the key's unit). ``results``: from :func:`run_named` (computed if ``None``).
    """
    results = run_named(names, path) if results is None else results
    found = {BASE_NAME: BASE_CASE, **named_scenarios(path)}
    rows = []
    for name, result in results.items():
        named = found[name]
        rows.append({"scenario": name, "title": named.title,
                     **{k: fn(result) for k, (_, _, fn) in HEADLINES.items()}})
    return pd.DataFrame(rows)


def headline_table(frame):
    """:func:`headline_frame` formatted for a reader: titles, headline names with units, shares in %."""
    labels = {k: label for k, (label, _, _) in HEADLINES.items()}
    units = {labels[k]: u for k, (_, u, _) in HEADLINES.items() if u != "%"}
    shown = frame.drop(columns="scenario").rename(columns={"title": "scenario", **labels})
    return display.table(shown, units=units, percent_columns=[labels[k] for k in SHARE_HEADLINES],
                         names={v: v for v in units})


def path_frame(result, base_result, output, start="2024-01-01", reference="base case"):
    """Tidy quarterly values of ``output`` (a :data:`MAIN_OUTPUTS` key) for the base case (or another
    reference, labelled ``reference``) and a scenario: ``quarter``, ``scenario`` (``reference`` /
    ``"scenario"``), ``value`` in the output's unit."""
    _, _, var, scale = MAIN_OUTPUTS[output]
    frames = []
    for label, r in ((reference, base_result), ("scenario", result)):
        da = r[var].isel(draw=0)
        da = da.sum([d for d in da.dims if d != "quarter"]) if da.ndim > 1 else da
        s = (da / scale).to_series()
        s = s[s.index >= pd.Timestamp(start)]
        frames.append(pd.DataFrame({"quarter": s.index, "scenario": label, "value": s.to_numpy()}))
    return pd.concat(frames, ignore_index=True)


def path_chart(frame, output):
    """Lines of a scenario's main output against the base case or its reference (:func:`path_frame`);
    the menu that shows the chart names the scenario."""
    from .charts import scenario_comparison_chart

    heading, axis, _, _ = MAIN_OUTPUTS[output]
    against = next(s for s in frame["scenario"].unique() if s != "scenario")
    return scenario_comparison_chart(frame, f"{heading}: scenario and {against}", axis, case="named scenario")


def _sources_html(ids):
    from .data import load_tables

    sources = load_tables()["sources"].set_index("source_id")
    items = []
    for sid in ids:
        row = sources.loc[sid]
        url = html.escape(str(row["url"]), quote=True)
        items.append(f'<li>{html.escape(sid)}: {html.escape(str(row["publisher"]))}, '
                     f'<a href="{url}">{html.escape(str(row["title"]))}</a> ({html.escape(str(row["date"]))})</li>')
    return f"<ul>{''.join(items)}</ul>"


def _reasoning_html(text, path=None):
    """A scenario's reasoning for the reader: parameters by their display names (the table below names
    them too), other scenarios by their titles, file and table names as code."""
    from .scenario import PARAMETERS

    names = {n: display.name(n) for n in PARAMETERS}
    names.update({n: s.title for n, s in named_scenarios(path).items()})
    return display.prose_html(text, names)


def scenario_html(named, headlines, path=None):
    """HTML of one named scenario: reasoning, what it changes, its headlines against the base case
    (``headlines``: the rows of :func:`headline_frame` for ``base`` and this scenario), sources."""
    rows = headlines[headlines["scenario"].isin([BASE_NAME, named.reference, named.name])]
    reference = ""
    if named.reference != BASE_NAME:
        ref = load_named(named.reference, path)
        only = ", ".join(html.escape(display.name(d.name)) for d in ref.scenario.diff(named.scenario))
        reference = (f"<p>It reads against <b>{html.escape(ref.title)}</b>, the reference in the chart, which "
                     f"differs from it only in: {only}.</p>")
    return (f'<div class="chipsuite-named-scenario"><p><b>{html.escape(named.title)}</b> '
            f'(<code>Scenario.named("{html.escape(named.name)}")</code>). {_reasoning_html(named.reasoning, path)}</p>'
            f"<p>What it changes against the base case:</p>{diff_table(named)._repr_html_()}{reference}"
            f"<p>Headline results (capex: the year's sum; shares: {QUARTER}; base case, every other input "
            f"at its base value):</p>{headline_table(rows)._repr_html_()}"
            f"<p>Sources:</p>{_sources_html(named.source_ids)}</div>")


def scenario_views(path=None, results=None):
    """``[(menu label, chart, HTML)]`` for every named scenario of ``results`` (:func:`run_named`; a
    report view menu): the chart of its main output against the base case (or its ``reference``, when
    that is in ``results``), and :func:`scenario_html`."""
    results = run_named(None, path) if results is None else results
    frame = headline_frame(path=path, results=results)
    found = named_scenarios(path)
    views = []
    for name, result in results.items():
        if name == BASE_NAME:
            continue
        named = found[name]
        output = _main_output(named)
        if named.reference in results and named.reference != BASE_NAME:
            lines = path_frame(result, results[named.reference], output, reference="reference")
        else:
            lines = path_frame(result, results[BASE_NAME], output)
        chart = path_chart(lines, output)
        views.append((named.title, chart, scenario_html(named, frame, path)))
    return views


def show(path=None):
    """Display the named scenarios: the headline comparison table, then a *scenario* menu over the
    scenarios (each: its main output against the base case, reasoning, changes, headlines, sources).

    In report mode (:func:`chipsuite.is_report_mode`) the menu is a kernel-free view menu over the
    precomputed scenarios; with a kernel an ipywidgets dropdown. Returns the headline frame.
    """
    from IPython.display import display as ipy_display

    from .explorers.base import display_view_menu, fallback_bundle
    from .modes import is_report_mode

    results = run_named(None, path)
    frame = headline_frame(path=path, results=results)
    ipy_display(headline_table(frame))
    views = scenario_views(path, results)
    if not views:
        return frame
    if is_report_mode():
        display_view_menu("Named scenarios", views, label="Scenario")
        return frame
    import ipywidgets as w

    from .vega import OfflineChart

    by_label = {label: (chart, text) for label, chart, text in views}
    first = views[0][0]
    menu = w.Dropdown(options=list(by_label), value=first, description="scenario",
                      style={"description_width": "initial"})
    chart = OfflineChart(spec=by_label[first][0].to_dict())
    text = w.HTML(by_label[first][1])
    # where widgets cannot run (plain nbconvert HTML, nbviewer) the first scenario's chart as a snapshot
    ipy_display(fallback_bundle(chart.spec, "named scenarios"), raw=True)

    def pick(change):
        chart.spec = by_label[change["new"]][0].to_dict()
        text.value = by_label[change["new"]][1]

    menu.observe(pick, names="value")
    ipy_display(w.VBox([menu, chart, text]))
    return frame
