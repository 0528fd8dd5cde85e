"""Stopping a server through the SDK takes it off the network; starting it brings it back."""

from __future__ import annotations

import psycopg
import pytest

from support.emulator import Clients, EmulatorHandle

from .conftest import LiveServer, connect, scalar

pytestmark = pytest.mark.dataplane


def test_stopped_server_refuses_connections_and_a_started_one_serves_again(
    emulator: EmulatorHandle, clients: Clients, new_server: LiveServer
) -> None:
    servers = clients.postgres.servers
    with connect(emulator, new_server.fqdn) as conn:
        assert scalar(conn, "SELECT 1") == 1

    servers.begin_stop(new_server.group, new_server.name).result()
    assert servers.get(new_server.group, new_server.name).state == "Stopped"
    with pytest.raises(psycopg.OperationalError, match="Connection refused"):
        connect(emulator, new_server.fqdn)

    servers.begin_start(new_server.group, new_server.name).result()
    assert servers.get(new_server.group, new_server.name).state == "Ready"
    with connect(emulator, new_server.fqdn) as conn:  # connect() re-reads the endpoint: the port may change
        assert scalar(conn, "SELECT 1") == 1
