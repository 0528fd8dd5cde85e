"""``connect(rate_limit=False)``: clients that send at once, without the process's rate-limit tokens, still
counting every request and every 429 (benchmarks/bench_fleet.py measures pgflex against them)."""

from __future__ import annotations

from azure.core.exceptions import HttpResponseError

from pgflex.azure.clients import connect
from pgflex.emulator.settings import DEFAULT_SUBSCRIPTION
from support.emulator import EmulatorHandle


def test_unpaced_clients_meet_the_429s_the_emulator_answers_and_count_them(
    emulator: EmulatorHandle, resource_group: str
) -> None:
    emulator.tune(throttling=True, throttle_reads_burst=5, throttle_reads_per_second=1.0)
    clients = connect("local", DEFAULT_SUBSCRIPTION, rate_limit=False)
    emulator.reset_request_count()
    statuses = []
    for _ in range(8):  # well within a second: 5 tokens, then at most one more
        try:
            clients.resources.resource_groups.get(resource_group)
            statuses.append(200)
        except HttpResponseError as refused:
            statuses.append(refused.status_code)
    assert statuses.count(429) >= 2 and set(statuses) == {200, 429}, statuses
    assert clients.counter.throttled == emulator.request_count("arm.throttled") == statuses.count(429)
    assert clients.counter.reads == emulator.request_count("arm.reads") == 8
    assert clients.counter.waited_seconds == 0.0
