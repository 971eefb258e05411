"""`jupyter nbconvert --to chipsuite`: the exporter registered through nbconvert's entry point
writes the same offline page as `python -m chipsuite report` for one notebook."""

import os
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from chipsuite import nbexport, report

REPO = Path(__file__).resolve().parent.parent
FIXTURE = REPO / "tests" / "fixtures" / "notebooks" / "01_fixture_notes.ipynb"
FOOTER = re.compile(r'<p class="chipsuite-report-footer">.*?</p>', re.S)


def declared_entry_point():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return project["entry-points"]["nbconvert.exporters"]["chipsuite"]


def test_exporter_is_declared_under_nbconverts_entry_point():
    assert declared_entry_point() == "chipsuite.nbexport:ChipsuiteExporter"
    module, name = declared_entry_point().split(":")
    assert getattr(__import__(module, fromlist=[name]), name) is nbexport.ChipsuiteExporter


def test_execute_flag_does_not_add_a_second_execution():
    from traitlets.config import Config

    exporter = nbexport.ChipsuiteExporter(config=Config({"ExecutePreprocessor": {"enabled": True}}))
    names = [type(p).__name__ for p in exporter._preprocessors]
    assert "ExecutePreprocessor" not in names
    assert exporter.file_extension == ".html" and exporter.output_mimetype == "text/html"


def nbconvert_env(tmp_path):
    """Environment in which `jupyter nbconvert --to chipsuite` finds this checkout's exporter.

    When the installed chipsuite distribution is this checkout (make setup, CI), its metadata
    holds the entry point. When another checkout is installed, a minimal dist-info with the
    entry point declared in this pyproject.toml is put first on PYTHONPATH.
    """
    env = {key: value for key, value in os.environ.items() if key != "CHIPSUITE_REPORT"}
    paths = [str(REPO)]
    found = [ep.value for ep in metadata.entry_points(group="nbconvert.exporters") if ep.name == "chipsuite"]
    if found != [declared_entry_point()]:
        dist = tmp_path / "site" / "chipsuite-0.1.0.dist-info"
        dist.mkdir(parents=True)
        (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: chipsuite\nVersion: 0.1.0\n")
        (dist / "entry_points.txt").write_text(f"[nbconvert.exporters]\nchipsuite = {declared_entry_point()}\n")
        paths.insert(0, str(tmp_path / "site"))
    env["PYTHONPATH"] = os.pathsep.join(paths + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    env["CHIPSUITE_DRAWS"] = "50"
    return env


@pytest.mark.slow
def test_to_chipsuite_writes_the_report_page(tmp_path):
    out = tmp_path / "nbconvert"
    run = subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "chipsuite", "--output-dir",
                          str(out), str(FIXTURE)], env=nbconvert_env(tmp_path), capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "without encryption" not in run.stderr  # the kernel runs over ipc
    page = (out / "01_fixture_notes.html").read_text(encoding="utf-8")
    assert report.network_references(page) == []
    assert "by jupyter nbconvert --to chipsuite (chipsuite " in page

    built = report.build_report(FIXTURE, tmp_path / "report", timeout_s=300, extra_env={"CHIPSUITE_DRAWS": "50"})
    expected = built.html_path.read_text(encoding="utf-8")
    assert FOOTER.sub("FOOTER", page) == FOOTER.sub("FOOTER", expected)
    assert page.count("vegaEmbed(document.getElementById") == built.n_charts == 1


@pytest.mark.slow
def test_to_chipsuite_refuses_a_widget_view_naming_the_cell(tmp_path):
    path = tmp_path / "widget.ipynb"
    nbformat.write(new_notebook(cells=[new_markdown_cell("# A widget"),
                                       new_code_cell("import ipywidgets\nipywidgets.IntSlider(3)")],
                                metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                         "language": "python"}}), path)
    with pytest.raises(report.ReportError, match=r"widget.ipynb cell 1 \(execution count 1\): output is an ipywidget"):
        nbexport.ChipsuiteExporter(timeout_s=120).from_filename(str(path))


def test_footer_names_the_tool_and_version(monkeypatch):
    import chipsuite

    monkeypatch.setenv("CHIPSUITE_DRAWS", "50")
    text = nbexport.footer_text("01_cadence.ipynb")
    assert text.startswith(f"Built from 01_cadence.ipynb by jupyter nbconvert --to chipsuite (chipsuite "
                           f"{chipsuite.__version__}, CHIPSUITE_DRAWS=50) on ")
