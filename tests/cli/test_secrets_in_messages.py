"""The real CLI never prints a value read from an environment variable: not on standard output or error,
not in --verbose logs, not in a pipeline's annotations or step summary.

Each file interpolates the variable that holds the administrator password into a key where it does not
belong; pgflex must refuse the file, naming the key and the variable, with exit 1 and no traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SENTINEL = "S3ntinel-Secret-Ü-1!"
VARIABLE = "PGFLEX_ADMIN_PASSWORD"
SECRET = "${" + VARIABLE + "}"

SPEC = """\
apiVersion: pgflex/v1
environment:
  name: secrets
  cloud: {cloud}
  subscription: 00000000-0000-0000-0000-000000000000
  resourceGroup: rg-secrets
  location: {location}
servers:
  - name: {name}
    version: "16"
    sku: {{name: Standard_B1ms, tier: Burstable}}
    storage: {{sizeGb: 32}}
    administrator: {{login: {login}, password: {{fromEnv: {from_env}}}}}
    access: {{public: {{firewallRules: [{{name: office, cidr: 192.0.2.0/24}}]}}}}
"""
VALID = {"cloud": "local", "location": "westeurope", "name": "pg-secrets", "login": "pgadmin", "from_env": VARIABLE}
# Which setting interpolates the password, and the key the error must name.
CASES = {
    "from_env": "servers[0].administrator.password.fromEnv",
    "cloud": "environment.cloud",
    "location": "environment.location",
    "name": "servers[0].name",
    "login": "servers[0].administrator.login",
}
COMMANDS = {
    "validate": ["validate", "{file}", "--verbose"],
    "plan": ["--verbose", "plan", "{file}"],
    "drift-json": ["-v", "drift", "{file}", "-o", "json"],
}


def _run(args: list[str], tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], str]:
    summary = tmp_path / "step-summary.md"
    environ = {
        **os.environ,
        VARIABLE: SENTINEL,
        "PYTHONIOENCODING": "utf-8",
        "GITHUB_ACTIONS": "true",  # annotations on standard output or error, and a step summary
        "GITHUB_STEP_SUMMARY": str(summary),
        "PGFLEX_EMULATOR_STATE_DIR": str(tmp_path / "no-emulator"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "pgflex.cli.main", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=environ,
        timeout=120,
        check=False,
    )
    return done, summary.read_text(encoding="utf-8") if summary.exists() else ""


def _assert_secret_free(text: str) -> None:
    folded = text.casefold()
    for form in (SENTINEL, "S3ntinel", "Secret-Ü", "secret-\\xdc", "secret-\\u00dc"):
        assert form.casefold() not in folded, text


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
@pytest.mark.parametrize("setting", CASES, ids=CASES.keys())
def test_an_interpolated_password_is_never_printed(setting: str, command: list[str], tmp_path: Path) -> None:
    file = tmp_path / "env.yaml"
    file.write_text(SPEC.format(**{**VALID, setting: f'"{SECRET}"'}), encoding="utf-8")

    done, summary = _run([part.format(file=file) for part in command], tmp_path)

    everything = f"exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}\nsummary:\n{summary}"
    assert done.returncode == 1, everything
    assert "Traceback" not in everything, everything
    _assert_secret_free(everything)
    error = next((line for line in done.stderr.splitlines() if line.startswith("pgflex: ")), "")
    assert error.startswith(f"pgflex: {file}:"), everything
    assert f": {CASES[setting]}: " in error and VARIABLE in error, everything
    assert f"::error file={file}," in everything  # the annotation was written, and is secret-free too
