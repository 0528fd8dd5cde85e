"""Subresources of a flexible server written as long-running operations: ``.../{server}/{segment}/{name}``.

The service runs each write of a subresource (a database, a Microsoft Entra administrator, ...) as an operation
that holds the server: 202 with polling headers, 409 while the server is busy with another write, the data plane
following the change before the operation succeeds; a failed operation leaves the subresource as it was.
A family says what its resources may be (``resource``), what the data plane does with them (``apply``) and,
optionally, what it refuses to delete or when the server cannot take a write; the rest is here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, ClassVar

from ..errors import ArmError, InvalidParameterValue, NotFound
from ..store import Operation, Record
from .context import Accepted, Context, ServerRuntime, require_object
from .ids import SERVER_TYPE, child_id
from .servers import Servers


class ServerChildren:
    segment: ClassVar[str]  # the path segment, e.g. "databases"
    resource_type: ClassVar[str]  # e.g. Microsoft.DBforPostgreSQL/flexibleServers/databases
    names_are_case_sensitive: ClassVar[bool] = False  # ARM ids are not; a database's name is

    def __init__(self, ctx: Context, servers: Servers) -> None:
        self._ctx = ctx
        self._servers = servers
        ctx.runner.register(self._kind("put"), self._complete, self._rollback)
        ctx.runner.register(self._kind("delete"), self._complete, self._rollback)

    # What a family defines

    def resource(self, server: Record, name: str, body: dict[str, Any], existing: Record | None) -> dict[str, Any]:
        """The stored body of the resource a PUT asks for (with id, name, type), or the service's error."""
        raise NotImplementedError

    def apply(
        self, runtime: ServerRuntime, server: Record, name: str, resource: dict[str, Any] | None
    ) -> Callable[[], None]:
        """What the data plane does now that resource ``name`` of ``server`` is ``resource`` (None: deleted).
        Returned as a call for a worker thread; the store is read here, on the event loop."""
        raise NotImplementedError

    def check_deletable(self, server: Record, existing: Record) -> None:
        """Raise to refuse deleting ``existing``."""

    def check_writable(self, server: Record) -> None:
        """Raise to refuse any write while ``server`` is as it is (the server's busy rule applies anyway)."""

    # Reads

    def get(self, subscription: str, resource_group: str, server: str, name: str) -> dict[str, Any]:
        record = self._servers.require(subscription, resource_group, server)
        found = self._find(record, name)
        if found is None:
            raise NotFound(
                f"The Resource '{SERVER_TYPE}/{server}/{self.segment}/{name}' under resource group "
                f"'{resource_group}' was not found."
            )
        return found.body

    def list_all(self, subscription: str, resource_group: str, server: str) -> list[dict[str, Any]]:
        record = self._servers.require(subscription, resource_group, server)
        return [r.body for r in self.children(record)]

    def children(self, server: Record) -> list[Record]:
        return self._ctx.store.children(server.id, self.resource_type)

    # Writes

    def create_or_update(self, subscription: str, resource_group: str, server: str, name: str, body: Any) -> Accepted:
        record = self._servers.require(subscription, resource_group, server)
        existing = self._ctx.store.get(child_id(record.id, self.segment, name))
        if existing is not None and self.names_are_case_sensitive and existing.body["name"] != name:
            raise InvalidParameterValue(
                f"'{existing.body['name']}' exists on server '{server}'; names differing only in case are not "
                "supported by the emulator (ARM ids ignore case)."
            )
        resource = self.resource(record, name, require_object(body, f"a {self.segment} resource"), existing)
        self.check_writable(record)
        accepted = self._servers.begin_child_write(
            record, self._kind("put"), {"child": resource["id"], "name": name, "previous": _saved(existing)}
        )
        self.store(record, resource)
        return accepted

    def delete(self, subscription: str, resource_group: str, server: str, name: str) -> Accepted | None:
        record = self._servers.require(subscription, resource_group, server)
        existing = self._find(record, name)
        if existing is None:
            return None
        self.check_deletable(record, existing)
        self.check_writable(record)
        accepted = self._servers.begin_child_write(
            record,
            self._kind("delete"),
            {"child": existing.id, "name": existing.body["name"], "previous": _saved(existing)},
        )
        self._ctx.store.delete(existing.id)
        return accepted

    def store(self, server: Record, body: dict[str, Any], private: dict[str, Any] | None = None) -> None:
        record = Record(
            body["id"], self.resource_type, server.subscription, server.resource_group, server.id, body, private or {}
        )
        self._ctx.store.put(record)

    # Internals

    def _kind(self, verb: str) -> str:
        return f"{self.segment}.{verb}"

    def _find(self, server: Record, name: str) -> Record | None:
        found = self._ctx.store.get(child_id(server.id, self.segment, name))
        if found is None or (self.names_are_case_sensitive and found.body["name"] != name):
            return None
        return found

    async def _complete(self, op: Operation) -> None:
        server = self._ctx.store.get(op.resource_key)
        if server is None:
            return
        runtime = self._ctx.runtime
        if self._servers.has_data_plane(server) and runtime is not None:
            current = self._ctx.store.get(op.payload["child"])
            await _in_worker(self.apply(runtime, server, op.payload["name"], current.body if current else None))
        self._servers.release(op)

    def _rollback(self, op: Operation, error: ArmError) -> None:
        server = self._ctx.store.get(op.resource_key)
        if server is None:
            return
        previous = op.payload.get("previous")
        if previous is None:
            self._ctx.store.delete(op.payload["child"])
        else:
            self.store(server, previous["body"], previous["private"])
        self._servers.release(op, state=op.payload["previousState"])


def _saved(record: Record | None) -> dict[str, Any] | None:
    return None if record is None else {"body": record.body, "private": record.private}


async def _in_worker(work: Callable[[], None]) -> None:
    try:
        await asyncio.to_thread(work)
    except ValueError as refused:  # the data plane cannot do it as asked: the client's error, said as such
        raise InvalidParameterValue(str(refused)) from None
