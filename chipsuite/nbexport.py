"""``jupyter nbconvert --to chipsuite NOTEBOOK``: the offline report page of one notebook.

chipsuite registers this exporter under nbconvert's ``nbconvert.exporters`` entry point
(pyproject.toml), so after ``pip install`` (or ``make setup``)::

    jupyter nbconvert --to chipsuite notebooks/01_cadence.ipynb        # -> notebooks/01_cadence.html
    jupyter nbconvert --to chipsuite --output-dir reports notebooks/*.ipynb

writes the same self-contained page as ``python -m chipsuite report`` does for that notebook:
the notebook is executed in report mode (``CHIPSUITE_REPORT=1``, cwd = the notebook's folder,
errors not allowed, a per-cell timeout, kernel over ipc), widget views and network loads
fail the export loudly, Vega-Lite outputs become live ``vegaEmbed`` charts with the Vega
bundle inlined once, and nbconvert's CDN tags are dropped: the page makes no outside request.
The exporter executes the notebook itself, so ``--execute`` is not needed (it is ignored: a
plain execution would show ipywidgets). Options: ``--ChipsuiteExporter.timeout_s=600``,
``--ChipsuiteExporter.kernel_name=python3``. Without the entry point (chipsuite not installed
as a distribution), ``--to chipsuite.nbexport.ChipsuiteExporter`` does the same.
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path

from nbconvert.exporters import Exporter
from traitlets import Float, Unicode, default

from . import report

__all__ = ["ChipsuiteExporter", "execute_node", "report_page_html", "footer_text"]

EXPORTER_NAME = "chipsuite"


def execute_node(nb, cwd, timeout_s: float = report.DEFAULT_TIMEOUT_S, kernel_name: str = "python3",
                 extra_env: dict | None = None, notebook_name: str = "notebook"):
    """Execute the notebook node ``nb`` in place in report mode, as :func:`chipsuite.report.execute_notebook`
    does for a file: cwd ``cwd``, errors not allowed, ``timeout_s`` [s] per cell, ipc kernel.

    Raises :class:`chipsuite.report.ReportError` naming the notebook when a cell fails or times out.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    client = NotebookClient(
        nb,
        timeout=timeout_s,
        kernel_name=kernel_name,
        allow_errors=False,
        store_widget_state=False,
        resources={"metadata": {"path": str(Path(cwd).resolve())}},
        kernel_manager_class=report._ipc_kernel_manager_class(),
    )
    try:
        client.execute(env=report._kernel_env(extra_env))
    except CellTimeoutError as err:
        raise report.ReportError(f"{notebook_name}: a cell exceeded the timeout of {timeout_s} s: {err}") from err
    except CellExecutionError as err:
        raise report.ReportError(f"{notebook_name}: a cell raised an error while building the report:\n{err}") from err
    return nb


def footer_text(notebook_name: str, tool: str = "jupyter nbconvert --to chipsuite") -> str:
    """The page footer: source notebook, tool, chipsuite version, draws setting and UTC time."""
    import chipsuite

    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    draws = os.environ.get("CHIPSUITE_DRAWS")
    extra = f", CHIPSUITE_DRAWS={draws}" if draws else ""
    return f"Built from {notebook_name} by {tool} (chipsuite {chipsuite.__version__}{extra}) on {stamp}."


def report_page_html(nb, notebook_name: str, footer: str) -> tuple[str, int]:
    """The offline page of an executed notebook node and its number of charts.

    The same steps as :func:`chipsuite.report.build_report` after execution: refuse widget
    views and network loads, embed Vega-Lite outputs, export, refuse a page that would load
    from the network (:class:`chipsuite.report.ReportError` names notebook and cell).
    """
    report.check_no_widget_views(nb, notebook_name)
    report.check_outputs_offline(nb, notebook_name)
    report.rewrite_markdown(nb, [Path(notebook_name).stem])
    n_charts = report.embed_vega_outputs(nb, notebook_name)
    title, _ = report.notebook_title_summary(nb)
    body = report.export_html(nb, title=title or Path(notebook_name).stem, footer=footer)
    found = report.network_references(body)
    if found:
        raise report.ReportError(f"{notebook_name}: the exported HTML would load from the network: {found[:3]}")
    return body, n_charts


def _is_execute_preprocessor(preprocessor) -> bool:
    """True for nbconvert's ExecutePreprocessor given as a dotted name, a class or an instance."""
    if isinstance(preprocessor, str):
        name = preprocessor
    elif isinstance(preprocessor, type):
        name = preprocessor.__name__
    else:
        name = type(preprocessor).__name__
    return name.rsplit(".", 1)[-1] == "ExecutePreprocessor"


class ChipsuiteExporter(Exporter):
    """nbconvert exporter ``chipsuite``: execute in report mode, write the offline report page."""

    export_from_notebook = "chipsuite offline report"
    output_mimetype = "text/html"

    timeout_s = Float(report.DEFAULT_TIMEOUT_S, help="per-cell timeout [s]").tag(config=True)
    kernel_name = Unicode("python3", help="Jupyter kernel that executes the notebook").tag(config=True)

    @default("file_extension")
    def _file_extension_default(self):
        return ".html"

    def register_preprocessor(self, preprocessor, enabled=False):
        """Register as nbconvert does, except its ExecutePreprocessor: this exporter executes
        in report mode itself (``--execute`` would run the notebook twice, once with widgets)."""
        if _is_execute_preprocessor(preprocessor):
            return None
        return super().register_preprocessor(preprocessor, enabled=enabled)

    def from_notebook_node(self, nb, resources=None, **kw):
        nb_copy, resources = super().from_notebook_node(nb, resources, **kw)
        metadata = resources.get("metadata", {})
        cwd = metadata.get("path") or os.getcwd()
        name = metadata.get("name") or "notebook"
        notebook_name = f"{name}.ipynb"
        execute_node(nb_copy, cwd, timeout_s=self.timeout_s, kernel_name=self.kernel_name,
                     notebook_name=notebook_name)
        body, n_charts = report_page_html(nb_copy, notebook_name, footer_text(notebook_name))
        resources["output_extension"] = self.file_extension
        resources["chipsuite_n_charts"] = n_charts
        return body, resources
