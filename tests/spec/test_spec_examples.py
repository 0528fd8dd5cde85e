"""The committed examples in infra/ load and mean what they say."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from pgflex.spec import PrivateAccess, PublicAccess, SpecError, load_spec

INFRA = Path(__file__).resolve().parents[2] / "infra"
SUBSCRIPTION = "11111111-2222-3333-4444-555555555555"  # as in conftest.azure_env


def test_local_example_targets_the_emulator() -> None:
    env = load_spec(INFRA / "local.yaml", env={})
    assert env.cloud == "local"
    assert env.is_local
    assert env.subscription == "00000000-0000-0000-0000-000000000000"
    assert [server.access.kind for server in env.servers] == ["public", "private"]


def test_local_public_server_admits_the_loopback_client() -> None:
    public = load_spec(INFRA / "local.yaml", env={}).servers[0]
    assert isinstance(public.access, PublicAccess)
    (rule,) = public.access.firewall_rules
    assert rule.name == "local-client"
    loopback = ipaddress.IPv4Address("127.0.0.1")
    assert ipaddress.IPv4Address(rule.start_ip) <= loopback <= ipaddress.IPv4Address(rule.end_ip)


def test_local_private_server_creates_its_network() -> None:
    private = load_spec(INFRA / "local.yaml", env={}).servers[1]
    assert isinstance(private.access, PrivateAccess)
    subnet = private.access.subnet.create
    assert subnet is not None
    assert (subnet.vnet, subnet.vnet_address_prefix, subnet.name, subnet.address_prefix) == (
        "vnet-pgflex-local",
        "10.10.0.0/16",
        "snet-postgres",
        "10.10.1.0/24",
    )
    assert private.access.private_dns_zone.zone_name == "local.private.postgres.database.azure.com"


@pytest.mark.parametrize("name", ["public.yaml", "private.yaml"])
def test_azure_examples_load_with_the_subscription_from_the_environment(name: str, azure_env: dict[str, str]) -> None:
    env = load_spec(INFRA / name, env=azure_env)
    assert env.cloud == "AzureCloud"
    assert env.subscription == SUBSCRIPTION
    assert all(server.tls.min_version in ("TLSv1.2", "TLSv1.3") for server in env.servers)


def test_azure_example_without_the_subscription_variable_names_it() -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(INFRA / "public.yaml", env={})
    (issue,) = caught.value.issues
    assert issue.key_path == "environment.subscription"
    assert "AZURE_SUBSCRIPTION_ID" in issue.message


def test_public_example_normalises_its_rules_and_parameters(azure_env: dict[str, str]) -> None:
    server = load_spec(INFRA / "public.yaml", env=azure_env).server("pgflex-dev-public")
    assert isinstance(server.access, PublicAccess)
    rules = {rule.name: (rule.start_ip, rule.end_ip, rule.written_as) for rule in server.access.firewall_rules}
    assert rules == {
        "office": ("203.0.113.0", "203.0.113.255", "203.0.113.0/24"),
        "ci": ("198.51.100.10", "198.51.100.20", "198.51.100.10-198.51.100.20"),
    }
    assert server.parameters == {"azure.extensions": "pg_trgm,sslinfo", "log_connections": "on"}
    assert server.tls.min_version == "TLSv1.2"  # the server's own value beats the defaults' TLSv1.3
    assert server.tags == {"owner": "data-team"}


def test_settings_example_resolves_every_new_setting() -> None:
    orders, reports = load_spec(INFRA / "settings.yaml", env={}).servers
    assert orders.availability_zone == "1"
    assert (orders.high_availability.mode, orders.high_availability.standby_availability_zone) == ("ZoneRedundant", "2")
    assert (orders.storage.size_gb, orders.storage.tier, orders.storage.default_tier) == (256, "P30", "P15")
    assert (orders.backup.retention_days, orders.backup.geo_redundant) == (35, True)
    assert orders.maintenance_window.azure_properties() == {
        "customWindow": "Enabled",
        "dayOfWeek": 0,
        "startHour": 2,
        "startMinute": 30,
    }
    assert [(db.name, db.collation) for db in orders.databases] == [("orders", "en_US.utf8"), ("orders_archive", "C")]
    assert orders.authentication.login == "password" and orders.administrator is not None
    assert [admin.principal_name for admin in orders.authentication.entra_administrators or ()] == [
        "pgflex-deployer",
        "dba-team",
    ]
    assert reports.maintenance_window.system_managed and reports.backup.retention_days == 14
    assert reports.administrator is None and reports.authentication.entra_only
    assert reports.prune_databases and [db.name for db in reports.databases] == ["reports"]
    (deployer,) = reports.authentication.entra_administrators or ()
    assert deployer.tenant_id == "00000000-0000-0000-0000-0000000000aa"  # the environment's tenant
