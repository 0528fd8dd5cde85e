"""Messages say what is true: a downgrade is not an upgrade, a plan with errors never "matches the spec", a
restart left pending is reported as pending, and destroy lists only what existed (twice in a row, or on an
environment never created, it exits 0 with nothing to delete). Control-plane emulator; writes counted there.
"""

from __future__ import annotations

import json
import traceback
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from pgflex import api as library
from pgflex.azure.retry import RetryPolicy
from pgflex.cli.main import app
from pgflex.engine import api as engine
from pgflex.engine.plan import Action
from pgflex.render.lines import plan_summary
from support.emulator import Clients, EmulatorHandle, unique
from support.specs import environment, private_server, public_server, write

PASSWORD = "Honest-Outcome-Passw0rd!"
FAST_RETRY = RetryPolicy(initial_seconds=0.05, max_seconds=0.5)


@pytest.fixture
def names() -> dict[str, str]:
    return {"group": unique("rg-honest"), "server": unique("pub")}


def _document(names: dict[str, str], **settings: Any) -> dict[str, Any]:
    return environment(names["group"], [public_server(names["server"], {"office": "203.0.113.0/24"}, **settings)])


@pytest.fixture(autouse=True)
def password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGFLEX_ADMIN_PASSWORD", PASSWORD)


def _cli(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def _describe(result: Result) -> str:
    crash = "".join(traceback.format_exception(result.exception)) if result.exception else ""
    return f"exit {result.exit_code}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}\n{crash}"


# --------------------------------------------------------------------------------------------------------------
# Major versions
# --------------------------------------------------------------------------------------------------------------


def test_a_major_version_downgrade_is_called_one_and_never_matches_the_spec(
    emulator: EmulatorHandle, tmp_path: Path, names: dict[str, str]
) -> None:
    assert engine.apply(write(tmp_path / "env.yaml", _document(names)), retry=FAST_RETRY, verify=False).converged
    downgraded = write(tmp_path / "env.yaml", _document(names, version="15"))
    result = _cli("plan", str(downgraded), "--no-verify")
    assert result.exit_code == 1, _describe(result)
    assert "version is 16, the spec says 15: a downgrade, which Azure cannot do" in result.stdout
    assert "upgrade" not in result.stdout
    assert "matches the spec" not in result.output
    assert result.stdout.splitlines()[-1] == (
        "plan test: no changes pgflex can make, and 1 error(s) pgflex cannot resolve: "
        "the environment does not match the spec"
    )
    emulator.reset_request_count()
    applied = _cli("apply", str(downgraded), "--auto-approve", "--no-verify")
    assert applied.exit_code == 1, _describe(applied)
    assert "matches the spec" not in applied.output and "nothing was applied" in applied.output
    assert emulator.request_count("arm.writes") == 0


def test_a_major_version_upgrade_says_how_to_do_it(
    emulator: EmulatorHandle, tmp_path: Path, names: dict[str, str]
) -> None:
    older = write(tmp_path / "env.yaml", _document(names, version="15"))
    assert engine.apply(older, retry=FAST_RETRY, verify=False).converged
    newer = write(tmp_path / "env.yaml", _document(names, version="16", tags={"team": "db"}))
    made = engine.plan(newer, verify=False)
    [error] = made.errors
    assert error == (
        f"{names['server']}: version is 15, the spec says 16: major version upgrades are not done by pgflex; "
        f"upgrade in place with Azure (az postgres flexible-server upgrade --resource-group {names['group']} "
        f"--name {names['server']} --version 16), then apply again"
    )
    # Changes and an error: what would change, and that apply refuses it; never "matches".
    assert plan_summary(made) == (
        "plan test: 1 to update, and 1 error(s) pgflex cannot resolve: apply refuses this plan"
    )


# --------------------------------------------------------------------------------------------------------------
# --restart never
# --------------------------------------------------------------------------------------------------------------


def test_restart_never_reports_the_restart_as_pending_not_as_matching(
    emulator: EmulatorHandle, tmp_path: Path, names: dict[str, str]
) -> None:
    assert engine.apply(write(tmp_path / "env.yaml", _document(names)), retry=FAST_RETRY, verify=False).converged
    static = write(tmp_path / "env.yaml", _document(names, parameters={"max_connections": 200, "max_wal_senders": 12}))
    result = _cli("apply", str(static), "--auto-approve", "--no-verify", "--restart", "never")
    assert result.exit_code == 0, _describe(result)
    assert "matches the spec" not in result.output
    last = result.stdout.splitlines()[-1]
    assert f"applied; 2 static parameter change(s) pending a restart on {names['server']}" in last
    assert "--restart auto" in last
    # The next plan shows exactly that restart.
    pending = engine.plan(static, verify=False)
    [server] = pending.servers
    assert [(c.action, c.before) for c in server.pending] == [
        (Action.RESTART, {"pendingRestart": ["max_connections", "max_wal_senders"]})
    ]
    # Applying that restart-only plan with --restart never again still says pending, writing nothing to the server.
    again = _cli("apply", str(static), "--auto-approve", "--no-verify", "--restart", "never", "-o", "json")
    assert again.exit_code == 0, _describe(again)
    document = json.loads(again.stdout)
    assert document["pendingRestart"] == {names["server"]: ["max_connections", "max_wal_senders"]}
    assert "matches the spec" not in again.stderr
    assert f"2 static parameter change(s) pending a restart on {names['server']}" in again.stderr
    assert (document["outcome"], document["writes"], document["restarted"]) == ("applied", 0, [])


# --------------------------------------------------------------------------------------------------------------
# destroy
# --------------------------------------------------------------------------------------------------------------


def _destroy(env_file: Path) -> Result:
    return _cli("destroy", str(env_file), "--auto-approve")


def test_destroy_twice_the_second_exits_0_with_nothing_to_delete(
    emulator: EmulatorHandle, clients: Clients, tmp_path: Path, names: dict[str, str]
) -> None:
    zone = f"{unique('z')}.private.postgres.database.azure.com"
    document = _document(names)
    document["servers"].append(private_server(unique("priv"), "vnet-db", zone))
    env_file = write(tmp_path / "env.yaml", document)
    assert engine.apply(env_file, retry=FAST_RETRY, verify=False).converged

    first = _cli("destroy", str(env_file), "--auto-approve", "-o", "json")
    assert first.exit_code == 0, _describe(first)
    deleted = json.loads(first.stdout)["deleted"]
    assert f"server {names['server']}" in deleted and f"private DNS zone {zone}" in deleted
    assert "virtual network vnet-db" in deleted and len(deleted) == 6

    emulator.reset_request_count()
    second = _destroy(env_file)
    assert second.exit_code == 0, _describe(second)
    assert "nothing to delete" in second.stdout and "deleted:" not in second.stdout
    assert emulator.request_count("arm.deletes") == 0  # nothing was there: no DELETE sent, none listed
    as_json = _cli("destroy", str(env_file), "--auto-approve", "-o", "json")
    assert (as_json.exit_code, json.loads(as_json.stdout)["deleted"]) == (0, [])
    assert library.destroy(env_file, retry=FAST_RETRY).deleted == []


def test_destroy_of_an_environment_never_created_exits_0_with_nothing_to_delete(
    emulator: EmulatorHandle, clients: Clients, tmp_path: Path, names: dict[str, str]
) -> None:
    env_file = write(tmp_path / "env.yaml", _document(names))
    emulator.reset_request_count()
    result = _destroy(env_file)
    assert result.exit_code == 0, _describe(result)
    assert "nothing to delete" in result.stdout and "Traceback" not in result.output
    assert emulator.request_count("arm.writes") == 0 and emulator.request_count("arm.deletes") == 0
    assert not clients.resources.resource_groups.check_existence(names["group"])  # not created by destroy


def test_destroy_lists_only_what_existed(
    emulator: EmulatorHandle, clients: Clients, tmp_path: Path, names: dict[str, str]
) -> None:
    """The group exists but holds nothing of the spec's: Resource Manager would answer each DELETE with 204."""
    clients.resources.resource_groups.create_or_update(names["group"], {"location": "westeurope"})
    env_file = write(tmp_path / "env.yaml", _document(names))
    emulator.reset_request_count()
    result = _cli("destroy", str(env_file), "--auto-approve", "-o", "json")
    assert result.exit_code == 0, _describe(result)
    assert json.loads(result.stdout)["deleted"] == []
    assert emulator.request_count("arm.deletes") == 0


# --------------------------------------------------------------------------------------------------------------
# Every view of a plan with errors
# --------------------------------------------------------------------------------------------------------------


def test_no_view_of_a_plan_with_errors_says_it_matches_the_spec() -> None:
    from rich.console import Console

    from pgflex.engine.plan import Plan
    from pgflex.render.ci_views import plan_summary_markdown
    from pgflex.render.lines import plan_lines
    from pgflex.render.plan_view import render_plan

    refused = Plan("test", "local", "sub", "rg", "env.yaml", "sha256:0", (), (), errors=("pg: storage cannot shrink",))
    console = Console(record=True, width=200)
    render_plan(refused, console)
    views = [console.export_text(), "\n".join(plan_lines(refused)), plan_summary_markdown(refused, drift=False)]
    for text in views:
        assert "matches the spec" not in text
        assert "1 error(s) pgflex cannot resolve: the environment does not match the spec" in text
    clean = Plan("test", "local", "sub", "rg", "env.yaml", "sha256:0", (), ())
    assert plan_lines(clean)[-1] == "plan test: no changes, the environment matches the spec"
