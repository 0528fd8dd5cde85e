"""Resource Manager's request throttling: token buckets per subscription, principal and kind.

Limits from Microsoft's "Understand how Azure Resource Manager throttles requests" (2024 token
bucket): reads 250 burst refilled at 25/s; writes and deletes 200 burst at 10/s.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

LIMITS = {"reads": (250, 25.0), "writes": (200, 10.0), "deletes": (200, 10.0)}


def kind_of(method: str) -> str:
    if method in ("GET", "HEAD"):
        return "reads"
    if method == "DELETE":
        return "deletes"
    return "writes"


@dataclass
class Bucket:
    capacity: float
    refill_per_second: float
    tokens: float
    stamp: float = field(default_factory=time.monotonic)

    def take(self) -> tuple[bool, int]:
        """Take one token: (allowed, remaining)."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.refill_per_second)
        self.stamp = now
        if self.tokens < 1:
            return False, 0
        self.tokens -= 1
        return True, int(self.tokens)

    def seconds_until_token(self) -> int:
        return max(1, math.ceil((1 - self.tokens) / self.refill_per_second))


class Throttle:
    def __init__(self) -> None:
        self._buckets: dict[tuple[str, str, str], Bucket] = {}

    def take(self, subscription: str, principal: str, kind: str) -> tuple[bool, int, int]:
        """(allowed, remaining, retry_after_seconds) for one request."""
        key = (subscription.lower(), principal, kind)
        bucket = self._buckets.get(key)
        if bucket is None:
            capacity, rate = LIMITS[kind]
            bucket = self._buckets[key] = Bucket(capacity, rate, capacity)
        allowed, remaining = bucket.take()
        return allowed, remaining, 0 if allowed else bucket.seconds_until_token()

    def reset(self) -> None:
        self._buckets.clear()
