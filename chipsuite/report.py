"""Offline HTML reports: ``python -m chipsuite report``.

The report builder executes each notebook (cwd = the notebook's folder, errors
disallowed, a per-cell timeout) with the environment variable
``CHIPSUITE_REPORT=1``; notebook code asks :func:`is_report_mode` to show a
kernel-free view (an Altair chart with bound parameters, or the default state)
instead of ipywidgets. Each executed notebook is exported to one self-contained
HTML file, plus an ``index.html`` linking them:

- the Vega bundle (vega + vega-lite + vega-embed, ~0.9 MB) is inlined once per
  page in ``<head>``; every Vega-Lite 6 output becomes a ``<div>`` and a
  ``vegaEmbed(el, spec, {actions: false})`` call, so charts (and sliders bound
  to Altair params) work without a kernel or network;
- the template drops nbconvert's MathJax, require.js, mermaid and
  widget-manager CDN tags; ``$...$`` / ``$$...$$`` formulas in markdown become MathML
  (latex2mathml), which the browser renders with no network;
- an explorer's view menu (``chipsuite.explorers.base.VIEW_MENU_MIMETYPE``) becomes a
  ``<select>`` over its precomputed views; ``.ipynb`` links become ``.html`` links, and each
  page of a set gets a header and footer linking the index and the previous and next page;
- an ipywidget view output fails the build loudly (it would be an empty cell
  without a kernel), as does an output that loads anything from the network.

>>> pages = build_reports(out_dir="reports")   # doctest: +SKIP
>>> [(p.html_path.name, p.n_charts, p.size_bytes) for p in pages]   # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as _dt
import glob as _glob
import html
import inspect
import json
import math
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path

from .modes import REPORT_ENV, is_report_mode  # noqa: F401  (re-exported: chipsuite.report.is_report_mode)

WIDGET_VIEW_MIMETYPE = "application/vnd.jupyter.widget-view+json"
DEFAULT_NOTEBOOKS = "notebooks/*.ipynb"
DEFAULT_TIMEOUT_S = 600


class ReportError(RuntimeError):
    """A notebook cannot become an offline report (names notebook, cell and rule)."""


@dataclasses.dataclass(frozen=True)
class ReportPage:
    """One built report page.

    Attributes: ``notebook`` (source path), ``html_path``, ``title`` and ``summary``
    (from the notebook's H1 and first paragraph), ``n_charts`` (Vega-Lite outputs),
    ``size_bytes`` [bytes] of the HTML file, ``seconds`` [s] to execute and export.
    """

    notebook: Path
    html_path: Path
    title: str
    summary: str
    n_charts: int
    size_bytes: int
    seconds: float
    headline: str = ""
    question: str = ""


# --- notebook text --------------------------------------------------------------------

_H1 = re.compile(r"^#\s+(.+?)\s*#*\s*$")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__|\*|`)")


def _plain(markdown_text: str) -> str:
    text = _LINK.sub(r"\1", markdown_text)
    text = _EMPHASIS.sub("", text)
    return " ".join(text.split())


def notebook_title_summary(nb) -> tuple[str, str]:
    """The notebook's first H1 and the first paragraph after it, as plain text.

    Paragraph = the first block of text lines (blank-line separated) that is not a
    heading, list, quote, table, code fence, HTML or image. Returns ``("", "")`` parts
    when absent.
    """
    title, summary = "", ""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for block in re.split(r"\n\s*\n", cell.source):
            block = block.strip()
            if not block:
                continue
            first_line = block.splitlines()[0]
            if not title:
                match = _H1.match(first_line)
                if match:
                    title = _plain(match.group(1))
                    rest = "\n".join(block.splitlines()[1:]).strip()
                    if rest and not rest.startswith(("#", "-", "*", ">", "|", "```", "<", "!")):
                        summary = _plain(rest)
                        return title, summary
                continue
            if block.startswith(("#", "- ", "* ", "1.", ">", "|", "```", "<", "![")):
                continue
            return title, _plain(block)
    return title, summary


# --- output rewriting --------------------------------------------------------------------


def _vega_mimetypes():
    from chipsuite.vega import VEGALITE_MIMETYPES

    return VEGALITE_MIMETYPES


def _cell_label(notebook_name: str, index: int, cell) -> str:
    count = cell.get("execution_count")
    return f"{notebook_name} cell {index}" + (f" (execution count {count})" if count else "")


def check_no_widget_views(nb, notebook_name: str = "notebook") -> None:
    """Raise :class:`ReportError` if any output is an ipywidget view.

    Without a kernel a widget view renders as an empty cell, so the report fails
    loudly instead; in report mode notebooks must show a kernel-free view.
    """
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if WIDGET_VIEW_MIMETYPE in output.get("data", {}):
                text = output["data"].get("text/plain", "")
                raise ReportError(
                    f"{_cell_label(notebook_name, index, cell)}: output is an ipywidget view "
                    f"({WIDGET_VIEW_MIMETYPE}; text/plain {text!r}), which would be an empty "
                    "cell in a static report. In report mode (chipsuite.is_report_mode() is "
                    "True) display a kernel-free view instead (an Altair chart, a table or text)."
                )


def embed_vega_outputs(nb, notebook_name: str = "notebook") -> int:
    """Turn every Vega-Lite 6 output into an HTML ``<div>`` + ``vegaEmbed`` call, in place.

    The spec comes from the output's ``application/vnd.vegalite.v6+json`` data; vega-embed
    options are ``{"actions": false}`` updated with ``embed_options`` from the output
    metadata. The SVG and other representations are dropped. Returns the number of charts.
    """
    from chipsuite.vega import spec_json_for_html

    from chipsuite.explorers.base import VIEW_MENU_MIMETYPE

    mimetypes = _vega_mimetypes()
    n_charts = 0
    n_slots = 0  # chart slots (ids), incl. hidden ones of view menus
    n_menus = 0
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if VIEW_MENU_MIMETYPE in data:
                n_menus += 1
                menu = data[VIEW_MENU_MIMETYPE]
                has_chart = _menu_default_has_chart(menu)
                n_slots += 1
                n_charts += has_chart  # a slot whose first view has no chart stays hidden until one is chosen
                output["data"] = {"text/html": view_menu_html(menu, f"chipsuite-vega-{n_slots}",
                                                              f"chipsuite-menu-{n_menus}")}
                output["metadata"] = {}
                continue
            mimetype = next((m for m in mimetypes if m in data), None)
            if mimetype is None:
                continue
            spec = data[mimetype]
            if isinstance(spec, str) and not mimetype.endswith("+json"):
                # nbformat stores non-"+json" mimetypes (Altair's ...v6.json) as text
                try:
                    spec = json.loads(spec)
                except ValueError as err:
                    raise ReportError(
                        f"{_cell_label(notebook_name, index, cell)}: {mimetype} output is not "
                        f"valid JSON: {err}"
                    ) from err
            if not isinstance(spec, dict):
                raise ReportError(
                    f"{_cell_label(notebook_name, index, cell)}: {mimetype} output is not a "
                    f"JSON object (got {type(spec).__name__})"
                )
            options = {"actions": False}
            options.update(output.get("metadata", {}).get(mimetype, {}).get("embed_options", {}))
            n_charts += 1
            n_slots += 1
            div_id = f"chipsuite-vega-{n_slots}"
            output["data"] = {
                "text/html": (
                    f'<div class="chipsuite-vega" id="{div_id}"></div>\n'
                    "<script>\n"
                    f'vegaEmbed(document.getElementById("{div_id}"), {spec_json_for_html(spec)}, '
                    f"{spec_json_for_html(options)}).catch(function (err) {{\n"
                    f'  document.getElementById("{div_id}").textContent = "Chart error: " + err;\n'
                    "  console.error(err);\n"
                    "});\n"
                    "</script>\n"
                )
            }
            output["metadata"] = {}
    return n_charts


def _menu_default_has_chart(menu) -> bool:
    views = menu.get("views", [])
    names = [v.get("name") for v in views]
    default = menu.get("default") if menu.get("default") in names else (names[0] if names else None)
    return bool(views) and views[names.index(default)].get("spec") is not None


#: the script of a view menu: one vega-embed view at a time, re-embedded when a choice changes. ``groups``:
#: the views under each named scenario (one group without a scenario menu); datasets shared by several views
#: are stored once (``datasets``, by name) and copied into each spec when it is shown.
_MENU_SCRIPT = """(function () {
  var menu = document.getElementById("%(menu_id)s");
  var groups = %(groups)s;
  var datasets = %(datasets)s;
  var options = %(options)s;
  var select = menu.querySelector("select:not(.chipsuite-scenario-select)");
  var scenario = menu.querySelector("select.chipsuite-scenario-select");
  var chart = document.getElementById("%(chart_id)s");
  var extra = menu.querySelector(".chipsuite-view-html");
  var current = null;
  function specOf(view) {
    var spec = Object.assign({}, view.spec);
    if (view.shared && view.shared.length) {
      spec.datasets = Object.assign({}, spec.datasets || {});
      view.shared.forEach(function (name) { spec.datasets[name] = datasets[name]; });
    }
    return JSON.parse(JSON.stringify(spec));  // vega parses data in place: every embed gets a fresh copy
  }
  function fill(g, name) {
    var views = groups[g].views, keep = 0;
    select.innerHTML = "";
    views.forEach(function (view, i) {
      var option = document.createElement("option");
      option.value = String(i);
      option.textContent = view.name;
      select.appendChild(option);
      if (view.name === name) keep = i;
    });
    select.selectedIndex = keep;
  }
  function show() {
    var g = scenario ? scenario.selectedIndex : 0;
    var view = groups[g].views[select.selectedIndex];
    if (current) { current.finalize(); current = null; }
    extra.innerHTML = view.html || "";
    menu.setAttribute("data-view", view.name);
    menu.setAttribute("data-scenario", groups[g].name);
    if (!view.spec) { chart.innerHTML = ""; chart.hidden = true; menu.setAttribute("data-ready", "1"); return; }
    chart.hidden = false;
    menu.removeAttribute("data-ready");
    vegaEmbed(chart, specOf(view), options).then(function (result) {
      current = result;
      menu.setAttribute("data-ready", "1");
    }).catch(function (err) {
      chart.textContent = "Chart error: " + err;
      console.error(err);
    });
  }
  select.addEventListener("change", show);
  if (scenario) scenario.addEventListener("change", function () {
    fill(scenario.selectedIndex, select.options[select.selectedIndex].textContent);
    show();
  });
  show();
})();
"""


def _menu_views(views) -> list[dict]:
    return [{"name": str(v.get("name")), "spec": v.get("spec"), "html": v.get("html") or ""} for v in views]


def share_datasets(groups: list[dict]) -> dict:
    """Move the inline datasets that several views use (same name, same rows) out of their specs, in place.

    ``groups`` = ``[{"name", "views": [{"name", "spec", "html"}]}]``; a shared dataset is removed from each
    spec's ``datasets`` and its name listed in the view's ``shared``. Returns ``{name: rows}`` of the shared
    datasets (the menu's script copies them back into a spec when it shows it). A name whose rows differ
    between views stays inline in each (Altair names datasets by a hash of their rows, so that is rare).
    """
    seen: dict = {}
    for group in groups:
        for view in group["views"]:
            for name, rows in ((view.get("spec") or {}).get("datasets") or {}).items():
                text = json.dumps(rows, sort_keys=True, separators=(",", ":"))
                seen.setdefault(name, {}).setdefault(text, []).append(view)
    shared = {}
    for name, by_rows in seen.items():
        if len(by_rows) != 1:
            continue
        (text, users), = by_rows.items()
        if len(users) < 2:
            continue
        shared[name] = json.loads(text)
        for view in users:
            spec = dict(view["spec"])
            spec["datasets"] = {k: v for k, v in spec["datasets"].items() if k != name}
            view["spec"] = spec
            view.setdefault("shared", []).append(name)
    return shared


def view_menu_html(menu: dict, chart_id: str, menu_id: str) -> str:
    """HTML of a view menu (:data:`chipsuite.explorers.base.VIEW_MENU_MIMETYPE`): a ``<select>`` of the
    views (and, when the menu has ``scenarios``, a *named scenario* ``<select>`` whose choice re-fills it
    with the same views under that scenario), one chart slot (``div.chipsuite-vega``) and an HTML slot,
    with the precomputed specs inline (datasets that several views share stored once)."""
    from chipsuite.vega import spec_json_for_html

    views = _menu_views(menu.get("views", []))
    if not views:
        raise ReportError(f"view menu {menu.get('title')!r} has no views")
    title = html.escape(str(menu.get("title") or ""))
    groups = [{"name": str(menu.get("scenario") or ""), "views": views}]
    for other in menu.get("scenarios") or []:
        other_views = _menu_views(other.get("views", []))
        if not other_views:
            raise ReportError(f"view menu {menu.get('title')!r}: scenario {other.get('name')!r} has no views")
        groups.append({"name": str(other.get("name")), "views": other_views})
    names = [v["name"] for v in views]
    default = menu.get("default") if menu.get("default") in names else names[0]
    options = "".join(f'<option value="{i}"{" selected" if n == default else ""}>{html.escape(n)}</option>'
                      for i, n in enumerate(names))
    hidden = "" if views[names.index(default)]["spec"] is not None else " hidden"
    label = html.escape(str(menu.get("label") or "View"))
    scenario_select = ""
    if len(groups) > 1:
        choices = "".join(f'<option value="{i}">{html.escape(g["name"])}</option>' for i, g in enumerate(groups))
        scenario_select = (f'<label class="chipsuite-view-label"><span>named scenario </span>'
                           f'<select class="chipsuite-scenario-select" aria-label="{title} named scenario">'
                           f'{choices}</select></label>\n')
    datasets = share_datasets(groups)
    script = _MENU_SCRIPT % {"menu_id": menu_id, "chart_id": chart_id, "groups": spec_json_for_html(groups),
                             "datasets": spec_json_for_html(datasets),
                             "options": spec_json_for_html({"actions": False})}
    return (f'<div class="chipsuite-view-menu" id="{menu_id}">\n'
            f'<label class="chipsuite-view-label"><span>{title}: {label.lower()} </span>'
            f'<select aria-label="{title} {label.lower()}">{options}</select></label>\n'
            f'{scenario_select}'
            f'<div class="chipsuite-vega" id="{chart_id}"{hidden}></div>\n'
            f'<div class="chipsuite-view-html"></div>\n</div>\n<script>\n{script}</script>\n')


# --- network references -------------------------------------------------------------------

_LOADING_ATTRS = {
    "script": ("src",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "input": ("src",),
    "track": ("src",),
}
_REMOTE = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)
_CSS_REMOTE = re.compile(r"""(@import\s+(url\()?\s*["']?\s*(https?:)?//|url\(\s*["']?\s*(https?:)?//)""", re.I)
_JS_REMOTE_IMPORT = re.compile(r"""(\bimport\s*\(\s*|\bfrom\s*)["'](https?:)?//""")
#: Hosts of script/style CDNs; a script that mentions one (e.g. Altair's default "html"
#: renderer, which loads Vega from cdn.jsdelivr.net at view time) would need the network.
CDN_HOSTS = (
    "cdn.jsdelivr.net", "unpkg.com", "cdnjs.cloudflare.com", "esm.sh", "cdn.skypack.dev",
    "ajax.googleapis.com", "fonts.googleapis.com", "fonts.gstatic.com", "code.jquery.com",
    "cdn.plot.ly", "cdn.bokeh.org", "stackpath.bootstrapcdn.com",
)


class _RemoteRefFinder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        names = _LOADING_ATTRS.get(tag, ())
        if tag == "link":
            names = ("href",)
        for name in names:
            value = attrs.get(name) or ""
            if _REMOTE.match(value):
                self.found.append(f"<{tag} {name}={value!r}>")
        style = attrs.get("style") or ""
        if _CSS_REMOTE.search(style):
            self.found.append(f"<{tag} style=...>: {_CSS_REMOTE.search(style).group(0)!r}")
        self._in = tag if tag in ("style", "script") else None

    def handle_endtag(self, tag):
        self._in = None

    def handle_data(self, data):
        if self._in == "style" and _CSS_REMOTE.search(data):
            self.found.append(f"<style>: {_CSS_REMOTE.search(data).group(0)!r}")
        if self._in == "script":
            if _JS_REMOTE_IMPORT.search(data):
                self.found.append(f"<script>: {_JS_REMOTE_IMPORT.search(data).group(0)!r}")
            self.found.extend(f"<script> mentions CDN host {host}" for host in CDN_HOSTS if host in data)


def network_references(html_text: str) -> list[str]:
    """Everything in ``html_text`` that a browser would fetch from the network.

    Looks at loading attributes (``<script src>``, ``<link href>``, ``<img src>``, ...),
    CSS ``url(...)``/``@import``, JavaScript ``import`` of ``http(s)://`` or ``//``
    URLs and scripts that mention a known CDN host (:data:`CDN_HOSTS`; scripts can build
    URLs at run time, which no static check sees: the browser tests route all requests).
    Plain hyperlinks (``<a href>``) are navigation, not loads, and are allowed.
    """
    finder = _RemoteRefFinder()
    finder.feed(html_text)
    finder.close()
    return finder.found


def check_outputs_offline(nb, notebook_name: str = "notebook") -> None:
    """Raise :class:`ReportError` for an HTML/JS output that would load from the network
    (e.g. Altair's default renderer, which loads Vega from a CDN)."""
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            found = network_references(data.get("text/html", "") or "")
            js = data.get("application/javascript", "") or ""
            if js:
                found.extend(network_references(f"<script>{js}</script>"))
            if found:
                raise ReportError(
                    f"{_cell_label(notebook_name, index, cell)}: output loads from the network "
                    f"({'; '.join(found[:3])}). Reports must work offline: for Altair charts call "
                    "chipsuite.enable_offline_rendering() in the notebook."
                )


# --- execution and export ------------------------------------------------------------------


def _kernel_env(extra_env: dict | None = None) -> dict:
    """Environment of the report kernel: ours + CHIPSUITE_REPORT=1 + this chipsuite on the path."""
    import chipsuite

    env = dict(os.environ)
    env[REPORT_ENV] = "1"
    package_root = str(Path(chipsuite.__file__).resolve().parent.parent)
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if package_root not in paths:
        env["PYTHONPATH"] = os.pathsep.join([package_root, *paths])
    env.update(extra_env or {})
    return env


def _ipc_kernel_manager_class():
    """A kernel manager whose kernels talk over local (Unix socket) ipc transport.

    ipykernel warns "Kernel is running over TCP without encryption" for every kernel on
    tcp without CurveZMQ keys; ipc sockets are files only this user can reach, so the
    warning does not apply. Sockets live in the temporary folder under a short name (Unix
    socket paths are limited to about 100 bytes). Windows has no ipc: tcp is kept there.
    """
    import tempfile
    import uuid

    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    if os.name == "nt":  # pragma: no cover - no ipc transport on Windows
        return AsyncKernelManager

    class IPCKernelManager(AsyncKernelManager):
        @default("transport")
        def _default_transport(self):
            return "ipc"

        @default("ip")
        def _default_ip(self):
            return os.path.join(tempfile.gettempdir(), f"chipsuite-kernel-{uuid.uuid4().hex[:12]}")

    return IPCKernelManager


def execute_notebook(path, timeout_s: float = DEFAULT_TIMEOUT_S, kernel_name: str = "python3",
                     extra_env: dict | None = None):
    """Execute the notebook at ``path`` in report mode and return the executed node.

    cwd is the notebook's folder; errors are not allowed; ``timeout_s`` [s] applies per
    cell. Raises :class:`ReportError` naming the notebook when a cell fails or times out.
    """
    import nbformat
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    path = Path(path)
    timeout_s = check_timeout(timeout_s)
    try:
        nb = nbformat.read(path, as_version=4)
    except (OSError, ValueError) as err:  # missing, unreadable, not JSON, not a notebook
        raise ReportError(f"{path}: cannot read the notebook: {err}") from None
    running = {"index": None}
    interrupted = []

    def on_cell_start(cell, cell_index):
        running["index"] = cell_index
        if interrupted:
            raise KeyboardInterrupt

    client = _InterruptibleClient(
        nb,
        interrupted,
        timeout=timeout_s,
        kernel_name=kernel_name,
        allow_errors=False,
        store_widget_state=False,
        resources={"metadata": {"path": str(path.parent.resolve())}},
        kernel_manager_class=_ipc_kernel_manager_class(),
        on_cell_start=on_cell_start,
    )
    # the kernel's own log (not the notebook's output) goes to a file, not to our terminal: it is
    # shown only when the kernel dies
    with tempfile.TemporaryFile(mode="w+b") as kernel_log:
        try:
            client.execute(env=_kernel_env(extra_env), stderr=kernel_log)
        except BaseException as err:  # an interrupt may surface as any error of nbclient
            if interrupted:
                raise KeyboardInterrupt from None
            where = _running_cell(nb, path.name, running["index"])
            if isinstance(err, CellTimeoutError):
                raise ReportError(f"{path}: {where} exceeded the timeout of {timeout_s:g} s: {err}") from err
            if isinstance(err, CellExecutionError):
                raise ReportError(f"{path}: a cell raised an error while building the report: "
                                  f"{where}:\n{err}") from err
            if isinstance(err, DeadKernelError):
                raise ReportError(f"{path}: the kernel died while running {where}: {err}"
                                  f"{_log_tail(kernel_log)}") from err
            raise
    if interrupted:
        raise KeyboardInterrupt
    return nb


def _interruptible_client_class():
    """A NotebookClient whose SIGINT handler records the interrupt and shuts the kernel down.

    nbclient installs its own SIGINT handler on the event loop, which shuts the kernel down and
    lets the build fail with an unrelated error (DeadKernelError, then an AssertionError of its
    cleanup); this one records the interrupt first, so :func:`execute_notebook` raises
    ``KeyboardInterrupt`` and the CLI exits with one line.
    """
    from nbclient import NotebookClient

    class InterruptibleClient(NotebookClient):
        def __init__(self, nb, interrupted, **kwargs):
            super().__init__(nb, **kwargs)
            self._interrupted = interrupted

        def _on_sigint(self):
            self._interrupted.append(signal.SIGINT)
            km = self.km
            if km is not None and km.has_kernel:
                result = km.shutdown_kernel(now=True)
                if inspect.isawaitable(result):
                    asyncio.ensure_future(result)

        async def async_start_new_kernel(self, **kwargs):
            try:  # replaces the handler nbclient has just installed on this loop
                asyncio.get_running_loop().add_signal_handler(signal.SIGINT, self._on_sigint)
            except (RuntimeError, NotImplementedError, ValueError):
                pass  # not the main thread, or no signals (Windows): nbclient's own handling stays
            await super().async_start_new_kernel(**kwargs)
            if self._interrupted:
                raise KeyboardInterrupt

    return InterruptibleClient


def _InterruptibleClient(nb, interrupted, **kwargs):
    return _interruptible_client_class()(nb, interrupted, **kwargs)


def _log_tail(fh, lines=15) -> str:
    """The last ``lines`` lines of the binary file ``fh``, as ``"\nkernel log:\n..."`` (or ``""``)."""
    try:
        fh.seek(0)
        text = fh.read().decode("utf-8", "replace").strip()
    except (OSError, ValueError):
        return ""
    return "\nkernel log (last lines):\n" + "\n".join(text.splitlines()[-lines:]) if text else ""


def _running_cell(nb, notebook_name, index):
    """``"<notebook> cell <index> (execution count n), first line '...'"`` of the cell at ``index``."""
    if index is None or not 0 <= index < len(nb.cells):
        return "a cell"
    cell = nb.cells[index]
    lines = [line for line in cell.get("source", "").splitlines() if line.strip()]
    first = lines[0].strip() if lines else ""
    first = first if len(first) <= 80 else first[:77] + "..."
    return f"{_cell_label(notebook_name, index, cell)}, first line {first!r}"


def check_timeout(timeout_s):
    """``timeout_s`` [s] as a float if it is a positive finite number, else :class:`ReportError`."""
    try:
        value = float(timeout_s)
    except (TypeError, ValueError, OverflowError):
        raise ReportError(f"timeout must be a positive number of seconds, got {timeout_s!r}") from None
    if isinstance(timeout_s, bool) or not math.isfinite(value) or value <= 0:
        raise ReportError(f"timeout must be a positive, finite number of seconds, got {timeout_s!r}")
    return value


_REPORT_CSS = """
.chipsuite-vega { margin: 0.5em 0; }
.chipsuite-vega .vega-bindings { margin-top: 0.5em; }
.chipsuite-report-footer { color: #666; font-size: 0.85em; margin: 2em 0 1em; }
.chipsuite-nav { display: flex; flex-wrap: wrap; gap: 0.4em 1.5em; padding: 0.5em 0; margin: 0 0 0.5em; font-family: system-ui, sans-serif;
  border-bottom: 1px solid #ddd; font-size: 0.95em; }
.chipsuite-nav a { text-decoration: none; }
.chipsuite-view-menu { margin: 0.5em 0 1em; padding: 0.5em 0.8em; border-left: 3px solid #4c78a8; background: #f7f9fc; }
.chipsuite-view-label { display: block; font-weight: 600; margin-bottom: 0.4em; }
.chipsuite-view-label select { font-size: 1em; margin-left: 0.3em; max-width: 100%; }
"""

_TEMPLATE = r"""
{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}
<script>
{{ resources.chipsuite_vega_bundle }}
</script>
{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}
<style type="text/css">{{ resources.chipsuite_css }}</style>
{%- endblock extra_css -%}
{%- block body_header -%}
{{ super() }}
{{ resources.chipsuite_nav }}
{%- endblock body_header -%}
{% block body_footer %}
{{ resources.chipsuite_nav }}
<p class="chipsuite-report-footer">{{ resources.chipsuite_footer }}</p>
</main>
</body>
{% endblock body_footer %}
"""


# --- machine paths ------------------------------------------------------------------------


def machine_roots(notebook=None) -> dict:
    """``{absolute folder: placeholder}`` of this machine's folders that no page may show.

    The chipsuite checkout, the notebook's folder, the current folder, the home folder, the
    Python prefixes and the temporary folder; ``/`` itself is never one.
    """
    import chipsuite

    roots = {  # later entries win where two are the same folder
        str(Path.cwd().resolve()): "[cwd]",
        str(Path(chipsuite.__file__).resolve().parent.parent): "[chipsuite]",
        str(Path.home()): "~",
        sys.prefix: "[python]",
        sys.base_prefix: "[python]",
        str(Path(tempfile.gettempdir()).resolve()): "[tmp]",
        tempfile.gettempdir(): "[tmp]",
    }
    if notebook is not None:
        roots[str(Path(notebook).resolve().parent)] = "[notebooks]"
    return {root: name for root, name in roots.items() if len(root.strip("/\\")) > 1}


def _root_pattern(roots):
    """One regex matching any of ``roots`` as a whole path prefix (longest first)."""
    ordered = sorted(roots, key=len, reverse=True)
    return re.compile("|".join(re.escape(r) + r"(?![A-Za-z0-9_.\-])" for r in ordered))


def redact_machine_paths(obj, roots):
    """A copy of ``obj`` (str, or lists/dicts of them) with every root of ``roots`` replaced by its
    placeholder (``/home/ana/chipsuite/data`` -> ``[chipsuite]/data``)."""
    if not roots:
        return obj
    pattern = _root_pattern(roots)

    def walk(x):
        if isinstance(x, str):
            return pattern.sub(lambda m: roots[m.group(0)], x)
        if isinstance(x, list):
            return [walk(v) for v in x]
        if isinstance(x, dict):  # dict or nbformat's NotebookNode
            out = type(x)()
            for k, v in x.items():
                out[k] = walk(v)
            return out
        return x

    return walk(obj)


def redact_notebook(nb, notebook=None) -> None:
    """Replace this machine's folders (:func:`machine_roots`) in every cell source and output, in place."""
    roots = machine_roots(notebook)
    for cell in nb.cells:
        cell["source"] = redact_machine_paths(cell.get("source", ""), roots)
        if "outputs" in cell:
            cell["outputs"] = redact_machine_paths(cell["outputs"], roots)


def find_machine_paths(text: str, roots) -> list[str]:
    """The roots of ``roots`` that occur in ``text`` as path prefixes."""
    if not roots:
        return []
    return sorted({m.group(0) for m in _root_pattern(roots).finditer(text)})


# --- page text: links, formulas, navigation ---------------------------------------------

_MD_LINK = re.compile(r"(?<!!)\[([^\]]*)\]\(([^)\s]+)\)")
_CODE_NOTEBOOK = re.compile(r"`((\d\d_[A-Za-z0-9_]+)\.ipynb)`")
_CODE_SPAN = re.compile(r"(```.*?```|`[^`\n]*`)", re.S)
_DISPLAY_MATH = re.compile(r"\$\$(.+?)\$\$", re.S)
_INLINE_MATH = re.compile(r"(?<![\\$\w])\$(?=\S)([^$\n]+?)(?<=\S)\$(?![\w$])")


def rewrite_links(markdown_text: str, pages) -> str:
    """Markdown with links fit for the report folder: ``X.ipynb`` links (and `` `X.ipynb` `` mentions)
    of notebooks in ``pages`` (stems) become ``X.html`` links; relative links to files that are not
    report pages (``../data/README.md``) become the file's path as code (the folder is not in
    the report); web links stay."""
    pages = set(pages)

    def link(match):
        text, target = match.group(1), match.group(2)
        if re.match(r"^[a-z][a-z0-9+.-]*:|^#", target, re.I):
            return match.group(0)
        path, _, anchor = target.partition("#")
        stem = Path(path).stem
        if path.endswith(".ipynb") and stem in pages:
            return f"[{text}]({stem}.html{'#' + anchor if anchor else ''})"
        if path == "index.html" or (path.endswith(".html") and stem in pages):
            return match.group(0)  # already a report page
        shown = path.lstrip("./") if path.startswith("../") else path
        while shown.startswith("../"):
            shown = shown[3:]
        return text if text.strip("`") == shown else f"{text} (`{shown}`)"

    def code(match):
        stem = match.group(2)
        return f"[{stem}]({stem}.html)" if stem in pages else match.group(0)

    parts = _CODE_SPAN.split(markdown_text)
    out = []
    for i, part in enumerate(parts):
        if i % 2:  # a code span: only `NN_name.ipynb` mentions change
            out.append(_CODE_NOTEBOOK.sub(code, part))
        else:
            out.append(_MD_LINK.sub(link, part))
    text = "".join(out)
    # links whose text was a code span (``[`data/README.md`](../data/README.md)``) were split above
    return re.sub(r"\[(`[^`]+`)\]\(([^)\s]+)\)", lambda m: _MD_LINK.sub(link, m.group(0)), text)


def latex_to_mathml(markdown_text: str) -> str:
    """``$...$`` and ``$$...$$`` formulas in Markdown as MathML (rendered by the browser, no network;
    latex2mathml), outside code spans. A formula latex2mathml cannot convert stays as its source."""
    try:
        from latex2mathml.converter import convert
    except ImportError:  # pragma: no cover - a dependency; without it formulas stay as source
        return markdown_text

    def display_math(match):
        try:
            return "\n\n" + convert(match.group(1).strip(), display="block") + "\n\n"
        except Exception:  # noqa: BLE001 - keep the source of a formula that does not convert
            return match.group(0)

    def inline_math(match):
        try:
            return convert(match.group(1).strip())
        except Exception:  # noqa: BLE001
            return match.group(0)

    parts = _CODE_SPAN.split(markdown_text)
    for i in range(0, len(parts), 2):
        parts[i] = _INLINE_MATH.sub(inline_math, _DISPLAY_MATH.sub(display_math, parts[i]))
    return "".join(parts)


def rewrite_markdown(nb, pages=()) -> None:
    """Links (:func:`rewrite_links`) and formulas (:func:`latex_to_mathml`) of every markdown cell and
    Markdown output, in place."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell["source"] = latex_to_mathml(rewrite_links(cell.source, pages))
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "text/markdown" in data:
                text = data["text/markdown"]
                text = "".join(text) if isinstance(text, list) else text
                data["text/markdown"] = latex_to_mathml(rewrite_links(text, pages))


def nav_html(prev=None, next=None, index="index.html") -> str:
    """The page header/footer: links to the index and to the previous and next page
    (``prev``/``next``: ``(file name, title)`` or ``None``)."""
    parts = [f'<a class="chipsuite-nav-index" href="{html.escape(index)}">&#8962; All reports</a>']
    if prev:
        parts.append(f'<a class="chipsuite-nav-prev" rel="prev" href="{html.escape(prev[0])}">&larr; '
                     f"{html.escape(prev[1])}</a>")
    if next:
        parts.append(f'<a class="chipsuite-nav-next" rel="next" href="{html.escape(next[0])}">'
                     f"{html.escape(next[1])} &rarr;</a>")
    return f'<nav class="chipsuite-nav" aria-label="reports">{"".join(parts)}</nav>'


def headlines(nb) -> list[dict]:
    """The headline records (:func:`chipsuite.display.headline`) of an executed notebook, in order:
    dicts with ``numbers`` (key -> value) and, for the lead, ``lead``, ``text`` and ``question``."""
    from chipsuite.display import HEADLINE_KEY

    found = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            meta = output.get("metadata", {}).get(HEADLINE_KEY)
            if isinstance(meta, dict):
                found.append(dict(meta))
    return found


def _lead(nb):
    lead = next((h for h in headlines(nb) if h.get("lead")), None)
    if not lead:
        return "", ""
    return _plain(lead.get("text", "")), lead.get("question", "")


def export_html(nb, title: str, footer: str = "", nav: str = "") -> str:
    """Export an executed notebook node (Vega outputs already embedded) to offline HTML.

    Uses nbconvert's ``lab`` template without its CDN tags, with images embedded.
    """
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    from chipsuite.vega import bundle_js

    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[DictLoader({"chipsuite_report.html.j2": _TEMPLATE})],
        template_file="chipsuite_report.html.j2",
        embed_images=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    nb.metadata["title"] = title
    body, _ = exporter.from_notebook_node(
        nb,
        resources={
            "chipsuite_vega_bundle": bundle_js("script"),
            "chipsuite_css": _REPORT_CSS,
            "chipsuite_footer": footer,
            "chipsuite_nav": nav,
        },
    )
    return body


def build_report(notebook, out_dir, timeout_s: float = DEFAULT_TIMEOUT_S,
                 kernel_name: str = "python3", extra_env: dict | None = None, pages=None,
                 prev=None, next=None) -> ReportPage:
    """Execute one notebook in report mode and write ``out_dir/<name>.html``.

    ``pages``: stems of the notebooks built together (their ``.ipynb`` links become ``.html``;
    default: this notebook only); ``prev``/``next``: ``(file name, title)`` of the neighbouring
    pages for the navigation header.
    """
    start = time.perf_counter()
    notebook = Path(notebook)
    name = notebook.name
    nb = execute_notebook(notebook, timeout_s=timeout_s, kernel_name=kernel_name, extra_env=extra_env)
    check_no_widget_views(nb, name)
    check_outputs_offline(nb, name)
    redact_notebook(nb, notebook)
    title, summary = notebook_title_summary(nb)
    rewrite_markdown(nb, pages if pages is not None else [notebook.stem])
    n_charts = embed_vega_outputs(nb, name)
    title = title or notebook.stem
    headline, question = _lead(nb)
    footer = _footer(notebook)
    nav = nav_html(prev, next) if pages is not None else ""  # a page of a set links its index and neighbours
    body = export_html(nb, title=title, footer=footer, nav=nav)
    found = network_references(body)
    if found:
        raise ReportError(f"{name}: the exported HTML would load from the network: {found[:3]}")
    from chipsuite.vega import bundle_js

    leaks = find_machine_paths(body.replace(bundle_js("script"), ""), machine_roots(notebook))
    if leaks:
        raise ReportError(f"{name}: the exported HTML shows machine paths {leaks}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path = out_dir / (notebook.stem + ".html")
    partial = html_path.with_name(f".{html_path.name}.partial")
    partial.write_text(body, encoding="utf-8")
    os.replace(partial, html_path)  # a page is written whole or not at all
    return ReportPage(
        notebook=notebook,
        html_path=html_path,
        title=title,
        summary=summary,
        n_charts=n_charts,
        size_bytes=html_path.stat().st_size,
        seconds=time.perf_counter() - start,
        headline=headline,
        question=question,
    )


def _source_title(notebook: Path) -> str:
    """The H1 of an unexecuted notebook (for the navigation of its neighbours), else its stem."""
    import nbformat

    try:
        title, _ = notebook_title_summary(nbformat.read(notebook, as_version=4))
    except (OSError, ValueError):
        title = ""
    return title or notebook.stem


def _footer(notebook: Path) -> str:
    import chipsuite

    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    draws = os.environ.get("CHIPSUITE_DRAWS")
    extra = f", CHIPSUITE_DRAWS={draws}" if draws else ""
    return (f"Built from {notebook.name} by python -m chipsuite report "
            f"(chipsuite {chipsuite.__version__}{extra}) on {stamp}.")


def write_index(pages, out_dir) -> Path:
    """Write ``out_dir/index.html``: one entry per page with title, summary and link."""
    import chipsuite

    items = "\n".join(
        f'<li><a href="{html.escape(p.html_path.name)}">{html.escape(p.title)}</a>'
        + (f'<p class="question">{html.escape(p.question)}</p>' if p.question else
           f'<p>{html.escape(p.summary)}</p>')
        + (f'<p class="headline">{html.escape(p.headline)}</p>' if p.headline else "")
        + f'<p class="meta">{p.n_charts} chart{"s" if p.n_charts != 1 else ""}, '
        f"{p.size_bytes / 1e6:.1f} MB &middot; {html.escape(p.notebook.name)}</p></li>"
        for p in pages
    )
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>chipsuite reports</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 48em;
       margin: 2em auto; padding: 0 1em; line-height: 1.5; color: #222; }}
ol {{ padding-left: 1.2em; }} li {{ margin-bottom: 1.2em; }}
li > a {{ font-size: 1.15em; font-weight: 600; }} li p {{ margin: 0.2em 0; }}
.meta {{ color: #666; font-size: 0.85em; }}
.question {{ font-style: italic; }} .headline {{ font-weight: 600; }}
</style>
</head>
<body>
<h1>chipsuite reports</h1>
<p>Executed notebooks of chipsuite {html.escape(chipsuite.__version__)}: charts are live
(vega-embed inlined in each page) and work offline; no kernel is needed.</p>
<ol>
{items}
</ol>
</body>
</html>
"""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    index_path = out_dir / "index.html"
    index_path.write_text(page, encoding="utf-8")
    return index_path


def find_notebooks(pattern: str = DEFAULT_NOTEBOOKS) -> list[Path]:
    """Notebooks matching the glob ``pattern``, sorted, without checkpoints or ``*.nbconvert.ipynb``."""
    paths = sorted(Path(p) for p in _glob.glob(pattern, recursive=True))
    return [p for p in paths if p.suffix == ".ipynb" and ".ipynb_checkpoints" not in p.parts
            and not p.name.endswith(".nbconvert.ipynb")]


def check_out_dir(out_dir) -> Path:
    """``out_dir`` as a Path if a report may be built there, else :class:`ReportError`.

    It must be a folder (or not exist yet). As a build replaces the whole folder, an existing
    folder must be empty or hold a previous report (an ``index.html``), and it must not be the
    current folder or one of its parents.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ReportError(f"--out {out} is not a folder (it is a file); give a folder for the report")
    if out.is_symlink() and not out.exists():
        raise ReportError(f"--out {out} is a broken symbolic link; give a folder for the report")
    resolved = out.resolve()
    cwd = Path.cwd().resolve()
    if resolved == cwd or resolved in cwd.parents:
        raise ReportError(f"--out {out} is the current folder or one of its parents; a build replaces "
                          "the whole --out folder: give a folder of its own (e.g. reports)")
    if out.is_dir():
        try:
            entries = [e.name for e in out.iterdir()]
        except OSError as err:
            raise ReportError(f"--out {out} cannot be read: {err.strerror or err}") from None
        if entries and "index.html" not in entries:
            raise ReportError(f"--out {out} holds other files and no index.html of a previous report; a "
                              "build replaces the whole folder: give a new or empty folder")
    return out


def build_reports(pattern: str = DEFAULT_NOTEBOOKS, out_dir="reports",
                  timeout_s: float = DEFAULT_TIMEOUT_S, kernel_name: str = "python3",
                  extra_env: dict | None = None, log=None) -> list[ReportPage]:
    """Build one offline HTML report per notebook matching ``pattern`` and ``index.html``.

    All or nothing: the pages are built in a temporary folder beside ``out_dir`` and swapped in
    (two renames) only when every page built; a failed or interrupted build (``KeyboardInterrupt``)
    removes the temporary folder and leaves a previous report in ``out_dir`` as it was.
    Raises :class:`ReportError` when no notebook matches, ``out_dir`` is not a usable folder
    (:func:`check_out_dir`), the timeout is not a positive number, or a notebook fails.
    """
    timeout_s = check_timeout(timeout_s)
    out = check_out_dir(out_dir)
    notebooks = find_notebooks(pattern)
    if not notebooks:
        raise ReportError(f"--notebooks {pattern!r}: no notebook matches (cwd {Path.cwd()})")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    except OSError as err:
        raise ReportError(f"--out {out}: cannot create a folder beside it: {err.strerror or err}") from None
    try:
        pages = []
        stems = [nb_path.stem for nb_path in notebooks]
        titles = [_source_title(nb_path) for nb_path in notebooks]
        for i, notebook in enumerate(notebooks):
            if log:
                log(f"executing {notebook} ...")
            prev = (f"{stems[i - 1]}.html", titles[i - 1]) if i > 0 else None
            nxt = (f"{stems[i + 1]}.html", titles[i + 1]) if i + 1 < len(notebooks) else None
            page = build_report(notebook, staging, timeout_s=timeout_s, kernel_name=kernel_name,
                                extra_env=extra_env, pages=stems, prev=prev, next=nxt)
            if log:
                log(f"  built {page.html_path.name}: {page.size_bytes / 1e6:.2f} MB, {page.n_charts} charts, "
                    f"{page.seconds:.0f} s")
            pages.append(page)
        write_index(pages, staging)
        _swap_in(staging, out)
    except OSError as err:
        shutil.rmtree(staging, ignore_errors=True)
        raise ReportError(f"--out {out}: writing the report failed: {err}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    pages = [dataclasses.replace(page, html_path=out / page.html_path.name) for page in pages]
    if log:
        log(f"wrote {out / 'index.html'} and {len(pages)} page(s)")
    return pages


def _swap_in(staging: Path, out: Path) -> None:
    """Replace folder ``out`` by folder ``staging`` (SIGINT deferred during the two renames)."""
    mode = out.stat().st_mode & 0o7777 if out.is_dir() else 0o777 & ~_umask()
    os.chmod(staging, mode)  # mkdtemp made it private (0700)
    with _sigint_deferred():
        if out.exists() or out.is_symlink():
            previous = out.parent / f".{out.name}.previous-{os.getpid()}-{time.time_ns()}"
            os.replace(out, previous)
            try:
                os.replace(staging, out)
            except OSError:
                os.replace(previous, out)
                raise
        else:
            os.replace(staging, out)
            previous = None
    if previous is not None:
        if previous.is_dir() and not previous.is_symlink():
            shutil.rmtree(previous, ignore_errors=True)
        else:
            previous.unlink()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class _sigint_deferred:
    """Context manager: a SIGINT inside is raised as KeyboardInterrupt only on leaving it."""

    def __enter__(self):
        self._caught, self._old = False, None
        try:
            self._old = signal.signal(signal.SIGINT, self._handler)
        except ValueError:  # not the main thread: signals cannot be handled here anyway
            self._old = None
        return self

    def _handler(self, signum, frame):
        self._caught = True

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
        if self._caught and exc[0] is None:
            raise KeyboardInterrupt
        return False


def _parse_timeout(text: str) -> float | None:
    """``--timeout`` text as positive finite seconds, or ``None`` if it is not one."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None


def main(argv=None) -> int:
    """``python -m chipsuite report [--out DIR] [--notebooks GLOB] [--timeout S]``."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m chipsuite report",
        description="Execute the notebooks in report mode (CHIPSUITE_REPORT=1) and write "
        "offline HTML reports (one per notebook plus index.html). The report is built beside "
        "--out and replaces it only when every page built.",
    )
    parser.add_argument("--out", default="reports", help="output folder (default: reports)")
    parser.add_argument("--notebooks", default=DEFAULT_NOTEBOOKS,
                        help=f"glob of notebooks to execute (default: {DEFAULT_NOTEBOOKS})")
    parser.add_argument("--timeout", default=str(DEFAULT_TIMEOUT_S),
                        help=f"per-cell timeout [s], any positive number (default: {DEFAULT_TIMEOUT_S})")
    parser.add_argument("--kernel", default="python3", help="Jupyter kernel name (default: python3)")
    args = parser.parse_args(argv)
    timeout = _parse_timeout(args.timeout)
    if timeout is None:
        try:
            shown = float(args.timeout)
        except ValueError:
            shown = repr(args.timeout)
        parser.error(f"--timeout must be > 0 seconds, got {shown} (any positive, finite number)")

    def log(message):
        print(message, flush=True)

    interrupted = []

    def on_sigint(signum, frame):
        interrupted.append(signum)
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGINT, on_sigint)
    except ValueError:  # not the main thread
        previous = None
    try:
        pages = build_reports(args.notebooks, args.out, timeout_s=timeout, kernel_name=args.kernel, log=log)
    except BaseException as err:  # sorted below; anything else is re-raised
        # an interrupt may surface as another error of the kernel machinery (e.g. DeadKernelError):
        # the flag, not the type, says it was an interrupt
        if interrupted or isinstance(err, KeyboardInterrupt):
            print(f"chipsuite report: interrupted; {args.out} is unchanged", file=sys.stderr)
            return 130
        if isinstance(err, ReportError):
            print(f"chipsuite report: error: {err}", file=sys.stderr)
            return 1
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    total = sum(p.size_bytes for p in pages)
    print(f"{len(pages)} report(s), {total / 1e6:.2f} MB in total:")
    width = max(len(str(page.html_path)) for page in pages)
    for page in pages:
        print(f"  {str(page.html_path):<{width}}  {page.size_bytes / 1e6:5.2f} MB  "
              f"{page.n_charts:3d} charts  {page.title}")
    return 0
