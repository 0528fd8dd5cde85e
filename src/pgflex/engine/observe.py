"""Observe: read what exists, only the fields pgflex manages, concurrently across servers.

Per server: one GET of the server, its managed parameters (targeted GETs, or the paged list when
that takes fewer calls), one list of firewall rules. Network objects once per environment.

Every read goes through pgflex's RetryPolicy, as writes do (azure-core's own retries are off in pgflex's
clients): a read the service keeps refusing ends in an AzureOperationError that names the server (or
``environment``), the read and how many attempts it took.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, TypeVar

from azure.core.exceptions import ResourceNotFoundError

from pgflex.azure.clients import AzureClients
from pgflex.azure.retry import RetryPolicy
from pgflex.concurrency import map_concurrently
from pgflex.spec import Environment, PrivateAccess, Server

from .desired import desired_parameters

# The service's parameter catalogue has 415 entries in pages of 100 (measured on the emulator,
# which replays the official list): 5 calls for the whole list.
CATALOGUE_PAGES = math.ceil(415 / 100)
ParameterStrategy = Literal["auto", "targeted", "list"]
ENVIRONMENT = "environment"  # the scope of reads that belong to no one server
T = TypeVar("T")


@dataclass(frozen=True)
class ObservedParameter:
    value: str
    data_type: str
    is_dynamic: bool
    pending_restart: bool
    source: str
    # What the server accepts, read with the value at no extra cost, for pre-flight (engine/preflight.py).
    allowed_values: str = ""
    read_only: bool = False


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
    retry: RetryPolicy | None = None,
) -> Observed:
    policy = retry or RetryPolicy()
    before = clients.counter.total
    group = env.resource_group
    group_exists = policy.call(
        ENVIRONMENT,
        f"check resource group {group}",
        lambda: bool(clients.resources.resource_groups.check_existence(group)),
    )
    if group_exists:
        servers = map_concurrently(
            lambda s: observe_server(env, clients, s, parameter_strategy, policy),
            env.servers,
            parallelism,
        )
        network = observe_network(env, clients, policy)
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
    retry: RetryPolicy | None = None,
) -> ObservedServer:
    policy = retry or RetryPolicy()
    postgres = clients.postgres
    group = env.resource_group
    found = policy.call(server.name, "read server", lambda: _or_none(postgres.servers.get, group, server.name))
    if found is None:
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
    parameters = _observe_parameters(clients, group, server.name, names, strategy, policy)
    rules: dict[str, tuple[str, str]] = {}
    listed = policy.call(
        server.name, "list firewall rules", lambda: list(postgres.firewall_rules.list_by_server(group, server.name))
    )
    for rule in listed:
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
    clients: AzureClients,
    group: str,
    server: str,
    names: list[str],
    strategy: ParameterStrategy,
    policy: RetryPolicy,
) -> dict[str, ObservedParameter]:
    configurations = clients.postgres.configurations
    if strategy == "list" or (strategy == "auto" and len(names) > CATALOGUE_PAGES):
        wanted = set(names)
        # Every page inside the retried call: a page refused halfway reads the list again from the start.
        listed = policy.call(server, "list parameters", lambda: list(configurations.list_by_server(group, server)))
        found = [c for c in listed if c.name in wanted]
    else:
        found = [_read_parameter(policy, configurations, group, server, name) for name in names]
    return {
        str(c.name): ObservedParameter(
            value=str(c.value or ""),
            data_type=sdk_text(c.data_type or "String"),
            is_dynamic=bool(c.is_dynamic_config),
            pending_restart=bool(c.is_config_pending_restart),
            source=sdk_text(c.source or ""),
            allowed_values=str(c.allowed_values or ""),
            read_only=bool(c.is_read_only),
        )
        for c in found
        if c is not None
    }


def _read_parameter(policy: RetryPolicy, configurations: Any, group: str, server: str, name: str) -> Any:
    # None when the server has no such parameter (ConfigurationNotExists): pre-flight names it, as the list
    # read does by leaving it out.
    read = configurations.get
    return policy.call(server, f"read parameter {name}", lambda: _or_none(read, group, server, name))


def _or_none(read: Callable[..., T], *args: str) -> T | None:
    """``read(*args)``, or None when the resource does not exist (a fact, not a failure to retry)."""
    try:
        return read(*args)
    except ResourceNotFoundError:
        return None


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


def observe_network(env: Environment, clients: AzureClients, retry: RetryPolicy | None = None) -> ObservedNetwork:
    """The virtual networks, subnets and zones private servers use (each read once)."""
    policy = retry or RetryPolicy()
    network = ObservedNetwork()
    group = env.resource_group
    for server in env.servers:
        access = server.access
        if not isinstance(access, PrivateAccess):
            continue
        subnet_ref, zone_ref = access.subnet, access.private_dns_zone
        if subnet_ref.create is not None and subnet_ref.create.vnet not in network.vnets:
            _read_vnet(clients, policy, group, subnet_ref.create.vnet, network)
        if subnet_ref.id is not None and subnet_ref.id not in network.subnets:
            network.subnets[subnet_ref.id] = read_subnet_by_id(clients, policy, subnet_ref.id)
        if zone_ref.create is not None and zone_ref.create.name not in network.zones:
            name = zone_ref.create.name
            network.zones[name] = _zone_exists(clients, policy, group, name)
            links = _zone_links(clients, policy, group, name) if network.zones[name] else []
            network.zone_links[name] = [str(link.virtual_network.id) for link in links if link.virtual_network]
        if zone_ref.id is not None and zone_ref.id not in network.zones:
            network.zones[zone_ref.id] = zone_exists_by_id(clients, policy, zone_ref.id)
    return network


def zone_exists_by_id(clients: AzureClients, policy: RetryPolicy, zone_id: str) -> bool:
    parts = _id_parts(zone_id)
    return _zone_exists(clients, policy, parts["resourcegroups"], parts["privatednszones"])


def _zone_exists(clients: AzureClients, policy: RetryPolicy, group: str, name: str) -> bool:
    read = clients.dns.private_zones.get
    return policy.call(ENVIRONMENT, f"read private DNS zone {name}", lambda: _or_none(read, group, name)) is not None


def _zone_links(clients: AzureClients, policy: RetryPolicy, group: str, name: str) -> list[Any]:
    read = clients.dns.virtual_network_links.list
    return policy.call(ENVIRONMENT, f"list links of private DNS zone {name}", lambda: list(read(group, name)))


def _read_vnet(clients: AzureClients, policy: RetryPolicy, group: str, name: str, network: ObservedNetwork) -> None:
    read = clients.network.virtual_networks.get
    vnet = policy.call(ENVIRONMENT, f"read virtual network {name}", lambda: _or_none(read, group, name))
    if vnet is None:
        network.vnets[name] = None
        return
    space = vnet.address_space
    network.vnets[name] = list(space.address_prefixes or []) if space else []
    for subnet in vnet.subnets or []:
        network.subnets[_subnet_key(name, str(subnet.name))] = _observed_subnet(subnet)


def read_subnet_by_id(clients: AzureClients, policy: RetryPolicy, subnet_id: str) -> ObservedSubnet | None:
    parts = _id_parts(subnet_id)
    where = (parts["resourcegroups"], parts["virtualnetworks"], parts["subnets"])
    read = clients.network.subnets.get
    subnet = policy.call(ENVIRONMENT, f"read subnet {subnet_id}", lambda: _or_none(read, *where))
    return None if subnet is None else _observed_subnet(subnet)


def _observed_subnet(subnet: Any) -> ObservedSubnet:
    delegations = subnet.delegations or []
    return ObservedSubnet(
        address_prefix=str(subnet.address_prefix),
        delegated=any(str(d.service_name).lower() == "microsoft.dbforpostgresql/flexibleservers" for d in delegations),
    )


def _id_parts(resource_id: str) -> dict[str, str]:
    parts = [p for p in resource_id.split("/") if p]
    return {parts[i].lower(): parts[i + 1] for i in range(0, len(parts) - 1, 2) if parts[i].lower() != "providers"}
