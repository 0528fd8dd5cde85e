"""What start-up costs is what a command imports: `validate` and `emulator status` leave the heavy parts alone.

Each command runs in a fresh interpreter (as `pgflex` does), which then reports every module it imported.
The emulator's server (uvicorn, the ARM app, the data plane), psycopg and the Azure SDK each take tens to
hundreds of milliseconds to import; a command that does not use them must not pay for them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from support.emulator import EmulatorHandle

ROOT = Path(__file__).resolve().parents[2]

# Runs `pgflex ARGS...` as the console script does, then writes the names in sys.modules to a file.
RUN_AND_LIST_MODULES = """
import json, sys
args, report = json.loads(sys.argv[1]), sys.argv[2]
sys.argv = ["pgflex", *args]
from pgflex.cli.main import main
code = 0
try:
    main()
except SystemExit as done:
    code = done.code if isinstance(done.code, int) else 1
with open(report, "w") as out:
    json.dump({"exit": code, "modules": sorted(sys.modules)}, out)
"""

# The emulator's server side, and the SDKs that only talking to Azure or to PostgreSQL needs.
SERVER_SIDE = ("uvicorn", "pgflex.emulator.server", "pgflex.emulator.arm", "pgflex.emulator.dataplane")
SDKS = ("psycopg", "azure", "pgflex.azure")


def _imported(modules: list[str], prefixes: tuple[str, ...]) -> list[str]:
    return [name for name in modules if any(name == p or name.startswith(f"{p}.") for p in prefixes)]


def _run(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, list[str]]:
    report = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST_MODULES, json.dumps(list(args)), str(report)],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert report.exists(), f"the command did not finish:\n{done.stdout}\n{done.stderr}"
    found = json.loads(report.read_text())
    return int(found["exit"]), list(found["modules"])


def test_validate_imports_no_emulator_server_psycopg_or_azure(tmp_path: Path) -> None:
    code, modules = _run(tmp_path, "validate", "infra/local.yaml")
    assert code == 0
    assert "pgflex.spec.loader" in modules  # the check sees what the command really did
    assert _imported(modules, SERVER_SIDE + SDKS) == []


def test_emulator_status_of_a_running_emulator_imports_only_its_client(
    tmp_path: Path, control_emulator: EmulatorHandle
) -> None:
    code, modules = _run(tmp_path, "emulator", "status", "--state-dir", str(control_emulator.state_dir))
    assert code == 0
    assert "pgflex.emulator.client" in modules
    assert _imported(modules, (*SERVER_SIDE, *SDKS, "pgflex.spec")) == []


def test_emulator_status_when_none_runs_imports_only_its_client(tmp_path: Path) -> None:
    code, modules = _run(tmp_path, "emulator", "status", env={"PGFLEX_EMULATOR_STATE_DIR": str(tmp_path / "none")})
    assert code == 1
    assert _imported(modules, (*SERVER_SIDE, *SDKS, "pgflex.spec")) == []


def test_verify_imports_no_azure_sdk_or_emulator_server() -> None:
    # verify talks to PostgreSQL (psycopg) and, for cloud: local, to the emulator's admin endpoint; the
    # Azure SDK only when a password lives in Key Vault.
    code = "import json, sys, pgflex.cli.verify, pgflex.verify.runner, pgflex.render.verify_view\n"
    code += "print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    modules = json.loads(done.stdout)
    assert "psycopg" in modules
    assert _imported(modules, (*SERVER_SIDE, "azure", "pgflex.azure")) == []
