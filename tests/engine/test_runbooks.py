"""The runbooks in playbooks/ work as documented, against the emulator."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from support.emulator import Clients, EmulatorHandle, unique
from support.specs import environment, public_server, write

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, PLAYBOOKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_drift_job_reports_repairs_and_then_finds_nothing(
    emulator: EmulatorHandle,
    clients: Clients,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PGFLEX_ADMIN_PASSWORD", "Runbook-Passw0rd!")
    group, server = unique("rg-job"), unique("pg")
    spec = write(tmp_path / "env.yaml", environment(group, [public_server(server, {"office": "203.0.113.0/24"})]))
    job = _load("drift_reconcile")
    report = tmp_path / "drift.json"
    assert job.main([str(spec), "--report", str(report)]) == 2  # nothing exists yet
    assert json.loads(report.read_text())["hasChanges"] is True
    assert job.main([str(spec), "--repair"]) == 0
    assert job.main([str(spec)]) == 0
    clients.postgres.firewall_rules.begin_delete(group, server, "office").result()
    assert job.main([str(spec)]) == 2
    assert "drift: firewallRule office: create" in capsys.readouterr().out
    assert job.main([str(spec), "--repair"]) == 0
    assert [r.name for r in clients.postgres.firewall_rules.list_by_server(group, server)] == ["office"]
    assert job.main([str(tmp_path / "missing.yaml")]) == 1
