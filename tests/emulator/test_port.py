"""The emulator's port: PGFLEX_EMULATOR_PORT chooses it, and a port another program holds is one clear line.

Every case runs the real command in a subprocess against a port held by a listening socket of this test.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pgflex.emulator import daemon, ports
from pgflex.emulator.client import find
from pgflex.emulator.settings import EmulatorSettings

ROOT = Path(__file__).resolve().parents[2]
PGFLEX = str(Path(sys.executable).with_name("pgflex"))


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port on 127.0.0.1 with another program's socket listening on it."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run(args: list[str], state_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    # As in a terminal: no emulator variables of the caller, and no pipeline (which adds annotation lines).
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PGFLEX_EMULATOR_") and key not in ("GITHUB_ACTIONS", "TF_BUILD")
    }
    environment.update(PGFLEX_EMULATOR_STATE_DIR=str(state_dir), **env)
    return subprocess.run(args, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)


def _assert_one_clear_line(done: subprocess.CompletedProcess[str], port: int, exit_code: int = 1) -> None:
    output = done.stdout + done.stderr
    assert done.returncode == exit_code, output
    assert "Traceback" not in output
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    assert f"port {port} " in lines[0] and "already in use" in lines[0] and "PGFLEX_EMULATOR_PORT" in lines[0]


@pytest.mark.parametrize("how", ["environment", "option"])
def test_start_on_a_taken_port_says_so_in_one_line(tmp_path: Path, taken_port: int, how: str) -> None:
    if how == "environment":
        done = _run([PGFLEX, "emulator", "start", "--no-data-plane"], tmp_path, PGFLEX_EMULATOR_PORT=str(taken_port))
    else:
        done = _run([PGFLEX, "emulator", "start", "--no-data-plane", "--port", str(taken_port)], tmp_path)
    _assert_one_clear_line(done, taken_port)
    assert find(tmp_path) is None


def test_serve_on_a_taken_port_says_so_in_one_line(tmp_path: Path, taken_port: int) -> None:
    done = _run([PGFLEX, "emulator", "serve", "--no-data-plane"], tmp_path, PGFLEX_EMULATOR_PORT=str(taken_port))
    _assert_one_clear_line(done, taken_port)


def test_auto_start_for_a_local_spec_on_a_taken_port_says_so_in_one_line(tmp_path: Path, taken_port: int) -> None:
    done = _run([PGFLEX, "plan", "infra/local.yaml"], tmp_path, PGFLEX_EMULATOR_PORT=str(taken_port))
    _assert_one_clear_line(done, taken_port)
    assert "cannot start the local emulator" in done.stderr


def test_the_background_process_reports_a_port_taken_after_the_check(tmp_path: Path, taken_port: int) -> None:
    # The port can be taken between daemon.start's check and the background process's bind: the process
    # exits with its own status and one line in its log, and daemon.start turns that into the same error.
    settings = EmulatorSettings(state_dir=tmp_path, port=taken_port)
    settings.tuning.update({"data_plane": False})
    done = subprocess.run(
        [sys.executable, "-m", "pgflex.emulator", "serve-json", daemon.settings_to_json(settings)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    _assert_one_clear_line(done, taken_port, exit_code=ports.EXIT_PORT_IN_USE)


def test_daemon_start_maps_the_background_exit_to_port_in_use(
    tmp_path: Path, taken_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(daemon, "check_port_free", lambda host, port: None)  # as if taken after the check
    settings = EmulatorSettings(state_dir=tmp_path, port=taken_port)
    settings.tuning.update({"data_plane": False})
    with pytest.raises(daemon.EmulatorPortInUse, match=f"port {taken_port} .*PGFLEX_EMULATOR_PORT"):
        daemon.start(settings)


def test_the_environment_variable_chooses_the_port(tmp_path: Path) -> None:
    port = _free_port()
    started = _run([PGFLEX, "emulator", "start", "--no-data-plane"], tmp_path, PGFLEX_EMULATOR_PORT=str(port))
    try:
        assert started.returncode == 0, started.stderr
        status = _run([PGFLEX, "emulator", "status", "-o", "json"], tmp_path)
        assert json.loads(status.stdout)["endpoint"] == f"https://127.0.0.1:{port}"
    finally:
        daemon.stop(tmp_path)


def test_a_port_variable_that_is_not_a_port_is_one_clear_line(tmp_path: Path) -> None:
    done = _run([PGFLEX, "plan", "infra/local.yaml"], tmp_path, PGFLEX_EMULATOR_PORT="45x")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "pgflex: cannot start the local emulator: PGFLEX_EMULATOR_PORT='45x' is not a port number "
        "(0 to 65535; 0 picks a free one)"
    ]
