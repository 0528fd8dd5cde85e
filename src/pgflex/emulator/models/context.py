"""What every resource family shares: the store, the operation runner, tuning and the data plane."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..dataplane import Database, EntraAdministrator, PrivateNetwork
from ..errors import InvalidRequest, ResourceGroupNotFound, SubscriptionNotFound
from ..settings import Tuning
from ..store import Operation, Record, Store
from .ids import resource_group_id, subscription_id
from .operations import OperationRunner


class Endpoint(Protocol):
    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def namespace(self) -> str | None: ...


class ServerRuntime(Protocol):
    """The data plane as the control plane sees it (implemented by ``dataplane.DataPlane``).

    Calls are blocking; the control plane runs them in worker threads, never two for one server.
    Calls that need SQL start a stopped server briefly. ``ValueError`` means the request cannot be carried
    out as asked (its message names why, fit for the client); ``DataPlaneError`` that PostgreSQL failed.

    ``provision`` with an empty ``admin_login`` (and password) creates no password administrator: an
    Entra-only server. What ``set_authentication``, ``set_entra_administrators`` and the databases set is
    kept with the server, so it survives restarts of the server and of the emulator.
    """

    def provision(
        self,
        name: str,
        fqdn: str,
        version: str,
        admin_login: str,
        admin_password: str,
        parameters: Mapping[str, str],
        network: PrivateNetwork | None = None,
    ) -> Endpoint: ...
    def start(self, name: str) -> Endpoint: ...
    def stop(self, name: str) -> None: ...
    def restart(self, name: str) -> None: ...
    def delete(self, name: str) -> None: ...
    def set_admin_password(self, name: str, login: str, password: str) -> None: ...
    def apply_parameters(self, name: str, parameters: Mapping[str, str]) -> None: ...
    def pending_restart(self, name: str) -> set[str]: ...
    def apply_firewall(self, name: str, rules: Sequence[tuple[str, str]], public_access: bool) -> None: ...
    def set_authentication(
        self, name: str, *, password_enabled: bool, entra_enabled: bool, tenant_id: str | None
    ) -> None: ...
    # The full set: each administrator gets a login role with the administrator's privileges; removed ones lose it.
    def set_entra_administrators(self, name: str, administrators: Sequence[EntraAdministrator]) -> None: ...
    # Idempotent. Azure's names (UTF8, en_US.utf8); ValueError when this machine lacks the locale.
    def create_database(self, name: str, database: str, *, charset: str, collation: str) -> None: ...
    # Idempotent; sessions connected to the database are ended.
    def drop_database(self, name: str, database: str) -> None: ...
    def list_databases(self, name: str) -> list[Database]: ...
    def endpoint(self, name: str) -> Endpoint | None: ...
    def version_used(self, name: str) -> str: ...
    # The folder the server's PostgreSQL writes its log files to (it may not exist yet).
    def log_folder(self, name: str) -> Path: ...
    # The running PostgreSQL's minor version, as Azure's minorVersion says it ("14" for 15.14).
    def minor_version(self, name: str) -> str: ...
    # For status reads, never waiting on a server: by name, {"state": "running" | "starting" | "stopping" |
    # "down" | "stopped", "listening": False without any TCP address}. "down": it should run and does not.
    def health_report(self) -> dict[str, dict[str, object]]: ...
    def binaries_info(self) -> str: ...
    def network_isolation(self) -> str: ...
    def shutdown_all(self) -> None: ...


@dataclass(frozen=True)
class Accepted:
    """A write accepted as a long-running operation: answered 202 with polling headers."""

    operation: Operation
    location: str  # the Azure region whose operation endpoints track it


@dataclass(frozen=True)
class Written:
    """A write completed at once: answered 200 (updated) or 201 (created) with the resource."""

    body: dict[str, Any]
    created: bool


@dataclass
class Context:
    store: Store
    runner: OperationRunner
    tuning: Tuning
    runtime: ServerRuntime | None

    def require_subscription(self, subscription: str) -> Record:
        record = self.store.get(subscription_id(subscription))
        if record is None:
            raise SubscriptionNotFound(subscription)
        return record

    def require_resource_group(self, subscription: str, resource_group: str) -> Record:
        self.require_subscription(subscription)
        record = self.store.get(resource_group_id(subscription, resource_group))
        if record is None:
            raise ResourceGroupNotFound(resource_group)
        return record


def require_object(body: Any, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidRequest(f"The request content for {what} must be a JSON object.")
    return body


def optional_object(body: dict[str, Any], key: str, what: str) -> dict[str, Any]:
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidRequest(f"'{key}' in {what} must be a JSON object.")
    return value
