"""verify against the emulator's real PostgreSQL servers: a compliant server passes every check, and each
fault made out of band fails exactly the check that should catch it."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from live.test_tls_versions import sslyze_accepts
from pgflex.verify import ServerReport, verify
from support.emulator import EmulatorHandle, unique
from support.specs import environment, public_server, write

from .conftest import Fleet

pytestmark = pytest.mark.dataplane

REFUSALS = {"refuses-TLSv1", "refuses-TLSv1.1", "refuses-TLSv1.2"}  # minVersion TLSv1.3, no maximum
ALL_CHECKS = {"tls-session", "certificate", "policy", "sslinfo", "refuses-plaintext", *REFUSALS}


def statuses(report: ServerReport) -> dict[str, str]:
    return {check.name: check.status for check in report.checks}


def failing(report: ServerReport) -> set[str]:
    return {check.name for check in report.checks if not check.passed}


def test_a_compliant_server_passes_every_check_and_shows_its_session(fleet: Fleet) -> None:
    report = fleet.report.server(fleet.good)
    assert statuses(report) == dict.fromkeys(ALL_CHECKS, "pass"), [c.detail for c in report.checks]
    assert report.passed and report.status == "pass"

    session = report.check("tls-session").data
    assert session["protocol"] == "TLSv1.3" and session["cipher"].startswith("TLS_")
    sslinfo = report.check("sslinfo").data
    assert sslinfo["sslIsUsed"] is True
    assert (sslinfo["sslVersion"], sslinfo["sslCipher"]) == (session["protocol"], session["cipher"])
    row = sslinfo["pgStatSsl"]
    assert row["ssl"] is True and row["user"] == "pgadmin" and row["database"] == "postgres"
    assert (row["protocol"], row["application"], row["backendType"]) == ("TLSv1.3", "pgflex verify", "client backend")
    assert sslinfo["nonTlsClientSessions"] == 0
    assert report.check("policy").data["negotiated"] == "TLSv1.3"

    outcomes = {version: result["outcome"] for version, result in report.versions.items()}
    assert outcomes == {"TLSv1": "refused", "TLSv1.1": "refused", "TLSv1.2": "refused", "TLSv1.3": "accepted"}

    assert report.handshake is not None and report.handshake["verified"]
    leaf, intermediate = report.handshake["chain"]
    assert leaf["dnsNames"] == [f"{fleet.good}.postgres.database.azure.com"]
    assert leaf["issuer"] == intermediate["subject"]
    assert report.handshake["trustAnchor"]["subject"] == intermediate["issuer"]  # pinned root, not intermediate
    assert 30 < report.check("certificate").data["daysLeft"] <= 366


@pytest.mark.parametrize(
    ("server", "caught_by"),
    [
        ("low_minimum", "refuses-TLSv1.2"),  # ssl_min_protocol_version TLSv1.2 while the spec says TLSv1.3
        ("plaintext", "refuses-plaintext"),  # require_secure_transport off
        ("no_sslinfo", "sslinfo"),  # sslinfo taken out of azure.extensions
    ],
)
def test_each_fault_made_out_of_band_fails_exactly_its_check(fleet: Fleet, server: str, caught_by: str) -> None:
    report = fleet.report.server(getattr(fleet, server))
    assert failing(report) == {caught_by}, statuses(report)
    assert report.check(caught_by).status == "fail"
    assert set(statuses(report)) == ALL_CHECKS


def test_a_lowered_minimum_shows_in_the_probe_and_the_version_table(fleet: Fleet) -> None:
    report = fleet.report.server(fleet.low_minimum)
    check = report.check("refuses-TLSv1.2")
    assert check.data["outcome"] == "accepted" and "TLSv1.3 and newer" in check.detail
    assert report.versions["TLSv1.2"]["outcome"] == "accepted"
    assert report.check("policy").status == "pass"  # libpq still negotiates TLS 1.3: only the probe sees it


def test_sslinfo_not_allow_listed_says_how_to_fix_it(fleet: Fleet) -> None:
    detail = fleet.report.server(fleet.no_sslinfo).check("sslinfo").detail
    assert 'Extension "sslinfo" is not allow-listed' in detail
    assert "azure.extensions" in detail and "pgflex apply" in detail


def test_a_firewall_block_is_reported_as_a_network_block_and_proves_no_refusal(fleet: Fleet) -> None:
    report = fleet.report.server(fleet.blocked)
    assert report.status == "blocked" and not report.passed
    session = report.check("tls-session")
    assert session.status == "blocked"
    assert "network block" in session.detail and "no pg_hba.conf entry" in session.detail
    found = statuses(report)
    assert "fail" not in found.values()  # not a TLS result
    assert {found[name] for name in (*REFUSALS, "refuses-plaintext", "policy", "sslinfo")} == {"inconclusive"}
    # The TLS 1.0 probe itself was refused, yet the check does not pass: the client is blocked.
    assert report.versions["TLSv1"]["outcome"] == "refused"


def test_the_environment_fails_when_any_server_fails(fleet: Fleet) -> None:
    assert not fleet.report.passed
    assert [server.server for server in fleet.report.servers if server.passed] == [fleet.good]


def test_a_host_name_the_certificate_does_not_carry_fails_the_session_and_the_certificate(
    fleet: Fleet, live: EmulatorHandle
) -> None:
    # Clients that reach the server through their own CNAME: verify-full checks that name, on the same address.
    report = verify(fleet.env_file, servers=[fleet.good], host_names={fleet.good: "orders.db.contoso.example"})
    server = report.server(fleet.good)
    assert statuses(server)["tls-session"] == statuses(server)["certificate"] == "fail"
    assert server.endpoint is not None and server.endpoint.host_name == "orders.db.contoso.example"
    certificate = server.check("certificate").detail
    assert "Hostname mismatch" in certificate and f"{fleet.good}.postgres.database.azure.com" in certificate
    assert "does not match host name" in server.check("tls-session").detail


@pytest.mark.slow
def test_the_version_table_agrees_with_sslyze(fleet: Fleet, live: EmulatorHandle) -> None:
    for name in (fleet.good, fleet.low_minimum):
        report = fleet.report.server(name)
        scanned = sslyze_accepts(live, f"{name}.postgres.database.azure.com")
        names = {ssl.TLSVersion.TLSv1: "TLSv1", ssl.TLSVersion.TLSv1_1: "TLSv1.1"}
        names |= {ssl.TLSVersion.TLSv1_2: "TLSv1.2", ssl.TLSVersion.TLSv1_3: "TLSv1.3"}
        ours = {version: report.versions[label]["outcome"] for version, label in names.items()}
        assert "inconclusive" not in ours.values()
        assert {version: outcome == "accepted" for version, outcome in ours.items()} == scanned


def test_a_server_missing_from_the_emulator_is_unreachable_not_passed(
    fleet: Fleet, live: EmulatorHandle, tmp_path: Path
) -> None:
    document = environment(fleet.group, [public_server(unique("ghost"), {"local": "127.0.0.1/32"})])
    report = verify(write(tmp_path / "ghost.yaml", document))
    (server,) = report.servers
    assert server.check("tls-session").status == "blocked" and "has no server" in server.check("tls-session").detail
    assert {check.status for check in server.checks[1:]} == {"inconclusive"}
    assert not report.passed
