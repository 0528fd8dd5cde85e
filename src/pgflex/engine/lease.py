"""A lease on the environment's resource group, so that two applies (or an apply and a destroy) never write at once.

The lease is one tag, ``pgflex-lease``, on the resource group: a small JSON document naming its holder (a random
id), the host and process, what it is doing and when it expires. Resource Manager offers no compare-and-swap
for it: resource groups have no ETag and ignore If-Match. So the lease is taken the way a lease is taken on any
last-writer-wins store:

1. read the group; if a live lease of someone else is on it, wait (re-reading) until it is released or expires;
2. write our lease, having read the tags no more than ``settle / 2`` seconds before the write was acknowledged
   (otherwise start again: a slower writer could land after a competitor's read-back without it seeing us);
3. wait ``settle`` seconds, read again: the lease is ours only if our holder id is still there. Two takers
   who both saw a free group both write; each reads back after its settle interval, after both writes landed,
   so both read the last writer's lease: the last writer holds it, the other goes back to waiting.

A background thread renews the lease every ``duration / 3`` seconds while the work runs; it is released at the
end (after an error or Ctrl-C too). A holder that dies stops renewing, and its lease can be taken once it has
expired, or at once by a process on the same host when the holder's process is gone.

The group may not exist yet (the first apply creates it): the lease then creates it, with the lease tag in the
same request, and says so (``created_group``), so apply does not create it again (a PUT would drop the tag).

Cost: taking a free lease is 3 requests (read, write, read back), renewing 2 every ``duration / 3``, releasing
2; waiting reads the group once per poll. Each request goes through pgflex's RetryPolicy and RequestCounter.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType

from azure.core.exceptions import ResourceNotFoundError

from pgflex.azure.clients import AzureClients
from pgflex.azure.retry import AzureOperationError, RetryPolicy
from pgflex.spec import Environment, PgflexError

from .apply import DEFAULT_LOCK_TIMEOUT_SECONDS, Event, Phase, Progress

LEASE_TAG = "pgflex-lease"
DEFAULT_LEASE_SECONDS = 120.0
# Long enough for a competitor's read-then-write to land on Azure; the emulator answers in milliseconds.
SETTLE_SECONDS = {"local": 0.3}
DEFAULT_SETTLE_SECONDS = 2.0
LEASE_SECONDS_VARIABLE = "PGFLEX_LEASE_SECONDS"
SETTLE_SECONDS_VARIABLE = "PGFLEX_LEASE_SETTLE_SECONDS"
MAX_SLOW_WRITES = 5
SCOPE = "environment"


class LeaseHeldError(PgflexError):
    """Another apply or destroy holds the environment's lease, and it was not released in time."""


@dataclass(frozen=True)
class LeaseRecord:
    """What the tag holds. Its JSON keys are camelCase, and it stays well under Azure's 256 characters."""

    holder: str
    host: str
    pid: int
    operation: str
    expires: datetime

    def to_tag(self) -> str:
        document = {
            "holder": self.holder,
            "host": self.host[:63],
            "pid": self.pid,
            "operation": self.operation,
            "expires": self.expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        return json.dumps(document, separators=(",", ":"))

    @classmethod
    def from_tags(cls, tags: dict[str, str] | None) -> LeaseRecord | None:
        """The lease in ``tags``; None when there is none, or it is unreadable (nobody can renew it then)."""
        text = (tags or {}).get(LEASE_TAG)
        if not text:
            return None
        try:
            document = json.loads(text)
            expires = datetime.strptime(document["expires"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            return cls(
                str(document["holder"]),
                str(document["host"]),
                int(document["pid"]),
                str(document["operation"]),
                expires,
            )
        except (ValueError, KeyError, TypeError):
            return None

    def abandoned(self, now: datetime) -> bool:
        """Expired, or its process is gone from this host (a killed apply need not be waited for)."""
        if now >= self.expires:
            return True
        return self.host == socket.gethostname() and not _process_alive(self.pid)

    def describe(self, now: datetime) -> str:
        left = max(0, int((self.expires - now).total_seconds()))
        until = self.expires.strftime("%H:%M:%S UTC")
        return f"{self.operation} by pid {self.pid} on {self.host} (lease {self.holder}), expires {until} (in {left} s)"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def _seconds_from_environment(variable: str, default: float) -> float:
    text = os.environ.get(variable)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise PgflexError(f"${variable} must be a number of seconds, not {text!r}") from None
    if value <= 0:
        raise PgflexError(f"${variable} must be more than 0 seconds, not {text!r}")
    return value


class Lease:
    """``with Lease(...)``: taken on entry (waiting up to ``lock_timeout``), renewed meanwhile, released on exit."""

    def __init__(
        self,
        env: Environment,
        clients: AzureClients,
        *,
        operation: str,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS,
        create_group: bool = True,
        retry: RetryPolicy | None = None,
        progress: Progress | None = None,
        duration: float | None = None,
        settle: float | None = None,
    ) -> None:
        if lock_timeout < 0:
            raise PgflexError(f"the lock timeout must be 0 seconds or more, not {lock_timeout:g}")
        self.env = env
        self.clients = clients
        self.operation = operation
        self.lock_timeout = lock_timeout
        self.create_group = create_group
        self.retry = retry or RetryPolicy()
        self.progress = progress or (lambda event: None)
        self.duration = duration or _seconds_from_environment(LEASE_SECONDS_VARIABLE, DEFAULT_LEASE_SECONDS)
        default_settle = SETTLE_SECONDS.get(clients.cloud, DEFAULT_SETTLE_SECONDS)
        self.settle = (
            settle if settle is not None else _seconds_from_environment(SETTLE_SECONDS_VARIABLE, default_settle)
        )
        self.holder = uuid.uuid4().hex[:12]
        self.held = False
        self.wrote = False  # our lease was written: it must be removed, even when taking it did not finish
        self.created_group = False
        self.lost: str | None = None  # set by the renewer when someone else's lease replaced ours
        self.requests = 0  # Resource Manager requests the lease cost, for reports and tests
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    # Requests

    def _read_tags(self) -> dict[str, str] | None:
        """The group's tags; None when the group does not exist."""
        group = self.env.resource_group
        self.requests += 1
        try:
            found = self.retry.call(
                SCOPE, f"read the lease on {group}", lambda: self.clients.resources.resource_groups.get(group)
            )
        except AzureOperationError as error:
            if isinstance(error.cause, ResourceNotFoundError):
                return None
            raise
        return dict(found.tags or {})

    def _write_tags(self, tags: dict[str, str], *, exists: bool) -> None:
        group, groups = self.env.resource_group, self.clients.resources.resource_groups
        self.requests += 1
        if exists:
            # PATCH replaces the tags whole: ``tags`` carries the others, read just before.
            self.retry.call(SCOPE, f"write the lease on {group}", lambda: groups.update(group, {"tags": tags}))
        else:
            body = {"location": self.env.location, "tags": tags}
            self.retry.call(SCOPE, f"create resource group {group}", lambda: groups.create_or_update(group, body))

    def _record(self) -> LeaseRecord:
        expires = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=self.duration)
        return LeaseRecord(self.holder, socket.gethostname(), os.getpid(), self.operation, expires)

    # Taking, renewing, releasing

    def acquire(self) -> None:
        deadline = time.monotonic() + self.lock_timeout
        waited_since: float | None = None
        told: tuple[str, int] | None = None
        slow_writes = 0
        while True:
            started = time.monotonic()
            tags = self._read_tags()
            if tags is None and not self.create_group:
                return  # nothing to guard: the group (and so everything in it) does not exist
            now = datetime.now(UTC)
            current = LeaseRecord.from_tags(tags)
            if current is not None and current.holder != self.holder and not current.abandoned(now):
                if waited_since is None:
                    waited_since = time.monotonic()
                waited = time.monotonic() - waited_since
                if time.monotonic() >= deadline:
                    raise self._refusal(current, now, waited)
                # Told when the holder changes, and every 30 s: a pipeline's log need not hear every poll.
                if (current.holder, int(waited) // 30) != told:
                    told = (current.holder, int(waited) // 30)
                    left = int(deadline - time.monotonic())
                    detail = f"waiting up to {left} s more for the lease: held by {current.describe(now)}"
                    self.progress(Event(SCOPE, "lease", Phase.NOTE, detail))
                expires_in = max(0.0, (current.expires - now).total_seconds())
                time.sleep(max(0.05, min(self._poll_seconds(), deadline - time.monotonic(), expires_in + 0.05)))
                continue
            if current is not None and current.holder != self.holder:
                self.progress(
                    Event(SCOPE, "lease", Phase.NOTE, f"taking over an abandoned lease: {current.describe(now)}")
                )
            mine = {**(tags or {}), LEASE_TAG: self._record().to_tag()}
            self.wrote = True
            self._write_tags(mine, exists=tags is not None)
            if time.monotonic() - started > self.settle / 2:
                slow_writes += 1  # a competitor could have written between our read and our write: look again
                if slow_writes >= MAX_SLOW_WRITES:
                    raise PgflexError(
                        f"could not take the lease on {self.env.resource_group}: Resource Manager is too slow"
                    )
                continue
            created = tags is None
            time.sleep(self.settle)
            back = LeaseRecord.from_tags(self._read_tags())
            if back is not None and back.holder == self.holder:
                self.held, self.created_group = True, created
                self.progress(Event(SCOPE, "lease", Phase.DONE, f"lease {self.holder} taken"))
                return
            # Someone else wrote last: theirs is the lease; wait for it like any other.

    def _refusal(self, current: LeaseRecord, now: datetime, waited: float) -> LeaseHeldError:
        after = f" (waited {waited:.0f} s)" if waited >= 1 else ""
        return LeaseHeldError(
            f"{self.env.resource_group} is locked by another pgflex {current.describe(now)}{after}; "
            "try again later, or raise --lock-timeout"
        )

    def _poll_seconds(self) -> float:
        # A read every 2 s at most: a waiter starts soon after the holder releases, for ~150 reads in 5 minutes.
        return max(0.2, min(2.0, self.duration / 10))

    def renew(self) -> None:
        tags = self._read_tags()
        current = LeaseRecord.from_tags(tags)
        if tags is None or current is None or current.holder != self.holder:
            now = datetime.now(UTC)
            self.lost = current.describe(now) if current is not None else "nobody (the lease tag is gone)"
            self.progress(Event(SCOPE, "lease", Phase.FAILED, f"the lease was lost: now held by {self.lost}"))
            self._stop.set()
            return
        self._write_tags({**tags, LEASE_TAG: self._record().to_tag()}, exists=True)

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        if not self.wrote:
            return
        self.held = self.wrote = False
        tags = self._read_tags()
        current = LeaseRecord.from_tags(tags)
        if tags is not None and current is not None and current.holder == self.holder:
            self._write_tags({k: v for k, v in tags.items() if k != LEASE_TAG}, exists=True)
        self.progress(Event(SCOPE, "lease", Phase.DONE, f"lease {self.holder} released"))

    def _renew_until_stopped(self) -> None:
        while not self._stop.wait(self.duration / 3):
            try:
                self.renew()
            except Exception as error:  # a renewer that died silently would let the lease lapse mid-apply
                # Not fatal by itself: the lease stays ours until it expires; the next renewal tries again.
                self.progress(Event(SCOPE, "lease", Phase.RETRY, f"renewing the lease failed: {error}"))

    def __enter__(self) -> Lease:
        try:
            self.acquire()
        except BaseException:
            # Ctrl-C or a failure while settling: a lease written but not yet confirmed is ours to remove.
            self.__exit__(None, None, None)
            raise
        if self.held:
            self._renewer = threading.Thread(target=self._renew_until_stopped, name="pgflex-lease", daemon=True)
            self._renewer.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        try:
            self.release()
        except (PgflexError, KeyboardInterrupt) as failure:
            # Never hide the error that ended the work; an unreleased lease expires by itself.
            self.progress(Event(SCOPE, "lease", Phase.FAILED, f"releasing the lease failed ({failure}); it expires"))
