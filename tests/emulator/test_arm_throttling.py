"""Resource Manager's throttling as the emulator answers it, over raw HTTPS and through the unmodified SDK:
remaining-token headers on every answer, 429 SubscriptionRequestsThrottled with Retry-After, buckets per
subscription, principal and kind, the subscription's global bucket, and every refusal counted."""

from __future__ import annotations

import http.client
import json
import re
import ssl
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from pgflex.emulator.arm.auth import PRINCIPAL_ID
from pgflex.emulator.client import EmulatorRequestFailed
from pgflex.emulator.settings import DEFAULT_SUBSCRIPTION, DEFAULT_TENANT
from support.emulator import Clients, EmulatorHandle, unique
from support.tokens import ARM, claims, forged, minted, signing_key

VERSION = "api-version=2021-04-01"
READS = "x-ms-ratelimit-remaining-subscription-reads"
GLOBAL_READS = "x-ms-ratelimit-remaining-subscription-global-reads"
THROTTLED = "arm.throttled"


def groups_path(subscription: str = DEFAULT_SUBSCRIPTION) -> str:
    return f"/subscriptions/{subscription}/resourcegroups?{VERSION}"


def group_path(name: str, subscription: str = DEFAULT_SUBSCRIPTION) -> str:
    return f"/subscriptions/{subscription}/resourcegroups/{name}?{VERSION}"


class Raw:
    """One keep-alive HTTPS connection, answering (status, lower-cased headers, JSON body)."""

    def __init__(self, handle: EmulatorHandle, token: str) -> None:
        assert handle.running is not None
        host, port = handle.base_url.removeprefix("https://").rsplit(":", 1)
        context = ssl.create_default_context(cafile=str(handle.running.ca_root))
        self._connection = http.client.HTTPSConnection(host, int(port), context=context, timeout=30)
        self._token = token

    def __call__(self, method: str, path: str, body: Any = None) -> tuple[int, dict[str, str], Any]:
        headers = {"Authorization": f"Bearer {self._token}"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self._connection.request(method, path, body=payload, headers=headers)
        response = self._connection.getresponse()
        raw = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, json.loads(raw) if raw else None

    def close(self) -> None:
        self._connection.close()


@pytest.fixture
def raw(emulator: EmulatorHandle) -> Iterator[Raw]:
    connection = Raw(emulator, minted(emulator, ARM))
    yield connection
    connection.close()


def as_principal(emulator: EmulatorHandle, object_id: str) -> Raw:
    """A connection whose token names another principal (signed with the emulator's key)."""
    return Raw(emulator, forged(signing_key(emulator.state_dir), claims(oid=object_id, sub=object_id)))


def test_every_answer_reports_full_buckets_that_never_drain_when_throttling_is_off(
    emulator: EmulatorHandle, raw: Raw
) -> None:
    assert emulator.admin().settings()["throttling"] is False
    name = unique("rg")
    emulator.tune(rate_server_error=1.0)
    failed = raw("GET", groups_path())
    emulator.tune(rate_server_error=0.0)
    answers = {
        "list": (raw("GET", groups_path()), "reads"),
        "created": (raw("PUT", group_path(name), {"location": "westeurope"}), "writes"),
        "read": (raw("GET", group_path(name)), "reads"),
        "exists": (raw("HEAD", group_path(name)), "reads"),
        "not found": (raw("GET", group_path(unique("missing"))), "reads"),
        "no api-version": (raw("GET", f"/subscriptions/{DEFAULT_SUBSCRIPTION}/resourcegroups"), "reads"),
        "not an object": (raw("PATCH", group_path(name), "not an object"), "writes"),
        "injected 500": (failed, "reads"),
        "deleted": (raw("DELETE", group_path(name)), "deletes"),
    }
    statuses = {label: answer[0] for label, (answer, _) in answers.items()}
    assert statuses == {
        "list": 200,
        "created": 201,
        "read": 200,
        "exists": 204,
        "not found": 404,
        "no api-version": 400,
        "not an object": 400,
        "injected 500": 500,
        "deleted": 202,
    }
    full = {"reads": 250, "writes": 200, "deletes": 200}
    for label, ((_, headers, _), kind) in answers.items():
        assert headers[f"x-ms-ratelimit-remaining-subscription-{kind}"] == str(full[kind]), label
        assert headers[f"x-ms-ratelimit-remaining-subscription-global-{kind}"] == str(15 * full[kind]), label
        others = {"reads", "writes", "deletes"} - {kind}
        assert not any(f"x-ms-ratelimit-remaining-subscription-{other}" in headers for other in others), label
    for _ in range(300):  # more than a bucket holds: an unthrottled emulator never reports less
        status, headers, _ = raw("GET", groups_path())
        assert (status, headers[READS], headers[GLOBAL_READS]) == (200, "250", "3750")
    assert emulator.request_count(THROTTLED) == 0


def test_an_empty_bucket_answers_429_with_retry_after_and_every_refusal_is_counted(
    emulator: EmulatorHandle, raw: Raw
) -> None:
    emulator.tune(throttling=True, throttle_reads_burst=5, throttle_reads_per_second=0.01)
    emulator.reset_request_count()
    remaining = []
    for path in [groups_path(), group_path(unique("missing")), groups_path(), groups_path(), groups_path()]:
        status, headers, _ = raw("GET", path)
        assert status in (200, 404)  # a failed read takes its token too
        remaining.append((headers[READS], headers[GLOBAL_READS]))
    # The tokens left after each request, rounded down; the global bucket holds 15 times as many.
    assert remaining == [("4", "74"), ("3", "73"), ("2", "72"), ("1", "71"), ("0", "70")]
    refusals = [raw("GET", groups_path()) for _ in range(3)]
    for status, headers, body in refusals:
        assert status == 429
        assert headers[READS] == "0" and headers[GLOBAL_READS] == "70"
        # One token back at 0.01 per second: in 100 seconds, less the little time the requests took.
        after = int(headers["retry-after"])
        assert 99 <= after <= 100
        assert body["error"]["code"] == "SubscriptionRequestsThrottled"
        assert body["error"]["message"] == (
            f"Number of 'read' requests for subscription '{DEFAULT_SUBSCRIPTION}' actor '{PRINCIPAL_ID}' "
            f"exceeded. Please try again after '{after}' seconds after additional tokens are available. "
            "Refer to https://aka.ms/arm-throttling for additional information."
        )
    assert emulator.request_count(THROTTLED) == 3
    assert emulator.request_count("arm.reads") == 8  # refused requests reached the emulator too
    refused = [json.loads(line) for line in emulator.new_record_lines() if json.loads(line)["status"] == 429]
    assert len(refused) == 3


def test_buckets_refill_fractionally_and_retry_after_is_the_wait_for_one_token(
    emulator: EmulatorHandle, raw: Raw
) -> None:
    emulator.tune(throttling=True, throttle_reads_burst=2, throttle_reads_per_second=1.0)
    assert [raw("GET", groups_path())[0] for _ in range(2)] == [200, 200]
    status, headers, _ = raw("GET", groups_path())
    assert (status, headers["retry-after"]) == (429, "1")  # ceil of the time to one token, under a second
    time.sleep(1.5)
    status, headers, _ = raw("GET", groups_path())
    assert (status, headers[READS]) == (200, "0")  # 1.5 tokens, one taken: half a token stays
    time.sleep(0.6)
    # The half token kept plus 0.6 refilled: a bucket dropping fractions would refuse this one.
    assert raw("GET", groups_path())[0] == 200


def test_reads_writes_and_deletes_have_their_own_buckets(emulator: EmulatorHandle, raw: Raw) -> None:
    emulator.tune(
        throttling=True,
        throttle_reads_burst=2,
        throttle_reads_per_second=0.01,
        throttle_writes_burst=3,
        throttle_writes_per_second=0.01,
        throttle_deletes_burst=1,
        throttle_deletes_per_second=0.01,
    )
    name = unique("rg")
    assert [raw("GET", groups_path())[0] for _ in range(3)] == [200, 200, 429]
    status, headers, _ = raw("PUT", group_path(name), {"location": "westeurope"})
    assert status == 201
    assert headers["x-ms-ratelimit-remaining-subscription-writes"] == "2"
    assert headers["x-ms-ratelimit-remaining-subscription-global-writes"] == "44"
    status, headers, _ = raw("DELETE", group_path(name))
    assert (status, headers["x-ms-ratelimit-remaining-subscription-deletes"]) == (202, "0")
    status, headers, body = raw("DELETE", group_path(name))
    assert (status, headers["x-ms-ratelimit-remaining-subscription-deletes"]) == (429, "0")
    assert body["error"]["message"].startswith("Number of 'delete' requests for subscription")


def test_subscriptions_are_throttled_independently(emulator: EmulatorHandle, raw: Raw) -> None:
    second = str(uuid.uuid4())
    emulator.add_subscription(second, "throttled apart")
    emulator.tune(throttling=True, throttle_reads_burst=3, throttle_reads_per_second=0.01)
    assert [raw("GET", groups_path())[0] for _ in range(4)] == [200, 200, 200, 429]
    status, headers, _ = raw("GET", groups_path(second))
    assert (status, headers[READS], headers[GLOBAL_READS]) == (200, "2", "44")
    assert [raw("GET", groups_path(second))[0] for _ in range(3)] == [200, 200, 429]
    status, _, body = raw("GET", groups_path(second))
    assert status == 429 and f"subscription '{second}' actor" in body["error"]["message"]
    assert emulator.request_count(THROTTLED) >= 3


def test_the_subscriptions_global_bucket_refuses_every_principal_once_they_empty_it_together(
    emulator: EmulatorHandle,
) -> None:
    emulator.tune(throttling=True, throttle_reads_burst=2, throttle_reads_per_second=0.01)
    principals = [as_principal(emulator, str(uuid.uuid4())) for _ in range(16)]
    try:
        for connection in principals[:15]:  # 15 principals of 2 reads each: the global bucket's 30
            assert [connection("GET", groups_path())[0] for _ in range(2)] == [200, 200]
        status, headers, body = principals[15]("GET", groups_path())
        assert status == 429
        assert (headers[READS], headers[GLOBAL_READS]) == ("2", "0")  # its own bucket is full, untouched
        assert body["error"]["code"] == "SubscriptionRequestsThrottled"
        assert body["error"]["message"].startswith(
            f"Number of 'read' requests for subscription '{DEFAULT_SUBSCRIPTION}' exceeded."
        )
        assert int(headers["retry-after"]) >= 1
    finally:
        for connection in principals:
            connection.close()


def test_tenant_requests_have_tenant_buckets(emulator: EmulatorHandle, raw: Raw) -> None:
    path = "/subscriptions?api-version=2022-12-01"
    status, headers, _ = raw("GET", path)
    assert (status, headers["x-ms-ratelimit-remaining-tenant-reads"]) == (200, "250")
    assert READS not in headers
    emulator.tune(throttling=True, throttle_reads_burst=2, throttle_reads_per_second=0.01)
    assert [raw("GET", path)[0] for _ in range(2)] == [200, 200]
    status, headers, body = raw("GET", path)
    assert (status, headers["x-ms-ratelimit-remaining-tenant-reads"]) == (429, "0")
    assert body["error"]["code"] == "TenantRequestsThrottled"
    assert f"tenant '{DEFAULT_TENANT}' actor '{PRINCIPAL_ID}'" in body["error"]["message"]
    assert raw("GET", groups_path())[0] == 200  # the subscription's buckets are others


def test_the_sdk_waits_out_429s_and_the_emulator_counts_every_one(
    emulator: EmulatorHandle, clients: Clients, resource_group: str
) -> None:
    emulator.tune(throttling=True, throttle_reads_burst=3, throttle_reads_per_second=4.0)
    emulator.reset_request_count()
    emulator.new_record_lines()
    started = time.monotonic()
    for _ in range(10):
        assert clients.resources.resource_groups.get(resource_group).name == resource_group
    elapsed = time.monotonic() - started
    statuses = [json.loads(line)["status"] for line in emulator.new_record_lines()]
    throttled = statuses.count(429)
    assert throttled >= 1 and statuses.count(200) == 10
    assert emulator.request_count(THROTTLED) == throttled
    assert emulator.request_count("arm") == 10 + throttled
    assert elapsed >= 1.0  # azure-core slept for Retry-After (a whole second) before retrying


@pytest.mark.parametrize(
    "changes",
    [
        {"throttle_reads_burst": 0},
        {"throttle_writes_burst": 2.5},
        {"throttle_deletes_per_second": 0},
        {"throttle_reads_per_second": float("inf")},
        {"throttle_writes_per_second": "10"},
    ],
)
def test_throttle_settings_are_checked(emulator: EmulatorHandle, changes: dict[str, Any]) -> None:
    before = emulator.admin().settings()
    with pytest.raises(EmulatorRequestFailed) as raised:
        emulator.admin().settings(changes)
    name = next(iter(changes))
    assert raised.value.status == 400 and re.search(f"setting '{name}' must be", raised.value.body)
    assert emulator.admin().settings() == before
