"""Hostile files through the real CLI: one line at the file, line and column, exit 1, no traceback, within
seconds, and not a single request to Azure (an emulator runs and counts them, as in test_invalid_specs).

Malformed saved plans given to `pgflex apply` get the same treatment: one line naming the file.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import traceback
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from pgflex.cli.main import app
from pgflex.emulator.client import AdminClient
from support import hostile
from support.emulator import EmulatorHandle

CASES = hostile.every()


@pytest.fixture
def admin(emulator: EmulatorHandle) -> AdminClient:
    client = emulator.admin()
    client.reset_stats()
    return client


def _assert_no_requests(admin: AdminClient) -> None:
    stats = admin.stats()
    assert stats.get("arm", 0) == 0, stats
    assert stats.get("identity", 0) == 0, stats


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_plan_refuses_a_hostile_file_quickly(case: hostile.Hostile, tmp_path: Path, admin: AdminClient) -> None:
    path = tmp_path / f"{case.name}.yaml"
    path.write_text(case.text, encoding="utf-8")

    # The child's CPU time, not wall time: a loaded test machine must not make pgflex's work look slower.
    started = _children_cpu_seconds()
    done = subprocess.run(
        [sys.executable, "-m", "pgflex.cli.main", "plan", str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PGFLEX_ADMIN_PASSWORD": "unused"},
        timeout=120,
        check=False,
    )
    elapsed = _children_cpu_seconds() - started

    described = f"exit {done.returncode} after {elapsed:.1f}s of CPU\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert elapsed < 5, described
    assert done.returncode == 1, described
    assert "Traceback" not in done.stderr + done.stdout, described
    assert done.stdout == "", described
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"pgflex: {path}:{case.line}:{case.column}: "), described
    assert case.fragment in line, described
    _assert_no_requests(admin)


# --------------------------------------------------------------------------------------------------
# Saved plans.
# --------------------------------------------------------------------------------------------------

CHANGE = '{"kind": "firewallRule", "name": "office", "action": "create", "reason": "r", "after": %s}'
PLAN = (
    '{"kind": "pgflex.plan", "formatVersion": 2, "pgflexVersion": "0.1.0", "environment": "e", "cloud": "local", '
    '"subscription": "s", "resourceGroup": "rg", "source": "env.yaml", "specDigest": "", "specKeys": {}, '
    '"verify": true, "fingerprint": "sha256:0", "summary": {}, "hasChanges": false, "errors": [], '
    '"environmentChanges": [], "servers": %s}'
)
SERVERS = '[{"name": "pg", "changes": [%s], "exceptions": []}]'

# Saved plan content -> what the one line must say after "not a pgflex plan: ".
MALFORMED_PLANS = {
    "not-json": ("plan: yes\n", "not JSON (Expecting value: line 1 column 1 (char 0))"),
    "not-utf8": ('{"kind": "\xff"}', "not JSON ("),
    "a-list": ("[1, 2]", "expected an object, got a list"),
    "a-string": ('"pgflex.plan"', "expected an object, got a string"),
    "missing-key": (PLAN.replace('"environment": "e", ', "") % "[]", "environment: missing"),
    "wrong-type": (PLAN.replace('"cloud": "local"', '"cloud": 7') % "[]", "cloud: expected a string, got a number"),
    "servers-not-a-list": (PLAN % '{"pg": []}', "servers: expected a list, got an object"),
    "server-not-an-object": (PLAN % '["pg"]', "servers[0]: expected an object, got a string"),
    "change-not-an-object": (PLAN % (SERVERS % "null"), "servers[0].changes[0]: expected an object, got null"),
    "unknown-action": (
        PLAN % (SERVERS % CHANGE.replace('"create"', '"explode"') % "{}"),
        "servers[0].changes[0].action: unknown action 'explode'",
    ),
    "after-not-a-dict": (
        PLAN % (SERVERS % CHANGE % '"notadict"'),
        "servers[0].changes[0].after: expected an object, got a string",
    ),
    "after-missing-end": (
        PLAN % (SERVERS % CHANGE % '{"start": "192.0.2.1"}'),
        "servers[0].changes[0].after.end: missing",
    ),
    "unknown-key": (
        PLAN.replace('"errors": []', '"errors": [], "extra": 1') % "[]",
        "extra: not a key of a pgflex plan",
    ),
    "unknown-change-key": (
        PLAN % (SERVERS % CHANGE.replace('"reason": "r"', '"reason": "r", "force": true') % "{}"),
        "servers[0].changes[0].force: not a key of a pgflex plan",
    ),
    "summary-not-the-changes": (PLAN % "[]", "summary: {} does not match the plan's changes"),
    "nested-too-deeply": ("[" * 100_000 + "]" * 100_000, "the JSON nests too deeply"),
    "huge-integer": ('{"formatVersion": ' + "9" * 5000 + "}", "not JSON (Exceeds the limit (4300 digits)"),
}


def _apply(path: Path) -> Result:
    return CliRunner().invoke(app, ["apply", str(path), "--auto-approve"], env={"PGFLEX_ADMIN_PASSWORD": "unused"})


def _describe(result: Result) -> str:
    crash = "".join(traceback.format_exception(result.exception)) if result.exception else ""
    return f"exit {result.exit_code}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}\n{crash}"


@pytest.mark.parametrize("case", MALFORMED_PLANS.values(), ids=MALFORMED_PLANS.keys())
def test_apply_refuses_a_malformed_saved_plan_in_one_line(
    case: tuple[str, str], tmp_path: Path, admin: AdminClient
) -> None:
    content, expected = case
    path = tmp_path / "plan.json"
    path.write_bytes(content.encode("latin-1") if "\xff" in content else content.encode("utf-8"))

    result = _apply(path)

    assert isinstance(result.exception, SystemExit), _describe(result)  # anything else is a crash
    assert result.exit_code == 1, _describe(result)
    assert result.stdout == "", _describe(result)
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"pgflex: {path}: not a pgflex plan: {expected}"), _describe(result)
    _assert_no_requests(admin)


def test_apply_refuses_a_huge_saved_plan_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    with path.open("wb") as sparse:
        sparse.truncate(64 * 1024 * 1024)
    result = _apply(path)
    assert result.exit_code == 1, _describe(result)
    assert result.stderr == f"pgflex: {path}: not a pgflex plan: the file is larger than 16 MiB\n", _describe(result)


def test_apply_names_a_missing_saved_plan(tmp_path: Path) -> None:
    path = tmp_path / "missing.json"
    result = _apply(path)
    assert result.exit_code == 1, _describe(result)
    assert result.stderr == f"pgflex: {path}: cannot read the plan: No such file or directory\n", _describe(result)
