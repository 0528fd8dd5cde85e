"""The subscriptions an identity can see: what ``pgflex audit`` reads when no ``--subscription`` is given.

One paged list (``GET /subscriptions``), read whole under pgflex's RetryPolicy, with the same credential,
endpoint and transport as the Resource Manager clients it is given.
"""

from __future__ import annotations

from dataclasses import dataclass

from pgflex.azure.clients import AzureClients
from pgflex.azure.retry import RetryPolicy

TENANT = "tenant"  # the scope of a read that belongs to no subscription, in messages
# States in which a subscription's resources can be read; Disabled and Deleted ones answer with errors.
READABLE_STATES = frozenset({"Enabled", "Warned", "PastDue"})


@dataclass(frozen=True)
class Subscription:
    id: str
    display_name: str
    state: str

    @property
    def readable(self) -> bool:
        return self.state in READABLE_STATES


def list_subscriptions(clients: AzureClients, policy: RetryPolicy) -> list[Subscription]:
    """Every subscription the identity behind ``clients`` can list, sorted by id."""
    from azure.mgmt.resource.subscriptions import SubscriptionClient

    # The clients' own options: the endpoint and audience of their cloud, pgflex's request counter, its retry
    # policy instead of azure-core's, one shared transport.
    client = SubscriptionClient(clients.credential, **clients._options)
    listed = policy.call(TENANT, "list subscriptions", lambda: list(client.subscriptions.list()))
    found = [
        Subscription(str(s.subscription_id), str(s.display_name or ""), str(getattr(s.state, "value", s.state)))
        for s in listed
        if s.subscription_id
    ]
    return sorted(found, key=lambda s: s.id)
