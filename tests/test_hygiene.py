"""Notebook hygiene: committed notebooks carry no outputs; the pre-commit hooks (nbstripout,
ruff with notebook support) are the tools the tests run, with the same arguments; and the
kernels the package starts do not print ipykernel's TCP warning."""

import json
import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import nbformat
import pytest
import yaml
from nbformat.v4 import new_code_cell, new_notebook, new_output

REPO = Path(__file__).resolve().parent.parent
PRE_COMMIT = REPO / ".pre-commit-config.yaml"
#: files whose lint the tests hold (the rest of the package is linted by pre-commit as it changes)
LINTED = ["notebooks", "chipsuite/export.py", "chipsuite/datapackage.py", "chipsuite/nbexport.py",
          "tests/test_export.py", "tests/test_datapackage.py", "tests/test_nbexport.py", "tests/test_setup.py",
          "tests/test_hygiene.py", "tests/test_fallback.py", "tests/test_voila.py"]


def git(*args):
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout


def committed_notebooks():
    """``{path: notebook text}`` of every notebook in git's index (what is or will be committed)."""
    if not (REPO / ".git").exists():
        if os.environ.get("CI"):
            pytest.fail(f"{REPO} is not a git checkout")
        pytest.skip("not a git checkout")
    notebooks = {}
    for line in git("ls-files", "-s", "--", "*.ipynb").splitlines():
        meta, path = line.split("\t", 1)
        blob = meta.split()[1]
        notebooks[path] = git("cat-file", "blob", blob)
    return notebooks


def outputs_problems(path, text):
    """What a committed notebook must not carry: outputs, execution counts, widget state."""
    nb = nbformat.reads(text, as_version=4)
    problems = [f"{path}: metadata.widgets (saved widget state)"] if "widgets" in nb.metadata else []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if cell.get("outputs"):
            problems.append(f"{path} cell {index}: {len(cell.outputs)} output(s)")
        if cell.get("execution_count") is not None:
            problems.append(f"{path} cell {index}: execution count {cell.execution_count}")
        for key in ("execution", "ExecuteTime"):
            if key in cell.metadata:
                problems.append(f"{path} cell {index}: metadata.{key}")
    return problems


def test_committed_notebooks_carry_no_outputs():
    notebooks = committed_notebooks()
    assert any(path.startswith("notebooks/") for path in notebooks)
    problems = [p for path, text in notebooks.items() for p in outputs_problems(path, text)]
    assert problems == [], "strip outputs before committing (pre-commit install): " + "; ".join(problems)


def dirty_notebook():
    cell = new_code_cell("1 + 1", execution_count=3,
                         outputs=[new_output("execute_result", data={"text/plain": "2"}, execution_count=3)])
    return nbformat.writes(new_notebook(cells=[cell], metadata={"widgets": {}}))


def test_the_check_catches_outputs():
    problems = outputs_problems("dirty.ipynb", dirty_notebook())
    assert problems == ["dirty.ipynb: metadata.widgets (saved widget state)", "dirty.ipynb cell 0: 1 output(s)",
                        "dirty.ipynb cell 0: execution count 3"]


def hook(hook_id):
    config = yaml.safe_load(PRE_COMMIT.read_text())
    for repo in config["repos"]:
        for entry in repo["hooks"]:
            if entry["id"] == hook_id:
                return repo, entry
    raise AssertionError(f"{PRE_COMMIT.name}: no hook {hook_id!r}")


def test_pre_commit_hooks_run_the_pinned_tool_versions():
    nbstripout_repo, _ = hook("nbstripout")
    ruff_repo, ruff_hook = hook("ruff-check")
    assert nbstripout_repo["rev"] == metadata.version("nbstripout")
    assert ruff_repo["rev"] == "v" + metadata.version("ruff")
    assert "jupyter" in ruff_hook["types_or"]  # notebooks are linted too


def tool(name):
    path = Path(sys.executable).parent / name
    return str(path) if path.exists() else shutil.which(name) or pytest.fail(f"{name} is not installed")


def test_nbstripout_hook_leaves_committed_notebooks_unchanged_and_strips_dirty_ones(tmp_path):
    _, entry = hook("nbstripout")
    clean = []
    for index, text in enumerate(committed_notebooks().values()):
        path = tmp_path / f"committed_{index}.ipynb"
        path.write_text(text, encoding="utf-8")
        clean.append(str(path))
    run = subprocess.run([tool("nbstripout"), *entry.get("args", []), "--verify", *clean],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    dirty = tmp_path / "dirty.ipynb"
    dirty.write_text(dirty_notebook(), encoding="utf-8")
    assert subprocess.run([tool("nbstripout"), *entry.get("args", []), "--verify", str(dirty)],
                          capture_output=True).returncode == 1
    subprocess.run([tool("nbstripout"), *entry.get("args", []), str(dirty)], check=True)
    assert outputs_problems("dirty.ipynb", dirty.read_text()) == []


def test_ruff_passes_on_notebooks_and_new_modules():
    run = subprocess.run([tool("ruff"), "check", "--no-cache", "--output-format", "concise",
                          *[p for p in LINTED if (REPO / p).exists()]], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_ruff_lints_notebook_cells(tmp_path):
    path = tmp_path / "unused.ipynb"
    path.write_text(nbformat.writes(new_notebook(cells=[new_code_cell("import os")])), encoding="utf-8")
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    run = subprocess.run([tool("ruff"), "check", "--no-cache", "--output-format", "json", str(path)],
                         cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 1
    assert [d["code"] for d in json.loads(run.stdout)] == ["F401"]


@pytest.mark.slow
def test_report_kernel_uses_ipc_and_prints_no_tcp_warning(tmp_path, capfd):
    from chipsuite import report

    path = tmp_path / "transport.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell(
        "from ipykernel.connect import get_connection_info\nprint(get_connection_info(unpack=True)['transport'])")],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}), path)
    nb = report.execute_notebook(path, timeout_s=120)
    assert nb.cells[0].outputs[0]["text"].strip() == "ipc"
    assert "without encryption" not in capfd.readouterr().err
