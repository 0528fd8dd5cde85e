"""Servers heal: a PostgreSQL that died is started again by the watchdog, and a failed start says so in one line.

Each test has a data plane root of its own with a fast watchdog (0.5 s), so that no other test's server is
restarted under it.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from pgflex.emulator.dataplane import DataPlane, DataPlaneError
from pgflex.emulator.pki import CertificateAuthority

from .conftest import Server, new_server_name, provision

pytestmark = pytest.mark.dataplane

INTERVAL = 0.5


@pytest.fixture
def plane(fresh_root: Path, ca: CertificateAuthority) -> Iterator[DataPlane]:
    plane = DataPlane(fresh_root, ca)
    plane.start_watchdog(INTERVAL)
    yield plane
    plane.shutdown_all()


def _data(server: Server) -> Path:
    return server.dataplane.root / "servers" / server.name / "data"


def _pid(server: Server) -> int:
    return int((_data(server) / "postmaster.pid").read_text().split()[0])


def _state(server: Server) -> str:
    health = server.dataplane.health(server.name)
    assert health is not None
    return health.state


def _wait_for(server: Server, state: str, timeout: float) -> float:
    """Seconds until the server's health is ``state``."""
    started = time.monotonic()
    while _state(server) != state:
        assert time.monotonic() - started < timeout, f"{server.name} still {_state(server)}, not {state}"
        time.sleep(0.02)
    return time.monotonic() - started


def _kill_postmaster(server: Server) -> int:
    pid = _pid(server)
    os.kill(pid, signal.SIGKILL)
    return pid


def _write_row(server: Server, value: str) -> None:
    with server.connect() as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS kept (v text)")
        conn.execute("INSERT INTO kept VALUES (%s)", (value,))


def test_a_killed_postmaster_is_down_then_back_with_its_data(plane: DataPlane, ca: CertificateAuthority) -> None:
    server = provision(plane, ca, new_server_name())
    _write_row(server, "before")
    killed = _kill_postmaster(server)
    _wait_for(server, "down", timeout=5)
    down_for = _wait_for(server, "running", timeout=10 * INTERVAL + 30)
    # Healed at the second check that finds it dead: down for at least one interval, as status can show.
    assert down_for >= INTERVAL * 0.8
    assert _pid(server) != killed
    with server.connect() as conn:
        assert conn.execute("SELECT v FROM kept").fetchall() == [("before",)]


def test_a_stopped_server_stays_stopped(plane: DataPlane, ca: CertificateAuthority) -> None:
    server = provision(plane, ca, new_server_name())
    plane.stop(server.name)
    assert _state(server) == "stopped"
    time.sleep(4 * INTERVAL)
    assert _state(server) == "stopped"
    assert not plane.is_running(server.name)


def test_a_failed_restart_is_one_line_stays_down_and_the_next_restart_recovers(
    plane: DataPlane, ca: CertificateAuthority
) -> None:
    server = provision(plane, ca, new_server_name())
    log_file = _data(server).parent / "log" / "postgresql.log"
    with (_data(server) / "azure.conf").open("a") as handle:
        handle.write("this is not a setting\n")  # a file the emulator wrote, damaged out of band

    with pytest.raises(DataPlaneError) as failure:
        plane.restart(server.name)
    message = str(failure.value)
    assert "\n" not in message
    assert message == f"PostgreSQL of server {server.name!r} did not start; its log: {log_file}"
    assert "syntax error" in log_file.read_text()  # the reason stays in the server's own log

    # The watchdog leaves a server whose start failed to the next operation: it stays down.
    time.sleep(4 * INTERVAL)
    assert _state(server) == "down"
    with pytest.raises(psycopg.OperationalError):
        server.connect()

    plane.restart(server.name)  # the failed start rewrote the emulator's files: this one starts
    assert _state(server) == "running"
    with server.connect() as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_the_next_change_brings_back_a_server_whose_start_failed(plane: DataPlane, ca: CertificateAuthority) -> None:
    server = provision(plane, ca, new_server_name())
    with (_data(server) / "azure.conf").open("a") as handle:
        handle.write("max_connections = 'many'\n")
    with pytest.raises(DataPlaneError):
        plane.restart(server.name)
    assert _state(server) == "down"

    plane.apply_parameters(server.name, {"work_mem": "8192"})
    assert _state(server) == "running"
    with server.connect() as conn:
        assert conn.execute("SHOW work_mem").fetchone() == ("8MB",)


def test_a_crashed_server_with_damaged_files_comes_back_after_the_repair(
    plane: DataPlane, ca: CertificateAuthority, caplog: pytest.LogCaptureFixture
) -> None:
    server = provision(plane, ca, new_server_name())
    with (_data(server) / "azure.conf").open("a") as handle:
        handle.write("this is not a setting\n")
    _kill_postmaster(server)
    _wait_for(server, "down", timeout=5)
    # The watchdog's first start fails on the damaged file and rewrites it; a later attempt starts the server.
    _wait_for(server, "running", timeout=20 * INTERVAL + 30)
    with server.connect() as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert f"server {server.name}: PostgreSQL could not be started again" in caplog.text
