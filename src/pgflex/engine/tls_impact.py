"""Who a tighter TLS policy cuts off: which planned changes tighten TLS, the impact attached to them, and the
gate apply puts in front of them.

This module is data and judgement only. Finding the clients means connecting to the servers, which is the
verify layer's job (pgflex.verify.impact); the engine never imports it. A change's impact is not part of
what a saved plan is compared on (sessions come and go): apply recomputes it from the live servers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from pgflex.spec.errors import PgflexError
from pgflex.spec.model import TLS_VERSIONS

from .plan import Action, Change, Kind, Plan, ServerPlan

ImpactStatus = Literal["affected", "none", "unknown"]
NO_TLS = "no TLS"
# pgflex's own sessions (verify, sessions, the impact check itself) are never a client the policy cuts off.
OWN_APPLICATION_PREFIX = "pgflex"


@dataclass(frozen=True)
class ImpactedClient:
    """One client (user, database, application, address, TLS version) the change would refuse."""

    user: str | None
    database: str | None
    application: str | None
    client_address: str | None
    tls: str  # the protocol it uses (TLSv1.2, ...), or NO_TLS
    sessions: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "database": self.database,
            "application": self.application,
            "clientAddress": self.client_address,
            "tls": self.tls,
            "sessions": self.sessions,
        }

    def describe(self) -> str:
        return (
            f"{self.application or '(no application_name)'} (user {self.user}, database {self.database}, "
            f"{self.client_address}, {self.tls}, {self.sessions} session(s))"
        )


@dataclass(frozen=True)
class Impact:
    """What a TLS-tightening change would do to the clients seen: ``affected`` (some refused, listed),
    ``none`` (every client seen keeps working), ``unknown`` (the clients could not be seen: ``reason`` says why).
    ``source`` says where the clients were seen: live sessions, or a recorded watch report."""

    status: ImpactStatus
    source: str
    reason: str = ""
    clients: tuple[ImpactedClient, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "source": self.source,
            "reason": self.reason,
            "clients": [client.to_dict() for client in self.clients],
        }

    def describe(self) -> str:
        if self.status == "unknown":
            return f"impact unknown: {self.reason}"
        if self.status == "none":
            return f"no client seen would be refused ({self.source})"
        return f"would refuse {len(self.clients)} client(s) ({self.source}): " + "; ".join(
            client.describe() for client in self.clients
        )


# A session as the audit query reports it (pgflex.verify.session.row_to_json): keys ssl, protocol, ...
SessionRow = dict[str, Any]
Refuses = Callable[[bool, str | None], bool]  # (uses TLS, protocol) -> would the new policy refuse it


def _rank(version: Any) -> int | None:
    return TLS_VERSIONS.index(version) if version in TLS_VERSIONS else None


def refusal_test(change: Change) -> Refuses | None:
    """How to tell a session this change would refuse; None when the change does not tighten TLS."""
    if change.kind is not Kind.PARAMETER or change.action is not Action.UPDATE or change.before is None:
        return None
    before, after = change.before, change.after
    if change.name == "require_secure_transport":
        if str(before).lower() == "off" and str(after).lower() == "on":
            return lambda ssl, protocol: not ssl
        return None
    new = _rank(after)
    if new is None:
        return None
    if change.name == "ssl_min_protocol_version":
        old = _rank(before)
        if old is not None and new > old:
            return lambda ssl, protocol: ssl and (_rank(protocol) or 0) < new
        return None
    if change.name == "ssl_max_protocol_version":
        old = _rank(before) if before else len(TLS_VERSIONS)  # "" means no maximum
        if old is not None and new < old:
            return lambda ssl, protocol: ssl and (_rank(protocol) or 0) > new
    return None


def tightening(plan: Plan) -> Iterator[tuple[ServerPlan, Change, Refuses]]:
    """Every change that tightens TLS on a server that exists (a server being created has no clients yet)."""
    for server in plan.servers:
        if any(c.kind is Kind.SERVER and c.action is Action.CREATE for c in server.changes):
            continue
        for change in server.pending:
            test = refusal_test(change)
            if test is not None:
                yield server, change, test


def with_impacts(plan: Plan, impacts: dict[tuple[str, str], Impact]) -> Plan:
    """``plan`` with ``impacts`` ((server, parameter) -> Impact) attached to their changes."""
    from dataclasses import replace

    servers = tuple(
        replace(
            server,
            changes=tuple(
                replace(change, impact=impacts[(server.name, change.name)])
                if (server.name, change.name) in impacts and change.kind is Kind.PARAMETER
                else change
                for change in server.changes
            ),
        )
        for server in plan.servers
    )
    return replace(plan, servers=servers)


# --------------------------------------------------------------------------------------------------------------
# The gate
# --------------------------------------------------------------------------------------------------------------


class ImpactNotAcceptedError(PgflexError):
    """Apply refused: a TLS change would refuse clients (or nobody could tell), and it was not accepted."""


def unaccepted(plan: Plan) -> list[tuple[str, Change, Impact]]:
    """(server, change, impact) for every pending change whose impact is affected or unknown."""
    found = []
    for server in plan.servers:
        for change in server.pending:
            if change.impact is not None and change.impact.status != "none":
                found.append((server.name, change, change.impact))
    return found


def refusal_message(found: list[tuple[str, Change, Impact]]) -> str:
    """One line naming each change and the clients it would refuse (or why nobody could tell)."""
    parts = [
        f"{server}: {change.name} {change.before or '(none)'} → {change.after}: {impact.describe()}"
        for server, change, impact in found
    ]
    advice = "nothing was applied; pass --accept-impact (library: accept_impact=True) to apply anyway"
    return "a TLS change would cut clients off: " + " | ".join(parts) + f"; {advice}"


def check_accepted(plan: Plan, *, accept_impact: bool) -> None:
    """Refuse (ImpactNotAcceptedError) a plan with an affected or unknown impact, unless it is accepted."""
    found = unaccepted(plan)
    if found and not accept_impact:
        raise ImpactNotAcceptedError(refusal_message(found))
