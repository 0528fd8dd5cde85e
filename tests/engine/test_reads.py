"""engine/reads.py, the reads observe, audit and import share: what each returns and costs, and how it fails."""

from __future__ import annotations

import pytest

from pgflex.azure.clients import connect
from pgflex.azure.retry import AzureOperationError, RetryPolicy
from pgflex.emulator.settings import DEFAULT_SUBSCRIPTION, DEFAULT_TENANT
from pgflex.engine.reads import (
    ObservedAdministrator,
    ObservedDatabase,
    list_administrators,
    list_databases,
    list_firewall_rules,
    list_parameters,
    list_servers,
    read_server,
    resource_group_of,
    server_properties,
)
from support.emulator import Clients, EmulatorHandle, server_body, unique

FAST = RetryPolicy(initial_seconds=0.0, max_seconds=0.0)
STINGY = RetryPolicy(attempts=3, initial_seconds=0.0, max_seconds=0.0)


@pytest.fixture
def two_servers(clients: Clients, resource_group: str) -> list[str]:
    names = [unique("rd"), unique("rd")]
    for name in names:
        body = {**server_body(), "tags": {"team": "db"}}
        clients.postgres.servers.begin_create_or_update(resource_group, name, body).result()  # type: ignore[call-overload]
    return names


def test_each_read_is_one_request_and_returns_plain_values(
    emulator: EmulatorHandle, resource_group: str, two_servers: list[str]
) -> None:
    clients = connect("local", DEFAULT_SUBSCRIPTION)
    emulator.reset_request_count()
    listed = list_servers(clients, FAST, resource_group)
    assert sorted(str(s.name) for s in listed) == sorted(two_servers)
    assert {resource_group_of(str(s.id)) for s in listed} == {resource_group}
    assert emulator.request_count("arm") == 1

    everywhere = list_servers(clients, FAST)  # the whole subscription, other tests' servers included
    assert set(two_servers) <= {str(s.name) for s in everywhere}

    name = two_servers[0]
    emulator.reset_request_count()
    found = read_server(clients, FAST, resource_group, name)
    parameters = list_parameters(clients, FAST, resource_group, name)
    rules = list_firewall_rules(clients, FAST, resource_group, name)
    assert emulator.request_count("arm") == 3
    properties = server_properties(found)
    assert properties["tags"] == {"team": "db"} and properties["version"] == "16"
    assert properties == server_properties(next(s for s in listed if s.name == name))  # a list says as much
    assert len(parameters) > 400 and rules == {}
    tls = parameters["ssl_min_protocol_version"]
    assert tls.value == "TLSv1.2" and tls.data_type == "Enumeration" and tls.source == "system-default"
    assert "TLSv1.3" in tls.allowed_values and tls.is_dynamic and not tls.read_only


def test_what_does_not_exist_and_what_keeps_failing(emulator: EmulatorHandle, resource_group: str) -> None:
    clients = connect("local", DEFAULT_SUBSCRIPTION)
    assert read_server(clients, FAST, resource_group, unique("none")) is None
    assert list_servers(clients, FAST, unique("no-group")) == []
    missing = unique("none")
    with pytest.raises(AzureOperationError) as absent:
        list_parameters(clients, FAST, resource_group, missing)
    assert str(absent.value).startswith(f"{missing}: list parameters failed: ResourceNotFound")
    emulator.tune(rate_throttled=1.0)
    emulator.reset_request_count()
    with pytest.raises(AzureOperationError) as refused:
        list_parameters(clients, STINGY, resource_group, missing)
    assert str(refused.value) == (
        f"{missing}: list parameters: gave up after 3 attempts: "
        "TooManyRequests: Too many requests (fault injected by the emulator)."
    )
    assert emulator.request_count("arm") == 3


ADMIN_ID = "8a3b5c1d-0000-4000-8000-00000000b001"


def test_settings_administrators_and_databases_are_plain_values(
    emulator: EmulatorHandle, clients: Clients, resource_group: str
) -> None:
    name = unique("rd")
    body = server_body(tier="GeneralPurpose", sku="Standard_D2ds_v5")
    body["properties"].update(
        availabilityZone="2",
        highAvailability={"mode": "ZoneRedundant", "standbyAvailabilityZone": "3"},
        backup={"backupRetentionDays": 14, "geoRedundantBackup": "Enabled"},
        storage={"storageSizeGB": 128, "tier": "P30"},
        authConfig={"activeDirectoryAuth": "Enabled", "passwordAuth": "Enabled"},
    )
    servers = clients.postgres.servers
    servers.begin_create_or_update(resource_group, name, body).result()  # type: ignore[call-overload]
    window = {"customWindow": "Enabled", "dayOfWeek": 3, "startHour": 2, "startMinute": 30}
    servers.begin_update(resource_group, name, {"properties": {"maintenanceWindow": window}}).result()  # type: ignore[call-overload]
    admin = {"properties": {"principalName": "dba@contoso.com", "principalType": "Group"}}
    clients.postgres.administrators_microsoft_entra.begin_create_or_update(
        resource_group, name, ADMIN_ID.upper(), admin
    ).result()  # type: ignore[call-overload]
    clients.postgres.databases.begin_create(
        resource_group, name, "Orders", {"properties": {"charset": "UTF8", "collation": "C"}}
    ).result()  # type: ignore[call-overload]

    pgflex = connect("local", DEFAULT_SUBSCRIPTION)
    emulator.reset_request_count()
    properties = server_properties(read_server(pgflex, FAST, resource_group, name))
    admins = list_administrators(pgflex, FAST, resource_group, name)
    databases = list_databases(pgflex, FAST, resource_group, name)
    assert emulator.request_count("arm") == 3
    assert {key: properties[key] for key in SETTINGS} == {
        "storageTier": "P30",
        "availabilityZone": "2",
        "highAvailability": "ZoneRedundant",
        "standbyAvailabilityZone": "3",
        "backupRetentionDays": 14,
        "geoRedundantBackup": True,
        "maintenanceWindow": window,
        "passwordAuth": True,
        "activeDirectoryAuth": True,
        "entraTenantId": DEFAULT_TENANT,
    }
    assert admins == {ADMIN_ID: ObservedAdministrator("dba@contoso.com", "Group", DEFAULT_TENANT)}
    assert databases["Orders"] == ObservedDatabase(charset="UTF8", collation="C")
    assert {"azure_maintenance", "azure_sys", "postgres"} <= set(databases)
    assert "orders" not in databases  # names are case-sensitive


def test_a_server_as_azure_leaves_it(emulator: EmulatorHandle, resource_group: str, two_servers: list[str]) -> None:
    pgflex = connect("local", DEFAULT_SUBSCRIPTION)
    properties = server_properties(read_server(pgflex, FAST, resource_group, two_servers[0]))
    assert {key: properties[key] for key in SETTINGS} == {
        "storageTier": "P4",
        "availabilityZone": "1",
        "highAvailability": "Disabled",
        "standbyAvailabilityZone": None,
        "backupRetentionDays": 7,
        "geoRedundantBackup": False,
        "maintenanceWindow": {"customWindow": "Disabled", "dayOfWeek": 0, "startHour": 0, "startMinute": 0},
        "passwordAuth": True,
        "activeDirectoryAuth": False,
        "entraTenantId": None,
    }
    assert list_administrators(pgflex, FAST, resource_group, two_servers[0]) == {}


SETTINGS = (
    "storageTier",
    "availabilityZone",
    "highAvailability",
    "standbyAvailabilityZone",
    "backupRetentionDays",
    "geoRedundantBackup",
    "maintenanceWindow",
    "passwordAuth",
    "activeDirectoryAuth",
    "entraTenantId",
)
