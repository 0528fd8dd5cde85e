"""Observe: read what exists, only the fields pgflex manages, concurrently across servers.

Per server: one GET of the server, its managed parameters (targeted GETs, or the paged list when
that takes fewer calls), one list of firewall rules. Network objects once per environment.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from azure.core.exceptions import ResourceNotFoundError

from pgflex.azure.clients import AzureClients
from pgflex.concurrency import map_concurrently
from pgflex.spec import Environment, PrivateAccess, Server

from .desired import desired_parameters

# The service's parameter catalogue has 415 entries in pages of 100 (measured on the emulator,
# which replays the official list): 5 calls for the whole list.
CATALOGUE_PAGES = math.ceil(415 / 100)
ParameterStrategy = Literal["auto", "targeted", "list"]


@dataclass(frozen=True)
class ObservedParameter:
    value: str
    data_type: str
    is_dynamic: bool
    pending_restart: bool
    source: str


@dataclass(frozen=True)
class ObservedServer:
    name: str
    exists: bool
    state: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, ObservedParameter] = field(default_factory=dict)
    firewall_rules: dict[str, tuple[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class ObservedSubnet:
    address_prefix: str
    delegated: bool


@dataclass(frozen=True)
class ObservedNetwork:
    vnets: dict[str, list[str] | None] = field(default_factory=dict)  # name -> prefixes (None: absent)
    subnets: dict[str, ObservedSubnet | None] = field(default_factory=dict)  # "vnet/subnet" or an id
    zones: dict[str, bool] = field(default_factory=dict)  # zone name or id -> exists
    zone_links: dict[str, list[str]] = field(default_factory=dict)  # zone name -> linked vnet ids


@dataclass(frozen=True)
class Observed:
    resource_group_exists: bool
    servers: dict[str, ObservedServer]
    network: ObservedNetwork
    requests: int = 0  # Resource Manager calls it took

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("requests")
        return data


def observe(
    env: Environment,
    clients: AzureClients,
    *,
    parallelism: int = 8,
    parameter_strategy: ParameterStrategy = "auto",
) -> Observed:
    before = clients.counter.total
    group_exists = bool(clients.resources.resource_groups.check_existence(env.resource_group))
    if group_exists:
        servers = map_concurrently(
            lambda s: observe_server(env, clients, s, parameter_strategy),
            env.servers,
            parallelism,
        )
        network = observe_network(env, clients)
    else:  # nothing can exist in a missing resource group
        servers = [ObservedServer(name=s.name, exists=False) for s in env.servers]
        network = _absent_network(env)
    return Observed(
        resource_group_exists=group_exists,
        servers={s.name: s for s in servers},
        network=network,
        requests=clients.counter.total - before,
    )


def observe_server(
    env: Environment,
    clients: AzureClients,
    server: Server,
    strategy: ParameterStrategy = "auto",
) -> ObservedServer:
    postgres = clients.postgres
    try:
        found = postgres.servers.get(env.resource_group, server.name)
    except ResourceNotFoundError:
        return ObservedServer(name=server.name, exists=False)
    network = found.network
    ha = found.high_availability
    storage = found.storage
    properties = {
        "location": found.location,
        "version": str(found.version) if found.version else None,
        "skuName": found.sku.name if found.sku else None,
        "skuTier": sdk_text(found.sku.tier) if found.sku else None,
        "storageSizeGb": storage.storage_size_gb if storage else None,
        "autoGrow": sdk_text(storage.auto_grow) == "Enabled" if storage else None,
        "highAvailability": sdk_text(ha.mode) if ha and ha.mode else "Disabled",
        "tags": dict(found.tags or {}),
        "administratorLogin": found.administrator_login,
        "publicNetworkAccess": sdk_text(network.public_network_access) if network else None,
        "delegatedSubnetId": network.delegated_subnet_resource_id if network else None,
        "privateDnsZoneId": network.private_dns_zone_arm_resource_id if network else None,
    }
    # azure.extensions is read even without verify, so the observed state (and a plan's fingerprint)
    # does not depend on the flag.
    names = sorted(desired_parameters(server, verify=True))
    parameters = _observe_parameters(clients, env.resource_group, server.name, names, strategy)
    rules: dict[str, tuple[str, str]] = {}
    for rule in postgres.firewall_rules.list_by_server(env.resource_group, server.name):
        if rule.name is not None:
            rules[rule.name] = (str(rule.start_ip_address), str(rule.end_ip_address))
    return ObservedServer(
        name=server.name,
        exists=True,
        state=sdk_text(found.state),
        properties=properties,
        parameters=parameters,
        firewall_rules=rules,
    )


def _observe_parameters(
    clients: AzureClients, group: str, server: str, names: list[str], strategy: ParameterStrategy
) -> dict[str, ObservedParameter]:
    configurations = clients.postgres.configurations
    if strategy == "list" or (strategy == "auto" and len(names) > CATALOGUE_PAGES):
        wanted = set(names)
        found = [c for c in configurations.list_by_server(group, server) if c.name in wanted]
    else:
        found = [configurations.get(group, server, name) for name in names]
    return {
        str(c.name): ObservedParameter(
            value=str(c.value or ""),
            data_type=sdk_text(c.data_type or "String"),
            is_dynamic=bool(c.is_dynamic_config),
            pending_restart=bool(c.is_config_pending_restart),
            source=sdk_text(c.source or ""),
        )
        for c in found
    }


def sdk_text(value: object) -> str:
    """The wire string of an SDK value: its enums print as 'SkuTier.BURSTABLE' otherwise."""
    return str(getattr(value, "value", value))


def _subnet_key(vnet: str, subnet: str) -> str:
    return f"{vnet}/{subnet}"


def _absent_network(env: Environment) -> ObservedNetwork:
    network = ObservedNetwork()
    for server in env.servers:
        access = server.access
        if not isinstance(access, PrivateAccess):
            continue
        if access.subnet.create is not None:
            create = access.subnet.create
            network.vnets[create.vnet] = None
            network.subnets[_subnet_key(create.vnet, create.name)] = None
        if access.private_dns_zone.create is not None:
            network.zones[access.private_dns_zone.create.name] = False
            network.zone_links[access.private_dns_zone.create.name] = []
    return network


def observe_network(env: Environment, clients: AzureClients) -> ObservedNetwork:
    """The virtual networks, subnets and zones private servers use (each read once)."""
    network = ObservedNetwork()
    group = env.resource_group
    for server in env.servers:
        access = server.access
        if not isinstance(access, PrivateAccess):
            continue
        subnet_ref, zone_ref = access.subnet, access.private_dns_zone
        if subnet_ref.create is not None and subnet_ref.create.vnet not in network.vnets:
            _read_vnet(clients, group, subnet_ref.create.vnet, network)
        if subnet_ref.id is not None and subnet_ref.id not in network.subnets:
            network.subnets[subnet_ref.id] = _read_subnet_by_id(clients, subnet_ref.id)
        if zone_ref.create is not None and zone_ref.create.name not in network.zones:
            name = zone_ref.create.name
            network.zones[name] = _exists(clients.dns.private_zones.get, group, name)
            links = clients.dns.virtual_network_links.list(group, name) if network.zones[name] else []
            network.zone_links[name] = [str(link.virtual_network.id) for link in links if link.virtual_network]
        if zone_ref.id is not None and zone_ref.id not in network.zones:
            parts = _id_parts(zone_ref.id)
            read = clients.dns.private_zones.get
            network.zones[zone_ref.id] = _exists(read, parts["resourcegroups"], parts["privatednszones"])
    return network


def _read_vnet(clients: AzureClients, group: str, name: str, network: ObservedNetwork) -> None:
    try:
        vnet = clients.network.virtual_networks.get(group, name)
    except ResourceNotFoundError:
        network.vnets[name] = None
        return
    space = vnet.address_space
    network.vnets[name] = list(space.address_prefixes or []) if space else []
    for subnet in vnet.subnets or []:
        network.subnets[_subnet_key(name, str(subnet.name))] = _observed_subnet(subnet)


def _read_subnet_by_id(clients: AzureClients, subnet_id: str) -> ObservedSubnet | None:
    parts = _id_parts(subnet_id)
    try:
        subnet = clients.network.subnets.get(parts["resourcegroups"], parts["virtualnetworks"], parts["subnets"])
    except ResourceNotFoundError:
        return None
    return _observed_subnet(subnet)


def _observed_subnet(subnet: Any) -> ObservedSubnet:
    delegations = subnet.delegations or []
    return ObservedSubnet(
        address_prefix=str(subnet.address_prefix),
        delegated=any(str(d.service_name).lower() == "microsoft.dbforpostgresql/flexibleservers" for d in delegations),
    )


def _exists(read: Callable[..., object], *args: str) -> bool:
    try:
        read(*args)
    except ResourceNotFoundError:
        return False
    return True


def _id_parts(resource_id: str) -> dict[str, str]:
    parts = [p for p in resource_id.split("/") if p]
    return {parts[i].lower(): parts[i + 1] for i in range(0, len(parts) - 1, 2) if parts[i].lower() != "providers"}
