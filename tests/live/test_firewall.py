"""Firewall rules set through the SDK decide which client addresses the server admits."""

from __future__ import annotations

import psycopg
import pytest

from support.emulator import Clients, EmulatorHandle

from .conftest import LOCAL_RULE, LiveServer, connect, create_server, scalar

pytestmark = pytest.mark.dataplane

ELSEWHERE_RULE = {"properties": {"startIpAddress": "10.20.0.1", "endIpAddress": "10.20.0.254"}}


def assert_blocked(handle: EmulatorHandle, server: LiveServer) -> None:
    with pytest.raises(psycopg.OperationalError, match=r"no pg_hba\.conf entry for host \"127\.0\.0\.1\""):
        connect(handle, server.fqdn)


def test_only_a_rule_covering_the_client_admits_it(
    emulator: EmulatorHandle, clients: Clients, resource_group: str
) -> None:
    rules = clients.postgres.firewall_rules
    server = create_server(clients, resource_group, local_rule=False)
    assert_blocked(emulator, server)  # a new server admits nobody

    rules.begin_create_or_update(server.group, server.name, "elsewhere", ELSEWHERE_RULE).result()
    assert_blocked(emulator, server)

    rules.begin_create_or_update(server.group, server.name, "local", LOCAL_RULE).result()
    with connect(emulator, server.fqdn) as conn:
        assert str(scalar(conn, "SELECT inet_client_addr()")) == "127.0.0.1"

    rules.begin_delete(server.group, server.name, "local").result()
    assert_blocked(emulator, server)
