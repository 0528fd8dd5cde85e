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
from typing import Any, TypeVar, cast

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
T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)


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
    def from_dict(cls, data: Any, at: str = "change") -> Change:
        """Read a change as `to_dict` writes it; `at` names it in a `PlanFormatError` (e.g. servers[0].changes[2])."""
        entry = _object(data, at)
        change = cls(
            kind=_choice(Kind, entry, "kind", at),
            name=_get(entry, "name", str, at),
            action=_choice(Action, entry, "action", at),
            reason=_get(entry, "reason", str, at),
            before=entry.get("before"),
            after=entry.get("after"),
            requires_restart=_get(entry, "requiresRestart", bool, at, default=False),
        )
        _check_what_apply_reads(change, at)
        return change


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
    def from_dict(cls, data: Any, at: str = "server") -> ServerPlan:
        entry = _object(data, at)
        exceptions = []
        for index, item in enumerate(_get(entry, "exceptions", list, at, default=[])):
            where = f"{at}.exceptions[{index}]"
            exception = _object(item, where)
            exceptions.append(
                PolicyException(_get(exception, "rule", str, where), _get(exception, "reason", str, where))
            )
        changes = _get(entry, "changes", list, at)
        return cls(
            name=_get(entry, "name", str, at),
            changes=tuple(Change.from_dict(c, f"{at}.changes[{i}]") for i, c in enumerate(changes)),
            exceptions=tuple(exceptions),
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
    def from_dict(cls, data: Any) -> Plan:
        """Read a plan as `to_dict` writes it (`pgflex plan --out`).

        Anything else raises `PlanFormatError` (a ValueError) naming the key at fault: a saved plan is a file
        anyone can edit, and apply reads the values it holds.
        """
        document = _object(data, "")
        # Plans saved before documents carried a kind have none; any other kind is another document.
        kind = document.get("kind", PLAN_KIND)
        if kind != PLAN_KIND:
            raise PlanFormatError(f"a {_show(kind)} document is not a plan (expected kind {PLAN_KIND!r})")
        version = document.get("formatVersion")
        if version != PLAN_FORMAT_VERSION:
            raise PlanFormatError(
                f"plan format version {_show(version)} is not supported (expected {PLAN_FORMAT_VERSION})"
            )
        changes = _get(document, "environmentChanges", list, "")
        servers = _get(document, "servers", list, "")
        errors = _get(document, "errors", list, "", default=[])
        return cls(
            environment=_get(document, "environment", str, ""),
            cloud=_get(document, "cloud", str, ""),
            subscription=_get(document, "subscription", str, ""),
            resource_group=_get(document, "resourceGroup", str, ""),
            source=_get(document, "source", str, ""),
            fingerprint=_get(document, "fingerprint", str, ""),
            environment_changes=tuple(Change.from_dict(c, f"environmentChanges[{i}]") for i, c in enumerate(changes)),
            servers=tuple(ServerPlan.from_dict(s, f"servers[{i}]") for i, s in enumerate(servers)),
            errors=tuple(_item(e, str, f"errors[{i}]") for i, e in enumerate(errors)),
        )


class PlanFormatError(ValueError):
    """A saved plan is not what `pgflex plan --out` writes. The message starts with the key at fault."""


# --------------------------------------------------------------------------------------------------
# Reading a saved plan: every value is checked before it is used, and named by its key when it is wrong.
# --------------------------------------------------------------------------------------------------

_MISSING: Any = object()
_TYPE_NAMES: dict[type, str] = {dict: "an object", list: "a list", str: "a string", bool: "true or false"}


def _object(value: Any, at: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        where = f"{at}: " if at else ""
        raise PlanFormatError(f"{where}expected an object, got {_describe(value)}")
    return value


def _get(data: dict[str, Any], key: str, expected: type[T], at: str, *, default: Any = _MISSING) -> T:
    where = f"{at}.{key}" if at else key
    if key not in data:
        if default is _MISSING:
            raise PlanFormatError(f"{where}: missing")
        return cast(T, default)
    return _item(data[key], expected, where)


def _item(value: Any, expected: type[T], where: str) -> T:
    if not isinstance(value, expected):
        raise PlanFormatError(f"{where}: expected {_TYPE_NAMES[expected]}, got {_describe(value)}")
    return value


def _choice(enum: type[E], data: dict[str, Any], key: str, at: str) -> E:
    value = _get(data, key, str, at)
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise PlanFormatError(f"{at}.{key}: unknown {key} {_show(value)} (expected one of {allowed})") from None


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_what_apply_reads(change: Change, at: str) -> None:
    """The values apply takes from a pending change, in the shapes it takes them (see engine/apply.py)."""
    writes = change.action in (Action.CREATE, Action.UPDATE)
    after = change.after
    if writes and change.kind is Kind.VIRTUAL_NETWORK:
        prefixes = _get(_object(after, f"{at}.after"), "addressPrefixes", list, f"{at}.after")
        for index, prefix in enumerate(prefixes):
            _item(prefix, str, f"{at}.after.addressPrefixes[{index}]")
    elif writes and change.kind is Kind.SUBNET:
        _get(_object(after, f"{at}.after"), "addressPrefix", str, f"{at}.after")
        _name_with(change, "/", "vnet/subnet", at)
    elif writes and change.kind is Kind.FIREWALL_RULE:
        for key in ("start", "end"):
            _get(_object(after, f"{at}.after"), key, str, f"{at}.after")
    elif writes and change.kind is Kind.PRIVATE_DNS_ZONE_LINK:
        _name_with(change, "/", "zone/vnet", at)
    elif change.kind is Kind.SERVER and change.action is Action.UPDATE:
        _name_with(change, ".", "server.property", at)
        if change.name.endswith(".publicNetworkAccess"):
            _item(after, str, f"{at}.after")
    elif change.kind is Kind.SERVER and change.action is Action.RESTART and change.before is not None:
        pending = _get(_object(change.before, f"{at}.before"), "pendingRestart", list, f"{at}.before", default=[])
        for index, name in enumerate(pending):
            _item(name, str, f"{at}.before.pendingRestart[{index}]")


def _name_with(change: Change, separator: str, form: str, at: str) -> None:
    if separator not in change.name:
        raise PlanFormatError(f"{at}.name: expected {form}, got {_show(change.name)}")


def fingerprint(observed: Any) -> str:
    """A stable digest of observed state (canonical JSON)."""
    canonical = json.dumps(observed, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
