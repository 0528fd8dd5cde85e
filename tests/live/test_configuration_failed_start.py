"""A parameter change whose server then does not start fails as a failed restart does.

The server's PostgreSQL died and cannot start again (a file the emulator does not rewrite is damaged out of
band); a parameter change is written and the data plane's start fails: the operation fails in one line naming
the server's log, the server is Inaccessible (never Ready), the value is kept, and once the cause is gone the
next valid change brings the server back running both values.
"""

from __future__ import annotations

import os
import signal
import time

import psycopg
import pytest
from azure.core.exceptions import HttpResponseError

from support.emulator import Clients, EmulatorHandle

from .conftest import LiveServer, connect, scalar, set_parameter

pytestmark = pytest.mark.dataplane


def _postgres_state(handle: EmulatorHandle, server: str) -> str:
    """What the data plane says of the server's PostgreSQL: running, down, stopped, ..."""
    return str(handle.admin().status()["dataPlaneHealth"][server]["state"])


def _wait_until_down(handle: EmulatorHandle, server: str, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while (state := _postgres_state(handle, server)) != "down":
        assert time.monotonic() < deadline, f"{server} is {state}, not down"
        time.sleep(0.05)


def test_a_change_whose_server_does_not_start_leaves_it_inaccessible_until_the_next_change(
    emulator: EmulatorHandle, clients: Clients, new_server: LiveServer
) -> None:
    servers, configurations = clients.postgres.servers, clients.postgres.configurations
    data = emulator.state_dir / "dataplane" / "servers" / new_server.name / "data"
    auto_conf = data / "postgresql.auto.conf"  # read at every start, never rewritten by the emulator
    intact = auto_conf.read_text()
    auto_conf.write_text(intact + "this is not a setting\n")
    os.kill(int((data / "postmaster.pid").read_text().split()[0]), signal.SIGKILL)
    _wait_until_down(emulator, new_server.name)
    assert servers.get(new_server.group, new_server.name).state == "Ready"  # Resource Manager has not noticed

    with pytest.raises(HttpResponseError) as raised:
        set_parameter(clients, new_server, "work_mem", "8192")
    error = raised.value.error
    assert error is not None and error.code == "InternalServerError"
    log_file = data.parent / "log" / "postgresql.log"
    assert error.message == (
        f"The operation failed: PostgreSQL of server '{new_server.name}' did not start; its log: {log_file}"
    )
    assert servers.get(new_server.group, new_server.name).state == "Inaccessible"
    assert configurations.get(new_server.group, new_server.name, "work_mem").value == "8192"  # written: kept
    assert _postgres_state(emulator, new_server.name) == "down"
    with pytest.raises(psycopg.OperationalError):
        connect(emulator, new_server.fqdn)

    auto_conf.write_text(intact)  # the cause removed out of band
    set_parameter(clients, new_server, "log_min_duration_statement", "1000")
    assert servers.get(new_server.group, new_server.name).state == "Ready"
    assert _postgres_state(emulator, new_server.name) == "running"
    with connect(emulator, new_server.fqdn) as conn:
        assert scalar(conn, "SHOW work_mem") == "8MB"
        assert scalar(conn, "SHOW log_min_duration_statement") == "1s"
