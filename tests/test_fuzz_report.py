"""Fuzz suite, report side: all-or-nothing builds, interrupts, CLI arguments, cell errors, machine paths.

Fast tests replace the notebook execution by a fake (no kernel); the one test that executes a
notebook with a kernel is marked ``slow``.
"""

import os
import signal
import stat
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from chipsuite import report
from chipsuite.__main__ import main as cli_main

REPO = Path(__file__).resolve().parent.parent


def _notebooks(folder, names=("a", "b", "c")):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        nbformat.write(new_notebook(cells=[new_markdown_cell(f"# {name}")]), folder / f"{name}.ipynb")
    return str(folder / "*.ipynb")


@pytest.fixture
def fake_build(monkeypatch):
    """Replace build_report by a fake writing '<stem>.html' = 'page <stem> <tag>'; ``fail`` maps a stem to
    the exception to raise instead."""
    state = {"tag": "v1", "fail": {}}

    def build_report(notebook, out_dir, **kwargs):
        notebook = Path(notebook)
        if notebook.stem in state["fail"]:
            raise state["fail"][notebook.stem]
        path = Path(out_dir) / f"{notebook.stem}.html"
        path.write_text(f"page {notebook.stem} {state['tag']}", encoding="utf-8")
        return report.ReportPage(notebook, path, notebook.stem, "", 1, path.stat().st_size, 0.0)

    monkeypatch.setattr(report, "build_report", build_report)
    return state


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(Path(folder).iterdir())}


def _leftovers(parent):
    return [p.name for p in Path(parent).iterdir() if ".building-" in p.name or ".previous-" in p.name]


def test_successful_build_swaps_in_every_page(tmp_path, fake_build):
    pattern = _notebooks(tmp_path / "nb")
    out = tmp_path / "site" / "reports"
    pages = report.build_reports(pattern, out)
    assert [p.html_path for p in pages] == [out / "a.html", out / "b.html", out / "c.html"]
    assert sorted(_snapshot(out)) == ["a.html", "b.html", "c.html", "index.html"]
    assert _leftovers(out.parent) == []


@pytest.mark.parametrize("fault", [report.ReportError("b.ipynb: a cell raised an error"), KeyboardInterrupt(),
                                   RuntimeError("kernel died"), OSError(28, "No space left on device")],
                         ids=["report error", "interrupt", "other error", "disk full"])
def test_failed_or_interrupted_build_leaves_the_previous_report_intact(tmp_path, fake_build, fault):
    pattern = _notebooks(tmp_path / "nb")
    out = tmp_path / "reports"
    report.build_reports(pattern, out)
    before = _snapshot(out)
    fake_build["tag"], fake_build["fail"] = "v2", {"b": fault}
    expected = report.ReportError if isinstance(fault, (report.ReportError, OSError)) else type(fault)
    with pytest.raises(expected):
        report.build_reports(pattern, out)
    assert _snapshot(out) == before
    assert _leftovers(tmp_path) == []
    fake_build["fail"] = {}
    report.build_reports(pattern, out)
    assert _snapshot(out)["a.html"] == b"page a v2"


def test_failed_first_build_creates_no_folder(tmp_path, fake_build):
    pattern = _notebooks(tmp_path / "nb")
    fake_build["fail"] = {"a": report.ReportError("a.ipynb: broken")}
    with pytest.raises(report.ReportError):
        report.build_reports(pattern, tmp_path / "reports")
    assert not (tmp_path / "reports").exists() and _leftovers(tmp_path) == []


def test_swap_keeps_the_folder_permissions(tmp_path, fake_build):
    pattern = _notebooks(tmp_path / "nb")
    out = tmp_path / "reports"
    out.mkdir()
    os.chmod(out, 0o755)
    report.build_reports(pattern, out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o755


def test_cli_interrupt_exits_with_one_line(tmp_path, fake_build, capsys):
    pattern = _notebooks(tmp_path / "nb")
    out = tmp_path / "reports"
    assert cli_main(["report", "--notebooks", pattern, "--out", str(out)]) == 0
    before = _snapshot(out)
    capsys.readouterr()
    fake_build["fail"] = {"c": KeyboardInterrupt()}
    assert cli_main(["report", "--notebooks", pattern, "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "interrupted" in err and "unchanged" in err
    assert _snapshot(out) == before


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigint_during_the_swap_is_deferred_until_it_is_done():
    done = []
    with pytest.raises(KeyboardInterrupt):
        with report._sigint_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            done.append("the swap finished")
    assert done == ["the swap finished"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


# --------------------------------------------------------------------------- --out


def test_out_that_is_a_file_is_refused(tmp_path, fake_build, capsys):
    pattern = _notebooks(tmp_path / "nb")
    target = tmp_path / "reports"
    target.write_text("a file")
    assert cli_main(["report", "--notebooks", pattern, "--out", str(target)]) == 1
    assert "is not a folder" in capsys.readouterr().err
    assert target.read_text() == "a file"


def test_out_holding_other_files_is_refused(tmp_path, fake_build):
    pattern = _notebooks(tmp_path / "nb")
    target = tmp_path / "mine"
    target.mkdir()
    (target / "thesis.tex").write_text("precious")
    with pytest.raises(report.ReportError, match="holds other files"):
        report.build_reports(pattern, target)
    assert (target / "thesis.tex").read_text() == "precious"


def test_out_that_is_the_current_folder_or_a_parent_is_refused(tmp_path, fake_build, monkeypatch):
    pattern = _notebooks(tmp_path / "nb")
    work = tmp_path / "work"
    work.mkdir()
    (work / "index.html").write_text("looks like a report")
    monkeypatch.chdir(work)
    for out in (".", str(tmp_path)):
        with pytest.raises(report.ReportError, match="current folder or one of its parents"):
            report.build_reports(pattern, out)


def test_empty_existing_out_is_used(tmp_path, fake_build):
    pattern = _notebooks(tmp_path / "nb")
    out = tmp_path / "reports"
    out.mkdir()
    report.build_reports(pattern, out)
    assert (out / "index.html").exists()


# --------------------------------------------------------------------------- --timeout


@pytest.mark.parametrize("text, value", [("0.5", 0.5), ("1e-3", 0.001), ("600", 600.0), ("7.25", 7.25)])
def test_timeout_takes_any_positive_number(monkeypatch, text, value):
    seen = {}

    def fake_build_reports(pattern, out, timeout_s, **kwargs):
        seen["timeout"] = timeout_s
        return [report.ReportPage(Path("x.ipynb"), Path("x.html"), "x", "", 0, 1, 0.0)]

    monkeypatch.setattr(report, "build_reports", fake_build_reports)
    assert cli_main(["report", "--timeout", text]) == 0
    assert seen["timeout"] == value


@pytest.mark.parametrize("text", ["0", "-1", "nan", "inf", "-inf", "1e400", "abc", ""])
def test_timeout_refuses_non_positive_or_non_finite(text, capsys):
    with pytest.raises(SystemExit):
        cli_main(["report", f"--timeout={text}"])
    assert "--timeout must be > 0 seconds" in capsys.readouterr().err


@pytest.mark.parametrize("value", [0, -1, float("nan"), float("inf"), "x", None, True])
def test_check_timeout(value):
    with pytest.raises(report.ReportError, match="timeout"):
        report.check_timeout(value)


# --------------------------------------------------------------------------- cell errors


def test_running_cell_names_notebook_position_and_first_line():
    nb = new_notebook(cells=[new_markdown_cell("# t"), new_code_cell("x = 1"),
                             new_code_cell("\n\n   y = 1 / 0  # boom\nz = 2")])
    nb.cells[2]["execution_count"] = 2
    text = report._running_cell(nb, "nb.ipynb", 2)
    assert text == "nb.ipynb cell 2 (execution count 2), first line 'y = 1 / 0  # boom'"
    assert report._running_cell(nb, "nb.ipynb", None) == "a cell"
    long = new_notebook(cells=[new_code_cell("x" * 200)])
    assert report._running_cell(long, "l.ipynb", 0).endswith("...'")


def test_unreadable_notebook_is_a_report_error(tmp_path):
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{not json")
    with pytest.raises(report.ReportError, match="bad.ipynb: cannot read the notebook"):
        report.execute_notebook(bad, timeout_s=5)


@pytest.mark.slow
def test_cell_error_names_notebook_cell_and_first_line(tmp_path):
    nb = new_notebook(cells=[new_markdown_cell("# t"), new_code_cell("x = 1"),
                             new_code_cell("# divide\ny = 1 / 0")])
    path = tmp_path / "err.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(report.ReportError) as info:
        report.execute_notebook(path, timeout_s=60)
    message = str(info.value)
    assert "a cell raised an error" in message and "err.ipynb cell 2" in message
    assert "first line '# divide'" in message and "ZeroDivisionError" in message


# --------------------------------------------------------------------------- machine paths


def _nb_with_paths():
    home, repo, tmp = str(Path.home()), str(REPO), tempfile.gettempdir()
    return new_notebook(cells=[
        new_markdown_cell("# Paths"),
        new_code_cell(f"open('{repo}/data/chips.csv')", outputs=[
            new_output("stream", name="stderr", text=f"{sys.prefix}/lib/x.py:1: Warning\n"),
            new_output("execute_result", data={"text/plain": f"data_dir: {repo}/data",
                                               "text/html": f"<b>{home}/notes</b> {tmp}/x"}, execution_count=1),
        ]),
    ])


def test_redact_notebook_replaces_machine_folders():
    nb = _nb_with_paths()
    report.redact_notebook(nb)
    text = nbformat.writes(nb)
    assert report.find_machine_paths(text, report.machine_roots()) == []
    assert "[chipsuite]/data/chips.csv" in text and "[python]/lib/x.py" in text


def test_find_machine_paths_sees_paths_and_not_lookalikes():
    roots = {"/home/ana": "~"}
    assert report.find_machine_paths("see /home/ana/x and /home/ana", roots) == ["/home/ana"]
    assert report.find_machine_paths("/home/anabel/x", roots) == []


def test_built_page_shows_no_machine_path(tmp_path, monkeypatch):
    path = tmp_path / "nb" / "paths.ipynb"
    path.parent.mkdir()
    nbformat.write(_nb_with_paths(), path)
    monkeypatch.setattr(report, "execute_notebook", lambda p, **kw: nbformat.read(p, as_version=4))
    page = report.build_report(path, tmp_path / "out")
    body = page.html_path.read_text(encoding="utf-8")
    from chipsuite.vega import bundle_js

    assert report.find_machine_paths(body.replace(bundle_js("script"), ""), report.machine_roots(path)) == []
    assert str(REPO) not in body and "[chipsuite]/data" in body


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigint_during_a_real_build_exits_with_one_line_and_keeps_the_report(tmp_path):
    import subprocess
    import time

    marker = tmp_path / "cell-started"
    nb = new_notebook(cells=[new_markdown_cell("# Sleep"),
                             new_code_cell(f"import pathlib, time\npathlib.Path({str(marker)!r}).touch()\n"
                                           "time.sleep(120)")])
    (tmp_path / "nb").mkdir()
    nbformat.write(nb, tmp_path / "nb" / "sleep.ipynb")
    out = tmp_path / "out"
    out.mkdir()
    (out / "index.html").write_text("<p>previous report</p>")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-m", "chipsuite", "report", "--notebooks", "nb/*.ipynb",
                             "--out", "out", "--timeout", "300"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert marker.exists(), "the notebook never started"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    assert err == "chipsuite report: interrupted; out is unchanged\n"
    assert _snapshot(out) == {"index.html": b"<p>previous report</p>"}
    assert _leftovers(tmp_path) == []
