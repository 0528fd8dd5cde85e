"""The runbooks in playbooks/ work as documented, against an emulator whose servers are real PostgreSQL."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from live.conftest import live_emulator, sdk  # noqa: F401 - live_emulator is a fixture used through `live`
from support.emulator import EmulatorHandle, unique
from support.specs import environment, public_server, write
from verify.conftest import LOCAL, live  # noqa: F401 - `live` is a fixture: the live emulator, verify's variables

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"
ROOT = PLAYBOOKS.parent


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, PLAYBOOKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tls_minimum(handle: EmulatorHandle, group: str, server: str) -> str:
    with sdk(handle) as clients:
        value = clients.postgres.configurations.get(group, server, "ssl_min_protocol_version").value
    return str(value)


def test_raise_the_tls_minimum_then_the_drift_job_repairs_back_to_the_spec_and_verifies(
    live: EmulatorHandle,  # noqa: F811 - the fixture, by name
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    group, server = unique("rg-runbook"), unique("pg-runbook")
    spec = write(
        tmp_path / "env.yaml", environment(group, [public_server(server, LOCAL, tls={"minVersion": "TLSv1.2"})])
    )
    raise_tls, drift_job = _load("raise_tls_minimum"), _load("drift_reconcile")

    # The runbook creates the server from the spec, with the minimum raised in memory, and verifies it live.
    assert raise_tls.main([str(spec)]) == 0, capsys.readouterr()
    assert "applied with" in capsys.readouterr().out
    assert _tls_minimum(live, group, server) == "TLSv1.3"

    # An invalid minimum is refused before any request is sent.
    live.reset_request_count()
    assert raise_tls.main([str(spec), "TLSv9"]) == 1
    refused = capsys.readouterr().err
    assert "servers[0].tls.minVersion: 'TLSv9' is not allowed" in refused and len(refused.splitlines()) == 1
    assert live.request_count("arm") == 0

    # The file still says TLSv1.2: to the drift job, the raised minimum is drift, repaired and then verified.
    assert drift_job.main([str(spec)]) == 2
    assert f"drift: {server}: parameter ssl_min_protocol_version: update" in capsys.readouterr().out
    assert drift_job.main([str(spec), "--repair"]) == 0, capsys.readouterr()
    assert "repaired" in capsys.readouterr().out
    assert _tls_minimum(live, group, server) == "TLSv1.2"
    live.reset_request_count()
    assert drift_job.main([str(spec)]) == 0
    assert live.request_count("arm.writes") == 0
    assert drift_job.main([str(tmp_path / "missing.yaml")]) == 1


@pytest.mark.parametrize("runbook", ["raise_tls_minimum.py", "drift_reconcile.py"])
def test_runbooks_type_check_under_mypy_strict(runbook: str) -> None:
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(PLAYBOOKS / runbook)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
