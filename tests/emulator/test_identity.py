"""Identity: DefaultAzureCredential gets tokens; nothing is served without a valid one."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request

import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import DefaultAzureCredential
from azure.mgmt.postgresqlflexibleservers import PostgreSQLManagementClient

from support.emulator import EmulatorHandle


def _raw(handle: EmulatorHandle, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, object]]:
    assert handle.running is not None
    context = ssl.create_default_context(cafile=str(handle.running.ca_root))
    request = urllib.request.Request(handle.base_url + path, headers=headers or {})
    try:
        with urllib.request.urlopen(request, context=context) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as failure:
        return failure.code, json.loads(failure.read() or b"{}")


SERVERS_PATH = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/providers/"
    "Microsoft.DBforPostgreSQL/flexibleServers?api-version=2026-10-01"
)


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "AuthenticationFailed"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "InvalidAuthenticationToken"),
        ({"Authorization": "Bearer not.a.token"}, "InvalidAuthenticationToken"),
        (
            {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJvaWQiOiJ4In0.c2lnbmF0dXJl"},
            "InvalidAuthenticationToken",
        ),
    ],
)
def test_requests_without_a_valid_token_get_401_with_an_arm_error(
    emulator: EmulatorHandle, headers: dict[str, str], code: str
) -> None:
    status, body = _raw(emulator, SERVERS_PATH, headers)
    assert status == 401
    assert body["error"]["code"] == code  # type: ignore[index]
    assert body["error"]["message"]  # type: ignore[index]


def test_admin_endpoint_needs_a_token_too(emulator: EmulatorHandle) -> None:
    status, body = _raw(emulator, "/_emulator/status")
    assert status == 401
    assert body["error"]["code"] == "AuthenticationFailed"  # type: ignore[index]


def test_identity_endpoint_refuses_a_wrong_identity_header(emulator: EmulatorHandle) -> None:
    query = "/msi/token?api-version=2019-08-01&resource=https://management.azure.com/"
    status, _ = _raw(emulator, query, {"X-IDENTITY-HEADER": "wrong"})
    assert status == 401
    status, body = _raw(emulator, query, {"X-IDENTITY-HEADER": emulator.running.identity_header})  # type: ignore[union-attr]
    assert status == 200
    assert body["token_type"] == "Bearer"


def test_default_azure_credential_token_is_accepted(emulator: EmulatorHandle) -> None:
    token = DefaultAzureCredential().get_token("https://management.azure.com/.default")
    status, body = _raw(emulator, SERVERS_PATH, {"Authorization": f"Bearer {token.token}"})
    assert status == 200
    assert "value" in body


def test_sdk_reports_authentication_failure_when_identity_is_wrong(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDENTITY_HEADER", "not-the-secret")
    client = PostgreSQLManagementClient(
        DefaultAzureCredential(),
        "00000000-0000-0000-0000-000000000000",
        base_url=emulator.base_url,
        credential_scopes=["https://management.azure.com/.default"],
    )
    with pytest.raises(ClientAuthenticationError):
        list(client.servers.list_by_subscription())
