"""Shared fixtures: one control-plane emulator per test worker, SDK clients, spec conformance.

Every ARM response recorded during a test that uses the emulator is validated against the
official OpenAPI specification when the test ends; a nonconforming response fails the test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.armspec import ArmSpec
from support.conformance import assert_conforming
from support.emulator import THROTTLE_DEFAULTS, Clients, EmulatorHandle, make_handle, unique


@pytest.fixture(scope="session")
def control_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorHandle]:
    """An emulator without data plane: fast, for control-plane behaviour."""
    handle = make_handle(tmp_path_factory.mktemp("control-emulator"), data_plane=False)
    handle.start()
    with handle.client_environment():
        yield handle
    handle.stop()


@pytest.fixture(scope="session")
def arm_spec() -> ArmSpec:
    return ArmSpec.load()


@pytest.fixture
def emulator(control_emulator: EmulatorHandle, arm_spec: ArmSpec) -> Iterator[EmulatorHandle]:
    control_emulator.new_record_lines()  # start this test's record from here
    yield control_emulator
    control_emulator.tune(
        latency_ms=0.0,
        operation_seconds=0.05,
        rate_throttled=0.0,
        rate_server_error=0.0,
        rate_server_busy=0.0,
        rate_dropped=0.0,
        rate_operation_failed=0.0,
        throttling=False,
        page_size=100,
        **THROTTLE_DEFAULTS,
    )
    assert_conforming(control_emulator, arm_spec)


@pytest.fixture
def clients(emulator: EmulatorHandle) -> Clients:
    return emulator.clients()


@pytest.fixture
def resource_group(clients: Clients) -> str:
    name = unique("rg")
    clients.resources.resource_groups.create_or_update(name, {"location": "westeurope"})
    return name


@pytest.fixture
def server_name() -> str:
    return unique("pg")
