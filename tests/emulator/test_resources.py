"""Subscriptions and resource groups through azure-mgmt-resource."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from pgflex.emulator.settings import DEFAULT_SUBSCRIPTION
from support.emulator import Clients, server_body, unique


def test_subscriptions_list_and_get(clients: Clients) -> None:
    listed = [s.subscription_id for s in clients.subscriptions.subscriptions.list()]
    assert DEFAULT_SUBSCRIPTION in listed
    subscription = clients.subscriptions.subscriptions.get(DEFAULT_SUBSCRIPTION)
    assert subscription.state == "Enabled"
    with pytest.raises(ResourceNotFoundError) as raised:
        clients.subscriptions.subscriptions.get("11111111-1111-1111-1111-111111111111")
    assert raised.value.error is not None and raised.value.error.code == "SubscriptionNotFound"


def test_resource_group_lifecycle(clients: Clients) -> None:
    groups = clients.resources.resource_groups
    name = unique("rg")
    created = groups.create_or_update(name, {"location": "westeurope", "tags": {"team": "data"}})
    assert created.name == name and created.location == "westeurope"
    assert created.properties is not None and created.properties.provisioning_state == "Succeeded"
    assert groups.get(name).tags == {"team": "data"}
    assert name in [g.name for g in groups.list()]
    assert groups.check_existence(name) is True
    groups.begin_delete(name).result()
    assert groups.check_existence(name) is False
    with pytest.raises(ResourceNotFoundError):
        groups.get(name)


def test_resource_group_location_cannot_change(clients: Clients, resource_group: str) -> None:
    with pytest.raises(HttpResponseError) as raised:
        clients.resources.resource_groups.create_or_update(resource_group, {"location": "eastus"})
    assert raised.value.status_code == 409
    assert raised.value.error is not None and raised.value.error.code == "InvalidResourceGroupLocation"


def test_deleting_a_resource_group_deletes_its_servers(clients: Clients) -> None:
    name = unique("rg")
    clients.resources.resource_groups.create_or_update(name, {"location": "westeurope"})
    server = unique("pg")
    clients.postgres.servers.begin_create_or_update(name, server, server_body()).result()
    clients.resources.resource_groups.begin_delete(name).result()
    assert server not in [s.name for s in clients.postgres.servers.list_by_subscription()]


def test_servers_need_an_existing_resource_group(clients: Clients) -> None:
    with pytest.raises(ResourceNotFoundError) as raised:
        clients.postgres.servers.begin_create_or_update(unique("rg"), unique("pg"), server_body())
    assert raised.value.error is not None and raised.value.error.code == "ResourceGroupNotFound"
