"""engine/reads.py, the reads observe, audit and import share: what each returns and costs, and how it fails."""

from __future__ import annotations

import pytest

from pgflex.azure.clients import connect
from pgflex.azure.retry import AzureOperationError, RetryPolicy
from pgflex.emulator.settings import DEFAULT_SUBSCRIPTION
from pgflex.engine.reads import (
    list_firewall_rules,
    list_parameters,
    list_servers,
    read_server,
    resource_group_of,
    server_properties,
)
from support.emulator import Clients, EmulatorHandle, server_body, unique

FAST = RetryPolicy(initial_seconds=0.0, max_seconds=0.0)
STINGY = RetryPolicy(attempts=3, initial_seconds=0.0, max_seconds=0.0)


@pytest.fixture
def two_servers(clients: Clients, resource_group: str) -> list[str]:
    names = [unique("rd"), unique("rd")]
    for name in names:
        body = {**server_body(), "tags": {"team": "db"}}
        clients.postgres.servers.begin_create_or_update(resource_group, name, body).result()  # type: ignore[call-overload]
    return names


def test_each_read_is_one_request_and_returns_plain_values(
    emulator: EmulatorHandle, resource_group: str, two_servers: list[str]
) -> None:
    clients = connect("local", DEFAULT_SUBSCRIPTION)
    emulator.reset_request_count()
    listed = list_servers(clients, FAST, resource_group)
    assert sorted(str(s.name) for s in listed) == sorted(two_servers)
    assert {resource_group_of(str(s.id)) for s in listed} == {resource_group}
    assert emulator.request_count("arm") == 1

    everywhere = list_servers(clients, FAST)  # the whole subscription, other tests' servers included
    assert set(two_servers) <= {str(s.name) for s in everywhere}

    name = two_servers[0]
    emulator.reset_request_count()
    found = read_server(clients, FAST, resource_group, name)
    parameters = list_parameters(clients, FAST, resource_group, name)
    rules = list_firewall_rules(clients, FAST, resource_group, name)
    assert emulator.request_count("arm") == 3
    properties = server_properties(found)
    assert properties["tags"] == {"team": "db"} and properties["version"] == "16"
    assert properties == server_properties(next(s for s in listed if s.name == name))  # a list says as much
    assert len(parameters) > 400 and rules == {}
    tls = parameters["ssl_min_protocol_version"]
    assert tls.value == "TLSv1.2" and tls.data_type == "Enumeration" and tls.source == "system-default"
    assert "TLSv1.3" in tls.allowed_values and tls.is_dynamic and not tls.read_only


def test_what_does_not_exist_and_what_keeps_failing(emulator: EmulatorHandle, resource_group: str) -> None:
    clients = connect("local", DEFAULT_SUBSCRIPTION)
    assert read_server(clients, FAST, resource_group, unique("none")) is None
    assert list_servers(clients, FAST, unique("no-group")) == []
    missing = unique("none")
    with pytest.raises(AzureOperationError) as absent:
        list_parameters(clients, FAST, resource_group, missing)
    assert str(absent.value).startswith(f"{missing}: list parameters failed: ResourceNotFound")
    emulator.tune(rate_throttled=1.0)
    emulator.reset_request_count()
    with pytest.raises(AzureOperationError) as refused:
        list_parameters(clients, STINGY, resource_group, missing)
    assert str(refused.value) == (
        f"{missing}: list parameters: gave up after 3 attempts: "
        "TooManyRequests: Too many requests (fault injected by the emulator)."
    )
    assert emulator.request_count("arm") == 3
