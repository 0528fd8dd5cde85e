"""ssl_min_protocol_version set through the SDK decides which TLS versions the server accepts.

Two independent clients judge each version: a raw handshake capped to that one version, and sslyze.
TLS 1.0 and 1.1 stay refused whatever the setting (RFC 8996).
"""

from __future__ import annotations

import ssl

import pytest
from sslyze import (
    ProtocolWithOpportunisticTlsEnum,
    ScanCommand,
    Scanner,
    ServerNetworkConfiguration,
    ServerNetworkLocation,
    ServerScanRequest,
)
from sslyze.scanner.scan_command_attempt import ScanCommandAttemptStatusEnum

from support.emulator import Clients, EmulatorHandle

from .conftest import LiveServer, ProbeOutcome, connect, endpoint, raw_tls_probe, scalar, set_parameter

pytestmark = pytest.mark.dataplane

SCAN_COMMANDS = {
    ssl.TLSVersion.TLSv1: ScanCommand.TLS_1_0_CIPHER_SUITES,
    ssl.TLSVersion.TLSv1_1: ScanCommand.TLS_1_1_CIPHER_SUITES,
    ssl.TLSVersion.TLSv1_2: ScanCommand.TLS_1_2_CIPHER_SUITES,
    ssl.TLSVersion.TLSv1_3: ScanCommand.TLS_1_3_CIPHER_SUITES,
}


def probe_all(handle: EmulatorHandle, fqdn: str) -> dict[ssl.TLSVersion, ProbeOutcome]:
    host, port = endpoint(handle, fqdn)
    return {version: raw_tls_probe(host, port, fqdn, version) for version in SCAN_COMMANDS}


def sslyze_accepts(handle: EmulatorHandle, fqdn: str) -> dict[ssl.TLSVersion, bool]:
    """Per version, whether sslyze (STARTTLS for PostgreSQL) found any accepted cipher suite."""
    host, port = endpoint(handle, fqdn)
    request = ServerScanRequest(
        server_location=ServerNetworkLocation(hostname=fqdn, port=port, ip_address=host),
        network_configuration=ServerNetworkConfiguration(
            tls_server_name_indication=fqdn,
            tls_opportunistic_encryption=ProtocolWithOpportunisticTlsEnum.POSTGRES,
        ),
        scan_commands=set(SCAN_COMMANDS.values()),  # only the version scans: the others are slow
    )
    scanner = Scanner()
    scanner.queue_scans([request])
    (result,) = list(scanner.get_results())
    assert result.scan_result is not None, result.connectivity_error_trace
    accepted = {}
    for version, command in SCAN_COMMANDS.items():
        attempt = getattr(result.scan_result, command.value)
        assert attempt.status == ScanCommandAttemptStatusEnum.COMPLETED, attempt.error_trace
        accepted[version] = bool(attempt.result.accepted_cipher_suites)
    return accepted


def assert_versions(handle: EmulatorHandle, fqdn: str, expected: dict[ssl.TLSVersion, ProbeOutcome]) -> None:
    assert probe_all(handle, fqdn) == expected
    assert sslyze_accepts(handle, fqdn) == {version: outcome == "accepted" for version, outcome in expected.items()}


def test_minimum_tls_version_follows_the_parameter(
    emulator: EmulatorHandle, clients: Clients, new_server: LiveServer
) -> None:
    set_parameter(clients, new_server, "ssl_min_protocol_version", "TLSv1.3")
    assert_versions(
        emulator,
        new_server.fqdn,
        {
            ssl.TLSVersion.TLSv1: "refused",
            ssl.TLSVersion.TLSv1_1: "refused",
            ssl.TLSVersion.TLSv1_2: "refused",
            ssl.TLSVersion.TLSv1_3: "accepted",
        },
    )
    with connect(emulator, new_server.fqdn) as conn:  # libpq still gets in, at TLS 1.3
        assert scalar(conn, "SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid()") == "TLSv1.3"

    set_parameter(clients, new_server, "ssl_min_protocol_version", "TLSv1.2")
    assert_versions(
        emulator,
        new_server.fqdn,
        {
            ssl.TLSVersion.TLSv1: "refused",
            ssl.TLSVersion.TLSv1_1: "refused",
            ssl.TLSVersion.TLSv1_2: "accepted",
            ssl.TLSVersion.TLSv1_3: "accepted",
        },
    )
