"""Resource Manager's generic calls, as az makes them for `az resource` and `az provider`: a provider's metadata
(types, api-versions, locations), the resources of a group or a subscription in the generic shape, and a
resource read by id at the api-version the metadata offers. Through azure-mgmt-resource and on the raw wire."""

from __future__ import annotations

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from pgflex.emulator.settings import DEFAULT_SUBSCRIPTION
from support.emulator import Clients, EmulatorHandle, server_body, unique
from support.rawarm import arm_session, call

RESOURCES_VERSION = "2025-04-01"  # what azure-mgmt-resource 26 sends for its generic calls


@pytest.fixture
def arm(emulator: EmulatorHandle) -> requests.Session:
    return arm_session(emulator)


def _newest_stable(versions: list[str]) -> str:
    """The api-version az picks for `az resource` from a type's list: the first (newest) that is not a preview."""
    return next(v for v in versions if "preview" not in v.lower())


def test_provider_metadata_lists_what_is_served_with_its_api_versions_and_regions(
    clients: Clients, emulator: EmulatorHandle, resource_group: str, server_name: str
) -> None:
    clients.postgres.servers.begin_create_or_update(resource_group, server_name, server_body()).result()
    emulator.reset_request_count()
    provider = clients.resources.providers.get("microsoft.dbforpostgresql")
    assert emulator.request_count("arm") == 1
    assert (provider.namespace, provider.registration_state) == ("Microsoft.DBforPostgreSQL", "Registered")
    types = {t.resource_type: t for t in provider.resource_types or []}
    for served in (
        "flexibleServers",
        "flexibleServers/configurations",
        "flexibleServers/firewallRules",
        "flexibleServers/databases",
        "flexibleServers/administrators",
        "flexibleServers/capabilities",
        "flexibleServers/logFiles",
        "flexibleServers/backups",
        "flexibleServers/replicas",
        "flexibleServers/virtualendpoints",
        "flexibleServers/advancedThreatProtectionSettings",
        "locations/capabilities",
    ):
        assert served in types, served
    assert "flexibleServers/migrations" not in types  # not served, so not offered
    servers = types["flexibleServers"]
    versions = servers.api_versions or []
    assert versions == sorted(versions, reverse=True)  # newest first, as Resource Manager lists them
    assert {"2026-10-01", "2026-04-01-preview", "2025-08-01", "2021-06-01"} <= set(versions)
    assert "West Europe" in (servers.locations or []) and "East US 2" in (servers.locations or [])
    assert types["checkNameAvailability"].locations == []

    # az resource show --ids: the newest stable api-version of the type, then the resource by its id.
    server_id = clients.postgres.servers.get(resource_group, server_name).id
    assert server_id is not None
    shown = clients.resources.resources.get_by_id(server_id, api_version=_newest_stable(versions))
    assert (shown.name, shown.type, shown.location) == (
        server_name,
        "Microsoft.DBforPostgreSQL/flexibleServers",
        "westeurope",
    )

    network = {p.namespace: p for p in clients.resources.providers.list()}
    assert set(network) == {"Microsoft.DBforPostgreSQL", "Microsoft.Network", "Microsoft.Resources"}
    network_types = {t.resource_type: t.locations for t in network["Microsoft.Network"].resource_types or []}
    assert network_types["privateDnsZones"] == ["global"] and "West Europe" in network_types["virtualNetworks"]


def test_an_unknown_namespace_is_refused(clients: Clients, emulator: EmulatorHandle, arm: requests.Session) -> None:
    with pytest.raises(ResourceNotFoundError) as raised:
        clients.resources.providers.get("Microsoft.Sql")
    assert raised.value.error is not None and raised.value.error.code == "InvalidResourceNamespace"
    assert raised.value.error.message == "The resource namespace 'Microsoft.Sql' is invalid."
    response = call(
        arm, emulator, "GET", f"/subscriptions/{DEFAULT_SUBSCRIPTION}/providers/Microsoft.Sql", RESOURCES_VERSION
    )
    assert response.status_code == 404


def test_a_groups_resources_are_its_tracked_resources_in_the_generic_shape(
    clients: Clients, emulator: EmulatorHandle, arm: requests.Session, resource_group: str, server_name: str
) -> None:
    tagged = {**server_body(), "tags": {"env": "dev"}}
    clients.postgres.servers.begin_create_or_update(resource_group, server_name, tagged).result()
    clients.postgres.firewall_rules.begin_create_or_update(
        resource_group, server_name, "office", {"properties": {"startIpAddress": "1.2.3.4", "endIpAddress": "1.2.3.4"}}
    ).result()
    clients.network.virtual_networks.begin_create_or_update(
        resource_group,
        "vnet",
        {"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}},
    ).result()
    zone = f"{unique('z')}.private.postgres.database.azure.com"
    clients.dns.private_zones.begin_create_or_update(resource_group, zone, {"location": "global"}).result()

    emulator.reset_request_count()
    listed = {r.name: r for r in clients.resources.resources.list_by_resource_group(resource_group)}
    assert emulator.request_count("arm") == 1
    assert set(listed) == {server_name, "vnet", zone}  # firewall rules and subnets are their parents' to list
    server = listed[server_name]
    assert (server.type, server.location, server.tags) == (
        "Microsoft.DBforPostgreSQL/flexibleServers",
        "westeurope",
        {"env": "dev"},
    )
    assert server.sku is not None and (server.sku.name, server.sku.tier) == ("Standard_B1ms", "Burstable")
    assert listed["vnet"].tags is None and listed["vnet"].sku is None  # empty tags are left out
    assert listed[zone].location == "global"

    # The filters az sends for --resource-type, --name and --tag.
    by_type = clients.resources.resources.list_by_resource_group(
        resource_group, filter="resourceType eq 'microsoft.dbforpostgresql/flexibleservers'"
    )
    assert [r.name for r in by_type] == [server_name]
    by_tag = clients.resources.resources.list_by_resource_group(
        resource_group, filter="tagName eq 'env' and tagValue eq 'dev'"
    )
    assert [r.name for r in by_tag] == [server_name]
    assert [r.name for r in clients.resources.resources.list(filter=f"name eq '{server_name}'")] == [server_name]
    assert server_name in {r.name for r in clients.resources.resources.list()}

    refused = call(
        arm,
        emulator,
        "GET",
        f"/subscriptions/{DEFAULT_SUBSCRIPTION}/resourceGroups/{resource_group}/resources",
        RESOURCES_VERSION,
        params={"$filter": "substringof('pg', name)"},
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "BadRequest")
    with pytest.raises(ResourceNotFoundError) as missing:
        list(clients.resources.resources.list_by_resource_group(unique("rg-missing")))
    assert missing.value.error is not None and missing.value.error.code == "ResourceGroupNotFound"


def test_a_resource_group_in_a_region_resource_manager_lacks_is_refused(clients: Clients) -> None:
    with pytest.raises(HttpResponseError) as raised:
        clients.resources.resource_groups.create_or_update(unique("rg"), {"location": "marsnorth"})
    assert raised.value.status_code == 400
    assert raised.value.error is not None and raised.value.error.code == "LocationNotAvailableForResourceGroup"
    assert raised.value.error.message.startswith(
        "The provided location 'marsnorth' is not available for resource group. List of available regions is "
        "'australiacentral,australiacentral2,"
    )
    group = clients.resources.resource_groups.create_or_update(unique("rg"), {"location": "West Europe"})
    assert group.location == "westeurope"  # stored as Resource Manager names regions
