"""verify fails closed when the server's identity is not proven: a refusal (of a TLS version, or of plaintext)
from a server nobody verified proves nothing about the server in the spec, so it never passes; and a CA bundle
that cannot verify anything is refused before any connection, with a message naming the file."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from typer.testing import CliRunner

from pgflex.cli.main import app
from pgflex.verify import Check, Endpoint, ServerReport, VerifyError, verify
from pgflex.verify.checks import Login
from pgflex.verify.login import Logins
from pgflex.verify.probes import ProbeResult
from pgflex.verify.runner import Options, ServerRun
from pgflex.verify.session import Target
from support.emulator import EmulatorHandle

from .conftest import Fleet

REFUSALS = {"refuses-TLSv1", "refuses-TLSv1.1", "refuses-TLSv1.2"}  # minVersion TLSv1.3, no maximum
UNVERIFIED = "the server's identity was not verified"


def unrelated_ca(path: Path) -> Path:
    """A self-signed root that signed nothing the emulator serves."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Unrelated Root CA")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def statuses(report: ServerReport) -> dict[str, str]:
    return {check.name: check.status for check in report.checks}


def cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


@pytest.mark.dataplane
def test_a_wrong_ca_bundle_passes_nothing_at_all(fleet: Fleet, live: EmulatorHandle, tmp_path: Path) -> None:
    bundle = unrelated_ca(tmp_path / "unrelated.pem")
    report = verify(fleet.env_file, servers=[fleet.good], ca_bundle=bundle)
    server = report.server(fleet.good)
    found = statuses(server)
    assert "pass" not in found.values() and "warn" not in found.values(), found
    assert not report.passed and not server.passed
    assert found["tls-session"] == found["certificate"] == "fail"
    assert "certificate verify failed" in server.check("tls-session").detail
    assert "unable to get local issuer certificate" in server.check("certificate").detail
    assert {found[name] for name in ("policy", "sslinfo")} == {"inconclusive"}
    for name in (*REFUSALS, "refuses-plaintext"):
        check = server.check(name)
        assert check.status == "inconclusive", (name, check.detail)
        assert UNVERIFIED in check.detail, (name, check.detail)
    # The raw probes still ran and saw refusals; they are evidence, but not about a verified server.
    assert {server.versions[version]["outcome"] for version in ("TLSv1", "TLSv1.1", "TLSv1.2")} == {"refused"}


@pytest.mark.dataplane
def test_the_cli_with_a_wrong_ca_bundle_exits_1_and_prints_no_pass(
    fleet: Fleet, live: EmulatorHandle, tmp_path: Path
) -> None:
    bundle = unrelated_ca(tmp_path / "unrelated.pem")
    result = cli("verify", str(fleet.env_file), "--server", fleet.good, "--ca-bundle", str(bundle), "-o", "json")
    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    assert document["passed"] is False and document["counts"]["pass"] == document["counts"]["warn"] == 0
    log = cli("verify", str(fleet.env_file), "--server", fleet.good, "--ca-bundle", str(bundle))
    assert log.exit_code == 1
    assert not [line for line in log.stdout.splitlines() if " PASS " in line], log.stdout


@pytest.mark.dataplane
@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"", "holds no certificate"),
        (b"   \n\n", "holds no certificate"),
        (b"not a certificate at all\n", "holds no certificate"),
        (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "cannot be read"),
    ],
    ids=["empty", "blank", "text", "broken-pem"],
)
def test_an_unusable_ca_bundle_is_refused_before_any_connection(
    fleet: Fleet, live: EmulatorHandle, tmp_path: Path, content: bytes, why: str
) -> None:
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(content)
    with pytest.raises(VerifyError, match=why) as raised:
        verify(fleet.env_file, servers=[fleet.good], ca_bundle=bundle)
    assert str(bundle) in str(raised.value)
    result = cli("verify", str(fleet.env_file), "--server", fleet.good, "--ca-bundle", str(bundle))
    assert result.exit_code == 1
    assert result.stdout == ""  # no report, no PASS line: nothing was verified
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"pgflex: CA bundle {bundle} ") and why in line and "--ca-bundle" in line
    assert "Traceback" not in result.output


def _run_with_probes_refused(tmp_path: Path) -> ServerRun:
    from pgflex.spec import load_spec, resolve_password
    from support.specs import environment, public_server, write

    env = load_spec(
        write(tmp_path / "env.yaml", environment("rg", [public_server("solo", {}, tls={"minVersion": "TLSv1.3"})]))
    )
    endpoint = Endpoint("solo", "solo", "127.0.0.1", 6432, "test")
    logins = Logins(resolve_password, lambda: pytest.fail("a password login asks for no token"))
    options = Options(ca_file="ca.pem", host_names={}, timeout=1, logins=logins)
    target = Target(endpoint, Login("password", "pgadmin"), "x", "ca.pem")
    run = ServerRun(env.server("solo"), endpoint, target, options)
    run.versions = {version: ProbeResult(version, "refused", "alert 70") for version in ("TLSv1", "TLSv1.1", "TLSv1.2")}
    run.versions["TLSv1.3"] = ProbeResult("TLSv1.3", "accepted", "handshake completed")
    return run


@pytest.mark.parametrize(
    ("address", "port", "verdict"),
    [("127.0.0.1", 6432, "pass"), ("127.0.0.2", 6432, "inconclusive"), ("127.0.0.1", 5432, "inconclusive")],
)
def test_a_refusal_passes_only_after_a_verified_session_to_the_same_address_and_port(
    tmp_path: Path, address: str, port: int, verdict: str
) -> None:
    run = _run_with_probes_refused(tmp_path)
    session = Check(
        "solo", "tls-session", "pass", "verify-full", {"protocol": "TLSv1.3", "address": address, "port": port}
    )
    run._refusals(session)
    assert {check.status for check in run.checks} == {verdict}
    if verdict == "inconclusive":
        assert all(UNVERIFIED in check.detail and f"{address}:{port}" in check.detail for check in run.checks)


def test_a_refusal_never_passes_after_a_failed_session(tmp_path: Path) -> None:
    run = _run_with_probes_refused(tmp_path)
    run._refusals(Check("solo", "tls-session", "fail", "TLS with verify-full failed: certificate verify failed"))
    assert {check.status for check in run.checks} == {"inconclusive"}
    assert all(UNVERIFIED in check.detail and "tls-session fail" in check.detail for check in run.checks)
