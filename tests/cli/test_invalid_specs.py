"""An invalid env file costs one clear error, exit 1, and not a single HTTP request.

Every fixture in tests/spec/invalid/ goes through ``pgflex drift`` (and a few through ``pgflex
plan``) in-process, with an emulator running and ``$PGFLEX_EMULATOR_STATE_DIR`` pointing at it, so
that a request made before validation finished would be counted there. A positive control proves
the count is live: a valid spec makes Resource Manager requests through the same command.
"""

from __future__ import annotations

import re
import traceback
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from pgflex.cli.main import app
from pgflex.emulator.client import AdminClient
from support.emulator import EmulatorHandle, unique

INVALID = Path(__file__).resolve().parents[1] / "spec" / "invalid"
FIXTURES = sorted(INVALID.glob("*.yaml"))
# The same expectation line tests/spec/test_spec_invalid.py reads.
EXPECT = re.compile(r"# expect: (?P<line>\d+):(?P<column>\d+) (?P<path>\S+): (?P<fragment>.+)")
# Variables a fixture reads: tests/spec loads with env={}, so the CLI must see them unset too.
VARIABLES = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|fromEnv:\s*([A-Za-z_][A-Za-z0-9_]*)")
# A spread of defect kinds for `plan`: YAML syntax, interpolation, schema, rules, policy.
PLAN_SUBSET = (
    "yaml-syntax",
    "interpolation-unknown-variable",
    "unknown-key-typo",
    "server-name-duplicate",
    "policy-open-to-internet",
)


def _invoke(args: list[str], env: dict[str, str | None]) -> Result:
    return CliRunner().invoke(app, args, env=env)


def _fixture_env(text: str) -> dict[str, str | None]:
    return {a or b: None for a, b in VARIABLES.findall(text)}


def _describe(result: Result) -> str:
    crash = "".join(traceback.format_exception(result.exception)) if result.exception else ""
    return f"exit {result.exit_code}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}\n{crash}"


@pytest.fixture
def admin(emulator: EmulatorHandle) -> AdminClient:
    # One admin client for the whole test: each new one fetches its own token, which the
    # emulator counts under "identity" and would mask the CLI's own (expected: none).
    client = emulator.admin()
    client.reset_stats()
    return client


def test_there_are_at_least_20_fixtures() -> None:
    assert len(FIXTURES) >= 20


def _assert_fails_clearly_without_requests(command: str, path: Path, admin: AdminClient) -> None:
    text = path.read_text(encoding="utf-8")
    expect = EXPECT.fullmatch(text.splitlines()[0])
    assert expect, f"{path.name} must start with '# expect: LINE:COL key.path: fragment'"

    result = _invoke([command, str(path)], _fixture_env(text))

    assert isinstance(result.exception, SystemExit), _describe(result)  # anything else is a crash
    assert result.exit_code == 1, _describe(result)
    assert "Traceback" not in result.output, _describe(result)
    assert result.stdout == "", _describe(result)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, _describe(result)
    (line,) = lines
    where = f"{path}:{expect['line']}:{expect['column']}: "
    key = "" if expect["path"] == "<root>" else f"{expect['path']}: "
    assert line.startswith(f"pgflex: {where}{key}"), line
    assert expect["fragment"] in line, line

    stats = admin.stats()
    assert stats.get("arm", 0) == 0, stats
    assert stats.get("identity", 0) == 0, stats


@pytest.mark.parametrize("path", FIXTURES, ids=[path.stem for path in FIXTURES])
def test_drift_on_invalid_file(path: Path, admin: AdminClient) -> None:
    _assert_fails_clearly_without_requests("drift", path, admin)


@pytest.mark.parametrize("stem", PLAN_SUBSET)
def test_plan_on_invalid_file(stem: str, admin: AdminClient) -> None:
    _assert_fails_clearly_without_requests("plan", INVALID / f"{stem}.yaml", admin)


VALID_SPEC = """\
apiVersion: pgflex/v1
environment:
  name: cli-control
  cloud: local
  subscription: 00000000-0000-0000-0000-000000000000
  resourceGroup: {group}
  location: westeurope
defaults:
  version: "16"
  sku: {{name: Standard_B1ms, tier: Burstable}}
  storage: {{sizeGb: 32, autoGrow: false}}
  administrator:
    login: pgadmin
    password: {{fromEnv: PGFLEX_ADMIN_PASSWORD}}
  tls: {{requireSecureTransport: true, minVersion: TLSv1.2}}
servers:
  - name: {server}
    access:
      public:
        firewallRules:
          - {{name: local-client, cidr: 127.0.0.1/32}}
"""


def test_valid_spec_is_counted(tmp_path: Path, admin: AdminClient) -> None:
    """The positive control: the same command on a valid spec reaches the emulator."""
    spec = tmp_path / "env.yaml"
    spec.write_text(VALID_SPEC.format(group=unique("rg-cli"), server=unique("pg")), encoding="utf-8")

    result = _invoke(["drift", str(spec)], {"PGFLEX_ADMIN_PASSWORD": "Contr0l-Passw0rd!"})

    assert result.exit_code == 2, _describe(result)  # drift: nothing exists yet
    assert "Traceback" not in result.output, _describe(result)
    stats = admin.stats()
    assert stats.get("arm", 0) > 0, stats
    assert stats.get("identity", 0) > 0, stats  # the CLI's token, so zero above means none was asked for
