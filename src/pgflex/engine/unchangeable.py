"""Settings an existing server cannot change in place, as plan errors at their place in the spec.

Azure takes some settings only when a server (or a database) is created: `Server.creation_only_settings()`
(geo-redundant backup, the availability zone, the administrator login) and `Database.creation_only` (charset,
collation). A live value that differs from the spec's is worded by `creation_only_error` and stops the plan:
apply writes nothing. The standby's zone is taken as the standby is created (with the server, or by the PATCH
that enables high availability) and stays while it is enabled (Terraform azurerm: "doesn't support to update
standby_availability_zone"), so an enabled standby in another zone than the spec's is an error too.
Pre-flight (engine/preflight.py) calls `unchangeable_issues`; diff makes no change of these settings.
"""

from __future__ import annotations

from typing import Any

from pgflex.spec import Environment, Server, SpecIssue, creation_only_error
from pgflex.spec.locate import SpecLocator

from .observe import ObservedServer

# Where each creation-only setting is in observe's properties, with its value in the spec's terms.
_LIVE = {
    "backup.geoRedundant": lambda properties: properties.get("geoRedundantBackup"),
    "availabilityZone": lambda properties: properties.get("availabilityZone"),
    # Hidden from the GET while password authentication is off (then there is nothing to compare).
    "administrator.login": lambda properties: properties.get("administratorLogin"),
}


def unchangeable_issues(env: Environment, current: dict[str, ObservedServer], locator: SpecLocator) -> list[SpecIssue]:
    issues: list[SpecIssue] = []
    for server in env.servers:
        observed = current[server.name]
        if not observed.exists:
            continue
        issues += _server_issues(server, observed.properties, locator)
        issues += _database_issues(server, observed, locator)
    return issues


def _server_issues(server: Server, properties: dict[str, Any], locator: SpecLocator) -> list[SpecIssue]:
    issues = []
    for key, desired in server.creation_only_settings().items():
        actual = _LIVE[key](properties)
        if actual is None or actual == desired:
            continue
        message = creation_only_error(key, _shown(actual), _shown(desired))
        if key == "availabilityZone" and properties.get("standbyAvailabilityZone") == desired:
            message += " (a failover swapped the server with its standby: fail over again to swap back)"
        issues.append(locator.server_issue(server, message, *key.split(".")))
    standby = _standby_issue(server, properties)
    if standby is not None:
        issues.append(locator.server_issue(server, standby, "highAvailability", "standbyAvailabilityZone"))
    return issues


def _standby_issue(server: Server, properties: dict[str, Any]) -> str | None:
    """The standby zone the spec names, when an enabled standby is in another (enabling it names the zone)."""
    wanted = server.high_availability.standby_availability_zone
    mode = server.high_availability.mode
    live_mode = str(properties.get("highAvailability") or "Disabled")
    live = properties.get("standbyAvailabilityZone")
    if wanted is None or live is None or live == wanted or live_mode.lower() != mode.lower():
        return None
    return creation_only_error("highAvailability.standbyAvailabilityZone", live, wanted)


def _database_issues(server: Server, observed: ObservedServer, locator: SpecLocator) -> list[SpecIssue]:
    issues = []
    live = observed.databases or {}
    for index, database in enumerate(server.databases):
        found = live.get(database.name)
        if found is None:
            continue
        for key in database.creation_only:
            actual, desired = getattr(found, key), getattr(database, key)
            if actual and actual.lower() != desired.lower():
                message = creation_only_error(f"database {database.name}: {key}", actual, desired, of="database")
                issues.append(locator.server_issue(server, message, "databases", index, key))
    return issues


def _shown(value: object) -> str:
    """A setting's value as the spec writes it (true/false, not Python's True/False)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


__all__ = ["unchangeable_issues"]
