"""What a real client sees: a libpq session with verify-full, the server's own view of it (sslinfo,
pg_stat_ssl), and the plaintext attempt.

psycopg exposes ``ssl_in_use`` but not libpq's SSL attributes, so the negotiated protocol and cipher come
from the server: ``pg_stat_ssl`` for our own backend (always readable) and sslinfo's functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import psycopg
from psycopg.rows import dict_row

from .checks import Endpoint, Login, Status

Connection = psycopg.Connection[dict[str, Any]]
DATABASE = "postgres"
NOT_ALLOW_LISTED = "not allow-listed"

# The audit query from Azure's documentation (pg_stat_ssl joined with pg_stat_activity), plus the
# negotiated protocol and cipher.
AUDIT_QUERY = """
SELECT datname AS database, usename AS user_name, ssl, host(client_addr) AS client_address,
       application_name, backend_type, version AS protocol, cipher, bits, pg_stat_ssl.pid AS pid
  FROM pg_stat_ssl
  JOIN pg_stat_activity ON pg_stat_ssl.pid = pg_stat_activity.pid
 ORDER BY ssl, backend_type, datname, usename
"""
OWN_ROW_QUERY = """
SELECT datname AS database, usename AS user_name, ssl, host(client_addr) AS client_address,
       application_name, backend_type, version AS protocol, cipher, bits, pg_stat_ssl.pid AS pid
  FROM pg_stat_ssl
  JOIN pg_stat_activity ON pg_stat_ssl.pid = pg_stat_activity.pid
 WHERE pg_stat_ssl.pid = pg_backend_pid()
"""
# Unix-socket sessions (no client address) are the service's own and never cross a network.
NON_TLS_CLIENTS_QUERY = """
SELECT count(*) AS n
  FROM pg_stat_ssl
  JOIN pg_stat_activity ON pg_stat_ssl.pid = pg_stat_activity.pid
 WHERE NOT ssl AND backend_type = 'client backend' AND client_addr IS NOT NULL
"""


@dataclass(frozen=True)
class Target:
    """How to log in to one server: its endpoint, who (pgflex.verify.login), the trusted roots."""

    endpoint: Endpoint
    login: Login
    secret: str = field(repr=False)  # the password or token: a Target may end up in a log or a traceback
    ca_file: str
    timeout: float = 10.0

    def conninfo(self, *, tls: bool) -> dict[str, Any]:
        params: dict[str, Any] = {
            # host is the name the certificate must carry; hostaddr keeps every attempt on one address.
            "host": self.endpoint.host_name,
            "hostaddr": self.endpoint.address,
            "port": self.endpoint.port,
            "user": self.login.role,
            "dbname": DATABASE,
            "connect_timeout": max(1, int(self.timeout)),
            "application_name": "pgflex verify",
            "gssencmode": "disable",  # TLS or nothing: GSSAPI encryption would blur the plaintext check
        }
        if self.login.method == "password":
            # Never hand the password over in cleartext, even to a server that asks on a plaintext session.
            params.update(password=self.secret, require_auth="!password")
        elif tls:
            # A Microsoft Entra login sends its token as the password, in cleartext: only inside verify-full TLS.
            params["password"] = self.secret
        else:
            # Never the token without TLS: a server that asks for it there has admitted the session already.
            params["require_auth"] = "!password"
        if tls:
            params.update(sslmode="verify-full", sslrootcert=self.ca_file)
        else:
            params.update(sslmode="disable")
        return params

    def connect(self, *, tls: bool = True) -> Connection:
        return psycopg.connect(autocommit=True, row_factory=dict_row, **self.conninfo(tls=tls))


def row_to_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "database": row["database"],
        "user": row["user_name"],
        "ssl": bool(row["ssl"]),
        "clientAddress": row["client_address"],
        "application": row["application_name"],
        "backendType": row["backend_type"],
        "protocol": row["protocol"],
        "cipher": row["cipher"],
        "bits": row["bits"],
        "pid": row["pid"],
    }


def own_session(conn: Connection) -> dict[str, Any]:
    row = conn.execute(OWN_ROW_QUERY).fetchone()
    if row is None:
        raise RuntimeError("pg_stat_ssl has no row for this session's own backend")
    return row_to_json(row)


def audit(conn: Connection) -> list[dict[str, Any]]:
    return [row_to_json(row) for row in conn.execute(AUDIT_QUERY).fetchall()]


@dataclass(frozen=True)
class SslInfo:
    ssl_is_used: bool
    version: str | None
    cipher: str | None
    own_row: dict[str, Any]
    non_tls_client_sessions: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "sslIsUsed": self.ssl_is_used,
            "sslVersion": self.version,
            "sslCipher": self.cipher,
            "pgStatSsl": self.own_row,
            "nonTlsClientSessions": self.non_tls_client_sessions,
        }


class SslInfoUnavailable(Exception):
    """CREATE EXTENSION sslinfo was refused; the message says how to fix it."""


def read_sslinfo(conn: Connection) -> SslInfo:
    try:
        conn.execute("CREATE EXTENSION IF NOT EXISTS sslinfo")
    except psycopg.Error as failure:
        message = (failure.diag.message_primary or str(failure)).strip()
        if NOT_ALLOW_LISTED in message:
            raise SslInfoUnavailable(
                f"{message}. Fix: add sslinfo to the server parameter azure.extensions (in env.yaml, "
                "parameters: {azure.extensions: [sslinfo]}), or run `pgflex apply` with --verify (the default), "
                "which allow-lists it"
            ) from None
        raise SslInfoUnavailable(f"CREATE EXTENSION sslinfo failed: {message}") from None
    row = conn.execute("SELECT ssl_is_used() AS used, ssl_version() AS version, ssl_cipher() AS cipher").fetchone()
    count = conn.execute(NON_TLS_CLIENTS_QUERY).fetchone()
    assert row is not None and count is not None  # aggregate and function calls always return a row
    return SslInfo(
        ssl_is_used=bool(row["used"]),
        version=row["version"],
        cipher=row["cipher"],
        own_row=own_session(conn),
        non_tls_client_sessions=int(count["n"]),
    )


# --------------------------------------------------------------------------------------------------------------
# Reading libpq's errors
# --------------------------------------------------------------------------------------------------------------

# Messages that mean the network (firewall, routing, DNS) stopped us, not TLS. "no pg_hba.conf entry" on a
# TLS attempt is how a firewall rule that does not cover the client shows, after the handshake succeeded.
_NETWORK_MARKERS = (
    "no pg_hba.conf entry",
    "connection refused",
    "timeout expired",
    "timed out",
    "could not translate host name",
    "network is unreachable",
    "no route to host",
    "could not connect",
    "is not allowed to connect",  # Azure's gateway: client IP not in a firewall rule
)
_TLS_MARKERS = (
    "certificate",
    "does not match host name",
    "ssl error",
    "ssl syscall",
    "tlsv1 alert",
    "unsupported protocol",
    "server does not support ssl",
)
_AUTH_MARKERS = ("password authentication failed", "authentication method requirement")


_TOKEN_REFUSALS = ("authentication failed", "token")  # PostgreSQL's LDAP wording, and Azure's for Entra logins


def classify_connect_error(failure: Exception, target: Target | None = None) -> tuple[Status, str]:
    """``blocked`` for network blocks, ``fail`` for TLS failures, ``error`` for anything else; ``target`` (how
    pgflex logged in) names the principal and the server when a Microsoft Entra login is refused."""
    message = " ".join(str(failure).split())
    lowered = message.lower()
    entra = target if target is not None and target.login.method == "entra" else None
    if any(marker in lowered for marker in _TLS_MARKERS):
        return "fail", f"TLS with verify-full failed: {message}"
    if "no pg_hba.conf entry" in lowered and "ssl encryption" in lowered:
        # PostgreSQL checked pg_hba after a successful handshake: the firewall does not admit this address.
        if entra is not None:  # ... or, for a Microsoft Entra login, the role is no administrator of the server
            return "blocked", (
                f"network block (not a TLS result), or {entra.login.role} is not a Microsoft Entra administrator of "
                f"{entra.endpoint.fqdn}: no firewall rule admits this client's address for that role: {message}"
            )
        return "blocked", f"network block (not a TLS result): no firewall rule admits this client's address: {message}"
    if any(marker in lowered for marker in _NETWORK_MARKERS):
        return "blocked", f"network block (not a TLS result): {message}"
    if entra is not None and any(marker in lowered for marker in _TOKEN_REFUSALS):
        login = entra.login
        return "error", (
            f"{entra.endpoint.fqdn} refused the Microsoft Entra access token for {login.role}: the identity pgflex "
            f"runs as (object id {login.identity_object_id or 'unknown'}) must be that Microsoft Entra administrator "
            f"of the server (object id {login.object_id}), or a member of it: {message}"
        )
    if any(marker in lowered for marker in _AUTH_MARKERS):
        return "error", f"the administrator could not log in: {message}"
    return "error", message


PlaintextOutcome = Literal["refused", "accepted", "inconclusive"]
# How PostgreSQL (14+: "no encryption"; older: "SSL off") and Azure's gateway refuse a plaintext client.
_PLAINTEXT_REFUSALS = ("no encryption", "ssl off", "ssl connection is required", "sslmode=require")
# libpq's words when a server asks for a password the plaintext attempt does not give (require_auth, no token).
_CREDENTIALS_ASKED = ("server requested a cleartext password", "no password supplied")


def plaintext_attempt(target: Target) -> tuple[PlaintextOutcome, str, dict[str, Any]]:
    """The same client and login as the TLS session, with ``sslmode=disable`` (and never a token: see Target)."""
    try:
        with target.connect(tls=False) as conn:
            row = own_session(conn)
    except psycopg.OperationalError as failure:
        message = " ".join(str(failure).split())
        if any(marker in message.lower() for marker in _PLAINTEXT_REFUSALS):
            return "refused", message, {}
        if any(marker in message.lower() for marker in _CREDENTIALS_ASKED):
            # A server that requires TLS refuses a plaintext session before authentication: this one went on.
            return "accepted", f"the server asked for credentials on a session without TLS (none sent): {message}", {}
        return "inconclusive", message, {}
    if row["ssl"]:
        return "inconclusive", "sslmode=disable still produced a TLS session", row
    return "accepted", "the server admitted a session without TLS", row
