"""The plan: what must change, as data. No rendering and no execution here.

A plan lists, for the environment and then for each server, ordered changes with their action,
before and after values and reason. It records a fingerprint of what was observed, so that a
saved plan can be refused once the world has moved on. Its JSON form is stable and versioned: a
``pgflex.plan`` document, described by ``pgflex/schemas/plan.schema.json``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

PLAN_KIND = "pgflex.plan"
PLAN_FORMAT_VERSION = 1


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    RESTART = "restart"  # static parameters changed: the running server differs until a restart
    NOOP = "no-op"


class Kind(StrEnum):
    RESOURCE_GROUP = "resourceGroup"
    VIRTUAL_NETWORK = "virtualNetwork"
    SUBNET = "subnet"
    PRIVATE_DNS_ZONE = "privateDnsZone"
    PRIVATE_DNS_ZONE_LINK = "privateDnsZoneLink"
    SERVER = "server"
    PARAMETER = "parameter"
    FIREWALL_RULE = "firewallRule"


JSONValue = Any


@dataclass(frozen=True)
class Change:
    kind: Kind
    name: str
    action: Action
    reason: str
    before: JSONValue = None
    after: JSONValue = None
    requires_restart: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "name": self.name,
            "action": self.action.value,
            "before": self.before,
            "after": self.after,
            "reason": self.reason,
            "requiresRestart": self.requires_restart,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Change:
        return cls(
            kind=Kind(data["kind"]),
            name=str(data["name"]),
            action=Action(data["action"]),
            reason=str(data["reason"]),
            before=data.get("before"),
            after=data.get("after"),
            requires_restart=bool(data.get("requiresRestart", False)),
        )


@dataclass(frozen=True)
class PolicyException:
    rule: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "reason": self.reason}


@dataclass(frozen=True)
class ServerPlan:
    name: str
    changes: tuple[Change, ...]
    exceptions: tuple[PolicyException, ...] = ()

    @property
    def pending(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.action is not Action.NOOP)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "changes": [c.to_dict() for c in self.changes],
            "exceptions": [e.to_dict() for e in self.exceptions],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ServerPlan:
        return cls(
            name=str(data["name"]),
            changes=tuple(Change.from_dict(c) for c in data["changes"]),
            exceptions=tuple(PolicyException(str(e["rule"]), str(e["reason"])) for e in data.get("exceptions", [])),
        )


@dataclass(frozen=True)
class Plan:
    environment: str
    cloud: str
    subscription: str
    resource_group: str
    source: str  # the env file the plan was made from
    fingerprint: str  # of the observed state the plan was computed from
    environment_changes: tuple[Change, ...]
    servers: tuple[ServerPlan, ...]
    errors: tuple[str, ...] = ()  # what the plan cannot change (for example a version downgrade)
    format_version: int = PLAN_FORMAT_VERSION

    @property
    def pending(self) -> tuple[Change, ...]:
        changes = [c for c in self.environment_changes if c.action is not Action.NOOP]
        for server in self.servers:
            changes.extend(server.pending)
        return tuple(changes)

    @property
    def has_changes(self) -> bool:
        return bool(self.pending)

    def summary(self) -> dict[str, int]:
        counts = {action.value: 0 for action in Action if action is not Action.NOOP}
        for change in self.pending:
            counts[change.action.value] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": PLAN_KIND,
            "formatVersion": self.format_version,
            "environment": self.environment,
            "cloud": self.cloud,
            "subscription": self.subscription,
            "resourceGroup": self.resource_group,
            "source": self.source,
            "fingerprint": self.fingerprint,
            "summary": self.summary(),
            "hasChanges": self.has_changes,
            "errors": list(self.errors),
            "environmentChanges": [c.to_dict() for c in self.environment_changes],
            "servers": [s.to_dict() for s in self.servers],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        # Plans saved before documents carried a kind have none; any other kind is another document.
        kind = data.get("kind", PLAN_KIND)
        if kind != PLAN_KIND:
            raise ValueError(f"a {kind!r} document is not a plan (expected kind {PLAN_KIND!r})")
        version = data.get("formatVersion")
        if version != PLAN_FORMAT_VERSION:
            raise ValueError(f"plan format version {version!r} is not supported (expected {PLAN_FORMAT_VERSION})")
        return cls(
            environment=str(data["environment"]),
            cloud=str(data["cloud"]),
            subscription=str(data["subscription"]),
            resource_group=str(data["resourceGroup"]),
            source=str(data["source"]),
            fingerprint=str(data["fingerprint"]),
            environment_changes=tuple(Change.from_dict(c) for c in data["environmentChanges"]),
            servers=tuple(ServerPlan.from_dict(s) for s in data["servers"]),
            errors=tuple(str(e) for e in data.get("errors", [])),
        )


def fingerprint(observed: Any) -> str:
    """A stable digest of observed state (canonical JSON)."""
    canonical = json.dumps(observed, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
