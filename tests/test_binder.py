"""Binder environment: binder/requirements.txt and runtime.txt.

The fast tests check the files. The slow test does what repo2docker does: a fresh venv,
`pip install -r binder/requirements.txt` from a copy of the repository root, then it
executes every notebook with that venv's kernel in CI mode (CHIPSUITE_DRAWS=50) while
psutil samples the resident memory of the whole process tree (runner + kernels): the
peak must stay well inside Binder's 2 GB. Set CHIPSUITE_SKIP_BINDER=1 to skip it
(it downloads about 300 MB of wheels from the package index on a cold cache).
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import tomllib
from pathlib import Path

import psutil
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parent.parent
BINDER = REPO / "binder"
BINDER_MEMORY_BYTES = 2 * 1024**3  # mybinder.org guarantees 1 GB and allows up to 2 GB
FIXTURE_NOTEBOOKS = Path(__file__).resolve().parent / "fixtures" / "notebooks"


def pinned_lines():
    lines = [line.strip() for line in (BINDER / "requirements.txt").read_text().splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def pins():
    out = {}
    for line in pinned_lines():
        if line == "-e .":
            continue
        name, version = line.split("==")
        out[canonicalize_name(name)] = version
    return out


def test_runtime_is_python_3_11():
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"


def test_every_requirement_is_pinned_and_chipsuite_installs_last():
    lines = pinned_lines()
    assert lines[-1] == "-e .", "the last line installs chipsuite (editable: it reads data/)"
    for line in lines[:-1]:
        req = Requirement(line)
        assert len(req.specifier) == 1 and next(iter(req.specifier)).operator == "==", line
        assert not req.marker and not req.url, line
    names = [canonicalize_name(Requirement(line).name) for line in lines[:-1]]
    assert len(names) == len(set(names)), "duplicate pins"


def test_pins_satisfy_pyproject_runtime_dependencies():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pinned = pins()
    for line in project["dependencies"]:
        req = Requirement(line)
        name = canonicalize_name(req.name)
        assert name in pinned, f"binder/requirements.txt: {req.name} (pyproject) is not pinned"
        assert req.specifier.contains(pinned[name], prereleases=True), (
            f"binder/requirements.txt: {name}=={pinned[name]} violates pyproject's {line!r}")
    for needed in ("jupyterlab", "anywidget", "ipywidgets", "ipykernel", "jupyterlab-widgets"):
        assert needed in pinned, needed
    for test_tool in ("pytest", "hypothesis", "playwright"):
        assert test_tool not in pinned, f"{test_tool} is a test tool, not a run-time dependency"


RUNNER = textwrap.dedent('''
    """Executes notebooks with this interpreter's python3 kernel (run by test_binder.py)."""
    import json, sys, time
    from pathlib import Path
    import nbformat
    from nbclient import NotebookClient
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("python3")
    results = {"kernel_resource_dir": spec.resource_dir, "notebooks": []}
    probe = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import sys, chipsuite; print(sys.executable); print(chipsuite.__file__)")])
    NotebookClient(probe, timeout=120, kernel_name="python3").execute()
    results["kernel_python"], results["kernel_chipsuite"] = probe.cells[0].outputs[0]["text"].split()
    for path in sorted(Path(sys.argv[1]).glob("*.ipynb")):
        start = time.perf_counter()
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=False,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        results["notebooks"].append({"name": path.name, "seconds": time.perf_counter() - start})
    print(json.dumps(results))
''')


class PeakRss:
    """Samples the summed RSS [bytes] of a process and all its descendants."""

    def __init__(self, pid, interval_s=0.2):
        self.process, self.interval_s = psutil.Process(pid), interval_s
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            total = 0
            try:
                for proc in [self.process, *self.process.children(recursive=True)]:
                    try:
                        total += proc.memory_info().rss
                    except (psutil.NoSuchProcess, psutil.AccessDenied):
                        pass
            except psutil.NoSuchProcess:
                break
            self.peak_bytes = max(self.peak_bytes, total)
            self._stop.wait(self.interval_s)

    def stop(self):
        self._stop.set()
        self._thread.join()
        return self.peak_bytes


def copy_repository(dest):
    """What repo2docker sees: the files of the repository (no build outputs)."""
    for name in ("chipsuite", "data", "notebooks", "binder"):
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, dest / name,
                            ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, dest / name)


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("CHIPSUITE_SKIP_BINDER") == "1", reason="CHIPSUITE_SKIP_BINDER=1")
def test_binder_environment_runs_every_notebook_within_2_gb(tmp_path):
    repo = tmp_path / "repo"
    copy_repository(repo)
    notebooks = repo / "notebooks"
    if not list(notebooks.glob("*.ipynb")):  # before the real notebooks exist
        for path in FIXTURE_NOTEBOOKS.glob("*.ipynb"):
            shutil.copy(path, notebooks)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "CHIPSUITE_REPORT", "VIRTUAL_ENV", "JUPYTER_PATH")}
    env.update(CHIPSUITE_DRAWS="50", JUPYTER_DATA_DIR=str(tmp_path / "jupyter-data"),
               JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter-config"), PIP_DISABLE_PIP_VERSION_CHECK="1")
    install = subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", "binder/requirements.txt"],
                             cwd=repo, env=env, capture_output=True, text=True)
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]

    extensions = subprocess.run([str(venv / "bin" / "jupyter"), "labextension", "list"],
                                cwd=repo, env=env, capture_output=True, text=True)
    listing = extensions.stdout + extensions.stderr
    for extension in ("anywidget", "@jupyter-widgets/jupyterlab-manager"):
        assert f"{extension} v" in listing and "enabled" in listing, listing

    runner = tmp_path / "run_notebooks.py"
    runner.write_text(RUNNER)
    process = subprocess.Popen([str(python), str(runner), str(notebooks)], cwd=repo, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampler = PeakRss(process.pid)
    stdout, stderr = process.communicate()
    peak_bytes = sampler.stop()
    assert process.returncode == 0, stderr[-5000:]
    results = json.loads(stdout.strip().splitlines()[-1])
    assert Path(results["kernel_python"]).parent == python.parent
    assert Path(results["kernel_chipsuite"]).is_relative_to(repo)  # the editable install
    assert Path(results["kernel_resource_dir"]).is_relative_to(venv)
    names = [n["name"] for n in results["notebooks"]]
    assert names == sorted(p.name for p in notebooks.glob("*.ipynb"))
    print(f"binder venv: {len(names)} notebooks, peak RSS {peak_bytes / 2**20:.0f} MiB "
          f"(runner + kernels, CHIPSUITE_DRAWS=50)")
    assert 0 < peak_bytes < BINDER_MEMORY_BYTES * 0.75, f"peak RSS {peak_bytes / 2**20:.0f} MiB"
