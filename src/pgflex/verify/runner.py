"""Run the checks for every server of an environment, servers in parallel, and return the report.

Each server is judged in a fixed order, because later checks mean something only when earlier ones
held: the plaintext refusal proves TLS enforcement only after the same client and credentials got in
over TLS, and a refused TLS version proves something only when the same path carries an accepted one.

A refusal proves something about the server in the spec only when that server's identity was verified:
a refusal probe or the plaintext check passes only after a verify-full session to the same address and
port succeeded in the same run. Otherwise whoever answered (another server, an interceptor, a server whose
certificate nobody could check) refused, and the check is inconclusive, which fails the run.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg

from pgflex.concurrency import map_concurrently
from pgflex.spec import Environment, Server, load_spec, resolve_password
from pgflex.spec.model import TLS_VERSIONS

from . import probes, session
from .checks import (
    CERTIFICATE,
    PLAINTEXT,
    POLICY,
    REFUSES_PREFIX,
    SSLINFO,
    TLS_SESSION,
    Check,
    Endpoint,
    Login,
    ServerReport,
    ServerSessions,
    SessionsReport,
    Status,
    VerifyReport,
)
from .locate import Locator, VerifyError, from_clients_network, running_emulator
from .login import Logins, LoginUnavailable
from .trust import trusted_roots

if TYPE_CHECKING:
    # The Azure SDK is imported only when a password lives in Key Vault or a server logs in by Microsoft Entra
    # token (see _setup): the management clients and azure-core took half a second of every verify run.
    from pgflex.azure.clients import AzureClients

EXPIRY_WARNING_DAYS = 30
UNVERIFIED = "the server's identity was not verified"


@dataclass(frozen=True)
class Options:
    ca_file: str
    host_names: Mapping[str, str]
    timeout: float
    logins: Logins  # how to log in to each server: its administrator's password or a Microsoft Entra token


# --------------------------------------------------------------------------------------------------------------
# One server
# --------------------------------------------------------------------------------------------------------------


def _version_index(version: str) -> int:
    return [str(known) for known in TLS_VERSIONS].index(version)


def _outside_policy(server: Server) -> list[str]:
    """Versions the server must refuse: below the minimum and above the maximum."""
    low = _version_index(server.tls.min_version)
    high = _version_index(server.tls.max_version) if server.tls.max_version else len(TLS_VERSIONS) - 1
    return [version for index, version in enumerate(TLS_VERSIONS) if index < low or index > high]


class ServerRun:
    """Collects one server's checks while they run."""

    def __init__(self, server: Server, endpoint: Endpoint, target: session.Target, options: Options) -> None:
        self.server = server
        self.endpoint = endpoint
        self.target = target
        self.options = options
        self.checks: list[Check] = []
        self.handshake: probes.Handshake | None = None
        self.versions: dict[str, probes.ProbeResult] = {}

    def add(self, name: str, status: Status, detail: str, **data: Any) -> Check:
        check = Check(self.server.name, name, status, detail, data)
        self.checks.append(check)
        return check

    def run(self) -> None:
        self.versions = {
            version: probes.probe_version(self.endpoint, version, timeout=self.options.timeout)
            for version in probes.TLS_VERSIONS
        }
        session_check, info = self._session_and_sslinfo()
        self._certificate()
        self._policy(session_check)
        self._sslinfo(session_check, info)
        self._plaintext(session_check)
        self._refusals(session_check)
        order = {TLS_SESSION: 0, CERTIFICATE: 1, POLICY: 2, SSLINFO: 3, PLAINTEXT: 4}
        self.checks.sort(key=lambda check: (order.get(check.name, 5), check.name))

    # -- the libpq session ------------------------------------------------------------------------------------

    def _session_and_sslinfo(self) -> tuple[Check, session.SslInfo | str]:
        try:
            with self.target.connect() as conn:
                # Where libpq's verified session actually went: the refusals count only for that address.
                address, port = conn.info.hostaddr, conn.info.port
                row = session.own_session(conn)
                try:
                    info: session.SslInfo | str = session.read_sslinfo(conn)
                except session.SslInfoUnavailable as failure:
                    info = str(failure)
        except psycopg.OperationalError as failure:
            status, detail = session.classify_connect_error(failure, self.target)
            return self.add(TLS_SESSION, status, self.options.logins.scrub(detail)), detail
        if not row["ssl"]:
            return self.add(TLS_SESSION, "fail", "verify-full produced a session without TLS", session=row), ""
        login = self.target.login.describe()
        detail = f"verify-full session to {self.endpoint.host_name} {login}: {row['protocol']}, {row['cipher']}"
        check = self.add(
            TLS_SESSION,
            "pass",
            detail,
            protocol=row["protocol"],
            cipher=row["cipher"],
            session=row,
            address=address,
            port=port,
        )
        return check, info

    def _sslinfo(self, session_check: Check, info: session.SslInfo | str) -> None:
        if session_check.status != "pass":
            self.add(SSLINFO, "inconclusive", f"not run: {_no_session(session_check)}")
        elif isinstance(info, str):
            self.add(SSLINFO, "fail", info)
        elif not info.ssl_is_used:
            self.add(SSLINFO, "fail", "ssl_is_used() is false for the verify-full session", **info.to_dict())
        else:
            detail = f"ssl_is_used() true, {info.version}, {info.cipher}"
            status: Status = "pass"
            if info.non_tls_client_sessions:
                status = "warn"
                detail += f"; {info.non_tls_client_sessions} client session(s) without TLS (see `pgflex sessions`)"
            self.add(SSLINFO, status, detail, **info.to_dict())

    # -- certificate ------------------------------------------------------------------------------------------

    def _certificate(self) -> None:
        try:
            shake = probes.certificate_handshake(self.endpoint, self.options.ca_file, timeout=self.options.timeout)
        except probes.TlsNotOffered as failure:
            self.add(CERTIFICATE, "fail", str(failure))
            return
        except ssl.SSLError as failure:  # an OSError too, but a TLS result, not a network one
            self.add(CERTIFICATE, "fail", f"TLS handshake failed: {failure.reason or failure}")
            return
        except OSError as failure:
            self.add(CERTIFICATE, "blocked", f"network block (not a TLS result): {failure}")
            return
        self.handshake = shake
        leaf = shake.leaf
        # The whole chain is in the report's handshake; the check keeps what its verdict rests on.
        data: dict[str, Any] = {
            "subject": leaf.subject if leaf else None,
            "dnsNames": list(leaf.dns_names) if leaf else [],
            "caBundle": self.options.ca_file,
        }
        if not shake.verified or leaf is None:
            names = ", ".join(leaf.dns_names) if leaf else "none"
            detail = f"{shake.verify_error} (verifying {self.endpoint.host_name}; the certificate names {names})"
            self.add(CERTIFICATE, "fail", detail, **data)
            return
        days = leaf.days_left()
        anchor = shake.trust_anchor.subject if shake.trust_anchor else "?"
        data.update(daysLeft=days, trustAnchor=anchor, notAfter=leaf.not_after.isoformat())
        detail = f"chains to {anchor}; names {self.endpoint.host_name}; expires in {days} days"
        status: Status = "warn" if days < EXPIRY_WARNING_DAYS else "pass"
        self.add(CERTIFICATE, status, detail, **data)

    # -- policy and refusals ----------------------------------------------------------------------------------

    def _policy(self, session_check: Check) -> None:
        if session_check.status != "pass":
            self.add(POLICY, "inconclusive", f"nothing to judge: {_no_session(session_check)}")
            return
        version = str(session_check.data["protocol"])
        inside = version in TLS_VERSIONS and version not in _outside_policy(self.server)
        status: Status = "pass" if inside else "fail"
        where = "within" if inside else "outside"
        self.add(POLICY, status, f"negotiated {version}, {where} the spec's {self._window()}", negotiated=version)

    def _identity_unverified(self, session_check: Check) -> str | None:
        """Why the server answering at the endpoint is not proven to be the spec's server, or None."""
        where = f"{self.endpoint.address}:{self.endpoint.port}"
        if session_check.status != "pass":
            return (
                f"{UNVERIFIED} at {where}: no verify-full TLS session to it succeeded in this run "
                f"(tls-session {session_check.status}), so a refusal there proves nothing about this server"
            )
        seen = f"{session_check.data.get('address')}:{session_check.data.get('port')}"
        if seen != where:
            return f"{UNVERIFIED} at {where}: the verify-full session went to {seen}, so a refusal proves nothing"
        return None

    def _path_carries_tls(self, session_check: Check) -> str | None:
        """Why a refusal would prove nothing here, or None when refusals are meaningful."""
        if session_check.status == "blocked":
            return "the network blocks this client (see tls-session), so a refusal proves nothing about TLS"
        unverified = self._identity_unverified(session_check)
        if unverified is not None:
            return unverified
        if not any(result.outcome == "accepted" for result in self.versions.values()):
            return "no TLS version was accepted on this path, so a refusal proves nothing about the version"
        return None

    def _refusals(self, session_check: Check) -> None:
        reason = self._path_carries_tls(session_check)
        for version in _outside_policy(self.server):
            result = self.versions[version]
            name = f"{REFUSES_PREFIX}{version}"
            data = {"version": version, "outcome": result.outcome, "probe": result.detail}
            if reason is not None:
                self.add(name, "inconclusive", reason, **data)
            elif result.outcome == "refused":
                self.add(name, "pass", f"{version} refused: {result.detail}", **data)
            elif result.outcome == "accepted":
                self.add(name, "fail", f"{version} accepted, but the spec allows {self._window()}", **data)
            else:
                self.add(name, "inconclusive", f"{version} not proven refused: {result.detail}", **data)

    def _window(self) -> str:
        tls = self.server.tls
        return f"{tls.min_version} to {tls.max_version}" if tls.max_version else f"{tls.min_version} and newer"

    def _plaintext(self, session_check: Check) -> None:
        if not self.server.tls.require_secure_transport:
            return  # the spec allows plaintext; nothing to prove
        unverified = self._identity_unverified(session_check)
        if unverified is not None:
            self.add(PLAINTEXT, "inconclusive", unverified)
            return
        outcome, message, row = session.plaintext_attempt(self.target)
        if outcome == "refused":
            self.add(PLAINTEXT, "pass", f"sslmode=disable refused: {message}")
        elif outcome == "accepted":
            self.add(
                PLAINTEXT,
                "fail",
                f"sslmode=disable admitted ({message}), but the spec requires secure transport",
                session=row,
            )
        else:
            self.add(PLAINTEXT, "inconclusive", f"not proven refused for lack of TLS: {message}")

    def report(self, seconds: float) -> ServerReport:
        return ServerReport(
            server=self.server.name,
            endpoint=self.endpoint,
            checks=tuple(self.checks),
            versions={version: result.to_dict() for version, result in self.versions.items()},
            handshake=self.handshake.to_dict() if self.handshake else None,
            seconds=seconds,
            login=self.target.login,
        )


def _no_session(session_check: Check) -> str:
    return f"the same client got no TLS session first (tls-session {session_check.status})"


def _unreachable(
    server: Server, endpoint: Endpoint | None, status: Status, reason: str, seconds: float, login: Login | None
) -> ServerReport:
    checks = [Check(server.name, TLS_SESSION, status, reason)]
    follow = f"not run: {reason}"
    checks += [Check(server.name, name, "inconclusive", follow) for name in (CERTIFICATE, POLICY, SSLINFO)]
    if server.tls.require_secure_transport:
        checks.append(Check(server.name, PLAINTEXT, "inconclusive", follow))
    checks += [Check(server.name, f"{REFUSES_PREFIX}{v}", "inconclusive", follow) for v in _outside_policy(server)]
    return ServerReport(server.name, endpoint, tuple(checks), seconds=seconds, login=login)


def _target(server: Server, endpoint: Endpoint, options: Options) -> session.Target:
    """Outside the server's network namespace: a token is asked for here, where the identity endpoint is."""
    login, secret = options.logins.login(server)
    return session.Target(endpoint, login, secret, options.ca_file, options.timeout)


def failure_detail(failure: Exception, options: Options) -> str:
    """An unexpected failure in one line for a report, without any password or token in it."""
    message = str(failure) if isinstance(failure, LoginUnavailable) else f"{type(failure).__name__}: {failure}"
    return options.logins.scrub(message)


def verify_server(server: Server, locator: Locator, options: Options) -> ServerReport:
    """Every check for one server; nothing raised gets out, it becomes an ``error`` check (fail closed)."""
    started = time.monotonic()
    endpoint: Endpoint | None = None
    target: session.Target | None = None
    try:
        endpoint = locator.endpoint(server)
        target = _target(server, endpoint, options)
        run = ServerRun(server, endpoint, target, options)
        from_clients_network(endpoint, run.run)
        return run.report(time.monotonic() - started)
    except OSError as failure:
        reason = options.logins.scrub(f"network block: {failure}")
        login = target.login if target else None
        return _unreachable(server, endpoint, "blocked", reason, time.monotonic() - started, login)
    except Exception as failure:  # any surprise fails the server closed, with its message
        login = target.login if target else None
        return _unreachable(
            server, endpoint, "error", failure_detail(failure, options), time.monotonic() - started, login
        )


# --------------------------------------------------------------------------------------------------------------
# The environment
# --------------------------------------------------------------------------------------------------------------


def _environment(spec: Environment | str | Path) -> Environment:
    return spec if isinstance(spec, Environment) else load_spec(spec)


def _selected(env: Environment, names: Sequence[str] | None) -> list[Server]:
    if not names:
        return list(env.servers)
    unknown = sorted(set(names) - {server.name for server in env.servers})
    if unknown:
        raise VerifyError(f"{env.source} has no server named {', '.join(unknown)}")
    return [server for server in env.servers if server.name in set(names)]


def _setup(
    spec: Environment | str | Path,
    clients: AzureClients | None,
    ca_bundle: str | Path | None,
    host_names: Mapping[str, str] | None,
    servers: Sequence[str] | None,
    timeout: float,
) -> tuple[Environment, list[Server], Locator, Options]:
    env = _environment(spec)
    selected = _selected(env, servers)
    emulator = running_emulator(clients) if env.is_local else None
    ca_file = trusted_roots(ca_bundle, emulator)  # refused before any connection when it can verify nothing
    connected = _connected_once(env, clients)
    logins = Logins(_password_reader(selected, connected), lambda: connected().credential)
    options = Options(ca_file, dict(host_names or {}), timeout, logins)
    return env, selected, Locator(env, emulator, options.host_names), options


def _connected_once(env: Environment, clients: AzureClients | None) -> Callable[[], AzureClients]:
    """The Azure clients (``clients``, or connected on first use): Key Vault passwords and Microsoft Entra
    tokens are read with their credential, the one the management calls use."""
    lock, found = threading.Lock(), [clients] if clients is not None else []

    def connected() -> AzureClients:
        with lock:
            if not found:
                from pgflex.azure.clients import connect

                # For cloud: local, _setup has found the running emulator already, so connect() reuses it.
                found.append(connect(env.cloud, env.subscription))
            return found[0]

    return connected


def _password_reader(selected: Sequence[Server], connected: Callable[[], AzureClients]) -> Callable[[Server], str]:
    """How to read administrator passwords: Key Vault needs Azure clients, environment variables do not."""
    if not any(server.administrator and server.administrator.password.key_vault_secret for server in selected):
        return resolve_password
    from pgflex.azure.secrets import resolve_password as read_password

    return lambda server: read_password(server, connected())


def verify(
    spec: Environment | str | Path,
    *,
    clients: AzureClients | None = None,
    ca_bundle: str | Path | None = None,
    host_names: Mapping[str, str] | None = None,
    servers: Sequence[str] | None = None,
    parallelism: int = 8,
    timeout: float = 10.0,
) -> VerifyReport:
    """Prove on each live server that TLS is what the spec says.

    ``ca_bundle`` replaces the trusted roots (default: Azure's roots as pgflex ships them, pinned in
    verify/roots.py, or the emulator's root for ``cloud: local``). ``host_names`` maps a server name to the
    host name its clients use instead of the FQDN (a CNAME, say): verify-full is then checked against that
    name, on the server's own address.
    """
    started = time.monotonic()
    env, selected, locator, options = _setup(spec, clients, ca_bundle, host_names, servers, timeout)
    reports = map_concurrently(lambda server: verify_server(server, locator, options), selected, parallelism)
    return VerifyReport(env.name, env.cloud, env.source, tuple(reports), time.monotonic() - started)


def _audit(target: session.Target) -> list[dict[str, Any]]:
    with target.connect() as conn:
        return session.audit(conn)


def _server_sessions(server: Server, locator: Locator, options: Options) -> ServerSessions:
    endpoint: Endpoint | None = None
    target: session.Target | None = None
    try:
        endpoint = locator.endpoint(server)
        target = logged_in = _target(server, endpoint, options)
        rows = from_clients_network(endpoint, lambda: _audit(logged_in))
    except Exception as failure:  # reported per server, the others still run
        return unlisted(server, endpoint, target, failure, options)
    listed = ServerSessions(server.name, endpoint, "pass", "", tuple(rows), login=target.login)
    plaintext = len(listed.plaintext_clients)
    detail = f"{len(rows)} session(s), {plaintext} network client session(s) without TLS, {target.login.describe()}"
    return replace(listed, status="warn" if plaintext else "pass", detail=detail)


def unlisted(
    server: Server, endpoint: Endpoint | None, target: session.Target | None, failure: Exception, options: Options
) -> ServerSessions:
    """Why ``server``'s sessions could not be listed (``sessions`` and ``sessions --watch``)."""
    login = target.login if target else None
    if isinstance(failure, psycopg.OperationalError):
        status, detail = session.classify_connect_error(failure, target)
    elif isinstance(failure, OSError):
        status, detail = "blocked", f"network block: {failure}"
    else:
        status, detail = "error", failure_detail(failure, options)
    return ServerSessions(server.name, endpoint, status, options.logins.scrub(detail), login=login)


def sessions(
    spec: Environment | str | Path,
    *,
    clients: AzureClients | None = None,
    ca_bundle: str | Path | None = None,
    host_names: Mapping[str, str] | None = None,
    servers: Sequence[str] | None = None,
    parallelism: int = 8,
    timeout: float = 10.0,
) -> SessionsReport:
    """Per server, Azure's audit query over pg_stat_ssl: which clients connect, and which without TLS."""
    env, selected, locator, options = _setup(spec, clients, ca_bundle, host_names, servers, timeout)
    found = map_concurrently(lambda server: _server_sessions(server, locator, options), selected, parallelism)
    return SessionsReport(env.name, env.cloud, tuple(found))
