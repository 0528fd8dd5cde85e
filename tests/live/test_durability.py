"""A server's data survives every way it or the emulator can go down and come back.

These tests restart and kill whole emulators, so they run on an emulator of their own.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from datetime import datetime

import pytest

from support.armspec import ArmSpec
from support.conformance import assert_conforming
from support.emulator import EmulatorHandle, unique

from .conftest import LiveServer, connect, create_server, running_live_emulator, scalar, sdk

pytestmark = pytest.mark.dataplane

MARKER = "written before the outage"


@pytest.fixture(scope="module")
def own_emulator() -> Iterator[EmulatorHandle]:
    with running_live_emulator() as handle:
        yield handle


@pytest.fixture
def checked_emulator(own_emulator: EmulatorHandle, arm_spec: ArmSpec) -> Iterator[EmulatorHandle]:
    own_emulator.new_record_lines()
    yield own_emulator
    assert_conforming(own_emulator, arm_spec)


@pytest.fixture
def server_with_data(checked_emulator: EmulatorHandle) -> LiveServer:
    with sdk(checked_emulator) as clients:
        group = unique("rg")
        clients.resources.resource_groups.create_or_update(group, {"location": "westeurope"})
        server = create_server(clients, group)
    with connect(checked_emulator, server.fqdn) as conn:
        conn.execute("CREATE TABLE durable (note text)")
        conn.execute("INSERT INTO durable VALUES (%s)", (MARKER,))
    return server


def ready_with_data(handle: EmulatorHandle, server: LiveServer) -> datetime:
    """Assert the server is Ready and still holds the row; return when its PostgreSQL last started."""
    with sdk(handle) as clients:  # new clients: an emulator restart moves its base URL
        assert clients.postgres.servers.get(server.group, server.name).state == "Ready"
    with connect(handle, server.fqdn) as conn:  # connect() re-reads the endpoint
        assert scalar(conn, "SELECT string_agg(note, ',') FROM durable") == MARKER
        started: datetime = scalar(conn, "SELECT pg_postmaster_start_time()")
    return started


def test_data_survives_server_restart_and_stop_start(
    checked_emulator: EmulatorHandle, server_with_data: LiveServer
) -> None:
    group, name = server_with_data.group, server_with_data.name
    first_start = ready_with_data(checked_emulator, server_with_data)
    with sdk(checked_emulator) as clients:
        clients.postgres.servers.begin_restart(group, name).result()
    restarted = ready_with_data(checked_emulator, server_with_data)
    assert restarted > first_start  # PostgreSQL really went down: the row came back from disk

    with sdk(checked_emulator) as clients:
        clients.postgres.servers.begin_stop(group, name).result()
        clients.postgres.servers.begin_start(group, name).result()
    assert ready_with_data(checked_emulator, server_with_data) > restarted


def graceful_restart(handle: EmulatorHandle, server: LiveServer) -> None:
    handle.stop()
    handle.start()


def emulator_crash(handle: EmulatorHandle, server: LiveServer) -> None:
    handle.kill()  # SIGKILL: no shutdown code runs; PostgreSQL outlives the emulator
    handle.start()


def host_crash(handle: EmulatorHandle, server: LiveServer) -> None:
    """SIGKILL the emulator and the server's postmaster, leaving a stale postmaster.pid as a power cut would."""
    pid_file = handle.state_dir / "dataplane" / "servers" / server.name / "data" / "postmaster.pid"
    postmaster = int(pid_file.read_text().splitlines()[0])
    handle.kill()
    os.kill(postmaster, signal.SIGKILL)
    wait_until_gone(postmaster)
    assert pid_file.exists()
    handle.start()


def wait_until_gone(pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.02)
    raise AssertionError(f"process {pid} survived SIGKILL for {timeout} s")


@pytest.mark.parametrize(
    ("outage", "postgres_restarts"),
    [(graceful_restart, True), (emulator_crash, False), (host_crash, True)],
    ids=["emulator-stop-start", "emulator-sigkill", "emulator-and-postgres-sigkill"],
)
def test_data_survives_an_emulator_outage(
    checked_emulator: EmulatorHandle,
    server_with_data: LiveServer,
    outage: Callable[[EmulatorHandle, LiveServer], None],
    postgres_restarts: bool,
) -> None:
    before = ready_with_data(checked_emulator, server_with_data)
    outage(checked_emulator, server_with_data)
    after = ready_with_data(checked_emulator, server_with_data)
    # A graceful stop takes PostgreSQL down with the emulator; after an emulator-only crash the new one adopts it.
    assert (after > before) if postgres_restarts else (after == before)
