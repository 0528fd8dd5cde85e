"""Long-running operations: recorded durably when accepted, completed by an asyncio task.

An operation is stored in the same transaction as the resource change that started it, so
after a crash every acknowledged operation is found again and run to its end: ``resume()``
reschedules whatever was InProgress. Completion handlers must therefore be idempotent.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ..errors import ArmError, InternalServerError
from ..store import Operation, Store
from .ids import now_iso

log = logging.getLogger("pgflex.emulator.operations")

Completion = Callable[[Operation], Awaitable[None]]
Rollback = Callable[[Operation, ArmError], None]


@dataclass(frozen=True)
class OperationKind:
    complete: Completion
    rollback: Rollback


class OperationRunner:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._kinds: dict[str, OperationKind] = {}
        self._pending: list[Operation] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def register(self, kind: str, complete: Completion, rollback: Rollback) -> None:
        self._kinds[kind] = OperationKind(complete, rollback)

    def begin(self, resource_key: str, kind: str, payload: dict[str, object], duration: float) -> Operation:
        """Record a new operation (inside the caller's transaction); it starts after ``flush()``."""
        if kind not in self._kinds:
            raise KeyError(kind)
        op = Operation(
            id=str(uuid.uuid4()),
            resource_key=resource_key.lower(),
            kind=kind,
            status="InProgress",
            start_time=now_iso(),
            due=time.time() + duration,
            payload=payload,
        )
        self._store.put_operation(op)
        self._pending.append(op)
        return op

    def flush(self) -> None:
        """Start the operations recorded since the last flush; call after their transaction commits."""
        pending, self._pending = self._pending, []
        for op in pending:
            self._spawn(op)

    def discard_pending(self) -> None:
        """Forget operations whose transaction rolled back."""
        self._pending.clear()

    def resume(self) -> int:
        """Reschedule every operation that was in flight when the emulator last stopped."""
        in_flight = self._store.operations_in_flight()
        for op in in_flight:
            self._spawn(op)
        return len(in_flight)

    async def drain(self) -> None:
        """Wait for all running operations (used at shutdown and by tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def cancel_all(self) -> None:
        for task in self._tasks:
            task.cancel()

    @property
    def running(self) -> int:
        return len(self._tasks)

    def _spawn(self, op: Operation) -> None:
        task = asyncio.get_running_loop().create_task(self._run(op), name=f"operation {op.kind} {op.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, op: Operation) -> None:
        kind = self._kinds[op.kind]
        delay = op.due - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            if op.payload.get("injectFailure"):
                raise InternalServerError("The operation failed (fault injected by the emulator).")
            await kind.complete(op)
        except ArmError as error:
            self._finish(op, kind, error)
        except asyncio.CancelledError:
            raise  # shutdown: the operation stays InProgress and is resumed at the next start
        except Exception as error:
            log.exception("operation %s %s failed", op.kind, op.id)
            self._finish(op, kind, InternalServerError(f"The operation failed: {error}"))
        else:
            self._finish(op, kind, None)

    def _finish(self, op: Operation, kind: OperationKind, error: ArmError | None) -> None:
        with self._store.transaction():
            if error is not None:
                kind.rollback(op, error)
                op.status = "Failed"
                op.error = {"code": error.code, "message": error.message}
            else:
                op.status = "Succeeded"
            op.end_time = now_iso()
            # Secrets in a payload are needed only until completion.
            op.payload.pop("secret", None)
            self._store.put_operation(op)
