"""pgflex's clients against the emulator's Resource Manager throttling, through the real SDK: they wait for
tokens instead of meeting 429s, close to the floor the buckets allow, with budgets per subscription and one
budget per principal however many clients share it; and they count every request the emulator received.

Small buckets (``throttle_reads_burst``, ``..._per_second``) keep each test to a few seconds; ``connect`` reads
them from the emulator, as it takes Azure's from the documentation.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from pgflex.azure.clients import AzureClients, connect
from pgflex.azure.ratelimit import LIMITER
from pgflex.azure.retry import RetryPolicy
from pgflex.emulator.settings import DEFAULT_SUBSCRIPTION
from support.emulator import Clients, EmulatorHandle, unique

THROTTLED = "arm.throttled"  # 429s the emulator's buckets answered
PATIENT = RetryPolicy(attempts=30, initial_seconds=0.01, max_seconds=0.05)

pytestmark = pytest.mark.slow


def _in_threads(count: int, work: Callable[[int], None]) -> float:
    """Run ``work(index)`` in ``count`` threads at once; the seconds they took, failing if one failed."""
    failures: list[BaseException] = []

    def run(index: int) -> None:
        try:
            work(index)
        except BaseException as failure:
            failures.append(failure)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not failures, failures
    return time.monotonic() - started


def _statuses(emulator: EmulatorHandle) -> list[int]:
    return [json.loads(line)["status"] for line in emulator.new_record_lines()]


def _read_groups(clients: AzureClients, group: str, reads: int) -> None:
    for _ in range(reads):
        assert PATIENT.call("rg", "read", lambda: clients.resources.resource_groups.get(group)).name == group


def test_reads_from_many_threads_and_two_clients_meet_no_429_and_take_about_the_floor(
    emulator: EmulatorHandle, resource_group: str
) -> None:
    burst, per_second, threads, each = 20, 50.0, 8, 30
    emulator.tune(throttling=True, throttle_reads_burst=burst, throttle_reads_per_second=per_second)
    # Two clients, as apply's and a drift job's in one process: each its own credential, one principal.
    pair = [connect("local", DEFAULT_SUBSCRIPTION), connect("local", DEFAULT_SUBSCRIPTION)]
    emulator.reset_request_count()
    emulator.new_record_lines()
    elapsed = _in_threads(threads, lambda index: _read_groups(pair[index % 2], resource_group, each))
    reads = threads * each
    assert _statuses(emulator) == [200] * reads
    assert emulator.request_count(THROTTLED) == 0 and sum(c.counter.throttled for c in pair) == 0
    assert sum(c.counter.total for c in pair) == emulator.request_count("arm") == reads
    floor = (reads - burst) / per_second  # 4.4 s: the bucket's refill, whatever the machine
    assert floor <= elapsed <= 1.25 * floor + 1.0, (elapsed, floor)
    assert sum(c.counter.waited_seconds for c in pair) > 0  # the clients waited, the emulator refused nothing


def test_two_subscriptions_have_budgets_of_their_own(emulator: EmulatorHandle) -> None:
    other = str(uuid.uuid4())
    emulator.add_subscription(other, "pgflex rate-limit test")
    group = unique("rg-budget")
    for subscription in (DEFAULT_SUBSCRIPTION, other):
        emulator.clients(subscription).resources.resource_groups.create_or_update(group, {"location": "westeurope"})
    burst, per_second, each = 10, 20.0, 100
    emulator.tune(throttling=True, throttle_reads_burst=burst, throttle_reads_per_second=per_second)
    subscriptions = [connect("local", DEFAULT_SUBSCRIPTION), connect("local", other)]
    emulator.reset_request_count()
    emulator.new_record_lines()
    elapsed = _in_threads(8, lambda index: _read_groups(subscriptions[index % 2], group, each // 4))
    assert _statuses(emulator) == [200] * 2 * each
    assert emulator.request_count(THROTTLED) == 0
    # One shared budget could not serve both in less than (200 - 20) / 20 = 9 s; two serve them in about 4.5 s.
    shared_floor = (2 * each - 2 * burst) / per_second
    assert elapsed < shared_floor, elapsed
    served = {s.key.scope: s.requests for s in LIMITER.states() if s.key.kind == "reads" and s.requests}
    assert served[DEFAULT_SUBSCRIPTION] >= each and served[other] >= each


def test_a_bucket_another_client_spent_is_learned_from_the_first_answer(
    emulator: EmulatorHandle, clients: Clients, resource_group: str
) -> None:
    burst, per_second = 30, 10.0
    emulator.tune(throttling=True, throttle_reads_burst=burst, throttle_reads_per_second=per_second)
    pgflex = connect("local", DEFAULT_SUBSCRIPTION)  # new limits: its buckets start afresh, knowing nothing
    # The same principal through the bare SDK, which pgflex's buckets know nothing of, spends most of the bucket.
    for _ in range(burst - 2):
        clients.resources.resource_groups.get(resource_group)
    emulator.tune(latency_ms=50)  # answers come late enough that six threads could all send before the first
    emulator.new_record_lines()
    _in_threads(6, lambda _: _read_groups(pgflex, resource_group, 5))
    assert _statuses(emulator) == [200] * 30
    assert pgflex.counter.throttled == 0


def test_the_client_counts_every_request_the_emulator_received_retries_polls_and_pages_included(
    emulator: EmulatorHandle,
) -> None:
    subscription = str(uuid.uuid4())  # its own, so that a list of its groups is these five
    emulator.add_subscription(subscription, "pgflex request-count test")
    clients = emulator.clients(subscription)
    groups = [unique("rg-count") for _ in range(5)]
    for group in groups:
        clients.resources.resource_groups.create_or_update(group, {"location": "westeurope"})
    emulator.tune(
        throttling=True,
        throttle_reads_burst=10,
        throttle_reads_per_second=40.0,
        page_size=2,  # the list of groups takes several pages
        rate_throttled=0.3,  # injected 429s: pgflex's RetryPolicy sends those requests again
        retry_after_seconds=0,
        operation_seconds=0.3,  # the deletion is polled several times
        seed=11,
    )
    pgflex = connect("local", subscription, polling_interval=0.05)
    emulator.reset_request_count()
    emulator.new_record_lines()

    def work(index: int) -> None:
        if index == 0:
            PATIENT.finish("rg", "delete group", pgflex.resources.resource_groups.begin_delete, groups[0])
        for _ in range(6):
            listed: list[Any] = PATIENT.call("rg", "list", lambda: list(pgflex.resources.resource_groups.list()))
            # Pages continue by position, so one deleted meanwhile can shift another out of sight.
            assert {group.name for group in listed} <= set(groups) and len(listed) >= 3

    _in_threads(4, work)
    statuses = _statuses(emulator)
    counter = pgflex.counter
    assert emulator.request_count("faults.throttled") == statuses.count(429) == counter.throttled > 0
    assert emulator.request_count(THROTTLED) == 0  # every 429 was injected: the buckets never ran dry on us
    assert counter.total == emulator.request_count("arm") == len(statuses)
    assert counter.reads == emulator.request_count("arm.reads") > 4 * 6 * 3  # 3 pages a list at least
    assert counter.writes == emulator.request_count("arm.deletes") + emulator.request_count("arm.writes") >= 1
