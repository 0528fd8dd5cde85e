"""The pipeline step against the emulator, run as GitHub Actions and Azure Pipelines run it: one public server,
a real PostgreSQL, so plan, apply (ending with TLS verification), verify, drift and destroy are the real thing."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from live.conftest import sdk
from pgflex.azure.retry import RetryPolicy
from pgflex.engine.api import apply
from support.emulator import EmulatorHandle, unique
from support.specs import environment, public_server, write

from .runners import REPOSITORY, StepRun, run_action, run_azure_template

PASSWORD = "Pipeline-Secret-Passw0rd!"
FAST_RETRY = RetryPolicy(initial_seconds=0.05, max_seconds=0.5)


@pytest.fixture
def server() -> str:
    return unique("pipe")


@pytest.fixture
def group() -> str:
    return unique("rg-pipe")


@pytest.fixture
def env_file(tmp_path: Path, group: str, server: str) -> Path:
    document = environment(group, [public_server(server, {"local": "127.0.0.1/32"})], version="15")
    return write(tmp_path / "env.yaml", document)


@pytest.fixture
def pgflex_env(emulator: EmulatorHandle) -> dict[str, str]:
    """What the pipeline gives pgflex: where Azure is (here the emulator) and the password secret."""
    return {**emulator.environment(), "PGFLEX_ADMIN_PASSWORD": PASSWORD}


def _json(path: str) -> dict[str, object]:
    assert path, "the output names no file"
    document = json.loads(Path(path).read_text())
    assert isinstance(document, dict)
    return document


def _junit(path: str) -> ET.Element:
    assert path, "the output names no file"
    root = ET.parse(path).getroot()  # noqa: S314 - the file pgflex just wrote in this test
    assert root.tag == "testsuites"
    assert int(root.get("tests", "0")) > 0
    return root


def _assert_password_kept_secret(run: StepRun, *files: str) -> None:
    assert PASSWORD not in run.stdout + run.stderr + run.summary
    for file in filter(None, files):
        assert PASSWORD not in Path(file).read_text()


def test_plan_of_an_empty_environment_passes_the_step_and_saves_the_plan(
    tmp_path: Path, env_file: Path, server: str, pgflex_env: dict[str, str]
) -> None:
    run = run_action(tmp_path / "step", {"env-file": str(env_file), "command": "plan"}, pgflex_env)
    assert run.exit_code == 0, run.describe()  # changes present: reported, not a failure (fail-on-changes false)
    assert run.outputs["exit-code"] == "2"
    plan = _json(run.outputs["plan-json"])
    assert [s["name"] for s in plan["servers"]] == [server]  # type: ignore[attr-defined]
    assert _json(run.outputs["result-json"]) == plan  # the JSON on stdout is the saved plan
    assert run.outputs["junit"] == ""
    assert "pgflex plan exited 2" in run.summary
    _assert_password_kept_secret(run, run.outputs["plan-json"])


def test_plan_with_fail_on_changes_fails_the_step_with_an_annotation(
    tmp_path: Path, env_file: Path, pgflex_env: dict[str, str]
) -> None:
    inputs = {"env-file": str(env_file), "command": "plan", "fail-on-changes": "true"}
    run = run_action(tmp_path / "step", inputs, pgflex_env)
    assert run.exit_code == 2, run.describe()
    assert run.outputs["exit-code"] == "2" and run.outputs["plan-json"]
    assert "::error title=pgflex plan::changes or drift present" in run.stdout


def test_apply_then_verify_then_drift_pass_with_junit_and_json(
    tmp_path: Path, env_file: Path, server: str, pgflex_env: dict[str, str]
) -> None:
    applied = run_action(tmp_path / "apply", {"env-file": str(env_file), "command": "apply"}, pgflex_env)
    assert applied.exit_code == 0, applied.describe()
    assert applied.outputs["exit-code"] == "0" and applied.outputs["plan-json"] == ""
    report = _junit(applied.outputs["junit"])  # apply's last step, the TLS checks
    assert report.get("failures") == "0" and report.get("errors") == "0"
    _json(applied.outputs["result-json"])
    _assert_password_kept_secret(applied, applied.outputs["result-json"], applied.outputs["junit"])

    verified = run_action(tmp_path / "verify", {"env-file": str(env_file), "command": "verify"}, pgflex_env)
    assert verified.exit_code == 0, verified.describe()
    assert verified.outputs["exit-code"] == "0"
    suites = _junit(verified.outputs["junit"]).findall("testsuite")
    assert [suite.get("name", "").rsplit(".", 1)[-1] for suite in suites] == [server]
    assert _json(verified.outputs["result-json"])["passed"] is True

    drift = run_action(tmp_path / "drift", {"env-file": str(env_file), "command": "drift"}, pgflex_env)
    assert drift.exit_code == 0, drift.describe()
    assert drift.outputs["exit-code"] == "0"  # nothing drifted since apply
    _json(drift.outputs["result-json"])


def test_apply_whose_tls_verification_fails_fails_the_step_with_exit_code_3(
    tmp_path: Path, group: str, server: str, pgflex_env: dict[str, str]
) -> None:
    # Its only firewall rule does not admit this machine: verify reports "blocked", which fails closed.
    document = environment(group, [public_server(server, {"office": "203.0.113.0/24"})], version="15")
    env_file = write(tmp_path / "env.yaml", document)
    run = run_action(tmp_path / "step", {"env-file": str(env_file), "command": "apply"}, pgflex_env)
    assert run.exit_code == 3, run.describe()
    assert run.outputs["exit-code"] == "3"
    assert int(_junit(run.outputs["junit"]).get("errors", "0")) > 0  # published, so the failure is visible
    _json(run.outputs["result-json"])


def test_destroy_deletes_the_server(
    emulator: EmulatorHandle, tmp_path: Path, env_file: Path, group: str, pgflex_env: dict[str, str]
) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PGFLEX_ADMIN_PASSWORD", PASSWORD)
        assert apply(env_file, retry=FAST_RETRY).converged  # set-up through the library, faster than a step
    run = run_action(tmp_path / "step", {"env-file": str(env_file), "command": "destroy"}, pgflex_env)
    assert run.exit_code == 0, run.describe()
    assert run.outputs["exit-code"] == "0"
    _json(run.outputs["result-json"])
    with sdk(emulator) as clients:
        assert list(clients.postgres.servers.list_by_resource_group(group)) == []


def test_the_azure_pipelines_template_plans_with_output_variables(
    tmp_path: Path, env_file: Path, server: str, pgflex_env: dict[str, str]
) -> None:
    parameters = {
        "envFile": str(env_file),
        "command": "plan",
        "azureSubscription": "pgflex-azure",  # a service connection: AzureCLI@2 would sign in; the emulator needs none
        "pgflexDirectory": str(REPOSITORY),
        "env": pgflex_env,
    }
    run = run_azure_template(tmp_path / "step", parameters)
    assert run.exit_code == 0, run.describe()
    assert run.outputs["exitCode"] == "2"
    assert [s["name"] for s in _json(run.outputs["planJson"])["servers"]] == [server]  # type: ignore[attr-defined]
    assert run.outputs["junit"] == "" and run.outputs["resultJson"]
