"""Databases of a flexible server through the SDK: Azure's defaults, long-running writes, and the service's refusals."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from support.emulator import Clients, EmulatorHandle, server_body

SYSTEM = ["azure_maintenance", "azure_sys", "postgres"]


@pytest.fixture
def server(clients: Clients, resource_group: str, server_name: str) -> str:
    clients.postgres.servers.begin_create_or_update(resource_group, server_name, server_body()).result()
    return server_name


def _database(charset: str = "UTF8", collation: str = "en_US.utf8") -> dict[str, object]:
    return {"properties": {"charset": charset, "collation": collation}}


def _listed(clients: Clients, resource_group: str, server: str) -> dict[str, tuple[str | None, str | None]]:
    return {
        d.name or "": (d.charset, d.collation)
        for d in clients.postgres.databases.list_by_server(resource_group, server)
    }


def test_a_new_server_lists_the_databases_azure_creates(clients: Clients, resource_group: str, server: str) -> None:
    assert _listed(clients, resource_group, server) == dict.fromkeys(SYSTEM, ("UTF8", "en_US.utf8"))
    postgres = clients.postgres.databases.get(resource_group, server, "postgres")
    assert postgres.type == "Microsoft.DBforPostgreSQL/flexibleServers/databases"
    assert postgres.id is not None and postgres.id.endswith(f"/flexibleServers/{server}/databases/postgres")


def test_database_lifecycle_is_a_long_running_write(
    clients: Clients, emulator: EmulatorHandle, resource_group: str, server: str
) -> None:
    databases = clients.postgres.databases
    emulator.reset_request_count()
    created = databases.begin_create(resource_group, server, "inventory", _database("LATIN1", "C")).result()
    assert emulator.request_count("arm.writes") == 1  # one PUT; the rest is polling and the final GET
    assert (created.name, created.charset, created.collation) == ("inventory", "LATIN1", "C")
    assert databases.get(resource_group, server, "inventory").collation == "C"
    assert _listed(clients, resource_group, server)["inventory"] == ("LATIN1", "C")
    # Repeating the same database is accepted and changes nothing (a second apply, a Terraform refresh).
    again = databases.begin_create(resource_group, server, "inventory", _database("latin1", "c")).result()
    assert (again.charset, again.collation) == ("LATIN1", "C")
    databases.begin_delete(resource_group, server, "inventory").result()
    with pytest.raises(ResourceNotFoundError) as missing:
        databases.get(resource_group, server, "inventory")
    assert missing.value.error is not None and missing.value.error.code == "ResourceNotFound"
    assert sorted(_listed(clients, resource_group, server)) == SYSTEM
    emulator.reset_request_count()
    databases.begin_delete(resource_group, server, "inventory").result()  # gone already: 204, no operation
    assert emulator.request_count("arm") == 1


def test_database_names_are_case_sensitive(clients: Clients, resource_group: str, server: str) -> None:
    databases = clients.postgres.databases
    databases.begin_create(resource_group, server, "Sales", _database()).result()
    with pytest.raises(ResourceNotFoundError):
        databases.get(resource_group, server, "sales")
    with pytest.raises(HttpResponseError) as refused:
        databases.begin_create(resource_group, server, "sales", _database())
    assert refused.value.status_code == 400
    assert databases.get(resource_group, server, "Sales").name == "Sales"


@pytest.mark.parametrize(
    ("name", "body", "why"),
    [
        ("postgres", _database(), "system database"),
        ("azure_sys", _database(), "system database"),
        ("template1", _database(), "system database"),
        ("1st", _database(), "invalid"),
        ("has space", _database(), "invalid"),
        ("a" * 64, _database(), "invalid"),
        ("inventory2", _database("klingon"), "not a PostgreSQL server encoding"),
        ("inventory2", _database("UTF8", "en_US.iso88591"), "another encoding"),
        ("inventory2", _database("LATIN1", "en_US.utf8"), "another encoding"),
        ("inventory2", _database("UTF8", "en US;drop"), "invalid"),
    ],
)
def test_invalid_databases_are_refused_before_any_change(
    clients: Clients,
    emulator: EmulatorHandle,
    resource_group: str,
    server: str,
    name: str,
    body: dict[str, object],
    why: str,
) -> None:
    databases = clients.postgres.databases
    before = _listed(clients, resource_group, server)
    emulator.reset_request_count()
    with pytest.raises(HttpResponseError) as refused:
        databases.begin_create(resource_group, server, name, body)
    assert refused.value.status_code == 400
    assert refused.value.error is not None and refused.value.error.code == "InvalidParameterValue"
    assert why in refused.value.error.message
    assert emulator.request_count("arm") == 1  # refused at once: no operation to poll
    assert _listed(clients, resource_group, server) == before


def test_charset_and_collation_are_fixed_at_creation(clients: Clients, resource_group: str, server: str) -> None:
    databases = clients.postgres.databases
    databases.begin_create(resource_group, server, "inventory", _database("UTF8", "de_DE.utf8")).result()
    with pytest.raises(HttpResponseError) as refused:
        databases.begin_create(resource_group, server, "inventory", _database("UTF8", "en_US.utf8"))
    assert refused.value.error is not None and refused.value.error.code == "InvalidParameterValue"
    assert "fixed when it is created" in refused.value.error.message
    assert databases.get(resource_group, server, "inventory").collation == "de_DE.utf8"


def test_system_databases_cannot_be_deleted(clients: Clients, resource_group: str, server: str) -> None:
    for name in SYSTEM:
        with pytest.raises(HttpResponseError) as refused:
            clients.postgres.databases.begin_delete(resource_group, server, name)
        assert refused.value.status_code == 400
        assert refused.value.error is not None and "system database" in refused.value.error.message
    assert sorted(_listed(clients, resource_group, server)) == SYSTEM


def test_a_busy_or_stopped_server_refuses_database_writes(
    clients: Clients, emulator: EmulatorHandle, resource_group: str, server: str
) -> None:
    postgres = clients.postgres
    emulator.tune(operation_seconds=1.0)
    poller = postgres.servers.begin_update(resource_group, server, {"tags": {"a": "1"}})
    with pytest.raises(ResourceExistsError) as busy:
        postgres.databases.begin_create(resource_group, server, "inventory", _database())
    assert busy.value.status_code == 409
    assert busy.value.error is not None and busy.value.error.code == "ServerBusy"
    poller.result()
    emulator.tune(operation_seconds=0.05)
    postgres.servers.begin_stop(resource_group, server).result()
    with pytest.raises(ResourceExistsError) as stopped:
        postgres.databases.begin_create(resource_group, server, "inventory", _database())
    assert stopped.value.error is not None and stopped.value.error.code == "ServerIsNotReady"
    assert sorted(_listed(clients, resource_group, server)) == SYSTEM  # reads work on a stopped server


def test_database_writes_hold_the_server(
    clients: Clients, emulator: EmulatorHandle, resource_group: str, server: str
) -> None:
    postgres = clients.postgres
    emulator.tune(operation_seconds=1.0)
    poller = postgres.databases.begin_create(resource_group, server, "inventory", _database())
    assert postgres.servers.get(resource_group, server).state == "Updating"
    with pytest.raises(ResourceExistsError) as busy:
        postgres.firewall_rules.begin_create_or_update(
            resource_group, server, "office", {"properties": {"startIpAddress": "1.2.3.4", "endIpAddress": "1.2.3.4"}}
        )
    assert busy.value.error is not None and busy.value.error.code == "ServerBusy"
    poller.result()
    assert postgres.servers.get(resource_group, server).state == "Ready"


def test_a_failed_database_operation_leaves_nothing(
    clients: Clients, emulator: EmulatorHandle, resource_group: str, server: str
) -> None:
    emulator.tune(rate_operation_failed=1.0)
    with pytest.raises(HttpResponseError) as failed:
        clients.postgres.databases.begin_create(resource_group, server, "inventory", _database()).result()
    assert failed.value.error is not None and failed.value.error.code == "InternalServerError"
    emulator.tune(rate_operation_failed=0.0)
    assert sorted(_listed(clients, resource_group, server)) == SYSTEM
    assert clients.postgres.servers.get(resource_group, server).state == "Ready"


def test_databases_of_a_missing_server_are_not_found(clients: Clients, resource_group: str) -> None:
    with pytest.raises(ResourceNotFoundError):
        list(clients.postgres.databases.list_by_server(resource_group, "no-such-server"))
    with pytest.raises(ResourceNotFoundError):
        clients.postgres.databases.begin_create(resource_group, "no-such-server", "inventory", _database())
