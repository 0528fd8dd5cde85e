"""Subresources of a flexible server that clients only read here: its log files, automatic backups, read replicas
and virtual endpoints (az: server-logs list, backup list/show, replica list, virtual-endpoint list).

- Log files: the files of the server's log folder (the data plane's ``log_folder``); none for a server without a
  data plane. Each links to its file (a file: URL)
  where the service links to a storage download.
- Automatic backups: the service takes a full backup when a server is created and one a day after, and keeps
  those within the retention period (assumed: the service documents daily snapshots and the retention, not the
  listing). Named ``backup_<UTC time>``, as the service names them; they are computed from the server's creation
  time and retention, never stored.
- Read replicas and virtual endpoints: the emulator creates neither (createMode Replica is refused), so a
  server lists its replicas (servers whose source it is) and no virtual endpoint.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

from ..errors import NotFound
from ..store import Record
from .context import Context
from .ids import SERVER_TYPE, child_id
from .servers import Servers

LOG_FILE_TYPE = f"{SERVER_TYPE}/logFiles"
BACKUP_TYPE = f"{SERVER_TYPE}/backups"
VIRTUAL_ENDPOINT_TYPE = f"{SERVER_TYPE}/virtualEndpoints"
BACKUP_INTERVAL = dt.timedelta(days=1)


class ServerReads:
    def __init__(self, ctx: Context, servers: Servers) -> None:
        self._ctx = ctx
        self._servers = servers

    def log_files(self, subscription: str, resource_group: str, server: str) -> list[dict[str, Any]]:
        record = self._servers.require(subscription, resource_group, server)
        runtime = self._ctx.runtime
        if runtime is None or not self._servers.has_data_plane(record):
            return []
        return captured_logs(record.id, runtime.log_folder(record.body["name"]))

    def backups(self, subscription: str, resource_group: str, server: str) -> list[dict[str, Any]]:
        record = self._servers.require(subscription, resource_group, server)
        return automatic_backups(record.body, dt.datetime.now(dt.UTC))

    def backup(self, subscription: str, resource_group: str, server: str, name: str) -> dict[str, Any]:
        found = [b for b in self.backups(subscription, resource_group, server) if b["name"].lower() == name.lower()]
        if not found:
            raise NotFound(
                f"The Resource '{BACKUP_TYPE}/{server}/{name}' under resource group '{resource_group}' was not found."
            )
        return found[0]

    def replicas(self, subscription: str, resource_group: str, server: str) -> list[dict[str, Any]]:
        record = self._servers.require(subscription, resource_group, server)
        return [replica.body for replica in self._ctx.store.of_type(SERVER_TYPE) if _source_of(replica) == record.key]

    def virtual_endpoints(self, subscription: str, resource_group: str, server: str) -> list[dict[str, Any]]:
        self._servers.require(subscription, resource_group, server)
        return []

    def virtual_endpoint(self, subscription: str, resource_group: str, server: str, name: str) -> dict[str, Any]:
        self._servers.require(subscription, resource_group, server)
        raise NotFound(
            f"The Resource '{VIRTUAL_ENDPOINT_TYPE}/{server}/{name}' under resource group '{resource_group}' "
            "was not found."
        )


def captured_logs(server_id: str, folder: Path | None) -> list[dict[str, Any]]:
    """The files of ``folder`` as the service lists a server's log files, by name."""
    if folder is None or not folder.is_dir():
        return []
    listed = []
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        status = path.stat()
        listed.append(
            {
                "id": child_id(server_id, "logFiles", path.name),
                "name": path.name,
                "type": LOG_FILE_TYPE,
                "properties": {
                    "createdTime": _iso(dt.datetime.fromtimestamp(min(status.st_ctime, status.st_mtime), dt.UTC)),
                    "lastModifiedTime": _iso(dt.datetime.fromtimestamp(status.st_mtime, dt.UTC)),
                    "sizeInKb": math.ceil(status.st_size / 1024),
                    "type": "ServerLogs",
                    "url": path.as_uri(),
                },
            }
        )
    return listed


def automatic_backups(server: dict[str, Any], now: dt.datetime) -> list[dict[str, Any]]:
    """The full backups a server has at ``now``: at creation and every day since, within its retention."""
    if server["properties"]["state"] == "Provisioning":
        return []
    created = dt.datetime.fromisoformat(str(server["systemData"]["createdAt"]).replace("Z", "+00:00"))
    oldest = now - dt.timedelta(days=int(server["properties"]["backup"]["backupRetentionDays"]))
    taken = created.replace(microsecond=0)
    listed = []
    while taken <= now:
        if taken >= oldest:
            name = f"backup_{taken.strftime('%Y%m%dT%H%M%S')}"
            listed.append(
                {
                    "id": child_id(server["id"], "backups", name),
                    "name": name,
                    "type": BACKUP_TYPE,
                    "properties": {"backupType": "Full", "completedTime": _iso(taken), "source": "Automatic"},
                }
            )
        taken += BACKUP_INTERVAL
    return listed


def _source_of(server: Record) -> str:
    return str(server.body["properties"].get("sourceServerResourceId") or "").lower()


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
