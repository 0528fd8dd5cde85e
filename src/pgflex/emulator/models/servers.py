"""Flexible servers: validation, the state machine, and the one-write-at-a-time rule.

States: Provisioning -> Ready; Ready -> Updating | Restarting | Stopping | Dropping;
Stopping -> Stopped -> Starting -> Ready. A server busy with one operation answers every other
write with 409 ServerBusy, as the service does. The data plane (a real PostgreSQL) follows each
transition when the server has one.
"""

from __future__ import annotations

import asyncio
import copy
import ipaddress
import re
from typing import Any

from ..dataplane import PrivateNetwork
from ..dataplane.scram import scram_verifier
from ..errors import (
    ArmError,
    Conflict,
    InvalidParameterValue,
    InvalidRequest,
    NotFound,
    ServerBusy,
    ServerIsNotReady,
)
from ..store import Operation, Record
from .capabilities import require_location, require_offered_sku
from .context import Accepted, Context, optional_object, require_object
from .ids import CONFIGURATION_TYPE, FIREWALL_RULE_TYPE, SERVER_TYPE, now_iso, parse_resource_id, provider_id
from .network import Networks, is_delegated_to_postgres
from .privatedns import PrivateDns

DNS_SUFFIX = "postgres.database.azure.com"
SERVER_NAME = re.compile(r"^(?!-)[a-z0-9-]{3,63}(?<!-)$")
VERSIONS = ("11", "12", "13", "14", "15", "16", "17", "18")
DEFAULT_VERSION = "17"
TIERS = ("Burstable", "GeneralPurpose", "MemoryOptimized")
# Storage size (GiB) -> (default performance tier, IOPS), from the service's storage table.
STORAGE = {
    32: ("P4", 120),
    64: ("P6", 240),
    128: ("P10", 500),
    256: ("P15", 1100),
    512: ("P20", 2300),
    1024: ("P30", 5000),
    2048: ("P40", 7500),
    4096: ("P50", 7500),
    8192: ("P60", 16000),
    16384: ("P70", 18000),
    32767: ("P80", 20000),
}
RESERVED_LOGINS = {
    "azure_superuser",
    "azure_pg_admin",
    "admin",
    "administrator",
    "root",
    "guest",
    "public",
    "postgres",
}

CREATE = "server.create"
UPDATE = "server.update"
RESTART = "server.restart"
START = "server.start"
STOP = "server.stop"
DELETE = "server.delete"

# Private facts kept beside the resource body.
BUSY = "busy"  # id of the operation holding the server
HAS_DATA_PLANE = "dataPlane"
PENDING_RESTART = "pendingRestart"  # static parameters changed since the last restart
ADDRESS = "address"  # private IP in its delegated subnet
ENDPOINT = "endpoint"  # [host, port, namespace] where its PostgreSQL listens, as the data plane last said
RUNNING_VERSION = "runningVersion"  # the PostgreSQL major version actually running
RUNNING_VALUES = "runningValues"  # parameter values at the last (re)start, for servers without a data plane


class Servers:
    def __init__(self, ctx: Context, networks: Networks, dns: PrivateDns) -> None:
        self._ctx = ctx
        self._networks = networks
        self._dns = dns
        runner = ctx.runner
        runner.register(CREATE, self._complete_create, self._rollback_create)
        runner.register(UPDATE, self._complete_update, self._rollback_update)
        runner.register(RESTART, self._complete_restart, self._restore_state)
        runner.register(START, self._complete_start, self._restore_state)
        runner.register(STOP, self._complete_stop, self._restore_state)
        runner.register(DELETE, self._complete_delete, self._restore_state)

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
            return self._update(existing, payload, full=True)
        if not SERVER_NAME.match(name):
            raise ArmError(
                f"Server name '{name}' is invalid: use 3 to 63 lowercase letters, digits and hyphens, "
                "not starting or ending with a hyphen.",
                code="InvalidServerName",
            )
        if self.by_name(name) is not None:
            raise Conflict(f"Specified server name '{name}' is already used.", code="ServerNameAlreadyExists")
        properties = optional_object(payload, "properties", "a flexible server")
        create_mode = str(properties.get("createMode", "Create"))
        if create_mode.lower() not in ("create", "default"):
            raise InvalidParameterValue(f"createMode '{create_mode}' is not supported by the emulator.")
        login = properties.get("administratorLogin")
        password = properties.get("administratorLoginPassword")
        auth = _auth_config(optional_object(properties, "authConfig", "properties"))
        if auth["passwordAuth"] == "Enabled":
            _check_login(login)
            _check_password(password, str(login))
        location = require_location(str(payload.get("location") or group.body["location"]), "flexibleServers")
        sku = _sku(payload.get("sku"))
        version = str(properties.get("version") or DEFAULT_VERSION)
        if version not in VERSIONS:
            raise InvalidParameterValue(f"Version '{version}' is not supported. Supported: {', '.join(VERSIONS)}.")
        network, address = self._network(name, optional_object(properties, "network", "properties"))
        high_availability = _high_availability(optional_object(properties, "highAvailability", "properties"), sku)
        resource = {
            "id": server_id,
            "name": name,
            "type": SERVER_TYPE,
            "location": location,
            "tags": _tags(payload.get("tags")),
            "sku": sku,
            "systemData": {"createdAt": now_iso()},
            "properties": {
                "administratorLogin": login,
                "authConfig": auth,
                "availabilityZone": str(properties.get("availabilityZone") or "1"),
                "backup": _backup(optional_object(properties, "backup", "properties")),
                "dataEncryption": {"type": "SystemManaged"},
                "fullyQualifiedDomainName": f"{name}.{DNS_SUFFIX}",
                "highAvailability": high_availability,
                "maintenanceWindow": {
                    "customWindow": "Disabled",
                    "dayOfWeek": 0,
                    "startHour": 0,
                    "startMinute": 0,
                },
                "minorVersion": "0",
                "network": network,
                "replica": {"role": "Primary", "capacity": 5},
                "replicaCapacity": 5,
                "replicationRole": "Primary",
                "state": "Provisioning",
                "storage": _storage(optional_object(properties, "storage", "properties"), None),
                "version": version,
            },
        }
        has_data_plane = self._ctx.tuning.data_plane and self._ctx.runtime is not None
        record = Record(
            server_id,
            SERVER_TYPE,
            subscription,
            resource_group,
            "",
            body=resource,
            private={HAS_DATA_PLANE: has_data_plane, PENDING_RESTART: [], ADDRESS: address},
        )
        # The password is needed once, by the data plane; it lives in the operation until it completes.
        secret = {"password": sealed(password)} if isinstance(password, str) else {}
        return self._begin(record, CREATE, "Provisioning", {"secret": secret}, check_state=False)

    def update(self, subscription: str, resource_group: str, name: str, body: Any) -> Accepted:
        record = self.require(subscription, resource_group, name)
        return self._update(record, require_object(body, "a flexible server update"), full=False)

    def restart(self, subscription: str, resource_group: str, name: str, body: Any) -> Accepted:
        record = self.require(subscription, resource_group, name)
        self._require_state(record, "Ready")
        options = body if isinstance(body, dict) else {}
        return self._begin(record, RESTART, "Restarting", {"options": options})

    def start(self, subscription: str, resource_group: str, name: str) -> Accepted:
        record = self.require(subscription, resource_group, name)
        if record.body["properties"]["state"] not in ("Stopped", "Ready"):
            raise ServerIsNotReady(name, record.body["properties"]["state"])
        return self._begin(record, START, "Starting", {}, check_state=False)

    def stop(self, subscription: str, resource_group: str, name: str) -> Accepted:
        record = self.require(subscription, resource_group, name)
        self._require_state(record, "Ready")
        return self._begin(record, STOP, "Stopping", {})

    def delete(self, subscription: str, resource_group: str, name: str) -> Accepted | None:
        self._ctx.require_resource_group(subscription, resource_group)
        record = self._ctx.store.get(provider_id(subscription, resource_group, SERVER_TYPE, name))
        if record is None:
            return None
        return self._begin(record, DELETE, "Dropping", {}, check_state=False)

    def begin_child_write(self, server: Record, kind: str, payload: dict[str, Any]) -> Accepted:
        """Start a configuration or firewall-rule write: it holds the server like any other write."""
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

    def has_data_plane(self, record: Record) -> bool:
        return bool(record.private.get(HAS_DATA_PLANE)) and self._ctx.runtime is not None

    def firewall_ranges(self, record: Record) -> list[tuple[str, str]]:
        return [
            (r.body["properties"]["startIpAddress"], r.body["properties"]["endIpAddress"])
            for r in self._ctx.store.children(record.id, FIREWALL_RULE_TYPE)
        ]

    def user_parameters(self, record: Record) -> dict[str, str]:
        return {r.body["name"]: r.body["value"] for r in self._ctx.store.children(record.id, CONFIGURATION_TYPE)}

    def is_public(self, record: Record) -> bool:
        return bool(record.body["properties"]["network"].get("publicNetworkAccess") == "Enabled")

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

    def _begin(
        self, record: Record, kind: str, state: str, payload: dict[str, Any], *, check_state: bool = True
    ) -> Accepted:
        name = record.body["name"]
        if record.private.get(BUSY):
            raise ServerBusy(name)
        if check_state and record.body["properties"]["state"] != "Ready":
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

    def _require_state(self, record: Record, state: str) -> None:
        if record.private.get(BUSY):
            raise ServerBusy(record.body["name"])
        current = record.body["properties"]["state"]
        if current != state:
            raise ServerIsNotReady(record.body["name"], current)

    def _update(self, record: Record, payload: dict[str, Any], *, full: bool) -> Accepted:
        name = record.body["name"]
        if record.private.get(BUSY):
            raise ServerBusy(name)
        before = copy.deepcopy(record.body)
        body = record.body
        properties = optional_object(payload, "properties", "a flexible server")
        current = body["properties"]
        login = properties.get("administratorLogin")
        if login is not None and login != current["administratorLogin"]:
            raise InvalidParameterValue("The administrator login of a server cannot be changed.")
        version = properties.get("version")
        if version is not None and str(version) != current["version"]:
            raise InvalidParameterValue("Changing the major version needs an in-place upgrade (not emulated).")
        if "sku" in payload:
            body["sku"] = _sku(payload["sku"])
        if "tags" in payload:
            body["tags"] = _tags(payload["tags"])
        if "storage" in properties:
            current["storage"] = _storage(optional_object(properties, "storage", "properties"), current["storage"])
        if "backup" in properties:
            current["backup"] = {**current["backup"], **_backup(properties["backup"], keep=current["backup"])}
        if "highAvailability" in properties:
            current["highAvailability"] = _high_availability(properties["highAvailability"], body["sku"])
        if "authConfig" in properties:
            current["authConfig"] = _auth_config({**current["authConfig"], **properties["authConfig"]})
        if "maintenanceWindow" in properties:
            current["maintenanceWindow"] = {**current["maintenanceWindow"], **properties["maintenanceWindow"]}
        if "network" in properties:
            current["network"] = self._updated_network(current["network"], properties["network"])
        password = properties.get("administratorLoginPassword")
        secret = {}
        if password is not None:
            _check_password(password, str(current["administratorLogin"]))
            secret = {"password": sealed(password)}
        del full  # PUT and PATCH both merge here: omitted properties keep their values, as the service does
        return self._begin(record, UPDATE, "Updating", {"before": before, "secret": secret})

    def _network(self, name: str, requested: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        subnet_id = requested.get("delegatedSubnetResourceId")
        zone_id = requested.get("privateDnsZoneArmResourceId")
        access = requested.get("publicNetworkAccess")
        if not subnet_id:
            if zone_id:
                raise InvalidParameterValue("A private DNS zone is only used with a delegated subnet.")
            return {"publicNetworkAccess": access or "Enabled"}, None
        if access == "Enabled":
            raise ArmError(
                "Public network access cannot be enabled for a server with a delegated subnet.",
                code="ConflictingPublicNetworkAccessAndVirtualNetworkConfiguration",
            )
        subnet = self._networks.subnet_by_id(str(subnet_id))
        if subnet is None:
            raise InvalidParameterValue(f"The subnet '{subnet_id}' does not exist.", code="SubnetNotFound")
        if not is_delegated_to_postgres(subnet):
            raise InvalidParameterValue(
                f"The subnet '{subnet_id}' is not delegated to Microsoft.DBforPostgreSQL/flexibleServers.",
                code="SubnetNotDelegated",
            )
        if not zone_id:
            raise InvalidParameterValue(
                "A server in a delegated subnet needs a private DNS zone (privateDnsZoneArmResourceId).",
                code="PrivateDnsZoneRequired",
            )
        zone_name = parse_resource_id(str(zone_id)).get("privatednszones", "")
        if not zone_name.lower().endswith("." + DNS_SUFFIX) or zone_name.lower() == f"{name}.{DNS_SUFFIX}":
            raise InvalidParameterValue(
                f"The private DNS zone '{zone_name}' must end with '.{DNS_SUFFIX}' and differ from the "
                "server's own host name.",
                code="PrivateDnsZoneHasWrongZoneSuffix",
            )
        zone = self._dns.zone_by_id(str(zone_id))
        if zone is None:
            raise InvalidParameterValue(
                f"The private DNS zone '{zone_id}' does not exist.", code="PrivateDnsZoneNotFound"
            )
        address = self._next_address(subnet)
        network = {
            "delegatedSubnetResourceId": subnet.body["id"],
            "privateDnsZoneArmResourceId": zone.body["id"],
            "publicNetworkAccess": "Disabled",
        }
        return network, address

    def _updated_network(self, current: dict[str, Any], requested: Any) -> dict[str, Any]:
        requested = require_object(requested, "network")
        access = requested.get("publicNetworkAccess")
        if access is None:
            return current
        if current.get("delegatedSubnetResourceId") and access == "Enabled":
            raise ArmError(
                "Public network access cannot be enabled for a server with a delegated subnet.",
                code="ConflictingPublicNetworkAccessAndVirtualNetworkConfiguration",
            )
        if access not in ("Enabled", "Disabled"):
            raise InvalidParameterValue(f"publicNetworkAccess must be Enabled or Disabled, not '{access}'.")
        return {**current, "publicNetworkAccess": access}

    def _next_address(self, subnet: Record) -> str:
        network = ipaddress.IPv4Network(subnet.body["properties"]["addressPrefix"])
        taken = {
            s.private.get(ADDRESS)
            for s in self._ctx.store.of_type(SERVER_TYPE)
            if s.body["properties"]["network"].get("delegatedSubnetResourceId", "").lower() == subnet.key
        }
        # Azure keeps the first four addresses of every subnet and the last one.
        for host in list(network.hosts())[3:]:
            if str(host) not in taken:
                return str(host)
        raise ArmError(f"Subnet '{subnet.body['name']}' has no free address.", code="SubnetIsFull")

    def zone_for(self, record: Record) -> Record | None:
        zone_id = record.body["properties"]["network"].get("privateDnsZoneArmResourceId")
        return self._dns.zone_by_id(zone_id) if zone_id else None

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
                str(record.body["properties"]["administratorLogin"]),
                password,
                self.user_parameters(record),
                self._private_network(record),
            )
            await asyncio.to_thread(runtime.apply_firewall, name, self.firewall_ranges(record), self.is_public(record))
            record.private[ENDPOINT] = [endpoint.host, endpoint.port, endpoint.namespace]
            record.private[RUNNING_VERSION] = await asyncio.to_thread(runtime.version_used, name)
        zone = self.zone_for(record)
        if zone is not None:
            self._dns.set_a_record(zone, name, [str(record.private[ADDRESS])])
        record.private[BUSY] = None
        record.body["properties"]["state"] = "Ready"
        self._ctx.store.put(record)

    @staticmethod
    def _private_network(record: Record) -> PrivateNetwork | None:
        """A server in a delegated subnet lives in that subnet's virtual network, at its A record's address."""
        subnet_id = record.body["properties"]["network"].get("delegatedSubnetResourceId")
        address = record.private.get(ADDRESS)
        if not subnet_id or not address:
            return None
        # .../virtualNetworks/<vnet>/subnets/<subnet>: every subnet of one virtual network shares its namespace.
        vnet_id = re.sub(r"/subnets/[^/]+$", "", str(subnet_id), flags=re.IGNORECASE)
        return PrivateNetwork(network_id=vnet_id, address=str(address))

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
        if password and self.has_data_plane(record) and runtime is not None:
            await asyncio.to_thread(
                runtime.set_admin_password,
                record.body["name"],
                str(record.body["properties"]["administratorLogin"]),
                password,
            )
        if self.has_data_plane(record) and runtime is not None:
            await asyncio.to_thread(
                runtime.apply_firewall,
                record.body["name"],
                self.firewall_ranges(record),
                self.is_public(record),
            )
        self.release(op)

    def _rollback_update(self, op: Operation, error: ArmError) -> None:
        record = self._ctx.store.get(op.resource_key)
        if record is None:
            return
        record.body = op.payload["before"]
        self._ctx.store.put(record)
        self.release(op, state=op.payload["previousState"])

    async def _complete_restart(self, op: Operation) -> None:
        record = self._ctx.store.get(op.resource_key)
        if record is None:
            return
        runtime = self._ctx.runtime
        if self.has_data_plane(record) and runtime is not None:
            await asyncio.to_thread(runtime.restart, record.body["name"])
            await self._remember_endpoint(record.body["name"])
        self._mark_restarted(self.release(op))

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
            await asyncio.to_thread(runtime.start, record.body["name"])
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
        zone = self.zone_for(record)
        if zone is not None:
            self._dns.remove_a_record(zone.id, record.body["name"])
        self._ctx.store.delete(record.id)

    def _restore_state(self, op: Operation, error: ArmError) -> None:
        self.release(op, state=op.payload["previousState"])


def sealed(password: str) -> str:
    """What the state file keeps until the data plane has set the password: its SCRAM verifier, as
    PostgreSQL stores it, never the password, whatever its characters (SASLprep is done as PostgreSQL does)."""
    return scram_verifier(password)


def _check_login(login: Any) -> None:
    if not isinstance(login, str) or not 1 <= len(login) <= 63 or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", login):
        raise InvalidParameterValue(
            "administratorLogin must be 1 to 63 letters, digits or underscores, starting with a letter or underscore."
        )
    if login.lower() in RESERVED_LOGINS or login.lower().startswith("pg_"):
        raise InvalidParameterValue(f"The administrator login '{login}' is reserved and cannot be used.")


def _check_password(password: Any, login: str) -> None:
    # Azure: 8 to 128 characters from three of: upper case, lower case, digits, symbols; no login inside.
    if not isinstance(password, str) or not 8 <= len(password) <= 128:
        raise InvalidParameterValue(
            "administratorLoginPassword must be 8 to 128 characters long.", code="PasswordTooWeak"
        )
    classes = [
        any(c.isupper() for c in password),
        any(c.islower() for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() for c in password),
    ]
    if sum(classes) < 3:
        raise InvalidParameterValue(
            "administratorLoginPassword must contain characters from three of these categories: upper case, "
            "lower case, digits, non-alphanumeric.",
            code="PasswordTooWeak",
        )
    if login and login.lower() in password.lower():
        raise InvalidParameterValue("administratorLoginPassword must not contain the login.", code="PasswordTooWeak")


def _sku(raw: Any) -> dict[str, str]:
    sku = require_object(raw, "sku") if raw is not None else {}
    name, tier = sku.get("name"), sku.get("tier")
    if not isinstance(name, str) or not isinstance(tier, str):
        raise InvalidRequest("sku.name and sku.tier are required.")
    if tier not in TIERS:
        raise InvalidParameterValue(f"sku.tier '{tier}' is not one of {', '.join(TIERS)}.")
    require_offered_sku(name, tier)
    return {"name": name, "tier": tier}


def _tags(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    tags = require_object(raw, "tags")
    if len(tags) > 50:
        raise InvalidParameterValue("A resource can have at most 50 tags.")
    return {str(k): str(v) for k, v in tags.items()}


def _storage(requested: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
    size = int(requested.get("storageSizeGB") or (current or {}).get("storageSizeGB") or 128)
    if size not in STORAGE:
        raise InvalidParameterValue(
            f"storageSizeGB {size} is not supported. Supported sizes: {', '.join(map(str, STORAGE))}."
        )
    if current is not None and size < int(current["storageSizeGB"]):
        raise InvalidParameterValue("Storage size cannot be reduced.", code="StorageSizeDecreaseNotSupported")
    tier, iops = STORAGE[size]
    auto_grow = requested.get("autoGrow") or (current or {}).get("autoGrow") or "Disabled"
    return {
        "type": "",
        "autoGrow": auto_grow,
        "iops": iops,
        "storageSizeGB": size,
        "tier": str(requested.get("tier") or tier),
    }


def _backup(raw: Any, keep: dict[str, Any] | None = None) -> dict[str, Any]:
    backup = require_object(raw, "backup") if raw else {}
    keep = keep or {}
    days = int(backup.get("backupRetentionDays") or keep.get("backupRetentionDays") or 7)
    if not 7 <= days <= 35:
        raise InvalidParameterValue("backupRetentionDays must be between 7 and 35.")
    return {
        "backupRetentionDays": days,
        "geoRedundantBackup": backup.get("geoRedundantBackup") or keep.get("geoRedundantBackup") or "Disabled",
        "earliestRestoreDate": keep.get("earliestRestoreDate") or now_iso(),
    }


def _high_availability(raw: Any, sku: dict[str, str]) -> dict[str, Any]:
    requested = require_object(raw, "highAvailability") if raw else {}
    mode = str(requested.get("mode") or "Disabled")
    if mode not in ("Disabled", "SameZone", "ZoneRedundant"):
        raise InvalidParameterValue(f"highAvailability.mode '{mode}' is not one of Disabled, SameZone, ZoneRedundant.")
    if mode != "Disabled" and sku["tier"] == "Burstable":
        raise InvalidParameterValue(
            "High availability is not supported for the Burstable tier.", code="HighAvailabilityNotSupported"
        )
    if mode == "Disabled":
        return {"mode": "Disabled", "state": "NotEnabled"}
    return {
        "mode": mode,
        "standbyAvailabilityZone": str(requested.get("standbyAvailabilityZone") or "2"),
        "state": "Healthy",
    }


def _auth_config(raw: dict[str, Any]) -> dict[str, str]:
    password_auth = str(raw.get("passwordAuth") or "Enabled")
    entra_auth = str(raw.get("activeDirectoryAuth") or "Disabled")
    for value in (password_auth, entra_auth):
        if value not in ("Enabled", "Disabled"):
            raise InvalidParameterValue(f"authConfig values must be Enabled or Disabled, not '{value}'.")
    if password_auth == "Disabled" and entra_auth == "Disabled":  # noqa: S105 - a setting, not a secret
        raise InvalidParameterValue("At least one authentication method must be enabled.")
    config = {"activeDirectoryAuth": entra_auth, "passwordAuth": password_auth}
    if entra_auth == "Enabled":
        config["tenantId"] = str(raw.get("tenantId") or "")
    return config
