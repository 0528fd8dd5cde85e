"""Fixtures for verify: the live emulator of tests/live, and one fleet of servers applied from an env file.

The fleet is applied once per test worker through ``pgflex.engine.api.apply`` (every server compliant
with the spec), then each server but the first is broken out of band through the SDK in exactly one way.
One ``verify`` run over the whole fleet then serves every test that reads it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from live.conftest import live_emulator, sdk  # noqa: F401 - live_emulator is a fixture used from here
from pgflex.azure.retry import RetryPolicy
from pgflex.engine.api import apply
from pgflex.verify import VerifyReport, verify
from support.armspec import ArmSpec
from support.conformance import assert_conforming
from support.emulator import EmulatorHandle, unique
from support.specs import environment, public_server, write

PASSWORD = "Verify-Secret-Passw0rd!"
FAST_RETRY = RetryPolicy(initial_seconds=0.05, max_seconds=0.5)
LOCAL = {"local": "127.0.0.1/32"}


@dataclass(frozen=True)
class Fleet:
    env_file: Path
    group: str
    good: str  # compliant: minVersion TLSv1.3, admits 127.0.0.1
    low_minimum: str  # ssl_min_protocol_version lowered to TLSv1.2 out of band
    plaintext: str  # require_secure_transport turned off out of band
    no_sslinfo: str  # sslinfo removed from azure.extensions out of band
    blocked: str  # its only firewall rule does not cover 127.0.0.1
    report: VerifyReport


@contextmanager
def verify_environment(handle: EmulatorHandle) -> Iterator[None]:
    """What ``pgflex verify`` needs from the process: the emulator's variables and the password source."""
    saved = os.environ.get("PGFLEX_ADMIN_PASSWORD")
    os.environ["PGFLEX_ADMIN_PASSWORD"] = PASSWORD
    try:
        with handle.client_environment():
            yield
    finally:
        if saved is None:
            os.environ.pop("PGFLEX_ADMIN_PASSWORD", None)
        else:
            os.environ["PGFLEX_ADMIN_PASSWORD"] = saved


@pytest.fixture
def live(live_emulator: EmulatorHandle) -> Iterator[EmulatorHandle]:  # noqa: F811 - the fixture, by name
    with verify_environment(live_emulator):
        yield live_emulator


def _set(handle: EmulatorHandle, group: str, server: str, name: str, value: str) -> None:
    with sdk(handle) as clients:
        body = {"properties": {"value": value, "source": "user-override"}}
        clients.postgres.configurations.begin_update(group, server, name, body).result()


@pytest.fixture(scope="session")
def fleet(
    live_emulator: EmulatorHandle,  # noqa: F811 - the fixture, by name
    arm_spec: ArmSpec,
    tmp_path_factory: pytest.TempPathFactory,
) -> Fleet:
    names = {key: unique(key.replace("_", "")[:6]) for key in ("good", "low_minimum", "plaintext", "no_sslinfo")}
    names["blocked"] = unique("blocked")
    group = unique("rg-verify")
    tls = {"minVersion": "TLSv1.3"}
    servers = [public_server(name, LOCAL, tls=tls) for key, name in names.items() if key != "blocked"]
    servers.append(public_server(names["blocked"], {"office": "203.0.113.0/24"}, tls=tls))
    env_file = write(tmp_path_factory.mktemp("verify") / "env.yaml", environment(group, servers, version="15"))
    live_emulator.new_record_lines()
    with verify_environment(live_emulator):
        result = apply(env_file, retry=FAST_RETRY)
        assert result.converged, result.failures
        _set(live_emulator, group, names["low_minimum"], "ssl_min_protocol_version", "TLSv1.2")
        _set(live_emulator, group, names["plaintext"], "require_secure_transport", "off")
        _set(live_emulator, group, names["no_sslinfo"], "azure.extensions", "")
        report = verify(env_file)
    assert_conforming(live_emulator, arm_spec)  # the setup's responses belong to no test
    return Fleet(env_file=env_file, group=group, report=report, **names)
