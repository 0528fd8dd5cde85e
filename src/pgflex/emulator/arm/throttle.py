"""Resource Manager's request throttling, as its 2024 token buckets answer.

From Microsoft's "Understand how Azure Resource Manager throttles requests": a bucket per subscription,
principal and kind of request (reads 250 burst refilled at 25/s; writes and deletes 200 at 10/s), and per
subscription and kind a global bucket shared by every principal, 15 times the principal's. A request is
refused (429) when either bucket is empty. Tenant requests (no subscription in the path) have buckets per
principal and kind of the same size. Every answer reports what remains, as Resource Manager does:
``x-ms-ratelimit-remaining-subscription-reads: 249`` and ``...-subscription-global-reads: 3749`` after
the first read (the tokens left, rounded down); tenant requests report ``x-ms-ratelimit-remaining-tenant-*``.

Bucket sizes and refill rates come from the tuning (``throttle_<kind>_burst``, ``..._per_second``) so that
tests can throttle quickly. With throttling off every answer still carries the headers, reporting full
buckets that never drain: a client that paces itself by them never slows down against such an emulator.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from ..settings import Tuning
from .auth import Principal

KINDS = ("reads", "writes", "deletes")
# The subscription's global bucket, shared by all principals, is this many times a principal's.
GLOBAL_MULTIPLIER = 15
# Past this many buckets, full ones are forgotten: a full bucket is what a new one would be, so nothing
# changes, and requests naming ever new subscriptions cannot grow the table without bound.
MAX_BUCKETS = 10_000
TENANT = "tenant"


def kind_of(method: str) -> str:
    if method in ("GET", "HEAD"):
        return "reads"
    if method == "DELETE":
        return "deletes"
    return "writes"


def subscription_of(path: str) -> str | None:
    """The subscription a request addresses (``/subscriptions/{id}/...``), or None for a tenant request."""
    parts = path.split("/")
    if len(parts) > 2 and parts[1].lower() == "subscriptions" and parts[2]:
        return parts[2].lower()
    return None


def limits(tuning: Tuning, kind: str) -> tuple[int, float]:
    """(burst, refill per second) of a principal's bucket of ``kind``."""
    return int(getattr(tuning, f"throttle_{kind}_burst")), float(getattr(tuning, f"throttle_{kind}_per_second"))


@dataclass
class Bucket:
    capacity: float
    refill_per_second: float
    tokens: float
    stamp: float = field(default_factory=time.monotonic)

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.refill_per_second)
        self.stamp = now

    def seconds_until_token(self) -> int:
        """Whole seconds until one token is back (Retry-After): at least 1 while the bucket is empty."""
        return max(1, math.ceil((1 - self.tokens) / self.refill_per_second))


@dataclass(frozen=True)
class Verdict:
    """One request's answer from the buckets: its headers, and when refused, how long to wait and why."""

    headers: dict[str, str]
    retry_after: int = 0  # 0: allowed
    message: str = ""
    code: str = ""

    @property
    def allowed(self) -> bool:
        return self.retry_after == 0


class Throttle:
    def __init__(self) -> None:
        self._buckets: dict[tuple[str, str, str], Bucket] = {}

    def take(self, tuning: Tuning, subscription: str | None, principal: Principal, kind: str) -> Verdict:
        """Take a token for one request of ``kind`` by ``principal`` (tenant-wide when ``subscription`` is
        None) from its buckets, or refuse it. With throttling off, report full buckets and take nothing."""
        if subscription is None:
            return self._take_tenant(tuning, principal, kind)
        burst, rate = limits(tuning, kind)
        if not tuning.throttling:
            return Verdict(_subscription_headers(kind, burst, burst * GLOBAL_MULTIPLIER))
        own, shared = self._refilled(
            [
                ((subscription, principal.object_id, kind), burst, rate),
                ((subscription, "", kind), burst * GLOBAL_MULTIPLIER, rate * GLOBAL_MULTIPLIER),
            ]
        )
        if own.tokens >= 1 and shared.tokens >= 1:
            own.tokens -= 1
            shared.tokens -= 1
            return Verdict(_subscription_headers(kind, int(own.tokens), int(shared.tokens)))
        headers = _subscription_headers(kind, int(own.tokens), int(shared.tokens))
        if own.tokens < 1:
            after = own.seconds_until_token()
            scope = f"subscription '{subscription}' actor '{principal.object_id}'"
        else:  # other principals emptied the subscription's global bucket
            after = shared.seconds_until_token()
            scope = f"subscription '{subscription}'"
        return Verdict(headers, after, _refusal(kind, scope, after), "SubscriptionRequestsThrottled")

    def _take_tenant(self, tuning: Tuning, principal: Principal, kind: str) -> Verdict:
        header = f"x-ms-ratelimit-remaining-tenant-{kind}"
        burst, rate = limits(tuning, kind)
        if not tuning.throttling:
            return Verdict({header: str(burst)})
        (bucket,) = self._refilled([((TENANT, principal.object_id, kind), burst, rate)])
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return Verdict({header: str(int(bucket.tokens))})
        after = bucket.seconds_until_token()
        scope = f"tenant '{principal.tenant_id}' actor '{principal.object_id}'"
        return Verdict({header: "0"}, after, _refusal(kind, scope, after), "TenantRequestsThrottled")

    def _refilled(self, scopes: list[tuple[tuple[str, str, str], float, float]]) -> list[Bucket]:
        now = time.monotonic()
        if len(self._buckets) > MAX_BUCKETS:
            self._forget_full(now)
        buckets = []
        for key, capacity, rate in scopes:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = Bucket(capacity, rate, capacity, now)
            bucket.refill(now)
            buckets.append(bucket)
        return buckets

    def _forget_full(self, now: float) -> None:
        for key, bucket in list(self._buckets.items()):
            bucket.refill(now)
            if bucket.tokens >= bucket.capacity:
                del self._buckets[key]

    def reset(self) -> None:
        """Forget every bucket (after the throttling settings change): all start full."""
        self._buckets.clear()


def _refusal(kind: str, scope: str, after: int) -> str:
    """Resource Manager's message for a refused request ("Number of 'read' requests for subscription ...")."""
    return (
        f"Number of '{kind.removesuffix('s')}' requests for {scope} exceeded. Please try again after '{after}' "
        "seconds after additional tokens are available. Refer to https://aka.ms/arm-throttling for additional "
        "information."
    )


def _subscription_headers(kind: str, own: int, shared: int) -> dict[str, str]:
    return {
        f"x-ms-ratelimit-remaining-subscription-{kind}": str(own),
        f"x-ms-ratelimit-remaining-subscription-global-{kind}": str(shared),
    }
