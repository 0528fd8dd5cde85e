"""Private access: virtual networks, delegated subnets, private DNS zones and their rules."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from azure.core.exceptions import HttpResponseError

from support.emulator import Clients, server_body, unique

DELEGATION = "Microsoft.DBforPostgreSQL/flexibleServers"


@dataclass
class Network:
    vnet_id: str
    subnet_id: str
    zone_id: str
    zone_name: str


def _network(clients: Clients, group: str, *, delegated: bool = True, zone: str | None = None) -> Network:
    vnet = clients.network.virtual_networks.begin_create_or_update(
        group,
        "vnet",
        {"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.20.0.0/16"]}}},
    ).result()
    delegations = [{"name": "pg", "properties": {"serviceName": DELEGATION}}] if delegated else []
    subnet = clients.network.subnets.begin_create_or_update(
        group, "vnet", "db", {"properties": {"addressPrefix": "10.20.1.0/24", "delegations": delegations}}
    ).result()
    zone_name = zone or f"{unique('z')}.private.postgres.database.azure.com"
    created_zone = clients.dns.private_zones.begin_create_or_update(group, zone_name, {"location": "global"}).result()
    clients.dns.virtual_network_links.begin_create_or_update(
        group,
        zone_name,
        "vnet-link",
        {
            "location": "global",
            "properties": {"virtualNetwork": {"id": vnet.id}, "registrationEnabled": False},
        },
    ).result()
    assert vnet.id and subnet.id and created_zone.id
    return Network(vnet.id, subnet.id, created_zone.id, zone_name)


def _private(network: Network, **extra: str) -> dict[str, str]:
    return {
        "delegatedSubnetResourceId": network.subnet_id,
        "privateDnsZoneArmResourceId": network.zone_id,
        **extra,
    }


def test_private_server_gets_disabled_public_access_and_a_dns_record(
    clients: Clients, resource_group: str, server_name: str
) -> None:
    network = _network(clients, resource_group)
    subnet = clients.network.subnets.get(resource_group, "vnet", "db")
    assert subnet.delegations is not None and subnet.delegations[0].service_name == DELEGATION
    server = clients.postgres.servers.begin_create_or_update(
        resource_group, server_name, server_body(network=_private(network))
    ).result()
    assert server.network is not None and server.network.public_network_access == "Disabled"
    record = clients.dns.record_sets.get(resource_group, network.zone_name, "A", server_name)
    assert record.a_records is not None
    address = record.a_records[0].ipv4_address
    assert address is not None and address.startswith("10.20.1.")
    usage = clients.postgres.virtual_network_subnet_usage.list(
        "westeurope", {"virtualNetworkArmResourceId": network.vnet_id}
    )
    assert [(u.subnet_name, u.usage) for u in usage.delegated_subnets_usage or []] == [("db", 1)]
    zone = clients.dns.private_zones.get(resource_group, network.zone_name)
    assert zone.number_of_virtual_network_links == 1
    with pytest.raises(HttpResponseError) as raised:
        clients.network.subnets.begin_delete(resource_group, "vnet", "db").result()
    assert raised.value.error is not None and raised.value.error.code == "InUseSubnetCannotBeDeleted"
    clients.postgres.servers.begin_delete(resource_group, server_name).result()
    assert [r.name for r in clients.dns.record_sets.list(resource_group, network.zone_name)] == []


def test_firewall_rules_are_refused_on_a_private_server(
    clients: Clients, resource_group: str, server_name: str
) -> None:
    network = _network(clients, resource_group)
    clients.postgres.servers.begin_create_or_update(
        resource_group, server_name, server_body(network=_private(network))
    ).result()
    with pytest.raises(HttpResponseError) as raised:
        clients.postgres.firewall_rules.begin_create_or_update(
            resource_group,
            server_name,
            "any",
            {"properties": {"startIpAddress": "10.0.0.1", "endIpAddress": "10.0.0.1"}},
        )
    assert raised.value.error is not None and raised.value.error.code == "FirewallRuleNotSupportedForPrivateAccess"


@pytest.mark.parametrize(
    ("delegated", "zone", "extra", "code"),
    [
        (False, None, {}, "SubnetNotDelegated"),
        (True, "private.postgres.database", {}, "PrivateDnsZoneHasWrongZoneSuffix"),
        (
            True,
            None,
            {"publicNetworkAccess": "Enabled"},
            "ConflictingPublicNetworkAccessAndVirtualNetworkConfiguration",
        ),
    ],
)
def test_private_access_rules_are_enforced(
    clients: Clients,
    resource_group: str,
    server_name: str,
    delegated: bool,
    zone: str | None,
    extra: dict[str, str],
    code: str,
) -> None:
    network = _network(clients, resource_group, delegated=delegated, zone=zone)
    with pytest.raises(HttpResponseError) as raised:
        clients.postgres.servers.begin_create_or_update(
            resource_group, server_name, server_body(network=_private(network, **extra))
        )
    assert raised.value.error is not None and raised.value.error.code == code


def test_zone_equal_to_the_server_host_name_is_refused(clients: Clients, resource_group: str, server_name: str) -> None:
    network = _network(clients, resource_group, zone=f"{server_name}.postgres.database.azure.com")
    with pytest.raises(HttpResponseError) as raised:
        clients.postgres.servers.begin_create_or_update(
            resource_group, server_name, server_body(network=_private(network))
        )
    assert raised.value.error is not None and raised.value.error.code == "PrivateDnsZoneHasWrongZoneSuffix"


def test_subnet_must_lie_inside_its_vnet_and_not_overlap(clients: Clients, resource_group: str) -> None:
    _network(clients, resource_group)
    for prefix, code in (
        ("10.99.0.0/24", "NetcfgSubnetRangeOutsideVnet"),
        ("10.20.1.128/25", "NetcfgSubnetRangesOverlap"),
    ):
        with pytest.raises(HttpResponseError) as raised:
            clients.network.subnets.begin_create_or_update(
                resource_group, "vnet", "other", {"properties": {"addressPrefix": prefix}}
            ).result()
        assert raised.value.error is not None and raised.value.error.code == code
