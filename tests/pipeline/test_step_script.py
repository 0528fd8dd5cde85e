"""The pipeline step without Azure: validate, the exit-code rules, what it installs, Azure Pipelines' output form.

No emulator runs here and no Azure variable is set: validate needs neither, and the other failures happen
before pgflex would call Azure.
"""

from __future__ import annotations

import re
from pathlib import Path

from .runners import REPOSITORY, run_action, run_azure_template

LOCAL = REPOSITORY / "infra" / "local.yaml"
PUBLIC = REPOSITORY / "infra" / "public.yaml"
NO_FILES = {"plan-json": "", "junit": "", "result-json": ""}


def test_validate_needs_no_azure_and_installs_nothing_when_pgflex_is_on_path(tmp_path: Path) -> None:
    # Were the step to install, this requirement would fail it; and no virtual environment may appear.
    inputs = {"env-file": str(LOCAL), "command": "validate", "install": "/nonexistent/pgflex-checkout"}
    run = run_action(tmp_path, {**inputs, "arguments": str(PUBLIC)})
    assert run.exit_code == 0, run.describe()
    assert run.outputs == {"exit-code": "0", **NO_FILES}
    assert f"{LOCAL}: valid" in run.stdout and f"{PUBLIC}: valid" in run.stdout  # both files, in the log
    assert not (tmp_path / "runner-temp" / "pgflex-venv").exists()
    assert "pgflex validate exited 0" in run.summary


def test_an_invalid_file_fails_the_step(tmp_path: Path) -> None:
    broken = tmp_path / "env.yaml"
    broken.write_text(LOCAL.read_text().replace("apiVersion: pgflex/v1", "apiVersion: pgflex/v0"))
    run = run_action(tmp_path / "step", {"env-file": str(broken), "command": "validate"})
    assert run.exit_code == 1, run.describe()
    assert run.outputs == {"exit-code": "1", **NO_FILES}
    assert re.search(rf"^pgflex: {broken}:\d+:\d+: apiVersion: ", run.stderr, re.M)  # names the file and line
    assert f"::error file={broken},line=" in run.stdout  # and annotates it on GitHub


def test_a_usage_error_fails_the_step(tmp_path: Path) -> None:
    inputs = {"env-file": str(LOCAL), "command": "plan", "arguments": "--detailed-exit-code"}
    run = run_action(tmp_path, inputs)
    assert run.exit_code == 1, run.describe()  # an error, never mistaken for "changes present" (2)
    assert run.outputs == {"exit-code": "1", **NO_FILES}
    assert "No such option: --detailed-exit-code" in run.stderr


def test_an_unknown_command_or_switch_value_fails_before_running_pgflex(tmp_path: Path) -> None:
    run = run_action(tmp_path / "command", {"env-file": str(LOCAL), "command": "deploy"})
    assert run.exit_code == 1 and "::error title=pgflex deploy::unknown command 'deploy'" in run.stdout
    inputs = {"env-file": str(LOCAL), "command": "validate", "fail-on-changes": "yes"}
    run = run_action(tmp_path / "switch", inputs)
    assert run.exit_code == 1 and "fail-on-changes must be true or false, not 'yes'" in run.stdout
    assert run.outputs["exit-code"] == ""  # pgflex never ran


def test_on_azure_pipelines_outputs_are_output_variables_and_errors_are_logged_issues(tmp_path: Path) -> None:
    parameters = {
        "envFile": str(LOCAL),
        "command": "validate",
        "azureSubscription": "pgflex-azure",
        "pgflexDirectory": str(REPOSITORY),
    }
    run = run_azure_template(tmp_path / "valid", parameters)
    assert run.exit_code == 0, run.describe()
    assert run.outputs == {"exitCode": "0", "planJson": "", "junit": "", "resultJson": ""}
    assert "::" not in run.stdout.replace("##vso[", "")  # no GitHub workflow command
    run = run_azure_template(tmp_path / "unknown", {**parameters, "command": "deploy"})
    assert run.exit_code == 1
    assert "##vso[task.logissue type=error]pgflex deploy: unknown command 'deploy'" in run.stdout


def test_the_service_connections_oidc_token_is_never_printed_nor_left_on_disk(tmp_path: Path) -> None:
    # What AzureCLI@2 with addSpnToEnvironment gives a workload identity federation connection's script.
    identity = {"idToken": "eyJ-oidc-token-of-the-connection", "servicePrincipalId": "app-id", "tenantId": "tenant-id"}
    parameters = {
        "envFile": str(LOCAL),
        "command": "validate",
        "azureSubscription": "pgflex-azure",
        "pgflexDirectory": str(REPOSITORY),
    }
    run = run_azure_template(tmp_path, parameters, identity)
    assert run.exit_code == 0, run.describe()
    assert identity["idToken"] not in run.stdout + run.stderr
    assert list((tmp_path / "agent-temp").glob("pgflex-oidc.*")) == []  # the script removed its token file
