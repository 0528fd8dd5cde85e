"""Apply and drift through the real SDK against the emulator (control plane; servers need no PostgreSQL here)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pgflex.azure.retry import RetryPolicy
from pgflex.cli.main import app
from pgflex.engine.api import apply, plan
from pgflex.engine.plan import Action, Kind
from pgflex.spec import load_spec
from support.emulator import Clients, EmulatorHandle, unique
from support.specs import environment, private_server, public_server, write

PASSWORD = "Apply-Secret-Passw0rd!"
FAST_RETRY = RetryPolicy(initial_seconds=0.05, max_seconds=0.5)


@pytest.fixture
def names() -> dict[str, str]:
    return {
        "group": unique("rg-apply"),
        "public": unique("pub"),
        "private": unique("priv"),
        "zone": f"{unique('z')}.private.postgres.database.azure.com",
    }


def _document(names: dict[str, str], **public_settings: Any) -> dict[str, Any]:
    return environment(
        names["group"],
        [
            public_server(
                names["public"],
                {"office": "203.0.113.0/24", "ci": "198.51.100.7/32"},
                tls={"minVersion": "TLSv1.3"},
                parameters={"log_connections": True, **public_settings.pop("parameters", {})},
                **public_settings,
            ),
            private_server(names["private"], "vnet-db", names["zone"]),
        ],
    )


@pytest.fixture
def env_file(tmp_path: Path, names: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PGFLEX_ADMIN_PASSWORD", PASSWORD)
    return write(tmp_path / "env.yaml", _document(names))


def _cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def _drift(env_file: Path) -> tuple[int, dict[str, Any]]:
    result = _cli("drift", str(env_file), "--output", "json")
    return result.exit_code, json.loads(result.stdout)


def _pending(report: dict[str, Any]) -> set[tuple[str, str, str]]:
    changes = list(report["environmentChanges"])
    for server in report["servers"]:
        changes += server["changes"]
    return {(c["kind"], c["name"], c["action"]) for c in changes if c["action"] != "no-op"}


def test_apply_creates_public_and_private_servers_with_everything_they_need(
    emulator: EmulatorHandle, clients: Clients, env_file: Path, names: dict[str, str]
) -> None:
    result = apply(env_file, retry=FAST_RETRY)
    assert result.converged, result.failures
    group, postgres = names["group"], clients.postgres
    public = postgres.servers.get(group, names["public"])
    assert public.state == "Ready" and public.network.public_network_access == "Enabled"
    assert postgres.configurations.get(group, names["public"], "ssl_min_protocol_version").value == "TLSv1.3"
    assert postgres.configurations.get(group, names["public"], "azure.extensions").value == "sslinfo"
    rules = {
        r.name: (r.start_ip_address, r.end_ip_address)
        for r in postgres.firewall_rules.list_by_server(group, names["public"])
    }
    assert rules == {"office": ("203.0.113.0", "203.0.113.255"), "ci": ("198.51.100.7", "198.51.100.7")}
    private = postgres.servers.get(group, names["private"])
    assert private.network.public_network_access == "Disabled"  # set by pgflex, as the service requires
    subnet = clients.network.subnets.get(group, "vnet-db", "snet-db")
    assert [d.service_name for d in subnet.delegations or []] == ["Microsoft.DBforPostgreSQL/flexibleServers"]
    assert private.network.delegated_subnet_resource_id.lower() == subnet.id.lower()
    links = list(clients.dns.virtual_network_links.list(group, names["zone"]))
    assert [link.virtual_network.id.lower() for link in links] == [
        clients.network.virtual_networks.get(group, "vnet-db").id.lower()
    ]
    assert clients.dns.record_sets.get(group, names["zone"], "A", names["private"]).a_records
    assert _drift(env_file)[0] == 0


def test_a_second_apply_makes_no_write_request(emulator: EmulatorHandle, env_file: Path) -> None:
    assert apply(env_file, retry=FAST_RETRY).converged
    emulator.reset_request_count()
    result = apply(env_file, retry=FAST_RETRY)
    assert result.converged and result.writes == 0
    assert emulator.request_count("arm.writes") == 0
    assert emulator.request_count("arm.deletes") == 0


def test_out_of_band_drift_is_named_exactly_and_repaired(
    emulator: EmulatorHandle, clients: Clients, env_file: Path, names: dict[str, str]
) -> None:
    assert apply(env_file, retry=FAST_RETRY).converged
    assert _drift(env_file)[0] == 0  # nothing to report right after apply: no perpetual diff
    group, server, postgres = names["group"], names["public"], clients.postgres

    def set_parameter(name: str, value: str) -> None:
        body = {"properties": {"value": value, "source": "user-override"}}
        postgres.configurations.begin_update(group, server, name, body).result()

    set_parameter("ssl_min_protocol_version", "TLSv1.2")  # TLS minimum lowered
    set_parameter("require_secure_transport", "OFF")
    set_parameter("max_connections", "300")  # a static parameter the spec does not manage: not drift
    set_parameter("log_connections", "ON")  # the spec says on: only the spelling differs
    postgres.firewall_rules.begin_delete(group, server, "office").result()
    stray = {"properties": {"startIpAddress": "192.0.2.1", "endIpAddress": "192.0.2.1"}}
    postgres.firewall_rules.begin_create_or_update(group, server, "stray", stray).result()

    code, report = _drift(env_file)
    assert code == 2
    assert _pending(report) == {
        ("parameter", "ssl_min_protocol_version", "update"),
        ("parameter", "require_secure_transport", "update"),
        ("firewallRule", "office", "create"),
        ("firewallRule", "stray", "delete"),
    }
    assert apply(env_file, retry=FAST_RETRY).converged
    assert _drift(env_file)[0] == 0
    # The service answers in its own spelling ("on"); either spelling of the spec's value is no drift.
    assert postgres.configurations.get(group, server, "log_connections").value == "on"


def test_a_managed_static_parameter_changed_out_of_band_is_drift_needing_a_restart(
    emulator: EmulatorHandle, clients: Clients, tmp_path: Path, names: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGFLEX_ADMIN_PASSWORD", PASSWORD)
    env_file = write(tmp_path / "env.yaml", _document(names, parameters={"max_connections": 200}))
    assert apply(env_file, retry=FAST_RETRY).converged
    body = {"properties": {"value": "250", "source": "user-override"}}
    clients.postgres.configurations.begin_update(names["group"], names["public"], "max_connections", body).result()
    code, report = _drift(env_file)
    assert code == 2
    [change] = [c for s in report["servers"] for c in s["changes"] if c["action"] != "no-op"]
    assert (change["name"], change["before"], change["after"], change["requiresRestart"]) == (
        "max_connections",
        "250",
        "200",
        True,
    )


def _restarts(emulator: EmulatorHandle) -> int:
    return sum(
        1
        for line in emulator.new_record_lines()
        if (entry := json.loads(line))["method"] == "POST" and entry["path"].endswith("/restart")
    )


def _applied_then_two_static_changes(emulator: EmulatorHandle, tmp_path: Path, names: dict[str, str]) -> Path:
    """Apply the base environment, then return a spec that changes two static parameters."""
    assert apply(write(tmp_path / "env.yaml", _document(names)), retry=FAST_RETRY).converged
    changed = write(tmp_path / "env.yaml", _document(names, parameters={"max_connections": 200, "max_wal_senders": 12}))
    emulator.new_record_lines()  # count restarts from here
    return changed


def test_two_static_parameters_cause_exactly_one_restart(
    emulator: EmulatorHandle, env_file: Path, tmp_path: Path, names: dict[str, str]
) -> None:
    changed = _applied_then_two_static_changes(emulator, tmp_path, names)
    result = apply(changed, retry=FAST_RETRY)
    assert result.converged
    assert result.restarted == [names["public"]]
    assert _restarts(emulator) == 1
    assert _drift(changed)[0] == 0


def test_restart_never_leaves_static_changes_pending_and_the_plan_shows_them(
    emulator: EmulatorHandle, env_file: Path, tmp_path: Path, names: dict[str, str]
) -> None:
    changed = _applied_then_two_static_changes(emulator, tmp_path, names)
    result = apply(changed, restart="never", retry=FAST_RETRY)
    assert result.converged and result.restarted == []
    assert result.pending_restart == {names["public"]: ["max_connections", "max_wal_senders"]}
    assert _restarts(emulator) == 0
    pending = plan(load_spec(changed))
    [server] = [s for s in pending.servers if s.pending]
    [restart] = server.pending
    assert restart.action is Action.RESTART and restart.kind is Kind.SERVER
    assert restart.before == {"pendingRestart": ["max_connections", "max_wal_senders"]}


def test_apply_converges_under_faults_without_losing_or_duplicating_anything(
    emulator: EmulatorHandle, clients: Clients, env_file: Path, names: dict[str, str]
) -> None:
    # One server at a time: requests meet the seeded faults in a near-fixed order (only the number of status
    # polls varies); with servers in parallel the order varied, and once no ServerBusy was drawn at all.
    emulator.tune(seed=11, rate_throttled=0.2, rate_server_busy=0.3, rate_server_error=0.05, rate_dropped=0.05)
    emulator.reset_request_count()  # the fault counts below are this apply's
    result = apply(env_file, retry=FAST_RETRY, parallelism=1)
    assert result.converged, result.failures
    stats = emulator.admin().stats()
    assert stats.get("faults.throttled", 0) and stats.get("faults.server_busy", 0)
    emulator.tune(rate_throttled=0.0, rate_server_busy=0.0, rate_server_error=0.0, rate_dropped=0.0)
    rules = [r.name for r in clients.postgres.firewall_rules.list_by_server(names["group"], names["public"])]
    assert sorted(rules) == ["ci", "office"]
    assert _drift(env_file)[0] == 0


def test_an_apply_killed_midway_converges_when_run_again(
    emulator: EmulatorHandle, env_file: Path, tmp_path: Path
) -> None:
    emulator.tune(operation_seconds=0.4)
    command = [sys.executable, "-m", "pgflex.cli.main", "apply", str(env_file), "--auto-approve"]
    process = subprocess.Popen(command, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2.0)
    assert process.poll() is None, "apply finished before it could be killed; make operations slower"
    process.send_signal(signal.SIGKILL)
    process.wait()
    emulator.tune(operation_seconds=0.05)
    assert _drift(env_file)[0] == 2  # it stopped halfway
    assert apply(env_file, retry=FAST_RETRY).converged
    assert _drift(env_file)[0] == 0


def test_no_output_log_or_plan_contains_the_password(emulator: EmulatorHandle, env_file: Path, tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.json"
    outputs = [_cli("plan", str(env_file), "--out", str(plan_file)).output]
    # Control plane only here: tests/verify covers verification, which needs real servers.
    outputs.append(_cli("apply", str(env_file), "--auto-approve", "--no-verify").output)
    outputs.append(_cli("drift", str(env_file), "-o", "json").output)
    assert emulator.running is not None
    files = [plan_file, emulator.record_path, emulator.state_dir / "emulator.log"]
    texts = outputs + [f.read_text() for f in files if f.exists()]
    assert "Apply complete" in outputs[1]
    for text in texts:
        assert PASSWORD not in text


def test_a_saved_plan_runs_while_fresh_and_is_refused_once_stale(
    emulator: EmulatorHandle, clients: Clients, env_file: Path, names: dict[str, str], tmp_path: Path
) -> None:
    assert apply(env_file, retry=FAST_RETRY).converged
    group, server = names["group"], names["public"]
    body = {"properties": {"value": "TLSv1.2", "source": "user-override"}}
    clients.postgres.configurations.begin_update(group, server, "ssl_min_protocol_version", body).result()
    saved = tmp_path / "plan.json"
    assert _cli("plan", str(env_file), "--out", str(saved)).exit_code == 0
    # The world moves on after the plan was saved: the plan must be refused.
    stray = {"properties": {"startIpAddress": "192.0.2.9", "endIpAddress": "192.0.2.9"}}
    clients.postgres.firewall_rules.begin_create_or_update(group, server, "late", stray).result()
    refused = _cli("apply", str(saved), "--auto-approve", "--no-verify")
    assert refused.exit_code == 1
    assert "stale" in refused.stderr
    assert clients.postgres.configurations.get(group, server, "ssl_min_protocol_version").value == "TLSv1.2"
    # A fresh plan runs, and does what it showed.
    assert _cli("plan", str(env_file), "--out", str(saved)).exit_code == 0
    applied = _cli("apply", str(saved), "--auto-approve", "--no-verify", "--accept-impact")  # no PostgreSQL to ask
    assert applied.exit_code == 0, applied.output
    assert clients.postgres.configurations.get(group, server, "ssl_min_protocol_version").value == "TLSv1.3"
    assert "late" not in [r.name for r in clients.postgres.firewall_rules.list_by_server(group, server)]


def test_an_unreadable_key_vault_password_stops_apply_clearly_before_any_write(
    emulator: EmulatorHandle, tmp_path: Path, names: dict[str, str]
) -> None:
    document = _document(names)
    document["defaults"]["administrator"]["password"] = {
        "keyVaultSecret": "https://example-vault.vault.azure.net/secrets/pg-admin"
    }
    env_file = write(tmp_path / "env.yaml", document)
    emulator.reset_request_count()
    result = _cli("apply", str(env_file), "--auto-approve")
    assert result.exit_code == 1
    # A plan error now (pre-flight), listed with the plan rather than raised after it.
    assert "Key Vault secret 'pg-admin' in https://example-vault.vault.azure.net" in result.output
    assert "env.yaml" in result.output and "Traceback" not in result.output
    assert emulator.request_count("arm.writes") == 0


def test_plan_detailed_exitcode_and_destroy(
    emulator: EmulatorHandle, clients: Clients, env_file: Path, names: dict[str, str]
) -> None:
    assert _cli("plan", str(env_file), "--detailed-exitcode").exit_code == 2  # nothing exists yet
    assert apply(env_file, retry=FAST_RETRY).converged
    assert _cli("plan", str(env_file), "--detailed-exitcode").exit_code == 0
    # Without a terminal and without --auto-approve, destroy asks nobody and deletes nothing.
    refused = _cli("destroy", str(env_file))
    assert refused.exit_code == 1 and "--auto-approve" in refused.stderr
    assert len(list(clients.postgres.servers.list_by_resource_group(names["group"]))) == 2
    destroyed = _cli("destroy", str(env_file), "--auto-approve")
    assert destroyed.exit_code == 0, destroyed.output
    assert list(clients.postgres.servers.list_by_resource_group(names["group"])) == []
    assert list(clients.network.virtual_networks.list(names["group"])) == []
    assert list(clients.dns.private_zones.list_by_resource_group(names["group"])) == []
    assert clients.resources.resource_groups.check_existence(names["group"])  # the resource group stays
