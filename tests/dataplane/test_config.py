"""The pure translation from Azure parameters and firewall rules to PostgreSQL files."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from pgflex.emulator.dataplane import config
from pgflex.emulator.dataplane.config import SettingSpec
from pgflex.emulator.dataplane.scram import scram_verifier

CATALOGUE = {
    "max_connections": SettingSpec("max_connections", "integer", "postmaster", (), 1, 262143),
    "ssl_min_protocol_version": SettingSpec(
        "ssl_min_protocol_version", "enum", "sighup", ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
    ),
    "log_connections": SettingSpec("log_connections", "bool", "superuser-backend"),
    "search_path": SettingSpec("search_path", "string", "user"),
    "shared_preload_libraries": SettingSpec("shared_preload_libraries", "string", "postmaster"),
    "port": SettingSpec("port", "integer", "postmaster", (), 1, 65535),
}


def _render(parameters: dict[str, str], pkglibdir: Path = Path("/nonexistent")) -> tuple[str, list[str]]:
    return config.render_azure_conf(parameters, CATALOGUE, pkglibdir)


def test_known_parameters_are_written_quoted_and_unknown_ones_skipped() -> None:
    text, skipped = _render({"max_connections": "200", "search_path": "it's", "pgbouncer.enabled": "true", "port": "1"})
    assert "max_connections = '200'\n" in text
    assert "search_path = 'it''s'\n" in text
    assert "pgbouncer" not in text
    assert "port" not in text
    assert any(item.startswith("pgbouncer.enabled") for item in skipped)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("max_connections", "lots"),
        ("max_connections", "0"),
        ("log_connections", "maybe"),
        ("ssl_min_protocol_version", "TLSv1.1"),
        ("search_path", "a\nport = 1"),
    ],
)
def test_invalid_values_are_left_out(name: str, value: str) -> None:
    text, skipped = _render({name: value})
    assert f"{name} =" not in text
    assert skipped


def test_azure_extensions_is_always_written_normalised() -> None:
    assert "azure.extensions = ''\n" in _render({})[0]
    assert "azure.extensions = 'sslinfo,pg_trgm'\n" in _render({"azure.extensions": " SSLINFO , pg_trgm,"})[0]


def test_preload_libraries_keep_only_installed_ones(tmp_path: Path) -> None:
    (tmp_path / "pg_stat_statements.so").touch()
    text, _ = _render({"shared_preload_libraries": "pg_cron,pg_stat_statements,azure"}, tmp_path)
    assert "shared_preload_libraries = 'pg_stat_statements'\n" in text


def test_firewall_ranges_become_cidrs() -> None:
    networks = config.firewall_networks([("10.0.0.0", "10.0.0.255"), ("192.168.1.1", "192.168.1.2")], True)
    assert networks == [
        ipaddress.ip_network("10.0.0.0/24"),
        ipaddress.ip_network("192.168.1.1/32"),
        ipaddress.ip_network("192.168.1.2/32"),
    ]
    with pytest.raises(ValueError, match="ends before"):
        config.firewall_networks([("10.0.0.9", "10.0.0.1")], True)


def test_private_access_admits_loopback_or_the_whole_isolated_network() -> None:
    loopback = [ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128")]
    assert config.firewall_networks([], False) == loopback
    # In its namespace, only the virtual network reaches the server: any of its clients is admitted.
    everyone = [ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")]
    assert config.firewall_networks([], False, isolated=True) == everyone
    assert config.firewall_networks([("127.0.0.1", "127.0.0.1")], True, isolated=True) == [
        ipaddress.ip_network("127.0.0.1/32")
    ]


def test_emulator_conf_listens_on_the_given_address() -> None:
    paths = {"socket_dir": Path("/s"), "cert_file": Path("/c"), "key_file": Path("/k"), "cluster_name": "n"}
    assert "listen_addresses = '127.0.0.1'\n" in config.render_emulator_conf(port=5000, **paths)
    private = config.render_emulator_conf(port=5432, listen_address="10.10.1.4", **paths)
    assert "listen_addresses = '10.10.1.4'\nport = 5432\n" in private


def test_hba_is_hostssl_only_when_tls_is_required() -> None:
    network = [ipaddress.ip_network("127.0.0.1/32")]
    required = config.render_hba(network, require_tls=True)
    assert "hostssl   all   all   127.0.0.1/32   scram-sha-256" in required
    assert "\nhost    all   all" not in required
    optional = config.render_hba(network, require_tls=False)
    assert "host   all   all   127.0.0.1/32   scram-sha-256" in optional
    assert "hostssl" not in optional


def test_scram_verifier_matches_rfc7677_shape() -> None:
    verifier = scram_verifier("pencil", salt=b"0123456789abcdef")
    assert verifier.startswith("SCRAM-SHA-256$4096:MDEyMzQ1Njc4OWFiY2RlZg==$")
    # Non-ASCII passwords get one too, prepared as PostgreSQL does (tests/dataplane/test_scram_saslprep.py).
    assert scram_verifier("pässword").startswith("SCRAM-SHA-256$4096:")
