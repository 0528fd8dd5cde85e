"""Server settings with Azure's rules, through the SDK: backup, zones and high availability, maintenance window,
storage tiers, and authentication (password, Microsoft Entra, or both)."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from pgflex.emulator.settings import DEFAULT_TENANT
from support.emulator import Clients, EmulatorHandle, server_body

GENERAL_PURPOSE = {"tier": "GeneralPurpose", "sku": "Standard_D2ds_v5"}
ENTRA_ONLY = {"activeDirectoryAuth": "Enabled", "passwordAuth": "Disabled"}


def _create(clients: Clients, group: str, name: str, *, general_purpose: bool = True, **properties: Any) -> Any:
    body = server_body(**(GENERAL_PURPOSE if general_purpose else {}))
    body["properties"].update(properties)
    return clients.postgres.servers.begin_create_or_update(group, name, body).result()


def _refused(emulator: EmulatorHandle, call: Any, code: str = "InvalidParameterValue") -> str:
    """The message of a write refused at once (400, nothing accepted)."""
    emulator.reset_request_count()
    with pytest.raises(HttpResponseError) as refused:
        call()
    assert refused.value.status_code == 400
    assert refused.value.error is not None and refused.value.error.code == code, refused.value.error
    assert emulator.request_count("arm") == 1
    return str(refused.value.error.message)


def test_a_server_created_with_every_setting_reads_them_back(
    clients: Clients, resource_group: str, server_name: str
) -> None:
    created = _create(
        clients,
        resource_group,
        server_name,
        availabilityZone="2",
        backup={"backupRetentionDays": 14, "geoRedundantBackup": "Enabled"},
        highAvailability={"mode": "ZoneRedundant", "standbyAvailabilityZone": "3"},
        storage={"storageSizeGB": 256, "tier": "P30", "autoGrow": "Enabled"},
        authConfig={"activeDirectoryAuth": "Enabled", "passwordAuth": "Enabled"},
    )
    server = clients.postgres.servers.get(resource_group, server_name)
    assert server.as_dict() == created.as_dict()
    assert server.availability_zone == "2"
    assert server.backup is not None
    assert (server.backup.backup_retention_days, server.backup.geo_redundant_backup) == (14, "Enabled")
    assert server.backup.earliest_restore_date is not None
    assert server.high_availability is not None
    ha = server.high_availability
    assert (ha.mode, ha.standby_availability_zone, ha.state) == ("ZoneRedundant", "3", "Healthy")
    assert server.storage is not None
    assert (server.storage.storage_size_gb, server.storage.tier, server.storage.iops) == (256, "P30", 5000)
    assert server.auth_config is not None and server.auth_config.tenant_id == DEFAULT_TENANT
    window = server.maintenance_window
    assert window is not None and (window.custom_window, window.day_of_week, window.start_hour) == ("Disabled", 0, 0)


def test_defaults_are_azures(clients: Clients, resource_group: str, server_name: str) -> None:
    server = _create(clients, resource_group, server_name, general_purpose=False)
    assert server.availability_zone == "1"
    assert server.backup is not None and (server.backup.backup_retention_days, server.backup.geo_redundant_backup) == (
        7,
        "Disabled",
    )
    assert server.high_availability is not None and server.high_availability.mode == "Disabled"
    assert server.storage is not None and (server.storage.tier, server.storage.iops) == ("P4", 120)  # 32 GiB
    assert server.auth_config is not None
    assert (server.auth_config.password_auth, server.auth_config.active_directory_auth) == ("Enabled", "Disabled")


@pytest.mark.parametrize(
    ("properties", "general_purpose", "code", "why"),
    [
        ({"backup": {"backupRetentionDays": 6}}, True, "InvalidParameterValue", "7 to 35"),
        ({"backup": {"backupRetentionDays": 36}}, True, "InvalidParameterValue", "7 to 35"),
        ({"backup": {"geoRedundantBackup": "Maybe"}}, True, "InvalidParameterValue", "Enabled, Disabled"),
        ({"availabilityZone": "4"}, True, "AvailabilityZoneNotAvailable", "Availability zone '4' isn't available"),
        ({"highAvailability": {"mode": "SameZone"}}, False, "HighAvailabilityNotSupported", "Burstable"),
        ({"highAvailability": {"mode": "ZoneRedundant", "standbyAvailabilityZone": "1"}}, True, "", "other than"),
        ({"highAvailability": {"mode": "SameZone", "standbyAvailabilityZone": "2"}}, True, "", "standby is in zone 1"),
        ({"maintenanceWindow": {"customWindow": "Enabled", "dayOfWeek": 3}}, True, "", "once it exists"),
        ({"storage": {"storageSizeGB": 128, "tier": "P4"}}, True, "", "P10, P15"),
        ({"storage": {"storageSizeGB": 128, "tier": "P30", "iops": 9000}}, True, "", "P30 gives 5000 IOPS"),
        ({"storage": {"storageSizeGB": 128, "type": "UltraSSD_LRS"}}, True, "", "Premium_LRS"),
        ({"authConfig": {"passwordAuth": "Disabled"}}, True, "", "Microsoft Entra authentication on"),
        ({"authConfig": ENTRA_ONLY}, True, "", "cannot be set when a server is created with password"),
        ({"administratorLoginPassword": None}, True, "MissingRequiredParameter", "AdministratorLoginPassword"),
    ],
)
def test_settings_azure_refuses_at_creation(
    clients: Clients,
    emulator: EmulatorHandle,
    resource_group: str,
    server_name: str,
    properties: dict[str, Any],
    general_purpose: bool,
    code: str,
    why: str,
) -> None:
    message = _refused(
        emulator,
        lambda: _create(clients, resource_group, server_name, general_purpose=general_purpose, **properties),
        code or "InvalidParameterValue",
    )
    assert why in message
    assert server_name not in [s.name for s in clients.postgres.servers.list_by_resource_group(resource_group)]


def test_creation_only_settings_are_refused_on_update_and_accepted_unchanged(
    clients: Clients, emulator: EmulatorHandle, resource_group: str, server_name: str
) -> None:
    servers = clients.postgres.servers
    _create(
        clients,
        resource_group,
        server_name,
        backup={"geoRedundantBackup": "Enabled"},
        highAvailability={"mode": "ZoneRedundant"},
    )
    before = servers.get(resource_group, server_name).as_dict()
    for change, why in [
        ({"backup": {"geoRedundantBackup": "Disabled"}}, "Geo-redundant backup is set when a server is created"),
        ({"availabilityZone": "3"}, "restart with failover"),
        ({"highAvailability": {"standbyAvailabilityZone": "3"}}, "standby's availability zone"),
        ({"highAvailability": {"mode": "SameZone"}}, "disable it before enabling SameZone"),
    ]:
        message = _refused(
            emulator, lambda change=change: servers.begin_update(resource_group, server_name, {"properties": change})
        )
        assert why in message
    assert servers.get(resource_group, server_name).as_dict() == before
    # The same values again (as Terraform sends them with every backup change) are accepted.
    same = {
        "backup": {"backupRetentionDays": 21, "geoRedundantBackup": "Enabled"},
        "availabilityZone": "1",
        "highAvailability": {"mode": "ZoneRedundant", "standbyAvailabilityZone": "2"},
    }
    updated = servers.begin_update(resource_group, server_name, {"properties": same}).result()
    assert updated.backup is not None and updated.backup.backup_retention_days == 21
    assert (
        updated.as_dict()["properties"]["backup"]["earliestRestoreDate"]
        == (before["properties"]["backup"]["earliestRestoreDate"])
    )


def test_high_availability_off_and_on_again_and_not_on_burstable(
    clients: Clients, emulator: EmulatorHandle, resource_group: str, server_name: str
) -> None:
    servers = clients.postgres.servers
    _create(clients, resource_group, server_name, availabilityZone="2", highAvailability={"mode": "SameZone"})
    ha = servers.get(resource_group, server_name).high_availability
    assert ha is not None and ha.standby_availability_zone == "2"
    to_burstable = {"sku": {"name": "Standard_B2s", "tier": "Burstable"}}
    _refused(
        emulator,
        lambda: servers.begin_update(resource_group, server_name, to_burstable),
        "HighAvailabilityNotSupported",
    )
    off = servers.begin_update(resource_group, server_name, {"properties": {"highAvailability": {"mode": "Disabled"}}})
    assert off.result().high_availability.as_dict() == {"mode": "Disabled", "state": "NotEnabled"}
    # Enabled on an existing server, the service picks the standby's zone.
    on = servers.begin_update(
        resource_group, server_name, {"properties": {"highAvailability": {"mode": "ZoneRedundant"}}}
    )
    ha = on.result().high_availability
    assert ha is not None and (ha.mode, ha.standby_availability_zone) == ("ZoneRedundant", "1")
    servers.begin_update(
        resource_group, server_name, {"properties": {"highAvailability": {"mode": "Disabled"}}}
    ).result()
    assert servers.begin_update(resource_group, server_name, to_burstable).result().sku.tier == "Burstable"


def test_a_restart_with_failover_swaps_the_zones(
    clients: Clients, emulator: EmulatorHandle, resource_group: str, server_name: str
) -> None:
    servers = clients.postgres.servers
    _create(clients, resource_group, server_name, highAvailability={"mode": "ZoneRedundant"})
    failover = {"restartWithFailover": True, "failoverMode": "PlannedFailover"}
    servers.begin_restart(resource_group, server_name, failover).result()
    server = servers.get(resource_group, server_name)
    assert server.availability_zone == "2"
    assert server.high_availability is not None and server.high_availability.standby_availability_zone == "1"
    servers.begin_update(
        resource_group, server_name, {"properties": {"highAvailability": {"mode": "Disabled"}}}
    ).result()
    assert "needs high availability" in _refused(
        emulator, lambda: servers.begin_restart(resource_group, server_name, failover)
    )


def test_maintenance_window_custom_and_system_managed(
    clients: Clients, emulator: EmulatorHandle, resource_group: str, server_name: str
) -> None:
    servers = clients.postgres.servers
    _create(clients, resource_group, server_name, maintenanceWindow={"customWindow": "Disabled"})
    custom = {"customWindow": "Enabled", "dayOfWeek": 3, "startHour": 2, "startMinute": 30}
    updated = servers.begin_update(resource_group, server_name, {"properties": {"maintenanceWindow": custom}}).result()
    assert updated.maintenance_window is not None and updated.maintenance_window.as_dict() == {
        "customWindow": "Enabled",
        "dayOfWeek": 3,
        "startHour": 2,
        "startMinute": 30,
    }
    later = servers.begin_update(resource_group, server_name, {"properties": {"maintenanceWindow": {"startHour": 4}}})
    assert later.result().maintenance_window.start_hour == 4  # the rest of the window stays
    for bad, why in [
        ({"startHour": 24}, "0 to 23"),
        ({"dayOfWeek": 7}, "0 to 6"),
        ({"startMinute": 60}, "0 to 59"),
        ({"customWindow": "Disabled", "dayOfWeek": 2}, "needs a custom window"),
    ]:
        message = _refused(
            emulator,
            lambda bad=bad: servers.begin_update(
                resource_group, server_name, {"properties": {"maintenanceWindow": bad}}
            ),
        )
        assert why in message
    system = servers.begin_update(
        resource_group, server_name, {"properties": {"maintenanceWindow": {"customWindow": "Disabled"}}}
    ).result()
    assert system.maintenance_window is not None
    assert (system.maintenance_window.custom_window, system.maintenance_window.day_of_week) == ("Disabled", 0)


def test_storage_tiers_follow_the_size(
    clients: Clients, emulator: EmulatorHandle, resource_group: str, server_name: str
) -> None:
    servers = clients.postgres.servers
    _create(clients, resource_group, server_name, storage={"storageSizeGB": 32, "tier": "P10"})
    grown = servers.begin_update(resource_group, server_name, {"properties": {"storage": {"storageSizeGB": 64}}})
    storage = grown.result().storage
    assert storage is not None and (storage.storage_size_gb, storage.tier, storage.iops) == (64, "P10", 500)
    grown = servers.begin_update(resource_group, server_name, {"properties": {"storage": {"storageSizeGB": 1024}}})
    storage = grown.result().storage
    assert storage is not None and (storage.tier, storage.iops) == ("P30", 5000)  # raised to the size's default
    assert "P30, P40, P50" in _refused(
        emulator,
        lambda: servers.begin_update(resource_group, server_name, {"properties": {"storage": {"tier": "P20"}}}),
    )


def test_an_entra_only_server_has_no_password_administrator(
    clients: Clients, emulator: EmulatorHandle, resource_group: str, server_name: str
) -> None:
    servers = clients.postgres.servers
    body = server_body()
    body["properties"] = {"version": "16", "authConfig": ENTRA_ONLY, "storage": {"storageSizeGB": 32}}
    created = servers.begin_create_or_update(resource_group, server_name, body).result()
    assert created.administrator_login is None
    assert created.auth_config is not None and created.auth_config.as_dict() == {
        "activeDirectoryAuth": "Enabled",
        "passwordAuth": "Disabled",
        "tenantId": DEFAULT_TENANT,
    }
    password_on = {"authConfig": {"passwordAuth": "Enabled"}}
    assert "AdministratorLogin" in _refused(
        emulator,
        lambda: servers.begin_update(resource_group, server_name, {"properties": password_on}),
        "MissingRequiredParameter",
    )
    assert "only while password authentication is on" in _refused(
        emulator,
        lambda: servers.begin_update(
            resource_group, server_name, {"properties": {"administratorLoginPassword": "Emul4tor-Passw0rd!"}}
        ),
    )
    # Password authentication turned on later: the login comes with it, once and for good.
    first_login = {**password_on, "administratorLogin": "latecomer", "administratorLoginPassword": "Emul4tor-Passw0rd!"}
    updated = servers.begin_update(resource_group, server_name, {"properties": first_login}).result()
    assert updated.administrator_login == "latecomer"
    assert "cannot be changed" in _refused(
        emulator,
        lambda: servers.begin_update(resource_group, server_name, {"properties": {"administratorLogin": "other"}}),
    )


def test_password_authentication_off_hides_the_login_and_on_shows_it_again(
    clients: Clients, emulator: EmulatorHandle, resource_group: str, server_name: str
) -> None:
    servers = clients.postgres.servers
    _create(clients, resource_group, server_name)
    assert "Microsoft Entra authentication on" in _refused(
        emulator,
        lambda: servers.begin_update(
            resource_group, server_name, {"properties": {"authConfig": {"passwordAuth": "Disabled"}}}
        ),
    )
    entra_only = servers.begin_update(resource_group, server_name, {"properties": {"authConfig": ENTRA_ONLY}}).result()
    assert entra_only.administrator_login is None  # as the service's GET does while password authentication is off
    both = {"authConfig": {"passwordAuth": "Enabled"}}
    assert servers.begin_update(resource_group, server_name, {"properties": both}).result().administrator_login == (
        "pgadmin"
    )


def test_enabling_high_availability_on_an_existing_server_may_name_the_standby_zone(
    clients: Clients, emulator: EmulatorHandle, resource_group: str, server_name: str
) -> None:
    servers = clients.postgres.servers
    _create(clients, resource_group, server_name, availabilityZone="1")
    enable = {"highAvailability": {"mode": "ZoneRedundant", "standbyAvailabilityZone": "3"}}
    ha = servers.begin_update(resource_group, server_name, {"properties": enable}).result().high_availability
    assert (ha.mode, ha.standby_availability_zone) == ("ZoneRedundant", "3")
