"""Servers heal, as the service's do: a PostgreSQL that died (killed, crashed) is noticed and started again.

Every ``WATCHDOG_INTERVAL_S`` seconds the watchdog looks at each server that should run (see
``ServerRecord.running``). One found without a live postmaster at two checks in a row is started again, so a
dead server stays down for one to two intervals (2 to 4 s): long enough for ``pgflex emulator status`` to show
it down, short enough that clients barely notice. A start that fails is tried again after a growing pause
(2 intervals, then 4, 8 ... up to ``MAX_BACKOFF_CHECKS``), never more often. A server whose last start,
asked for by an operation, failed is left alone: that operation failed, and the next change, start or restart
brings it back (or says again why it cannot).

The checks read files only (server.json, postmaster.pid and /proc), never a lock; the start itself takes the
server's lock, so it never overlaps an operation on the same server.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

log = logging.getLogger(__name__)

WATCHDOG_INTERVAL_S = 2.0
MAX_BACKOFF_CHECKS = 32  # about a minute between attempts at most


@dataclass
class _Down:
    """A server seen dead: how many checks in a row, and how many to wait before the next attempt."""

    sightings: int = 0
    failures: int = 0
    wait: int = 0


class Watchdog:
    """A daemon thread that calls ``heal(name)`` for servers ``is_dead(name)`` says died."""

    def __init__(
        self,
        names: Callable[[], Iterable[str]],
        is_dead: Callable[[str], bool],
        heal: Callable[[str], None],
        interval: float = WATCHDOG_INTERVAL_S,
    ) -> None:
        self._names = names
        self._is_dead = is_dead
        self._heal = heal
        self.interval = interval
        self._down: dict[str, _Down] = {}
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pgflex-dataplane-watchdog", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stopped.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            try:
                self.check()
            except Exception:  # the watchdog must outlive any one bad check
                log.exception("watchdog check failed")

    def check(self) -> None:
        """One round: every server that should run and does not is counted, and healed at its second sighting."""
        names = set(self._names())
        dead = {name for name in names if self._is_dead(name)}
        for name in set(self._down) - dead:
            del self._down[name]  # back (or gone, or no longer meant to run)
        for name in sorted(dead):
            if self._stopped.is_set():
                return
            down = self._down.setdefault(name, _Down())
            down.sightings += 1
            if down.sightings < 2:
                continue
            if down.wait > 0:
                down.wait -= 1
                continue
            self._try(name, down)

    def _try(self, name: str, down: _Down) -> None:
        try:
            self._heal(name)
        except Exception as failure:  # one line in the log; the server's own log says more
            down.failures += 1
            down.wait = min(2**down.failures, MAX_BACKOFF_CHECKS) - 1
            log.warning("server %s: PostgreSQL could not be started again: %s", name, failure)
        else:
            self._down.pop(name, None)


@dataclass(frozen=True)
class ServerHealth:
    """What ``status`` shows of a server's PostgreSQL, read from files without waiting on any lock."""

    # "running" (accepts connections), "starting", "stopping"; "down": should run and does not (it died, or its
    # last start failed); "stopped"
    state: str
    listening: bool  # False: no TCP address at all (public access disabled without a virtual network)

    def as_dict(self) -> dict[str, object]:
        return {"state": self.state, "listening": self.listening}
