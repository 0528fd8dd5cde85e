"""Injected faults and Resource Manager throttling, as the unmodified SDK meets them."""

from __future__ import annotations

import http.client
import ssl

import pytest
from azure.core.exceptions import ResourceExistsError
from azure.identity import DefaultAzureCredential

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


def _raw_get(connection: http.client.HTTPSConnection, path: str, token: str) -> http.client.HTTPResponse:
    connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    response = connection.getresponse()
    response.read()
    return response


def test_throttling_buckets_report_remaining_and_refuse_when_empty(emulator: EmulatorHandle) -> None:
    assert emulator.running is not None
    emulator.tune(throttling=True)
    token = DefaultAzureCredential().get_token("https://management.azure.com/.default").token
    host, port = emulator.base_url.removeprefix("https://").split(":")
    connection = http.client.HTTPSConnection(
        host, int(port), context=ssl.create_default_context(cafile=str(emulator.running.ca_root))
    )
    path = "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups?api-version=2025-04-01"
    first = _raw_get(connection, path, token)
    assert first.status == 200
    remaining = int(first.headers["x-ms-ratelimit-remaining-subscription-reads"])
    assert 240 <= remaining <= 249  # a 250-read burst, less this request
    statuses = [_raw_get(connection, path, token) for _ in range(300)]
    refused = [r for r in statuses if r.status == 429]
    assert refused, "300 reads at once must empty a 250-read bucket refilling at 25 per second"
    assert int(refused[0].headers["Retry-After"]) >= 1
    assert refused[0].headers["x-ms-ratelimit-remaining-subscription-reads"] == "0"
    # Writes have their own bucket: still available.
    connection.request(
        "PUT",
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/throttle-test?api-version=2025-04-01",
        body=b'{"location": "westeurope"}',
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    write = connection.getresponse()
    write.read()
    assert write.status in (200, 201)
    assert int(write.headers["x-ms-ratelimit-remaining-subscription-writes"]) >= 190
    connection.close()
