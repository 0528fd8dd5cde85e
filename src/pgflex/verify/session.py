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

from .checks import Endpoint, Status

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
    """How to log in to one server: its endpoint, the administrator, the trusted roots."""

    endpoint: Endpoint
    user: str
    password: str = field(repr=False)  # a Target may end up in a log or a traceback; the password must not
    ca_file: str
    timeout: float = 10.0

    def conninfo(self, *, tls: bool) -> dict[str, Any]:
        params: dict[str, Any] = {
            # host is the name the certificate must carry; hostaddr keeps every attempt on one address.
            "host": self.endpoint.host_name,
            "hostaddr": self.endpoint.address,
            "port": self.endpoint.port,
            "user": self.user,
            "password": self.password,
            "dbname": DATABASE,
            "connect_timeout": max(1, int(self.timeout)),
            "application_name": "pgflex verify",
            # Never hand the password over in cleartext, even to a server that asks on a plaintext session.
            "require_auth": "!password",
            "gssencmode": "disable",  # TLS or nothing: GSSAPI encryption would blur the plaintext check
        }
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


def classify_connect_error(failure: Exception) -> tuple[Status, str]:
    """``blocked`` for network blocks, ``fail`` for TLS failures, ``error`` for anything else."""
    message = " ".join(str(failure).split())
    lowered = message.lower()
    if any(marker in lowered for marker in _TLS_MARKERS):
        return "fail", f"TLS with verify-full failed: {message}"
    if "no pg_hba.conf entry" in lowered and "ssl encryption" in lowered:
        # PostgreSQL checked pg_hba after a successful handshake: the firewall does not admit this address.
        return "blocked", f"network block (not a TLS result): no firewall rule admits this client's address: {message}"
    if any(marker in lowered for marker in _NETWORK_MARKERS):
        return "blocked", f"network block (not a TLS result): {message}"
    if any(marker in lowered for marker in _AUTH_MARKERS):
        return "error", f"the administrator could not log in: {message}"
    return "error", message


PlaintextOutcome = Literal["refused", "accepted", "inconclusive"]
# How PostgreSQL (14+: "no encryption"; older: "SSL off") and Azure's gateway refuse a plaintext client.
_PLAINTEXT_REFUSALS = ("no encryption", "ssl off", "ssl connection is required", "sslmode=require")


def plaintext_attempt(target: Target) -> tuple[PlaintextOutcome, str, dict[str, Any]]:
    """The same client and credentials as the TLS session, with ``sslmode=disable``."""
    try:
        with target.connect(tls=False) as conn:
            row = own_session(conn)
    except psycopg.OperationalError as failure:
        message = " ".join(str(failure).split())
        if any(marker in message.lower() for marker in _PLAINTEXT_REFUSALS):
            return "refused", message, {}
        return "inconclusive", message, {}
    if row["ssl"]:
        return "inconclusive", "sslmode=disable still produced a TLS session", row
    return "accepted", "the server admitted a session without TLS", row
