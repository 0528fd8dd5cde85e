"""Real verify and sessions reports, and apply's document with its verification, against the schemas shipped in
``pgflex.schemas``: every document validates, and every key pgflex chose is camelCase.

The fleet holds a compliant server and one broken in each way verify tells apart (a lowered minimum, plaintext
allowed, sslinfo missing, a firewall block), so its report covers passes, failures, blocks and warnings.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pgflex import api
from pgflex.cli.main import app
from pgflex.verify import sessions, verify
from support.emulator import EmulatorHandle, unique
from support.outputs import assert_documented
from support.specs import environment, public_server, write

from .conftest import LOCAL, Fleet

pytestmark = pytest.mark.dataplane


def _json_output(*args: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    try:
        document: dict[str, Any] = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"pgflex {' '.join(args)} printed no JSON document (exit {result.exit_code}): {result.output}")
    return result.exit_code, document


def test_the_fleets_verify_report_is_documented(fleet: Fleet, live: EmulatorHandle) -> None:
    document = fleet.report.to_dict()
    assert_documented("verify", document)
    statuses = {check["status"] for server in document["servers"] for check in server["checks"]}
    assert {"pass", "fail", "blocked", "inconclusive"} <= statuses  # the report covers more than passes
    code, printed = _json_output("verify", str(fleet.env_file), "-o", "json")
    assert code == 1
    assert_documented("verify", printed)


def test_a_handshake_that_fails_verification_is_documented(fleet: Fleet, live: EmulatorHandle) -> None:
    report = verify(fleet.env_file, servers=[fleet.good], host_names={fleet.good: "orders.db.contoso.example"})
    document = report.to_dict()
    assert_documented("verify", document)
    shake = document["servers"][0]["handshake"]
    assert shake["verified"] is False and shake["trustAnchor"] is None and shake["verifyError"]


def test_the_fleets_sessions_report_is_documented(fleet: Fleet, live: EmulatorHandle) -> None:
    code, document = _json_output("sessions", str(fleet.env_file), "-o", "json")
    assert code == 1  # the blocked server
    assert_documented("sessions", document)
    assert any(server["sessions"] for server in document["servers"])


def test_reports_on_a_server_that_does_not_exist_are_documented(
    fleet: Fleet, live: EmulatorHandle, tmp_path: Path
) -> None:
    ghost = write(tmp_path / "ghost.yaml", environment(fleet.group, [public_server(unique("ghost"), LOCAL)]))
    verified = verify(ghost).to_dict()
    assert_documented("verify", verified)
    (server,) = verified["servers"]
    assert (server["endpoint"], server["handshake"], server["versions"]) == (None, None, {})
    listed = sessions(ghost).to_dict()
    assert_documented("sessions", listed)
    assert (listed["servers"][0]["endpoint"], listed["servers"][0]["sessions"]) == (None, [])


def test_apply_with_verification_and_destroy_are_documented(live: EmulatorHandle, tmp_path: Path) -> None:
    name = unique("vschema")
    servers = [public_server(name, LOCAL, tls={"minVersion": "TLSv1.3"})]
    env_file = write(tmp_path / "env.yaml", environment(unique("rg-vschema"), servers, version="15"))

    code, applied = _json_output("apply", str(env_file), "-o", "json", "--auto-approve")
    assert_documented("apply", applied)
    assert (code, applied["outcome"], applied["exitCode"]) == (0, "applied", 0), applied["failures"]
    assert applied["verify"]["passed"] is True
    assert [server["server"] for server in applied["verify"]["servers"]] == [name]

    code, again = _json_output("apply", str(env_file), "-o", "json", "--auto-approve")
    assert_documented("apply", again)
    assert (code, again["outcome"], again["writes"]) == (0, "unchanged", 0)
    assert again["verify"]["passed"] is True  # apply verifies even when nothing changed

    code, destroyed = _json_output("destroy", str(env_file), "-o", "json", "--auto-approve")
    assert_documented("destroy", destroyed)
    assert (code, destroyed["deleted"]) == (0, [f"server {name}"])


def test_apply_whose_verification_fails_is_documented(live: EmulatorHandle, tmp_path: Path) -> None:
    name = unique("vblock")
    servers = [public_server(name, {"office": "203.0.113.0/24"})]  # applied, but this client is not admitted
    env_file = write(tmp_path / "env.yaml", environment(unique("rg-vblock"), servers, version="15"))
    code, applied = _json_output("apply", str(env_file), "-o", "json", "--auto-approve")
    assert_documented("apply", applied)
    assert (code, applied["outcome"], applied["exitCode"]) == (3, "applied", 3)
    assert applied["verify"]["passed"] is False and applied["verify"]["counts"]["blocked"] > 0
    # The library reads the same outcome and exit code: nothing left to change, verification still failing.
    report = api.apply(env_file)
    assert (report.outcome, report.exit_code) == ("unchanged", api.ExitCode.VERIFY_FAILED)
    assert report.verify is not None and not report.verify.passed
    code, destroyed = _json_output("destroy", str(env_file), "-o", "json", "--auto-approve")
    assert_documented("destroy", destroyed)
