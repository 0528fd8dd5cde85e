"""The wire: where every Resource Manager request pgflex sends is paced and counted.

It wraps the HTTP transport, so it sees each request after every pipeline policy: each attempt of pgflex's
RetryPolicy, each status poll and page, and the second try the authentication policy makes after a challenge,
with the bearer token that says whose bucket it spends (pgflex.azure.ratelimit). A policy among azure-core's
per-retry policies would sit before the authentication policy and see neither.
"""

from __future__ import annotations

import threading
from typing import Any

from azure.core.pipeline.transport import HttpTransport

from .ratelimit import LIMITER, RateLimiter, key_for, remaining_tokens, retry_after


class RequestCounter:
    """Counts the Resource Manager requests that reached the wire (each retry, status poll and page is one),
    the 429 answers among them, and the seconds they waited for a token of the rate limit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reads = 0
        self.writes = 0  # every request that is not a read: PUT, PATCH, POST and DELETE
        self.throttled = 0
        self.waited_seconds = 0.0

    def sent(self, method: str, waited_seconds: float) -> None:
        with self._lock:
            if method.upper() in ("GET", "HEAD"):
                self.reads += 1
            else:
                self.writes += 1
            self.waited_seconds += waited_seconds

    def answered(self, status: int) -> None:
        if status == 429:
            with self._lock:
                self.throttled += 1

    @property
    def total(self) -> int:
        return self.reads + self.writes


class MeteredTransport(HttpTransport):  # type: ignore[type-arg]
    """An HTTP transport that waits for a rate-limit token before each request, and counts it.

    With ``limiter=None`` it only counts (``connect(rate_limit=False)``): requests leave at once."""

    def __init__(
        self,
        inner: HttpTransport,  # type: ignore[type-arg]
        counter: RequestCounter,
        limiter: RateLimiter | None = LIMITER,
    ) -> None:
        self._inner = inner
        self._counter = counter
        self._limiter = limiter

    def send(self, request: Any, **kwargs: Any) -> Any:
        if self._limiter is None:
            self._counter.sent(request.method, 0.0)
            unpaced = self._inner.send(request, **kwargs)
            self._counter.answered(unpaced.status_code)
            return unpaced
        key = key_for(request.method, request.url, request.headers.get("Authorization"))
        bucket = self._limiter.bucket(key)
        ticket = bucket.acquire()
        self._counter.sent(request.method, ticket.waited_seconds)
        try:
            response = self._inner.send(request, **kwargs)
        except BaseException:
            bucket.abandon(ticket)
            raise
        throttled = response.status_code == 429
        headers = response.headers
        bucket.settle(ticket, remaining_tokens(headers, key), throttled=throttled, hold=retry_after(headers))
        self._counter.answered(response.status_code)
        return response

    def open(self) -> None:
        self._inner.open()

    def close(self) -> None:
        self._inner.close()

    def __enter__(self) -> MeteredTransport:
        self._inner.__enter__()
        return self

    def __exit__(self, *exc_details: Any) -> None:
        self._inner.__exit__(*exc_details)

    def sleep(self, duration: float) -> None:
        self._inner.sleep(duration)
