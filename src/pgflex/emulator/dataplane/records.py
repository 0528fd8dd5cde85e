"""What the data plane keeps about each server: ``servers/<name>/server.json`` (never a password or token)."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pgflex.emulator.dataplane.config import write_atomically
from pgflex.emulator.dataplane.entra import PRINCIPAL_TYPES, EntraAdministrator, EntraSettings

SERVER_NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def is_server_name(name: str) -> bool:
    return SERVER_NAME_RE.match(name) is not None


@dataclass
class ServerRecord:
    """One server's settings as the data plane applies them; everything here survives emulator restarts."""

    name: str
    fqdn: str
    requested_version: str
    major: int
    port: int
    admin_login: str = ""  # empty: no password administrator (an Entra-only server)
    parameters: dict[str, str] = field(default_factory=dict)
    firewall: list[tuple[str, str]] = field(default_factory=list)
    public_access: bool = True
    provisioned: bool = False
    # Whether PostgreSQL should be running: set by start, restart and provision, cleared by stop. The watchdog
    # brings back a server that should run and does not, unless its last start failed (start_failed): that one
    # waits for the next change, start or restart, as the failed operation told its caller.
    running: bool = False
    start_failed: bool = False
    virtual_network: str = ""  # the resource id of a private server's virtual network ("" for public access)
    namespace: str = ""  # set for a private server placed in its virtual network's namespace
    private_address: str = ""
    password_auth: bool = True
    entra_auth: bool = False
    tenant_id: str = ""
    entra_administrators: list[EntraAdministrator] = field(default_factory=list)
    # Azure's names for the databases made through create_database: name -> {"charset", "collation"}.
    databases: dict[str, dict[str, str]] = field(default_factory=dict)

    def entra_settings(self) -> EntraSettings:
        return EntraSettings(self.entra_auth, self.tenant_id, tuple(self.entra_administrators))

    def entra_roles(self) -> list[str]:
        """The roles that log in by token now (none while Entra authentication is off)."""
        return [a.principal_name for a in self.entra_administrators] if self.entra_auth else []


class RecordStore:
    """``<root>/servers/<name>/server.json`` for every server of a data plane root."""

    def __init__(self, root: Path) -> None:
        self.servers = root / "servers"

    def server_dir(self, name: str) -> Path:
        if not is_server_name(name):
            raise ValueError(f"invalid server name {name!r}")
        return self.servers / name

    def load(self, name: str) -> ServerRecord | None:
        try:
            raw = json.loads((self.server_dir(name) / "server.json").read_text())
            return _record(raw)
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def save(self, record: ServerRecord) -> None:
        write_atomically(self.server_dir(record.name) / "server.json", json.dumps(asdict(record), indent=2))

    def all(self) -> list[ServerRecord]:
        if not self.servers.is_dir():
            return []  # the root was removed (reset) under a data plane still open on it
        folders = sorted(self.servers.iterdir())
        records = [self.load(folder.name) for folder in folders if is_server_name(folder.name)]
        return [record for record in records if record is not None]


def _record(raw: dict[str, Any]) -> ServerRecord:
    raw["firewall"] = [tuple(rule) for rule in raw.get("firewall", [])]
    administrators = [EntraAdministrator(**item) for item in raw.get("entra_administrators", [])]
    if any(a.principal_type not in PRINCIPAL_TYPES for a in administrators):
        raise ValueError("unknown principal type")
    raw["entra_administrators"] = administrators
    return ServerRecord(**raw)
