"""pgflex in a pipeline's log: real processes with standard output on a pipe, as CI runs them.

One line per result that is never split (whatever COLUMNS says), no escape sequences even with FORCE_COLOR,
annotations and a step summary on GitHub Actions, and the exit codes of the README's table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from support.emulator import EmulatorHandle, unique
from support.specs import environment, public_server, write

PASSWORD = "Pipeline-Secret-Passw0rd!"
ROOT = Path(__file__).resolve().parents[2]
INVALID = ROOT / "tests" / "spec" / "invalid" / "defaults-unknown-key.yaml"


def pgflex(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``pgflex`` as a pipeline runs it: a separate process whose output goes to pipes."""
    environ = {**os.environ, "PGFLEX_ADMIN_PASSWORD": PASSWORD, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "pgflex.cli.main", *args],
        capture_output=True,
        text=True,
        env=environ,
        cwd=cwd,
        timeout=300,
        check=False,
    )


@pytest.fixture
def env_file(tmp_path: Path) -> Path:
    # A long server name and a long rule name: a 40-column terminal would fold their lines.
    server = public_server(
        unique("pipeline-server-with-a-long-name"), {"office-network-with-a-long-name": "203.0.113.0/24"}
    )
    return write(tmp_path / "env.yaml", environment(unique("rg-pipeline"), [server]))


def _server(env_file: Path) -> str:
    from pgflex.spec import load_spec

    return load_spec(env_file, env={"PGFLEX_ADMIN_PASSWORD": PASSWORD}).servers[0].name


def test_piped_output_has_one_unsplit_line_per_result_and_no_escape_sequences(
    emulator: EmulatorHandle, env_file: Path
) -> None:
    narrow_and_coloured = {"COLUMNS": "40", "FORCE_COLOR": "1", "TERM": "xterm-256color"}
    server = _server(env_file)
    planned = pgflex("plan", str(env_file), env=narrow_and_coloured)
    assert planned.returncode == 0, planned.stderr
    applied = pgflex("apply", str(env_file), "--auto-approve", "--no-verify", env=narrow_and_coloured)
    assert applied.returncode == 0, applied.stderr
    for output in (planned.stdout, planned.stderr, applied.stdout, applied.stderr):
        assert "\x1b" not in output  # no colour, and above all no cursor movement redrawing a live table
    lines = planned.stdout.splitlines()
    create = [line for line in lines if line.startswith(f"{server} server/{server} CREATE ")]
    assert len(create) == 1 and "version=16" in create[0] and "(server does not exist)" in create[0]
    rule = [line for line in lines if line.startswith(f"{server} firewallRule/office-network-with-a-long-name ")]
    assert len(rule) == 1 and "203.0.113.0" in rule[0]
    # Every line is a result (server or environment first) or the closing summary: nothing was folded.
    assert all(line.startswith((server, "environment ")) for line in lines[:-1]), lines
    assert lines[-1].startswith("plan test: ") and "to create" in lines[-1]
    # Progress in a log: time-stamped lines on stderr, once per event, never a redrawn table.
    progress = [line for line in applied.stderr.splitlines() if f" {server}: " in line]
    assert progress and all(line[2] == ":" and line[5] == ":" for line in progress)
    # (--no-verify on both sides: the plan otherwise adds sslinfo, which verify needs, to azure.extensions.)
    assert f"{server} plan OK up to date" in pgflex("plan", str(env_file), "--no-verify").stdout


def test_github_actions_gets_annotations_and_a_step_summary(
    emulator: EmulatorHandle, env_file: Path, tmp_path: Path
) -> None:
    summary = tmp_path / "step-summary.md"
    github = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}

    invalid = pgflex("validate", str(INVALID), env=github)
    assert invalid.returncode == 1
    assert f"::error file={INVALID},line=10,col=3,title=pgflex spec::defaults.name: unknown key 'name'" in (
        invalid.stdout
    )
    assert f"{INVALID}:10:3: defaults.name: unknown key" in invalid.stderr

    server = _server(env_file)
    drift = pgflex("drift", str(env_file), env=github)
    assert drift.returncode == 2
    warnings = [line for line in drift.stdout.splitlines() if line.startswith("::warning ")]
    assert f"::warning title=pgflex drift%3A {server}::create server/{server}: " in "\n".join(warnings)
    text = summary.read_text()
    assert "### pgflex drift: test (local)" in text
    assert "| Server | Change | Action | Detail |\n|---|---|---|---|\n" in text
    assert f"| {server} | firewallRule/office-network-with-a-long-name | create | " in text

    # With -o json, standard output is the document alone; annotations go to stderr.
    as_json = pgflex("drift", str(env_file), "-o", "json", env=github)
    assert json.loads(as_json.stdout)["kind"] == "pgflex.plan"
    assert "::warning " in as_json.stderr


def test_exit_codes_of_validate_plan_drift_and_apply(emulator: EmulatorHandle, env_file: Path) -> None:
    assert pgflex("validate", str(INVALID)).returncode == 1
    assert pgflex("validate", str(env_file)).returncode == 0
    # A usage error is an error (1), not Click's 2, which would read as "changes present".
    mistyped = pgflex("plan", str(env_file), "--detailed-exit-code")
    assert mistyped.returncode == 1 and "No such option: --detailed-exit-code" in mistyped.stderr
    assert pgflex("plan", str(env_file)).returncode == 0  # changes, but no --detailed-exitcode
    assert pgflex("plan", str(env_file), "--detailed-exitcode").returncode == 2
    assert pgflex("drift", str(env_file)).returncode == 2
    applied = pgflex("apply", str(env_file), "--auto-approve", "--no-verify", "-o", "json")
    assert applied.returncode == 0, applied.stderr
    document = json.loads(applied.stdout)
    assert (document["kind"], document["outcome"], document["exitCode"]) == ("pgflex.apply", "applied", 0)
    assert document["writes"] > 0 and document["verify"] is None and document["remaining"] is None
    assert pgflex("drift", str(env_file), "--no-verify").returncode == 0
    again = json.loads(pgflex("apply", str(env_file), "--auto-approve", "--no-verify", "-o", "json").stdout)
    assert (again["outcome"], again["writes"]) == ("unchanged", 0)
    destroyed = pgflex("destroy", str(env_file), "--auto-approve", "-o", "json")
    assert destroyed.returncode == 0, destroyed.stderr
    assert json.loads(destroyed.stdout)["deleted"] == [f"server {_server(env_file)}"]


def test_validate_needs_no_azure_variables_and_takes_several_files(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "PGFLEX_", "IDENTITY_"))}
    files = [str(ROOT / "infra" / name) for name in ("local.yaml", "public.yaml", "private.yaml")]
    checked = subprocess.run(
        [sys.executable, "-m", "pgflex.cli.main", "validate", *files, "--verbose"],
        capture_output=True,
        text=True,
        env={**environ, "GITHUB_ACTIONS": "true"},
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    assert [line.split(":")[0] for line in checked.stdout.splitlines() if ": valid" in line] == files
    # public.yaml and private.yaml read the subscription from ${AZURE_SUBSCRIPTION_ID}: a warning, not an error.
    assert checked.stderr.count("warning:") == 2 and "AZURE_SUBSCRIPTION_ID is not set" in checked.stderr
    assert f"::warning file={files[1]},line=7,col=17,title=pgflex spec::environment.subscription:" in checked.stdout
    # An invalid file among valid ones fails the run, and every file is still checked.
    mixed = pgflex("validate", files[0], str(INVALID), files[0])
    assert mixed.returncode == 1 and mixed.stdout.count(": valid") == 2


def _plan_without_credentials(tmp_path: Path, **given: str) -> subprocess.CompletedProcess[str]:
    """``pgflex plan`` on an Azure spec where DefaultAzureCredential finds nothing but what ``given`` holds."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG")}
    environ = {**keep, "HOME": str(tmp_path), "AZURE_CONFIG_DIR": str(tmp_path / "az"), **given}
    environ["AZURE_SUBSCRIPTION_ID"] = "11111111-2222-3333-4444-555555555555"
    return subprocess.run(
        [sys.executable, "-m", "pgflex.cli.main", "plan", str(ROOT / "infra" / "public.yaml")],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("given", "cause"),
    [
        ({}, "no Azure credentials are configured"),
        ({"IDENTITY_ENDPOINT": "https://identity.invalid/token", "IDENTITY_HEADER": "x"}, "cannot reach the identity"),
    ],
    ids=["nothing-configured", "endpoint-unreachable"],
)
def test_an_authentication_failure_names_its_cause(tmp_path: Path, given: dict[str, str], cause: str) -> None:
    result = _plan_without_credentials(tmp_path, **given)
    assert result.returncode == 1
    assert result.stderr.startswith(f"pgflex: {cause}"), result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1


def test_refused_credentials_are_told_apart_from_missing_ones(emulator: EmulatorHandle, tmp_path: Path) -> None:
    # The emulator's managed-identity endpoint, asked with a wrong secret header, refuses as App Service would.
    identity = {k: v for k, v in emulator.environment().items() if k in ("IDENTITY_ENDPOINT", "REQUESTS_CA_BUNDLE")}
    result = _plan_without_credentials(tmp_path, IDENTITY_HEADER="not-the-secret", **identity)
    assert result.returncode == 1
    assert result.stderr.startswith("pgflex: the credentials were refused (ManagedIdentityCredential)"), result.stderr
    assert "az login" not in result.stderr and len(result.stderr.splitlines()) == 1


def test_shell_completion_completes_subcommands() -> None:
    completion = {"COMP_WORDS": "pgflex dr", "COMP_CWORD": "1", "_PGFLEX_COMPLETE": "complete_bash"}
    completed = subprocess.run(
        [str(Path(sys.executable).with_name("pgflex"))],
        capture_output=True,
        text=True,
        env={**os.environ, **completion},
        check=False,
    )
    assert completed.returncode == 0 and completed.stdout.split() == ["drift"]


def test_azure_pipelines_gets_log_issues_on_the_file_and_line() -> None:
    invalid = pgflex("validate", str(INVALID), env={"TF_BUILD": "True"})
    assert invalid.returncode == 1
    assert (
        f"##vso[task.logissue type=error;sourcepath={INVALID};linenumber=10;columnnumber=3]"
        "pgflex spec: defaults.name: unknown key 'name'"
    ) in invalid.stdout
    assert "::error" not in invalid.stdout  # GitHub's form only on GitHub


def test_schema_prints_each_output_schema_and_refuses_an_unknown_one() -> None:
    for name in ("plan", "verify", "sessions", "apply", "destroy", "drift"):
        printed = pgflex("schema", "--output", name)
        version = 2 if name == "plan" else 1  # plan format 2: plans bound to their inputs
        assert printed.returncode == 0 and json.loads(printed.stdout)["$id"] == f"urn:pgflex:output:{name}:{version}"
    unknown = pgflex("schema", "--output", "drifts")
    assert unknown.returncode == 1 and "choose one of plan, verify, sessions, apply, destroy, drift" in unknown.stderr
    assert json.loads(pgflex("schema").stdout)["title"] == "pgflex environment"


def test_apply_refuses_an_unusable_ca_bundle_before_any_write(
    emulator: EmulatorHandle, env_file: Path, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.pem"
    empty.write_text("")
    writes = emulator.request_count("arm.writes")
    refused = pgflex("apply", str(env_file), "--auto-approve", "--ca-bundle", str(empty))
    assert refused.returncode == 1 and refused.stderr.startswith(f"pgflex: CA bundle {empty} holds no certificate")
    assert emulator.request_count("arm.writes") == writes
