"""The README's set-up: `make report` / `make test` create and use the project venv (.venv)
from whatever python3 is, also a PEP 668 "externally managed" system Python, and as root.

The fast tests read the Makefile's plan (`make -n`); the slow one runs `make setup` with
Debian's /usr/bin/python3 in a temporary copy of the repository's tracked files (what a fresh
clone holds, with this checkout's changes) and then uses that venv: it imports the new
dependencies, finds the nbconvert exporter through its entry point and builds a report. pip's cache and the machine's wheel folders are used as they are configured,
so a warm run takes a few minutes.
"""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEBIAN_PYTHON = Path("/usr/bin/python3")


def make_plan(*args, cwd=REPO):
    """The commands `make -n ARGS` would run (one string)."""
    result = subprocess.run(["make", "-n", "--no-print-directory", *args], cwd=cwd,
                            capture_output=True, text=True, check=True)
    return result.stdout


def test_ci_runs_exactly_the_readme_test_command():
    lines = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    commands = [line for line in lines if line and not line.startswith("#")]
    assert commands[-1] == "make test"
    readme = (REPO / "README.md").read_text()
    assert "make report" in readme and "make test" in readme


def test_every_target_runs_in_the_project_venv():
    plan = make_plan("-B", "test", "report", "lab", "app")
    assert "-m venv .venv" in plan
    assert '.venv/bin/python -m pip install --disable-pip-version-check -q -e ".[test]"' in plan
    for command in ("-m pytest", "-m chipsuite report --out reports", "-m jupyter lab", "-m voila"):
        line = next(line for line in plan.splitlines() if command in line)
        assert line.startswith(".venv/bin/python "), line
    assert "pip install" not in plan.replace(".venv/bin/python -m pip install", "")


def test_python_variable_selects_the_interpreter_of_the_venv():
    plan = make_plan("-B", "venv", "PYTHON=/opt/python3.13/bin/python3")
    assert "/opt/python3.13/bin/python3 -m venv .venv" in plan


def test_lab_allows_root_only_as_root():
    line = next(line for line in make_plan("lab").splitlines() if "-m jupyter lab" in line)
    assert ("--allow-root" in line) == (os.geteuid() == 0), line


def externally_managed(python):
    """True when ``python`` carries PEP 668's EXTERNALLY-MANAGED marker."""
    stdlib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('stdlib'))"],
                            capture_output=True, text=True, check=True).stdout.strip()
    return (Path(stdlib) / "EXTERNALLY-MANAGED").exists()


def copy_tracked_files(dest):
    """The repository's tracked files (as a fresh clone has them, with this checkout's edits)."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True,
                           check=True).stdout.split("\0")
    for name in filter(None, files):
        source = REPO / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_make_setup_with_an_externally_managed_system_python(tmp_path):
    if not DEBIAN_PYTHON.exists():
        reason = f"{DEBIAN_PYTHON} not found (no Debian/Ubuntu system Python here)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    assert externally_managed(DEBIAN_PYTHON), f"{DEBIAN_PYTHON} is not PEP 668 externally managed"
    clone = tmp_path / "clone"
    copy_tracked_files(clone)
    env = {key: value for key, value in os.environ.items()
           if key not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "CHIPSUITE_REPORT", "MAKEFLAGS", "MFLAGS")}
    env.update(JUPYTER_DATA_DIR=str(tmp_path / "jupyter-data"), JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter-config"))

    start = time.perf_counter()
    setup = subprocess.run(["make", "setup", f"PYTHON={DEBIAN_PYTHON}"], cwd=clone, env=env,
                           capture_output=True, text=True)
    seconds = time.perf_counter() - start
    assert setup.returncode == 0, setup.stdout[-3000:] + setup.stderr[-3000:]
    assert "externally-managed-environment" not in setup.stderr
    print(f"make setup PYTHON={DEBIAN_PYTHON}: {seconds:.0f} s")

    python = clone / ".venv" / "bin" / "python"
    probe = subprocess.run(
        [str(python), "-c", "import sys, chipsuite, voila, h5netcdf, frictionless, playwright; "
         "from nbconvert.exporters import get_exporter; "
         "print(sys.base_prefix); print(chipsuite.__file__); print(get_exporter('chipsuite').__name__)"],
        cwd=tmp_path, env=env, capture_output=True, text=True)
    assert probe.returncode == 0, probe.stderr[-3000:]
    base_prefix, chipsuite_file, exporter = probe.stdout.split()
    assert Path(base_prefix) == Path("/usr")  # built on Debian's interpreter
    assert Path(chipsuite_file).is_relative_to(clone)  # the editable install of the clone
    assert exporter == "ChipsuiteExporter"

    # the stamp: a second `make setup` has nothing to do
    assert subprocess.run(["make", "-q", "setup", f"PYTHON={DEBIAN_PYTHON}"], cwd=clone, env=env).returncode == 0

    # the venv runs a report (its own kernel) of a fixture notebook
    notebook = "tests/fixtures/notebooks/01_fixture_notes.ipynb"
    report = subprocess.run([str(python), "-m", "chipsuite", "report", "--notebooks", notebook,
                             "--out", str(tmp_path / "reports")], cwd=clone, env=env,
                            capture_output=True, text=True)
    assert report.returncode == 0, report.stdout[-2000:] + report.stderr[-3000:]
    assert (tmp_path / "reports" / "01_fixture_notes.html").stat().st_size > 100_000
    assert "without encryption" not in report.stderr  # the report kernel uses ipc transport


@pytest.mark.skipif(os.geteuid() != 0, reason="as non-root the Makefile calls sudo apt-get")
def test_python_without_ensurepip_gets_its_venv_package_from_apt(tmp_path):
    """Debian/Ubuntu without python3.X-venv: `make venv` installs it with apt-get, then creates the venv.

    A stand-in python3 fails `import ensurepip` until a stand-in apt-get has "installed" the package.
    """
    bin_dir, installed, apt_log = tmp_path / "bin", tmp_path / "installed", tmp_path / "apt.log"
    bin_dir.mkdir()
    (bin_dir / "python3").write_text(
        "#!/bin/sh\n"
        f'if [ ! -e "{installed}" ] && [ "$1" = "-c" ] && [ "$2" = "import ensurepip" ]; then exit 1; fi\n'
        f'exec "{sys.executable}" "$@"\n')
    (bin_dir / "apt-get").write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> "{apt_log}"\n'
        f'case "$*" in *install*) touch "{installed}";; esac\n')
    for script in bin_dir.iterdir():
        script.chmod(0o755)
    shutil.copy(REPO / "Makefile", tmp_path / "Makefile")
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    env.pop("MAKEFLAGS", None)
    run = subprocess.run(["make", "venv", f"PYTHON={bin_dir / 'python3'}", "VENV=venv"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    version = "%d.%d" % sys.version_info[:2]
    assert f"has no ensurepip: installing python{version}-venv with apt-get" in run.stdout
    assert apt_log.read_text().splitlines() == ["update -qq", f"install -y -qq python{version}-venv"]
    assert (tmp_path / "venv" / "bin" / "python").exists()
