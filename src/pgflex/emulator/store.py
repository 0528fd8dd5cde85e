"""Durable state: ARM resources, long-running operations and Key Vault secrets in one SQLite file.

Every request's changes are written in one transaction before the response leaves, with
``synchronous=FULL``: an emulator killed at any moment restarts with exactly the resources
and operations it acknowledged.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    key TEXT PRIMARY KEY,            -- the ARM id, lower case: ARM ids are case-insensitive
    type TEXT NOT NULL,              -- lower case, e.g. microsoft.dbforpostgresql/flexibleservers
    subscription TEXT NOT NULL,
    resource_group TEXT NOT NULL,    -- '' for subscription-level resources
    parent TEXT NOT NULL,            -- key of the parent resource, '' at the top
    name TEXT NOT NULL,              -- last segment of the key (server names are global)
    body TEXT NOT NULL,              -- the resource as ARM returns it (JSON)
    private TEXT NOT NULL DEFAULT '{}',  -- emulator-only facts about it (JSON), never returned
    seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS resources_by_scope ON resources (type, subscription, resource_group, seq);
CREATE INDEX IF NOT EXISTS resources_by_parent ON resources (parent, type, seq);
CREATE INDEX IF NOT EXISTS resources_by_name ON resources (type, name);
CREATE TABLE IF NOT EXISTS operations (
    id TEXT PRIMARY KEY,
    resource_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,            -- InProgress | Succeeded | Failed | Canceled
    start_time TEXT NOT NULL,
    end_time TEXT,
    due REAL NOT NULL,               -- wall-clock time at which it completes
    payload TEXT NOT NULL,           -- what completing it needs (JSON)
    error TEXT                       -- {"code", "message"} when Failed
);
CREATE INDEX IF NOT EXISTS operations_in_flight ON operations (status);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- Key Vault secret versions. Storing the value is the point of a vault; nothing else ever shows it.
CREATE TABLE IF NOT EXISTS secrets (
    vault TEXT NOT NULL,             -- lower case: vault and secret names are case-insensitive
    name TEXT NOT NULL,              -- lower case
    version TEXT NOT NULL,
    body TEXT NOT NULL,              -- the SecretBundle as Key Vault returns it (JSON)
    seq INTEGER NOT NULL,            -- the latest version is the highest
    PRIMARY KEY (vault, name, version)
);
"""


@dataclass
class Record:
    """One stored resource."""

    id: str
    type: str
    subscription: str
    resource_group: str
    parent: str
    body: dict[str, Any]
    private: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.id.lower()


@dataclass
class Operation:
    """One long-running operation, as the status endpoint reports it."""

    id: str
    resource_key: str
    kind: str
    status: str
    start_time: str
    due: float
    payload: dict[str, Any]
    end_time: str | None = None
    error: dict[str, str] | None = None


class Store:
    """SQLite-backed resource and operation store. One connection, guarded by a lock."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # 0600 before SQLite writes a byte; it gives the -wal and -shm files the database file's mode.
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600))
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        self._depth = 0
        self._seq = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM resources").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together or not at all; nesting joins the outer one."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")
            finally:
                self._depth = 0

    # Resources

    def get(self, resource_id: str) -> Record | None:
        with self._lock:
            row = self._db.execute(
                "SELECT key, type, subscription, resource_group, parent, body, private FROM resources WHERE key = ?",
                (resource_id.lower(),),
            ).fetchone()
        return _record(row) if row else None

    def put(self, record: Record) -> None:
        with self._lock, self.transaction():
            existing = self._db.execute("SELECT seq FROM resources WHERE key = ?", (record.key,)).fetchone()
            if existing:
                seq = existing[0]
            else:
                self._seq += 1
                seq = self._seq
            self._db.execute(
                "INSERT OR REPLACE INTO resources "
                "(key, type, subscription, resource_group, parent, name, body, private, seq) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.key,
                    record.type.lower(),
                    record.subscription.lower(),
                    record.resource_group.lower(),
                    record.parent.lower(),
                    record.key.rsplit("/", 1)[-1],
                    json.dumps(record.body, separators=(",", ":")),
                    json.dumps(record.private, separators=(",", ":")),
                    seq,
                ),
            )

    def delete(self, resource_id: str) -> None:
        """Delete a resource and everything beneath it."""
        key = resource_id.lower()
        with self._lock, self.transaction():
            self._db.execute(
                "DELETE FROM resources WHERE key = ? OR key LIKE ? ESCAPE '\\'",
                (key, _like_prefix(key + "/")),
            )

    def children(self, parent_id: str, resource_type: str) -> list[Record]:
        return self._select("parent = ? AND type = ?", (parent_id.lower(), resource_type.lower()))

    def in_scope(self, resource_type: str, subscription: str, resource_group: str | None = None) -> list[Record]:
        if resource_group is None:
            return self._select("type = ? AND subscription = ?", (resource_type.lower(), subscription.lower()))
        return self._select(
            "type = ? AND subscription = ? AND resource_group = ?",
            (resource_type.lower(), subscription.lower(), resource_group.lower()),
        )

    def named(self, resource_type: str, name: str) -> list[Record]:
        return self._select("type = ? AND name = ?", (resource_type.lower(), name.lower()))

    def of_type(self, resource_type: str) -> list[Record]:
        return self._select("type = ?", (resource_type.lower(),))

    def count(self, resource_type: str) -> int:
        with self._lock:
            return int(
                self._db.execute("SELECT COUNT(*) FROM resources WHERE type = ?", (resource_type.lower(),)).fetchone()[
                    0
                ]
            )

    def _select(self, where: str, args: tuple[str, ...]) -> list[Record]:
        with self._lock:
            query = f"SELECT key, type, subscription, resource_group, parent, body, private FROM resources WHERE {where} ORDER BY seq"  # noqa: S608, E501 - fixed clauses, values bound
            rows = self._db.execute(
                query,
                args,
            ).fetchall()
        return [_record(row) for row in rows]

    # Operations

    def put_operation(self, op: Operation) -> None:
        with self._lock, self.transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO operations "
                "(id, resource_key, kind, status, start_time, end_time, due, payload, error) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    op.id,
                    op.resource_key,
                    op.kind,
                    op.status,
                    op.start_time,
                    op.end_time,
                    op.due,
                    json.dumps(op.payload, separators=(",", ":")),
                    json.dumps(op.error) if op.error else None,
                ),
            )

    def get_operation(self, operation_id: str) -> Operation | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, resource_key, kind, status, start_time, end_time, due, payload, error "
                "FROM operations WHERE id = ?",
                (operation_id,),
            ).fetchone()
        return _operation(row) if row else None

    def operations_in_flight(self) -> list[Operation]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, resource_key, kind, status, start_time, end_time, due, payload, error "
                "FROM operations WHERE status = 'InProgress' ORDER BY due"
            ).fetchall()
        return [_operation(row) for row in rows]

    # Key Vault secrets

    def put_secret(self, vault: str, name: str, version: str, body: dict[str, Any]) -> None:
        with self._lock, self.transaction():
            self._db.execute(
                "INSERT INTO secrets (vault, name, version, body, seq) "
                "VALUES (?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM secrets))",
                (vault.lower(), name.lower(), version, json.dumps(body, separators=(",", ":"))),
            )

    def get_secret(self, vault: str, name: str, version: str | None = None) -> dict[str, Any] | None:
        """One version of a secret; the latest when ``version`` is None."""
        query = "SELECT body FROM secrets WHERE vault = ? AND name = ?"
        args: tuple[str, ...] = (vault.lower(), name.lower())
        if version is not None:
            query, args = query + " AND version = ?", (*args, version.lower())
        with self._lock:
            row = self._db.execute(query + " ORDER BY seq DESC LIMIT 1", args).fetchone()
        return dict(json.loads(row[0])) if row else None

    def delete_secret(self, vault: str, name: str) -> None:
        """Every version of a secret."""
        with self._lock, self.transaction():
            self._db.execute("DELETE FROM secrets WHERE vault = ? AND name = ?", (vault.lower(), name.lower()))

    # Metadata

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._lock, self.transaction():
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def _record(row: tuple[Any, ...]) -> Record:
    body = json.loads(row[5])
    return Record(
        id=body.get("id", row[0]),
        type=row[1],
        subscription=row[2],
        resource_group=row[3],
        parent=row[4],
        body=body,
        private=json.loads(row[6]),
    )


def _operation(row: tuple[Any, ...]) -> Operation:
    return Operation(
        id=row[0],
        resource_key=row[1],
        kind=row[2],
        status=row[3],
        start_time=row[4],
        end_time=row[5],
        due=row[6],
        payload=json.loads(row[7]),
        error=json.loads(row[8]) if row[8] else None,
    )
