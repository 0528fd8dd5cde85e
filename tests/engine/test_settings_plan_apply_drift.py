"""Server settings (issue 14) through plan, apply and drift against the emulator, with the real SDK.

Zones, high availability with its standby zone, storage tier, backup, the maintenance window, Microsoft Entra
authentication with its administrators, databases: created as the spec says, repaired when changed out of band,
and refused (with nothing written) where Azure takes a setting only when a server is created.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from pgflex.azure.retry import RetryPolicy
from pgflex.cli.main import app
from pgflex.emulator.arm.auth import PRINCIPAL_ID
from pgflex.emulator.settings import DEFAULT_TENANT
from pgflex.engine.api import apply, plan
from pgflex.engine.apply import ApplyError
from pgflex.engine.reads import sdk_text
from pgflex.render.plan_view import render_plan
from pgflex.spec import load_spec
from support.emulator import Clients, EmulatorHandle, unique
from support.specs import environment, public_server, write

PASSWORD = "Settings-Secret-Passw0rd!"
FAST_RETRY = RetryPolicy(initial_seconds=0.05, max_seconds=0.5)
GROUP_ID = "6c1a3e0f-2b4d-4f7a-9c8e-1d2f3a4b5c6d"
STRAY_ID = "6c1a3e0f-2b4d-4f7a-9c8e-00000000dead"
DEPLOYER = {"objectId": PRINCIPAL_ID, "principalName": "pgflex-deployer", "principalType": "ServicePrincipal"}
DBA = {"objectId": GROUP_ID, "principalName": "dba-team", "principalType": "Group"}
GENERAL_PURPOSE = {"name": "Standard_D2ds_v5", "tier": "GeneralPurpose"}
SYSTEM_DATABASES = {"azure_maintenance", "azure_sys", "postgres"}


def _full(name: str, **changes: Any) -> dict[str, Any]:
    """A server using every setting: zone, zone-redundant HA with its standby zone, a raised storage tier,
    geo-redundant backups kept 35 days, a custom window, password and Entra with two administrators, databases."""
    settings: dict[str, Any] = {
        "sku": GENERAL_PURPOSE,
        "availabilityZone": 1,
        "highAvailability": {"mode": "ZoneRedundant", "standbyAvailabilityZone": 2},
        "storage": {"sizeGb": 256, "autoGrow": True, "tier": "P30"},
        "backup": {"retentionDays": 35, "geoRedundant": True},
        "maintenanceWindow": {"dayOfWeek": "Wednesday", "startHour": 2, "startMinute": 30},
        "authentication": {"password": True, "entra": {"administrators": [DEPLOYER, DBA]}},
        "databases": [{"name": "orders"}, {"name": "orders_archive", "charset": "UTF8", "collation": "C"}],
        **changes,
    }
    return public_server(name, {"office": "203.0.113.0/24"}, **settings)


def _entra_only(name: str, **changes: Any) -> dict[str, Any]:
    """A Microsoft Entra-only server: no administrator, no password anywhere; it prunes its databases."""
    settings: dict[str, Any] = {
        "sku": GENERAL_PURPOSE,
        "highAvailability": {"mode": "SameZone"},
        "authentication": {"password": False, "entra": {"administrators": [DEPLOYER]}},
        "databases": [{"name": "reports"}],
        "pruneDatabases": True,
        **changes,
    }
    return public_server(name, {"office": "203.0.113.0/24"}, **settings)


def _document(group: str, *servers: dict[str, Any]) -> dict[str, Any]:
    document = environment(group, list(servers))
    document["environment"]["tenant"] = DEFAULT_TENANT
    return document


@pytest.fixture
def names() -> dict[str, str]:
    return {"group": unique("rg-set"), "full": unique("full"), "entra": unique("entra")}


@pytest.fixture
def env_file(tmp_path: Path, names: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PGFLEX_ADMIN_PASSWORD", PASSWORD)
    return write(tmp_path / "env.yaml", _document(names["group"], _full(names["full"]), _entra_only(names["entra"])))


def _drift(env_file: Path) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(app, ["drift", str(env_file), "--output", "json"], catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def _pending(report: dict[str, Any]) -> set[tuple[str, str, str]]:
    changes = [c for server in report["servers"] for c in server["changes"]] + list(report["environmentChanges"])
    return {(c["kind"], c["name"], c["action"]) for c in changes if c["action"] != "no-op"}


def _admins(clients: Clients, group: str, server: str) -> dict[str, tuple[str, str]]:
    listed = clients.postgres.administrators_microsoft_entra.list_by_server(group, server)
    return {str(a.object_id): (str(a.principal_name), sdk_text(a.principal_type)) for a in listed}


def _databases(clients: Clients, group: str, server: str) -> dict[str, tuple[str, str]]:
    return {
        str(d.name): (str(d.charset), str(d.collation))
        for d in clients.postgres.databases.list_by_server(group, server)
    }


def _rewrite(env_file: Path, group: str, *servers: dict[str, Any]) -> Path:
    return write(env_file, _document(group, *servers))


def test_every_setting_is_created_as_the_spec_says_and_a_second_apply_writes_nothing(
    emulator: EmulatorHandle, clients: Clients, env_file: Path, names: dict[str, str]
) -> None:
    result = apply(env_file, retry=FAST_RETRY)
    assert result.converged, result.failures
    group, full, entra = names["group"], names["full"], names["entra"]
    server = clients.postgres.servers.get(group, full)
    assert server.availability_zone == "1"
    assert (server.high_availability.mode, server.high_availability.standby_availability_zone) == ("ZoneRedundant", "2")
    assert (server.storage.storage_size_gb, server.storage.tier, server.storage.auto_grow) == (256, "P30", "Enabled")
    assert (server.backup.backup_retention_days, server.backup.geo_redundant_backup) == (35, "Enabled")
    window = server.maintenance_window
    assert (window.custom_window, window.day_of_week, window.start_hour, window.start_minute) == ("Enabled", 3, 2, 30)
    auth = server.auth_config
    assert (auth.password_auth, auth.active_directory_auth, auth.tenant_id) == ("Enabled", "Enabled", DEFAULT_TENANT)
    assert server.administrator_login == "pgadmin"
    assert _admins(clients, group, full) == {
        PRINCIPAL_ID: ("pgflex-deployer", "ServicePrincipal"),
        GROUP_ID: ("dba-team", "Group"),
    }
    assert _databases(clients, group, full) == {
        "orders": ("UTF8", "en_US.utf8"),
        "orders_archive": ("UTF8", "C"),
        **{name: _databases(clients, group, full)[name] for name in SYSTEM_DATABASES},
    }
    only = clients.postgres.servers.get(group, entra)
    assert (only.auth_config.password_auth, only.auth_config.active_directory_auth) == ("Disabled", "Enabled")
    assert only.administrator_login is None
    assert (only.high_availability.mode, only.high_availability.standby_availability_zone) == ("SameZone", "1")
    assert only.maintenance_window.custom_window == "Disabled"
    assert set(_databases(clients, group, entra)) == {"reports", *SYSTEM_DATABASES}

    emulator.reset_request_count()
    again = apply(env_file, retry=FAST_RETRY)
    assert again.converged and again.writes == 0
    assert emulator.request_count("arm.writes") == 0 and emulator.request_count("arm.deletes") == 0
    assert _drift(env_file)[0] == 0


def test_an_entra_only_server_is_created_with_no_password_variable_set(
    emulator: EmulatorHandle, clients: Clients, tmp_path: Path, names: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PGFLEX_ADMIN_PASSWORD", raising=False)
    env_file = write(tmp_path / "env.yaml", _document(names["group"], _entra_only(names["entra"])))
    made = plan(env_file)
    assert not made.errors
    [server] = made.to_dict()["servers"]
    assert server["login"] == {"method": "entra", "roles": ["pgflex-deployer"]}
    assert "administrator" not in server["changes"][0]["after"]  # the server to create: no password's source
    result = apply(env_file, retry=FAST_RETRY)
    assert result.converged, result.failures
    created = clients.postgres.servers.get(names["group"], names["entra"])
    assert created.administrator_login is None and created.auth_config.password_auth == "Disabled"
    assert _admins(clients, names["group"], names["entra"]) == {PRINCIPAL_ID: ("pgflex-deployer", "ServicePrincipal")}
    assert PASSWORD not in json.dumps(result.plan.to_dict())


def test_each_setting_changed_out_of_band_is_named_exactly_and_repaired(
    emulator: EmulatorHandle, clients: Clients, env_file: Path, names: dict[str, str]
) -> None:
    assert apply(env_file, retry=FAST_RETRY).converged
    group, full, entra = names["group"], names["full"], names["entra"]
    servers, postgres = clients.postgres.servers, clients.postgres
    window = {"customWindow": "Enabled", "dayOfWeek": 5, "startHour": 23, "startMinute": 0}
    changed = {
        "backup": {"backupRetentionDays": 10},
        "maintenanceWindow": window,
        "storage": {"tier": "P40"},
        "authConfig": {"passwordAuth": "Disabled"},
    }
    servers.begin_update(group, full, {"properties": changed}).result()
    postgres.administrators_microsoft_entra.begin_delete(group, full, GROUP_ID).result()
    stray = {"properties": {"principalName": "someone-else", "principalType": "User"}}
    postgres.administrators_microsoft_entra.begin_create_or_update(group, full, STRAY_ID, stray).result()
    postgres.databases.begin_delete(group, full, "orders").result()
    postgres.databases.begin_create(group, full, "scratch", {"properties": {"charset": "UTF8"}}).result()
    # The Entra-only server: password authentication turned on, high availability off, a database added.
    password_on = {"authConfig": {"passwordAuth": "Enabled"}, "administratorLogin": "intruder"}
    password_on["administratorLoginPassword"] = "Out-Of-Band-Passw0rd!"
    servers.begin_update(
        group, entra, {"properties": {**password_on, "highAvailability": {"mode": "Disabled"}}}
    ).result()
    postgres.databases.begin_create(group, entra, "scratch", {"properties": {"charset": "UTF8"}}).result()

    code, report = _drift(env_file)
    assert code == 2, report["errors"]
    assert _pending(report) == {
        ("server", f"{full}.backup.retentionDays", "update"),
        ("server", f"{full}.maintenanceWindow", "update"),
        ("server", f"{full}.storage.tier", "update"),
        ("server", f"{full}.authentication.password", "update"),
        ("entraAdministrator", GROUP_ID, "create"),
        ("entraAdministrator", STRAY_ID, "delete"),
        ("database", "orders", "create"),
        ("server", f"{entra}.authentication.password", "update"),
        ("server", f"{entra}.highAvailability", "update"),
        ("database", "scratch", "delete"),  # the Entra-only server prunes; the other keeps its scratch
    }
    full_changes = {c["name"]: c for c in report["servers"][0]["changes"]}
    assert full_changes[f"{full}.backup.retentionDays"]["before"] == 10
    assert full_changes[f"{full}.maintenanceWindow"]["before"] == {
        "dayOfWeek": "Friday",
        "startHour": 23,
        "startMinute": 0,
    }
    assert full_changes["scratch"]["action"] == "no-op" and "kept" in full_changes["scratch"]["reason"]

    result = apply(env_file, retry=FAST_RETRY)
    assert result.converged, result.failures
    assert _drift(env_file)[0] == 0
    repaired = servers.get(group, full)
    assert (repaired.backup.backup_retention_days, repaired.storage.tier) == (35, "P30")
    assert repaired.maintenance_window.day_of_week == 3 and repaired.auth_config.password_auth == "Enabled"
    assert set(_admins(clients, group, full)) == {PRINCIPAL_ID, GROUP_ID}
    assert {"orders", "scratch"} <= set(_databases(clients, group, full))
    only = servers.get(group, entra)
    assert only.auth_config.password_auth == "Disabled" and only.high_availability.mode == "SameZone"
    assert set(_databases(clients, group, entra)) == {"reports", *SYSTEM_DATABASES}


def test_entra_turned_off_out_of_band_is_turned_on_before_its_administrators_are_added(
    emulator: EmulatorHandle, clients: Clients, env_file: Path, names: dict[str, str]
) -> None:
    assert apply(env_file, retry=FAST_RETRY).converged
    group, full = names["group"], names["full"]
    for object_id in (PRINCIPAL_ID, GROUP_ID):
        clients.postgres.administrators_microsoft_entra.begin_delete(group, full, object_id).result()
    entra_off = {"authConfig": {"activeDirectoryAuth": "Disabled"}}
    clients.postgres.servers.begin_update(group, full, {"properties": entra_off}).result()
    code, report = _drift(env_file)
    assert code == 2
    assert _pending(report) == {
        ("server", f"{full}.authentication.entra", "update"),
        ("entraAdministrator", PRINCIPAL_ID, "create"),
        ("entraAdministrator", GROUP_ID, "create"),
    }
    assert apply(env_file, retry=FAST_RETRY).converged  # administrators are refused while Entra is off
    assert set(_admins(clients, group, full)) == {PRINCIPAL_ID, GROUP_ID}


def test_a_server_made_entra_only_gets_its_administrators_before_losing_its_password(
    emulator: EmulatorHandle, clients: Clients, tmp_path: Path, names: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGFLEX_ADMIN_PASSWORD", PASSWORD)
    group, name = names["group"], names["entra"]
    password_only = public_server(name, {}, sku=GENERAL_PURPOSE)
    env_file = write(tmp_path / "env.yaml", _document(group, password_only))
    assert apply(env_file, retry=FAST_RETRY).converged
    _rewrite(env_file, group, _entra_only(name, highAvailability={"mode": "Disabled"}, pruneDatabases=False))
    made = plan(env_file)
    pending = [(c.kind.value, c.name) for s in made.servers for c in s.pending]
    assert pending == [
        ("server", f"{name}.authentication.entra"),
        ("server", f"{name}.authentication.password"),
        ("entraAdministrator", PRINCIPAL_ID),
        ("database", "reports"),
        ("firewallRule", "office"),
    ]
    emulator.new_record_lines()
    result = apply(env_file, retry=FAST_RETRY)
    assert result.converged, result.failures
    lines = emulator.new_record_lines()
    writes = [
        (entry["method"], entry["path"].split("/flexibleServers/", 1)[1].split("/"), entry["request_body"])
        for line in lines
        if (entry := json.loads(line))["method"] in ("PUT", "PATCH") and "/flexibleServers/" in entry["path"]
    ]
    assert [(method, path[1] if len(path) > 1 else "server") for method, path, _ in writes] == [
        ("PATCH", "server"),
        ("PUT", "administrators"),
        ("PATCH", "server"),
        ("PUT", "databases"),
        ("PUT", "firewallRules"),
    ], writes
    entra_on, password_off = (writes[i][2]["properties"]["authConfig"] for i in (0, 2))
    assert entra_on == {"activeDirectoryAuth": "Enabled", "tenantId": DEFAULT_TENANT}
    assert password_off == {"passwordAuth": "Disabled"}
    server = clients.postgres.servers.get(group, name)
    assert server.auth_config.password_auth == "Disabled" and server.auth_config.active_directory_auth == "Enabled"


def test_creation_only_changes_are_plan_errors_and_nothing_is_written(
    emulator: EmulatorHandle, clients: Clients, env_file: Path, names: dict[str, str]
) -> None:
    assert apply(env_file, retry=FAST_RETRY).converged
    group, full, entra = names["group"], names["full"], names["entra"]
    changed = _full(
        full,
        availabilityZone=3,
        highAvailability={"mode": "ZoneRedundant", "standbyAvailabilityZone": 1},
        backup={"retentionDays": 35, "geoRedundant": False},
        databases=[
            {"name": "orders", "collation": "C"},
            {"name": "orders_archive", "charset": "UTF8", "collation": "C"},
        ],
    )
    _rewrite(env_file, group, changed, _entra_only(entra))
    made = plan(env_file)
    errors = "\n".join(made.errors)
    source = str(env_file)
    for key, message in (
        (
            "availabilityZone",
            "availabilityZone is set when a server is created and cannot change: it is 1, the spec says 3",
        ),
        (
            "highAvailability.standbyAvailabilityZone",
            "highAvailability.standbyAvailabilityZone is set when a server is created and cannot change: it is 2, "
            "the spec says 1",
        ),
        (
            "backup.geoRedundant",
            "backup.geoRedundant is set when a server is created and cannot change: it is true, the spec says false",
        ),
        (
            "databases[0].collation",
            "database orders: collation is set when a database is created and cannot change: it is en_US.utf8, "
            "the spec says C; put the spec back, or create a new database",
        ),
    ):
        assert any(e.startswith(source) and f": servers[0].{key}: {message}" in e for e in made.errors), (
            f"{key}:\n{errors}"
        )
    assert len(made.errors) == 4, errors
    emulator.reset_request_count()
    with pytest.raises(ApplyError):
        apply(env_file, retry=FAST_RETRY)
    assert emulator.request_count("arm.writes") == 0 and emulator.request_count("arm.deletes") == 0


def test_enabling_ha_on_an_existing_server_names_its_standby_zone(
    emulator: EmulatorHandle, clients: Clients, tmp_path: Path, names: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGFLEX_ADMIN_PASSWORD", PASSWORD)
    group, name = names["group"], names["full"]
    servers = clients.postgres.servers
    env_file = write(
        tmp_path / "env.yaml", _document(group, public_server(name, {}, sku=GENERAL_PURPOSE, availabilityZone=2))
    )
    assert apply(env_file, retry=FAST_RETRY).converged
    zone_redundant = {"mode": "ZoneRedundant", "standbyAvailabilityZone": 3}
    spec = public_server(name, {}, sku=GENERAL_PURPOSE, availabilityZone=2, highAvailability=zone_redundant)
    _rewrite(env_file, group, spec)
    enabled = apply(env_file, retry=FAST_RETRY)
    assert enabled.converged and enabled.writes == 1  # one PATCH enables it with the zone named
    ha = servers.get(group, name).high_availability
    assert (ha.mode, ha.standby_availability_zone) == ("ZoneRedundant", "3")
    # Once enabled the standby stays where it is: another zone is a plan error, and nothing is written.
    _rewrite(
        env_file,
        group,
        public_server(
            name,
            {},
            sku=GENERAL_PURPOSE,
            availabilityZone=2,
            highAvailability={"mode": "ZoneRedundant", "standbyAvailabilityZone": 1},
        ),
    )
    emulator.reset_request_count()
    [error] = plan(env_file).errors
    assert "servers[0].highAvailability.standbyAvailabilityZone" in error and "cannot change" in error
    # Turned off out of band, the spec that named the zone enables it there again.
    servers.begin_update(group, name, {"properties": {"highAvailability": {"mode": "Disabled"}}}).result()
    _rewrite(env_file, group, spec)
    assert apply(env_file, retry=FAST_RETRY).converged
    ha = servers.get(group, name).high_availability
    assert (ha.mode, ha.standby_availability_zone) == ("ZoneRedundant", "3")
    # SameZone is reached through Disabled, the standby in the server's zone.
    _rewrite(env_file, group, public_server(name, {}, sku=GENERAL_PURPOSE, highAvailability={"mode": "SameZone"}))
    assert apply(env_file, retry=FAST_RETRY).converged
    ha = servers.get(group, name).high_availability
    assert (ha.mode, ha.standby_availability_zone) == ("SameZone", "2")


def test_a_database_removed_from_the_spec_stays_unless_prune_databases(
    emulator: EmulatorHandle, clients: Clients, env_file: Path, names: dict[str, str]
) -> None:
    assert apply(env_file, retry=FAST_RETRY).converged
    group, full, entra = names["group"], names["full"], names["entra"]
    _rewrite(env_file, group, _full(full, databases=[{"name": "orders"}]), _entra_only(entra))
    made = plan(env_file)
    [kept] = [c for s in made.servers for c in s.changes if c.name == "orders_archive"]
    assert (kept.action.value, kept.reason) == ("no-op", "not in the spec: kept (pruneDatabases is off)")
    assert not made.has_changes
    console = Console(record=True, width=200)
    render_plan(made, console)
    shown = console.export_text()
    assert (
        "database orders_archive: charset=UTF8, collation=C  (not in the spec: kept (pruneDatabases is off))" in shown
    )
    assert "verify and sessions log in with a Microsoft Entra token as pgflex-deployer" in shown
    emulator.reset_request_count()
    assert apply(env_file, retry=FAST_RETRY).writes == 0
    assert emulator.request_count("arm.deletes") == 0
    assert "orders_archive" in _databases(clients, group, full)

    _rewrite(env_file, group, _full(full, databases=[{"name": "orders"}], pruneDatabases=True), _entra_only(entra))
    assert _pending(plan(env_file).to_dict()) == {("database", "orders_archive", "delete")}
    assert apply(env_file, retry=FAST_RETRY).converged
    assert set(_databases(clients, group, full)) == {"orders", *SYSTEM_DATABASES}  # Azure's own stay


def test_observe_reads_administrators_and_databases_only_where_the_spec_manages_them(
    emulator: EmulatorHandle, env_file: Path, names: dict[str, str], tmp_path: Path
) -> None:
    assert apply(env_file, retry=FAST_RETRY).converged
    group, full = names["group"], names["full"]
    alone = write(tmp_path / "alone.yaml", _document(group, _full(full)))
    emulator.reset_request_count()
    assert not plan(alone).has_changes
    # The group's existence, the server's GET (with every setting), parameters, rules, administrators, databases.
    assert emulator.request_count("arm") == 1 + 5
    entra_unlisted = {"password": True, "entra": True}  # the server's administrators are left alone
    plain = write(tmp_path / "plain.yaml", _document(group, _full(full, authentication=entra_unlisted, databases=[])))
    emulator.reset_request_count()
    assert not plan(plain).has_changes
    assert emulator.request_count("arm") == 1 + 3


def test_the_plan_shows_how_verify_logs_in(env_file: Path, names: dict[str, str], emulator: EmulatorHandle) -> None:
    logins = {s["name"]: s["login"] for s in plan(env_file).to_dict()["servers"]}
    assert logins == {
        names["full"]: {"method": "password", "roles": ["pgadmin"]},
        names["entra"]: {"method": "entra", "roles": ["pgflex-deployer"]},
    }
    shown = CliRunner().invoke(app, ["plan", str(env_file)], catch_exceptions=False)
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    verify_logs_in = "verify and sessions log in with"
    assert f"{names['full']} login PASSWORD {verify_logs_in} the administrator's password as pgadmin" in lines
    assert f"{names['entra']} login ENTRA {verify_logs_in} a Microsoft Entra token as pgflex-deployer" in lines


def test_the_example_settings_file_applies_and_converges(
    emulator: EmulatorHandle, clients: Clients, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGFLEX_ADMIN_PASSWORD", PASSWORD)
    example = load_spec(Path(__file__).resolve().parents[2] / "infra" / "settings.yaml")
    renamed = [server.replace(name=unique(server.name.removeprefix("pgflex-settings-"))) for server in example.servers]
    env = example.replace(resource_group=unique("rg-example"), servers=renamed)
    result = apply(env, retry=FAST_RETRY)
    assert result.converged, result.failures
    orders, reports = (clients.postgres.servers.get(env.resource_group, server.name) for server in env.servers)
    assert (orders.availability_zone, orders.high_availability.standby_availability_zone) == ("1", "2")
    assert (orders.storage.tier, orders.backup.geo_redundant_backup) == ("P30", "Enabled")
    assert reports.administrator_login is None and reports.auth_config.password_auth == "Disabled"
    emulator.reset_request_count()
    assert apply(env, retry=FAST_RETRY).writes == 0
    assert emulator.request_count("arm.writes") == 0
