"""Parts of verify that need no PostgreSQL: probe verdicts against fake servers, error reading, JUnit XML,
and failing closed when there is nothing to verify against."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from pgflex.cli.main import app
from pgflex.render.verify_view import explain_lines, render_verify, to_junit
from pgflex.spec import load_spec, resolve_password
from pgflex.verify import Check, Endpoint, ServerReport, VerifyError, VerifyReport, probes, verify
from pgflex.verify.checks import Login
from pgflex.verify.login import Logins
from pgflex.verify.probes import SSL_REQUEST, CertificateInfo, Handshake, certificate_handshake, probe_version
from pgflex.verify.runner import Options, ServerRun, _outside_policy
from pgflex.verify.session import Target, classify_connect_error
from support.specs import environment, public_server, write


@pytest.fixture
def fake_server(request: pytest.FixtureRequest) -> Iterator[Endpoint]:
    """A TCP listener that reads the SSLRequest and answers ``request.param`` (then closes)."""
    answer: bytes = request.param
    listener = socket.create_server(("127.0.0.1", 0))
    seen: list[bytes] = []

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            seen.append(conn.recv(8))
            conn.sendall(answer)
            # Read what the client sends next (its ClientHello, or its close) before closing: closing with
            # unread data makes the kernel send a reset instead of a clean close, depending on timing.
            conn.settimeout(5)
            with suppress(OSError):
                conn.recv(65536)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    yield Endpoint("x.postgres.database.azure.com", "x.postgres.database.azure.com", "127.0.0.1", port, "test")
    thread.join(timeout=5)
    listener.close()
    assert seen == [SSL_REQUEST]


@pytest.mark.parametrize("fake_server", [b"N"], indirect=True)
def test_a_server_without_tls_refuses_every_version(fake_server: Endpoint) -> None:
    result = probe_version(fake_server, "TLSv1", timeout=5)
    assert result.outcome == "refused" and "answered N" in result.detail


@pytest.mark.parametrize("fake_server", [b"S"], indirect=True)
def test_a_connection_closed_without_an_alert_proves_nothing(fake_server: Endpoint) -> None:
    result = probe_version(fake_server, "TLSv1.1", timeout=5)
    assert result.outcome == "inconclusive" and "without a TLS alert" in result.detail


def _closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return int(probe.getsockname()[1])


def test_nothing_listening_is_inconclusive_for_probes_and_an_oserror_for_the_certificate() -> None:
    endpoint = Endpoint("x", "x", "127.0.0.1", _closed_port(), "test")
    result = probe_version(endpoint, "TLSv1", timeout=2)
    assert result.outcome == "inconclusive" and "could not connect" in result.detail
    with pytest.raises(OSError):
        certificate_handshake(endpoint, "/dev/null", timeout=2)


@pytest.mark.parametrize(
    ("message", "status"),
    [
        ('FATAL: no pg_hba.conf entry for host "1.2.3.4", user "a", database "b", SSL encryption', "blocked"),
        ('connection to server at "10.0.0.4", port 5432 failed: Connection refused', "blocked"),
        ("connection to server at ... failed: timeout expired", "blocked"),
        ("SSL error: certificate verify failed", "fail"),
        ('server certificate for "a.postgres.database.azure.com" does not match host name "b"', "fail"),
        ('FATAL: password authentication failed for user "pgadmin"', "error"),
    ],
)
def test_connection_errors_are_told_apart(message: str, status: str) -> None:
    assert classify_connect_error(Exception(message))[0] == status


def test_versions_outside_the_window_must_be_refused(tmp_path: Path) -> None:
    document = environment(
        "rg",
        [
            public_server("capped", {}, tls={"minVersion": "TLSv1.2", "maxVersion": "TLSv1.2"}),
            public_server("modern", {}, tls={"minVersion": "TLSv1.3"}),
        ],
    )
    env = load_spec(write(tmp_path / "env.yaml", document))
    assert _outside_policy(env.server("capped")) == ["TLSv1", "TLSv1.1", "TLSv1.3"]
    assert _outside_policy(env.server("modern")) == ["TLSv1", "TLSv1.1", "TLSv1.2"]


def _report() -> VerifyReport:
    checks = (
        Check("a", "tls-session", "blocked", "network block"),
        Check("a", "certificate", "warn", "expires in 12 days"),
        Check("a", "refuses-TLSv1", "inconclusive", "no evidence"),
        Check("a", "refuses-TLSv1.1", "pass", "refused"),
        Check("a", "policy", "fail", "outside"),
    )
    return VerifyReport("dev", "local", "env.yaml", (ServerReport("a", None, checks),))


def test_junit_counts_inconclusive_as_a_failure_and_a_block_as_an_error() -> None:
    root = ET.fromstring(to_junit(_report()))  # noqa: S314 - XML this test just rendered
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("5", "2", "1")
    kinds = {case.get("name"): [child.tag for child in case] for case in suite}
    assert kinds == {
        "tls-session": ["error"],
        "certificate": ["system-out"],
        "refuses-TLSv1": ["failure"],
        "refuses-TLSv1.1": ["system-out"],
        "policy": ["failure"],
    }
    assert not _report().passed


def test_explain_without_a_handshake_says_why() -> None:
    assert "no TLS handshake took place: network block" in "\n".join(explain_lines(_report().servers[0]))


def test_verify_fails_closed_when_no_emulator_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGFLEX_EMULATOR_STATE_DIR", str(tmp_path / "nothing-here"))
    monkeypatch.setenv("PGFLEX_ADMIN_PASSWORD", "x")
    env_file = write(tmp_path / "env.yaml", environment("rg", [public_server("solo", {"a": "127.0.0.1/32"})]))
    with pytest.raises(VerifyError, match="no pgflex emulator runs"):
        verify(env_file)
    result = CliRunner().invoke(app, ["verify", str(env_file)], catch_exceptions=False)
    assert result.exit_code == 1 and "no pgflex emulator runs" in result.output
    bad = CliRunner().invoke(app, ["verify", str(env_file), "--host-name", "solo"], catch_exceptions=False)
    assert bad.exit_code == 1 and "SERVER=HOST" in bad.output


def _short_lived_handshake(days: int) -> Handshake:
    now = dt.datetime.now(dt.UTC)
    leaf = CertificateInfo(
        subject="CN=solo.postgres.database.azure.com",
        issuer="CN=Issuing CA",
        not_before=now - dt.timedelta(days=300),
        not_after=now + dt.timedelta(days=days, hours=1),
        serial="1",
        sha256="00",
        dns_names=("solo.postgres.database.azure.com",),
        is_ca=False,
    )
    root = replace(leaf, subject="CN=Root", issuer="CN=Root", is_ca=True, not_after=now + dt.timedelta(days=3000))
    return Handshake(
        "solo", "127.0.0.1", 5432, ("TLSv1.3",), ("TLS_AES_128_GCM_SHA256",), "TLSv1.3", "x", (leaf,), root, True, None
    )


@pytest.mark.parametrize(("days", "status"), [(12, "warn"), (29, "warn"), (30, "pass"), (200, "pass")])
def test_a_certificate_close_to_expiry_warns(
    days: int, status: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = load_spec(write(tmp_path / "env.yaml", environment("rg", [public_server("solo", {})])))
    endpoint = Endpoint("solo", "solo", "127.0.0.1", 5432, "test")
    logins = Logins(resolve_password, lambda: pytest.fail("a password login asks for no token"))
    options = Options(ca_file="ca.pem", host_names={}, timeout=1, logins=logins)
    target = Target(endpoint, Login("password", "pgadmin"), "x", "ca.pem")
    run = ServerRun(env.server("solo"), endpoint, target, options)
    monkeypatch.setattr(probes, "certificate_handshake", lambda *args, **kwargs: _short_lived_handshake(days))
    run._certificate()
    (check,) = run.checks
    assert (check.status, check.data["daysLeft"]) == (status, days)
    assert check.passed  # a warning is shown, but does not fail the run


def test_details_are_shown_as_written_not_as_markup() -> None:
    checks = (Check("a", "sslinfo", "fail", "parameters: {azure.extensions: [sslinfo]}"),)
    console = Console(width=300, record=True)
    render_verify(VerifyReport("dev", "local", "env.yaml", (ServerReport("a", None, checks),)), console)
    assert "{azure.extensions: [sslinfo]}" in console.export_text()


def test_a_login_target_never_shows_its_password() -> None:
    from pgflex.verify.checks import Endpoint
    from pgflex.verify.session import Target

    fqdn = "h.postgres.database.azure.com"
    endpoint = Endpoint(fqdn=fqdn, host_name=fqdn, address="127.0.0.1", port=5432, via="test")
    target = Target(endpoint, Login("password", "pgadmin"), "Hidden-Passw0rd!", "/ca.pem")
    assert "Hidden-Passw0rd!" not in repr(target)
    assert target.conninfo(tls=True)["password"] == "Hidden-Passw0rd!"
