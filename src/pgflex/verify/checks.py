"""The check model: what ``pgflex verify`` found, as data that renderers and pipelines read.

Every check has one of six statuses. Only ``pass`` and ``warn`` let a run succeed: anything the verifier
could not prove (``inconclusive``), could not reach (``blocked``) or failed to run (``error``) fails closed,
because a TLS claim nobody could check is not a passed check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["pass", "fail", "warn", "inconclusive", "blocked", "error"]
STATUSES: tuple[Status, ...] = ("pass", "warn", "fail", "inconclusive", "blocked", "error")
PASSING: frozenset[Status] = frozenset({"pass", "warn"})
# Worst first: a server's overall status is the worst of its checks.
SEVERITY: dict[Status, int] = {"error": 5, "blocked": 4, "fail": 3, "inconclusive": 2, "warn": 1, "pass": 0}

# Check names, in the order reports list them.
TLS_SESSION = "tls-session"
CERTIFICATE = "certificate"
POLICY = "policy"
SSLINFO = "sslinfo"
PLAINTEXT = "refuses-plaintext"
REFUSES_PREFIX = "refuses-"  # + a TLS version, e.g. refuses-TLSv1.1

# The JSON documents' kinds and format versions (pgflex/schemas/verify.schema.json, sessions.schema.json).
VERIFY_KIND = "pgflex.verify"
SESSIONS_KIND = "pgflex.sessions"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Check:
    server: str
    name: str
    status: Status
    detail: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.status in PASSING

    def to_dict(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "name": self.name,
            "status": self.status,
            "detail": self.detail,
            "data": self.data,
        }


@dataclass(frozen=True)
class Endpoint:
    """Where one server is reached: the name its certificate must carry, and the address every attempt uses.

    Every attempt (the libpq session, the plaintext attempt, the raw probes) goes to the same address so
    that they judge the same server; ``via`` says where the address came from.
    """

    fqdn: str
    host_name: str
    address: str
    port: int
    via: str
    namespace: str | None = None  # the emulator's stand-in for a private server's virtual network

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "fqdn": self.fqdn,
            "hostName": self.host_name,
            "address": self.address,
            "port": self.port,
            "via": self.via,
        }
        if self.namespace:
            result["namespace"] = self.namespace
        return result


LoginMethod = Literal["password", "entra"]


@dataclass(frozen=True)
class Login:
    """How pgflex logged in to a server (pgflex.verify.login chooses): who, and by what; never the secret."""

    method: LoginMethod  # the spec's `authentication.login`: the administrator's password, or an Entra token
    role: str  # the PostgreSQL role: the administrator login, or the Entra administrator's principal name
    object_id: str | None = None  # Entra: the administrator's object id
    principal_type: str | None = None  # Entra: User, Group or ServicePrincipal
    identity_object_id: str | None = None  # Entra: the oid in the token of the identity pgflex runs as

    def describe(self) -> str:
        if self.method == "password":
            return f"as {self.role} by password"
        return f"as {self.role} by Microsoft Entra token"

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "role": self.role,
            "objectId": self.object_id,
            "principalType": self.principal_type,
            "identityObjectId": self.identity_object_id,
        }


@dataclass(frozen=True)
class ServerReport:
    server: str
    endpoint: Endpoint | None
    checks: tuple[Check, ...]
    # Raw probe outcome per TLS version ("accepted", "refused", "inconclusive"), with what happened.
    versions: dict[str, dict[str, str]] = field(default_factory=dict)
    handshake: dict[str, Any] | None = None
    seconds: float = 0.0
    login: Login | None = None  # None when pgflex got no credentials to log in with

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(check.passed for check in self.checks)

    @property
    def status(self) -> Status:
        if not self.checks:
            return "error"
        return max((check.status for check in self.checks), key=SEVERITY.__getitem__)

    def check(self, name: str) -> Check:
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "status": self.status,
            "passed": self.passed,
            "endpoint": self.endpoint.to_dict() if self.endpoint else None,
            "login": self.login.to_dict() if self.login else None,
            "versions": self.versions,
            "handshake": self.handshake,
            "checks": [check.to_dict() for check in self.checks],
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class VerifyReport:
    environment: str
    cloud: str
    source: str
    servers: tuple[ServerReport, ...]
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return bool(self.servers) and all(server.passed for server in self.servers)

    @property
    def checks(self) -> tuple[Check, ...]:
        return tuple(check for server in self.servers for check in server.checks)

    def server(self, name: str) -> ServerReport:
        for server in self.servers:
            if server.server == name:
                return server
        raise KeyError(name)

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {status: 0 for status in STATUSES}
        for check in self.checks:
            found[check.status] += 1
        return found

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": VERIFY_KIND,
            "formatVersion": FORMAT_VERSION,
            "environment": self.environment,
            "cloud": self.cloud,
            "source": self.source,
            "passed": self.passed,
            "counts": self.counts(),
            "seconds": round(self.seconds, 3),
            "servers": [server.to_dict() for server in self.servers],
        }


@dataclass(frozen=True)
class ServerSessions:
    """``pgflex sessions`` for one server: the rows of Azure's audit query (``sessions``), or why there are none."""

    server: str
    endpoint: Endpoint | None
    status: Status
    detail: str
    sessions: tuple[dict[str, Any], ...] = ()  # named like its JSON key, as every result attribute is
    login: Login | None = None  # None when pgflex got no credentials to log in with

    @property
    def plaintext_clients(self) -> tuple[dict[str, Any], ...]:
        # Unix-socket sessions (no client address) are the service's own and never cross a network.
        return tuple(
            row
            for row in self.sessions
            if row["backendType"] == "client backend" and not row["ssl"] and row["clientAddress"] is not None
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "status": self.status,
            "detail": self.detail,
            "endpoint": self.endpoint.to_dict() if self.endpoint else None,
            "login": self.login.to_dict() if self.login else None,
            "sessions": list(self.sessions),
        }


@dataclass(frozen=True)
class SessionsReport:
    environment: str
    cloud: str
    servers: tuple[ServerSessions, ...]

    @property
    def passed(self) -> bool:
        # Clients without TLS are worth a warning, not a failure: listing them is the command's job.
        return bool(self.servers) and all(server.status in PASSING for server in self.servers)

    def server(self, name: str) -> ServerSessions:
        for server in self.servers:
            if server.server == name:
                return server
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": SESSIONS_KIND,
            "formatVersion": FORMAT_VERSION,
            "environment": self.environment,
            "cloud": self.cloud,
            "passed": self.passed,
            "servers": [server.to_dict() for server in self.servers],
        }
