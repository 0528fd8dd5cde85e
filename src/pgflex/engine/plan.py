"""The plan: what must change, as data. No rendering and no execution here.

A plan lists, for the environment and then for each server, ordered changes with their action,
before and after values and reason. It is bound to its inputs: it records a fingerprint of what was
observed, the digest of the spec file it was made from (and of each top-level key), the pgflex version
and its format version, so that a saved plan can be refused once any of them has moved on (see
pgflex/engine/saved.py; apply never runs a value read from a saved plan). Its JSON form is stable and
versioned: a ``pgflex.plan`` document, described by ``pgflex/schemas/plan.schema.json``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar, cast

from pgflex.spec.errors import PgflexError

if TYPE_CHECKING:
    from .tls_impact import Impact

PLAN_KIND = "pgflex.plan"
# 2: the plan is bound to its inputs (pgflexVersion, specDigest, specKeys, verify).
PLAN_FORMAT_VERSION = 2


@cache
def pgflex_version() -> str:
    """The installed pgflex's version (importlib.metadata), which every plan records."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pgflex")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


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
    ENTRA_ADMINISTRATOR = "entraAdministrator"  # named by its object id
    DATABASE = "database"


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
    # Who the change would cut off (TLS tightening only; pgflex.engine.tls_impact). Not what the change is:
    # sessions come and go, so it is never compared, and apply recomputes it rather than reading a saved one.
    impact: Impact | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "name": self.name,
            "action": self.action.value,
            "before": self.before,
            "after": self.after,
            "reason": self.reason,
            "requiresRestart": self.requires_restart,
            "impact": self.impact.to_dict() if self.impact is not None else None,
        }

    @classmethod
    def from_dict(cls, data: Any, at: str = "change") -> Change:
        """Read a change as `to_dict` writes it; `at` names it in a `PlanFormatError` (e.g. servers[0].changes[2])."""
        entry = _object(data, at, _CHANGE_KEYS)
        change = cls(
            kind=_choice(Kind, entry, "kind", at),
            name=_get(entry, "name", str, at),
            action=_choice(Action, entry, "action", at),
            reason=_get(entry, "reason", str, at),
            before=entry.get("before"),
            after=entry.get("after"),
            requires_restart=_get(entry, "requiresRestart", bool, at, default=False),
            impact=_impact(entry.get("impact"), f"{at}.impact"),
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
class Login:
    """How verify and sessions log in to a server (`authentication.login` of the spec): with the administrator's
    password as its login, or with a Microsoft Entra access token as one of the Entra administrators."""

    method: str  # "password" or "entra"
    roles: tuple[str, ...]  # the administrator's login, or the Entra administrators' principal names

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "roles": list(self.roles)}

    @classmethod
    def from_dict(cls, data: Any, at: str) -> Login:
        entry = _object(data, at, frozenset({"method", "roles"}))
        method = _get(entry, "method", str, at)
        if method not in ("password", "entra"):
            raise PlanFormatError(f"{at}.method: unknown method {_show(method)} (expected password or entra)")
        roles = _get(entry, "roles", list, at)
        return cls(method, tuple(_item(role, str, f"{at}.roles[{i}]") for i, role in enumerate(roles)))


@dataclass(frozen=True)
class ServerPlan:
    name: str
    changes: tuple[Change, ...]
    exceptions: tuple[PolicyException, ...] = ()
    login: Login | None = None  # None: not known (a plan pgflex makes always says)

    @property
    def pending(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.action is not Action.NOOP)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "changes": [c.to_dict() for c in self.changes],
            "exceptions": [e.to_dict() for e in self.exceptions],
            "login": self.login.to_dict() if self.login is not None else None,
        }

    @classmethod
    def from_dict(cls, data: Any, at: str = "server") -> ServerPlan:
        entry = _object(data, at, _SERVER_KEYS)
        exceptions = []
        for index, item in enumerate(_get(entry, "exceptions", list, at, default=[])):
            where = f"{at}.exceptions[{index}]"
            exception = _object(item, where, _EXCEPTION_KEYS)
            exceptions.append(
                PolicyException(_get(exception, "rule", str, where), _get(exception, "reason", str, where))
            )
        changes = _get(entry, "changes", list, at)
        login = entry.get("login")
        return cls(
            name=_get(entry, "name", str, at),
            changes=tuple(Change.from_dict(c, f"{at}.changes[{i}]") for i, c in enumerate(changes)),
            exceptions=tuple(exceptions),
            login=None if login is None else Login.from_dict(login, f"{at}.login"),
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
    pgflex_version: str = field(default_factory=pgflex_version)  # the pgflex that made the plan
    spec_digest: str = ""  # sha256 of the spec file's bytes (Environment.source_digest)
    spec_keys: tuple[tuple[str, str], ...] = ()  # sha256 per top-level key of the spec (Environment.source_keys)
    verify: bool = True  # planned for `pgflex verify` (sslinfo in azure.extensions), as `plan --verify/--no-verify`
    # Read from a saved document (from_dict), not computed by pgflex: apply never runs its values.
    saved: bool = field(default=False, compare=False, repr=False)

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
            "pgflexVersion": self.pgflex_version,
            "environment": self.environment,
            "cloud": self.cloud,
            "subscription": self.subscription,
            "resourceGroup": self.resource_group,
            "source": self.source,
            "specDigest": self.spec_digest,
            "specKeys": dict(self.spec_keys),
            "verify": self.verify,
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
        """Read a plan as `to_dict` writes it (`pgflex plan --out`), and nothing else.

        Anything else raises `PlanFormatError` naming the key at fault (a key pgflex does not write, a summary
        that does not count the changes, included); a plan of another format version `PlanVersionError`. The
        plan read is marked ``saved``: apply runs the plan it computes again, never this one's values.
        """
        document = _object(data, "", _PLAN_KEYS)
        kind = _get(document, "kind", str, "")
        if kind != PLAN_KIND:
            raise PlanFormatError(f"a {_show(kind)} document is not a plan (expected kind {PLAN_KIND!r})")
        version = document.get("formatVersion")
        if version != PLAN_FORMAT_VERSION:
            made_by = document.get("pgflexVersion")
            by = f"pgflex {made_by}" if isinstance(made_by, str) else "another pgflex version"
            raise PlanVersionError(
                f"made by {_show_text(by)} in plan format {_show(version)}; this is pgflex {pgflex_version()}, "
                f"which reads plan format {PLAN_FORMAT_VERSION}: make a new plan with `pgflex plan --out`"
            )
        changes = _get(document, "environmentChanges", list, "")
        servers = _get(document, "servers", list, "")
        errors = _get(document, "errors", list, "", default=[])
        plan = cls(
            environment=_get(document, "environment", str, ""),
            cloud=_get(document, "cloud", str, ""),
            subscription=_get(document, "subscription", str, ""),
            resource_group=_get(document, "resourceGroup", str, ""),
            source=_get(document, "source", str, ""),
            fingerprint=_get(document, "fingerprint", str, ""),
            environment_changes=tuple(Change.from_dict(c, f"environmentChanges[{i}]") for i, c in enumerate(changes)),
            servers=tuple(ServerPlan.from_dict(s, f"servers[{i}]") for i, s in enumerate(servers)),
            errors=tuple(_item(e, str, f"errors[{i}]") for i, e in enumerate(errors)),
            pgflex_version=_get(document, "pgflexVersion", str, ""),
            spec_digest=_get(document, "specDigest", str, ""),
            spec_keys=tuple(
                (key, _item(value, str, f"specKeys.{key}"))
                for key, value in _get(document, "specKeys", dict, "").items()
            ),
            verify=_get(document, "verify", bool, ""),
            saved=True,
        )
        # What pgflex derives from the changes must be what the document says.
        for key, derived in (("summary", plan.summary()), ("hasChanges", plan.has_changes)):
            if key not in document:
                raise PlanFormatError(f"{key}: missing")
            if not same_json(document[key], derived):
                raise PlanFormatError(f"{key}: {_show(document[key])} does not match the plan's changes")
        return plan


class SavedPlanError(PgflexError):
    """A saved plan apply will not run. Every message is one line."""


class PlanFormatError(SavedPlanError, ValueError):
    """A saved plan is not what `pgflex plan --out` writes. The message starts with the key at fault."""


class PlanVersionError(SavedPlanError):
    """A saved plan was made by another pgflex version, or in another plan format."""


class StalePlanError(SavedPlanError):
    """The saved plan was made from inputs that have changed since: the spec file, or the observed state."""


class EditedPlanError(SavedPlanError):
    """The saved plan is not the plan pgflex makes from its spec and the observed state: it was edited."""


# "impact" is read for the record only: apply assesses the impact again, and never compares it.
_CHANGE_KEYS = frozenset({"kind", "name", "action", "before", "after", "reason", "requiresRestart", "impact"})
_SERVER_KEYS = frozenset({"name", "changes", "exceptions", "login"})
_EXCEPTION_KEYS = frozenset({"rule", "reason"})
_PLAN_KEYS = frozenset(
    {
        "kind",
        "formatVersion",
        "pgflexVersion",
        "environment",
        "cloud",
        "subscription",
        "resourceGroup",
        "source",
        "specDigest",
        "specKeys",
        "verify",
        "fingerprint",
        "summary",
        "hasChanges",
        "errors",
        "environmentChanges",
        "servers",
    }
)


# --------------------------------------------------------------------------------------------------
# Reading a saved plan: every value is checked before it is used, and named by its key when it is wrong.
# --------------------------------------------------------------------------------------------------

_MISSING: Any = object()
_TYPE_NAMES: dict[type, str] = {dict: "an object", list: "a list", str: "a string", bool: "true or false"}


def _object(value: Any, at: str, keys: frozenset[str] | None = None) -> dict[str, Any]:
    """``value`` as an object; with ``keys``, one holding no other key (the documents pgflex writes)."""
    if not isinstance(value, dict):
        where = f"{at}: " if at else ""
        raise PlanFormatError(f"{where}expected an object, got {_describe(value)}")
    if keys is not None:
        for key in value:
            if key not in keys:
                where = f"{at}.{key}" if at else str(key)
                raise PlanFormatError(f"{_show_text(where)}: not a key of a pgflex plan")
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


def _show_text(text: str) -> str:
    """Text from a saved plan, shown on one line and bounded."""
    flat = " ".join(text.split())
    return flat if len(flat) <= 80 else flat[:77] + "..."


def same_json(left: Any, right: Any) -> bool:
    """Equal as JSON values: unlike ``==``, true is not 1 and 1 is not "1"."""
    return first_difference(left, right) is None


def first_difference(left: Any, right: Any, at: tuple[str | int, ...] = ()) -> tuple[str | int, ...] | None:
    """Where two JSON values first differ (object keys in ``left``'s order, then ``right``'s), or None."""
    if isinstance(left, dict) and isinstance(right, dict):
        for key in [*left, *(k for k in right if k not in left)]:
            if key not in left or key not in right:
                return (*at, key)
            found = first_difference(left[key], right[key], (*at, key))
            if found is not None:
                return found
        return None
    if isinstance(left, list) and isinstance(right, list):
        for index, (one, other) in enumerate(zip(left, right, strict=False)):
            found = first_difference(one, other, (*at, index))
            if found is not None:
                return found
        return None if len(left) == len(right) else (*at, min(len(left), len(right)))
    if isinstance(left, bool) or isinstance(right, bool) or left is None or right is None:
        return None if left is right else at
    if isinstance(left, int | float) and isinstance(right, int | float):
        return None if left == right else at
    return None if type(left) is type(right) and left == right else at


def key_path(at: tuple[str | int, ...]) -> str:
    """``servers[0].changes[3].after.start``."""
    text = ""
    for part in at:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


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


def _impact(value: Any, at: str) -> Impact | None:
    """A change's impact as `Impact.to_dict` writes it, or None."""
    if value is None:
        return None
    from .tls_impact import Impact, ImpactedClient

    entry = _object(value, at, frozenset({"status", "source", "reason", "clients"}))
    status = _get(entry, "status", str, at)
    if status not in ("affected", "none", "unknown"):
        raise PlanFormatError(f"{at}.status: unknown status {_show(status)} (expected affected, none or unknown)")
    clients = []
    for index, item in enumerate(_get(entry, "clients", list, at)):
        where = f"{at}.clients[{index}]"
        client = _object(item, where, frozenset(_IMPACTED_CLIENT_KEYS))
        for key in _IMPACTED_CLIENT_KEYS[:4]:
            if client.get(key) is not None:
                _item(client[key], str, f"{where}.{key}")
        sessions = client.get("sessions")
        if not isinstance(sessions, int) or isinstance(sessions, bool):
            raise PlanFormatError(f"{where}.sessions: expected a number of sessions, got {_describe(sessions)}")
        user, database, application, address = (client.get(key) for key in _IMPACTED_CLIENT_KEYS[:4])
        clients.append(ImpactedClient(user, database, application, address, _get(client, "tls", str, where), sessions))
    source, reason = _get(entry, "source", str, at), _get(entry, "reason", str, at)
    return Impact(status, source, reason, tuple(clients))  # type: ignore[arg-type]  # status checked above


_IMPACTED_CLIENT_KEYS = ("user", "database", "application", "clientAddress", "tls", "sessions")


def _name_with(change: Change, separator: str, form: str, at: str) -> None:
    if separator not in change.name:
        raise PlanFormatError(f"{at}.name: expected {form}, got {_show(change.name)}")


def fingerprint(observed: Any) -> str:
    """A stable digest of observed state (canonical JSON)."""
    canonical = json.dumps(observed, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
