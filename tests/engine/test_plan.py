"""Plans through the real SDK against the emulator: what an empty subscription needs, in order."""

from __future__ import annotations

import hashlib
import json
from importlib.metadata import version
from pathlib import Path

import pytest

from pgflex.engine.api import plan
from pgflex.engine.plan import PLAN_FORMAT_VERSION, Action, Kind, Plan
from pgflex.spec import load_spec
from support.emulator import Clients, EmulatorHandle, unique
from support.specs import environment, private_server, public_server, write

PASSWORD = "Plan-Secret-Passw0rd!"


@pytest.fixture
def env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PGFLEX_ADMIN_PASSWORD", PASSWORD)
    group = unique("rg-plan")
    document = environment(
        group,
        [
            public_server(
                unique("pub"), {"office": "203.0.113.0/24", "ci": "198.51.100.7/32"}, tls={"minVersion": "TLSv1.3"}
            ),
            private_server(unique("priv"), "vnet-db", f"{unique('z')}.private.postgres.database.azure.com"),
        ],
    )
    return write(tmp_path / "env.yaml", document)


def test_plan_for_an_empty_subscription_lists_every_object_in_a_valid_order(
    emulator: EmulatorHandle, env_file: Path
) -> None:
    env = load_spec(env_file)
    result = plan(env)
    kinds = [(c.kind, c.action) for c in result.environment_changes]
    assert kinds == [
        (Kind.RESOURCE_GROUP, Action.CREATE),
        (Kind.VIRTUAL_NETWORK, Action.CREATE),
        (Kind.SUBNET, Action.CREATE),
        (Kind.PRIVATE_DNS_ZONE, Action.CREATE),
        (Kind.PRIVATE_DNS_ZONE_LINK, Action.CREATE),
    ]
    public, private = result.servers
    assert (public.changes[0].kind, public.changes[0].action) == (Kind.SERVER, Action.CREATE)
    assert public.changes[0].after["network"] == {"publicNetworkAccess": "Enabled"}
    pending = {(c.kind, c.name): c for c in public.pending}
    assert pending[(Kind.PARAMETER, "ssl_min_protocol_version")].after == "TLSv1.3"
    assert pending[(Kind.PARAMETER, "azure.extensions")].after == "sslinfo"  # verify needs it
    assert {name for kind, name in pending if kind is Kind.FIREWALL_RULE} == {"office", "ci"}
    assert (Kind.PARAMETER, "require_secure_transport") not in pending  # already the service's default
    # Firewall rules and parameters come after the server they belong to.
    order = [c.kind for c in public.pending]
    assert order.index(Kind.SERVER) < order.index(Kind.PARAMETER) < order.index(Kind.FIREWALL_RULE)
    assert private.changes[0].after["network"]["publicNetworkAccess"] == "Disabled"
    assert not [c for c in private.pending if c.kind is Kind.FIREWALL_RULE]
    # 5 environment objects, 2 servers, 2 firewall rules; TLS 1.3 and sslinfo on one, sslinfo on the other.
    assert result.summary() == {"create": 9, "update": 3, "delete": 0, "restart": 0}


def test_plan_json_is_stable_versioned_and_holds_no_secret(emulator: EmulatorHandle, env_file: Path) -> None:
    result = plan(load_spec(env_file))
    text = result.to_json()
    assert PASSWORD not in text
    assert "(secret from env:PGFLEX_ADMIN_PASSWORD)" in text
    data = json.loads(text)
    assert data["formatVersion"] == PLAN_FORMAT_VERSION == 2
    assert data["pgflexVersion"] == version("pgflex")
    assert data["specDigest"] == "sha256:" + hashlib.sha256(env_file.read_bytes()).hexdigest()
    assert set(data["specKeys"]) == {"apiVersion", "environment", "defaults", "servers"}
    assert data["fingerprint"].startswith("sha256:")
    assert Plan.from_dict(data) == result
    assert plan(load_spec(env_file)).fingerprint == result.fingerprint  # nothing changed, same fingerprint


def test_fingerprint_changes_when_the_world_does(emulator: EmulatorHandle, clients: Clients, env_file: Path) -> None:
    env = load_spec(env_file)
    before = plan(env).fingerprint
    clients.resources.resource_groups.create_or_update(env.resource_group, {"location": "westeurope"})
    assert plan(env).fingerprint != before


def test_plan_reads_nothing_more_than_it_needs(emulator: EmulatorHandle, env_file: Path) -> None:
    emulator.reset_request_count()
    plan(load_spec(env_file))
    # The resource group does not exist: one existence check answers for everything in it, and pre-flight
    # asks the location once what it offers the servers to be created.
    assert emulator.request_count("arm") == 2
    assert emulator.request_count("arm.reads") == 2
    assert emulator.request_count("arm.writes") == 0
