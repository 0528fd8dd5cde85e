"""An old client against the emulator: azure-mgmt-rdbms 10.1.1's flexible-server module, which speaks
api-version 2021-06-01, creates, reads, changes and deletes servers, configurations and firewall rules, and
reads a location's capabilities in the shape 2021-06-01 defines (booleans where newer versions say "Enabled").

Every response is checked against the vendored 2021-06-01 spec (stable/2021-06-01/postgresql.json) by the
emulator fixture, as responses at newer versions are against the newest spec.
"""

from __future__ import annotations

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.identity import DefaultAzureCredential
from azure.mgmt.rdbms.postgresql_flexibleservers import PostgreSQLManagementClient
from azure.mgmt.rdbms.postgresql_flexibleservers import models as rdbms

from pgflex.emulator.settings import DEFAULT_SUBSCRIPTION
from support.emulator import POLLING_INTERVAL, SERVER_PASSWORD, EmulatorHandle

API_VERSION = "2021-06-01"


@pytest.fixture
def old(emulator: EmulatorHandle) -> PostgreSQLManagementClient:
    return PostgreSQLManagementClient(
        DefaultAzureCredential(),
        DEFAULT_SUBSCRIPTION,
        base_url=emulator.base_url,
        credential_scopes=["https://management.azure.com/.default"],
        polling_interval=POLLING_INTERVAL,
    )


def test_the_client_speaks_2021_06_01(old: PostgreSQLManagementClient) -> None:
    assert old._config.api_version == API_VERSION


def test_capabilities_read_as_2021_06_01_defines_them(
    old: PostgreSQLManagementClient, emulator: EmulatorHandle
) -> None:
    emulator.reset_request_count()
    capabilities = list(old.location_based_capabilities.execute("westeurope"))
    assert emulator.request_count("arm") == 1
    assert len(capabilities) == 1
    offer = capabilities[0]
    assert offer.geo_backup_supported is True
    assert offer.zone_redundant_ha_supported is True
    editions = {edition.name: edition for edition in offer.supported_flexible_server_editions}
    assert set(editions) == {"Burstable", "GeneralPurpose", "MemoryOptimized"}
    versions = {version.name: version for version in editions["Burstable"].supported_server_versions}
    assert "16" in versions
    assert "Standard_B1ms" in {vcore.name for vcore in versions["16"].supported_vcores}
    assert "ZoneRedundant" in offer.supported_ha_mode


def test_servers_configurations_and_firewall_rules_through_the_old_sdk(
    old: PostgreSQLManagementClient, resource_group: str, server_name: str
) -> None:
    created = old.servers.begin_create(
        resource_group,
        server_name,
        rdbms.Server(
            location="westeurope",
            sku=rdbms.Sku(name="Standard_B1ms", tier="Burstable"),
            administrator_login="pgadmin",
            administrator_login_password=SERVER_PASSWORD,
            version="13",
            storage=rdbms.Storage(storage_size_gb=32),
        ),
    ).result()
    assert (created.name, created.state, created.version) == (server_name, "Ready", "13")
    assert created.sku.name == "Standard_B1ms" and created.storage.storage_size_gb == 32
    assert server_name in [server.name for server in old.servers.list_by_resource_group(resource_group)]

    updated = old.servers.begin_update(
        resource_group, server_name, rdbms.ServerForUpdate(tags={"owner": "old-sdk"})
    ).result()
    assert updated.tags == {"owner": "old-sdk"}

    setting = old.configurations.get(resource_group, server_name, "ssl_min_protocol_version")
    assert setting.value == "TLSv1.2" and setting.is_read_only is False
    changed = old.configurations.begin_update(
        resource_group,
        server_name,
        "ssl_min_protocol_version",
        rdbms.Configuration(value="TLSv1.3", source="user-override"),
    ).result()
    assert changed.value == "TLSv1.3"
    names = {configuration.name for configuration in old.configurations.list_by_server(resource_group, server_name)}
    assert {"ssl_min_protocol_version", "require_secure_transport"} <= names

    rule = old.firewall_rules.begin_create_or_update(
        resource_group,
        server_name,
        "office",
        rdbms.FirewallRule(start_ip_address="203.0.113.1", end_ip_address="203.0.113.9"),
    ).result()
    assert (rule.start_ip_address, rule.end_ip_address) == ("203.0.113.1", "203.0.113.9")
    assert [r.name for r in old.firewall_rules.list_by_server(resource_group, server_name)] == ["office"]
    old.firewall_rules.begin_delete(resource_group, server_name, "office").result()
    assert list(old.firewall_rules.list_by_server(resource_group, server_name)) == []

    old.servers.begin_restart(resource_group, server_name).result()
    assert old.servers.get(resource_group, server_name).state == "Ready"
    old.servers.begin_delete(resource_group, server_name).result()
    with pytest.raises(ResourceNotFoundError):
        old.servers.get(resource_group, server_name)
