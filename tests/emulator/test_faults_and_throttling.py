"""Injected faults, as the unmodified SDK meets them (Resource Manager's throttling: test_arm_throttling.py)."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ResourceExistsError

from support.emulator import Clients, EmulatorHandle, server_body


def test_sdk_reads_survive_429_500_and_dropped_connections(
    clients: Clients, emulator: EmulatorHandle, resource_group: str, server_name: str
) -> None:
    postgres = clients.postgres
    postgres.servers.begin_create_or_update(resource_group, server_name, server_body()).result()
    emulator.reset_request_count()
    # Within what azure-core retries on its own (3 retries per call for bad statuses).
    emulator.tune(seed=7, rate_throttled=0.1, rate_server_error=0.05, rate_dropped=0.1)
    for _ in range(10):
        assert postgres.servers.get(resource_group, server_name).name == server_name
        assert postgres.configurations.get(resource_group, server_name, "require_secure_transport").value == "on"
    stats = emulator.admin().stats()
    # Faults really happened, and every call still returned the right answer through the SDK's retries.
    assert stats.get("faults.throttled", 0) > 0
    assert stats.get("faults.server_error", 0) > 0
    assert stats.get("faults.dropped", 0) > 0
    assert stats["arm"] > 20


def test_server_busy_fault_refuses_writes_but_not_reads(
    clients: Clients, emulator: EmulatorHandle, resource_group: str, server_name: str
) -> None:
    postgres = clients.postgres
    postgres.servers.begin_create_or_update(resource_group, server_name, server_body()).result()
    emulator.tune(rate_server_busy=1.0)
    with pytest.raises(ResourceExistsError) as raised:
        postgres.servers.begin_restart(resource_group, server_name)
    assert raised.value.error is not None and raised.value.error.code == "ServerBusy"
    assert postgres.servers.get(resource_group, server_name).state == "Ready"
