"""``pgflex drift [--repair] [--report FILE]``: the scheduled drift job, shipped as a command, against the emulator.

Writes are counted at the emulator: a job that must repair nothing sends no write request at all. The emulator
here has no data plane, so these runs pass --no-verify (no sslinfo planned, no TLS verification after a repair);
tests/engine/test_runbooks.py repairs and verifies against live servers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pgflex.azure.retry import RetryPolicy
from pgflex.cli.main import app
from pgflex.engine.api import apply
from support.emulator import Clients, EmulatorHandle, unique
from support.outputs import assert_documented
from support.specs import environment, public_server, write

PASSWORD = "Drift-Job-Passw0rd!"
FAST_RETRY = RetryPolicy(initial_seconds=0.05, max_seconds=0.5)
ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def names() -> dict[str, str]:
    return {"group": unique("rg-drift-job"), "server": unique("pg-drift")}


def _spec(names: dict[str, str], **defaults: Any) -> dict[str, Any]:
    rules = {"office": "203.0.113.0/24", "ci": "198.51.100.7/32"}
    return environment(names["group"], [public_server(names["server"], rules)], **defaults)


@pytest.fixture
def applied(
    emulator: EmulatorHandle, clients: Clients, names: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The spec, applied; then its rule ``office`` deleted out of band (drift pgflex can repair)."""
    monkeypatch.setenv("PGFLEX_ADMIN_PASSWORD", PASSWORD)
    env_file = write(tmp_path / "env.yaml", _spec(names))
    assert apply(env_file, retry=FAST_RETRY, verify=False).converged
    clients.postgres.firewall_rules.begin_delete(names["group"], names["server"], "office").result()
    return env_file


def _rules(clients: Clients, names: dict[str, str]) -> list[str]:
    return sorted(rule.name for rule in clients.postgres.firewall_rules.list_by_server(names["group"], names["server"]))


def test_repair_applies_the_drift_reports_it_and_a_following_drift_finds_none(
    emulator: EmulatorHandle, clients: Clients, names: dict[str, str], applied: Path, tmp_path: Path
) -> None:
    read_only_report = tmp_path / "found.json"
    emulator.reset_request_count()
    found = _cli("drift", str(applied), "--no-verify", "--report", str(read_only_report))
    assert found.exit_code == 2, found.output
    assert emulator.request_count("arm.writes") == 0
    document = json.loads(read_only_report.read_text())
    assert_documented("drift", document)
    assert (document["outcome"], document["repair"], document["exitCode"], document["repaired"]) == (
        "drifted",
        False,
        2,
        [],
    )
    office = {"server": names["server"], "kind": "firewallRule", "name": "office", "action": "create"}
    assert [{key: entry[key] for key in office} for entry in document["drift"]] == [office]

    report = tmp_path / "repaired.json"
    emulator.reset_request_count()
    repaired = _cli("drift", str(applied), "--repair", "--no-verify", "--report", str(report))
    assert repaired.exit_code == 0, repaired.output
    assert "repaired 1 difference(s)" in repaired.output
    assert emulator.request_count("arm.writes") >= 1
    assert _rules(clients, names) == ["ci", "office"]
    document = json.loads(report.read_text())
    assert_documented("drift", document)
    assert (document["outcome"], document["repair"], document["exitCode"]) == ("repaired", True, 0)
    assert [entry["name"] for entry in document["repaired"]] == ["office"] and document["writes"] >= 1
    assert document["plan"]["hasChanges"] and document["remaining"] is None and document["verify"] is None

    emulator.reset_request_count()
    again = _cli("drift", str(applied), "--no-verify")
    assert again.exit_code == 0, again.output
    assert emulator.request_count("arm.writes") == 0
    as_json = _cli("drift", str(applied), "--repair", "--no-verify", "-o", "json")
    assert as_json.exit_code == 0
    printed = json.loads(as_json.stdout)
    assert_documented("drift", printed)
    assert (printed["outcome"], printed["writes"]) == ("none", 0)


def test_drift_that_cannot_be_repaired_repairs_nothing_and_names_it(
    emulator: EmulatorHandle, clients: Clients, names: dict[str, str], applied: Path, tmp_path: Path
) -> None:
    downgraded = write(tmp_path / "downgraded.yaml", _spec(names, version="15"))  # the server runs 16
    report = tmp_path / "drift.json"
    emulator.reset_request_count()
    result = _cli("drift", str(downgraded), "--repair", "--no-verify", "--report", str(report))
    assert result.exit_code == 2, result.output
    assert f"drift that cannot be repaired automatically: {names['server']}: " in result.output
    assert "version" in result.output and "nothing was repaired" in result.output
    assert emulator.request_count("arm.writes") == 0  # not even the repairable rule
    assert _rules(clients, names) == ["ci"]
    document = json.loads(report.read_text())
    assert_documented("drift", document)
    assert (document["outcome"], document["exitCode"], document["writes"]) == ("unrepairable", 2, 0)
    assert document["unrepairable"] and all(names["server"] in error for error in document["unrepairable"])
    assert [entry["name"] for entry in document["drift"]] == ["office"]
    # Read-only, the same: drift a person must resolve is drift (2), not an error of the job (1).
    assert _cli("drift", str(downgraded), "--no-verify").exit_code == 2


def test_without_credentials_the_job_fails_in_one_line_and_writes_no_report(tmp_path: Path) -> None:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG")}
    environ = {**keep, "HOME": str(tmp_path), "AZURE_CONFIG_DIR": str(tmp_path / "az")}
    environ["AZURE_SUBSCRIPTION_ID"] = "11111111-2222-3333-4444-555555555555"
    report = tmp_path / "drift.json"
    spec = str(ROOT / "infra" / "public.yaml")
    result = subprocess.run(
        [sys.executable, "-m", "pgflex.cli.main", "drift", spec, "--repair", "--report", str(report)],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("pgflex: no Azure credentials are configured"), result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1
    assert not report.exists()
