"""Destroy: delete what an environment made, servers first. Only on explicit request.

Each deletion is a long-running operation under pgflex's RetryPolicy: the DELETE, every status poll
(resumed, never re-sent, after a throttled or failed poll) and the operation itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from pgflex.azure.clients import AzureClients
from pgflex.azure.retry import AzureOperationError, RetryPolicy
from pgflex.spec import Environment, PrivateAccess

from .apply import DEFAULT_LOCK_TIMEOUT_SECONDS, Event, Phase, Progress
from .lease import Lease


def destroy_environment(
    env: Environment,
    clients: AzureClients,
    *,
    progress: Progress | None = None,
    retry: RetryPolicy | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS,
) -> list[str]:
    """Under the environment's lease (an apply must not recreate what this deletes), delete what the spec made."""
    # No group, nothing to delete: the lease then neither creates the group nor writes anything.
    lease = Lease(
        env, clients, operation="destroy", lock_timeout=lock_timeout, create_group=False, retry=retry, progress=progress
    )
    with lease:
        return _destroy(env, clients, progress=progress, retry=retry)


def _destroy(
    env: Environment, clients: AzureClients, *, progress: Progress | None = None, retry: RetryPolicy | None = None
) -> list[str]:
    """Delete servers, then the zone links, zones, subnets and virtual networks the spec created."""
    retry = retry or RetryPolicy()
    report = progress or (lambda event: None)
    group = env.resource_group
    deleted: list[str] = []

    def delete(scope: str, what: str, begin: Callable[..., Any], *args: str) -> None:
        report(Event(scope, f"delete {what}", Phase.STARTED))
        try:
            retry.finish(scope, f"delete {what}", begin, *args)
        except AzureOperationError as error:
            if not isinstance(error.cause, ResourceNotFoundError):
                raise
            report(Event(scope, f"delete {what}", Phase.NOTE, "already gone"))
            return
        deleted.append(what)
        report(Event(scope, f"delete {what}", Phase.DONE))

    postgres, network, dns = clients.postgres, clients.network, clients.dns
    for server in env.servers:
        name = server.name
        delete(name, f"server {name}", postgres.servers.begin_delete, group, name)
    links: list[tuple[str, str]] = []
    zones: list[str] = []
    subnets: list[tuple[str, str]] = []
    for server in env.servers:
        access = server.access
        if not isinstance(access, PrivateAccess):
            continue
        created_subnet, created_zone = access.subnet.create, access.private_dns_zone.create
        if created_zone is not None:
            zones.append(created_zone.name)
            if created_subnet is not None:
                links.append((created_zone.name, created_subnet.vnet))
        if created_subnet is not None:
            subnets.append((created_subnet.vnet, created_subnet.name))
    for zone, vnet in dict.fromkeys(links):
        what = f"zone link {zone}/{vnet}"
        delete("environment", what, dns.virtual_network_links.begin_delete, group, zone, vnet)
    for zone in dict.fromkeys(zones):
        delete("environment", f"private DNS zone {zone}", dns.private_zones.begin_delete, group, zone)
    for vnet, subnet in dict.fromkeys(subnets):
        what = f"subnet {vnet}/{subnet}"
        delete("environment", what, network.subnets.begin_delete, group, vnet, subnet)
    for vnet in dict.fromkeys(v for v, _ in subnets):
        what = f"virtual network {vnet}"
        delete("environment", what, network.virtual_networks.begin_delete, group, vnet)
    return deleted
