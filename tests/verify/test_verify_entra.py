"""verify and sessions on Microsoft Entra-only servers: logged in by token from the identity pgflex runs as, with
no password anywhere, every TLS check still proven; the token never shown; one clear line when the identity gets
no token or the server refuses it.

The servers are made through the SDK as a user would (Entra-only authConfig, the administrator, a firewall rule for
this client, TLS 1.3 and sslinfo allow-listed), and described by an env file with no administrator at all.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential
from rich.console import Console
from typer.testing import CliRunner

from live.conftest import LOCAL_RULE, sdk
from pgflex import api
from pgflex.azure.clients import EmulatorCredential, connect
from pgflex.cli.main import app
from pgflex.emulator.arm.auth import PRINCIPAL_ID
from pgflex.emulator.settings import DEFAULT_SUBSCRIPTION
from pgflex.render.lines import sessions_lines, verify_lines
from pgflex.render.verify_view import render_verify, to_junit
from pgflex.spec import load_spec, resolve_password
from pgflex.verify import Endpoint, sessions, verify
from pgflex.verify.checks import Login
from pgflex.verify.login import OSSRDBMS_SCOPE, REDACTED, RENEW_BEFORE_SECONDS, Logins, TokenSource
from pgflex.verify.session import Target, plaintext_attempt
from pgflex.verify.watch import watch
from support.armspec import ArmSpec
from support.conformance import assert_conforming
from support.emulator import Clients, EmulatorHandle, unique
from support.outputs import assert_documented
from support.specs import environment, public_server, write

from .conftest import FAST_RETRY, LOCAL, Fleet

pytestmark = pytest.mark.dataplane

DEPLOYER = {"objectId": PRINCIPAL_ID, "principalName": "pgflex-deployer", "principalType": "ServicePrincipal"}
STRANGER = {  # an administrator that is not the identity pgflex runs as
    "objectId": "11111111-2222-3333-4444-555555555555",
    "principalName": "dba-lead@contoso.com",
    "principalType": "User",
}
ENTRA_ONLY = {"activeDirectoryAuth": "Enabled", "passwordAuth": "Disabled"}
ALL_CHECKS = {"tls-session", "certificate", "policy", "sslinfo", "refuses-plaintext"} | {
    f"refuses-{version}" for version in ("TLSv1", "TLSv1.1", "TLSv1.2")
}
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{10,}")  # any JSON Web Token: its header always starts {" (eyJ in base64url)


@dataclass(frozen=True)
class EntraFleet:
    env_file: Path
    group: str
    ours: str  # Entra-only, the identity pgflex runs as is its administrator
    theirs: str  # Entra-only, its only administrator is someone else

    def fqdn(self, name: str) -> str:
        return f"{name}.postgres.database.azure.com"


def _entra_only_server(clients: Clients, group: str, name: str, administrator: dict[str, str]) -> None:
    postgres = clients.postgres
    body = {
        "location": "westeurope",
        "sku": {"name": "Standard_B1ms", "tier": "Burstable"},
        "properties": {"version": "16", "storage": {"storageSizeGB": 32}, "authConfig": ENTRA_ONLY},
    }
    postgres.servers.begin_create_or_update(group, name, body).result()
    postgres.firewall_rules.begin_create_or_update(group, name, "local", LOCAL_RULE).result()
    principal = {"principalName": administrator["principalName"], "principalType": administrator["principalType"]}
    postgres.administrators_microsoft_entra.begin_create_or_update(
        group, name, administrator["objectId"], {"properties": principal}
    ).result()
    for parameter, value in (("ssl_min_protocol_version", "TLSv1.3"), ("azure.extensions", "sslinfo")):
        body = {"properties": {"value": value, "source": "user-override"}}
        postgres.configurations.begin_update(group, name, parameter, body).result()


@pytest.fixture(scope="module")
def entra_fleet(
    live_emulator: EmulatorHandle, arm_spec: ArmSpec, tmp_path_factory: pytest.TempPathFactory
) -> EntraFleet:
    group, ours, theirs = unique("rg-ventra"), unique("entra"), unique("stranger")
    live_emulator.new_record_lines()
    with sdk(live_emulator) as clients:
        clients.resources.resource_groups.create_or_update(group, {"location": "westeurope"})
        _entra_only_server(clients, group, ours, DEPLOYER)
        _entra_only_server(clients, group, theirs, STRANGER)
    assert_conforming(live_emulator, arm_spec)  # the setup's responses belong to no test
    servers = [
        public_server(name, LOCAL, tls={"minVersion": "TLSv1.3"}, authentication=authentication)
        for name, authentication in (
            (ours, {"password": False, "entra": {"administrators": [DEPLOYER]}}),
            (theirs, {"password": False, "entra": {"administrators": [STRANGER]}}),
        )
    ]
    document = environment(group, servers, version="16")
    del document["defaults"]["administrator"]  # no password anywhere: not even a reference to one
    env_file = write(tmp_path_factory.mktemp("ventra") / "env.yaml", document)
    return EntraFleet(env_file, group, ours, theirs)


@pytest.fixture
def no_password(
    live_emulator: EmulatorHandle, arm_spec: ArmSpec, monkeypatch: pytest.MonkeyPatch
) -> Iterator[EmulatorHandle]:
    """The emulator's client variables (its identity endpoint), and no administrator password in the process;
    every Resource Manager response of the test conforms to the specification."""
    monkeypatch.delenv("PGFLEX_ADMIN_PASSWORD", raising=False)
    live_emulator.new_record_lines()
    with live_emulator.client_environment():
        yield live_emulator
    assert_conforming(live_emulator, arm_spec)


class RecordingCredential:
    """The identity a user's DefaultAzureCredential reaches (the emulator's), keeping every token it hands out."""

    def __init__(self) -> None:
        self.inner = DefaultAzureCredential()
        self.scopes: list[tuple[str, ...]] = []
        self.tokens: list[str] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        token = self.inner.get_token(*scopes, **kwargs)
        self.scopes.append(scopes)
        self.tokens.append(token.token)
        return token


def cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), catch_exceptions=False, env={"COLUMNS": "300"})


def checks_of(server: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {check["name"]: check for check in server["checks"]}


# --------------------------------------------------------------------------------------------------------------
# Logged in by token
# --------------------------------------------------------------------------------------------------------------


def test_verify_passes_every_check_by_token_with_no_password_anywhere(
    entra_fleet: EntraFleet, no_password: EmulatorHandle
) -> None:
    result = cli("verify", str(entra_fleet.env_file), "-o", "json", "--server", entra_fleet.ours)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert_documented("verify", document)
    (server,) = document["servers"]
    checks = checks_of(server)
    assert set(checks) == ALL_CHECKS
    assert {name: check["status"] for name, check in checks.items()} == dict.fromkeys(ALL_CHECKS, "pass"), checks
    assert server["login"] == {
        "method": "entra",
        "role": "pgflex-deployer",
        "objectId": PRINCIPAL_ID,
        "principalType": "ServicePrincipal",
        "identityObjectId": PRINCIPAL_ID,
    }
    assert "as pgflex-deployer by Microsoft Entra token: TLSv1.3" in checks["tls-session"]["detail"]
    own = checks["sslinfo"]["data"]["pgStatSsl"]  # the server's own view: our session, as the principal, over TLS
    assert (own["user"], own["ssl"], own["protocol"]) == ("pgflex-deployer", True, "TLSv1.3")
    assert checks["refuses-plaintext"]["detail"].startswith("sslmode=disable refused")
    assert server["handshake"]["verified"] and server["handshake"]["serverName"] == entra_fleet.fqdn(entra_fleet.ours)
    assert not JWT.search(result.output), "a token was printed"


def test_the_report_names_the_login_and_never_holds_the_token(
    entra_fleet: EntraFleet, no_password: EmulatorHandle
) -> None:
    credential = RecordingCredential()
    clients = connect("local", DEFAULT_SUBSCRIPTION, credential=credential)
    report = verify(entra_fleet.env_file, clients=clients, servers=[entra_fleet.ours, entra_fleet.theirs])
    # One token for the run, for Azure Database for PostgreSQL's audience, from the management calls' credential.
    assert credential.scopes == [(OSSRDBMS_SCOPE,)]
    assert report.server(entra_fleet.ours).login == Login(
        "entra", "pgflex-deployer", PRINCIPAL_ID, "ServicePrincipal", PRINCIPAL_ID
    )
    console = Console(width=300, record=True)
    render_verify(report, console)
    table = console.export_text()
    assert "as pgflex-deployer by Microsoft Entra token" in table
    listed = sessions(entra_fleet.env_file, clients=clients, servers=[entra_fleet.ours, entra_fleet.theirs])
    watched = watch(entra_fleet.env_file, duration=0, clients=clients, servers=[entra_fleet.ours])
    texts = [
        json.dumps(report.to_dict()),
        "\n".join(verify_lines(report)),
        table,
        to_junit(report),
        json.dumps(listed.to_dict()),
        "\n".join(sessions_lines(listed)),
        json.dumps(watched.to_dict()),
    ]
    (token,) = set(credential.tokens)
    for text in texts:
        assert token not in text and token.split(".")[2] not in text and not JWT.search(text)


def test_sessions_lists_an_entra_only_servers_sessions_by_token(
    entra_fleet: EntraFleet, no_password: EmulatorHandle
) -> None:
    result = cli("sessions", str(entra_fleet.env_file), "-o", "json", "--server", entra_fleet.ours)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert_documented("sessions", document)
    (server,) = document["servers"]
    assert server["status"] == "pass" and server["detail"].endswith("as pgflex-deployer by Microsoft Entra token")
    assert server["login"]["method"] == "entra" and server["login"]["role"] == "pgflex-deployer"
    ours = [row for row in server["sessions"] if row["application"] == "pgflex verify"]
    assert [(row["user"], row["ssl"]) for row in ours] == [("pgflex-deployer", True)]

    watched = cli("sessions", str(entra_fleet.env_file), "-o", "json", "-s", entra_fleet.ours, "--watch", "1s")
    assert watched.exit_code == 0, watched.output
    (server,) = json.loads(watched.stdout)["servers"]
    assert server["samples"] >= 1 and server["login"]["role"] == "pgflex-deployer"
    assert not JWT.search(result.output + watched.output)


# --------------------------------------------------------------------------------------------------------------
# Clear failures
# --------------------------------------------------------------------------------------------------------------


def test_a_server_the_identity_does_not_administer_fails_in_one_clear_line(
    entra_fleet: EntraFleet, no_password: EmulatorHandle
) -> None:
    result = cli("verify", str(entra_fleet.env_file), "-o", "json", "--server", entra_fleet.theirs)
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert_documented("verify", document)
    (server,) = document["servers"]
    # The token names no administrator the spec lists: the first one is tried, and the server refuses.
    assert server["login"]["role"] == STRANGER["principalName"]
    assert server["login"]["identityObjectId"] == PRINCIPAL_ID
    session = checks_of(server)["tls-session"]
    assert session["status"] == "error"
    fqdn = entra_fleet.fqdn(entra_fleet.theirs)
    assert session["detail"].startswith(f"{fqdn} refused the Microsoft Entra access token for dba-lead@contoso.com:")
    assert f"(object id {PRINCIPAL_ID})" in session["detail"] and "\n" not in session["detail"]
    assert {check["status"] for name, check in checks_of(server).items() if name != "tls-session"} <= {
        "pass",
        "inconclusive",
    }  # the raw TLS probes still run; nothing that needs the session passes without it
    assert checks_of(server)["sslinfo"]["status"] == "inconclusive"

    listed = cli("sessions", str(entra_fleet.env_file), "--server", entra_fleet.theirs)
    assert listed.exit_code == 1
    (line,) = [line for line in listed.stdout.splitlines() if line.startswith(f"{entra_fleet.theirs} sessions ")]
    assert "ERROR" in line and f"{fqdn} refused the Microsoft Entra access token for dba-lead@contoso.com" in line
    assert not JWT.search(result.output + listed.output)


def test_an_identity_that_gets_no_token_fails_in_one_clear_line(
    entra_fleet: EntraFleet, no_password: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDENTITY_HEADER", "not-the-identity-header")  # the identity endpoint refuses this caller
    clients = connect("local", DEFAULT_SUBSCRIPTION, credential=ManagedIdentityCredential())
    report = verify(entra_fleet.env_file, clients=clients, servers=[entra_fleet.ours])
    server = report.server(entra_fleet.ours)
    assert not report.passed and server.login is None
    session = server.check("tls-session")
    assert session.status == "error"
    assert session.detail.startswith(
        f"cannot log in to server {entra_fleet.ours} as pgflex-deployer: the identity pgflex runs as got no "
        "Microsoft Entra access token for https://ossrdbms-aad.database.windows.net: "
    )
    assert "\n" not in session.detail
    assert {check.status for check in server.checks if check.name != "tls-session"} == {"inconclusive"}


# --------------------------------------------------------------------------------------------------------------
# The token's life
# --------------------------------------------------------------------------------------------------------------


class UncachedCredential:
    """The emulator's identity, asked afresh on every call (no cache of its own), so each call is a request."""

    def __init__(self, handle: EmulatorHandle) -> None:
        assert handle.running is not None
        self.running = handle.running

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return EmulatorCredential(self.running).get_token(*scopes)


def test_a_token_is_reused_until_close_to_expiry_then_renewed(live_emulator: EmulatorHandle) -> None:
    now = [0.0]
    source = TokenSource(lambda: UncachedCredential(live_emulator), clock=lambda: now[0])
    live_emulator.reset_request_count()
    first = source.token()
    issued = json.loads(_claims(first))
    now[0] = issued["exp"] - RENEW_BEFORE_SECONDS - 1  # still valid for longer than the margin
    assert source.token() == first
    assert live_emulator.request_count("identity") == 1
    now[0] = issued["exp"] - RENEW_BEFORE_SECONDS + 1  # inside the margin: renewed before it expires
    source.token()
    assert live_emulator.request_count("identity") == 2
    assert issued["aud"] == "https://ossrdbms-aad.database.windows.net" and issued["oid"] == PRINCIPAL_ID


def _claims(token: str) -> str:
    import base64

    payload = token.split(".")[1]
    return base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()


def test_every_secret_handed_out_is_scrubbed_from_failure_messages(
    entra_fleet: EntraFleet, live_emulator: EmulatorHandle
) -> None:
    logins = Logins(resolve_password, lambda: UncachedCredential(live_emulator))
    server = load_spec(entra_fleet.env_file).server(entra_fleet.ours)
    login, token = logins.login(server)
    assert login.role == "pgflex-deployer" and token.startswith("eyJ")
    assert logins.scrub(f"FATAL: bad password {token!r} for {login.role}") == (
        f"FATAL: bad password '{REDACTED}' for pgflex-deployer"
    )


# --------------------------------------------------------------------------------------------------------------
# Never without TLS
# --------------------------------------------------------------------------------------------------------------


@pytest.fixture
def asks_for_a_password_without_tls() -> Iterator[tuple[Endpoint, list[bytes]]]:
    """A server that takes a plaintext StartupMessage and asks for a cleartext password, keeping all it receives."""
    listener = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(5)
            (length,) = struct.unpack("!I", conn.recv(4, socket.MSG_WAITALL))
            received.append(conn.recv(length - 4, socket.MSG_WAITALL))  # the StartupMessage
            conn.sendall(b"R" + struct.pack("!II", 8, 3))  # AuthenticationCleartextPassword
            with contextlib.suppress(OSError):
                while chunk := conn.recv(4096):
                    received.append(chunk)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    fqdn = "entra.postgres.database.azure.com"
    yield Endpoint(fqdn, fqdn, "127.0.0.1", listener.getsockname()[1], "test"), received
    thread.join(10)
    listener.close()


def test_the_plaintext_attempt_never_sends_the_token_and_fails_a_server_that_asks_for_it(
    asks_for_a_password_without_tls: tuple[Endpoint, list[bytes]],
) -> None:
    endpoint, received = asks_for_a_password_without_tls
    token = "eyJhbGciOiJIUzI1NiJ9.eyJvaWQiOiJ4In0.c2lnbmF0dXJl"
    login = Login("entra", "pgflex-deployer", PRINCIPAL_ID, "ServicePrincipal", PRINCIPAL_ID)
    target = Target(endpoint, login, token, "/nonexistent-ca.pem", timeout=5)
    outcome, message, _ = plaintext_attempt(target)
    assert outcome == "accepted"  # it went on to authentication without TLS: it did not refuse plaintext
    assert message.startswith("the server asked for credentials on a session without TLS (none sent)")
    startup, *after = received
    assert b"pgflex-deployer" in startup and after == []  # no PasswordMessage followed
    assert token not in message and token not in repr(target)


# --------------------------------------------------------------------------------------------------------------
# Password logins say so too
# --------------------------------------------------------------------------------------------------------------


def test_a_password_login_is_named_in_the_report(fleet: Fleet, live: EmulatorHandle) -> None:
    report = fleet.report.server(fleet.good)
    assert report.login == Login("password", "pgadmin")
    assert report.to_dict()["login"] == {
        "method": "password",
        "role": "pgadmin",
        "objectId": None,
        "principalType": None,
        "identityObjectId": None,
    }
    assert " as pgadmin by password: TLSv1.3" in report.check("tls-session").detail


# --------------------------------------------------------------------------------------------------------------
# End to end: pgflex creates the Entra-only server, verifies it and checks drift, no password anywhere
# --------------------------------------------------------------------------------------------------------------


def test_an_entra_only_server_applied_by_pgflex_is_verified_by_token(
    no_password: EmulatorHandle, tmp_path: Path
) -> None:
    name = unique("eapply")
    authentication = {"password": False, "entra": {"administrators": [DEPLOYER]}}
    server = public_server(name, LOCAL, tls={"minVersion": "TLSv1.3"}, authentication=authentication)
    document = environment(unique("rg-eapply"), [server], version="16")
    del document["defaults"]["administrator"]
    env_file = write(tmp_path / "env.yaml", document)

    report = api.apply(env_file, retry=FAST_RETRY)  # apply's last step is verify, by token
    assert report.exit_code == api.ExitCode.OK, (report.result.failures, report.verify)
    assert report.verify is not None and report.verify.passed
    verified = report.verify.server(name)
    assert {check.status for check in verified.checks} == {"pass"}
    assert verified.login is not None and (verified.login.method, verified.login.role) == ("entra", "pgflex-deployer")

    checked = api.drift(env_file, repair=True, retry=FAST_RETRY)  # nothing to repair: verified again, by token
    assert (checked.exit_code, checked.drift) == (api.ExitCode.OK, [])
    assert checked.verify is not None and checked.verify.passed
