"""Which Azure failures are worth retrying, and how long to wait: one small policy object.

Transient: the service's busy codes (BUSY_CODES: ServerBusy, ServerIsNotReady, an Entra administrator write
on a busy server...), 429 (after its Retry-After), 5xx, dropped connections and long-running operations that
ended with an internal error. Anything else fails at once with a message naming the server and the operation.

This policy owns every retry of every Resource Manager request pgflex sends, reads and writes alike:
pgflex's clients switch azure-core's own RetryPolicy off (see pgflex.azure.clients), so one request the
service refuses is one attempt here, and the error that ends a call says how many attempts it took.
Long-running operations (:meth:`RetryPolicy.finish`) are retried at three levels, each request under
this policy: the initial request, each status poll (resumed from the poller's continuation token, so a
throttled poll never sends the write again), and the operation itself when it ended Failed with a
transient code.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, stop_after_delay

from pgflex.spec import PgflexError

from .ratelimit import retry_after

if TYPE_CHECKING:
    from azure.core.polling import LROPoller

T = TypeVar("T")
OnRetry = Callable[[BaseException, float], None]

BUSY_CODES = {
    "ServerBusy",
    "ServerIsBusy",
    "ServerIsNotReady",
    "OperationInProgress",
    "AnotherOperationInProgress",
    # A Microsoft Entra administrator write while the server runs another operation.
    "AadAuthOperationCannotBePerformedWhenServerIsNotAccessible",
}
TRANSIENT_OPERATION_CODES = {"InternalServerError", "ServiceUnavailable", "Timeout", "TooManyRequests"}


class AzureOperationError(PgflexError):
    """An Azure operation failed for good (after retries, or at once when retrying cannot help).

    ``server`` is the server's name, or the scope (``environment``) of an environment-wide request;
    ``attempts`` counts the requests made for it; ``gave_up`` says the last failure was transient, so the
    policy stopped (attempts or deadline spent), not the service refusing for good.
    """

    def __init__(
        self, server: str, operation: str, cause: BaseException, attempts: int = 1, *, gave_up: bool = False
    ) -> None:
        self.server = server
        self.operation = operation
        self.cause = cause
        self.attempts = attempts
        self.gave_up = gave_up
        if gave_up:
            tries = "attempt" if attempts == 1 else "attempts"
            message = f"{server}: {operation}: gave up after {attempts} {tries}: {describe(cause)}"
        else:
            after = f" (attempt {attempts})" if attempts > 1 else ""
            message = f"{server}: {operation} failed{after}: {describe(cause)}"
        super().__init__(message)


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
        return retry_after(getattr(error.response, "headers", {}))
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
        on_retry: OnRetry | None = None,
    ) -> T:
        """``function()``, again after each transient failure; AzureOperationError when it fails for good.

        ``function`` should send its requests whole: a paged list read inside it, not returned lazily, so that
        a page the service refuses is retried too.
        """

        def before_sleep(state: RetryCallState) -> None:
            if on_retry is not None and state.outcome is not None and state.next_action is not None:
                error = state.outcome.exception()
                if error is not None:
                    on_retry(error, state.next_action.sleep)

        attempts = 0

        def attempt() -> T:
            nonlocal attempts
            attempts += 1
            return function()

        retrying = Retrying(
            retry=retry_if_exception(is_transient),
            wait=self.wait,
            stop=stop_after_attempt(self.attempts) | stop_after_delay(self.deadline_seconds),
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except ClientAuthenticationError:
            # Signing in failed, not this operation: the error keeps what the CLI needs to name the cause
            # (nothing configured, endpoint unreachable, refused; pgflex.azure.credential_errors).
            raise
        except (HttpResponseError, ServiceRequestError, ServiceResponseError) as error:
            raise AzureOperationError(server, operation, error, attempts, gave_up=is_transient(error)) from error

    def finish(
        self,
        server: str,
        operation: str,
        begin: Callable[..., LROPoller[Any]],
        *args: Any,
        on_retry: OnRetry | None = None,
    ) -> Any:
        """Start a long-running operation with ``begin(*args)`` and wait for its result.

        A status poll that fails transiently is polled again from the continuation token (the write is not
        sent again); an operation that ended Failed with a transient code, or whose initial request failed
        transiently, is started again. ``begin`` is an SDK ``begin_*`` method: it takes ``continuation_token``.
        """

        def start_and_wait() -> Any:
            first: list[LROPoller[Any]] = [begin(*args)]
            token = first[0].continuation_token()

            def wait() -> Any:
                poller = first.pop() if first else begin(*args, continuation_token=token)
                try:
                    return poller.result()
                except HttpResponseError as error:
                    if error.status_code is not None and error.status_code < 400:
                        raise _OperationEnded(error) from error  # the operation's verdict, not a failed poll
                    raise

            try:
                return self.call(server, f"{operation} (waiting for it)", wait, on_retry)
            except _OperationEnded as ended:
                raise ended.error from None

        return self.call(server, operation, start_and_wait, on_retry)


class _OperationEnded(Exception):
    """A long-running operation ended Failed or Canceled: polling again cannot change that."""

    def __init__(self, error: HttpResponseError) -> None:
        super().__init__(str(error))
        self.error = error


NO_WAIT = RetryPolicy(initial_seconds=0.0, max_seconds=0.0)
