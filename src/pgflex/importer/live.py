"""What import reads from Resource Manager: the servers to import, each with its parameters, firewall rules,
databases and (where Microsoft Entra authentication is on) Entra administrators.

Every read is engine/reads.py's (shared with observe and audit), under pgflex's RetryPolicy. Cost: one existence
check of the resource group (when one is named), one paged list of its servers (or of the subscription's), then
per server imported: its parameters, its firewall rules and its databases (three list calls; two with
``databases=False``), and a list of its Entra administrators when Entra authentication is on. The server's own
settings (zones, high availability, storage tier, backup, maintenance window, authentication) come with the list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pgflex.azure.clients import AzureClients
from pgflex.azure.retry import RetryPolicy
from pgflex.concurrency import map_concurrently
from pgflex.engine.reads import (
    ObservedAdministrator,
    ObservedDatabase,
    ObservedParameter,
    list_administrators,
    list_databases,
    list_firewall_rules,
    list_parameters,
    list_servers,
    resource_group_exists,
    resource_group_of,
    server_properties,
)
from pgflex.spec import PgflexError


class ImportInputError(PgflexError):
    """What to import does not exist: no such resource group, an unknown server, nothing in the scope."""


@dataclass(frozen=True)
class LiveServer:
    """One server as Resource Manager reports it, in the plain shapes observe uses."""

    name: str
    resource_group: str
    properties: dict[str, Any]  # engine.reads.server_properties: version, skuName, tags, network ids, ...
    parameters: dict[str, ObservedParameter]
    firewall_rules: dict[str, tuple[str, str]]
    administrators: dict[str, ObservedAdministrator]  # by lower-cased object id; read only when Entra is on
    databases: dict[str, ObservedDatabase] | None  # Azure's own included; None: not read (databases=False)

    @property
    def password_auth(self) -> bool:
        return bool(self.properties["passwordAuth"])

    @property
    def entra_auth(self) -> bool:
        return bool(self.properties["activeDirectoryAuth"])


def read_live_servers(
    clients: AzureClients,
    policy: RetryPolicy,
    *,
    resource_group: str | None,
    names: Sequence[str] = (),
    databases: bool = True,
    parallelism: int = 8,
) -> list[LiveServer]:
    """The servers of ``resource_group`` (None: of the whole subscription), only ``names`` when given, sorted by
    resource group and name; their databases unless ``databases`` is False. Raises ImportInputError when the
    group, a named server or any server is missing."""
    scope = f"resource group {resource_group}" if resource_group else f"subscription {clients.subscription}"
    if resource_group is not None and not resource_group_exists(clients, policy, resource_group, scope):
        raise ImportInputError(f"resource group {resource_group} does not exist in subscription {clients.subscription}")
    listed = list_servers(clients, policy, resource_group)
    chosen = _chosen(listed, names, scope)
    if not chosen:
        raise ImportInputError(f"no Flexible Server in {scope}: nothing to import")
    return map_concurrently(lambda found: _read_one(clients, policy, found, databases), chosen, parallelism)


def _chosen(listed: list[Any], names: Sequence[str], scope: str) -> list[Any]:
    """``listed`` narrowed to ``names`` (server names are case-insensitive), sorted by group and name."""
    by_name = {str(found.name).lower(): found for found in listed}
    if names:
        unknown = sorted({name for name in names if name.lower() not in by_name})
        if unknown:
            raise ImportInputError(f"no Flexible Server named {', '.join(unknown)} in {scope}")
        listed = [by_name[name] for name in dict.fromkeys(name.lower() for name in names)]
    return sorted(listed, key=lambda found: (resource_group_of(str(found.id)).lower(), str(found.name)))


def _read_one(clients: AzureClients, policy: RetryPolicy, found: Any, databases: bool) -> LiveServer:
    name, group = str(found.name), resource_group_of(str(found.id))
    properties = server_properties(found)
    return LiveServer(
        name=name,
        resource_group=group,
        properties=properties,
        parameters=list_parameters(clients, policy, group, name),
        firewall_rules=list_firewall_rules(clients, policy, group, name),
        # A server without Entra authentication has no administrator to import: no read.
        administrators=(list_administrators(clients, policy, group, name) if properties["activeDirectoryAuth"] else {}),
        databases=list_databases(clients, policy, group, name) if databases else None,
    )
