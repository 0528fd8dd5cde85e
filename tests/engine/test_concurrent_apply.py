"""Two runs of one environment at once: the lease on the resource group (pgflex.engine.lease), through the real SDK.

Applies run as `pgflex apply` subprocesses, as two pipelines would; the emulator's request record tells which
lease was on the group when each server write arrived.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pgflex.azure.retry import RetryPolicy
from pgflex.engine.api import apply
from pgflex.engine.apply import Event
from pgflex.engine.lease import LEASE_TAG
from support.emulator import Clients, EmulatorHandle, unique
from support.specs import environment, public_server, write

PASSWORD = "Lease-Secret-Passw0rd!"
FAST_RETRY = RetryPolicy(initial_seconds=0.05, max_seconds=0.5)
RULES = {"office": "203.0.113.0/24", "ci": "198.51.100.7/32"}
CHANGED_RULES = {"office": "203.0.113.0/24", "vpn": "192.0.2.0/28"}


@pytest.fixture
def names() -> dict[str, str]:
    return {"group": unique("rg-lease"), "first": unique("pga"), "second": unique("pgb")}


def _document(names: dict[str, str], rules: dict[str, str], **parameters: Any) -> dict[str, Any]:
    servers = [public_server(names[key], rules, parameters=dict(parameters)) for key in ("first", "second")]
    return environment(names["group"], servers)


@pytest.fixture
def changed(tmp_path: Path, names: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Path:
    """An applied environment, and a spec changing two static parameters (a restart) and a firewall rule."""
    monkeypatch.setenv("PGFLEX_ADMIN_PASSWORD", PASSWORD)
    assert apply(write(tmp_path / "base.yaml", _document(names, RULES)), retry=FAST_RETRY).converged
    return write(tmp_path / "env.yaml", _document(names, CHANGED_RULES, max_connections=200, max_wal_senders=12))


def _pgflex(*args: str, extra_env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "pgflex.cli.main", *args]
    env = {**os.environ, **(extra_env or {})}
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _lease_of(body: Any) -> str | None:
    """The lease holder a resource group write set (None: the lease was released)."""
    text = ((body or {}).get("tags") or {}).get(LEASE_TAG)
    return json.loads(text)["holder"] if text else None


def _server_writes_and_leases(lines: list[str], group: str) -> tuple[list[tuple[str, str]], list[str | None]]:
    """Per server write, in arrival order: (server, lease on the group then); and every lease value written."""
    lease: str | None = None
    writes: list[tuple[str, str]] = []
    leases: list[str | None] = []
    for line in lines:
        entry = json.loads(line)
        method, path = entry["method"], entry["path"]
        if method in ("GET", "HEAD") or f"/resourcegroups/{group}".lower() not in path.lower():
            continue
        if path.lower().endswith(f"/resourcegroups/{group}".lower()):
            lease = _lease_of(entry.get("request_body"))
            leases.append(lease)
        elif "/flexibleServers/" in path and "/operationResults/" not in path:
            writes.append((path.split("/flexibleServers/")[1].split("/")[0], lease or "none"))
    return writes, leases


def _restarts_per_server(lines: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in lines:
        entry = json.loads(line)
        if entry["method"] == "POST" and entry["path"].endswith("/restart"):
            server = entry["path"].split("/flexibleServers/")[1].split("/")[0]
            counts[server] = counts.get(server, 0) + 1
    return counts


def _drift_exit_code(env_file: Path, *options: str) -> int:
    process = _pgflex("drift", str(env_file), "-o", "json", *options)
    process.communicate(timeout=120)
    return process.returncode


def test_two_applies_at_once_write_one_after_the_other_and_restart_each_server_once(
    emulator: EmulatorHandle, clients: Clients, changed: Path, names: dict[str, str]
) -> None:
    emulator.tune(operation_seconds=0.4)  # each write holds its server, so the two applies overlap
    emulator.new_record_lines()
    runs = [_pgflex("apply", str(changed), "--auto-approve", "--no-verify", "-o", "json") for _ in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]
    for run, (_, stderr) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, stderr
    reports = [json.loads(stdout) for stdout, _ in outputs]
    lines = emulator.new_record_lines()

    # One apply did the work; the other waited for its lease, planned again under it, and found nothing to do.
    assert min(report["writes"] for report in reports) == 0
    winner = max(range(2), key=lambda i: reports[i]["writes"])
    assert reports[winner]["writes"] > 0
    waiter_log = outputs[1 - winner][1]
    assert f"held by apply by pid {runs[winner].pid} on " in waiter_log

    writes, leases = _server_writes_and_leases(lines, names["group"])
    assert writes, "no server write was recorded"
    holders = {lease for _, lease in writes}
    assert len(holders) == 1 and "none" not in holders, writes  # every server write under one lease
    [holder] = holders
    # While that lease was on the group, nobody else's was written: nothing interleaved.
    first = leases.index(holder)
    released = leases.index(None, first)
    assert set(leases[first:released]) == {holder}

    assert _restarts_per_server(lines) == {names["first"]: 1, names["second"]: 1}
    emulator.tune(operation_seconds=0.05)
    for server in (names["first"], names["second"]):
        rules = [rule.name for rule in clients.postgres.firewall_rules.list_by_server(names["group"], server)]
        assert sorted(rules) == sorted(CHANGED_RULES)  # each rule exactly once
    assert _drift_exit_code(changed) == 0
    assert LEASE_TAG not in (clients.resources.resource_groups.get(names["group"]).tags or {})  # released


def test_two_first_applies_at_once_create_the_group_and_each_server_once(
    emulator: EmulatorHandle, clients: Clients, tmp_path: Path, names: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing exists yet: the lease is taken by creating the group with it, and only one apply creates servers."""
    monkeypatch.setenv("PGFLEX_ADMIN_PASSWORD", PASSWORD)
    env_file = write(tmp_path / "env.yaml", _document(names, RULES))
    emulator.tune(operation_seconds=0.2)
    emulator.new_record_lines()
    runs = [_pgflex("apply", str(env_file), "--auto-approve", "--no-verify", "-o", "json") for _ in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]
    for run, (_, stderr) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, stderr
    assert sorted(json.loads(stdout)["writes"] > 0 for stdout, _ in outputs) == [False, True]
    creations = [
        entry["path"].rsplit("/", 1)[1]
        for entry in map(json.loads, emulator.new_record_lines())
        if entry["method"] == "PUT" and "/flexibleServers/" in entry["path"] and "/firewallRules/" not in entry["path"]
    ]
    assert sorted(creations) == sorted([names["first"], names["second"]])
    emulator.tune(operation_seconds=0.05)
    for server in (names["first"], names["second"]):
        rules = [rule.name for rule in clients.postgres.firewall_rules.list_by_server(names["group"], server)]
        assert sorted(rules) == sorted(RULES)
    assert _drift_exit_code(env_file, "--no-verify") == 0  # as applied: without sslinfo for verify


def _foreign_lease(clients: Clients, group: str, expires_in: float) -> None:
    """A lease from a pgflex on another machine, as it would be left there (by a holder that died, say)."""
    expires = datetime.now(UTC) + timedelta(seconds=expires_in)
    document = {
        "holder": "0123456789ab",
        "host": "build-agent-7",
        "pid": 4242,
        "operation": "apply",
        "expires": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    clients.resources.resource_groups.update(group, {"tags": {LEASE_TAG: json.dumps(document), "team": "db"}})


def test_a_held_lease_is_refused_in_one_line_naming_its_holder_and_nothing_is_written(
    emulator: EmulatorHandle, clients: Clients, changed: Path, names: dict[str, str]
) -> None:
    _foreign_lease(clients, names["group"], expires_in=300)
    emulator.reset_request_count()
    for command in ("apply", "destroy"):
        run = _pgflex(*_refused_command(command, changed))
        _, stderr = run.communicate(timeout=120)
        assert run.returncode == 1, stderr
        assert "Traceback" not in stderr
        [line] = stderr.strip().splitlines()
        assert names["group"] in line and "apply by pid 4242 on build-agent-7" in line and "expires" in line
    assert emulator.request_count("arm.writes") == 0
    assert emulator.request_count("arm.deletes") == 0
    assert (clients.resources.resource_groups.get(names["group"]).tags or {}).get("team") == "db"


def _refused_command(command: str, env_file: Path) -> list[str]:
    verify = ["--no-verify"] if command == "apply" else []
    return [command, str(env_file), "--auto-approve", *verify, "--lock-timeout", "0"]


def test_an_expired_lease_of_a_dead_holder_elsewhere_is_taken_over_once_it_expires(
    emulator: EmulatorHandle, clients: Clients, changed: Path, names: dict[str, str]
) -> None:
    # Long enough that planning (slow on a loaded machine) ends before it expires, so apply really waits.
    _foreign_lease(clients, names["group"], expires_in=10)
    events: list[Event] = []
    started = time.monotonic()
    result = apply(changed, retry=FAST_RETRY, lock_timeout=120, progress=events.append)
    waited = time.monotonic() - started
    assert result.converged, result.failures
    assert "held by apply by pid 4242 on build-agent-7" in next(e.detail for e in events if "waiting" in e.detail)
    assert waited < 10 + 30  # the lease, and the apply itself; not the 120 s it was allowed to wait
    tags = clients.resources.resource_groups.get(names["group"]).tags or {}
    assert tags == {"team": "db"}  # the others' tags are kept, the lease is gone


def test_an_apply_killed_with_sigkill_does_not_block_the_next_one_for_longer_than_its_lease(
    emulator: EmulatorHandle, clients: Clients, changed: Path, names: dict[str, str]
) -> None:
    emulator.tune(operation_seconds=0.4)
    lease_seconds = 6.0
    holder = _pgflex(
        "apply", str(changed), "--auto-approve", "--no-verify", extra_env={"PGFLEX_LEASE_SECONDS": str(lease_seconds)}
    )
    deadline = time.monotonic() + 60
    while LEASE_TAG not in (clients.resources.resource_groups.get(names["group"]).tags or {}):
        assert holder.poll() is None and time.monotonic() < deadline, "the apply never took the lease"
        time.sleep(0.05)
    time.sleep(1.0)  # midway through its writes
    holder.send_signal(signal.SIGKILL)
    holder.communicate()
    emulator.tune(operation_seconds=0.05)
    started = time.monotonic()
    result = apply(changed, retry=FAST_RETRY, lock_timeout=60)
    assert result.converged, result.failures
    assert time.monotonic() - started < lease_seconds + 10
    assert _drift_exit_code(changed) == 0


def test_the_lease_costs_five_requests_per_apply_and_nothing_when_nothing_changes(
    emulator: EmulatorHandle, changed: Path
) -> None:
    emulator.reset_request_count()
    result = apply(changed, retry=FAST_RETRY)
    assert result.converged and result.writes > 0
    assert result.lease_requests == 5  # read, write, read back; read and write to release
    # Two writes on the group, counted where they arrive (the emulator counts deletes apart).
    assert emulator.request_count("arm.writes") + emulator.request_count("arm.deletes") == result.writes + 2
    emulator.reset_request_count()
    again = apply(changed, retry=FAST_RETRY)
    assert again.converged and again.lease_requests == 0
    assert emulator.request_count("arm.writes") == 0


@pytest.mark.parametrize(
    ("interrupt", "after_seconds"),
    [(signal.SIGINT, 0.0), (signal.SIGINT, 1.0), (signal.SIGTERM, 1.0)],
    ids=["ctrl-c-while-taking-it", "ctrl-c-midway-through-the-writes", "sigterm-of-a-cancelled-pipeline"],
)
def test_an_interrupted_apply_releases_the_lease(
    emulator: EmulatorHandle,
    clients: Clients,
    changed: Path,
    names: dict[str, str],
    interrupt: signal.Signals,
    after_seconds: float,
) -> None:
    emulator.tune(operation_seconds=0.4)
    holder = _pgflex("apply", str(changed), "--auto-approve", "--no-verify")
    deadline = time.monotonic() + 60
    while LEASE_TAG not in (clients.resources.resource_groups.get(names["group"]).tags or {}):
        assert holder.poll() is None and time.monotonic() < deadline, "the apply never took the lease"
        time.sleep(0.05)
    time.sleep(after_seconds)
    holder.send_signal(interrupt)
    holder.communicate(timeout=120)
    assert holder.returncode != 0
    assert LEASE_TAG not in (clients.resources.resource_groups.get(names["group"]).tags or {})
