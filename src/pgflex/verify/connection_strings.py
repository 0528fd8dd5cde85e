"""Connection strings that verify the server as ``pgflex verify`` does: ``verify-full`` against Azure's roots.

Never a password: libpq-based clients read ``PGPASSWORD`` or ``~/.pgpass``, other drivers their own setting.
What a string cannot say (where the emulator serves a name DNS does not know, a private server's network)
comes back as notes for the person, beside the string.
"""

from __future__ import annotations

import json
import shlex
import urllib.parse
from dataclasses import dataclass, field

from pgflex.emulator.client import RunningEmulator
from pgflex.spec import Environment, PrivateAccess, Server

from .locate import POSTGRES_PORT, Locator, VerifyError
from .login import OSSRDBMS_RESOURCE

DRIVERS = ("libpq", "psql", "psycopg", "jdbc", "npgsql", "node")
LIBPQ_BASED = ("libpq", "psql", "psycopg")
DEFAULT_DATABASE = "postgres"


@dataclass(frozen=True)
class ClientTarget:
    """Where a client connects and what it trusts."""

    fqdn: str  # the name the certificate carries: always the host clients give
    port: int
    database: str
    user: str
    bundle: str
    address: str | None = None  # cloud: local: where the emulator serves the FQDN, which no DNS resolves
    namespace: str | None = None  # cloud: local, private server: the network namespace standing for its network
    private_zone: str | None = None  # Azure, private server: the private DNS zone its FQDN resolves through
    entra: bool = False  # the password is a Microsoft Entra access token (password authentication is off)


@dataclass(frozen=True)
class ConnectionString:
    text: str
    notes: list[str] = field(default_factory=list)


def client_target(
    env: Environment,
    server_name: str,
    *,
    bundle: str,
    emulator: RunningEmulator | None,
    database: str = DEFAULT_DATABASE,
    user: str | None = None,
) -> ClientTarget:
    """The target for ``server_name``; VerifyError (one line) for an unknown server or one not running."""
    server = _server(env, server_name)
    entra = server.authentication.login == "entra"
    login = user or _default_login(server)
    if not login:
        raise VerifyError(f"server {server.name} has no administrator login in {env.source}; give one with --user")
    locator = Locator(env, emulator, {})
    zone = server.access.private_dns_zone.zone_name if isinstance(server.access, PrivateAccess) else None
    if emulator is None:
        return ClientTarget(
            locator.fqdn(server), POSTGRES_PORT, database, login, bundle, private_zone=zone, entra=entra
        )
    try:
        endpoint = locator.endpoint(server)
    except OSError as failure:
        raise VerifyError(str(failure)) from None
    return ClientTarget(
        endpoint.fqdn, endpoint.port, database, login, bundle, endpoint.address, endpoint.namespace, zone, entra
    )


def _default_login(server: Server) -> str | None:
    """The administrator's login; with password authentication off, the first Microsoft Entra administrator's
    role (verify's rule when the identity is none of them)."""
    if server.authentication.login == "entra":
        administrators = server.authentication.entra_administrators or ()
        return administrators[0].principal_name if administrators else None
    return server.administrator.login if server.administrator else None


def _server(env: Environment, name: str) -> Server:
    for server in env.servers:
        if server.name == name:
            return server
    known = ", ".join(server.name for server in env.servers) or "none"
    raise VerifyError(f"{env.source} has no server named {name} (its servers: {known})")


def connection_string(target: ClientTarget, driver: str) -> ConnectionString:
    if driver not in DRIVERS:
        raise VerifyError(f"unknown driver {driver!r}: choose one of {', '.join(DRIVERS)}")
    text = {
        "libpq": libpq_conninfo,
        "psycopg": libpq_conninfo,
        "psql": psql_command,
        "jdbc": jdbc_url,
        "npgsql": npgsql_string,
        "node": node_snippet,
    }[driver](target)
    return ConnectionString(text, _notes(target, driver))


# --------------------------------------------------------------------------------------------------------------
# One format per driver
# --------------------------------------------------------------------------------------------------------------


def _libpq_value(value: str) -> str:
    """A value as libpq's keyword/value syntax reads it: quoted when empty or holding spaces, quotes, backslashes."""
    if value and not any(c.isspace() or c in "'\\" for c in value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def libpq_conninfo(target: ClientTarget) -> str:
    params = {"host": target.fqdn}  # the name verify-full checks the certificate against
    if target.address:
        params["hostaddr"] = target.address  # where to connect, without asking DNS about the name
    params.update(
        port=str(target.port),
        dbname=target.database,
        user=target.user,
        sslmode="verify-full",
        sslrootcert=target.bundle,
    )
    return " ".join(f"{key}={_libpq_value(value)}" for key, value in params.items())


def psql_command(target: ClientTarget) -> str:
    return f"psql {shlex.quote(libpq_conninfo(target))}"


def jdbc_url(target: ClientTarget) -> str:
    query = urllib.parse.urlencode(
        {"user": target.user, "sslmode": "verify-full", "sslrootcert": target.bundle},
        safe="/",
        quote_via=urllib.parse.quote,
    )
    database = urllib.parse.quote(target.database, safe="")
    return f"jdbc:postgresql://{target.fqdn}:{target.port}/{database}?{query}"


def _npgsql_value(value: str) -> str:
    if not any(c in value for c in ";=\"'") and value == value.strip():
        return value
    return '"' + value.replace('"', '""') + '"'


def npgsql_string(target: ClientTarget) -> str:
    params = {
        "Host": target.fqdn,
        "Port": str(target.port),
        "Database": target.database,
        "Username": target.user,
        "SSL Mode": "VerifyFull",
        "Root Certificate": target.bundle,
    }
    return ";".join(f"{key}={_npgsql_value(value)}" for key, value in params.items())


def node_snippet(target: ClientTarget) -> str:
    # node-postgres has no hostaddr: connect to the address and name the FQDN as servername, which Node's TLS
    # then checks the certificate against (rejectUnauthorized), as verify-full does.
    host = target.address or target.fqdn
    return "\n".join(
        [
            'const fs = require("fs");',
            'const { Client } = require("pg");',
            "const client = new Client({",
            f"  host: {json.dumps(host)},",
            f"  port: {target.port},",
            f"  database: {json.dumps(target.database)},",
            f"  user: {json.dumps(target.user)},",
            "  ssl: {",
            f'    ca: fs.readFileSync({json.dumps(target.bundle)}, "utf8"),',
            f"    servername: {json.dumps(target.fqdn)},",
            "    rejectUnauthorized: true,",
            "  },",
            "});",
        ]
    )


# --------------------------------------------------------------------------------------------------------------
# What the string cannot say
# --------------------------------------------------------------------------------------------------------------


def _notes(target: ClientTarget, driver: str) -> list[str]:
    notes = [_token_note(driver) if target.entra else _password_note(driver)]
    if target.address and driver in ("jdbc", "npgsql"):
        notes.append(
            f"{driver} has no hostaddr: make {target.fqdn} resolve to {target.address} where the client runs "
            f"(an /etc/hosts line '{target.address} {target.fqdn}'); the certificate is checked against the FQDN, "
            "so connecting to the address by number would fail verification"
        )
    elif target.address:
        notes.append(
            f"cloud: local: {target.fqdn} is served by the emulator at {target.address}:{target.port} "
            "(its endpoint map); "
            + ("hostaddr=" if driver in LIBPQ_BASED else "host plus ssl.servername")
            + " connects there while the certificate is still checked against the FQDN"
        )
    if target.namespace:
        notes.append(
            f"private server: the emulator serves it inside network namespace {target.namespace} (its virtual "
            f"network), reachable only from there: run the client with `ip netns exec {target.namespace} ...` (root)"
        )
    elif target.private_zone and not target.address:
        notes.append(
            f"private server: {target.fqdn} resolves (through private DNS zone {target.private_zone}) only inside "
            "the virtual networks linked to that zone; run the client there"
        )
    return notes


def _token_note(driver: str) -> str:
    where = "PGPASSWORD" if driver in LIBPQ_BASED else "the password"
    return (
        f"password authentication is off: give a Microsoft Entra access token for {OSSRDBMS_RESOURCE} as {where} "
        "(`az account get-access-token --resource-type oss-rdbms --query accessToken -o tsv`); it lasts about an "
        "hour, so take a new one for each connection pool, never store it"
    )


def _password_note(driver: str) -> str:
    if driver in LIBPQ_BASED:
        return (
            "no password in the string: libpq reads PGPASSWORD or a ~/.pgpass line (host:port:database:user:password)"
        )
    setting = {"jdbc": "the password property", "npgsql": "Password=", "node": "the password option"}[driver]
    return f"no password in the string: give it from your secret store through {setting}, never in source"
