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
from .reads import resource_group_exists


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
    """Delete servers, then the zone links, zones, subnets and virtual networks the spec created.

    Returns what was deleted, and only that: Resource Manager answers a DELETE of something that does not exist
    with success (204), so each object is read first, and one not found is skipped (a note) and never listed. A
    resource group that does not exist holds nothing: one request, and nothing to delete.
    """
    retry = retry or RetryPolicy()
    report = progress or (lambda event: None)
    group = env.resource_group
    deleted: list[str] = []

    def exists(scope: str, operation: str, read: Callable[[], Any]) -> bool:
        try:
            retry.call(scope, operation, read)
        except AzureOperationError as error:
            if isinstance(error.cause, ResourceNotFoundError):  # the SDK's error, wrapped by the retry policy
                return False
            raise
        return True

    if not resource_group_exists(clients, retry, group, "environment"):
        report(Event("environment", "destroy", Phase.NOTE, f"resource group {group} does not exist: nothing to delete"))
        return deleted

    def delete(scope: str, what: str, read: Callable[..., Any], begin: Callable[..., Any], *args: str) -> None:
        if not exists(scope, f"read {what}", lambda: read(*args)):
            report(Event(scope, f"delete {what}", Phase.NOTE, "not found: nothing to delete"))
            return
        report(Event(scope, f"delete {what}", Phase.STARTED))
        try:
            retry.finish(scope, f"delete {what}", begin, *args)
        except AzureOperationError as error:
            if not isinstance(error.cause, ResourceNotFoundError):
                raise
            report(Event(scope, f"delete {what}", Phase.NOTE, "already gone"))  # deleted by someone else meanwhile
            return
        deleted.append(what)
        report(Event(scope, f"delete {what}", Phase.DONE))

    postgres, network, dns = clients.postgres, clients.network, clients.dns
    for server in env.servers:
        name = server.name
        delete(name, f"server {name}", postgres.servers.get, postgres.servers.begin_delete, group, name)
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
        links_api = dns.virtual_network_links
        delete("environment", what, links_api.get, links_api.begin_delete, group, zone, vnet)
    for zone in dict.fromkeys(zones):
        what = f"private DNS zone {zone}"
        delete("environment", what, dns.private_zones.get, dns.private_zones.begin_delete, group, zone)
    for vnet, subnet in dict.fromkeys(subnets):
        what = f"subnet {vnet}/{subnet}"
        delete("environment", what, network.subnets.get, network.subnets.begin_delete, group, vnet, subnet)
    for vnet in dict.fromkeys(v for v, _ in subnets):
        what = f"virtual network {vnet}"
        vnets = network.virtual_networks
        delete("environment", what, vnets.get, vnets.begin_delete, group, vnet)
    return deleted
