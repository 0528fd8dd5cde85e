"""Diff: desired (the spec) against observed, as pure functions. No I/O here.

Values are compared as Azure means them: booleans in any spelling (ON, on, true), enumerations
case-insensitively, sets ignoring order and case. Changes come out in an order that can be
applied: network objects before the servers that use them, a server before its parameters and
firewall rules, and a restart last.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from pgflex.spec import Environment, PrivateAccess, PublicAccess, Server

from .desired import comparable_tags, desired_parameters, desired_tags
from .observe import Observed, ObservedNetwork, ObservedParameter, ObservedServer
from .plan import Action, Change, Kind, Plan, PolicyException, ServerPlan, fingerprint
from .settings_diff import (
    administrator_changes,
    database_changes,
    login,
    new_server_setting_changes,
    setting_changes,
    window_text,
)

POSTGRES_DELEGATION = "Microsoft.DBforPostgreSQL/flexibleServers"
# Parameters whose values are sets (order and case carry no meaning).
SET_PARAMETERS = {"azure.extensions", "shared_preload_libraries"}
# Types the catalogue gives TLS parameters, for comparing when the server does not exist yet.
KNOWN_TYPES = {
    "require_secure_transport": "Boolean",
    "ssl_min_protocol_version": "Enumeration",
    "ssl_max_protocol_version": "Enumeration",
    "azure.extensions": "Set",
}
# What a new server starts with (the service's defaults), so a plan for a server yet to be created
# lists only the parameters that will really change.
NEW_SERVER_DEFAULTS = {
    "require_secure_transport": "on",
    "ssl_min_protocol_version": "TLSv1.2",
    "ssl_max_protocol_version": "",
    "azure.extensions": "",
}


def same_value(data_type: str, left: str, right: str) -> bool:
    return canonical(data_type, left) == canonical(data_type, right)


def canonical(data_type: str, value: str) -> str:
    """The value as Azure means it."""
    text = value.strip()
    if data_type == "Boolean":
        lowered = text.lower()
        return {"true": "on", "1": "on", "yes": "on", "false": "off", "0": "off", "no": "off"}.get(lowered, lowered)
    if data_type == "Set":
        return ",".join(sorted({item.strip().lower() for item in text.split(",") if item.strip()}))
    if data_type == "Enumeration":
        return text.lower()
    return text


def make_plan(env: Environment, observed: Observed, *, verify: bool = True) -> Plan:
    errors: list[str] = []
    environment_changes = [_resource_group_change(env, observed)]
    environment_changes += _network_changes(env, observed.network)
    servers = []
    for server in env.servers:
        current = observed.servers.get(server.name, ObservedServer(name=server.name, exists=False))
        changes, server_errors = _server_changes(env, server, current, verify=verify)
        errors += [f"{server.name}: {e}" for e in server_errors]
        servers.append(
            ServerPlan(
                name=server.name,
                changes=tuple(changes),
                exceptions=tuple(PolicyException(e.rule, e.reason) for e in server.applied_exceptions),
                login=login(server),
            )
        )
    return Plan(
        environment=env.name,
        cloud=env.cloud,
        subscription=env.subscription,
        resource_group=env.resource_group,
        source=env.source,
        fingerprint=fingerprint(observed.to_dict()),
        environment_changes=tuple(environment_changes),
        servers=tuple(servers),
        errors=tuple(errors),
        spec_digest=env.source_digest,
        spec_keys=env.source_keys,
        verify=verify,
    )


def _resource_group_change(env: Environment, observed: Observed) -> Change:
    if observed.resource_group_exists:
        return Change(Kind.RESOURCE_GROUP, env.resource_group, Action.NOOP, "exists")
    return Change(
        Kind.RESOURCE_GROUP,
        env.resource_group,
        Action.CREATE,
        "resource group does not exist",
        after={"location": env.location},
    )


def _network_changes(env: Environment, network: ObservedNetwork) -> list[Change]:
    changes: list[Change] = []
    seen: set[tuple[Kind, str]] = set()

    def add(change: Change) -> None:
        if (change.kind, change.name) not in seen:
            seen.add((change.kind, change.name))
            changes.append(change)

    for server in env.servers:
        access = server.access
        if not isinstance(access, PrivateAccess):
            continue
        create = access.subnet.create
        if create is not None:
            vnet_prefixes = network.vnets.get(create.vnet)
            if vnet_prefixes is None:
                add(
                    Change(
                        Kind.VIRTUAL_NETWORK,
                        create.vnet,
                        Action.CREATE,
                        f"needed by {server.name}",
                        after={"addressPrefixes": [create.vnet_address_prefix]},
                    )
                )
            elif not any(_inside(create.vnet_address_prefix, p) for p in vnet_prefixes):
                add(
                    Change(
                        Kind.VIRTUAL_NETWORK,
                        create.vnet,
                        Action.UPDATE,
                        "address space lacks the spec's prefix",
                        before={"addressPrefixes": vnet_prefixes},
                        after={"addressPrefixes": sorted({*vnet_prefixes, create.vnet_address_prefix})},
                    )
                )
            subnet_name = f"{create.vnet}/{create.name}"
            subnet = network.subnets.get(subnet_name)
            wanted = {"addressPrefix": create.address_prefix, "delegation": POSTGRES_DELEGATION}
            if subnet is None:
                add(Change(Kind.SUBNET, subnet_name, Action.CREATE, f"needed by {server.name}", after=wanted))
            elif subnet.address_prefix != create.address_prefix or not subnet.delegated:
                before = {
                    "addressPrefix": subnet.address_prefix,
                    "delegation": POSTGRES_DELEGATION if subnet.delegated else None,
                }
                reason = "not delegated to flexible servers" if not subnet.delegated else "address prefix differs"
                add(Change(Kind.SUBNET, subnet_name, Action.UPDATE, reason, before=before, after=wanted))
        zone = access.private_dns_zone.create
        if zone is not None:
            if not network.zones.get(zone.name, False):
                add(Change(Kind.PRIVATE_DNS_ZONE, zone.name, Action.CREATE, f"needed by {server.name}"))
            if create is not None:
                vnet_id = (
                    f"/resourceGroups/{env.resource_group}/providers/Microsoft.Network/virtualNetworks/{create.vnet}"
                )
                linked = any(link.lower().endswith(vnet_id.lower()) for link in network.zone_links.get(zone.name, []))
                if not linked:
                    add(
                        Change(
                            Kind.PRIVATE_DNS_ZONE_LINK,
                            f"{zone.name}/{create.vnet}",
                            Action.CREATE,
                            "the zone must resolve inside the virtual network",
                            after={"virtualNetwork": create.vnet},
                        )
                    )
    return changes


def _inside(prefix: str, container: str) -> bool:
    try:
        return ipaddress.IPv4Network(prefix).subnet_of(ipaddress.IPv4Network(container))
    except ValueError:
        return False


def _server_changes(
    env: Environment, server: Server, current: ObservedServer, *, verify: bool
) -> tuple[list[Change], list[str]]:
    wanted_parameters = desired_parameters(server, verify=verify)
    if not current.exists:
        changes = [
            Change(Kind.SERVER, server.name, Action.CREATE, "server does not exist", after=_server_body(env, server))
        ]
        changes += new_server_setting_changes(server)
        changes += administrator_changes(server, None)
        changes += database_changes(server, None)
        for name, value in sorted(wanted_parameters.items()):
            default = NEW_SERVER_DEFAULTS.get(name)
            if default is not None and same_value(KNOWN_TYPES[name], default, value):
                changes.append(
                    Change(Kind.PARAMETER, name, Action.NOOP, "the service's default", before=default, after=value)
                )
            else:
                changes.append(
                    Change(
                        Kind.PARAMETER,
                        name,
                        Action.UPDATE,
                        "new server: set after creation",
                        before=default,
                        after=value,
                    )
                )
        changes += _firewall_changes(server, {})
        return changes, []
    changes, errors = _server_property_changes(env, server, current)
    changes += setting_changes(server, current.properties)
    changes += administrator_changes(server, current.administrators)
    changes += database_changes(server, current.databases)
    changes += _parameter_changes(wanted_parameters, current.parameters)
    changes += _firewall_changes(server, current.firewall_rules)
    pending = sorted(name for name, p in current.parameters.items() if p.pending_restart and name in wanted_parameters)
    static_changes = [c.name for c in changes if c.requires_restart]
    if pending and not static_changes:
        changes.append(
            Change(
                Kind.SERVER,
                server.name,
                Action.RESTART,
                f"parameters changed but not yet in effect: {', '.join(pending)}",
                before={"pendingRestart": pending},
            )
        )
    return changes, errors


def _server_body(env: Environment, server: Server) -> dict[str, Any]:
    """The server to create, as the spec writes it (what pgflex sends: engine/bodies.py)."""
    storage: dict[str, Any] = {"sizeGb": server.storage.size_gb, "autoGrow": server.storage.auto_grow}
    if server.storage.tier is not None:
        storage["tier"] = server.storage.tier
    body: dict[str, Any] = {
        "location": env.location,
        "version": server.version,
        "sku": {"name": server.sku.name, "tier": server.sku.tier},
        "storage": storage,
        "highAvailability": server.high_availability.mode,
        "backup": {"retentionDays": server.backup.retention_days, "geoRedundant": server.backup.geo_redundant},
        "maintenanceWindow": window_text(server.maintenance_window.azure_properties()),
        "authentication": {"password": server.authentication.password, "entra": server.authentication.entra},
        "tags": desired_tags(server),
    }
    if server.availability_zone is not None:
        body["availabilityZone"] = server.availability_zone
    if server.high_availability.standby_availability_zone is not None:
        body["standbyAvailabilityZone"] = server.high_availability.standby_availability_zone
    if server.authentication.entra and server.authentication.tenant_id is not None:
        body["authentication"]["tenantId"] = server.authentication.tenant_id
    if server.administrator is not None:
        password = server.administrator.password
        source = f"env:{password.env_var}" if password.env_var else f"keyvault:{password.key_vault_secret}"
        body["administrator"] = {"login": server.administrator.login, "password": f"(secret from {source})"}
    access = server.access
    if isinstance(access, PrivateAccess):
        body["network"] = {
            "publicNetworkAccess": "Disabled",
            "subnet": access.subnet.id or f"{access.subnet.create.vnet}/{access.subnet.create.name}",  # type: ignore[union-attr]
            "privateDnsZone": access.private_dns_zone.zone_name,
        }
    else:
        body["network"] = {"publicNetworkAccess": "Enabled"}
    return body


def _server_property_changes(
    env: Environment, server: Server, current: ObservedServer
) -> tuple[list[Change], list[str]]:
    actual = current.properties
    changes: list[Change] = []
    errors: list[str] = []

    def update(field: str, before: Any, after: Any, reason: str) -> None:
        changes.append(Change(Kind.SERVER, f"{server.name}.{field}", Action.UPDATE, reason, before=before, after=after))

    if actual.get("version") and actual["version"] != server.version:
        errors.append(_version_error(env, server, str(actual["version"])))
    if (actual.get("skuName"), (actual.get("skuTier") or "").lower()) != (server.sku.name, server.sku.tier.lower()):
        update(
            "sku",
            {"name": actual.get("skuName"), "tier": actual.get("skuTier")},
            {"name": server.sku.name, "tier": server.sku.tier},
            "compute size differs",
        )
    size = actual.get("storageSizeGb")
    if size is not None and size != server.storage.size_gb:
        if size > server.storage.size_gb:
            errors.append(f"storage is {size} GiB, the spec says {server.storage.size_gb}: storage cannot shrink")
        else:
            update("storage.sizeGb", size, server.storage.size_gb, "storage grows")
    if actual.get("autoGrow") is not None and actual["autoGrow"] != server.storage.auto_grow:
        update("storage.autoGrow", actual["autoGrow"], server.storage.auto_grow, "storage auto-grow differs")
    live_mode = actual.get("highAvailability") or "Disabled"
    if live_mode.lower() != server.high_availability.mode.lower():
        switch = "Disabled" not in (live_mode, server.high_availability.mode)
        # Azure changes a mode only through Disabled: apply disables high availability, then enables the new mode.
        why = "high availability differs" + ("; disabled, then enabled in the new mode" if switch else "")
        update("highAvailability", live_mode, server.high_availability.mode, why)
    current_tags = actual.get("tags", {})
    if comparable_tags(current_tags) != comparable_tags(server.tags):
        update("tags", current_tags, desired_tags(server, current_tags), "tags differ")
    wanted_access = "Disabled" if isinstance(server.access, PrivateAccess) else "Enabled"
    if isinstance(server.access, PrivateAccess) and not actual.get("delegatedSubnetId"):
        errors.append(
            "the server has public access, the spec says private: moving a server into a network is not done by pgflex"
        )
    elif isinstance(server.access, PublicAccess) and actual.get("delegatedSubnetId"):
        errors.append("the server is in a virtual network, the spec says public access: it cannot move out")
    elif (actual.get("publicNetworkAccess") or "").lower() != wanted_access.lower():
        update("publicNetworkAccess", actual.get("publicNetworkAccess"), wanted_access, "network access differs")
    return changes, errors


def _version_error(env: Environment, server: Server, live: str) -> str:
    """What to do about a major version the spec does not ask for: Azure upgrades in place, never downgrades."""
    said = f"version is {live}, the spec says {server.version}"
    if _major(server.version) < _major(live):
        return (
            f"{said}: a downgrade, which Azure cannot do; set version {live} in the spec, or create a new server "
            f"on {server.version} and move the data to it (pg_dump and pg_restore)"
        )
    return (
        f"{said}: major version upgrades are not done by pgflex; upgrade in place with Azure "
        f"(az postgres flexible-server upgrade --resource-group {env.resource_group} --name {server.name} "
        f"--version {server.version}), then apply again"
    )


def _major(version: str) -> tuple[int, str]:
    """Orders major versions ("9.6" < "16"); what is not a number sorts by its text, after every number."""
    head = version.split(".", 1)[0]
    return (int(head), version) if head.isdigit() else (1 << 30, version)


def _parameter_changes(wanted: dict[str, str], actual: dict[str, ObservedParameter]) -> list[Change]:
    changes = []
    for name, value in sorted(wanted.items()):
        observed = actual.get(name)
        if observed is None:
            changes.append(
                Change(Kind.PARAMETER, name, Action.UPDATE, "parameter not found on the server", after=value)
            )
            continue
        data_type = "Set" if name in SET_PARAMETERS else observed.data_type
        if same_value(data_type, observed.value, value):
            changes.append(Change(Kind.PARAMETER, name, Action.NOOP, "matches", before=observed.value, after=value))
            continue
        changes.append(
            Change(
                Kind.PARAMETER,
                name,
                Action.UPDATE,
                "value differs" + ("; takes effect after a restart" if not observed.is_dynamic else ""),
                before=observed.value,
                after=value,
                requires_restart=not observed.is_dynamic,
            )
        )
    return changes


def _firewall_changes(server: Server, actual: dict[str, tuple[str, str]]) -> list[Change]:
    if not isinstance(server.access, PublicAccess):
        return []
    changes = []
    wanted = {rule.name: rule for rule in server.access.firewall_rules}
    actual_by_lower = {name.lower(): name for name in actual}
    for name, rule in sorted(wanted.items()):
        after = {"start": rule.start_ip, "end": rule.end_ip}
        existing_name = actual_by_lower.get(name.lower())
        if existing_name is None:
            changes.append(Change(Kind.FIREWALL_RULE, name, Action.CREATE, f"allow {rule.written_as}", after=after))
            continue
        start, end = actual[existing_name]
        before = {"start": start, "end": end}
        if (start, end) != (rule.start_ip, rule.end_ip):
            changes.append(Change(Kind.FIREWALL_RULE, name, Action.UPDATE, "range differs", before=before, after=after))
        else:
            changes.append(Change(Kind.FIREWALL_RULE, name, Action.NOOP, "matches", before=before, after=after))
    wanted_lower = {name.lower() for name in wanted}
    for name, (start, end) in sorted(actual.items()):
        if name.lower() not in wanted_lower:
            changes.append(
                Change(
                    Kind.FIREWALL_RULE,
                    name,
                    Action.DELETE,
                    "not in the spec",
                    before={"start": start, "end": end},
                )
            )
    return changes
