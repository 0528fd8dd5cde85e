"""Resource Manager's rate limits, kept on the client so that pgflex never sends what would be refused.

Resource Manager throttles with token buckets per subscription, principal and kind of request (the 2024
algorithm: reads 250 burst refilled at 25 per second; writes and deletes 200 at 10 per second) and answers 429
once one is empty. pgflex keeps a copy of each bucket, one per Resource Manager endpoint, subscription (or the
tenant), principal and kind, shared by every client of the process, and waits for a token before each request:

- a bucket starts with the documented limits (:data:`DOCUMENTED`, or what :meth:`RateLimiter.prime` says);
- every answer corrects it: ``x-ms-ratelimit-remaining-subscription-{kind}`` (and ``-global-{kind}``, shared by
  every principal; ``-tenant-{kind}`` for tenant requests) is what the service has left, so the local tokens
  become that, less the requests the service may not have counted when it answered;
- when the service has not answered for a while (or ever), one request goes first and the rest wait for its
  answer: another process may have spent the bucket meanwhile;
- a 429 holds the bucket for its Retry-After;
- one token of margin covers what the header cannot say (the fraction it rounds away).

Waiters are served in arrival order. Without the header the bucket keeps its own model.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import NamedTuple
from urllib.parse import urlsplit

from pgflex.token_claims import unverified_claims

KINDS = ("reads", "writes", "deletes")
TENANT = "tenant"  # the scope of a request that names no subscription
MARGIN = 1.0  # tokens left unused: what the rounded-down header may overstate
TRUSTED_SECONDS = 2.0  # how long the last answer describes the service's bucket well enough to send at once


@dataclass(frozen=True)
class Limit:
    """A bucket's size and how many tokens it gains per second."""

    burst: float
    per_second: float


# Microsoft's "Understand how Azure Resource Manager throttles requests" (2024 token bucket algorithm).
DOCUMENTED: Mapping[str, Limit] = {
    "reads": Limit(250, 25.0),
    "writes": Limit(200, 10.0),
    "deletes": Limit(200, 10.0),
}


def kind_of(method: str) -> str:
    method = method.upper()
    if method in ("GET", "HEAD"):
        return "reads"
    return "deletes" if method == "DELETE" else "writes"


class BucketKey(NamedTuple):
    endpoint: str  # scheme://host of Resource Manager
    scope: str  # the subscription id (lower case), or TENANT
    principal: str  # tenant/object id from the bearer token, "" when it cannot be read
    kind: str  # reads, writes or deletes


def key_for(method: str, url: str, authorization: str | None) -> BucketKey:
    parts = urlsplit(url)
    segments = parts.path.split("/")
    named = len(segments) > 2 and segments[1].lower() == "subscriptions" and segments[2]
    scope = segments[2].lower() if named else TENANT
    endpoint = f"{parts.scheme}://{parts.netloc}".lower()
    return BucketKey(endpoint, scope, principal_of(authorization), kind_of(method))


def principal_of(authorization: str | None) -> str:
    """Whom a bearer token speaks for: ``tid/oid`` of its claims, read, not verified (the service verifies it).

    Keyed by the token rather than the credential object, so that clients built with separate credentials for
    the same identity share their buckets, as they share them at the service.
    """
    scheme, _, token = (authorization or "").partition(" ")
    claims = unverified_claims(token) if scheme.lower() == "bearer" else {}
    if not claims:
        return ""
    return f"{claims.get('tid', '')}/{claims.get('oid') or claims.get('sub', '')}"


def remaining_tokens(headers: Mapping[str, str], key: BucketKey) -> float | None:
    """The fewest tokens any of the service's buckets for this request reports left, or None without a header."""
    if key.scope == TENANT:
        names = [f"x-ms-ratelimit-remaining-tenant-{key.kind}"]
    else:
        names = [f"x-ms-ratelimit-remaining-subscription-{key.kind}"]
        names.append(f"x-ms-ratelimit-remaining-subscription-global-{key.kind}")
    reported = []
    for name in names:
        try:
            reported.append(float(headers.get(name) or "nan"))
        except ValueError:
            continue
    counts = [value for value in reported if math.isfinite(value)]
    return min(counts) if counts else None


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds a ``Retry-After`` header asks for (a number or an HTTP date), or None."""
    value = (headers.get("Retry-After") or "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return max(0.0, seconds) if math.isfinite(seconds) else None


@dataclass(frozen=True)
class Ticket:
    """One request let through: when it waited, and how many answers had come back when it was sent."""

    waited_seconds: float
    answered_before: int  # requests answered before it left: the service counted them before it
    probe: bool  # sent alone, to learn the service's tokens before the others go


@dataclass(frozen=True)
class BucketState:
    """A bucket as reports and benchmarks show it."""

    key: BucketKey
    limit: Limit
    tokens: float
    requests: int
    waiting: int  # requests waiting for a token now
    throttled: int  # 429 answers
    waited_seconds: float  # summed over every request that waited for a token


class TokenBucket:
    """The client's copy of one of Resource Manager's buckets; thread-safe, first come first served."""

    def __init__(self, limit: Limit, *, margin: float = MARGIN, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._margin = margin
        self._clock = clock
        self._lock = threading.Lock()
        self._queue: deque[threading.Event] = deque()  # waiters, first one at the head
        self._tokens = float(limit.burst)
        self._stamp = clock()
        self._hold_until = -math.inf
        self._sent = 0
        self._answered = 0
        self._in_flight = 0
        self._heard_at = -math.inf  # when the service last answered
        self._probing = False  # a request went alone to learn the tokens; the others wait for its answer
        self.throttled = 0
        self.waited_seconds = 0.0

    def acquire(self) -> Ticket:
        """Wait for a token and take it; give the ticket back with :meth:`settle` or :meth:`abandon`."""
        started = self._clock()
        turn = threading.Event()
        with self._lock:
            self._queue.append(turn)
        try:
            while True:
                turn.clear()  # before looking, so that a wake-up while we look is not lost
                with self._lock:
                    delay = self._delay() if self._queue[0] is turn else None
                    if delay == 0.0:
                        self._queue.popleft()
                        self._wake_head()
                        return self._take(self._clock() - started)
                turn.wait(delay)
        except BaseException:
            with self._lock:  # interrupted while waiting: let the next one through
                if turn in self._queue:
                    self._queue.remove(turn)
                    self._wake_head()
            raise

    def settle(self, ticket: Ticket, remaining: float | None, *, throttled: bool, hold: float | None) -> None:
        """The service answered the ticket's request: ``remaining`` tokens by its header, ``hold`` its
        Retry-After, ``throttled`` when it answered 429."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            self._in_flight -= 1
            self._answered += 1
            self._heard_at = now
            self._probing = False
            if remaining is not None:
                # Requests that left after this one, or were still on their way: the service may not have
                # counted them yet. The service's word wins over the model, in both directions.
                uncounted = self._sent - ticket.answered_before - 1
                self.limit = Limit(max(self.limit.burst, remaining), self.limit.per_second)
                self._tokens = remaining - uncounted
            if throttled:
                self.throttled += 1
                if hold:
                    self._hold_until = max(self._hold_until, now + hold)
            self._wake_head()

    def abandon(self, ticket: Ticket) -> None:
        """The ticket's request got no answer (the connection failed): nothing learned, the next may go."""
        with self._lock:
            self._in_flight -= 1
            self._answered += 1
            self._probing = self._probing and not ticket.probe
            self._wake_head()

    def state(self, key: BucketKey) -> BucketState:
        with self._lock:
            self._refill(self._clock())
            waiting = len(self._queue)
            return BucketState(key, self.limit, self._tokens, self._sent, waiting, self.throttled, self.waited_seconds)

    def _refill(self, now: float) -> None:
        gained = (now - self._stamp) * self.limit.per_second
        self._tokens = min(float(self.limit.burst), self._tokens + gained)
        self._stamp = now

    def _delay(self) -> float | None:
        """Seconds until the head of the queue may go (0.0: now), None while it must wait for an answer."""
        now = self._clock()
        self._refill(now)
        if self._probing:
            return None
        needed = min(1 + self._margin, float(self.limit.burst))
        wait = max(self._hold_until - now, (needed - self._tokens) / self.limit.per_second)
        return wait if wait > 0 else 0.0

    def _take(self, waited: float) -> Ticket:
        self._tokens -= 1
        self._sent += 1
        self._in_flight += 1
        self.waited_seconds += waited
        probe = self._clock() - self._heard_at > TRUSTED_SECONDS
        self._probing = probe
        return Ticket(waited, self._answered, probe)

    def _wake_head(self) -> None:
        if self._queue:
            self._queue[0].set()


class RateLimiter:
    """Every bucket of the process, by key; limits per endpoint (the documented ones unless primed)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[BucketKey, TokenBucket] = {}
        self._limits: dict[str, Mapping[str, Limit]] = {}

    def bucket(self, key: BucketKey) -> TokenBucket:
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                limit = self._limits.get(key.endpoint, DOCUMENTED)[key.kind]
                bucket = self._buckets[key] = TokenBucket(limit, clock=self._clock)
            return bucket

    def prime(self, endpoint: str, limits: Mapping[str, Limit]) -> None:
        """Limits of the Resource Manager at ``endpoint`` (scheme://host) other than the documented ones, e.g. an
        emulator's; its buckets start afresh when they change."""
        endpoint = endpoint.rstrip("/").lower()
        wanted = {**DOCUMENTED, **limits}
        with self._lock:
            if dict(self._limits.get(endpoint, DOCUMENTED)) == wanted:
                return
            self._limits[endpoint] = wanted
            for key in [key for key in self._buckets if key.endpoint == endpoint]:
                del self._buckets[key]

    def states(self) -> list[BucketState]:
        with self._lock:
            buckets = list(self._buckets.items())
        return [bucket.state(key) for key, bucket in buckets]


# The process's buckets: every AzureClients shares them, as the service's are shared by every client.
LIMITER = RateLimiter()
