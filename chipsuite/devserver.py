"""Local JupyterLab and Voila servers for the browser tests and the browser benchmark (dev tool).

One place for what ``tests/test_browser.py``, ``tests/test_voila.py`` and ``benchmarks/browser.py``
each did: pick a free port on 127.0.0.1, start the server with its output in a log file, poll a
URL until it answers (failing early with the log's tail if the process exits or the deadline
passes), and stop it (terminate, then kill after 30 s). Nothing here reaches beyond 127.0.0.1.

>>> process = start_server(command, env=env, log_path=tmp / "lab.log",     # doctest: +SKIP
...                        ready_url=f"{base}/api/status?token={token}", name="JupyterLab")
>>> stop_server(process)                                                    # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

__all__ = ["ServerError", "free_port", "lab_command", "lab_env", "start_lab", "start_server", "stop_server"]


class ServerError(RuntimeError):
    """A local server exited or did not answer in time (the message ends with its log's tail)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(command, *, env, log_path, ready_url, name, timeout_s=120.0, cwd=None, poll_s=0.5):
    """Start ``command`` (output to ``log_path``) and wait until ``ready_url`` answers.

    Returns the ``subprocess.Popen``. Raises :class:`ServerError` ``"<name> exited (<code>): <log>"``
    if the process ends first, or ``"<name> did not start: <log>"`` after ``timeout_s`` [s] (the
    process is stopped then).
    """
    log_path = Path(log_path)
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=cwd)
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise ServerError(f"{name} exited ({process.returncode}): {_tail(log_path)}")
        try:
            urllib.request.urlopen(ready_url, timeout=5).close()
            return process
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if time.monotonic() > deadline:
                stop_server(process)
                raise ServerError(f"{name} did not start: {_tail(log_path)}") from None
            time.sleep(poll_s)


def stop_server(process, timeout_s=30.0):
    """Terminate ``process``; kill it if it has not ended after ``timeout_s`` [s]."""
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _tail(path, chars=2000):
    try:
        return Path(path).read_text(errors="replace")[-chars:]
    except OSError as err:
        return f"(log not readable: {err})"


def lab_command(port, token, root):
    """The ``jupyter lab`` command line: 127.0.0.1 only, token, no news, update check or extension manager,
    the app exposed to the page (``window.jupyterapp``) for the tests' kernel checks."""
    return [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
            "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly", "--LabApp.expose_app_in_browser=True", "--allow-root"]


def lab_env(tmp, repo, draws):
    """Environment of a test JupyterLab: own config (announcements off), settings, workspaces and runtime
    folders under ``tmp``, ``repo`` first on ``PYTHONPATH``, ``CHIPSUITE_DRAWS=draws``, no report mode."""
    tmp = Path(tmp)
    config = tmp / "config"
    (config / "labconfig").mkdir(parents=True, exist_ok=True)
    (config / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(repo), os.environ.get("PYTHONPATH", "")]),
               CHIPSUITE_DRAWS=str(draws), JUPYTER_CONFIG_DIR=str(config),
               JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"), JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
               JUPYTER_RUNTIME_DIR=str(tmp / "runtime"))
    env.pop("CHIPSUITE_REPORT", None)
    return env


def start_lab(tmp, root, repo, draws, timeout_s=120.0):
    """JupyterLab on 127.0.0.1 serving ``root``; returns ``(process, base URL, token)``; log in ``tmp/lab.log``.

    Raises :class:`ServerError` (see :func:`start_server`).
    """
    port, token = free_port(), secrets.token_hex(16)
    base = f"http://127.0.0.1:{port}"
    process = start_server(lab_command(port, token, root), env=lab_env(tmp, repo, draws),
                           log_path=Path(tmp) / "lab.log", ready_url=f"{base}/api/status?token={token}",
                           name="JupyterLab", timeout_s=timeout_s)
    return process, base, token
