"""The client's copy of a Resource Manager token bucket, on its own: how answers correct it, and how it lets
requests through (the tests against the emulator are in test_rate_limit.py)."""

from __future__ import annotations

import base64
import json
import threading
import time

import pytest

from pgflex.azure.ratelimit import (
    TENANT,
    BucketKey,
    Limit,
    RateLimiter,
    TokenBucket,
    key_for,
    principal_of,
    remaining_tokens,
    retry_after,
)

KEY = BucketKey("https://management.azure.com", "sub", "tenant/oid", "reads")


class Clock:
    """Time that moves only when told, for buckets whose requests never have to wait."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _tokens(bucket: TokenBucket) -> float:
    return bucket.state(KEY).tokens


def test_the_services_header_replaces_the_local_tokens_in_both_directions() -> None:
    clock = Clock()
    bucket = TokenBucket(Limit(250, 25.0), clock=clock)
    bucket.settle(bucket.acquire(), 3, throttled=False, hold=None)
    assert _tokens(bucket) == 3  # another client spent the rest: the service knows, the model did not
    bucket.settle(bucket.acquire(), 200, throttled=False, hold=None)
    assert _tokens(bucket) == 200
    clock.now += 1.0
    assert _tokens(bucket) == 225  # refilled at 25 per second between answers
    bucket.settle(bucket.acquire(), None, throttled=False, hold=None)
    assert _tokens(bucket) == 224  # no header: the model goes on


def test_requests_the_service_may_not_have_counted_yet_are_taken_off_its_answer() -> None:
    bucket = TokenBucket(Limit(250, 25.0), clock=Clock())
    bucket.settle(bucket.acquire(), 250, throttled=False, hold=None)  # the first answer: no probe any more
    first, second, third = bucket.acquire(), bucket.acquire(), bucket.acquire()
    bucket.settle(first, 10, throttled=False, hold=None)
    assert _tokens(bucket) == 8  # the second and third were sent before the first was answered
    fourth = bucket.acquire()
    bucket.settle(third, 20, throttled=False, hold=None)
    bucket.settle(fourth, 20, throttled=False, hold=None)
    # The second, still on its way, and the third, answered after the fourth left, may come after the fourth.
    assert _tokens(bucket) == 18
    bucket.settle(second, 30, throttled=False, hold=None)
    assert _tokens(bucket) == 27  # every other one was answered after the second left


def test_a_header_above_the_burst_raises_it() -> None:
    bucket = TokenBucket(Limit(250, 25.0), clock=Clock())
    bucket.settle(bucket.acquire(), 11999, throttled=False, hold=None)
    assert bucket.state(KEY).limit == Limit(11999, 25.0)


def test_a_429_holds_the_bucket_for_its_retry_after() -> None:
    bucket = TokenBucket(Limit(100, 100.0))
    bucket.settle(bucket.acquire(), 0, throttled=True, hold=0.3)
    ticket = bucket.acquire()  # the tokens are back within 0.02 s; the service asked for 0.3 s
    assert ticket.waited_seconds >= 0.29
    state = bucket.state(KEY)
    assert (state.throttled, state.requests) == (1, 2)


def test_after_silence_one_request_goes_first_and_the_others_wait_for_its_answer() -> None:
    bucket = TokenBucket(Limit(250, 25.0), clock=Clock())  # plenty of tokens: nothing waits for time
    probe = bucket.acquire()
    assert probe.probe
    granted: list[bool] = []
    follower = threading.Thread(target=lambda: granted.append(bucket.acquire().probe))
    follower.start()
    _wait_until(lambda: bucket.state(KEY).waiting == 1)
    time.sleep(0.1)
    assert bucket.state(KEY).waiting == 1 and not granted  # still waiting, with 249 tokens
    bucket.settle(probe, 249, throttled=False, hold=None)
    follower.join(5)
    assert granted == [False]  # the answer is fresh: no second probe


def test_a_probe_that_gets_no_answer_lets_the_next_request_probe() -> None:
    bucket = TokenBucket(Limit(250, 25.0), clock=Clock())
    bucket.abandon(bucket.acquire())
    assert bucket.acquire().probe


def test_waiters_are_served_in_the_order_they_came() -> None:
    bucket = TokenBucket(Limit(2, 20.0))
    bucket.settle(bucket.acquire(), 0, throttled=False, hold=None)  # empty: each waiter needs time
    order: list[int] = []

    def wait_for_token(index: int) -> None:
        ticket = bucket.acquire()
        order.append(index)
        bucket.settle(ticket, None, throttled=False, hold=None)

    threads = []
    for index in range(6):
        thread = threading.Thread(target=wait_for_token, args=(index,))
        thread.start()
        threads.append(thread)
        _wait_until(lambda: bucket.state(KEY).waiting + len(order) == len(threads))
    for thread in threads:
        thread.join(10)
    assert order == list(range(6))


def test_requests_from_many_threads_go_no_faster_than_the_refill() -> None:
    bucket = TokenBucket(Limit(5, 50.0))
    started = time.monotonic()

    def take(count: int) -> None:
        for _ in range(count):
            bucket.settle(bucket.acquire(), None, throttled=False, hold=None)

    threads = [threading.Thread(target=take, args=(10,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    elapsed = time.monotonic() - started
    # 40 tokens from a bucket of 5 (one kept as margin) refilled at 50 per second: 36 waited for.
    assert elapsed >= 36 / 50 - 0.01
    assert bucket.state(KEY).waited_seconds > 0 and bucket.state(KEY).requests == 40


def test_priming_an_endpoint_starts_its_buckets_afresh_and_leaves_others_alone() -> None:
    limiter = RateLimiter()
    emulator = BucketKey("https://127.0.0.1:4590", "sub", "p", "reads")
    cloud = KEY
    before = limiter.bucket(emulator), limiter.bucket(cloud)
    limiter.prime("https://127.0.0.1:4590/", {"reads": Limit(20, 5.0)})
    assert limiter.bucket(emulator) is not before[0] and limiter.bucket(emulator).limit == Limit(20, 5.0)
    assert limiter.bucket(cloud) is before[1] and limiter.bucket(cloud).limit == Limit(250, 25.0)
    same = limiter.bucket(emulator)
    limiter.prime("https://127.0.0.1:4590", {"reads": Limit(20, 5.0)})
    assert limiter.bucket(emulator) is same  # unchanged limits keep what the bucket learned


def _token(claims: dict[str, str]) -> str:
    def part(data: dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"Bearer {part({'alg': 'RS256'})}.{part(claims)}.signature"


def test_a_bucket_is_keyed_by_endpoint_subscription_principal_and_kind() -> None:
    token = _token({"tid": "t1", "oid": "o1"})
    url = "https://Management.Azure.com/subscriptions/ABC/resourceGroups/rg?api-version=2021-04-01"
    assert key_for("HEAD", url, token) == BucketKey("https://management.azure.com", "abc", "t1/o1", "reads")
    assert key_for("DELETE", url, token).kind == "deletes" and key_for("POST", url, token).kind == "writes"
    assert key_for("GET", "https://management.azure.com/subscriptions?api-version=1", token).scope == TENANT
    assert principal_of(_token({"tid": "t1", "sub": "app"})) == "t1/app"
    assert principal_of("Bearer not-a-jwt") == principal_of(None) == principal_of("Bearer a.%%%.c") == ""


def test_the_fewest_tokens_any_bucket_reports_is_what_remains() -> None:
    headers = {
        "x-ms-ratelimit-remaining-subscription-reads": "249",
        "x-ms-ratelimit-remaining-subscription-global-reads": "17",
        "x-ms-ratelimit-remaining-subscription-writes": "3",
    }
    assert remaining_tokens(headers, KEY) == 17
    assert remaining_tokens({"x-ms-ratelimit-remaining-subscription-reads": "junk"}, KEY) is None
    tenant = KEY._replace(scope=TENANT)
    assert remaining_tokens({"x-ms-ratelimit-remaining-tenant-reads": "12", **headers}, tenant) == 12


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("2", 2.0), ("0", 0.0), ("-3", 0.0), ("soon", None), ("", None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)],
)
def test_retry_after_is_seconds_or_a_date(value: str, seconds: float | None) -> None:
    assert retry_after({"Retry-After": value}) == seconds


def _wait_until(condition: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)
