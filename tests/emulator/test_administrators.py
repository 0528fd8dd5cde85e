"""Microsoft Entra administrators of a flexible server through the SDK: long-running writes and the service's rules."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from pgflex.emulator.settings import DEFAULT_TENANT
from support.emulator import Clients, EmulatorHandle, server_body

USER_ID = "8a3b5c1d-0000-4000-8000-00000000a001"
GROUP_ID = "8a3b5c1d-0000-4000-8000-00000000a002"


@pytest.fixture
def server(clients: Clients, resource_group: str, server_name: str) -> str:
    body = server_body()
    body["properties"]["authConfig"] = {"activeDirectoryAuth": "Enabled", "passwordAuth": "Enabled"}
    clients.postgres.servers.begin_create_or_update(resource_group, server_name, body).result()
    return server_name


def _admin(name: str, principal_type: str = "User", **extra: Any) -> dict[str, Any]:
    return {"properties": {"principalName": name, "principalType": principal_type, **extra}}


def test_administrator_lifecycle(clients: Clients, emulator: EmulatorHandle, resource_group: str, server: str) -> None:
    admins = clients.postgres.administrators_microsoft_entra
    emulator.reset_request_count()
    added = admins.begin_create_or_update(resource_group, server, USER_ID, _admin("alice@contoso.com")).result()
    assert emulator.request_count("arm.writes") == 1
    # As the service's example shows: the name is the principal's, the id ends in the object id.
    assert added.name == "alice@contoso.com"
    assert added.id is not None and added.id.endswith(f"/flexibleServers/{server}/administrators/{USER_ID}")
    assert (added.object_id, added.principal_type, added.tenant_id) == (USER_ID, "User", DEFAULT_TENANT)
    admins.begin_create_or_update(
        resource_group, server, GROUP_ID, _admin("DBA Team", "Group", tenantId=DEFAULT_TENANT)
    ).result()
    assert sorted(a.principal_name or "" for a in admins.list_by_server(resource_group, server)) == [
        "DBA Team",
        "alice@contoso.com",
    ]
    renamed = admins.begin_create_or_update(resource_group, server, USER_ID, _admin("alice@fabrikam.com")).result()
    assert renamed.principal_name == "alice@fabrikam.com"
    admins.begin_delete(resource_group, server, USER_ID).result()
    with pytest.raises(ResourceNotFoundError):
        admins.get(resource_group, server, USER_ID)
    assert [a.object_id for a in admins.list_by_server(resource_group, server)] == [GROUP_ID]
    admins.begin_delete(resource_group, server, USER_ID).result()  # gone already: fine (204)


def test_administrators_need_entra_authentication_on(
    clients: Clients, emulator: EmulatorHandle, resource_group: str, server_name: str
) -> None:
    clients.postgres.servers.begin_create_or_update(resource_group, server_name, server_body()).result()
    emulator.reset_request_count()
    with pytest.raises(HttpResponseError) as refused:
        clients.postgres.administrators_microsoft_entra.begin_create_or_update(
            resource_group, server_name, USER_ID, _admin("alice@contoso.com")
        )
    assert refused.value.status_code == 400
    assert refused.value.error is not None and refused.value.error.code == "InvalidParameterValue"
    assert "activeDirectoryAuth: Enabled" in refused.value.error.message
    assert emulator.request_count("arm") == 1
    assert list(clients.postgres.administrators_microsoft_entra.list_by_server(resource_group, server_name)) == []


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (_admin("alice@contoso.com", "Unknown"), "principalType"),
        ({"properties": {"principalType": "User"}}, "principalName"),
        (_admin("azure_pg_admin"), "cannot be a login role"),
        (_admin("pgadmin"), "password administrator"),
        (_admin("x" * 64), "cannot be a login role"),
    ],
)
def test_invalid_administrators_are_refused(
    clients: Clients, resource_group: str, server: str, body: dict[str, Any], why: str
) -> None:
    with pytest.raises(HttpResponseError) as refused:
        clients.postgres.administrators_microsoft_entra.begin_create_or_update(resource_group, server, USER_ID, body)
    assert refused.value.status_code == 400
    assert refused.value.error is not None and refused.value.error.code == "InvalidParameterValue"
    assert why in refused.value.error.message


def test_two_administrators_cannot_share_a_principal_name(clients: Clients, resource_group: str, server: str) -> None:
    admins = clients.postgres.administrators_microsoft_entra
    admins.begin_create_or_update(resource_group, server, USER_ID, _admin("alice@contoso.com")).result()
    with pytest.raises(HttpResponseError) as refused:
        admins.begin_create_or_update(resource_group, server, GROUP_ID, _admin("alice@contoso.com", "Group"))
    assert refused.value.error is not None and USER_ID in refused.value.error.message


def test_a_server_that_is_not_ready_refuses_administrator_writes(
    clients: Clients, emulator: EmulatorHandle, resource_group: str, server: str
) -> None:
    postgres = clients.postgres
    emulator.tune(operation_seconds=1.0)
    poller = postgres.servers.begin_update(resource_group, server, {"tags": {"a": "1"}})
    with pytest.raises(ResourceExistsError) as busy:
        postgres.administrators_microsoft_entra.begin_create_or_update(
            resource_group, server, USER_ID, _admin("alice@contoso.com")
        )
    assert busy.value.status_code == 409
    error = busy.value.error
    assert error is not None and error.code == "AadAuthOperationCannotBePerformedWhenServerIsNotAccessible"
    assert f"The server '{server}' is not in an accessible state" in error.message
    poller.result()
    assert list(postgres.administrators_microsoft_entra.list_by_server(resource_group, server)) == []
