"""``pgflex import`` of the server settings of issue 14, against the emulator: servers made through the SDK (not by
pgflex) with zones, high availability and its standby zone, a raised storage tier, long geo-redundant backups, a
custom maintenance window, Microsoft Entra administrators (an Entra-only server among them) and databases become
an env file that validates, holds no secret (and no password placeholder where no password is used), and plans to
no change against the servers it came from. Parameters the service spells with capitals (DateStyle, TimeZone)
round-trip too."""

from __future__ import annotations

from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

from pgflex.api import import_environment, load_spec, plan
from pgflex.cli.main import app
from pgflex.emulator.settings import DEFAULT_TENANT
from support.emulator import Clients, EmulatorHandle, server_body, unique

PASSWORD = "Import-Settings-Passw0rd!"
OTHER_TENANT = "0f3c9a8e-5b1d-4c2a-9e7f-6a5b4c3d2e1f"
DBA = {"objectId": "6c1a3e0f-2b4d-4f7a-9c8e-1d2f3a4b5c6d", "principalName": "dba-team", "principalType": "Group"}
GUEST = {  # from another tenant than the server's
    "objectId": "11111111-2222-3333-4444-555555555555",
    "principalName": "auditor@fabrikam.com",
    "principalType": "User",
    "tenantId": OTHER_TENANT,
}
OWNER = {"objectId": "7d2b4f10-3c5e-4a8b-8d9f-2e3f4a5b6c7d", "principalName": "reports-app", "principalType": "User"}
GENERAL_PURPOSE = ("Standard_D2ds_v5", "GeneralPurpose")
WINDOW = {"customWindow": "Enabled", "dayOfWeek": 3, "startHour": 2, "startMinute": 30}
SSLINFO = {"azure.extensions": "sslinfo"}


def cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


@dataclass
class Estate:
    group: str
    full: str  # every setting away from Azure's defaults, password and Entra with two administrators, databases
    entra: str  # Microsoft Entra-only, one administrator, a database
    plain: str  # Azure's defaults everywhere: the file says no more than the rest needs


def _create(clients: Clients, group: str, name: str, body: dict[str, Any]) -> None:
    clients.postgres.servers.begin_create_or_update(group, name, body).result()


def _configure(clients: Clients, group: str, server: str, values: dict[str, str]) -> None:
    for name, value in values.items():
        body = {"properties": {"value": value, "source": "user-override"}}
        clients.postgres.configurations.begin_update(group, server, name, body).result()


def _administrator(clients: Clients, group: str, server: str, admin: dict[str, str]) -> None:
    properties = {key: value for key, value in admin.items() if key != "objectId"}
    clients.postgres.administrators_microsoft_entra.begin_create_or_update(
        group, server, admin["objectId"], {"properties": properties}
    ).result()


def _database(clients: Clients, group: str, server: str, name: str, charset: str, collation: str) -> None:
    body = {"properties": {"charset": charset, "collation": collation}}
    clients.postgres.databases.begin_create(group, server, name, body).result()


@pytest.fixture
def estate(clients: Clients, resource_group: str) -> Estate:
    group = resource_group
    found = Estate(group, unique("full"), unique("entra"), unique("plain"))

    name, tier = GENERAL_PURPOSE
    full = server_body(password=PASSWORD, tier=tier, sku=name)
    full["properties"].update(
        availabilityZone="1",
        highAvailability={"mode": "ZoneRedundant", "standbyAvailabilityZone": "2"},
        storage={"storageSizeGB": 256, "autoGrow": "Enabled", "tier": "P30"},
        backup={"backupRetentionDays": 21, "geoRedundantBackup": "Enabled"},
        authConfig={"activeDirectoryAuth": "Enabled", "passwordAuth": "Enabled", "tenantId": DEFAULT_TENANT},
    )
    _create(clients, group, found.full, full)
    # Azure takes a custom window only from a server that exists.
    clients.postgres.servers.begin_update(group, found.full, {"properties": {"maintenanceWindow": WINDOW}}).result()
    _administrator(clients, group, found.full, DBA)
    _administrator(clients, group, found.full, GUEST)
    _database(clients, group, found.full, "orders", "UTF8", "en_US.utf8")
    _database(clients, group, found.full, "orders_archive", "UTF8", "C")
    _configure(clients, group, found.full, SSLINFO)

    entra = server_body(password=PASSWORD)
    del entra["properties"]["administratorLogin"], entra["properties"]["administratorLoginPassword"]
    # In another tenant than the other Entra server (the environment's): the file names it on this server.
    entra_only = {"activeDirectoryAuth": "Enabled", "passwordAuth": "Disabled", "tenantId": OTHER_TENANT}
    entra["properties"].update(availabilityZone="2", authConfig=entra_only)
    _create(clients, group, found.entra, entra)
    _administrator(clients, group, found.entra, OWNER)
    _database(clients, group, found.entra, "reports", "UTF8", "en_US.utf8")
    _configure(clients, group, found.entra, SSLINFO)

    _create(clients, group, found.plain, server_body(password=PASSWORD))
    _configure(clients, group, found.plain, SSLINFO)
    return found


def _entries(text: str) -> dict[str, dict[str, Any]]:
    document = YAML(typ="safe").load(StringIO(text))
    return {entry["name"]: entry for entry in document["servers"]}


def test_every_setting_is_imported_and_plans_to_no_change(
    emulator: EmulatorHandle, estate: Estate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / "imported.yaml"
    emulator.reset_request_count()
    result = cli("import", "--resource-group", estate.group, "--output", str(env_file))
    assert result.exit_code == 0, result.output
    # The group's existence and its server list, then per server parameters, rules and databases (3 x 3), and the
    # Entra administrators of the two servers with Entra on.
    assert emulator.request_count("arm") == 2 + 3 * 3 + 2
    assert emulator.request_count("arm.writes") == 0
    assert "(13 requests)" in result.stderr

    text = env_file.read_text()
    assert PASSWORD not in text and PASSWORD not in result.output
    entries = _entries(text)
    assert "administrator" not in entries[estate.entra] and "fromEnv" not in str(entries[estate.entra])
    assert entries[estate.entra]["authentication"] == {
        "password": False,
        "entra": {"tenantId": OTHER_TENANT, "administrators": [OWNER]},  # the administrator is in the server's
    }
    # What is Azure's default is not written: a plain server is its compute, storage, zone, administrator and access.
    assert set(entries[estate.plain]) == {"name", "sku", "storage", "availabilityZone", "administrator", "access"}
    assert entries[estate.plain]["storage"] == {"sizeGb": 32, "autoGrow": False}
    assert "$" not in text.split("environment:")[1].split("servers:")[0]  # a literal tenant, no interpolation
    assert cli("validate", str(env_file)).exit_code == 0

    env = load_spec(env_file)
    assert env.tenant == DEFAULT_TENANT
    full, entra, plain = env.server(estate.full), env.server(estate.entra), env.server(estate.plain)
    assert (full.sku.name, full.sku.tier) == GENERAL_PURPOSE
    assert (full.availability_zone, full.high_availability.mode, full.high_availability.standby_availability_zone) == (
        "1",
        "ZoneRedundant",
        "2",
    )
    assert (full.storage.size_gb, full.storage.auto_grow, full.storage.tier) == (256, True, "P30")
    assert (full.backup.retention_days, full.backup.geo_redundant) == (21, True)
    window = full.maintenance_window
    assert (window.day_of_week, window.start_hour, window.start_minute) == ("Wednesday", 2, 30)
    auth = full.authentication
    assert (auth.password, auth.entra, auth.tenant_id) == (True, True, DEFAULT_TENANT)
    assert full.administrator is not None and full.administrator.login == "pgadmin"
    admins = {(a.object_id, a.principal_name, a.principal_type, a.tenant_id) for a in auth.entra_administrators or ()}
    assert admins == {
        (DBA["objectId"], "dba-team", "Group", DEFAULT_TENANT),
        (GUEST["objectId"], "auditor@fabrikam.com", "User", OTHER_TENANT),
    }
    databases = {(d.name, d.charset, d.collation) for d in full.databases}
    assert databases == {("orders", "UTF8", "en_US.utf8"), ("orders_archive", "UTF8", "C")}
    assert not full.prune_databases

    assert entra.administrator is None and entra.authentication.login == "entra"
    assert [(a.object_id, a.principal_name) for a in entra.authentication.entra_administrators or ()] == [
        (OWNER["objectId"], "reports-app")
    ]
    assert [d.name for d in entra.databases] == ["reports"] and entra.availability_zone == "2"
    assert (plain.storage.tier, plain.high_availability.mode, plain.backup.retention_days) == (None, "Disabled", 7)
    assert plain.maintenance_window.system_managed and not plain.databases

    monkeypatch.setenv("PGFLEX_ADMIN_PASSWORD", PASSWORD)  # what plan's pre-flight reads for verify; not in the file
    planned = cli("plan", str(env_file), "--detailed-exitcode")
    assert planned.exit_code == 0, planned.output
    assert not plan(env).has_changes


def test_an_entra_only_server_alone_needs_no_password_anywhere(
    emulator: EmulatorHandle, estate: Estate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PGFLEX_ADMIN_PASSWORD", raising=False)
    env_file = tmp_path / "entra.yaml"
    result = cli("import", "--server", estate.entra, "--output", str(env_file))
    assert result.exit_code == 0, result.stderr
    text = env_file.read_text()
    assert "PGFLEX_ADMIN_PASSWORD" not in text and "fromEnv" not in text and "administrator:" not in text
    assert "Passwords are never imported" not in text  # nothing here uses one
    assert load_spec(env_file).server(estate.entra).authentication.login == "entra"
    planned = cli("plan", str(env_file), "--detailed-exitcode")
    assert planned.exit_code == 0, planned.output


def test_without_databases_the_file_leaves_them_alone_for_one_read_less_per_server(
    emulator: EmulatorHandle, estate: Estate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.reset_request_count()
    result = import_environment(resource_group=estate.group, databases=False)
    assert emulator.request_count("arm") == result.requests == 2 + 2 * 3 + 2
    (imported,) = result.environments
    assert "databases" not in imported.text and imported.issues() == ()
    env_file = tmp_path / "nodb.yaml"
    env_file.write_text(imported.text)
    monkeypatch.setenv("PGFLEX_ADMIN_PASSWORD", PASSWORD)
    env = load_spec(env_file)
    assert all(not server.databases for server in env.servers)
    assert not plan(env).has_changes


def test_an_entra_only_server_without_an_administrator_is_left_out(
    emulator: EmulatorHandle, clients: Clients, resource_group: str
) -> None:
    kept, nobody = unique("kept"), unique("nobody")
    _create(clients, resource_group, kept, server_body(password=PASSWORD))
    lonely = server_body(password=PASSWORD)
    del lonely["properties"]["administratorLogin"], lonely["properties"]["administratorLoginPassword"]
    lonely["properties"]["authConfig"] = {"activeDirectoryAuth": "Enabled", "passwordAuth": "Disabled"}
    _create(clients, resource_group, nobody, lonely)
    result = cli("import", "--resource-group", resource_group)
    assert result.exit_code == 0, result.stderr
    assert f"name: {kept}" in result.stdout and f"name: {nobody}" not in result.stdout
    assert f"# Not imported: {nobody}: Microsoft Entra-only" in result.stdout  # the file says why
    assert f"not imported: {nobody}: Microsoft Entra-only with no Entra administrator" in result.stderr


def test_parameters_the_service_spells_with_capitals_round_trip(
    emulator: EmulatorHandle, clients: Clients, resource_group: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = unique("styles")
    _create(clients, resource_group, name, server_body(password=PASSWORD))
    overrides = {"DateStyle": "ISO, DMY", "TimeZone": "Europe/Paris", "IntervalStyle": "iso_8601"}
    _configure(clients, resource_group, name, {**SSLINFO, **overrides})
    env_file = tmp_path / "styles.yaml"
    assert cli("import", "--server", name, "--output", str(env_file)).exit_code == 0
    env = load_spec(env_file)
    expected = {"datestyle": "ISO, DMY", "timezone": "Europe/Paris", "intervalstyle": "iso_8601"}
    # temp_tablespaces: the service sets it itself, yet reports it as user-override (the official example too).
    assert env.server(name).parameters == {
        "azure.extensions": "sslinfo",
        "temp_tablespaces": "temptblspace",
        **expected,
    }
    monkeypatch.setenv("PGFLEX_ADMIN_PASSWORD", PASSWORD)
    planned = plan(env)
    changes = [change for server in planned.servers for change in server.changes if change.kind.value == "parameter"]
    assert {change.name for change in changes} >= set(expected)  # compared, not skipped
    assert all(change.action.value == "no-op" for change in changes), [(c.name, c.reason) for c in changes]
    assert cli("plan", str(env_file), "--detailed-exitcode").exit_code == 0
