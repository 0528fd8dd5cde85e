"""Which Azure failures are worth retrying, and how long to wait: one small policy object.

Transient: the service's busy codes (ServerBusy, ServerIsBusy, ServerIsNotReady), 429 (after its
Retry-After), 5xx, dropped connections and long-running operations that ended with an internal
error. Anything else fails at once with a message naming the server and the operation.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, stop_after_delay

from pgflex.spec import PgflexError

T = TypeVar("T")

BUSY_CODES = {"ServerBusy", "ServerIsBusy", "ServerIsNotReady", "OperationInProgress", "AnotherOperationInProgress"}
TRANSIENT_OPERATION_CODES = {"InternalServerError", "ServiceUnavailable", "Timeout", "TooManyRequests"}


class AzureOperationError(PgflexError):
    """An Azure operation failed for good (after retries, or at once when retrying cannot help)."""

    def __init__(self, server: str, operation: str, cause: BaseException) -> None:
        self.server = server
        self.operation = operation
        self.cause = cause
        super().__init__(f"{server}: {operation} failed: {describe(cause)}")


def describe(error: BaseException) -> str:
    if isinstance(error, HttpResponseError):
        if error.error is not None and error.error.code:
            return f"{error.error.code}: {error.error.message}"
        return f"HTTP {error.status_code}: {error.reason}"
    return f"{type(error).__name__}: {error}"


def error_code(error: BaseException) -> str | None:
    if isinstance(error, HttpResponseError) and error.error is not None:
        return error.error.code
    return None


def is_transient(error: BaseException) -> bool:
    if isinstance(error, ServiceRequestError | ServiceResponseError):
        return True  # the connection dropped: nothing to learn from the request, try again
    if not isinstance(error, HttpResponseError):
        return False
    code = error_code(error)
    if code in BUSY_CODES:
        return True
    status = error.status_code
    if status == 429 or (status is not None and status >= 500):
        return True
    # A long-running operation that ended Failed surfaces with the status of the last poll (200).
    return code in TRANSIENT_OPERATION_CODES


def retry_after_seconds(error: BaseException) -> float | None:
    if isinstance(error, HttpResponseError) and error.response is not None:
        headers = getattr(error.response, "headers", {})
        value = headers.get("Retry-After")
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None
    return None


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with full jitter; Retry-After wins when the service sends it."""

    attempts: int = 12
    initial_seconds: float = 0.5
    max_seconds: float = 30.0
    deadline_seconds: float = 1800.0
    rng: random.Random = random.Random()  # noqa: RUF009 - shared and deliberately unseeded

    def wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        hinted = retry_after_seconds(error) if error else None
        if hinted is not None and hinted > 0:
            return min(hinted, self.max_seconds)
        ceiling = min(self.max_seconds, self.initial_seconds * 2 ** (state.attempt_number - 1))
        return self.rng.uniform(0, ceiling)

    def call(
        self,
        server: str,
        operation: str,
        function: Callable[[], T],
        on_retry: Callable[[BaseException, float], None] | None = None,
    ) -> T:
        def before_sleep(state: RetryCallState) -> None:
            if on_retry is not None and state.outcome is not None and state.next_action is not None:
                error = state.outcome.exception()
                if error is not None:
                    on_retry(error, state.next_action.sleep)

        retrying = Retrying(
            retry=retry_if_exception(is_transient),
            wait=self.wait,
            stop=stop_after_attempt(self.attempts) | stop_after_delay(self.deadline_seconds),
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            return retrying(function)
        except (HttpResponseError, ServiceRequestError, ServiceResponseError) as error:
            raise AzureOperationError(server, operation, error) from error


NO_WAIT = RetryPolicy(initial_seconds=0.0, max_seconds=0.0)
