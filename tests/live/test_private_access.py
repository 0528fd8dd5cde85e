"""A private server is reached through its private DNS zone record, with the public host name's certificate."""

from __future__ import annotations

import psycopg
import pytest

from support.emulator import Clients, EmulatorHandle

from .conftest import conninfo, create_private_server, from_network, scalar

pytestmark = pytest.mark.dataplane


def test_private_server_is_reached_through_its_zone_record(
    emulator: EmulatorHandle, clients: Clients, resource_group: str
) -> None:
    server = create_private_server(clients, resource_group)
    assert clients.postgres.servers.get(resource_group, server.name).network.public_network_access == "Disabled"

    endpoints = emulator.admin().endpoints()
    through_zone = endpoints[server.zone_record]
    assert through_zone["privateAddress"] == server.address
    public_entry = endpoints[server.fqdn]
    assert (through_zone["host"], through_zone["port"]) == (public_entry["host"], public_entry["port"])
    assert through_zone.get("namespace") == public_entry.get("namespace")

    # Clients use the server's own host name, whose certificate the server presents; the zone record
    # tells where it lives. No firewall rule exists (none is allowed) and the connection still succeeds
    # from inside the virtual network (this machine itself when the emulator cannot isolate it).
    params = conninfo(emulator, server.fqdn)  # read here: the emulator's API is on this machine's loopback

    def tls_in_use() -> bool:
        with psycopg.connect(autocommit=True, **params) as connection:
            return bool(scalar(connection, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"))

    assert from_network(emulator, server.fqdn, tls_in_use)
