"""The server settings beside TLS: what a valid spec resolves to, Azure's defaults, and where each rule draws the
line (the refused side of every rule is a fixture in invalid/, with its message and position)."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from pgflex.spec import SYSTEM_DATABASES, Server, SpecError, creation_only_error, parse_spec

HEADER = """\
apiVersion: pgflex/v1
environment:
  name: test
  cloud: local
  subscription: 00000000-0000-0000-0000-000000000000
  resourceGroup: rg-test
  location: westeurope
{environment}servers:
"""
SERVER = """\
  - name: {name}
    version: "16"
    sku: {{name: {sku}, tier: {tier}}}
    storage: {storage}
{admin}    access: {{public: {{firewallRules: []}}}}
"""
ADMIN = "    administrator: {login: pgadmin, password: {fromEnv: PGFLEX_ADMIN_PASSWORD}}\n"
OBJECT_ID = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
GROUP = f"{{objectId: {OBJECT_ID.upper()}, principalName: dba-team, principalType: Group}}"


def entry(name: str, *, admin: str = ADMIN, storage: str = "{sizeGb: 128}", sku: str = "Standard_D2ds_v5") -> str:
    tier = "Burstable" if sku.startswith("Standard_B") else "GeneralPurpose"
    return SERVER.format(name=name, sku=sku, tier=tier, storage=storage, admin=admin)


def load(
    extra: str = "",
    *,
    admin: bool = True,
    storage: str = "{sizeGb: 128}",
    sku: str = "Standard_D2ds_v5",
    environment: str = "",
) -> Server:
    """One server with `extra` (YAML at the server's indentation) added to a minimal valid entry."""
    own = (ADMIN if admin else "") + textwrap.indent(extra, "    ")
    text = HEADER.format(environment=environment) + entry("pg-test", admin=own, storage=storage, sku=sku)
    return parse_spec(text, "mem.yaml", {}).servers[0]


def refused(extra: str, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(SpecError) as caught:
        load(extra, **kwargs)
    (issue,) = caught.value.issues
    return issue.key_path, issue.message


# --- Azure's defaults ------------------------------------------------------------------------------


def test_a_server_without_the_new_settings_gets_azures_defaults() -> None:
    server = load()
    assert server.availability_zone is None  # Azure chooses; not compared
    assert (server.high_availability.mode, server.high_availability.standby_availability_zone) == ("Disabled", None)
    assert (server.backup.retention_days, server.backup.geo_redundant) == (7, False)
    assert server.maintenance_window.system_managed
    assert server.storage.tier is None and server.storage.default_tier == "P10"
    assert (server.databases, server.prune_databases) == ((), False)
    auth = server.authentication
    assert (auth.password, auth.entra, auth.tenant_id, auth.entra_administrators, auth.login) == (
        True,
        False,
        None,
        None,
        "password",
    )


def test_azure_properties_spell_the_defaults_as_the_api_does() -> None:
    server = load()
    assert server.backup.azure_properties() == {"backupRetentionDays": 7, "geoRedundantBackup": "Disabled"}
    assert server.maintenance_window.azure_properties() == {
        "customWindow": "Disabled",
        "dayOfWeek": 0,
        "startHour": 0,
        "startMinute": 0,
    }
    assert server.high_availability.azure_properties() == {"mode": "Disabled"}
    assert server.storage.azure_properties() == {"storageSizeGB": 128, "autoGrow": "Disabled"}
    assert server.authentication.azure_properties() == {"activeDirectoryAuth": "Disabled", "passwordAuth": "Enabled"}


# --- zones and high availability ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "zone", "standby"),
    [("ZoneRedundant", "1", "2"), ("ZoneRedundant", None, "3"), ("SameZone", "2", "2"), ("SameZone", "2", None)],
)
def test_standby_zones_azure_accepts(mode: str, zone: str | None, standby: str | None) -> None:
    zone_line = f"availabilityZone: {zone}\n" if zone else ""
    standby_key = f", standbyAvailabilityZone: {standby}" if standby else ""
    server = load(f"{zone_line}highAvailability: {{mode: {mode}{standby_key}}}\n")
    assert (server.availability_zone, server.high_availability.standby_availability_zone) == (zone, standby)
    expected = {"mode": mode, **({"standbyAvailabilityZone": standby} if standby else {})}
    assert server.high_availability.azure_properties() == expected


def test_zones_written_as_numbers_are_azures_strings() -> None:
    server = load("availabilityZone: 3\nhighAvailability: {mode: ZoneRedundant, standbyAvailabilityZone: '1'}\n")
    assert (server.availability_zone, server.high_availability.standby_availability_zone) == ("3", "1")


def test_high_availability_stays_refused_on_burstable_and_allowed_elsewhere() -> None:
    assert load("highAvailability: {mode: SameZone}\n").high_availability.mode == "SameZone"
    path, message = refused("highAvailability: {mode: SameZone}\n", sku="Standard_B1ms")
    assert path == "servers[0].highAvailability.mode"
    assert "not available on the Burstable tier" in message


# --- storage tier -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "tier"), [(32, "P4"), (32, "P50"), (128, "P10"), (2048, "P50"), (8192, "P80")])
def test_storage_tiers_offered_for_the_size(size: int, tier: str) -> None:
    server = load(storage=f"{{sizeGb: {size}, tier: {tier}}}")
    assert server.storage.tier == tier
    assert server.storage.azure_properties()["tier"] == tier


@pytest.mark.parametrize(("size", "tier", "choices"), [(4096, "P60", "choose P50"), (8192, "P50", "P60, P70 or P80")])
def test_storage_tiers_not_offered_for_the_size_name_the_choices(size: int, tier: str, choices: str) -> None:
    path, message = refused("", storage=f"{{sizeGb: {size}, tier: {tier}}}")
    assert path == "servers[0].storage.tier"
    assert f"storage tier {tier} is not offered for {size} GiB" in message and choices in message


# --- backup ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("days", [7, 21, 35])
def test_backup_retention_within_azures_range(days: int) -> None:
    assert load(f"backup: {{retentionDays: {days}}}\n").backup.retention_days == days


@pytest.mark.parametrize(("days", "fragment"), [(36, "from 7 to 35, got 36"), (True, "whole number from 7 to 35")])
def test_backup_retention_outside_azures_range(days: object, fragment: str) -> None:
    path, message = refused(f"backup: {{retentionDays: {str(days).lower()}}}\n")
    assert (path, fragment in message) == ("servers[0].backup.retentionDays", True)


def test_geo_redundant_backup_is_recorded_as_creation_only() -> None:
    server = load("availabilityZone: 2\nbackup: {geoRedundant: true}\n")
    assert server.backup.azure_properties() == {"backupRetentionDays": 7, "geoRedundantBackup": "Enabled"}
    assert server.creation_only_settings() == {
        "backup.geoRedundant": True,
        "availabilityZone": "2",
        "administrator.login": "pgadmin",
    }
    message = creation_only_error("backup.geoRedundant", False, True)
    assert message.startswith("backup.geoRedundant is set when a server is created and cannot change")


# --- maintenance window -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("day", "number"), [("Sunday", 0), ("sat", 6), ("WEDNESDAY", 3), ("Mon", 1)])
def test_custom_maintenance_window_in_azures_numbering(day: str, number: int) -> None:
    window = load(f"maintenanceWindow: {{dayOfWeek: {day}, startHour: 23, startMinute: 59}}\n").maintenance_window
    assert not window.system_managed
    assert window.azure_properties() == {
        "customWindow": "Enabled",
        "dayOfWeek": number,
        "startHour": 23,
        "startMinute": 59,
    }


def test_system_managed_maintenance_window_written_out() -> None:
    assert load("maintenanceWindow: {systemManaged: true}\n").maintenance_window.system_managed


def test_a_server_replaces_the_defaults_window_whole() -> None:
    """Merged key by key, a server's systemManaged would meet the defaults' dayOfWeek and be refused."""
    text = HEADER.format(environment="") + entry("pg-test")
    text += "    maintenanceWindow: {systemManaged: true}\n    highAvailability: {mode: Disabled}\n"
    text += (
        "defaults:\n  maintenanceWindow: {dayOfWeek: Sunday, startHour: 2}\n"
        "  highAvailability: {mode: ZoneRedundant, standbyAvailabilityZone: 2}\n"
    )
    server = parse_spec(text, "mem.yaml", {}).servers[0]
    assert server.maintenance_window.system_managed
    assert (server.high_availability.mode, server.high_availability.standby_availability_zone) == ("Disabled", None)


# --- databases ------------------------------------------------------------------------------------------


def test_databases_take_azures_charset_and_collation_by_default() -> None:
    server = load(
        "databases:\n  - {name: app}\n  - {name: Legacy-DB, charset: latin1, collation: C}\n"
        "  - {name: _sv, charset: utf8, collation: sv_SE.utf8}\n"
    )
    assert [(db.name, db.charset, db.collation) for db in server.databases] == [
        ("app", "UTF8", "en_US.utf8"),
        ("Legacy-DB", "LATIN1", "C"),  # case-sensitive names; charsets as PostgreSQL reports them
        ("_sv", "UTF8", "sv_SE.utf8"),
    ]
    assert server.databases[1].azure_properties() == {"charset": "LATIN1", "collation": "C"}
    assert not server.prune_databases


def test_pruning_is_an_explicit_opt_in_with_a_list() -> None:
    assert load("databases: [{name: app}]\npruneDatabases: true\n").prune_databases
    assert load("databases: []\npruneDatabases: true\n").databases == ()  # deletes every non-system database
    assert {"azure_maintenance", "azure_sys", "postgres", "template0", "template1"} == SYSTEM_DATABASES


def test_database_names_differing_in_case_are_two_databases() -> None:
    assert [db.name for db in load("databases: [{name: app}, {name: App}]\n").databases] == ["app", "App"]


@pytest.mark.parametrize("name", sorted(SYSTEM_DATABASES))
def test_every_system_database_is_refused(name: str) -> None:
    path, message = refused(f"databases: [{{name: {name}}}]\n")
    assert (path, message) == (
        "servers[0].databases[0].name",
        f"{name} is a system database of every Flexible Server; it cannot be declared",
    )


# --- Microsoft Entra ---------------------------------------------------------------------------------------


def test_entra_true_is_still_accepted_and_leaves_the_administrators_alone() -> None:
    auth = load("authentication: {password: true, entra: true}\n").authentication
    assert (auth.entra, auth.entra_administrators, auth.login) == (True, None, "password")
    assert load("authentication: {entra: false}\n").authentication.entra is False


def test_entra_only_server_with_an_administrator_needs_no_password() -> None:
    server = load(f"authentication:\n  password: false\n  entra: {{administrators: [{GROUP}]}}\n", admin=False)
    auth = server.authentication
    assert server.administrator is None and "administrator.login" not in server.creation_only_settings()
    assert (auth.entra_only, auth.login) == (True, "entra")
    (admin,) = auth.entra_administrators or ()
    assert (admin.object_id, admin.principal_name, admin.principal_type, admin.tenant_id) == (
        OBJECT_ID,  # lowercased: Azure's object ids compare case-insensitively
        "dba-team",
        "Group",
        None,
    )
    assert admin.azure_properties() == {"principalName": "dba-team", "principalType": "Group"}
    assert auth.azure_properties() == {"activeDirectoryAuth": "Enabled", "passwordAuth": "Disabled"}


def test_entra_only_server_does_not_inherit_the_defaults_administrator() -> None:
    text = HEADER.format(environment="") + entry("pg-entra", admin="")
    text += f"    authentication: {{password: false, entra: {{administrators: [{GROUP}]}}}}\n"
    text += entry("pg-password", admin="")
    text += "defaults:\n  administrator: {login: pgadmin, password: {fromEnv: PGFLEX_ADMIN_PASSWORD}}\n"
    entra, password = parse_spec(text, "mem.yaml", {}).servers
    assert entra.administrator is None
    assert password.administrator is not None and password.administrator.login == "pgadmin"


def test_tenants_default_from_the_entra_block_to_the_environment() -> None:
    other = "0a0b0c0d-0000-4000-8000-000000000001"
    admins = f"[{GROUP}, {{objectId: {other}, principalName: app, principalType: ServicePrincipal, tenantId: {other}}}]"
    from_environment = load(
        f"authentication: {{entra: {{administrators: {admins}}}}}\n", environment=f"  tenant: {TENANT}\n"
    )
    assert from_environment.authentication.tenant_id == TENANT
    assert [a.tenant_id for a in from_environment.authentication.entra_administrators or ()] == [TENANT, other]
    assert from_environment.authentication.azure_properties()["tenantId"] == TENANT
    from_block = load(f"authentication: {{entra: {{tenantId: {other}}}}}\n", environment=f"  tenant: {TENANT}\n")
    assert from_block.authentication.tenant_id == other


def test_the_environment_tenant_may_come_from_a_variable() -> None:
    text = HEADER.format(environment="  tenant: ${AZURE_TENANT_ID}\n") + entry("pg-test")
    assert parse_spec(text, "mem.yaml", {"AZURE_TENANT_ID": TENANT.upper()}).tenant == TENANT


@pytest.mark.parametrize("value", ["yes", "[]", "1"])
def test_entra_takes_a_switch_or_a_mapping(value: str) -> None:
    path, message = refused(f"authentication: {{entra: {value}}}\n")
    assert path == "servers[0].authentication.entra"
    assert message.startswith("entra takes true, false or {tenantId, administrators}, got ")


def test_password_and_entra_both_off_is_refused() -> None:
    assert refused("authentication: {password: false, entra: false}\n", admin=False) == (
        "servers[0].authentication",
        "enable password or entra authentication (or both)",
    )


# --- derived copies keep the settings ------------------------------------------------------------------


def test_a_derived_environment_keeps_every_setting() -> None:
    text = HEADER.format(environment=f"  tenant: {TENANT}\n") + entry(
        "pg-test", admin="", storage="{sizeGb: 256, tier: P30}"
    )
    text += textwrap.indent(
        "availabilityZone: 1\nbackup: {retentionDays: 30}\n"
        "maintenanceWindow: {dayOfWeek: Fri, startHour: 4}\ndatabases: [{name: app}]\npruneDatabases: true\n"
        f"authentication: {{password: false, entra: {{administrators: [{GROUP}]}}}}\n",
        "    ",
    )
    env = parse_spec(text, "mem.yaml", {})
    derived = env.with_tls(min_version="TLSv1.3")
    assert derived.servers[0].tls.min_version == "TLSv1.3"
    assert derived.servers[0].model_dump(exclude={"tls"}) == env.servers[0].model_dump(exclude={"tls"})
    assert derived.tenant == TENANT
