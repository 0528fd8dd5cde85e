"""A live server's settings beyond compute, TLS and network, in the spec's shape: storage tier, zones, high
availability, backup, the maintenance window, authentication with its Microsoft Entra administrators, databases.

What the spec resolves to Azure's own default when it is silent (the size's storage tier, high availability off,
7-day local backups, a system-managed window, password on and Entra off, a database's UTF8 and en_US.utf8) is
written only where the server differs: the file says what is particular about each server, and the plan
compares the defaults all the same. Zones have no default (Azure picks one), so they are written as found.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from pydantic import ValidationError

from pgflex.engine.reads import ObservedAdministrator
from pgflex.engine.settings_diff import window_text
from pgflex.spec import SYSTEM_DATABASES
from pgflex.spec.constants import (
    AVAILABILITY_ZONES,
    DEFAULT_BACKUP_RETENTION_DAYS,
    DEFAULT_DATABASE_CHARSET,
    DEFAULT_DATABASE_COLLATION,
    STORAGE_TIERS_BY_SIZE_GB,
)
from pgflex.spec.settings import Database

from .live import LiveServer


def storage(properties: dict[str, Any]) -> dict[str, Any]:
    """`storage`, with the performance tier only when it is not the size's default."""
    size = properties["storageSizeGb"]
    found: dict[str, Any] = {"sizeGb": size, "autoGrow": bool(properties["autoGrow"])}
    tier, offered = properties.get("storageTier"), STORAGE_TIERS_BY_SIZE_GB.get(size)
    if tier and (offered is None or str(tier).lower() != offered[0].lower()):
        found["tier"] = tier
    return found


def zone(value: object) -> object:
    """An availability zone as people write it (1, not "1"); anything unexpected as found."""
    return int(str(value)) if str(value) in AVAILABILITY_ZONES else value


def high_availability(properties: dict[str, Any]) -> dict[str, Any] | None:
    """`highAvailability` (mode and standby zone) when it is on; None when off (the spec's default)."""
    mode = str(properties.get("highAvailability") or "Disabled")
    if mode.lower() == "disabled":
        return None
    found: dict[str, Any] = {"mode": mode}
    if properties.get("standbyAvailabilityZone"):
        found["standbyAvailabilityZone"] = zone(properties["standbyAvailabilityZone"])
    return found


def backup(properties: dict[str, Any]) -> dict[str, Any] | None:
    """`backup`: only what differs from 7 days, locally redundant."""
    found: dict[str, Any] = {}
    days = properties.get("backupRetentionDays")
    if days is not None and days != DEFAULT_BACKUP_RETENTION_DAYS:
        found["retentionDays"] = days
    if properties.get("geoRedundantBackup"):
        found["geoRedundant"] = True
    return found or None


def maintenance_window(properties: dict[str, Any]) -> dict[str, Any] | None:
    """A custom `maintenanceWindow` as the plan shows it; None when system-managed (the spec's default)."""
    window = properties.get("maintenanceWindow")
    if window is None:
        return None
    shown = window_text(window)
    return None if shown.get("systemManaged") else shown


def entra_tenant(servers: list[LiveServer]) -> str | None:
    """The tenant most servers with Entra authentication name (ties: alphabetical), for `environment.tenant`:
    servers and administrators in another one say theirs."""
    counts = Counter(
        str(s.properties["entraTenantId"]) for s in servers if s.entra_auth and s.properties["entraTenantId"]
    )
    return min(counts, key=lambda tenant: (-counts[tenant], tenant)) if counts else None


def authentication(live: LiveServer, tenant: str | None) -> dict[str, Any] | None:
    """`authentication` unless it is password only (the spec's default): with Entra, its administrators (the
    whole set, reconciled from then on) and a tenant other than the environment's. None listed: `entra: true`,
    which leaves administrators added later alone."""
    if not live.entra_auth:
        return None if live.password_auth else {"password": False, "entra": False}
    server_tenant = live.properties.get("entraTenantId") or None
    entra: dict[str, Any] = {}
    if server_tenant is not None and server_tenant != tenant:
        entra["tenantId"] = server_tenant
    inherited = server_tenant or tenant
    if live.administrators:
        by_name = sorted(live.administrators.items(), key=lambda item: (item[1].principal_name.lower(), item[0]))
        entra["administrators"] = [_administrator(oid, admin, inherited) for oid, admin in by_name]
    found: dict[str, Any] = {} if live.password_auth else {"password": False}
    found["entra"] = entra or True
    return found


def _administrator(object_id: str, admin: ObservedAdministrator, inherited: str | None) -> dict[str, Any]:
    found: dict[str, Any] = {
        "objectId": object_id,
        "principalName": admin.principal_name,
        "principalType": admin.principal_type,
    }
    if admin.tenant_id is not None and admin.tenant_id.lower() != (inherited or "").lower():
        found["tenantId"] = admin.tenant_id
    return found


def databases(live: LiveServer, notes: list[str]) -> list[dict[str, Any]] | None:
    """The server's own databases (not Azure's or PostgreSQL's), charset and collation only where not the
    default; one the spec cannot name is left out with a note (the plan keeps it: the spec does not prune)."""
    if live.databases is None:
        return None
    found: list[dict[str, Any]] = []
    for name, database in sorted(live.databases.items()):
        if name in SYSTEM_DATABASES:
            continue
        entry: dict[str, Any] = {"name": name}
        if database.charset and database.charset.lower() != DEFAULT_DATABASE_CHARSET.lower():
            entry["charset"] = database.charset
        if database.collation and database.collation.lower() != DEFAULT_DATABASE_COLLATION.lower():
            entry["collation"] = database.collation
        try:
            Database.model_validate(entry)
        except ValidationError as invalid:
            why = str(invalid.errors()[0]["msg"]).removeprefix("Value error, ")
            notes.append(f"database {name} left out (the spec cannot name it: {why}); the plan keeps it")
            continue
        found.append(entry)
    return found or None


def unrepresentable_authentication(live: LiveServer) -> str | None:
    """Why the spec cannot express ``live``'s authentication, or None."""
    if live.entra_auth and not live.password_auth and not live.administrators:
        return (
            "Microsoft Entra-only with no Entra administrator (no one can log in): the spec needs one; "
            "add one (az postgres flexible-server microsoft-entra-admin create), then import it"
        )
    return None


__all__ = [
    "authentication",
    "backup",
    "databases",
    "entra_tenant",
    "high_availability",
    "maintenance_window",
    "storage",
    "unrepresentable_authentication",
    "zone",
]
