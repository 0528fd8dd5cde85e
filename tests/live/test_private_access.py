"""A private server is reached through its private DNS zone record, with the public host name's certificate."""

from __future__ import annotations

import pytest

from support.emulator import Clients, EmulatorHandle, server_body, unique

from .conftest import connect, scalar

pytestmark = pytest.mark.dataplane

DELEGATION = {"name": "pg", "properties": {"serviceName": "Microsoft.DBforPostgreSQL/flexibleServers"}}


def test_private_server_is_reached_through_its_zone_record(
    emulator: EmulatorHandle, clients: Clients, resource_group: str
) -> None:
    vnet = clients.network.virtual_networks.begin_create_or_update(
        resource_group,
        "vnet",
        {"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.30.0.0/16"]}}},
    ).result()
    subnet = clients.network.subnets.begin_create_or_update(
        resource_group, "vnet", "db", {"properties": {"addressPrefix": "10.30.1.0/24", "delegations": [DELEGATION]}}
    ).result()
    zone_name = f"{unique('z')}.private.postgres.database.azure.com"
    zone = clients.dns.private_zones.begin_create_or_update(resource_group, zone_name, {"location": "global"}).result()
    clients.dns.virtual_network_links.begin_create_or_update(
        resource_group,
        zone_name,
        "vnet",
        {"location": "global", "properties": {"virtualNetwork": {"id": vnet.id}, "registrationEnabled": False}},
    ).result()
    name = unique("priv")
    network = {"delegatedSubnetResourceId": subnet.id, "privateDnsZoneArmResourceId": zone.id}
    server = clients.postgres.servers.begin_create_or_update(
        resource_group, name, server_body(network=network)
    ).result()
    assert server.network is not None and server.network.public_network_access == "Disabled"

    record = clients.dns.record_sets.get(resource_group, zone_name, "A", name)
    private_address = (record.a_records or [])[0].ipv4_address
    endpoints = emulator.admin().endpoints()
    through_zone = endpoints[f"{name}.{zone_name}"]
    assert through_zone["privateAddress"] == private_address
    public_entry = endpoints[f"{name}.postgres.database.azure.com"]
    assert (through_zone["host"], through_zone["port"]) == (public_entry["host"], public_entry["port"])
    # Clients use the server's own host name, whose certificate the server presents; the zone record
    # tells where it lives. No firewall rule exists (none is allowed) and the connection still succeeds.
    with connect(emulator, f"{name}.postgres.database.azure.com") as connection:
        assert scalar(connection, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") is True
