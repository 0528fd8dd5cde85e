"""Every Resource Manager request, reads as much as writes, retried by pgflex's one RetryPolicy, through the real
SDK against the emulator's injected faults (``rate_throttled`` answers any request, GET included, with 429;
``rate_server_busy`` answers writes to a server with 409 ServerBusy).

azure-core's own retries are off in pgflex's clients, so every request the emulator sees is one attempt of
pgflex's policy, counted by the client's RequestCounter, and an error that ends a call says how many there were.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pgflex.azure.clients import connect
from pgflex.azure.retry import AzureOperationError, RetryPolicy
from pgflex.cli.main import app
from pgflex.engine.api import apply, destroy, plan
from pgflex.engine.apply import Event, Phase
from pgflex.engine.observe import observe_server
from pgflex.spec import load_spec
from support.emulator import Clients, EmulatorHandle, unique
from support.specs import environment, private_server, public_server, write

PASSWORD = "Retry-Secret-Passw0rd!"
FAST_RETRY = RetryPolicy(initial_seconds=0.05, max_seconds=0.5)
# Enough attempts that half of all requests refused, and half of the writes to a server that get through refused
# as busy, never exhausts them (0.75**45 < 3e-6 per write), fast waits.
PATIENT = RetryPolicy(attempts=45, initial_seconds=0.01, max_seconds=0.05)
STINGY = RetryPolicy(attempts=3, initial_seconds=0.0, max_seconds=0.0)
THROTTLED = "TooManyRequests: Too many requests (fault injected by the emulator)."
HEAD_THROTTLED = "HTTP 429: Too Many Requests"  # an existence check (HEAD) is answered without a body


@pytest.fixture
def names() -> dict[str, str]:
    return {
        "group": unique("rg-retry"),
        "public": unique("pub"),
        "private": unique("priv"),
        "zone": f"{unique('z')}.private.postgres.database.azure.com",
    }


def _document(names: dict[str, str], min_version: str = "TLSv1.3") -> dict[str, Any]:
    return environment(
        names["group"],
        [
            public_server(
                names["public"],
                {"office": "203.0.113.0/24", "ci": "198.51.100.7/32"},
                tls={"minVersion": min_version},
                parameters={"log_connections": True},
            ),
            private_server(names["private"], "vnet-db", names["zone"]),
        ],
    )


@pytest.fixture
def env_file(tmp_path: Path, names: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PGFLEX_ADMIN_PASSWORD", PASSWORD)
    return write(tmp_path / "env.yaml", _document(names))


@pytest.fixture
def applied(emulator: EmulatorHandle, env_file: Path) -> Path:
    """The environment built without faults."""
    assert apply(env_file, retry=FAST_RETRY).converged
    return env_file


def test_plan_converges_with_half_of_all_reads_throttled_and_counts_every_request(
    emulator: EmulatorHandle, applied: Path
) -> None:
    env = load_spec(applied)
    clients = connect(env.cloud, env.subscription)
    emulator.reset_request_count()
    emulator.tune(seed=5, rate_throttled=0.5)
    for _ in range(3):
        assert not plan(env, clients=clients, retry=PATIENT).has_changes  # read correctly despite the faults
    stats = emulator.admin().stats()
    assert stats.get("faults.throttled", 0) >= 10, stats
    # One count per request sent, refused ones included: no retry happens out of the counter's sight.
    assert clients.counter.total == clients.counter.reads == emulator.request_count("arm")


def _accepted_writes(lines: list[str]) -> Counter[tuple[str, str]]:
    entries = [json.loads(line) for line in lines]
    return Counter(
        (entry["method"], entry["path"].lower())
        for entry in entries
        if entry["method"] not in ("GET", "HEAD") and 200 <= entry["status"] < 300
    )


def _is_lease_write(method: str, path: str) -> bool:
    return method == "PATCH" and path.rstrip("/").split("/")[-2] == "resourcegroups"


def test_apply_converges_with_half_of_all_requests_throttled_and_writes_busy(
    emulator: EmulatorHandle, env_file: Path
) -> None:
    emulator.new_record_lines()
    # Slower operations: several status polls each, so that some of them are throttled.
    # Busy at 0.5: an apply sends about 8 writes to servers past the throttle, so every run meets ServerBusy
    # (0.5**8 < 0.4 % that none does). Unseeded: with seed 7, one order of requests across threads that a loaded
    # machine makes often gave those writes only draws above 0.5, every time it happened.
    emulator.tune(seed=None, rate_throttled=0.5, rate_server_busy=0.5, operation_seconds=0.3)
    result = apply(env_file, retry=PATIENT)
    assert result.converged, result.failures
    lines = emulator.new_record_lines()
    stats = emulator.admin().stats()
    assert stats.get("faults.throttled", 0) and stats.get("faults.server_busy", 0), stats
    throttled_polls = [
        entry
        for entry in map(json.loads, lines)
        if entry["method"] == "GET" and entry["status"] == 429 and "/azureasyncoperation/" in entry["path"].lower()
    ]
    assert throttled_polls  # the case below happened
    # A throttled status poll is polled again; the write it belongs to is never sent again once accepted. The
    # lease's PATCHes of the resource group's tags are left out: taking, renewing and releasing it are distinct
    # writes to one URL, and under throttling the lease protocol may rightly write it again (engine/lease.py).
    accepted = _accepted_writes(lines)
    repeated = {key: n for key, n in accepted.items() if n > 1}
    assert accepted and {(method, path) for method, path in repeated if not _is_lease_write(method, path)} == set()
    emulator.tune(rate_throttled=0.0, rate_server_busy=0.0)
    assert not plan(load_spec(env_file), retry=FAST_RETRY).has_changes


def test_a_read_refused_every_time_names_the_server_the_read_and_the_attempts(
    emulator: EmulatorHandle, applied: Path, names: dict[str, str]
) -> None:
    env = load_spec(applied)
    clients = connect(env.cloud, env.subscription)
    emulator.tune(rate_throttled=1.0)
    emulator.reset_request_count()
    with pytest.raises(AzureOperationError) as raised:
        observe_server(env, clients, env.server(names["public"]), retry=STINGY)
    error = raised.value
    assert (error.server, error.operation, error.attempts, error.gave_up) == (names["public"], "read server", 3, True)
    assert str(error) == f"{names['public']}: read server: gave up after 3 attempts: {THROTTLED}"
    # Three attempts are three requests: azure-core did not retry inside them.
    assert emulator.request_count("arm") == clients.counter.total == 3

    with pytest.raises(AzureOperationError) as whole:
        plan(env, clients=clients, retry=STINGY)
    group = names["group"]
    assert str(whole.value) == f"environment: check resource group {group}: gave up after 3 attempts: {HEAD_THROTTLED}"


def test_the_cli_says_in_one_line_which_read_gave_up_after_how_many_attempts(
    emulator: EmulatorHandle, env_file: Path, names: dict[str, str]
) -> None:
    # The default policy (12 attempts) honours the service's Retry-After: 11 waits of 1 s.
    emulator.tune(rate_throttled=1.0, retry_after_seconds=1)
    emulator.reset_request_count()
    started = time.monotonic()
    try:
        result = CliRunner().invoke(app, ["plan", str(env_file)], catch_exceptions=False)
    finally:
        emulator.tune(retry_after_seconds=0)
    elapsed = time.monotonic() - started
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"pgflex: environment: check resource group {names['group']}: gave up after 12 attempts: {HEAD_THROTTLED}"
    ]
    assert emulator.request_count("arm") == 12
    assert 11.0 <= elapsed < 20.0, elapsed


def test_a_final_re_plan_that_cannot_read_is_an_apply_failure_naming_the_read(
    emulator: EmulatorHandle, tmp_path: Path, names: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGFLEX_ADMIN_PASSWORD", PASSWORD)
    assert apply(write(tmp_path / "env.yaml", _document(names, "TLSv1.2")), retry=FAST_RETRY).converged
    changed = write(tmp_path / "env.yaml", _document(names, "TLSv1.3"))  # one dynamic parameter to set

    def refuse_reads_after_the_last_write(event: Event) -> None:
        if event.phase is Phase.DONE and event.operation.startswith("set ssl_min_protocol_version"):
            emulator.tune(rate_throttled=1.0)

    result = apply(changed, retry=STINGY, progress=refuse_reads_after_the_last_write)
    assert result.writes == 1 and not result.converged and result.final_plan is None
    group = names["group"]
    assert result.failures == [
        "the final re-plan after 1 write request(s) could not read the environment: "
        f"environment: check resource group {group}: gave up after 3 attempts: {HEAD_THROTTLED}"
    ]
    emulator.tune(rate_throttled=0.0)
    assert not plan(load_spec(changed), retry=FAST_RETRY).has_changes  # the write itself was done


def test_destroy_under_throttling_deletes_everything(
    emulator: EmulatorHandle, clients: Clients, applied: Path, names: dict[str, str]
) -> None:
    emulator.tune(seed=9, rate_throttled=0.5, operation_seconds=0.2)
    deleted = destroy(applied, retry=PATIENT)
    assert f"server {names['public']}" in deleted and f"server {names['private']}" in deleted
    emulator.tune(rate_throttled=0.0)
    assert list(clients.postgres.servers.list_by_resource_group(names["group"])) == []
    assert list(clients.network.virtual_networks.list(names["group"])) == []
    destroy(applied, retry=PATIENT)  # deleting what is gone is no error (Resource Manager answers 204)
