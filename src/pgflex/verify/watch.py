"""``pgflex sessions --watch``: who connects over a window, not just at one instant.

A client that connects for two seconds every night is invisible to one audit query, and is exactly the client
a tighter TLS policy would break without anyone noticing. Each server is sampled (Azure's audit query over
pg_stat_ssl and pg_stat_activity) every ``interval`` seconds for ``duration`` seconds, on one session held open
for the window, and every distinct client seen is kept: user, database, application and address, when it was
first and last seen, the TLS versions it used (or "no TLS") and its peak number of sessions.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pgflex.concurrency import map_concurrently
from pgflex.engine.tls_impact import NO_TLS, Refuses
from pgflex.spec import Environment, Server
from pgflex.spec.model import TLS_VERSIONS

from . import session
from .checks import SESSIONS_KIND, Endpoint, ServerSessions, SessionsReport, Status
from .impact import network_clients
from .locate import Locator, from_clients_network
from .runner import Options, _setup, _target, unlisted

if TYPE_CHECKING:
    from pgflex.azure.clients import AzureClients


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class WatchedClient:
    user: str | None
    database: str | None
    application: str | None
    client_address: str | None
    first_seen: str
    last_seen: str
    versions: set[str] = field(default_factory=set)
    peak_sessions: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "database": self.database,
            "application": self.application,
            "clientAddress": self.client_address,
            "firstSeen": self.first_seen,
            "lastSeen": self.last_seen,
            "versions": sorted(self.versions),
            "peakSessions": self.peak_sessions,
        }


@dataclass(frozen=True)
class Policy:
    """The policy clients are judged against: a TLS minimum, and whether TLS is required at all."""

    min_version: str | None
    require_tls: bool

    def refuses(self, ssl: bool, protocol: str | None) -> bool:
        if not ssl:
            return self.require_tls
        if self.min_version is None:
            return False
        rank = TLS_VERSIONS.index(protocol) if protocol in TLS_VERSIONS else 0
        return rank < TLS_VERSIONS.index(self.min_version)

    def to_dict(self) -> dict[str, Any]:
        return {"minVersion": self.min_version, "requireTls": self.require_tls}


@dataclass(frozen=True)
class ServerWatch:
    sessions: ServerSessions  # the server's status and its last sample
    clients: tuple[WatchedClient, ...] = ()
    samples: int = 0

    def refused(self, refuses: Refuses) -> list[tuple[WatchedClient, list[str]]]:
        found = []
        for client in self.clients:
            versions = [v for v in sorted(client.versions) if refuses(v != NO_TLS, None if v == NO_TLS else v)]
            if versions:
                found.append((client, versions))
        return found

    def to_dict(self) -> dict[str, Any]:
        return {**self.sessions.to_dict(), "clients": [c.to_dict() for c in self.clients], "samples": self.samples}


@dataclass(frozen=True)
class WatchReport:
    environment: str
    cloud: str
    servers: tuple[ServerWatch, ...]
    started_at: str
    ended_at: str
    duration_seconds: float
    interval_seconds: float
    policy: Policy | None = None

    @property
    def passed(self) -> bool:
        return SessionsReport(self.environment, self.cloud, tuple(s.sessions for s in self.servers)).passed

    def refused(self) -> list[tuple[str, WatchedClient, list[str]]]:
        """(server, client, versions) for every client seen that the policy would refuse."""
        if self.policy is None:
            return []
        policy = self.policy
        return [(s.sessions.server, c, v) for s in self.servers for c, v in s.refused(policy.refuses)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": SESSIONS_KIND,
            "formatVersion": 1,
            "environment": self.environment,
            "cloud": self.cloud,
            "passed": self.passed,
            "servers": [server.to_dict() for server in self.servers],
            "watch": {
                "startedAt": self.started_at,
                "endedAt": self.ended_at,
                "durationSeconds": self.duration_seconds,
                "intervalSeconds": self.interval_seconds,
                "policy": self.policy.to_dict() if self.policy else None,
                "refused": [
                    {"server": server, **client.to_dict(), "refusedVersions": versions}
                    for server, client, versions in self.refused()
                ],
            },
        }


class _Sampler:
    """One server's distinct clients over the window."""

    def __init__(self) -> None:
        self.clients: dict[tuple[Any, ...], WatchedClient] = {}
        self.last: list[dict[str, Any]] = []
        self.samples = 0

    def record(self, rows: list[dict[str, Any]]) -> None:
        seen_at = _now()
        self.last, self.samples = rows, self.samples + 1
        counts: dict[tuple[Any, ...], int] = {}
        for row in network_clients(rows):
            key = (row["user"], row["database"], row["application"], row["clientAddress"])
            client = self.clients.setdefault(key, WatchedClient(*key, first_seen=seen_at, last_seen=seen_at))
            client.last_seen = seen_at
            client.versions.add(str(row["protocol"]) if row["ssl"] else NO_TLS)
            counts[key] = counts.get(key, 0) + 1
        for key, count in counts.items():
            self.clients[key].peak_sessions = max(self.clients[key].peak_sessions, count)


def _watch_server(server: Server, locator: Locator, options: Options, deadline: float, interval: float) -> ServerWatch:
    endpoint: Endpoint | None = None
    target: session.Target | None = None
    sampler = _Sampler()

    def sample_until_deadline(target: session.Target) -> None:
        with target.connect() as conn:
            while True:
                sampler.record(session.audit(conn))
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                time.sleep(min(interval, left))

    try:
        endpoint = locator.endpoint(server)
        # As this server's window starts (late, beyond --parallelism servers): a token renewed if it is due.
        target = logged_in = _target(server, endpoint, options)
        from_clients_network(endpoint, lambda: sample_until_deadline(logged_in))
    except Exception as failure:  # reported per server, the others still run
        return ServerWatch(unlisted(server, endpoint, target, failure, options), samples=sampler.samples)
    clients = tuple(sorted(sampler.clients.values(), key=lambda c: str(c.to_dict())))
    plaintext = sum(1 for client in clients if NO_TLS in client.versions)
    seen = f"{sampler.samples} sample(s), {len(clients)} client(s) seen, {plaintext} of them without TLS"
    detail = f"{seen}, {target.login.describe()}"
    status: Status = "warn" if plaintext else "pass"
    listed = ServerSessions(server.name, endpoint, status, detail, tuple(sampler.last), login=target.login)
    return ServerWatch(listed, clients, sampler.samples)


def watch(
    spec: Environment | str | Path,
    *,
    duration: float,
    interval: float = 1.0,
    policy: Policy | None = None,
    clients: AzureClients | None = None,
    ca_bundle: str | Path | None = None,
    host_names: Mapping[str, str] | None = None,
    servers: Sequence[str] | None = None,
    parallelism: int = 8,
    timeout: float = 10.0,
) -> WatchReport:
    """Sample every selected server for ``duration`` seconds (at least once) and report every client seen."""
    env, selected, locator, options = _setup(spec, clients, ca_bundle, host_names, servers, timeout)
    started_at, deadline = _now(), time.monotonic() + duration
    found = map_concurrently(
        lambda server: _watch_server(server, locator, options, deadline, interval), selected, parallelism
    )
    return WatchReport(env.name, env.cloud, tuple(found), started_at, _now(), duration, interval, policy)
