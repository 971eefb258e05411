"""The notebooks: committed clean (no outputs), Pythia skeleton, and executed top to bottom
headless (normal mode and report mode) with errors disallowed."""

import os
import re
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = REPO / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
REQUIRED = ["00_tour", "01_cadence", "02_capex", "03_nvidia_dependence", "04_energy_sites", "05_uncertainty",
            "06_data_explorer"]
SKELETON = ["Overview", "Prerequisites", "Imports", "Summary", "What's next", "References"]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
VEGALITE = "application/vnd.vegalite.v6+json"
TIMEOUT_S = 300


def _ids(paths):
    return [p.stem for p in paths]


def _read(path):
    return nbformat.read(path, as_version=4)


def _headings(nb):
    out = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            out += re.findall(r"^(#+)\s+(.+?)\s*$", cell.source, flags=re.M)
    return out


def test_required_notebooks_exist():
    assert [n for n in REQUIRED if not (NOTEBOOK_DIR / f"{n}.ipynb").exists()] == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_committed_notebook_is_clean(path):
    nb = _read(path)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.get("outputs") == [], f"{path.name} cell {i} has outputs"
            assert cell.get("execution_count") is None, f"{path.name} cell {i} has an execution count"
    assert set(nb.metadata) <= {"kernelspec", "language_info"}, f"{path.name}: metadata {sorted(nb.metadata)}"
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_has_skeleton(path):
    headings = _headings(_read(path))
    h1 = [text for level, text in headings if level == "#"]
    assert len(h1) == 1, f"{path.name}: expected one H1, found {h1}"
    assert headings[0][0] == "#", f"{path.name}: the H1 must come first"
    texts = [text for _, text in headings]
    positions = []
    for name in SKELETON:
        assert name in texts, f"{path.name}: missing heading {name!r}"
        positions.append(texts.index(name))
    assert positions == sorted(positions), f"{path.name}: skeleton headings out of order"
    nb = _read(path)
    prereq = next(c.source for c in nb.cells if c.cell_type == "markdown" and "## Prerequisites" in c.source)
    assert re.search(r"Time to learn\**:?\**\s*\d+ minutes", prereq), f"{path.name}: no time to learn"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_first_code_cell_holds_parameters(path):
    first = next(c for c in _read(path).cells if c.cell_type == "code")
    assert "parameters" in first.metadata.get("tags", [])
    assert 'DRAWS = int(os.environ.get("CHIPSUITE_DRAWS", "1000"))' in first.source


def _execute(path, report_mode):
    from nbclient import NotebookClient

    nb = _read(path)
    env = dict(os.environ)
    env["CHIPSUITE_DRAWS"] = "50"
    env.pop("CHIPSUITE_REPORT", None)
    if report_mode:
        env["CHIPSUITE_REPORT"] = "1"
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *paths])  # this chipsuite, installed or not
    client = NotebookClient(nb, timeout=TIMEOUT_S, kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    client.execute(env=env)
    return nb


def _mimetypes(nb):
    out = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            out += list(output.get("data", {}))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_runs(path):
    nb = _execute(path, report_mode=False)
    types = _mimetypes(nb)
    assert WIDGET_VIEW in types, f"{path.name}: no live explorer (widget view) in normal mode"
    assert "text/markdown" in types, f"{path.name}: no computed prose"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_runs_in_report_mode(path):
    nb = _execute(path, report_mode=True)
    types = _mimetypes(nb)
    assert WIDGET_VIEW not in types, f"{path.name}: a widget view would be an empty cell in the report"
    assert VEGALITE in types, f"{path.name}: no chart in report mode"
