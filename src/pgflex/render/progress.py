"""Progress of long work: a live table per server on a terminal, plain log lines otherwise."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TextIO

from rich.console import Console
from rich.live import Live
from rich.table import Table

from pgflex.engine.apply import Event, Phase, Progress
from pgflex.engine.rollout import ROLLOUT_SCOPE, parse_label

STYLES = {
    Phase.STARTED: "cyan",
    Phase.DONE: "green",
    Phase.RETRY: "yellow",
    Phase.FAILED: "bold red",
    Phase.NOTE: "magenta",
}


@dataclass
class _Row:
    operation: str = ""
    phase: Phase = Phase.STARTED
    detail: str = ""
    done: int = 0
    started: float = field(default_factory=time.monotonic)


class LiveView:
    """Collects events from worker threads and redraws one row per server."""

    def __init__(self) -> None:
        self._rows: dict[str, _Row] = {}
        self._waves: dict[str, str] = {}  # server -> "2/3", in a rollout (--canary, --wave-size)
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self._lock:
            if event.scope == ROLLOUT_SCOPE and (wave := parse_label(event.operation)):
                self._waves.update(dict.fromkeys(wave[1], wave[0]))
            row = self._rows.setdefault(event.scope, _Row())
            row.operation, row.phase, row.detail = event.operation, event.phase, event.detail
            if event.phase is Phase.DONE:
                row.done += 1

    def table(self) -> Table:
        table = Table("scope", "operation", "status", "steps", "elapsed", expand=False)
        with self._lock:
            # The rollout's row first: which wave runs, and whether the last one verified, is what a person watches.
            rows = sorted(self._rows.items(), key=lambda item: item[0] != ROLLOUT_SCOPE)
            for scope, row in rows:
                status = row.phase.value + (f": {row.detail}" if row.detail else "")
                elapsed = f"{time.monotonic() - row.started:5.1f}s"
                name = f"{scope} (wave {self._waves[scope]})" if scope in self._waves else scope
                table.add_row(name, row.operation, f"[{STYLES[row.phase]}]{status}[/]", str(row.done), elapsed)
        return table


def log_lines(stream: TextIO) -> Progress:
    lock = threading.Lock()

    def emit(event: Event) -> None:
        detail = f" ({event.detail})" if event.detail else ""
        with lock:
            stream.write(f"{time.strftime('%H:%M:%S')} {event.scope}: {event.operation}: {event.phase.value}{detail}\n")
            stream.flush()

    return emit


@contextmanager
def progress_display(console: Console, *, interactive: bool) -> Iterator[Progress]:
    """A live view on a terminal; log lines (to stderr) in pipelines.

    ``interactive`` is the caller's judgement of whether a person watches a terminal: rich's own (``is_terminal``)
    follows FORCE_COLOR, which would redraw the table dozens of times into a CI log.
    """
    if not interactive:
        yield log_lines(sys.stderr)
        return
    view = LiveView()
    with Live(view.table(), console=console, refresh_per_second=8, transient=False) as live:
        stop = threading.Event()

        def refresh() -> None:
            while not stop.wait(0.125):
                live.update(view.table())

        painter = threading.Thread(target=refresh, daemon=True)
        painter.start()
        try:
            yield view
        finally:
            stop.set()
            painter.join()
            live.update(view.table())
