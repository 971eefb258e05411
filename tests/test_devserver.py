"""chipsuite.devserver (the start-poll-stop helper of the browser tests and benchmark), on plain
Python processes: no Jupyter, no browser, 127.0.0.1 only."""

import sys

import pytest

from chipsuite import devserver


def test_start_server_waits_until_the_url_answers_and_stops_it(tmp_path):
    port = devserver.free_port()
    command = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(tmp_path)]
    process = devserver.start_server(command, env=None, log_path=tmp_path / "http.log",
                                     ready_url=f"http://127.0.0.1:{port}/", name="http.server", timeout_s=60)
    assert process.poll() is None
    devserver.stop_server(process)
    assert process.poll() is not None


def test_a_server_that_exits_fails_with_its_log(tmp_path):
    command = [sys.executable, "-c", "import sys; print('no such option --frobnicate'); sys.exit(3)"]
    with pytest.raises(devserver.ServerError, match=r"demo exited \(3\): no such option --frobnicate"):
        devserver.start_server(command, env=None, log_path=tmp_path / "demo.log",
                               ready_url=f"http://127.0.0.1:{devserver.free_port()}/", name="demo", timeout_s=60)


def test_a_server_that_never_answers_is_stopped_after_the_deadline(tmp_path):
    command = [sys.executable, "-c", "import time; print('starting', flush=True); time.sleep(120)"]
    with pytest.raises(devserver.ServerError, match="slow did not start: starting"):
        devserver.start_server(command, env=None, log_path=tmp_path / "slow.log", poll_s=0.1,
                               ready_url=f"http://127.0.0.1:{devserver.free_port()}/", name="slow", timeout_s=1)


def test_lab_env_and_command_stay_on_localhost(tmp_path):
    env = devserver.lab_env(tmp_path, "/repo", draws=7)
    assert env["CHIPSUITE_DRAWS"] == "7" and env["PYTHONPATH"].startswith("/repo")
    assert "CHIPSUITE_REPORT" not in env
    assert (tmp_path / "config" / "labconfig" / "page_config.json").exists()
    command = devserver.lab_command(1234, "tok", tmp_path)
    assert "--ip=127.0.0.1" in command and "--port=1234" in command and "--ServerApp.port_retries=0" in command
