"""Pre-flight: what apply would only find out halfway is refused at plan, every problem at once, nothing written.

Through the real SDK against the emulator; writes are counted at the emulator.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pgflex.azure.retry import RetryPolicy
from pgflex.cli.main import app
from pgflex.engine.api import apply, plan
from pgflex.spec import load_spec
from support.emulator import EmulatorHandle, unique
from support.specs import environment, public_server, write

PASSWORD = "Preflight-Passw0rd!"
FAST_RETRY = RetryPolicy(initial_seconds=0.05, max_seconds=0.5)


@pytest.fixture(autouse=True)
def password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGFLEX_ADMIN_PASSWORD", PASSWORD)


def _cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def _line_of(path: Path, text: str, occurrence: int = 1) -> int:
    lines = [number for number, line in enumerate(path.read_text().splitlines(), 1) if text in line]
    return lines[occurrence - 1]


def _refused_with_nothing_written(emulator: EmulatorHandle, env_file: Path) -> str:
    """Plan and apply both exit 1; apply writes nothing. Returns apply's output."""
    emulator.reset_request_count()
    planned = _cli("plan", str(env_file))
    assert planned.exit_code == 1, planned.output
    applied = _cli("apply", str(env_file), "--auto-approve")
    assert applied.exit_code == 1, applied.output
    assert "Traceback" not in applied.output and PASSWORD not in applied.output
    assert emulator.request_count("arm.writes") == 0
    assert emulator.request_count("arm.deletes") == 0
    return str(applied.output)


def test_an_unknown_compute_size_is_refused_at_plan_where_it_is_written(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    document = environment(
        unique("rg-pre"),
        [
            public_server(unique("ok"), {"office": "203.0.113.0/24"}),
            public_server(unique("big"), {}, sku={"name": "Standard_B99ms", "tier": "Burstable"}),
        ],
    )
    env_file = write(tmp_path / "env.yaml", document)
    output = _refused_with_nothing_written(emulator, env_file)
    line = _line_of(env_file, "Standard_B99ms")
    assert re.search(
        rf"env\.yaml:{line}:\d+: servers\[1\]\.sku\.name: compute size Standard_B99ms is not offered", output
    )


def test_an_unknown_location_is_refused_once_at_the_environment(emulator: EmulatorHandle, tmp_path: Path) -> None:
    document = environment(unique("rg-pre"), [public_server(unique("pg"), {})])
    document["environment"]["location"] = "atlantis"
    env_file = write(tmp_path / "env.yaml", document)
    output = _refused_with_nothing_written(emulator, env_file)
    line = _line_of(env_file, "atlantis")
    assert re.search(rf"env\.yaml:{line}:\d+: environment\.location: location 'atlantis' offers no", output)
    assert "NoRegisteredProviderFound" in output


def test_a_missing_password_for_verify_stops_apply_on_existing_servers(
    emulator: EmulatorHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    group, name = unique("rg-pre"), unique("pg")
    env_file = write(tmp_path / "env.yaml", environment(group, [public_server(name, {"office": "203.0.113.0/24"})]))
    assert apply(env_file, retry=FAST_RETRY, verify=False).converged
    changed = write(tmp_path / "changed.yaml", environment(group, [public_server(name, {"office": "198.51.100.0/24"})]))
    monkeypatch.delenv("PGFLEX_ADMIN_PASSWORD")
    output = _refused_with_nothing_written(emulator, changed)
    line = _line_of(changed, "PGFLEX_ADMIN_PASSWORD")
    assert re.search(rf"changed\.yaml:{line}:\d+: .*environment variable PGFLEX_ADMIN_PASSWORD is not set", output)
    assert "Apply complete" not in output
    # Without verify nothing logs in to the existing server: no password is needed, and the change goes through.
    assert _cli("apply", str(changed), "--auto-approve", "--no-verify").exit_code == 0


def test_live_parameter_lists_refuse_what_the_server_does_not_offer(emulator: EmulatorHandle, tmp_path: Path) -> None:
    group, name = unique("rg-pre"), unique("pg")
    env_file = write(tmp_path / "env.yaml", environment(group, [public_server(name, {})]))
    assert apply(env_file, retry=FAST_RETRY, verify=False).converged
    # Built in code, past validate's catalogue: only the live server's own list can refuse these.
    env = load_spec(env_file)
    bad = {"not_a_param": "1", "fsync": "off", "work_mem": "1", "log_connections": "maybe"}
    server = env.servers[0].model_copy(update={"parameters": bad})
    env = env.model_copy(update={"servers": (server,)})
    emulator.reset_request_count()
    errors = "\n".join(plan(env, verify=False).errors)
    assert f"server {name} has no parameter 'not_a_param' (ConfigurationNotExists" in errors
    assert "fsync is read-only" in errors
    assert "work_mem must be between 4096 and 2097151, not 1" in errors
    assert "log_connections is a boolean" in errors
    assert emulator.request_count("arm.writes") == 0
    with pytest.raises(Exception, match="the plan has errors"):
        apply(env, retry=FAST_RETRY, verify=False)
    assert emulator.request_count("arm.writes") == 0


def test_every_problem_of_an_environment_is_listed_at_once(emulator: EmulatorHandle, tmp_path: Path) -> None:
    group, vault = unique("rg-pre"), unique("kv")[:24]
    missing_subnet = (
        f"/subscriptions/{environment(group, [])['environment']['subscription']}/resourceGroups/{group}"
        "/providers/Microsoft.Network/virtualNetworks/nowhere/subnets/none"
    )
    private = {
        "name": unique("priv"),
        "access": {
            "private": {
                "subnet": {"id": missing_subnet},
                "privateDnsZone": {"create": {"name": f"{unique('z')}.private.postgres.database.azure.com"}},
            }
        },
    }
    document = environment(
        group,
        [
            public_server(unique("fine"), {}),
            # The shipped catalogue's findings are listed in the same run as what Azure tells the plan.
            public_server(
                unique("params"),
                {},
                parameters={"not_a_param": 1, "max_connections": 999999, "log_connections": "maybe"},
            ),
            public_server(unique("big"), {}, sku={"name": "Standard_D3ds_v5", "tier": "GeneralPurpose"}),
            public_server(
                unique("novar"), {}, administrator={"login": "pgadmin", "password": {"fromEnv": "PREFLIGHT_UNSET"}}
            ),
            public_server(
                unique("vault"),
                {},
                administrator={
                    "login": "pgadmin",
                    "password": {"keyVaultSecret": f"https://{vault}.vault.azure.net/secrets/never-set"},
                },
            ),
            private,
        ],
    )
    env_file = write(tmp_path / "env.yaml", document)
    output = _refused_with_nothing_written(emulator, env_file)
    expected = {
        "not_a_param": r"servers\[1\]\.parameters\.not_a_param: ",
        "max_connections": r"servers\[1\]\.parameters\.max_connections: ",
        "log_connections": r"servers\[1\]\.parameters\.log_connections: ",
        "Standard_D3ds_v5": r"servers\[2\]\.sku\.name: compute size Standard_D3ds_v5 is not offered",
        "PREFLIGHT_UNSET": r"environment variable PREFLIGHT_UNSET is not set",
        "never-set": r"Key Vault secret 'never-set' .* does not exist",
        "/subnets/none": r"servers\[5\]\.access\.private\.subnet\.id: the subnet does not exist",
    }
    for text, pattern in expected.items():
        line = _line_of(env_file, text)
        # A password source is located at its `password:` key, the line above the variable or URI.
        assert re.search(rf"env\.yaml:({line}|{line - 1}):\d+: .*{pattern}", output), (pattern, output)
