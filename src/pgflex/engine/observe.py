"""Observe: read what exists, only the fields pgflex manages, concurrently across servers.

At most 3 reads per server, whatever its rule and parameter counts: the servers of the resource group by
one paged list (one GET when the env file names a single server: fewer calls), all of a server's
parameters by one list, its firewall rules by one list. The server's settings (zones, high availability,
storage tier, backup, maintenance window, authentication) come with the server from that list or GET, at no
extra read. Only a server whose spec manages them costs more: one list of its Microsoft Entra administrators
when the spec lists them (``authentication.entra.administrators``), one list of its databases when the spec
names databases or prunes them; 5 reads at most. Network objects once per environment. The reads themselves
are engine/reads.py's, shared with audit and import.

Every read goes through pgflex's RetryPolicy, as writes do (azure-core's own retries are off in pgflex's
clients): a read the service keeps refusing ends in an AzureOperationError that names the server (or
``environment``), the read and how many attempts it took.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from pgflex.azure.clients import AzureClients
from pgflex.azure.retry import RetryPolicy
from pgflex.concurrency import map_concurrently
from pgflex.spec import Environment, PrivateAccess, Server

from .desired import desired_parameters
from .reads import (
    ObservedAdministrator,
    ObservedDatabase,
    ObservedParameter,
    id_parts,
    list_administrators,
    list_databases,
    list_firewall_rules,
    list_parameters,
    list_servers,
    or_none,
    read_server,
    resource_group_exists,
    sdk_text,
    server_properties,
    server_state,
)

__all__ = [
    "ENVIRONMENT",
    "Observed",
    "ObservedAdministrator",
    "ObservedDatabase",
    "ObservedNetwork",
    "ObservedParameter",
    "ObservedServer",
    "sdk_text",
]

ENVIRONMENT = "environment"  # the scope of reads that belong to no one server


@dataclass(frozen=True)
class ObservedServer:
    name: str
    exists: bool
    state: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, ObservedParameter] = field(default_factory=dict)
    firewall_rules: dict[str, tuple[str, str]] = field(default_factory=dict)
    # Read only when the spec manages them (None: not read): by lower-cased object id, and by name.
    administrators: dict[str, ObservedAdministrator] | None = None
    databases: dict[str, ObservedDatabase] | None = None


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
    retry: RetryPolicy | None = None,
    servers: Sequence[Server] | None = None,
) -> Observed:
    """What exists of ``env`` (or of the given ``servers`` of it: apply's final re-plan of what changed)."""
    policy = retry or RetryPolicy()
    before = clients.counter.total
    group = env.resource_group
    wanted = env.servers if servers is None else servers
    group_exists = resource_group_exists(clients, policy, group, ENVIRONMENT)
    if group_exists:
        found = _servers_of_group(clients, policy, group, wanted)
        observed = map_concurrently(
            lambda s: observe_found(env, clients, s, found[s.name.lower()], policy), wanted, parallelism
        )
        network = observe_network(env, clients, policy)
    else:  # nothing can exist in a missing resource group
        observed = [ObservedServer(name=s.name, exists=False) for s in wanted]
        network = _absent_network(env)
    return Observed(
        resource_group_exists=group_exists,
        servers={s.name: s for s in observed},
        network=network,
        requests=clients.counter.total - before,
    )


def _servers_of_group(
    clients: AzureClients, policy: RetryPolicy, group: str, wanted: Sequence[Server]
) -> dict[str, Any]:
    """The SDK server of each wanted name (None: absent), lower-cased: server names are case-insensitive."""
    if len(wanted) == 1:  # one GET is fewer calls than a list of the whole group
        return {wanted[0].name.lower(): read_server(clients, policy, group, wanted[0].name)}
    listed = {str(s.name).lower(): s for s in list_servers(clients, policy, group)}
    return {s.name.lower(): listed.get(s.name.lower()) for s in wanted}


def observe_server(
    env: Environment, clients: AzureClients, server: Server, retry: RetryPolicy | None = None
) -> ObservedServer:
    """One server on its own: a GET of it, then its parameters and rules (3 reads), and its administrators and
    databases when the spec manages them."""
    policy = retry or RetryPolicy()
    found = read_server(clients, policy, env.resource_group, server.name)
    return observe_found(env, clients, server, found, policy)


def observe_found(
    env: Environment, clients: AzureClients, server: Server, found: Any | None, policy: RetryPolicy
) -> ObservedServer:
    """A server already read (an SDK server, or None when it does not exist), with its parameters and rules, and
    its Entra administrators and databases when the spec manages them (`manages_administrators`,
    `manages_databases`)."""
    if found is None:
        return ObservedServer(name=server.name, exists=False)
    group = env.resource_group
    # azure.extensions is read even without verify, so the observed state (and a plan's fingerprint)
    # does not depend on the flag. A name the server lacks is left out: pre-flight names it.
    managed = desired_parameters(server, verify=True)
    # Keyed by the spec's (lower-case) names: the service spells a few with capitals (DateStyle, TimeZone), and
    # PostgreSQL's parameter names are case-insensitive.
    parameters = {name.lower(): found for name, found in list_parameters(clients, policy, group, server.name).items()}
    return ObservedServer(
        name=server.name,
        exists=True,
        state=server_state(found),
        properties=server_properties(found),
        parameters={name: parameters[name.lower()] for name in sorted(managed) if name.lower() in parameters},
        firewall_rules=list_firewall_rules(clients, policy, group, server.name),
        administrators=(
            list_administrators(clients, policy, group, server.name) if manages_administrators(server) else None
        ),
        databases=list_databases(clients, policy, group, server.name) if manages_databases(server) else None,
    )


def manages_administrators(server: Server) -> bool:
    """The spec lists the server's Entra administrators (`entra: true` alone leaves them to whoever adds them)."""
    return server.authentication.entra and server.authentication.entra_administrators is not None


def manages_databases(server: Server) -> bool:
    """The spec names databases to create, or asks to delete those it does not name."""
    return bool(server.databases) or server.prune_databases


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
    parts = id_parts(zone_id)
    return _zone_exists(clients, policy, parts["resourcegroups"], parts["privatednszones"])


def _zone_exists(clients: AzureClients, policy: RetryPolicy, group: str, name: str) -> bool:
    read = clients.dns.private_zones.get
    return (
        policy.call(ENVIRONMENT, f"read private DNS zone {name}", lambda: or_none(lambda: read(group, name)))
        is not None
    )


def _zone_links(clients: AzureClients, policy: RetryPolicy, group: str, name: str) -> list[Any]:
    read = clients.dns.virtual_network_links.list
    return policy.call(ENVIRONMENT, f"list links of private DNS zone {name}", lambda: list(read(group, name)))


def _read_vnet(clients: AzureClients, policy: RetryPolicy, group: str, name: str, network: ObservedNetwork) -> None:
    read = clients.network.virtual_networks.get
    vnet = policy.call(ENVIRONMENT, f"read virtual network {name}", lambda: or_none(lambda: read(group, name)))
    if vnet is None:
        network.vnets[name] = None
        return
    space = vnet.address_space
    network.vnets[name] = list(space.address_prefixes or []) if space else []
    for subnet in vnet.subnets or []:
        network.subnets[_subnet_key(name, str(subnet.name))] = _observed_subnet(subnet)


def read_subnet_by_id(clients: AzureClients, policy: RetryPolicy, subnet_id: str) -> ObservedSubnet | None:
    parts = id_parts(subnet_id)
    where = (parts["resourcegroups"], parts["virtualnetworks"], parts["subnets"])
    read = clients.network.subnets.get
    subnet = policy.call(ENVIRONMENT, f"read subnet {subnet_id}", lambda: or_none(lambda: read(*where)))
    return None if subnet is None else _observed_subnet(subnet)


def _observed_subnet(subnet: Any) -> ObservedSubnet:
    delegations = subnet.delegations or []
    return ObservedSubnet(
        address_prefix=str(subnet.address_prefix),
        delegated=any(str(d.service_name).lower() == "microsoft.dbforpostgresql/flexibleservers" for d in delegations),
    )
