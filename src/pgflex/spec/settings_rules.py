"""Checks across a server's settings that Azure would refuse, or that would lose data, run on each server
merged with `defaults` (beside pgflex.spec.rules, which calls them). Checks that need the region's
capabilities (zones offered, geo-redundant backup, HA per SKU) are the plan's (pgflex.engine.preflight).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from pgflex.spec.document import ServerSpec
from pgflex.spec.findings import Finding, Loc

ItemT = TypeVar("ItemT")


def settings_findings(base: Loc, server: ServerSpec) -> list[Finding]:
    return [
        *_high_availability(base, server),
        *_entra(base, server),
        *_databases(base, server),
    ]


def _high_availability(base: Loc, server: ServerSpec) -> list[Finding]:
    ha, sku, zone = server.high_availability, server.sku, server.availability_zone
    if ha is None:
        return []
    ha_loc = (*base, "highAvailability")
    if sku is not None and sku.tier == "Burstable" and ha.mode != "Disabled":
        return [
            Finding(
                (*ha_loc, "mode"),
                f"high availability ({ha.mode}) is not available on the Burstable tier ({sku.name})",
            )
        ]
    standby = ha.standby_availability_zone
    if standby is None or zone is None:
        return []
    if ha.mode == "ZoneRedundant" and standby == zone:
        return [
            Finding(
                (*ha_loc, "standbyAvailabilityZone"),
                f"a zone-redundant standby must be in another zone than the server (availabilityZone {zone})",
            )
        ]
    if ha.mode == "SameZone" and standby != zone:
        return [
            Finding(
                (*ha_loc, "standbyAvailabilityZone"),
                f"a same-zone standby is in the server's zone (availabilityZone {zone}): set {zone}, remove "
                "standbyAvailabilityZone, or use mode ZoneRedundant",
            )
        ]
    return []


def _entra(base: Loc, server: ServerSpec) -> list[Finding]:
    auth = server.authentication
    if auth is None or auth.entra is None:
        return []
    entra_loc = (*base, "authentication", "entra")
    administrators = auth.entra.administrators
    if not auth.password and not administrators:
        where = entra_loc if administrators is None else (*entra_loc, "administrators")
        return [
            Finding(
                where,
                "an Entra-only server (password: false) needs at least one Entra administrator: list it under "
                "authentication.entra.administrators as {objectId, principalName, principalType}",
            )
        ]
    admins_loc = (*entra_loc, "administrators")
    listed = administrators or []
    return [
        *_duplicates(listed, admins_loc, "objectId", lambda admin: admin.object_id, "objectId"),
        *_duplicates(listed, admins_loc, "principalName", lambda admin: admin.principal_name, "principalName"),
    ]


def _databases(base: Loc, server: ServerSpec) -> list[Finding]:
    if server.prune_databases and server.databases is None:
        return [
            Finding(
                (*base, "pruneDatabases"),
                "pruneDatabases deletes the databases the spec does not name: list the ones to keep under "
                "databases (databases: [] deletes every database but the system ones)",
            )
        ]
    databases = server.databases or []
    return _duplicates(databases, (*base, "databases"), "name", lambda database: database.name, "database name")


def _duplicates(items: Sequence[ItemT], loc: Loc, key: str, value: Callable[[ItemT], str], what: str) -> list[Finding]:
    """One finding per item whose `value` an earlier item already has, at that item's `key`."""
    first: dict[str, int] = {}
    findings: list[Finding] = []
    for position, item in enumerate(items):
        seen = first.setdefault(value(item), position)
        if seen != position:
            findings.append(Finding((*loc, position, key), f"duplicate {what} {value(item)!r} (see {loc[-1]}[{seen}])"))
    return findings
