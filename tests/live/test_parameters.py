"""A static parameter changed through the SDK waits for a restart, and the SDK says so."""

from __future__ import annotations

import pytest

from support.emulator import Clients, EmulatorHandle

from .conftest import LiveServer, connect, scalar, set_parameter

pytestmark = pytest.mark.dataplane


def live_max_connections(handle: EmulatorHandle, server: LiveServer) -> str:
    with connect(handle, server.fqdn) as conn:
        return str(scalar(conn, "SHOW max_connections"))


def test_max_connections_is_pending_until_the_server_restarts(
    emulator: EmulatorHandle, clients: Clients, new_server: LiveServer
) -> None:
    configurations = clients.postgres.configurations
    before = live_max_connections(emulator, new_server)
    assert before != "150"  # otherwise the change below would prove nothing

    set_parameter(clients, new_server, "max_connections", "150")
    pending = configurations.get(new_server.group, new_server.name, "max_connections")
    assert (pending.value, pending.is_config_pending_restart) == ("150", True)
    assert live_max_connections(emulator, new_server) == before

    clients.postgres.servers.begin_restart(new_server.group, new_server.name).result()
    applied = configurations.get(new_server.group, new_server.name, "max_connections")
    assert (applied.value, applied.is_config_pending_restart) == ("150", False)
    assert live_max_connections(emulator, new_server) == "150"  # connect() re-reads the endpoint
