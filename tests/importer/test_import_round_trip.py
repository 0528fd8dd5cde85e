"""``pgflex import`` against the emulator: servers made through the SDK (not by pgflex) become an env file that
validates, holds no secret, and plans to no change against the very servers it came from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pgflex.api import load_spec, plan
from pgflex.cli.main import app
from pgflex.spec import PrivateAccess, PublicAccess
from support.emulator import Clients, EmulatorHandle, server_body, unique

PASSWORD = "Import-Secret-Passw0rd!"
DELEGATION = "Microsoft.DBforPostgreSQL/flexibleServers"
ZERO = "0.0.0.0"  # noqa: S104 - a firewall rule's address, not a bind address


def cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


@dataclass
class Estate:
    group: str
    public: str  # TLS 1.3 minimum, three rules (a CIDR, a range, the Azure-services switch), overridden parameters
    open: str  # General Purpose with HA, plaintext allowed and a rule admitting everyone: policy exceptions needed
    private: str  # in a delegated subnet, its zone referenced by id
    subnet_id: str
    zone_id: str


def _configure(clients: Clients, group: str, server: str, values: dict[str, str]) -> None:
    for name, value in values.items():
        body = {"properties": {"value": value, "source": "user-override"}}
        clients.postgres.configurations.begin_update(group, server, name, body).result()


def _rule(clients: Clients, group: str, server: str, name: str, start: str, end: str) -> None:
    body = {"properties": {"startIpAddress": start, "endIpAddress": end}}
    clients.postgres.firewall_rules.begin_create_or_update(group, server, name, body).result()


def _create(clients: Clients, group: str, name: str, body: dict[str, Any]) -> None:
    clients.postgres.servers.begin_create_or_update(group, name, body).result()


@pytest.fixture
def estate(clients: Clients, resource_group: str) -> Estate:
    group = resource_group
    space = {"addressSpace": {"addressPrefixes": ["10.30.0.0/16"]}}
    vnet = clients.network.virtual_networks.begin_create_or_update(
        group, "vnet-db", {"location": "westeurope", "properties": space}
    ).result()
    delegation = [{"name": "pg", "properties": {"serviceName": DELEGATION}}]
    subnet = clients.network.subnets.begin_create_or_update(
        group, "vnet-db", "snet-db", {"properties": {"addressPrefix": "10.30.1.0/24", "delegations": delegation}}
    ).result()
    zone_name = f"{unique('z')}.private.postgres.database.azure.com"
    zone = clients.dns.private_zones.begin_create_or_update(group, zone_name, {"location": "global"}).result()
    link = {"location": "global", "properties": {"virtualNetwork": {"id": vnet.id}, "registrationEnabled": False}}
    clients.dns.virtual_network_links.begin_create_or_update(group, zone_name, "link", link).result()
    assert subnet.id and zone.id
    found = Estate(group, unique("pub"), unique("open"), unique("priv"), subnet.id, zone.id)

    public = server_body(password=PASSWORD)
    # pgflex's own tag is left out of the file; a value that looks like interpolation must come back as written.
    public["tags"] = {"owner": "data-team", "managed-by": "pgflex", "cost-center": "${not-a-variable}"}
    _create(clients, group, found.public, public)
    _configure(
        clients,
        group,
        found.public,
        {
            "ssl_min_protocol_version": "TLSv1.3",
            "log_connections": "ON",
            "azure.extensions": "PG_TRGM,sslinfo",
            "work_mem": "8192",
        },
    )
    _rule(clients, group, found.public, "office", "203.0.113.0", "203.0.113.255")
    _rule(clients, group, found.public, "ci", "198.51.100.10", "198.51.100.20")
    _rule(clients, group, found.public, "AllowAllAzureServices", ZERO, ZERO)

    wide = server_body(password=PASSWORD, tier="GeneralPurpose", sku="Standard_D2ds_v5")
    wide["properties"]["highAvailability"] = {"mode": "ZoneRedundant"}
    wide["tags"] = {"owner": "data-team"}
    _create(clients, group, found.open, wide)
    tls = {"require_secure_transport": "off", "ssl_max_protocol_version": "TLSv1.3"}
    _configure(clients, group, found.open, {**tls, "azure.extensions": "sslinfo"})
    _rule(clients, group, found.open, "everyone", ZERO, "255.255.255.255")

    network = {"delegatedSubnetResourceId": subnet.id, "privateDnsZoneArmResourceId": zone.id}
    private = server_body(password=PASSWORD, network=network)
    private["tags"] = {"owner": "data-team"}
    _create(clients, group, found.private, private)
    _configure(clients, group, found.private, {"azure.extensions": "sslinfo", "log_connections": "on"})
    return found


def test_an_imported_group_validates_holds_no_secret_and_plans_to_no_change(
    emulator: EmulatorHandle, estate: Estate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / "imported.yaml"
    emulator.reset_request_count()
    result = cli("import", "--resource-group", estate.group, "--output", str(env_file))
    assert result.exit_code == 0, result.output
    # One existence check, one list of the group's servers, then parameters, rules and databases of each: 2 + 3 x 3.
    assert emulator.request_count("arm") == 2 + 3 * 3
    assert emulator.request_count("arm.writes") == 0
    text = env_file.read_text()
    assert PASSWORD not in text and PASSWORD not in result.output
    assert "fromEnv: PGFLEX_ADMIN_PASSWORD" in text
    assert text.startswith("# Imported by `pgflex import` on ") and estate.group in text.splitlines()[0]
    assert "managed-by" not in text

    assert cli("validate", str(env_file)).exit_code == 0
    env = load_spec(env_file)
    assert [s.name for s in env.servers] == sorted([estate.public, estate.open, estate.private])
    public, wide, private = env.server(estate.public), env.server(estate.open), env.server(estate.private)
    assert public.tags == {"owner": "data-team", "cost-center": "${not-a-variable}"}
    assert public.tls.min_version == "TLSv1.3" and public.tls.require_secure_transport
    # temp_tablespaces: the service sets it itself, yet reports it as user-override (the official example too).
    overridden = {"azure.extensions": "pg_trgm,sslinfo", "log_connections": "on", "work_mem": "8192"}
    assert public.parameters == {**overridden, "temp_tablespaces": "temptblspace"}
    assert isinstance(public.access, PublicAccess)
    rules = {rule.name: (rule.written_as, rule.start_ip, rule.end_ip) for rule in public.access.firewall_rules}
    assert rules == {
        "office": ("203.0.113.0/24", "203.0.113.0", "203.0.113.255"),
        "ci": ("198.51.100.10-198.51.100.20", "198.51.100.10", "198.51.100.20"),
        "AllowAllAzureServices": (f"{ZERO}-{ZERO}", ZERO, ZERO),
    }
    assert (wide.sku.tier, wide.high_availability.mode, wide.tls.require_secure_transport) == (
        "GeneralPurpose",
        "ZoneRedundant",
        False,
    )
    assert (wide.tls.min_version, wide.tls.max_version) == ("TLSv1.2", "TLSv1.3")
    assert {e.rule for e in wide.applied_exceptions} == {"insecure-transport", "open-to-internet"}
    assert isinstance(private.access, PrivateAccess)
    assert (private.access.subnet.id, private.access.private_dns_zone.id) == (estate.subnet_id, estate.zone_id)
    assert all(s.administrator and s.administrator.login == "pgadmin" for s in env.servers)

    monkeypatch.setenv("PGFLEX_ADMIN_PASSWORD", PASSWORD)  # what plan's pre-flight reads for verify; not in the file
    planned = cli("plan", str(env_file), "--detailed-exitcode")
    assert planned.exit_code == 0, planned.output
    assert not plan(env).has_changes
