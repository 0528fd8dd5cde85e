"""The emulator's servers as the service's, seen through the SDK, `pgflex emulator status` and real clients.

A PostgreSQL that died is noticed and brought back, and status shows it down meanwhile; an impossible TLS
range is refused at the request; a restart that fails on the data plane says so in one line, leaves the
server not Ready and the next restart recovers it; a server with public access disabled and no virtual
network has no endpoint, and verify reports it blocked.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from azure.core.exceptions import HttpResponseError
from typer.testing import CliRunner

from live.conftest import connect, create_server, live_emulator, scalar, sdk  # noqa: F401 - live_emulator: fixture
from pgflex.cli.main import app
from pgflex.emulator.dataplane import WATCHDOG_INTERVAL_S
from pgflex.verify import verify
from support.armspec import ArmSpec
from support.conformance import assert_conforming
from support.emulator import SERVER_PASSWORD, Clients, EmulatorHandle, server_body, unique
from support.specs import environment, public_server, write

pytestmark = pytest.mark.dataplane


@pytest.fixture
def live(live_emulator: EmulatorHandle, arm_spec: ArmSpec) -> Iterator[EmulatorHandle]:  # noqa: F811 - by name
    """The emulator with its data plane; every ARM response this test recorded must conform to the spec."""
    live_emulator.new_record_lines()
    with live_emulator.client_environment():
        yield live_emulator
    assert_conforming(live_emulator, arm_spec)


@pytest.fixture
def group(live: EmulatorHandle) -> str:
    with sdk(live) as clients:
        name = unique("rg-heal")
        clients.resources.resource_groups.create_or_update(name, {"location": "westeurope"})
        return name


def _data_dir(handle: EmulatorHandle, server: str) -> Path:
    return handle.state_dir / "dataplane" / "servers" / server / "data"


def _status(handle: EmulatorHandle, *options: str) -> str:
    result = CliRunner().invoke(app, ["emulator", "status", "--state-dir", str(handle.state_dir), *options])
    assert result.exit_code == 0, result.output
    return result.output


def _status_entry(handle: EmulatorHandle, server: str) -> dict[str, Any]:
    report = json.loads(_status(handle, "-o", "json"))
    entry: dict[str, Any] = report["serversReachableAt"][f"{server}.postgres.database.azure.com"]
    return entry


def _wait_for(handle: EmulatorHandle, server: str, postgres_state: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (entry := _status_entry(handle, server))["postgresState"] != postgres_state:
        assert time.monotonic() < deadline, f"{server} is {entry['postgresState']}, not {postgres_state}"
        time.sleep(0.05)
    return entry


def test_a_killed_server_is_shown_down_then_comes_back(live: EmulatorHandle, group: str) -> None:
    clients = live.clients()
    server = create_server(clients, group)
    pid_file = _data_dir(live, server.name) / "postmaster.pid"
    killed = int(pid_file.read_text().split()[0])
    os.kill(killed, signal.SIGKILL)

    down = _wait_for(live, server.name, "down", timeout=5)
    assert down["state"] == "Ready"  # Resource Manager's state: Ready says nothing of the data plane
    line = next(line for line in _status(live).splitlines() if line.startswith(server.fqdn))
    assert line.split()[1] == "down"
    _wait_for(live, server.name, "running", timeout=4 * WATCHDOG_INTERVAL_S + 30)
    assert int(pid_file.read_text().split()[0]) != killed
    with connect(live, server.fqdn) as conn:
        assert scalar(conn, "SELECT 1") == 1
    assert clients.postgres.servers.get(group, server.name).state == "Ready"


def _set(clients: Clients, group: str, server: str, name: str, value: str) -> None:
    body = {"properties": {"value": value, "source": "user-override"}}
    clients.postgres.configurations.begin_update(group, server, name, body).result()


def test_an_impossible_tls_range_is_refused_and_postgresql_keeps_its_range(live: EmulatorHandle, group: str) -> None:
    clients = live.clients()
    server = create_server(clients, group)
    _set(clients, group, server.name, "ssl_min_protocol_version", "TLSv1.3")
    with pytest.raises(HttpResponseError) as raised:
        _set(clients, group, server.name, "ssl_max_protocol_version", "TLSv1.2")
    assert raised.value.status_code == 400
    assert raised.value.error is not None and raised.value.error.code == "InvalidParameterValue"
    assert raised.value.error.message == (
        "Invalid value given for parameter ssl_max_protocol_version. ssl_max_protocol_version 'TLSv1.2' is lower "
        "than ssl_min_protocol_version 'TLSv1.3': no TLS version would be left to connect with."
    )
    with connect(live, server.fqdn) as conn:
        assert (scalar(conn, "SHOW ssl_min_protocol_version"), scalar(conn, "SHOW ssl_max_protocol_version")) == (
            "TLSv1.3",
            "",
        )
    clients.postgres.servers.begin_restart(group, server.name).result()  # nothing left for a restart to trip on
    with connect(live, server.fqdn) as conn:
        assert scalar(conn, "SHOW ssl_min_protocol_version") == "TLSv1.3"


def test_a_failed_restart_is_one_line_not_ready_and_the_next_restart_recovers(live: EmulatorHandle, group: str) -> None:
    clients = live.clients()
    server = create_server(clients, group)
    data = _data_dir(live, server.name)
    with (data / "azure.conf").open("a") as handle:
        handle.write("this is not a setting\n")  # a file the emulator wrote, damaged out of band

    with pytest.raises(HttpResponseError) as raised:
        clients.postgres.servers.begin_restart(group, server.name).result()
    error = raised.value.error
    assert error is not None and error.code == "InternalServerError"
    log_file = data.parent / "log" / "postgresql.log"
    assert error.message == (
        f"The operation failed: PostgreSQL of server '{server.name}' did not start; its log: {log_file}"
    )
    assert "syntax error" in log_file.read_text()  # the reason is in the server's log, not in the answer
    assert clients.postgres.servers.get(group, server.name).state != "Ready"
    assert _status_entry(live, server.name)["postgresState"] == "down"
    with pytest.raises(psycopg.OperationalError):
        connect(live, server.fqdn)

    clients.postgres.servers.begin_restart(group, server.name).result()
    assert clients.postgres.servers.get(group, server.name).state == "Ready"
    assert _status_entry(live, server.name)["postgresState"] == "running"
    with connect(live, server.fqdn) as conn:
        assert scalar(conn, "SELECT 1") == 1


def test_minor_version_is_the_running_ones(live: EmulatorHandle, group: str) -> None:
    clients = live.clients()
    server = create_server(clients, group)
    with connect(live, server.fqdn) as conn:
        running = str(scalar(conn, "SHOW server_version")).split()[0]  # e.g. "15.14"
    assert clients.postgres.servers.get(group, server.name).minor_version == running.split(".")[1]


def test_max_connections_runs_as_the_compute_derives_it(live: EmulatorHandle, group: str) -> None:
    clients = live.clients()
    server = create_server(clients, group)  # Standard_B1ms: 2 GiB
    assert clients.postgres.configurations.get(group, server.name, "max_connections").value == "50"
    with connect(live, server.fqdn) as conn:
        assert scalar(conn, "SHOW max_connections") == "50"


def test_public_access_disabled_without_a_network_has_no_endpoint_and_verify_reports_it_blocked(
    live: EmulatorHandle, group: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clients = live.clients()
    name = unique("pg")
    body = server_body(version="15", network={"publicNetworkAccess": "Disabled"})
    clients.postgres.servers.begin_create_or_update(group, name, body).result()
    entry = _status_entry(live, name)
    assert (entry["postgresState"], entry["postgresListening"]) == ("running", False)
    line = next(line for line in _status(live).splitlines() if line.startswith(f"{name}."))
    assert "none (public access disabled, no virtual network):-" in line
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", int(entry["port"])), timeout=5).close()

    monkeypatch.setenv("PGFLEX_ADMIN_PASSWORD", SERVER_PASSWORD)
    env_file = write(tmp_path / "env.yaml", environment(group, [public_server(name, {"local": "127.0.0.1/32"})]))
    report = verify(env_file).server(name)
    assert report.status == "blocked" and not report.passed
    session = report.check("tls-session")
    assert session.status == "blocked" and "Connection refused" in session.detail
