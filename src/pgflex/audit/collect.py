"""Reading a subscription's Flexible Servers for an audit: their TLS parameters, network access and firewall rules.

Per subscription, one paged list of its servers; per server, one list of its parameters and one list of its
firewall rules (none for a VNet-integrated server, which has no public endpoint): at most 2 reads per server
beyond the subscription's list, whatever its parameter and rule counts. The reads are engine/reads.py's, each
under pgflex's RetryPolicy. A server that cannot be read is an error of the audit, not a reason to stop
reading the others.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from pgflex.azure.clients import AzureClients
from pgflex.azure.retry import RetryPolicy
from pgflex.concurrency import map_concurrently
from pgflex.engine.managed import is_managed
from pgflex.engine.reads import (
    list_firewall_rules,
    list_parameters,
    list_servers,
    resource_group_of,
    server_properties,
    server_state,
)
from pgflex.spec import PgflexError

Access = Literal["public", "private", "closed"]


@dataclass(frozen=True)
class FirewallRange:
    """One firewall rule as the service stores it: an inclusive IPv4 range."""

    name: str
    start: str
    end: str


@dataclass(frozen=True)
class ServerPosture:
    """What an audit read of one server: its identity, TLS parameters and network exposure."""

    id: str
    name: str
    subscription: str
    resource_group: str
    location: str | None
    state: str
    managed: bool
    public_network_access: str | None  # "Enabled" or "Disabled" as the service says it
    delegated_subnet_id: str | None  # VNet integration: set for a private server
    # The TLS parameters as the server reports them; None when it does not report one ("" is no maximum).
    require_secure_transport: str | None
    ssl_min_protocol_version: str | None
    ssl_max_protocol_version: str | None
    firewall_rules: tuple[FirewallRange, ...]

    @property
    def access(self) -> Access:
        """private: VNet-integrated; public: public network access enabled; closed: neither (private endpoints only)."""
        if self.delegated_subnet_id:
            return "private"
        return "public" if self.public_network_access == "Enabled" else "closed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "subscription": self.subscription,
            "resourceGroup": self.resource_group,
            "location": self.location,
            "state": self.state,
            "managed": self.managed,
            "access": self.access,
            "publicNetworkAccess": self.public_network_access,
            "delegatedSubnetId": self.delegated_subnet_id,
            "requireSecureTransport": self.require_secure_transport,
            "sslMinProtocolVersion": self.ssl_min_protocol_version,
            "sslMaxProtocolVersion": self.ssl_max_protocol_version,
            "firewallRules": [asdict(rule) for rule in self.firewall_rules],
        }


@dataclass(frozen=True)
class AuditError:
    """A read that failed for good: ``scope`` is a server's id or a subscription."""

    scope: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SubscriptionServers:
    servers: tuple[ServerPosture, ...]
    errors: tuple[AuditError, ...]


def collect_subscription(
    clients: AzureClients,
    policy: RetryPolicy,
    *,
    parallelism: int = 8,
    on_listed: Callable[[int], None] | None = None,
    on_server: Callable[[], None] | None = None,
) -> SubscriptionServers:
    """Every Flexible Server of the clients' subscription, read concurrently; ``on_listed(count)`` once the list
    is in, ``on_server()`` after each server (for progress)."""
    subscription = clients.subscription
    try:
        listed = list_servers(clients, policy)
    except PgflexError as failed:
        return SubscriptionServers((), (AuditError(f"subscription {subscription}", str(failed)),))
    if on_listed is not None:
        on_listed(len(listed))
    lock = threading.Lock()

    def read(found: Any) -> ServerPosture | AuditError:
        try:
            return _read_server(clients, policy, found)
        except PgflexError as failed:
            return AuditError(str(found.id), str(failed))
        finally:
            if on_server is not None:
                with lock:
                    on_server()

    results = map_concurrently(read, sorted(listed, key=lambda s: str(s.id).lower()), parallelism)
    return SubscriptionServers(
        servers=tuple(r for r in results if isinstance(r, ServerPosture)),
        errors=tuple(r for r in results if isinstance(r, AuditError)),
    )


def _read_server(clients: AzureClients, policy: RetryPolicy, found: Any) -> ServerPosture:
    properties = server_properties(found)
    group, name = resource_group_of(str(found.id)), str(found.name)
    parameters = list_parameters(clients, policy, group, name)

    def value(parameter: str) -> str | None:
        return parameters[parameter].value if parameter in parameters else None

    rules: dict[str, tuple[str, str]] = {}
    if not properties["delegatedSubnetId"]:
        rules = list_firewall_rules(clients, policy, group, name)
    return ServerPosture(
        id=str(found.id),
        name=name,
        subscription=clients.subscription,
        resource_group=group,
        location=properties["location"],
        state=server_state(found),
        managed=is_managed(properties["tags"]),
        public_network_access=properties["publicNetworkAccess"],
        delegated_subnet_id=properties["delegatedSubnetId"],
        require_secure_transport=value("require_secure_transport"),
        ssl_min_protocol_version=value("ssl_min_protocol_version"),
        ssl_max_protocol_version=value("ssl_max_protocol_version"),
        firewall_rules=tuple(FirewallRange(rule, *rules[rule]) for rule in sorted(rules)),
    )
