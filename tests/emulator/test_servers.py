"""Flexible servers: create, read, update, lifecycle, and the service's conflict rules."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from support.emulator import Clients, EmulatorHandle, server_body, unique


def test_create_get_list_delete(
    clients: Clients, emulator: EmulatorHandle, resource_group: str, server_name: str
) -> None:
    servers = clients.postgres.servers
    emulator.tune(operation_seconds=0.5)
    poller = servers.begin_create_or_update(resource_group, server_name, server_body(version="16"))
    assert servers.get(resource_group, server_name).state == "Provisioning"
    created = poller.result()
    assert created.name == server_name
    assert created.state == "Ready"
    assert created.version == "16"
    assert created.fully_qualified_domain_name == f"{server_name}.postgres.database.azure.com"
    assert created.administrator_login == "pgadmin"
    assert created.network is not None and created.network.public_network_access == "Enabled"
    assert created.storage is not None and created.storage.storage_size_gb == 32
    assert servers.get(resource_group, server_name).state == "Ready"
    assert server_name in [s.name for s in servers.list_by_resource_group(resource_group)]
    assert server_name in [s.name for s in servers.list_by_subscription()]
    poller = servers.begin_delete(resource_group, server_name)
    assert servers.get(resource_group, server_name).state == "Dropping"
    poller.result()
    with pytest.raises(ResourceNotFoundError):
        servers.get(resource_group, server_name)


def test_password_is_never_returned(clients: Clients, resource_group: str, server_name: str) -> None:
    created = clients.postgres.servers.begin_create_or_update(resource_group, server_name, server_body()).result()
    assert "Emul4tor" not in str(created.as_dict())


def test_patch_updates_tags_and_storage(clients: Clients, resource_group: str, server_name: str) -> None:
    servers = clients.postgres.servers
    servers.begin_create_or_update(resource_group, server_name, server_body()).result()
    updated = servers.begin_update(
        resource_group,
        server_name,
        {"tags": {"env": "dev"}, "properties": {"storage": {"storageSizeGB": 64}}},
    ).result()
    assert updated.tags == {"env": "dev"}
    assert updated.storage is not None and updated.storage.storage_size_gb == 64
    with pytest.raises(HttpResponseError) as raised:
        servers.begin_update(resource_group, server_name, {"properties": {"storage": {"storageSizeGB": 32}}})
    assert raised.value.error is not None and raised.value.error.code == "StorageSizeDecreaseNotSupported"


def test_stop_start_restart_move_through_their_states(
    clients: Clients, emulator: EmulatorHandle, resource_group: str, server_name: str
) -> None:
    servers = clients.postgres.servers
    servers.begin_create_or_update(resource_group, server_name, server_body()).result()
    emulator.tune(operation_seconds=0.5)
    poller = servers.begin_stop(resource_group, server_name)
    assert servers.get(resource_group, server_name).state == "Stopping"
    poller.result()
    assert servers.get(resource_group, server_name).state == "Stopped"
    with pytest.raises(HttpResponseError) as raised:
        servers.begin_restart(resource_group, server_name)
    assert raised.value.error is not None and raised.value.error.code == "ServerIsNotReady"
    poller = servers.begin_start(resource_group, server_name)
    assert servers.get(resource_group, server_name).state == "Starting"
    poller.result()
    poller = servers.begin_restart(resource_group, server_name)
    assert servers.get(resource_group, server_name).state == "Restarting"
    poller.result()
    assert servers.get(resource_group, server_name).state == "Ready"


def test_a_busy_server_refuses_other_writes_with_server_busy_and_restarts_with_server_is_not_ready(
    clients: Clients, emulator: EmulatorHandle, resource_group: str, server_name: str
) -> None:
    postgres = clients.postgres
    postgres.servers.begin_create_or_update(resource_group, server_name, server_body()).result()
    emulator.tune(operation_seconds=1.0)
    poller = postgres.servers.begin_update(resource_group, server_name, {"tags": {"a": "1"}})
    assert postgres.servers.get(resource_group, server_name).state == "Updating"
    with pytest.raises(ResourceExistsError) as raised:
        postgres.configurations.begin_update(
            resource_group,
            server_name,
            "log_connections",
            {"properties": {"value": "off", "source": "user-override"}},
        )
    assert raised.value.status_code == 409
    assert raised.value.error is not None and raised.value.error.code == "ServerBusy"
    assert f"Server '{server_name}' is busy with another operation" in raised.value.error.message
    # A restart or stop needs a started server; the service answers ServerIsNotReady while an update runs.
    for write in (postgres.servers.begin_restart, postgres.servers.begin_stop):
        with pytest.raises(ResourceExistsError) as raised:
            write(resource_group, server_name)
        assert raised.value.error is not None and raised.value.error.code == "ServerIsNotReady"
        assert raised.value.error.message == (
            "Restart or Stop Server can only be performed on Started servers. "
            f"Sever Name = {server_name}, Current Server State = Updating"
        )
    poller.result()
    assert postgres.servers.get(resource_group, server_name).state == "Ready"


@pytest.mark.parametrize(
    ("name", "body_change", "code"),
    [
        ("Bad_Name", {}, "InvalidParameterValue"),
        ("ab", {}, "InvalidParameterValue"),
        ("-leading", {}, "InvalidParameterValue"),
        (None, {"version": "10"}, "InvalidParameterValue"),
        (None, {"administratorLogin": "azure_superuser"}, "InvalidParameterValue"),
        (None, {"administratorLoginPassword": "short"}, "PasswordTooWeak"),
        (None, {"administratorLoginPassword": "alllowercaseletters"}, "PasswordTooWeak"),
        (None, {"storage": {"storageSizeGB": 33}}, "InvalidParameterValue"),
        (None, {"highAvailability": {"mode": "ZoneRedundant"}}, "HighAvailabilityNotSupported"),
    ],
)
def test_invalid_creates_are_refused(
    clients: Clients, resource_group: str, name: str | None, body_change: dict[str, object], code: str
) -> None:
    body = server_body()
    body["properties"].update(body_change)
    with pytest.raises(HttpResponseError) as raised:
        clients.postgres.servers.begin_create_or_update(resource_group, name or unique("pg"), body)
    assert raised.value.status_code == 400
    assert raised.value.error is not None and raised.value.error.code == code


def test_server_names_are_global(clients: Clients, resource_group: str, server_name: str) -> None:
    clients.postgres.servers.begin_create_or_update(resource_group, server_name, server_body()).result()
    other_group = unique("rg")
    clients.resources.resource_groups.create_or_update(other_group, {"location": "westeurope"})
    with pytest.raises(ResourceExistsError) as raised:
        clients.postgres.servers.begin_create_or_update(other_group, server_name, server_body())
    assert raised.value.error is not None and raised.value.error.code == "ServerNameAlreadyExists"


def test_operation_that_fails_reports_its_error_and_leaves_nothing(
    clients: Clients, emulator: EmulatorHandle, resource_group: str, server_name: str
) -> None:
    emulator.tune(rate_operation_failed=1.0)
    with pytest.raises(HttpResponseError) as raised:
        clients.postgres.servers.begin_create_or_update(resource_group, server_name, server_body()).result()
    assert raised.value.error is not None and raised.value.error.code == "InternalServerError"
    with pytest.raises(ResourceNotFoundError):
        clients.postgres.servers.get(resource_group, server_name)
