"""Offline Vega-Lite everywhere: JupyterLab, Binder, GitHub and the HTML reports.

Altair 6 emits Vega-Lite 6 specs. JupyterLab 4 renders only the Vega-Lite 3-5
mimetypes, and Altair's HTML fallback loads Vega from a CDN, so by default
nothing renders without network. This module provides three offline paths:

- :func:`bundle_js` -- vega + vega-lite + vega-embed as one self-contained
  JavaScript string (from ``vl_convert``), as a classic ``<script>`` that sets
  ``window.vegaEmbed`` or as an ES module exporting ``vegaEmbed``.
- :class:`OfflineChart` -- an anywidget that embeds the bundle in its ES module
  and re-renders in place when its ``spec`` changes (kernel-side interactivity
  without a CDN). Size note: anywidget sends the ES module (~0.9 MB) once per
  widget *instance*, and a notebook saved with widget state stores it once per
  instance too; prefer one chart widget that you ``update()`` over many.
- The Altair renderer ``"chipsuite"`` (:func:`enable_offline_rendering`) --
  each chart displays as a mimebundle with the Vega-Lite 6 spec (read by the
  report builder), a static SVG rendered offline by ``vl_convert`` (what
  JupyterLab and GitHub show) and a text description.

>>> import altair as alt, chipsuite
>>> chipsuite.enable_offline_rendering()       # doctest: +SKIP
>>> alt.Chart(df).mark_line().encode(x="quarter:T", y="power_mw:Q")  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import functools
import json
import re

import altair as alt
import anywidget
import traitlets
import vl_convert

from chipsuite.modes import is_report_mode

__all__ = [
    "VEGALITE_MIMETYPE",
    "OfflineChart",
    "bundle_js",
    "chart_mimebundle",
    "enable_offline_rendering",
    "offline_renderer",
    "spec_to_svg",
    "widget_esm",
]

#: Mimetype of the Vega-Lite 6 spec in outputs (JupyterLab 4.6 has no renderer for it:
#: it shows the SVG instead; the report builder turns it into a live vegaEmbed chart).
VEGALITE_MIMETYPE = "application/vnd.vegalite.v6+json"
#: Other spellings the report builder also accepts (Altair's own "mimetype" renderer
#: writes ``application/vnd.vegalite.v6.json``).
VEGALITE_MIMETYPES = (VEGALITE_MIMETYPE, "application/vnd.vegalite.v6.json")

RENDERER_NAME = "chipsuite"

_SCRIPT_SNIPPET = (
    "window.vegaEmbed = vegaEmbed; window.vega = vega; window.vegaLite = vegaLite;"
)
_MODULE_SNIPPET = "export { vegaEmbed, vega, vegaLite };"

# The anywidget front end. `vegaEmbed` is provided by the vl-convert bundle that wraps
# this snippet. A spec whose only change is the *values* of named datasets (Altair puts
# inline data in top-level `datasets`; OfflineChart gives them stable names) updates the
# existing Vega view with `view.data(...)`; any other change re-embeds into the same
# element. `el.dataset` counters let tests observe which path ran.
_WIDGET_SNIPPET = r"""
function chipsuiteStructureKey(spec) {
  const { datasets, ...rest } = spec || {};
  return JSON.stringify(rest) + "\u0000" + Object.keys(datasets || {}).sort().join("\u0000");
}

function render({ model, el }) {
  const target = document.createElement("div");
  target.className = "chipsuite-offline-chart";
  el.appendChild(target);
  el.dataset.chipsuiteEmbeds = "0";
  el.dataset.chipsuiteDataUpdates = "0";
  let current = null;
  let disposed = false;
  let queue = Promise.resolve();

  async function updateData(spec) {
    const datasets = spec.datasets || {};
    const view = current.result.view;
    for (const [name, values] of Object.entries(datasets)) {
      if (JSON.stringify(values) !== JSON.stringify(current.datasets[name])) {
        view.data(name, structuredClone(values));
      }
    }
    await view.runAsync();
    current.datasets = datasets;
    el.dataset.chipsuiteDataUpdates = String(Number(el.dataset.chipsuiteDataUpdates) + 1);
  }

  async function embed(spec, key) {
    if (current) {
      current.result.finalize();
      current = null;
    }
    const result = await vegaEmbed(target, structuredClone(spec), {
      actions: false,
      renderer: model.get("renderer") || "svg",
    });
    if (disposed) {
      result.finalize();
      return;
    }
    current = { result, key, datasets: spec.datasets || {} };
    el.dataset.chipsuiteEmbeds = String(Number(el.dataset.chipsuiteEmbeds) + 1);
  }

  async function draw() {
    if (disposed) return;
    const spec = model.get("spec") || {};
    const key = chipsuiteStructureKey(spec) + "\u0000" + model.get("renderer");
    if (Object.keys(spec).length === 0) return;
    if (current && current.key === key) {
      try {
        await updateData(spec);
        return;
      } catch (err) {
        // e.g. a dataset that Vega-Lite did not compile into the view: re-embed instead
      }
    }
    await embed(spec, key);
  }

  function schedule() {
    queue = queue.then(draw).catch((err) => {
      const pre = document.createElement("pre");
      pre.className = "chipsuite-offline-chart-error";
      pre.textContent = "chipsuite OfflineChart: " + err;
      target.replaceChildren(pre);
      current = null;
    });
  }

  model.on("change:spec", schedule);
  model.on("change:renderer", schedule);
  schedule();
  return () => {
    disposed = true;
    model.off("change:spec", schedule);
    model.off("change:renderer", schedule);
    if (current) current.result.finalize();
  };
}

export default { render };
"""


@functools.lru_cache(maxsize=None)
def bundle_js(kind: str = "script") -> str:
    """Vega, Vega-Lite and vega-embed as one self-contained JavaScript string.

    Parameters
    ----------
    kind : {"script", "module"}
        ``"script"``: a classic script for an inline ``<script>`` tag; it defines
        ``window.vegaEmbed``, ``window.vega`` and ``window.vegaLite`` and leaks no
        other globals (wrapped in a function). ``"module"``: an ES module with
        ``export { vegaEmbed, vega, vegaLite }``.

    Returns
    -------
    str
        JavaScript source [about 0.9 MB]; no network access at load time.
    """
    if kind == "script":
        body = vl_convert.javascript_bundle(snippet=_SCRIPT_SNIPPET)
        # the bundle is ES-module code without imports/exports: run it as a strict
        # function body so that its top-level names stay private
        return '(function () {\n"use strict";\n' + body + "\n})();\n"
    if kind == "module":
        return vl_convert.javascript_bundle(snippet=_MODULE_SNIPPET)
    raise ValueError(f"bundle_js: kind must be 'script' or 'module', got {kind!r}")


@functools.lru_cache(maxsize=None)
def widget_esm() -> str:
    """The ES module of :class:`OfflineChart`: the widget code bundled with vega-embed."""
    return vl_convert.javascript_bundle(snippet=_WIDGET_SNIPPET)


_SCHEMA_VERSION = re.compile(r"/vega-lite/v(\d+)\.(\d+)(?:\.\d+)?\.json$")


def vl_version_of(spec: dict) -> str | None:
    """The vl-convert Vega-Lite version (e.g. ``"6.4"``) matching ``spec["$schema"]``.

    Returns the newest bundled version with the same major version and a minor version
    not above the spec's, or ``None`` (vl-convert's default, its newest) when the spec
    names no version or no bundled version fits.
    """
    match = _SCHEMA_VERSION.search(str(spec.get("$schema", "")))
    if match is None:
        return None
    major, minor = int(match.group(1)), int(match.group(2))
    candidates = []
    for version in vl_convert.get_vegalite_versions():
        v_major, v_minor = (int(part) for part in version.split(".")[:2])
        if v_major == major and v_minor <= minor:
            candidates.append((v_minor, version))
    return max(candidates)[1] if candidates else None


def spec_to_svg(spec: dict) -> str:
    """Render a Vega-Lite spec to a static SVG string offline (vl-convert, no network).

    Bound parameters (sliders) show their initial value.
    """
    return vl_convert.vegalite_to_svg(spec, vl_version=vl_version_of(spec))


def _describe(spec: dict) -> str:
    title = spec.get("title")
    if isinstance(title, dict):
        title = title.get("text")
    if isinstance(title, list):
        title = " ".join(str(part) for part in title)
    name = f" {title!r}" if title else ""
    return f"<Vega-Lite 6 chart{name}: an offline SVG is shown; HTML reports render it live>"


def chart_mimebundle(spec: dict, **embed_options) -> tuple[dict, dict]:
    """Mimebundle of a Vega-Lite spec for Jupyter: spec, offline SVG and text.

    Parameters
    ----------
    spec : dict
        A Vega-Lite 6 spec (``chart.to_dict()``).
    **embed_options
        Optional vega-embed options, stored in the output metadata under
        ``embed_options`` (the report builder merges them with ``{"actions": false}``).

    Returns
    -------
    (data, metadata) : tuple of dict
        ``data`` holds ``application/vnd.vegalite.v6+json`` (the spec),
        ``image/svg+xml`` and ``text/plain``.
    """
    data = {
        VEGALITE_MIMETYPE: spec,
        "image/svg+xml": spec_to_svg(spec),
        "text/plain": _describe(spec),
    }
    metadata = {VEGALITE_MIMETYPE: {"embed_options": embed_options}} if embed_options else {}
    return data, metadata


def offline_renderer(spec: dict, **metadata) -> tuple[dict, dict]:
    """Altair renderer ``"chipsuite"``: see :func:`chart_mimebundle`.

    Options given to ``alt.renderers.enable("chipsuite", embed_options={...})`` are kept.
    """
    return chart_mimebundle(spec, **metadata.get("embed_options", {}) or {})


alt.renderers.register(RENDERER_NAME, offline_renderer)


def enable_offline_rendering(**options):
    """Make every Altair chart display offline (the ``"chipsuite"`` renderer).

    Returns Altair's ``PluginEnabler``, so ``with enable_offline_rendering(): ...``
    limits the switch to a block.
    """
    return alt.renderers.enable(RENDERER_NAME, **options)


def _stable_dataset_names(spec: dict) -> dict:
    """Copy of ``spec`` with its top-level ``datasets`` renamed ``data_0``, ``data_1``, ...

    Altair names inline datasets by a hash of their values, so new values mean a new
    name; stable names let :class:`OfflineChart` update values in the existing view.
    Every string equal to an old dataset name is replaced (hash names cannot collide
    with field names).
    """
    datasets = spec.get("datasets")
    if not isinstance(datasets, dict) or not datasets:
        return copy.deepcopy(spec)
    renames = {old: f"chipsuite_data_{i}" for i, old in enumerate(datasets)}
    if list(renames) == list(renames.values()):
        return copy.deepcopy(spec)

    def rename(node):
        if isinstance(node, dict):
            return {key: rename(value) for key, value in node.items() if key != "datasets"}
        if isinstance(node, list):
            return [rename(value) for value in node]
        if isinstance(node, str):
            return renames.get(node, node)
        return node

    out = rename(spec)
    out["datasets"] = {renames[old]: copy.deepcopy(values) for old, values in datasets.items()}
    return out


class OfflineChart(anywidget.AnyWidget):
    """A Vega-Lite chart widget that works with no network and updates in place.

    Parameters
    ----------
    chart : altair.Chart, optional
        Initial chart (or set ``spec`` directly to a Vega-Lite dict).
    spec : dict, optional
        A Vega-Lite spec, e.g. ``chart.to_dict()``.
    renderer : {"svg", "canvas"}
        vega-embed renderer (default ``"svg"``).

    Notes
    -----
    Assign a new chart with :meth:`update` (or a new dict to ``spec``) to redraw in
    the same output: when only the data changed the Vega view is updated with
    ``view.data(...)``, otherwise the chart is re-embedded into the same element.
    The ES module (~0.9 MB, see :func:`widget_esm`) travels once per instance.
    In report mode (:func:`chipsuite.is_report_mode`) the widget displays as a static
    chart (the ``"chipsuite"`` renderer's mimebundle) instead of a widget view.

    >>> chart_widget = OfflineChart(alt.Chart(df).mark_bar().encode(x="site", y="power_mw"))  # doctest: +SKIP
    >>> chart_widget.update(new_chart)  # doctest: +SKIP
    """

    spec = traitlets.Dict().tag(sync=True)
    renderer = traitlets.Enum(["svg", "canvas"], default_value="svg").tag(sync=True)

    def __init__(self, chart: alt.TopLevelMixin | None = None, **kwargs):
        # computed on first use, not at import (bundling takes about a second)
        if "_esm" not in type(self).__dict__:
            type(self)._esm = widget_esm()
        if chart is not None:
            if "spec" in kwargs:
                raise TypeError("OfflineChart: give either chart or spec, not both")
            kwargs["spec"] = chart.to_dict()
        super().__init__(**kwargs)

    @traitlets.validate("spec")
    def _validate_spec(self, proposal):
        spec = proposal["value"]
        if spec and "$schema" not in spec and "mark" not in spec and not any(
            key in spec for key in ("layer", "hconcat", "vconcat", "concat", "facet", "repeat")
        ):
            raise traitlets.TraitError(
                "OfflineChart.spec: expected a Vega-Lite spec with 'mark', a composition "
                f"key or '$schema'; got keys {sorted(spec)}"
            )
        return _stable_dataset_names(spec)

    def update(self, chart: alt.TopLevelMixin) -> None:
        """Show ``chart`` (an Altair chart) in place of the current one."""
        self.spec = chart.to_dict()

    def _repr_mimebundle_(self, **kwargs):
        if is_report_mode():
            return chart_mimebundle(self.spec)
        return super()._repr_mimebundle_(**kwargs)


# Re-export for convenience: the spec's JSON must survive HTML embedding.
def spec_json_for_html(spec: dict) -> str:
    """JSON of ``spec`` safe inside an inline ``<script>`` (no ``</script>``/``<!--``)."""
    return (
        json.dumps(spec, separators=(",", ":"), ensure_ascii=False)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
