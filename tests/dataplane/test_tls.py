"""TLS as Azure serves it: verified certificates, Azure's ciphers, protocol limits applied on reload."""

from __future__ import annotations

import ssl

import psycopg
import pytest

from pgflex.emulator.dataplane import AZURE_SSL_CIPHERS

from .conftest import Server

pytestmark = pytest.mark.dataplane


def test_psycopg_connects_with_verify_full_and_server_sees_tls(server: Server) -> None:
    with server.connect() as conn:
        assert conn.pgconn.ssl_in_use
        row = conn.execute("SELECT ssl, version, cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()
    assert row is not None
    ssl_used, version, cipher = row
    assert ssl_used is True
    assert version in ("TLSv1.2", "TLSv1.3")
    if version == "TLSv1.2":  # TLS 1.3 suites are not governed by ssl_ciphers
        assert cipher in AZURE_SSL_CIPHERS.split(":")


def test_psql_connects_with_verify_full(server: Server) -> None:
    result = server.psql("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "t"


def test_verification_fails_for_another_host_name(server: Server) -> None:
    with pytest.raises(psycopg.OperationalError, match="certificate"):
        server.connect(host="other.postgres.database.azure.com")


def test_tls12_only_cipher_list_is_azures(server: Server) -> None:
    with server.connect() as conn:
        row = conn.execute("SHOW ssl_ciphers").fetchone()
    assert row == (AZURE_SSL_CIPHERS,)


def test_minimum_tls13_refuses_a_tls12_client_and_tls12_minimum_admits_it(server: Server) -> None:
    assert server.tls_handshake(maximum=ssl.TLSVersion.TLSv1_2) == "TLSv1.2"

    server.dataplane.apply_parameters(server.name, {"ssl_min_protocol_version": "TLSv1.3"})
    with pytest.raises(ssl.SSLError):
        server.tls_handshake(maximum=ssl.TLSVersion.TLSv1_2)
    assert server.tls_handshake() == "TLSv1.3"
    assert server.psql("SELECT 1").returncode == 0
    assert server.dataplane.pending_restart(server.name) == set()  # applied by reload alone

    server.dataplane.apply_parameters(server.name, {"ssl_min_protocol_version": "TLSv1.2"})
    assert server.tls_handshake(maximum=ssl.TLSVersion.TLSv1_2) == "TLSv1.2"


def test_maximum_tls12_caps_the_server(server: Server) -> None:
    server.dataplane.apply_parameters(server.name, {"ssl_max_protocol_version": "TLSv1.2"})
    assert server.tls_handshake() == "TLSv1.2"
    server.dataplane.apply_parameters(server.name, {"ssl_max_protocol_version": ""})
    assert server.tls_handshake() == "TLSv1.3"


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1])
@pytest.mark.parametrize("minimum_parameter", [None, "TLSv1", "TLSv1.2"])
def test_tls10_and_tls11_are_always_refused(
    server: Server, version: ssl.TLSVersion, minimum_parameter: str | None
) -> None:
    if minimum_parameter is not None:  # "TLSv1" is not an Azure value: the data plane must not apply it
        server.dataplane.apply_parameters(server.name, {"ssl_min_protocol_version": minimum_parameter})
    with pytest.raises(ssl.SSLError) as refused:
        server.tls_handshake(minimum=version, maximum=version, legacy=True)
    # A client-side refusal would prove nothing: the ClientHello must have left and drawn a server alert.
    assert "NO_CIPHERS_AVAILABLE" not in str(refused.value)
    assert "NO_PROTOCOLS_AVAILABLE" not in str(refused.value)
    assert "ALERT" in str(refused.value).upper(), refused.value
