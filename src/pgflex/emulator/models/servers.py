"""Flexible servers: the state machine, the one-write-at-a-time rule, and the data plane following each change.

States: Provisioning -> Ready; Ready -> Updating | Restarting | Stopping | Dropping;
Stopping -> Stopped -> Starting -> Ready. A server busy with one operation answers every other
write with 409 ServerBusy, as the service does. The data plane (a real PostgreSQL) follows each
transition when the server has one. What a request may ask for is checked in server_rules (name,
version, compute, administrator), server_settings (storage, backup, zones, high availability,
maintenance window, authentication) and server_network (public or private access).
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from typing import Any

from ..dataplane import DataPlaneError
from ..errors import (
    ArmError,
    InvalidParameterValue,
    NotFound,
    ServerBusy,
    ServerIsNotReady,
    ServerNotStarted,
)
from ..settings import DEFAULT_TENANT
from ..store import Operation, Record
from .capabilities import require_location
from .context import Accepted, Context, optional_object, require_object
from .ids import CONFIGURATION_TYPE, FIREWALL_RULE_TYPE, SERVER_TYPE, now_iso, provider_id
from .network import Networks
from .parameters import running_parameters
from .privatedns import PrivateDns
from .server_names import ServerNames
from .server_network import ADDRESS, ServerNetworks
from .server_rules import (
    DNS_SUFFIX,
    administrator_change,
    first_administrator,
    require_server_name,
    sealed,
    show_login,
    sku,
    tags,
    version,
)
from .server_settings import Scope, fail_over, new_settings, updated_settings
from .values import canonical

CREATE = "server.create"
UPDATE = "server.update"
RESTART = "server.restart"
START = "server.start"
STOP = "server.stop"
DELETE = "server.delete"
# Assumed (the service documents no state for it): a server whose PostgreSQL failed to (re)start. Its next
# change, start or restart tries again; a read-only API state of the spec's enum, never Ready.
FAILED_START_STATE = "Inaccessible"
DATA_PLANE_FAILED = "dataPlaneFailed"  # operation payload: the data plane's start failed, not the operation
FAILOVER_MODES = ("PlannedFailover", "ForcedFailover", "PlannedSwitchover", "ForcedSwitchover")
# The API's create modes; the emulator creates servers from nothing only ("Default" is "Create"'s old name).
CREATE_MODES = ("Create", "Default", "GeoRestore", "PointInTimeRestore", "Replica", "ReviveDropped", "Update")

# Private facts kept beside the resource body.
BUSY = "busy"  # id of the operation holding the server
HAS_DATA_PLANE = "dataPlane"
PENDING_RESTART = "pendingRestart"  # static parameters changed since the last restart
ENDPOINT = "endpoint"  # [host, port, namespace] where its PostgreSQL listens, as the data plane last said
RUNNING_VERSION = "runningVersion"  # the PostgreSQL major version actually running
RUNNING_VALUES = "runningValues"  # parameter values at the last (re)start, for servers without a data plane
# The password administrator's login: kept while password authentication is off, when the service's GET
# leaves administratorLogin out (Terraform azurerm notes it), and shown again when it is turned back on.
ADMIN_LOGIN = "administratorLogin"

CreationHook = Callable[[Record], None]


class Servers:
    def __init__(self, ctx: Context, networks: Networks, dns: PrivateDns) -> None:
        self._ctx = ctx
        self.placement = ServerNetworks(ctx.store, networks, dns)
        self.names = ServerNames(ctx)
        self._creation_hooks: list[CreationHook] = []
        runner = ctx.runner
        runner.register(CREATE, self._complete_create, self._rollback_create)
        runner.register(UPDATE, self._complete_update, self._rollback_update)
        runner.register(RESTART, self._complete_restart, self._after_failed_start)
        runner.register(START, self._complete_start, self._after_failed_start)
        runner.register(STOP, self._complete_stop, self._restore_state)
        runner.register(DELETE, self._complete_delete, self._restore_state)

    def on_create(self, hook: CreationHook) -> None:
        """Run ``hook`` on every new server, in the request that creates it (e.g. to add the default databases)."""
        self._creation_hooks.append(hook)

    # Reads

    def require(self, subscription: str, resource_group: str, name: str) -> Record:
        self._ctx.require_resource_group(subscription, resource_group)
        record = self._ctx.store.get(provider_id(subscription, resource_group, SERVER_TYPE, name))
        if record is None:
            raise NotFound(
                f"The Resource '{SERVER_TYPE}/{name}' under resource group '{resource_group}' was not found.",
            )
        return record

    def get(self, subscription: str, resource_group: str, name: str) -> dict[str, Any]:
        return self.require(subscription, resource_group, name).body

    def list_all(self, subscription: str, resource_group: str | None) -> list[dict[str, Any]]:
        if resource_group is None:
            self._ctx.require_subscription(subscription)
        else:
            self._ctx.require_resource_group(subscription, resource_group)
        return [r.body for r in self._ctx.store.in_scope(SERVER_TYPE, subscription, resource_group)]

    def by_name(self, name: str) -> Record | None:
        """Server names are global (they are DNS names), so a name finds at most one server."""
        found = self._ctx.store.named(SERVER_TYPE, name)
        return found[0] if found else None

    # Writes

    def create_or_update(self, subscription: str, resource_group: str, name: str, body: Any) -> Accepted:
        group = self._ctx.require_resource_group(subscription, resource_group)
        payload = require_object(body, "a flexible server")
        server_id = provider_id(subscription, resource_group, SERVER_TYPE, name)
        existing = self._ctx.store.get(server_id)
        if existing is not None:
            return self._update(existing, payload)
        require_server_name(name)
        self.names.require_free(name)
        properties = optional_object(payload, "properties", "a flexible server")
        create_mode = canonical(properties.get("createMode") or "Create", CREATE_MODES, "createMode")
        if create_mode not in ("Create", "Default"):
            raise InvalidParameterValue.of(
                "createMode", f"createMode '{create_mode}' is not supported by the emulator."
            )
        location = require_location(str(payload.get("location") or group.body["location"]), "flexibleServers")
        compute = sku(payload.get("sku"))
        created_at = now_iso()
        settings = new_settings(
            properties, compute, Scope(subscription, location, self._tenant(subscription)), created_at
        )
        login, password = first_administrator(properties, settings["authConfig"])
        server_version = version(properties.get("version"))
        network, address = self.placement.new(name, optional_object(properties, "network", "properties"))
        resource = {
            "id": server_id,
            "name": name,
            "type": SERVER_TYPE,
            "location": location,
            "tags": tags(payload.get("tags")),
            "sku": compute,
            "systemData": {"createdAt": created_at},
            "properties": {
                **settings,
                "dataEncryption": {"type": "SystemManaged"},
                "fullyQualifiedDomainName": f"{name}.{DNS_SUFFIX}",
                "minorVersion": "0",
                "network": network,
                "replica": {"role": "Primary", "capacity": 5},
                "replicaCapacity": 5,
                "replicationRole": "Primary",
                "state": "Provisioning",
                "version": server_version,
            },
        }
        has_data_plane = self._ctx.tuning.data_plane and self._ctx.runtime is not None
        private = {HAS_DATA_PLANE: has_data_plane, PENDING_RESTART: [], ADDRESS: address, ADMIN_LOGIN: login}
        record = Record(server_id, SERVER_TYPE, subscription, resource_group, "", body=resource, private=private)
        show_login(record.body["properties"], record.private.get(ADMIN_LOGIN))
        # The password is needed once, by the data plane; it lives in the operation until it completes.
        secret = {"password": sealed(password)} if password else {}
        accepted = self._begin(record, CREATE, "Provisioning", {"secret": secret}, check_state=False)
        for hook in self._creation_hooks:
            hook(record)
        return accepted

    def update(self, subscription: str, resource_group: str, name: str, body: Any) -> Accepted:
        record = self.require(subscription, resource_group, name)
        return self._update(record, require_object(body, "a flexible server update"))

    def restart(self, subscription: str, resource_group: str, name: str, body: Any) -> Accepted:
        record = self.require(subscription, resource_group, name)
        self._require_started(record, "Ready", FAILED_START_STATE)
        options = body if isinstance(body, dict) else {}
        if options.get("restartWithFailover") is True:
            mode = options.get("failoverMode", FAILOVER_MODES[0])
            if mode not in FAILOVER_MODES:
                raise InvalidParameterValue(f"failoverMode must be one of {', '.join(FAILOVER_MODES)}, not '{mode}'.")
            if record.body["properties"]["highAvailability"]["mode"] == "Disabled":
                # Assumed: the service documents no code for a failover without a standby to fail over to.
                raise InvalidParameterValue(
                    f"A restart with failover needs high availability, and server '{name}' has none."
                )
        return self._begin(record, RESTART, "Restarting", {"options": options})

    def start(self, subscription: str, resource_group: str, name: str) -> Accepted:
        record = self.require(subscription, resource_group, name)
        if record.body["properties"]["state"] not in ("Stopped", "Ready", FAILED_START_STATE):
            raise ServerIsNotReady(name, record.body["properties"]["state"])
        return self._begin(record, START, "Starting", {}, check_state=False)

    def stop(self, subscription: str, resource_group: str, name: str) -> Accepted:
        record = self.require(subscription, resource_group, name)
        self._require_started(record, "Ready")
        return self._begin(record, STOP, "Stopping", {})

    def delete(self, subscription: str, resource_group: str, name: str) -> Accepted | None:
        self._ctx.require_resource_group(subscription, resource_group)
        record = self._ctx.store.get(provider_id(subscription, resource_group, SERVER_TYPE, name))
        if record is None:
            return None
        return self._begin(record, DELETE, "Dropping", {}, check_state=False)

    def begin_child_write(self, server: Record, kind: str, payload: dict[str, Any]) -> Accepted:
        """Start a write of a subresource (configuration, firewall rule, ...): it holds the server like any other."""
        if server.body["properties"]["state"] == "Stopped":
            raise ServerIsNotReady(server.body["name"], "Stopped")
        return self._begin(server, kind, "Updating", payload)

    def release(self, op: Operation, state: str = "Ready") -> Record | None:
        """End an operation's hold on its server and set the server's state."""
        record = self._ctx.store.get(op.resource_key)
        if record is None:
            return None
        if record.private.get(BUSY) == op.id:
            record.private[BUSY] = None
        record.body["properties"]["state"] = state
        self._ctx.store.put(record)
        return record

    def is_busy(self, record: Record) -> bool:
        return bool(record.private.get(BUSY))

    def has_data_plane(self, record: Record) -> bool:
        return bool(record.private.get(HAS_DATA_PLANE)) and self._ctx.runtime is not None

    def administrator_login(self, record: Record) -> str:
        """The password administrator's login ('' for a server created for Microsoft Entra logins only)."""
        return str(record.private.get(ADMIN_LOGIN) or record.body["properties"].get("administratorLogin") or "")

    def firewall_ranges(self, record: Record) -> list[tuple[str, str]]:
        return [
            (r.body["properties"]["startIpAddress"], r.body["properties"]["endIpAddress"])
            for r in self._ctx.store.children(record.id, FIREWALL_RULE_TYPE)
        ]

    def user_parameters(self, record: Record) -> dict[str, str]:
        return {r.body["name"]: r.body["value"] for r in self._ctx.store.children(record.id, CONFIGURATION_TYPE)}

    def is_public(self, record: Record) -> bool:
        return bool(record.body["properties"]["network"].get("publicNetworkAccess") == "Enabled")

    def zone_for(self, record: Record) -> Record | None:
        return self.placement.zone_for(record)

    async def delete_contents(self, group: Record) -> None:
        """Tear down the data plane of every server in a resource group that is being deleted."""
        for server in self._ctx.store.in_scope(SERVER_TYPE, group.subscription, group.resource_group):
            await self._drop(server)

    async def restart_data_planes(self) -> None:
        """After an emulator restart, bring back every server that was running."""
        runtime = self._ctx.runtime
        if runtime is None:
            return
        for server in self._ctx.store.of_type(SERVER_TYPE):
            if self.has_data_plane(server) and server.body["properties"]["state"] in ("Ready", "Updating"):
                await asyncio.to_thread(runtime.start, server.body["name"])
                await self._remember_endpoint(server.body["name"])

    # Internals

    def _tenant(self, subscription: str) -> str:
        return str(self._ctx.require_subscription(subscription).body.get("tenantId") or DEFAULT_TENANT)

    def _begin(
        self, record: Record, kind: str, state: str, payload: dict[str, Any], *, check_state: bool = True
    ) -> Accepted:
        name = record.body["name"]
        if record.private.get(BUSY):
            raise ServerBusy(name)
        if check_state and record.body["properties"]["state"] not in ("Ready", FAILED_START_STATE):
            raise ServerIsNotReady(name, record.body["properties"]["state"])
        payload = {**payload, "previousState": record.body["properties"]["state"]}
        if self._ctx.tuning.chance(self._ctx.tuning.rate_operation_failed):
            payload["injectFailure"] = True
        duration = self._ctx.tuning.operation_seconds
        op = self._ctx.runner.begin(record.key, kind, payload, duration)
        record.private[BUSY] = op.id
        record.body["properties"]["state"] = state
        self._ctx.store.put(record)
        return Accepted(op, record.body["location"])

    def _require_started(self, record: Record, *states: str) -> None:
        """A restart or stop needs a started server: one busy with a write (Updating, ...) is not, and the service
        says ServerIsNotReady rather than ServerBusy (FACTS: restart or stop while Updating)."""
        current = record.body["properties"]["state"]
        if current not in states:
            raise ServerNotStarted(record.body["name"], current)
        if record.private.get(BUSY):
            raise ServerBusy(record.body["name"])

    def _update(self, record: Record, payload: dict[str, Any]) -> Accepted:
        """PUT on an existing server and PATCH both merge: omitted properties keep their values, as the service does.
        Everything is checked before anything changes."""
        if record.private.get(BUSY):
            raise ServerBusy(record.body["name"])
        body = record.body
        current = body["properties"]
        properties = optional_object(payload, "properties", "a flexible server")
        requested_version = properties.get("version")
        if requested_version is not None and str(requested_version) != current["version"]:
            raise InvalidParameterValue("Changing the major version needs an in-place upgrade (not emulated).")
        compute = sku(payload["sku"]) if "sku" in payload else body["sku"]
        scope = Scope(record.subscription, body["location"], self._tenant(record.subscription))
        settings = updated_settings(current, properties, compute, scope)
        network = self.placement.updated(current["network"], properties["network"]) if "network" in properties else None
        new_tags = tags(payload["tags"]) if "tags" in payload else None
        auth = settings.get("authConfig", current["authConfig"])
        login, secret = administrator_change(self.administrator_login(record), properties, auth)
        before = {"body": copy.deepcopy(body), "login": record.private.get(ADMIN_LOGIN)}
        body["sku"] = compute
        if new_tags is not None:
            body["tags"] = new_tags
        current.update(settings)
        if network is not None:
            current["network"] = network
        record.private[ADMIN_LOGIN] = login
        show_login(record.body["properties"], record.private.get(ADMIN_LOGIN))
        return self._begin(record, UPDATE, "Updating", {"before": before, "secret": secret})

    # Completions (idempotent: a crash may run them twice)

    async def _complete_create(self, op: Operation) -> None:
        record = self._ctx.store.get(op.resource_key)
        if record is None:
            return
        name = record.body["name"]
        runtime = self._ctx.runtime
        if self.has_data_plane(record) and runtime is not None:
            password = op.payload.get("secret", {}).get("password", "")
            endpoint = await asyncio.to_thread(
                runtime.provision,
                name,
                record.body["properties"]["fullyQualifiedDomainName"],
                record.body["properties"]["version"],
                self.administrator_login(record),
                password,
                running_parameters(record, self.user_parameters(record)),
                self.placement.private_network(record),
            )
            await self._apply_access(record)
            record.private[ENDPOINT] = [endpoint.host, endpoint.port, endpoint.namespace]
            record.private[RUNNING_VERSION] = await asyncio.to_thread(runtime.version_used, name)
            record.body["properties"]["minorVersion"] = await asyncio.to_thread(runtime.minor_version, name)
        self.placement.publish(record)
        record.private[BUSY] = None
        record.body["properties"]["state"] = "Ready"
        self._ctx.store.put(record)

    async def _apply_access(self, record: Record) -> None:
        """Who may connect, and how: the authentication methods and the firewall, as the server's body says."""
        runtime = self._ctx.runtime
        assert runtime is not None
        name = record.body["name"]
        auth = record.body["properties"]["authConfig"]
        await asyncio.to_thread(
            runtime.set_authentication,
            name,
            password_enabled=auth["passwordAuth"] == "Enabled",
            entra_enabled=auth["activeDirectoryAuth"] == "Enabled",
            tenant_id=auth.get("tenantId"),
        )
        await asyncio.to_thread(runtime.apply_firewall, name, self.firewall_ranges(record), self.is_public(record))

    def _rollback_create(self, op: Operation, error: ArmError) -> None:
        record = self._ctx.store.get(op.resource_key)
        if record is None:
            return
        # A failed create leaves nothing behind, as on Azure. Removing the cluster takes seconds: a worker
        # thread does it, so the event loop keeps serving (delete is idempotent, a crash just leaves files).
        if self.has_data_plane(record) and self._ctx.runtime is not None:
            asyncio.get_running_loop().run_in_executor(None, self._ctx.runtime.delete, record.body["name"])
        self._ctx.store.delete(record.id)

    async def _complete_update(self, op: Operation) -> None:
        record = self._ctx.store.get(op.resource_key)
        if record is None:
            return
        password = op.payload.get("secret", {}).get("password")
        runtime = self._ctx.runtime
        if self.has_data_plane(record) and runtime is not None:
            if password:  # first, so that turning password authentication on finds its administrator
                await asyncio.to_thread(
                    runtime.set_admin_password, record.body["name"], self.administrator_login(record), password
                )
            await self._apply_access(record)
        self.release(op)

    def _rollback_update(self, op: Operation, error: ArmError) -> None:
        record = self._ctx.store.get(op.resource_key)
        if record is None:
            return
        before = op.payload["before"]
        record.body = before["body"]
        record.private[ADMIN_LOGIN] = before["login"]
        self._ctx.store.put(record)
        self.release(op, state=op.payload["previousState"])

    async def _complete_restart(self, op: Operation) -> None:
        record = self._ctx.store.get(op.resource_key)
        if record is None:
            return
        runtime = self._ctx.runtime
        if self.has_data_plane(record) and runtime is not None:
            await self._start_data_plane(op, runtime.restart, record.body["name"])
            await self._remember_endpoint(record.body["name"])
        if op.payload["options"].get("restartWithFailover") is True:
            fail_over(record.body["properties"])
            self._ctx.store.put(record)
        self._mark_restarted(self.release(op))

    @staticmethod
    async def _start_data_plane(op: Operation, start: Callable[[str], object], name: str) -> None:
        try:
            await asyncio.to_thread(start, name)
        except DataPlaneError:
            op.payload[DATA_PLANE_FAILED] = True
            raise

    async def _remember_endpoint(self, name: str) -> None:
        """Keep where the server listens in the store, so reads never wait on the data plane."""
        runtime = self._ctx.runtime
        assert runtime is not None
        endpoint = await asyncio.to_thread(runtime.endpoint, name)
        record = self.by_name(name)
        if record is not None and endpoint is not None:
            record.private[ENDPOINT] = [endpoint.host, endpoint.port, endpoint.namespace]
            self._ctx.store.put(record)

    def _mark_restarted(self, record: Record | None) -> None:
        if record is None:
            return
        record.private[PENDING_RESTART] = []
        record.private[RUNNING_VALUES] = self.user_parameters(record)
        self._ctx.store.put(record)

    async def _complete_start(self, op: Operation) -> None:
        record = self._ctx.store.get(op.resource_key)
        if record is None:
            return
        runtime = self._ctx.runtime
        if self.has_data_plane(record) and runtime is not None:
            await self._start_data_plane(op, runtime.start, record.body["name"])
            await self._remember_endpoint(record.body["name"])
        self._mark_restarted(self.release(op))  # a start is a restart of the process

    async def _complete_stop(self, op: Operation) -> None:
        record = self._ctx.store.get(op.resource_key)
        if record is None:
            return
        runtime = self._ctx.runtime
        if self.has_data_plane(record) and runtime is not None:
            await asyncio.to_thread(runtime.stop, record.body["name"])
        self.release(op, state="Stopped")

    async def _complete_delete(self, op: Operation) -> None:
        record = self._ctx.store.get(op.resource_key)
        if record is not None:
            await self._drop(record)

    async def _drop(self, record: Record) -> None:
        runtime = self._ctx.runtime
        if self.has_data_plane(record) and runtime is not None:
            await asyncio.to_thread(runtime.delete, record.body["name"])
        self.placement.withdraw(record)
        self._ctx.store.delete(record.id)
        self.names.hold(record.body["name"])

    def _after_failed_start(self, op: Operation, error: ArmError) -> None:
        """A restart or start whose PostgreSQL did not come up leaves the server in FAILED_START_STATE."""
        failed = op.payload.get(DATA_PLANE_FAILED)
        self.release(op, state=FAILED_START_STATE if failed else op.payload["previousState"])

    def _restore_state(self, op: Operation, error: ArmError) -> None:
        self.release(op, state=op.payload["previousState"])
