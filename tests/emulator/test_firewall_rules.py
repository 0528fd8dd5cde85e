"""Firewall rules: CRUD and Azure's validation."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from support.emulator import Clients, server_body


@pytest.fixture
def server(clients: Clients, resource_group: str, server_name: str) -> str:
    clients.postgres.servers.begin_create_or_update(resource_group, server_name, server_body()).result()
    return server_name


def _rule(start: str, end: str) -> dict[str, object]:
    return {"properties": {"startIpAddress": start, "endIpAddress": end}}


def test_rule_lifecycle(clients: Clients, resource_group: str, server: str) -> None:
    rules = clients.postgres.firewall_rules
    created = rules.begin_create_or_update(
        resource_group, server, "office", _rule("203.0.113.0", "203.0.113.255")
    ).result()
    assert (created.name, created.start_ip_address, created.end_ip_address) == (
        "office",
        "203.0.113.0",
        "203.0.113.255",
    )
    rules.begin_create_or_update(resource_group, server, "office", _rule("203.0.113.0", "203.0.113.127")).result()
    assert rules.get(resource_group, server, "office").end_ip_address == "203.0.113.127"
    rules.begin_create_or_update(resource_group, server, "ci-runner_1", _rule("198.51.100.7", "198.51.100.7")).result()
    assert sorted(r.name for r in rules.list_by_server(resource_group, server)) == ["ci-runner_1", "office"]
    rules.begin_delete(resource_group, server, "office").result()
    with pytest.raises(ResourceNotFoundError):
        rules.get(resource_group, server, "office")
    assert [r.name for r in rules.list_by_server(resource_group, server)] == ["ci-runner_1"]
    rules.begin_delete(resource_group, server, "office").result()  # deleting what is gone is fine (204)


@pytest.mark.parametrize(
    ("name", "start", "end", "code"),
    [
        ("r1", "10.0.0.300", "10.0.0.1", "InvalidFirewallRuleIpAddress"),
        ("r1", "2001:db8::1", "2001:db8::2", "InvalidFirewallRuleIpAddress"),
        ("r1", "10.0.0.9", "10.0.0.1", "FirewallRuleStartIpAddressGreaterThanEndIpAddress"),
        ("bad name!", "10.0.0.1", "10.0.0.1", "InvalidParameterValue"),
    ],
)
def test_invalid_rules_are_refused(
    clients: Clients, resource_group: str, server: str, name: str, start: str, end: str, code: str
) -> None:
    with pytest.raises(HttpResponseError) as raised:
        clients.postgres.firewall_rules.begin_create_or_update(resource_group, server, name, _rule(start, end))
    assert raised.value.status_code == 400
    assert raised.value.error is not None and raised.value.error.code == code
    assert list(clients.postgres.firewall_rules.list_by_server(resource_group, server)) == []
