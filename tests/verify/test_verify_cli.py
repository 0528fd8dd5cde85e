"""The ``pgflex verify`` and ``pgflex sessions`` commands against the live fleet: exit codes, JSON, JUnit
XML, ``--explain``, and the sessions audit showing which clients connect without TLS."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from live.conftest import endpoint
from pgflex.cli.main import app
from support.emulator import EmulatorHandle

from .conftest import PASSWORD, Fleet

pytestmark = pytest.mark.dataplane


def cli(*args: str) -> Any:
    # Not a terminal: the table output is the log form, one line per result, whatever the width says.
    return CliRunner().invoke(app, list(args), catch_exceptions=False, env={"COLUMNS": "40", "FORCE_COLOR": "1"})


def test_verify_exits_0_on_a_compliant_server_and_1_when_any_check_fails(fleet: Fleet, live: EmulatorHandle) -> None:
    good = cli("verify", str(fleet.env_file), "-o", "json", "--server", fleet.good)
    assert good.exit_code == 0, good.output
    document = json.loads(good.stdout)
    assert document["passed"] is True and [s["server"] for s in document["servers"]] == [fleet.good]
    assert document["servers"][0]["versions"]["TLSv1.3"]["outcome"] == "accepted"

    failed = cli("verify", str(fleet.env_file), "-o", "json", "--server", fleet.low_minimum)
    assert failed.exit_code == 1
    checks = {c["name"]: c["status"] for c in json.loads(failed.stdout)["servers"][0]["checks"]}
    assert checks["refuses-TLSv1.2"] == "fail"


def test_junit_has_one_testcase_per_check(fleet: Fleet, live: EmulatorHandle, tmp_path: Path) -> None:
    junit = tmp_path / "verify.xml"
    result = cli("verify", str(fleet.env_file), "-o", "json", "--junit", str(junit))
    assert result.exit_code == 1  # the fleet holds broken servers
    report = json.loads(result.stdout)
    root = ET.parse(junit).getroot()  # noqa: S314 - the file this test just had written
    assert root.tag == "testsuites"
    cases = root.findall("./testsuite/testcase")
    expected = [(f"pgflex.verify.{s['server']}", c["name"]) for s in report["servers"] for c in s["checks"]]
    assert [(case.get("classname"), case.get("name")) for case in cases] == expected
    failed = {(case.get("classname"), case.get("name")) for case in cases if case.find("failure") is not None}
    assert (f"pgflex.verify.{fleet.low_minimum}", "refuses-TLSv1.2") in failed
    errors = {(case.get("classname"), case.get("name")) for case in cases if case.find("error") is not None}
    assert errors == {(f"pgflex.verify.{fleet.blocked}", "tls-session")}  # a block is an error, not a TLS failure
    assert int(root.get("tests", "0")) == len(cases)
    assert int(root.get("failures", "0")) + int(root.get("errors", "0")) == sum(
        1 for s in report["servers"] for c in s["checks"] if c["status"] not in ("pass", "warn")
    )


def test_the_log_form_names_every_server_and_the_verdict(fleet: Fleet, live: EmulatorHandle) -> None:
    result = cli("verify", str(fleet.env_file))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    for name in (fleet.good, fleet.low_minimum, fleet.plaintext, fleet.no_sslinfo, fleet.blocked):
        assert any(line.startswith(f"{name} tls-session ") for line in lines), name
    assert any(line.startswith(f"{fleet.blocked} tls-session BLOCKED ") for line in lines)
    assert any(line.startswith(f"{fleet.low_minimum} refuses-TLSv1.2 FAIL ") for line in lines)
    assert "FAILED" in lines[-1] and "\x1b" not in result.output


def test_explain_draws_the_handshake_chain_and_probes(fleet: Fleet, live: EmulatorHandle) -> None:
    result = cli("verify", str(fleet.env_file), "--explain", fleet.good)
    assert result.exit_code == 0, result.output
    text = result.stdout
    report = json.loads(cli("verify", str(fleet.env_file), "-o", "json", "--server", fleet.good).stdout)
    shake = report["servers"][0]["handshake"]
    assert f"ServerHello: version TLSv1.3, suite {shake['cipher']}" in text
    assert "ClientHello: versions TLSv1.2, TLSv1.3" in text and "TLS_AES_128_GCM_SHA256" in text
    for cert in shake["chain"]:
        assert f"subject: {cert['subject']}" in text and f"issuer:  {cert['issuer']}" in text
    assert f"trusted root: {shake['trustAnchor']['subject']}" in text
    for line in ("TLSv1    refused", "TLSv1.1  refused", "TLSv1.2  refused", "TLSv1.3  accepted"):
        assert line in text
    assert "refuses-TLSv1.2: pass" in text


def test_sessions_lists_its_own_tls_session_and_a_plaintext_client(fleet: Fleet, live: EmulatorHandle) -> None:
    host, port = endpoint(live, f"{fleet.plaintext}.postgres.database.azure.com")
    plain = psycopg.connect(
        host=host,
        port=port,
        user="pgadmin",
        password=PASSWORD,
        dbname="postgres",
        sslmode="disable",
        application_name="legacy-app",
    )
    try:
        result = cli("sessions", str(fleet.env_file), "-o", "json", "--server", fleet.good, "--server", fleet.plaintext)
        table = cli("sessions", str(fleet.env_file), "--server", fleet.plaintext)
        verified = json.loads(cli("verify", str(fleet.env_file), "-o", "json", "-s", fleet.plaintext).stdout)
    finally:
        plain.close()
    assert result.exit_code == 0, result.output
    servers = {s["server"]: s for s in json.loads(result.stdout)["servers"]}
    own = [row for row in servers[fleet.good]["sessions"] if row["application"] == "pgflex verify"]
    assert own and own[0]["ssl"] is True and own[0]["protocol"] == "TLSv1.3" and own[0]["cipher"]
    legacy = [row for row in servers[fleet.plaintext]["sessions"] if row["application"] == "legacy-app"]
    assert legacy and legacy[0]["ssl"] is False and legacy[0]["clientAddress"] == "127.0.0.1"
    legacy_lines = [line for line in table.stdout.splitlines() if "application=legacy-app" in line]
    assert (
        legacy_lines
        and legacy_lines[0].startswith(f"{fleet.plaintext} session WARN ")
        and "tls=no TLS" in legacy_lines[0]
    )
    assert servers[fleet.plaintext]["status"] == "warn" and servers[fleet.good]["status"] == "pass"
    sslinfo = next(c for c in verified["servers"][0]["checks"] if c["name"] == "sslinfo")
    assert sslinfo["status"] == "warn" and sslinfo["data"]["nonTlsClientSessions"] == 1


def test_sessions_exits_1_when_a_server_cannot_be_reached(fleet: Fleet, live: EmulatorHandle) -> None:
    result = cli("sessions", str(fleet.env_file), "-o", "json", "--server", fleet.blocked)
    assert result.exit_code == 1
    (server,) = json.loads(result.stdout)["servers"]
    assert server["status"] == "blocked" and "no pg_hba.conf entry" in server["detail"]


def test_emulator_status_in_a_log_is_one_whole_line_per_server(fleet: Fleet, live: EmulatorHandle) -> None:
    result = cli("emulator", "status", "--state-dir", str(live.state_dir))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"emulator {live.base_url} ") and lines[2].startswith("private networks: ")
    for name in (fleet.good, fleet.blocked):
        host, port = endpoint(live, f"{name}.postgres.database.azure.com")
        (line,) = [line for line in lines if line.startswith(f"{name}.postgres.database.azure.com ")]
        assert line.endswith(f" Ready {host}:{port} publicNetworkAccess=Enabled"), line
    document = json.loads(cli("emulator", "status", "--state-dir", str(live.state_dir), "-o", "json").stdout)
    assert f"{fleet.good}.postgres.database.azure.com" in document["serversReachableAt"]
