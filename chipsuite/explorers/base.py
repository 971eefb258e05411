"""The explorer machinery: a scenario state (model) and the control -> chart -> widget wiring (GUI).

:class:`ScenarioState` holds a Scenario and its cached model result; :class:`Explorer` holds
control values, turns them into scenario parameters, and builds ipywidgets controls linked to
an :class:`~chipsuite.OfflineChart` only when ``.widget`` is first used. Subclasses (one module
per question) define ``CONTROLS``, ``chart_data``, ``chart``, ``summary`` and ``static_view``.
"""

from __future__ import annotations

import dataclasses
import functools
import html
from pathlib import Path

from ..modes import is_report_mode
from ..scenario import (BASE_CASE, BASE_NAME, PARAMETERS, Scenario, ScenarioError, as_number, check_seed,
                        load_named, named_scenarios)

__all__ = ["ScenarioState", "Control", "Explorer", "display_chart", "display_view_menu", "view_menu_bundle",
           "FALLBACK_CLASS", "VIEW_MENU_MIMETYPE"]

#: mimetype of a report view menu: ``{"title", "label", "default", "views": [{"name", "spec", "html"}]}``;
#: :func:`chipsuite.report.embed_vega_outputs` turns it into a ``<select>`` over the precomputed views
VIEW_MENU_MIMETYPE = "application/vnd.chipsuite.view-menu+json"

#: CSS class of the static chart snapshot that :meth:`Explorer.show` displays next to the widget
FALLBACK_CLASS = "chipsuite-static-fallback"
#: Hides the snapshot's output when the live chart (OfflineChart's ``.chipsuite-offline-chart``)
#: has rendered in the same cell: JupyterLab, Voila and nbconvert's lab template share these classes
FALLBACK_CSS = (
    f".jp-OutputArea:has(.chipsuite-offline-chart) > .jp-OutputArea-child:has(.{FALLBACK_CLASS}),"
    f" .output:has(.chipsuite-offline-chart) > .output_area:has(.{FALLBACK_CLASS}) {{ display: none; }}"
)


_FROZEN = []


def freeze_long_lived():
    """Once per process, at the first control change: move every object alive then (the imported
    libraries, the dataset and its caches, the first results: ~300,000 objects) out of the cyclic
    garbage collector's reach (:func:`gc.freeze`). Without it a full (generation 2) collection, which
    Python runs every few dozen changes, scans them all: ~170 ms, one slider change in twenty on this
    machine (measured; benchmarks/README.md). Objects created later are collected as usual; the frozen
    ones are freed by reference counting as before, only cycles among them are not. Returns whether it
    froze now."""
    if _FROZEN:
        return False
    import gc

    gc.freeze()
    _FROZEN.append(True)
    return True


class ScenarioState:
    """A Scenario and its model result (recomputed lazily after each change).

    Parameters
    ----------
    scenario : Scenario, optional (default: the base case)
    draws : int -- 1 = base case; > 1 = Monte Carlo ensemble
    seed : int
    """

    def __init__(self, scenario=None, draws=1, seed=0):
        if scenario is not None and not isinstance(scenario, Scenario):
            raise TypeError(f"scenario must be a chipsuite.Scenario, not {type(scenario).__name__}")
        self._scenario = Scenario.default() if scenario is None else scenario
        self.draws = _check_draws(draws)
        self.seed = check_seed(seed)
        self._result = None
        self._cache = None  # chipsuite.model.ModelCache: reuses the fleet stage across changes

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
        """The model result of the current scenario (equal to ``chipsuite.run``).

        Computed by a :class:`chipsuite.model.ModelCache`: after a change of parameters only the
        formulas read, the changed inputs are re-sampled and only the formulas downstream of them
        re-evaluated. Its arrays are read-only (``result.copy(deep=True)`` for a writeable copy).
        """
        if self._result is None:
            if self._cache is None:
                from ..model import ModelCache

                self._cache = ModelCache()
            self._result = self._cache.run(self._scenario, draws=self.draws, seed=self.seed)
        return self._result

    def save_scenario(self, path):
        """Write the scenario as JSON (:meth:`Scenario.to_json`) to ``path``; returns the Path."""
        path = Path(path)
        path.write_text(self._scenario.to_json(), encoding="utf-8")
        return path

    def load_scenario(self, path):
        """Read a scenario saved by :meth:`save_scenario` and make it current.

        A file that is not UTF-8 JSON of a valid scenario raises :class:`ScenarioError` naming
        ``path``; a file that cannot be read raises ``OSError``.
        """
        data = Path(path).read_bytes()
        try:
            scenario = Scenario.from_json(data)
        except ScenarioError as err:
            raise ScenarioError(f"{path}: {err}") from None
        self.scenario = scenario
        return self._scenario


def _check_draws(draws):
    """``draws`` as an int >= 1 (numpy integers accepted); else :class:`ScenarioError`."""
    try:
        n = check_seed(draws)
    except ScenarioError:
        n = -1
    if n < 1:
        raise ScenarioError(f"draws = {draws!r} must be an integer >= 1")
    return n


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
    #: view selected when a report page opens (``None``: the widget's current view)
    REPORT_DEFAULT = None
    #: the kernel-free report adds a *scenario* menu: the chart under every named scenario
    REPORT_SCENARIOS = True
    title = "Explorer"

    def __init__(self, scenario=None, draws=1, seed=0, **controls):
        if isinstance(scenario, str):  # a named scenario of data/scenarios/ ("base": the base case)
            scenario = load_named(scenario).scenario
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

        Unknown controls raise ``KeyError``; values that are not numbers or make an invalid
        scenario raise :class:`ScenarioError`; a chart that cannot be drawn re-raises its error.
        Every failure leaves the explorer unchanged.
        """
        freeze_long_lived()
        unknown = sorted(set(controls) - set(self.CONTROLS))
        if unknown:
            raise KeyError(f"{type(self).__name__}: unknown control(s) {unknown}; known: {sorted(self.CONTROLS)}")
        for name, value in controls.items():
            c = self.CONTROLS[name]
            if c.kind == "select" and c.options and value not in c.options:
                raise ValueError(f"{type(self).__name__}: control {name!r} = {value!r} is not one of {list(c.options)}")
        params = {}
        for n, v in controls.items():
            c = self.CONTROLS[n]
            if c.param is not None:
                try:
                    params[c.param] = as_number(c.param, v, PARAMETERS[c.param].unit) * c.scale
                except ScenarioError as err:
                    raise ScenarioError(f"{type(self).__name__}: control {n!r}: {err}") from None
        before = (self.state.scenario, dict(self.values))
        if params:
            try:
                self.state.update(**params)  # raises ScenarioError before anything changes
            except ScenarioError as err:
                names = ", ".join(repr(n) for n in controls if self.CONTROLS[n].param is not None)
                raise ScenarioError(f"{type(self).__name__}: control {names}: {err}") from None
        self.values.update(controls)
        try:
            self._refresh()
        except Exception:  # the chart failed (e.g. a model error): back to the previous state
            self.state.scenario, self.values = before[0], before[1]
            self._sync_controls()
            raise
        self._sync_controls()
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

    def chart_spec(self, view=None):
        """The Vega-Lite spec (dict) of :meth:`chart`, what the live widget draws after a change.

        Equal to ``self.chart(view).to_dict()`` (tested); explorers may override it with a cheaper
        path for the same spec (e.g. :func:`chipsuite.charts.fan_spec`). The spec is validated
        against the Vega-Lite schema (Altair's ``to_dict()``) the first time its structure -- the
        spec without its inline ``datasets`` -- is seen (:func:`validated_spec`); a slider change
        that only changes the data reuses that check. Chart builders with a template
        (:func:`chipsuite.charts.template_spec`) return their spec directly (:func:`chipsuite.charts.spec_mode`).
        """
        from ..charts import spec_mode

        with spec_mode():
            chart = self.chart(view)
        return chart if isinstance(chart, dict) else validated_spec(chart)

    def summary(self):
        """Key numbers of the current state (a dict, for prose computed in notebooks)."""
        return {}

    def static_view(self):
        """A kernel-free chart: bound parameters over a precomputed grid, or the current chart."""
        return self.chart()

    def view_names(self):
        """The views the explorer's *chart* menu offers (``()`` without a view control)."""
        control = self.CONTROLS.get(self.VIEW)
        return tuple(control.options) if control is not None and control.kind == "select" else ()

    def report_chart(self, view):
        """The kernel-free chart of ``view`` for the report menu (default: :meth:`chart`; explorers
        whose view has a precomputed grid return the chart with its controls bound over the grid)."""
        return self.chart(view)

    def report_views(self):
        """``[(menu label, Altair chart or None, HTML or "")]``: every view the widget offers, in order,
        precomputed for the kernel-free report (the default view first in the menu's selection)."""
        names = self.view_names()
        if not names:
            return [(self.title, self.static_view(), "")]
        views = [(name, self.report_chart(name), "") for name in names]
        if self._grid_view_extra():
            views.insert(0, (self._grid_view_label(), self.static_view(), ""))
        return views

    def _grid_view_extra(self):
        """True when a subclass's :meth:`static_view` (a precomputed grid with bound controls) is no
        view of the menu (it overrides ``static_view`` but not ``report_chart``): the menu then offers
        it too, first, so the report keeps every control the grid has."""
        cls = type(self)
        return (bool(self.view_names()) and cls.static_view is not Explorer.static_view
                and cls.report_chart is Explorer.report_chart)

    def _grid_view_label(self):
        title = self.static_view().title
        text = getattr(title, "text", title)
        text = " ".join(text) if isinstance(text, list) else text
        return f"{text} (precomputed grid)" if isinstance(text, str) and text else "precomputed grid"

    def report_default(self):
        """Menu label of the view selected when the report page opens (the widget's current view)."""
        names = self.view_names()
        if not names:
            return self.title
        if self.REPORT_DEFAULT in names:
            return self.REPORT_DEFAULT
        return self._grid_view_label() if self._grid_view_extra() else self.values.get(self.VIEW)

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

    # ------------------------------------------------------------------ named scenarios
    def named_scenarios(self):
        """``{name: NamedScenario}`` the *scenario* menu offers: the base case, then the files of
        ``data/scenarios/`` (:func:`chipsuite.scenario.named_scenarios`, read once per explorer)."""
        if getattr(self, "_named", None) is None:
            self._named = {BASE_NAME: BASE_CASE, **named_scenarios()}
        return self._named

    @property
    def scenario_name(self):
        """Name of the named scenario the explorer's scenario equals (``"base"``: the base case), or
        ``None`` once a control has moved it away from every named scenario."""
        current = self.state.scenario
        return next((n for n, s in self.named_scenarios().items() if s.scenario == current), None)

    def use_scenario(self, name):
        """Make named scenario ``name`` current (its overrides on the base case; what the *scenario*
        menu does) and move the controls to it. Unknown names raise :class:`ScenarioError`; a chart
        that cannot be drawn leaves the explorer unchanged. Returns the labels of sliders whose
        range does not reach the scenario's value (the slider shows its limit)."""
        named = self.named_scenarios().get(name)
        if named is None:
            raise ScenarioError(f"{type(self).__name__}: unknown named scenario {name!r}; "
                                f"known: {list(self.named_scenarios())}")
        before = (self.state.scenario, dict(self.values))
        self.state.scenario = named.scenario
        for n, c in self.CONTROLS.items():
            if c.param is not None:
                self.values[n] = self._from_param(c, getattr(self.state.scenario, c.param))
        try:
            self._refresh()
        except Exception:  # the chart failed: back to the previous state
            self.state.scenario, self.values = before
            self._sync_controls()
            raise
        self._sync_controls()
        return [c.label for n, c in self.CONTROLS.items()
                if c.kind == "slider" and c.param is not None and not c.min <= self.values[n] <= c.max]

    def _scenario_menu(self):
        import ipywidgets as w

        try:
            named = self.named_scenarios()
        except ScenarioError as err:  # a bad scenario file: the menu offers the base case and says why
            self._named = {BASE_NAME: BASE_CASE}
            named, problem = self._named, f"named scenarios not loaded: {err}"
        else:
            problem = ""
        menu = w.Dropdown(options=[(s.title, n) for n, s in named.items()], value=self.scenario_name,
                          description="scenario", style={"description_width": "initial"})

        def pick(change):
            if self._syncing or change["new"] is None:
                return
            outside = []
            self._guarded(lambda: outside.extend(self.use_scenario(change["new"])),
                          f"scenario: {named[change['new']].title}")
            if outside:
                self._show_message(f"scenario: {named[change['new']].title}; outside the range of "
                                   f"{', '.join(outside)} (the slider shows its limit)")

        menu.observe(pick, names="value")
        return menu, problem

    def scenario_report_views(self):
        """``[(scenario title, views)]``: every view of :meth:`report_views` under every named scenario
        other than the current one (the base case first when the explorer is elsewhere), precomputed for
        the report's *named scenario* menu; the explorer keeps its state. ``views`` are
        ``[(menu label, Vega-Lite spec or None, HTML)]`` with the labels of :meth:`report_views`, so the
        report keeps the chosen view when the scenario changes; each chart's subtitle gets a first line
        naming the scenario."""
        before = (self.state.scenario, dict(self.values))
        current = self.scenario_name
        groups = []
        try:
            for name, named in self.named_scenarios().items():
                if name == current:
                    continue
                self.use_scenario(name)
                views = []
                for label, chart, extra in self.report_views():
                    spec = None if chart is None else (chart if isinstance(chart, dict) else chart.to_dict())
                    views.append((label, None if spec is None else _scenario_subtitle(spec, named.title), extra))
                groups.append((named.title, views))
        finally:
            self.state.scenario, self.values = before
        return groups

    def report_scenario_title(self):
        """Title of the named scenario the explorer shows (``"as set"`` when its controls left every one)."""
        name = self.scenario_name
        return self.named_scenarios()[name].title if name is not None else "as set"

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
            ctl = w.Dropdown(options=[(self.option_label(name, o), o) for o in c.options], value=self.values[name],
                             description=c.label, style=style)
        elif c.kind == "text":
            ctl = w.Text(value=str(self.values[name] or ""), description=c.label, continuous_update=False,
                         style=style, layout=w.Layout(width="520px"))
        else:  # pragma: no cover - programming error
            raise ValueError(f"unknown control kind {c.kind!r}")
        ctl.observe(functools.partial(self._on_control, name), names="value")
        return ctl

    def option_label(self, control, value):
        """What the menu of select control ``control`` shows for ``value`` (its value; explorers whose
        options are ids show display names)."""
        return str(value)

    def _build(self):
        import ipywidgets as w

        from ..vega import OfflineChart

        self._controls = {name: self._make_control(name, c) for name, c in self.CONTROLS.items()}
        self._message = w.HTML("")
        self._chart_widget = OfflineChart(spec=self.chart_spec())
        path = w.Text(value="scenario.json", description="scenario file", style={"description_width": "initial"})
        save = w.Button(description="save scenario", icon="save")
        load = w.Button(description="load scenario", icon="folder-open")
        save.on_click(lambda _: self._guarded(lambda: self.save_scenario(path.value),
                                              f"saved to {html.escape(path.value)}"))
        load.on_click(lambda _: self._guarded(lambda: self.load_scenario(path.value),
                                              f"loaded {html.escape(path.value)}"))
        self._named_menu, problem = self._scenario_menu()
        if problem:
            self._show_message(problem, error=True)
        files = w.HBox([self._named_menu, path, save, load])
        box = w.VBox([w.HTML(f"<b>{html.escape(self.title)}</b>"), *self._controls.values(), self._message,
                      self._chart_widget, key_guard(), files])
        box.add_class(EXPLORER_CLASS)
        return box

    def _guarded(self, action, ok_text):
        try:
            action()
        except Exception as err:  # noqa: BLE001 - a widget callback: an exception would only reach the log
            self._show_message(f"{type(err).__name__}: {err}", error=True)
            self._sync_controls()
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
        except Exception as err:  # noqa: BLE001 - a widget callback: every error is shown, none escapes
            self._show_message(f"Not applied: {type(err).__name__}: {err}", error=True)
            self._sync_controls()

    def _sync_controls(self):
        if not self._controls:
            return
        self._syncing = True
        try:
            for name, ctl in self._controls.items():
                if ctl.value != self.values[name]:
                    ctl.value = self.values[name]
            menu = getattr(self, "_named_menu", None)
            if menu is not None and menu.value != self.scenario_name:
                menu.value = self.scenario_name
        finally:
            self._syncing = False

    def _refresh(self):
        if self._chart_widget is not None:
            self._chart_widget.spec = self.chart_spec()

    def static_fallback_bundle(self):
        """Mimebundle of a static snapshot of the current chart, shown where widgets cannot run.

        ``text/html`` (the SVG rendered offline by vl-convert, a caption, and a style rule that
        hides the snapshot once a live explorer chart has rendered in the same output area) plus
        ``image/svg+xml`` and ``text/plain``. :meth:`show` displays it next to the widget view, so
        plain ``jupyter nbconvert --to html``, nbviewer and GitHub show the chart, while JupyterLab
        and Voila show only the live explorer. The snapshot is the chart when ``show()`` ran (it is
        not re-rendered on each change: an SVG takes about 0.3 s).
        """
        return fallback_bundle(self.chart_spec(), self.title)

    def show(self):
        """Display the widget UI with a static fallback (:meth:`display_live`); in report mode a
        kernel-free view menu over every view of :meth:`report_views` instead (the same views as the
        widget's *chart* menu, precomputed; grid views keep their controls as bound selects/sliders),
        with a *named scenario* menu beside it that offers the same views under every named scenario
        (:meth:`scenario_report_views`; none when ``REPORT_SCENARIOS`` is false)."""
        if is_report_mode():
            groups = self.scenario_report_views() if self.REPORT_SCENARIOS else []
            display_view_menu(self.title, self.report_views(), default=self.report_default(),
                              scenarios=groups, scenario=self.report_scenario_title() if groups else None)
        else:
            self.display_live()

    def display_live(self):
        """Display :meth:`static_fallback_bundle`, then the widget UI (what :meth:`show` does
        outside report mode; explorers that override ``show`` call this)."""
        from IPython.display import display

        display(self.static_fallback_bundle(), raw=True)
        display(self.widget)


#: CSS class of an explorer's widget box (the element :func:`key_guard` marks)
EXPLORER_CLASS = "chipsuite-explorer"
#: the ES module of :func:`key_guard`: keys that move through a control (arrows, page up/down, home/end)
#: pressed inside the explorer box stop there, so JupyterLab's notebook (which listens for them further up,
#: in the bubbling phase, and moves the active cell in command mode) does not see them; other keys (Ctrl+S,
#: Shift+Enter) still reach it. Lumino's ``data-lm-suppress-shortcuts`` attribute alone did not stop the arrows
#: (tested in JupyterLab 4.6) and would stop every shortcut. The box may not be in the page yet when the view renders.
_KEY_GUARD_ESM = """
const KEYS = ["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "PageUp", "PageDown", "Home", "End"];
export default { render({ el }) {
  let tries = 0;
  const mark = () => {
    const box = el.closest(".%s");
    if (!box) { if (++tries < 200) requestAnimationFrame(mark); return; }
    if (box.hasAttribute("data-chipsuite-key-guard")) return;
    box.setAttribute("data-chipsuite-key-guard", "1");
    box.addEventListener("keydown", (event) => { if (KEYS.includes(event.key)) event.stopPropagation(); });
  };
  mark();
} };
""" % EXPLORER_CLASS


@functools.cache
def _key_guard_class():
    import anywidget
    import traitlets

    class KeyGuard(anywidget.AnyWidget):
        _esm = traitlets.Unicode(_KEY_GUARD_ESM).tag(sync=True)

    return KeyGuard


def key_guard():
    """An invisible widget that stops JupyterLab's notebook shortcuts inside the explorer box it sits in:
    without it the arrow keys on a focused menu or slider also move the active cell (JupyterLab binds
    them in command mode). Keys typed in the explorer's controls then act on the controls only."""
    import ipywidgets as w

    return _key_guard_class()(layout=w.Layout(width="0px", height="0px", margin="0px"))


def fallback_bundle(spec, title):
    """Mimebundle of a static snapshot of the Vega-Lite ``spec`` (see :meth:`Explorer.static_fallback_bundle`):
    shown where widgets cannot run, hidden once a live chart has rendered in the same output area."""
    from ..vega import spec_to_svg

    svg = spec_to_svg(spec)
    caption = (f"Static snapshot of the {html.escape(title)} chart as first displayed; "
               "run the notebook with a kernel (JupyterLab, Voila, Binder) for the live controls.")
    page = (f'<div class="{FALLBACK_CLASS}">\n{svg}\n'
            f'<p class="{FALLBACK_CLASS}-caption" style="color:#666;font-size:0.85em">{caption}</p>\n'
            f"</div>\n<style>{FALLBACK_CSS}</style>\n")
    return {"text/html": page, "image/svg+xml": svg, "text/plain": f"<static snapshot of the {title} chart>"}


def _scenario_subtitle(spec, title):
    """``spec`` with a first subtitle line ``"Named scenario: <title>"`` (a top-level title, if any)."""
    line = f"Named scenario: {title}"
    head = spec.get("title")
    if isinstance(head, str):
        spec["title"] = {"text": head, "subtitle": line}
    elif isinstance(head, dict):
        sub = head.get("subtitle")
        head["subtitle"] = [line, *([sub] if isinstance(sub, str) else (sub or []))]
    return spec


#: hashes of chart structures (spec without ``datasets``) already validated by Altair in this process
_VALIDATED_STRUCTURES: set = set()
_MAX_VALIDATED = 4096


def validated_spec(chart):
    """``chart.to_dict()``, validated by Altair only when its structure has not been validated before.

    The spec is built without validation; if its structure (every key but ``datasets``, the
    inline data rows, whose schema accepts any records) is new, ``chart.to_dict()`` validates it
    (raising on an invalid chart, as ``to_dict()`` does) and the structure is remembered. The
    result equals ``chart.to_dict()`` either way: validation never changes a spec.
    """
    import hashlib
    import json

    spec = chart.to_dict(validate=False)
    structure = {k: v for k, v in spec.items() if k != "datasets"}
    key = hashlib.blake2b(json.dumps(structure, sort_keys=True, default=str).encode(), digest_size=16).digest()
    if key not in _VALIDATED_STRUCTURES:
        spec = chart.to_dict()  # validates
        if len(_VALIDATED_STRUCTURES) >= _MAX_VALIDATED:
            _VALIDATED_STRUCTURES.clear()
        _VALIDATED_STRUCTURES.add(key)
    return spec


def display_chart(chart):
    """Display an Altair chart offline (Vega-Lite spec + SVG mimebundle), whatever the renderer."""
    from IPython.display import display

    from ..vega import chart_mimebundle

    data, metadata = chart_mimebundle(chart.to_dict())
    display(data, metadata=metadata, raw=True)


def _menu_entries(title, views):
    entries = []
    for name, chart, extra_html in views:
        spec = chart if isinstance(chart, dict) or chart is None else chart.to_dict()
        entries.append({"name": str(name), "spec": spec, "html": extra_html or ""})
    if not entries:
        raise ValueError(f"view menu {title!r}: no views")
    return entries


def view_menu_bundle(title, views, default=None, label="View", scenarios=(), scenario=None):
    """Mimebundle of a kernel-free view menu: ``views`` = ``[(name, chart or spec dict or None, html)]``.

    ``VIEW_MENU_MIMETYPE`` holds the specs (the report turns it into a ``<select>``); ``text/html``
    shows the default view's static SVG and HTML for renderers without the report's script;
    ``text/plain`` names the views. ``scenarios`` = ``[(scenario title, views)]`` adds a second
    menu, *named scenario*: ``views`` are then the views under scenario ``scenario`` (its title),
    and each entry of ``scenarios`` the views under another named scenario.
    """
    from ..vega import spec_to_svg

    entries = _menu_entries(title, views)
    names = [e["name"] for e in entries]
    if default is None or default not in names:
        default = names[0]
    first = entries[names.index(default)]
    svg = spec_to_svg(first["spec"]) if first["spec"] is not None else ""
    fallback = (f'<div class="chipsuite-view-menu-static"><p><b>{html.escape(str(title))}</b>: '
                f'{html.escape(default)}</p>{svg}{first["html"]}</div>')
    menu = {"title": str(title), "label": str(label), "default": default, "views": entries}
    if scenarios:
        menu["scenario"] = str(scenario or "as set")
        menu["scenarios"] = [{"name": str(s), "views": _menu_entries(f"{title}: {s}", v)} for s, v in scenarios]
    plain = f"{title}: {len(entries)} views ({'; '.join(names)})"
    if scenarios:
        plain += f" under {1 + len(scenarios)} named scenarios"
    return {VIEW_MENU_MIMETYPE: menu, "text/html": fallback, "text/plain": plain}


def display_view_menu(title, views, default=None, label="View", scenarios=(), scenario=None):
    """Display :func:`view_menu_bundle` (what :meth:`Explorer.show` does in report mode)."""
    from IPython.display import display

    display(view_menu_bundle(title, views, default=default, label=label, scenarios=scenarios,
                             scenario=scenario), raw=True)
