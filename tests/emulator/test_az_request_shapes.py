"""Request bodies azure-cli 2.91 sends that the typed SDK never would, which the service takes and so must the
emulator: a maintenance window's hour and minute as JSON strings (`--maintenance-window Sun:23:30`), and a generated
administratorLogin with no password on a server created for Microsoft Entra logins only (its documented
`--microsoft-entra-auth Enabled --password-auth Disabled` example). Sent here as the raw JSON az sends."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from support.emulator import Clients, EmulatorHandle, server_body

ENTRA_ONLY = {"activeDirectoryAuth": "Enabled", "passwordAuth": "Disabled"}


def _refusal(emulator: EmulatorHandle, call: Any, code: str = "InvalidParameterValue") -> str:
    """The message of a write refused at the request: 400 with ``code``, one request, nothing accepted."""
    emulator.reset_request_count()
    with pytest.raises(HttpResponseError) as refused:
        call()
    assert refused.value.status_code == 400
    assert refused.value.error is not None and refused.value.error.code == code
    assert emulator.request_count("arm") == 1
    return str(refused.value.error.message)


def test_a_maintenance_window_written_in_strings_of_digits_is_read_as_numbers(
    clients: Clients, emulator: EmulatorHandle, resource_group: str, server_name: str
) -> None:
    servers = clients.postgres.servers
    servers.begin_create_or_update(resource_group, server_name, server_body()).result()
    as_az_sends_it = {"customWindow": "Enabled", "dayOfWeek": 0, "startHour": "23", "startMinute": "30"}
    updated = servers.begin_update(
        resource_group, server_name, {"properties": {"maintenanceWindow": as_az_sends_it}}
    ).result()
    expected = {"customWindow": "Enabled", "dayOfWeek": 0, "startHour": 23, "startMinute": 30}
    assert updated.maintenance_window is not None and updated.maintenance_window.as_dict() == expected
    assert servers.get(resource_group, server_name).maintenance_window.as_dict() == expected

    # Only whole numbers in range: no sign, fraction, space or other script's digits; the message quotes the string.
    for sent, why in [("24", "0 to 23, not '24'"), ("-1", "not '-1'"), ("2.5", "not '2.5'"), (" 3", "not ' 3'")]:
        message = _refusal(
            emulator,
            lambda sent=sent: servers.begin_update(
                resource_group, server_name, {"properties": {"maintenanceWindow": {"startHour": sent}}}
            ),
        )
        assert "startHour" in message and why in message
    message = _refusal(
        emulator,
        lambda: servers.begin_update(
            resource_group, server_name, {"properties": {"maintenanceWindow": {"startMinute": "\u0663"}}}
        ),
    )
    assert "startMinute" in message
    assert servers.get(resource_group, server_name).maintenance_window.as_dict() == expected
    # The backup retention, read by the same rule.
    retained = servers.begin_update(
        resource_group, server_name, {"properties": {"backup": {"backupRetentionDays": "14"}}}
    ).result()
    assert retained.backup is not None and retained.backup.backup_retention_days == 14


def test_an_entra_only_server_created_with_a_login_and_no_password_ignores_the_login(
    clients: Clients, emulator: EmulatorHandle, resource_group: str, server_name: str
) -> None:
    servers = clients.postgres.servers
    body = server_body()
    body["properties"].pop("administratorLoginPassword")
    body["properties"].update(administratorLogin="yawningtamarin0", authConfig=ENTRA_ONLY)
    created = servers.begin_create_or_update(resource_group, server_name, body).result()
    assert created.auth_config is not None and created.auth_config.password_auth == "Disabled"
    assert created.administrator_login is None

    # The login is set when password authentication is first turned on, with a password, and may be another.
    turned_on = {"authConfig": {"passwordAuth": "Enabled"}, "administratorLogin": "dbowner"}
    without_password = _refusal(
        emulator,
        lambda: servers.begin_update(resource_group, server_name, {"properties": turned_on}),
        "MissingRequiredParameter",
    )
    assert "'AdministratorLoginPassword' must be specified" in without_password
    turned_on["administratorLoginPassword"] = "Entra-Then-Passw0rd!"
    updated = servers.begin_update(resource_group, server_name, {"properties": turned_on}).result()
    assert updated.administrator_login == "dbowner"


def test_an_entra_only_server_is_still_refused_a_password_at_creation(
    clients: Clients, emulator: EmulatorHandle, resource_group: str, server_name: str
) -> None:
    body = server_body()
    body["properties"]["authConfig"] = ENTRA_ONLY
    message = _refusal(
        emulator, lambda: clients.postgres.servers.begin_create_or_update(resource_group, server_name, body)
    )
    assert "administratorLoginPassword cannot be set" in message
    assert server_name not in [s.name for s in clients.postgres.servers.list_by_resource_group(resource_group)]
