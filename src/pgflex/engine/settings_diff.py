"""Diff of a server's settings beyond compute and network, its Microsoft Entra administrators and its databases:
pure functions over the spec and what observe read, no I/O.

Only what can change in place becomes a change here. Settings Azure takes only when a server is created
(geo-redundant backup, the availability zone, the administrator login, a database's charset and collation)
and a standby zone Azure picks are plan errors instead, reported by pre-flight with their place in the spec
(engine/unchangeable.py). Settings the spec leaves to Azure (None in the resolved model) are not compared.

Change names, after the server's name: ``storage.tier``, ``backup.retentionDays``, ``maintenanceWindow``,
``authentication.entra``, ``authentication.password``, ``authentication.tenantId``; an Entra administrator by its
object id, a database by its name.
"""

from __future__ import annotations

from typing import Any

from pgflex.spec import SYSTEM_DATABASES, Server
from pgflex.spec.constants import WEEKDAYS

from .observe import ObservedAdministrator, ObservedDatabase
from .plan import Action, Change, Kind, Login

# The change of password authentication: turning it off waits until the Entra administrators exist (an Entra-only
# server keeps it until someone can log in without it); turning it on sends the administrator and its password.
PASSWORD_AUTH = "authentication.password"  # noqa: S105 - a setting's name, not a secret

# The reason of a database the spec does not name, kept as it is (no-op) without pruneDatabases.
KEPT_DATABASE = "not in the spec: kept (pruneDatabases is off)"


def setting_changes(server: Server, actual: dict[str, Any]) -> list[Change]:
    """Updates of an existing server's settings (``actual``: observe's properties)."""
    changes: list[Change] = []

    def update(field: str, before: Any, after: Any, reason: str) -> None:
        changes.append(Change(Kind.SERVER, f"{server.name}.{field}", Action.UPDATE, reason, before=before, after=after))

    tier = server.storage.tier
    if tier is not None and actual.get("storageTier") and str(actual["storageTier"]).lower() != tier.lower():
        update("storage.tier", actual["storageTier"], tier, "storage performance tier differs")
    days = actual.get("backupRetentionDays")
    if days is not None and days != server.backup.retention_days:
        update("backup.retentionDays", days, server.backup.retention_days, "backup retention differs")
    window = actual.get("maintenanceWindow")
    if window is not None and _window_key(window) != _window_key(server.maintenance_window.azure_properties()):
        update(
            "maintenanceWindow",
            window_text(window),
            window_text(server.maintenance_window.azure_properties()),
            "maintenance window differs",
        )
    auth = server.authentication
    if actual.get("activeDirectoryAuth") is not None and actual["activeDirectoryAuth"] != auth.entra:
        update(
            "authentication.entra", actual["activeDirectoryAuth"], auth.entra, "Microsoft Entra authentication differs"
        )
    elif auth.entra and auth.tenant_id is not None and actual.get("entraTenantId") not in (None, auth.tenant_id):
        update("authentication.tenantId", actual["entraTenantId"], auth.tenant_id, "Microsoft Entra tenant differs")
    if actual.get("passwordAuth") is not None and actual["passwordAuth"] != auth.password:
        reason = (
            "password authentication differs: turned off once the Entra administrators exist"
            if not auth.password
            else f"password authentication differs: turned on with administrator {_login(server)}"
        )
        update(PASSWORD_AUTH, actual["passwordAuth"], auth.password, reason)
    return changes


def new_server_setting_changes(server: Server) -> list[Change]:
    """What a server pgflex creates needs after its creation: a custom maintenance window (Azure takes one only
    from a server that exists)."""
    window = server.maintenance_window
    if window.system_managed:
        return []
    return [
        Change(
            Kind.SERVER,
            f"{server.name}.maintenanceWindow",
            Action.UPDATE,
            "new server: a custom window is set once it exists",
            before=window_text(SYSTEM_MANAGED),
            after=window_text(window.azure_properties()),
        )
    ]


SYSTEM_MANAGED = {"customWindow": "Disabled", "dayOfWeek": 0, "startHour": 0, "startMinute": 0}


def _window_key(window: dict[str, Any]) -> tuple[Any, ...]:
    if str(window.get("customWindow", "Disabled")).lower() != "enabled":
        return ("system",)
    return (window.get("dayOfWeek"), window.get("startHour"), window.get("startMinute"))


def window_text(window: dict[str, Any]) -> dict[str, Any]:
    """A maintenance window (the API's keys) as the spec writes it."""
    if _window_key(window) == ("system",):
        return {"systemManaged": True}
    day = window.get("dayOfWeek")
    named = WEEKDAYS[day] if isinstance(day, int) and 0 <= day < len(WEEKDAYS) else day
    return {"dayOfWeek": named, "startHour": window.get("startHour"), "startMinute": window.get("startMinute")}


def _login(server: Server) -> str:
    return server.administrator.login if server.administrator else "(none)"


def administrator_changes(server: Server, actual: dict[str, ObservedAdministrator] | None) -> list[Change]:
    """The spec's Entra administrators against the server's, like firewall rules: created, updated, and deleted
    when the spec does not list them. Nothing when the spec lists none (``entra: true``)."""
    wanted = server.authentication.entra_administrators
    if wanted is None or not server.authentication.entra:
        return []
    existing = actual or {}
    changes: list[Change] = []
    for admin in wanted:
        after = admin.azure_properties()
        found = existing.get(admin.object_id.lower())
        name = admin.object_id.lower()
        if found is None:
            reason = f"add {admin.principal_type} {admin.principal_name}"
            changes.append(Change(Kind.ENTRA_ADMINISTRATOR, name, Action.CREATE, reason, after=after))
            continue
        before = _administrator(found)
        same = (
            found.principal_name == admin.principal_name
            and found.principal_type.lower() == admin.principal_type.lower()
            and (admin.tenant_id is None or (found.tenant_id or "").lower() == admin.tenant_id.lower())
        )
        action, reason = (Action.NOOP, "matches") if same else (Action.UPDATE, "principal differs")
        changes.append(Change(Kind.ENTRA_ADMINISTRATOR, name, action, reason, before=before, after=after))
    listed = {admin.object_id.lower() for admin in wanted}
    for object_id, found in sorted(existing.items()):
        if object_id not in listed:
            changes.append(
                Change(
                    Kind.ENTRA_ADMINISTRATOR, object_id, Action.DELETE, "not in the spec", before=_administrator(found)
                )
            )
    return changes


def _administrator(found: ObservedAdministrator) -> dict[str, Any]:
    before: dict[str, Any] = {"principalName": found.principal_name, "principalType": found.principal_type}
    if found.tenant_id is not None:
        before["tenantId"] = found.tenant_id
    return before


def database_changes(server: Server, actual: dict[str, ObservedDatabase] | None) -> list[Change]:
    """The spec's databases: created when missing; one the spec does not name is deleted only with
    ``pruneDatabases``, and otherwise listed as kept; Azure's and PostgreSQL's own databases are never touched.
    A charset or collation that differs is a plan error (pre-flight), not a change."""
    existing = actual or {}
    changes: list[Change] = []
    for database in server.databases:
        after = database.azure_properties()
        found = existing.get(database.name)
        if found is None:
            reason = f"{database.charset}, collation {database.collation}"
            changes.append(Change(Kind.DATABASE, database.name, Action.CREATE, reason, after=after))
        else:
            before = {"charset": found.charset, "collation": found.collation}
            changes.append(Change(Kind.DATABASE, database.name, Action.NOOP, "exists", before=before, after=after))
    named = {database.name for database in server.databases}
    for name, found in sorted(existing.items()):
        if name in named or name in SYSTEM_DATABASES:
            continue
        before = {"charset": found.charset, "collation": found.collation}
        if server.prune_databases:
            changes.append(
                Change(Kind.DATABASE, name, Action.DELETE, "not in the spec (pruneDatabases)", before=before)
            )
        else:
            changes.append(Change(Kind.DATABASE, name, Action.NOOP, KEPT_DATABASE, before=before, after=before))
    return changes


def login(server: Server) -> Login:
    """How verify and sessions log in to ``server`` (the spec's ``authentication.login``)."""
    auth = server.authentication
    if auth.login == "entra":
        return Login("entra", tuple(admin.principal_name for admin in auth.entra_administrators or ()))
    return Login("password", (_login(server),))


__all__ = [
    "KEPT_DATABASE",
    "PASSWORD_AUTH",
    "administrator_changes",
    "database_changes",
    "login",
    "new_server_setting_changes",
    "setting_changes",
    "window_text",
]
