"""Who a planned TLS change would cut off: the clients connected now (the audit query ``pgflex sessions`` runs,
same login, endpoint lookup and trusted roots), or those a recorded watch report saw (``sessions --watch``).

A server that cannot be asked gives "impact unknown" with the reason, never "no impact": a gate that lets a
change through because nobody could look would be the outage this exists to prevent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pgflex.concurrency import map_concurrently
from pgflex.engine.plan import Plan
from pgflex.engine.tls_impact import (
    NO_TLS,
    OWN_APPLICATION_PREFIX,
    Impact,
    ImpactedClient,
    Refuses,
    tightening,
    with_impacts,
)
from pgflex.spec import Environment, PgflexError

from .checks import ServerSessions
from .locate import VerifyError
from .runner import _server_sessions, _setup

if TYPE_CHECKING:
    from pgflex.azure.clients import AzureClients

LIVE_SOURCE = "sessions connected now"


def network_clients(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Client sessions that cross a network and are not pgflex's own (verify, sessions, this check)."""
    return [
        row
        for row in rows
        if row.get("backendType") == "client backend"
        and row.get("clientAddress") is not None
        and not str(row.get("application") or "").startswith(OWN_APPLICATION_PREFIX)
    ]


def refused_now(rows: Sequence[Mapping[str, Any]], refuses: Refuses) -> tuple[ImpactedClient, ...]:
    """The clients among the sessions ``rows`` that ``refuses``, one entry per client and TLS version."""
    counted: Counter[tuple[Any, Any, Any, Any, str]] = Counter()
    for row in network_clients(rows):
        ssl, protocol = bool(row.get("ssl")), row.get("protocol")
        if refuses(ssl, protocol):
            tls = str(protocol) if ssl else NO_TLS
            counted[(row.get("user"), row.get("database"), row.get("application"), row.get("clientAddress"), tls)] += 1
    return tuple(
        ImpactedClient(user, database, application, address, tls, count)
        for (user, database, application, address, tls), count in sorted(counted.items(), key=str)
    )


def _known(clients: tuple[ImpactedClient, ...], source: str) -> Impact:
    return Impact("affected" if clients else "none", source, clients=clients)


def assess(
    env: Environment,
    plan: Plan,
    *,
    clients: AzureClients | None = None,
    ca_bundle: str | Path | None = None,
    watch_report: Mapping[str, Any] | None = None,
    watch_label: str = "a watch report",
    parallelism: int = 8,
    timeout: float = 10.0,
) -> Plan:
    """``plan`` with an impact on every change that tightens TLS; the plan itself when none does (no connection).

    With ``watch_report`` (a ``pgflex sessions --watch -o json`` document), the clients it saw are judged instead
    of the sessions connected now.
    """
    found = list(tightening(plan))
    if not found:
        return plan
    if watch_report is not None:
        return with_impacts(plan, _from_watch(found, watch_report, watch_label))
    names = sorted({server.name for server, _, _ in found})
    try:
        _, selected, locator, options = _setup(env, clients, ca_bundle, None, names, timeout)
    except PgflexError as failure:  # no emulator, an unusable CA bundle, a password that cannot be read
        unknown = Impact("unknown", LIVE_SOURCE, reason=str(failure))
        return with_impacts(plan, {(server.name, change.name): unknown for server, change, _ in found})
    listed = map_concurrently(lambda server: _server_sessions(server, locator, options), selected, parallelism)
    by_name: dict[str, ServerSessions] = {entry.server: entry for entry in listed}
    impacts: dict[tuple[str, str], Impact] = {}
    for server, change, refuses in found:
        sessions = by_name[server.name]
        if sessions.status in ("pass", "warn"):
            impacts[(server.name, change.name)] = _known(refused_now(sessions.sessions, refuses), LIVE_SOURCE)
        else:
            reason = f"cannot list {server.name}'s sessions ({sessions.status}): {sessions.detail}"
            impacts[(server.name, change.name)] = Impact("unknown", LIVE_SOURCE, reason=reason)
    return with_impacts(plan, impacts)


# --------------------------------------------------------------------------------------------------------------
# A recorded watch report
# --------------------------------------------------------------------------------------------------------------


def _from_watch(
    found: list[tuple[Any, Any, Refuses]], report: Mapping[str, Any], label: str
) -> dict[tuple[str, str], Impact]:
    watch = report.get("watch") or {}
    source = f"clients seen by {label} ({watch.get('startedAt')} to {watch.get('endedAt')})"
    servers = {entry.get("server"): entry for entry in report.get("servers", []) if isinstance(entry, dict)}
    impacts: dict[tuple[str, str], Impact] = {}
    for server, change, refuses in found:
        entry = servers.get(server.name)
        if entry is None:
            impact = Impact("unknown", source, reason=f"{label} did not watch {server.name}")
        elif entry.get("status") not in ("pass", "warn"):
            impact = Impact("unknown", source, reason=f"{label} could not watch {server.name}: {entry.get('detail')}")
        else:
            impact = _known(refused_seen(entry.get("clients", []), refuses), source)
        impacts[(server.name, change.name)] = impact
    return impacts


def refused_seen(clients: Sequence[Mapping[str, Any]], refuses: Refuses) -> tuple[ImpactedClient, ...]:
    """The watched clients ``refuses``, once per TLS version they were seen using."""
    refused = []
    for client in clients:
        for version in client.get("versions", []):
            ssl = version != NO_TLS
            if refuses(ssl, version if ssl else None):
                refused.append(
                    ImpactedClient(
                        client.get("user"),
                        client.get("database"),
                        client.get("application"),
                        client.get("clientAddress"),
                        str(version),
                        int(client.get("peakSessions", 1)),
                    )
                )
    return tuple(refused)


def read_watch_report(path: Path, env: Environment) -> dict[str, Any]:
    """A ``pgflex sessions --watch -o json`` document for ``env``; VerifyError (one line) for anything else."""
    import json

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as failure:
        raise VerifyError(f"--impact-from {path}: cannot read it: {failure.strerror or failure}") from None
    except ValueError as failure:
        raise VerifyError(f"--impact-from {path}: not JSON ({failure})") from None
    if not isinstance(document, dict) or document.get("kind") != "pgflex.sessions" or "watch" not in document:
        raise VerifyError(f"--impact-from {path}: not a report of `pgflex sessions --watch ... -o json`")
    if document.get("environment") != env.name:
        raise VerifyError(
            f"--impact-from {path}: watched environment {str(document.get('environment'))[:60]!r}, not {env.name!r}"
        )
    return document
