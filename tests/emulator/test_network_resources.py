"""Virtual networks, subnets, private DNS zones, links and A records: the operations pgflex uses."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from support.emulator import Clients


def _vnet(clients: Clients, group: str, name: str, prefix: str) -> str:
    body = {"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": [prefix]}}}
    vnet = clients.network.virtual_networks.begin_create_or_update(group, name, body).result()
    assert vnet.id is not None
    return vnet.id


def test_virtual_network_and_subnet_crud(clients: Clients, resource_group: str) -> None:
    network = clients.network
    _vnet(clients, resource_group, "vnet-a", "10.1.0.0/16")
    _vnet(clients, resource_group, "vnet-b", "10.2.0.0/16")
    assert sorted(v.name for v in network.virtual_networks.list(resource_group)) == ["vnet-a", "vnet-b"]
    assert {"vnet-a", "vnet-b"} <= {v.name for v in network.virtual_networks.list_all()}
    network.subnets.begin_create_or_update(
        resource_group, "vnet-a", "one", {"properties": {"addressPrefix": "10.1.1.0/24"}}
    ).result()
    network.subnets.begin_create_or_update(
        resource_group, "vnet-a", "two", {"properties": {"addressPrefix": "10.1.2.0/24"}}
    ).result()
    assert sorted(s.name for s in network.subnets.list(resource_group, "vnet-a")) == ["one", "two"]
    vnet = network.virtual_networks.get(resource_group, "vnet-a")
    assert sorted(s.name for s in vnet.subnets or []) == ["one", "two"]
    network.subnets.begin_delete(resource_group, "vnet-a", "two").result()
    with pytest.raises(ResourceNotFoundError):
        network.subnets.get(resource_group, "vnet-a", "two")
    network.virtual_networks.begin_delete(resource_group, "vnet-a").result()
    with pytest.raises(ResourceNotFoundError):
        network.virtual_networks.get(resource_group, "vnet-a")
    with pytest.raises(ResourceNotFoundError):
        network.subnets.get(resource_group, "vnet-a", "one")


def test_private_dns_zone_links_and_records(clients: Clients, resource_group: str) -> None:
    dns = clients.dns
    zone = "crud.private.postgres.database.azure.com"
    vnet_id = _vnet(clients, resource_group, "vnet-dns", "10.3.0.0/16")
    dns.private_zones.begin_create_or_update(resource_group, zone, {"location": "global", "tags": {"a": "b"}}).result()
    assert zone in [z.name for z in dns.private_zones.list_by_resource_group(resource_group)]
    assert zone in [z.name for z in dns.private_zones.list()]
    link_body = {"location": "global", "properties": {"virtualNetwork": {"id": vnet_id}, "registrationEnabled": False}}
    link = dns.virtual_network_links.begin_create_or_update(resource_group, zone, "link", link_body).result()
    assert link.virtual_network_link_state == "Completed"
    assert [x.name for x in dns.virtual_network_links.list(resource_group, zone)] == ["link"]
    with pytest.raises(HttpResponseError) as raised:
        dns.virtual_network_links.begin_create_or_update(resource_group, zone, "again", link_body).result()
    assert raised.value.status_code == 409
    record = {"properties": {"ttl": 30, "aRecords": [{"ipv4Address": "10.3.0.4"}]}}
    dns.record_sets.create_or_update(resource_group, zone, "A", "db", record)
    fetched = dns.record_sets.get(resource_group, zone, "A", "db")
    assert fetched.fqdn == f"db.{zone}."
    assert [a.ipv4_address for a in fetched.a_records or []] == ["10.3.0.4"]
    assert dns.private_zones.get(resource_group, zone).number_of_record_sets == 2  # SOA and db
    with pytest.raises(HttpResponseError) as raised:
        dns.private_zones.begin_delete(resource_group, zone).result()
    assert raised.value.status_code == 409  # a zone with links cannot be deleted
    dns.record_sets.delete(resource_group, zone, "A", "db")
    with pytest.raises(ResourceNotFoundError):
        dns.record_sets.get(resource_group, zone, "A", "db")
    dns.virtual_network_links.begin_delete(resource_group, zone, "link").result()
    dns.private_zones.begin_delete(resource_group, zone).result()
    with pytest.raises(ResourceNotFoundError):
        dns.private_zones.get(resource_group, zone)
