"""A server's other subresources, as az and the SDK read them: capabilities (az reads them before update and
upgrade), log files, automatic backups, replicas, virtual endpoints and advanced threat protection; and Resource
Manager's answer to a path the emulator does not serve. Through the SDK and on the raw wire; every response is
checked against the official specification when the test ends (the emulator fixture)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from pgflex.emulator.models.server_reads import automatic_backups, captured_logs
from pgflex.emulator.settings import DEFAULT_SUBSCRIPTION
from support.armspec import ArmSpec
from support.emulator import Clients, EmulatorHandle, server_body
from support.rawarm import SDK_VERSION, arm_session, call, off_the_spec

PG = "/providers/Microsoft.DBforPostgreSQL"


@pytest.fixture
def server(clients: Clients, resource_group: str, server_name: str) -> str:
    clients.postgres.servers.begin_create_or_update(resource_group, server_name, server_body(version="15")).result()
    return server_name


@pytest.fixture
def arm(emulator: EmulatorHandle) -> requests.Session:
    return arm_session(emulator)


def _path(resource_group: str, server: str, tail: str = "") -> str:
    return f"/subscriptions/{DEFAULT_SUBSCRIPTION}/resourceGroups/{resource_group}{PG}/flexibleServers/{server}{tail}"


def test_server_capabilities_are_its_regions_with_its_own_version_and_upgrades(
    clients: Clients, emulator: EmulatorHandle, resource_group: str, server: str
) -> None:
    emulator.reset_request_count()
    capabilities = list(clients.postgres.capabilities_by_server.list(resource_group, server))
    assert emulator.request_count("arm") == 1
    assert len(capabilities) == 1
    capability = capabilities[0]
    assert [(v.name, v.supported_versions_to_upgrade) for v in capability.supported_server_versions or []] == [
        ("15", ["16", "17", "18"])
    ]
    editions = {
        e.name: [s.name for s in e.supported_server_skus or []] for e in capability.supported_server_editions or []
    }
    assert set(editions) == {"Burstable", "GeneralPurpose", "MemoryOptimized"}
    assert "Standard_B1ms" in editions["Burstable"] and "Standard_D2ds_v5" in editions["GeneralPurpose"]
    region = next(iter(clients.postgres.capabilities_by_location.list("westeurope")))
    assert capability.supported_server_editions == region.supported_server_editions
    with pytest.raises(ResourceNotFoundError):
        list(clients.postgres.capabilities_by_server.list(resource_group, "pg-no-such-server"))


def test_log_files_backups_replicas_and_virtual_endpoints_are_listed(
    clients: Clients, emulator: EmulatorHandle, arm: requests.Session, resource_group: str, server: str
) -> None:
    postgres = clients.postgres
    created = postgres.servers.get(resource_group, server)
    assert list(postgres.captured_logs.list_by_server(resource_group, server)) == []  # no data plane here
    assert list(postgres.replicas.list_by_server(resource_group, server)) == []
    assert list(postgres.virtual_endpoints.list_by_server(resource_group, server)) == []
    with pytest.raises(ResourceNotFoundError):
        postgres.virtual_endpoints.get(resource_group, server, "examplebasename")

    backups = list(postgres.backups_automatic_and_on_demand.list_by_server(resource_group, server))
    assert len(backups) == 1  # the full backup taken when the server was created
    backup = backups[0]
    assert created.system_data is not None and created.system_data.created_at is not None
    taken = created.system_data.created_at.replace(microsecond=0)
    assert (backup.name, backup.backup_type, backup.source) == (
        f"backup_{taken.strftime('%Y%m%dT%H%M%S')}",
        "Full",
        "Automatic",
    )
    assert backup.completed_time == taken
    assert postgres.backups_automatic_and_on_demand.get(resource_group, server, backup.name).id == backup.id
    with pytest.raises(ResourceNotFoundError):
        postgres.backups_automatic_and_on_demand.get(resource_group, server, "backup_20000101T000000")

    # The same lists on the wire, as az and curl read them.
    for tail in ("/logFiles", "/replicas", "/virtualendpoints", "/backups"):
        response = call(arm, emulator, "GET", _path(resource_group, server, tail))
        assert response.status_code == 200, response.text
        assert len(response.json()["value"]) == (1 if tail == "/backups" else 0)


def test_automatic_backups_are_daily_within_the_retention() -> None:
    now = dt.datetime(2026, 11, 30, 12, 0, 0, tzinfo=dt.UTC)
    created = now - dt.timedelta(days=10, hours=1)
    server = {
        "id": "/subscriptions/s/resourceGroups/g/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg",
        "systemData": {"createdAt": created.isoformat().replace("+00:00", "Z")},
        "properties": {"state": "Ready", "backup": {"backupRetentionDays": 7}},
    }
    listed = automatic_backups(server, now)
    # Taken at creation and daily since (11 so far), kept for 7 days: the last 7.
    assert [b["name"] for b in listed] == [
        f"backup_{(created + dt.timedelta(days=day)).strftime('%Y%m%dT%H%M%S')}" for day in range(4, 11)
    ]
    assert all(b["properties"] == {**b["properties"], "backupType": "Full", "source": "Automatic"} for b in listed)
    assert automatic_backups({**server, "properties": {**server["properties"], "state": "Provisioning"}}, now) == []


def test_log_files_are_the_files_of_the_servers_log_folder(tmp_path: Path) -> None:
    folder = tmp_path / "log"
    folder.mkdir()
    (folder / "postgresql.log").write_text("x" * 1500)
    (folder / "postgresql-older.log").write_text("")
    (folder / "archive").mkdir()  # folders are not log files
    server_id = "/subscriptions/s/resourceGroups/g/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg"
    listed = captured_logs(server_id, folder)
    assert [(f["name"], f["properties"]["sizeInKb"], f["properties"]["type"]) for f in listed] == [
        ("postgresql-older.log", 0, "ServerLogs"),
        ("postgresql.log", 2, "ServerLogs"),
    ]
    assert listed[1]["id"] == f"{server_id}/logFiles/postgresql.log"
    assert listed[1]["properties"]["url"] == (folder / "postgresql.log").as_uri()
    assert captured_logs(server_id, None) == [] and captured_logs(server_id, tmp_path / "missing") == []


def test_advanced_threat_protection_is_off_until_set_and_a_write_holds_the_server(
    clients: Clients,
    emulator: EmulatorHandle,
    arm_spec: ArmSpec,
    arm: requests.Session,
    resource_group: str,
    server: str,
) -> None:
    postgres = clients.postgres
    created = postgres.servers.get(resource_group, server)
    setting = postgres.advanced_threat_protection_settings.get(resource_group, server, "Default")
    assert (setting.name, setting.state) == ("Default", "Disabled")
    assert setting.creation_time == created.system_data.created_at  # type: ignore[union-attr]

    emulator.tune(operation_seconds=1.0)
    emulator.reset_request_count()
    poller = postgres.server_threat_protection_settings.begin_create_or_update(
        resource_group, server, "Default", {"properties": {"state": "enabled"}}
    )
    assert postgres.servers.get(resource_group, server).state == "Updating"
    with pytest.raises(ResourceExistsError) as busy:
        postgres.firewall_rules.begin_create_or_update(
            resource_group, server, "office", {"properties": {"startIpAddress": "1.2.3.4", "endIpAddress": "1.2.3.4"}}
        )
    assert busy.value.error is not None and busy.value.error.code == "ServerBusy"
    assert poller.result().state == "Enabled"  # read ignoring case, answered as the API spells it
    assert emulator.request_count("arm.writes") == 2
    listed = list(postgres.advanced_threat_protection_settings.list_by_server(resource_group, server))
    assert [(s.name, s.state) for s in listed] == [("Default", "Enabled")]

    # Only "Default" exists, and a setting has no DELETE in the API.
    wrong = call(
        arm,
        emulator,
        "PUT",
        _path(resource_group, server, "/advancedThreatProtectionSettings/Custom"),
        json={"properties": {"state": "Enabled"}},
    )
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (400, "InvalidParameterValue")
    bad_state = call(
        arm,
        emulator,
        "PUT",
        _path(resource_group, server, "/advancedThreatProtectionSettings/Default"),
        json={"properties": {"state": "Sometimes"}},
    )
    assert bad_state.json()["error"]["message"] == (
        "Invalid value given for parameter state. It must be one of Enabled, Disabled, not 'Sometimes'."
    )
    with off_the_spec(emulator, arm_spec):
        gone = call(arm, emulator, "DELETE", _path(resource_group, server, "/advancedThreatProtectionSettings/Default"))
    assert (gone.status_code, gone.json()["error"]["code"]) == (405, "MethodNotAllowed")
    assert postgres.advanced_threat_protection_settings.get(resource_group, server, "Default").state == "Enabled"


def test_paths_nothing_serves_are_answered_as_resource_manager_answers_an_unknown_type(
    clients: Clients,
    emulator: EmulatorHandle,
    arm_spec: ArmSpec,
    arm: requests.Session,
    resource_group: str,
    server: str,
) -> None:
    with off_the_spec(emulator, arm_spec):
        migrations = call(arm, emulator, "GET", _path(resource_group, server, "/migrations"))
    assert migrations.status_code == 404
    assert migrations.json() == {
        "error": {
            "code": "InvalidResourceType",
            "message": "The resource type 'flexibleServers/migrations' could not be found in the namespace "
            f"'Microsoft.DBforPostgreSQL' for api version '{SDK_VERSION}'.",
        }
    }
    with pytest.raises(HttpResponseError) as raised:  # the SDK's migrations, which the emulator does not serve
        list(clients.postgres.migrations.list_by_target_server(resource_group, server))
    assert raised.value.status_code == 404
    assert raised.value.error is not None and raised.value.error.code == "InvalidResourceType"

    elsewhere = (
        f"/subscriptions/{DEFAULT_SUBSCRIPTION}/resourceGroups/{resource_group}/providers/Microsoft.Sql/servers/x"
    )
    with off_the_spec(emulator, arm_spec):
        unknown = call(arm, emulator, "GET", elsewhere, "2023-08-01")
    assert (unknown.status_code, unknown.json()["error"]) == (
        404,
        {"code": "InvalidResourceNamespace", "message": "The resource namespace 'Microsoft.Sql' is invalid."},
    )
