"""Real clients reach a server by its FQDN over verified TLS, and its administrator is Azure's."""

from __future__ import annotations

import re
import shutil
import subprocess

import psycopg
import pytest
from cryptography import x509
from psycopg import sql

from support.emulator import EmulatorHandle, unique

from .conftest import LiveServer, connect, endpoint, psql, scalar

pytestmark = pytest.mark.dataplane

PEM_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----\n", re.DOTALL)


def presented_chain(handle: EmulatorHandle, fqdn: str) -> list[x509.Certificate]:
    """The certificates the server sends, as openssl s_client (a third client) receives them after STARTTLS."""
    binary = shutil.which("openssl")
    if binary is None:
        pytest.skip("openssl is not installed")
    host, port = endpoint(handle, fqdn)
    result = subprocess.run(
        [binary, "s_client", "-connect", f"{host}:{port}", "-starttls", "postgres", "-servername", fqdn, "-showcerts"],
        input=b"",
        capture_output=True,
        timeout=30,
        check=False,
    )
    return [x509.load_pem_x509_certificate(block) for block in PEM_BLOCK.findall(result.stdout)]


def test_psycopg_connects_by_fqdn_with_verify_full_and_the_server_sees_tls(
    emulator: EmulatorHandle, ready_server: LiveServer
) -> None:
    with connect(emulator, ready_server.fqdn) as conn:
        assert conn.pgconn.ssl_in_use
        conn.execute("CREATE EXTENSION IF NOT EXISTS sslinfo")  # allow-listed by the fixture
        assert scalar(conn, "SELECT ssl_is_used()") is True
        assert scalar(conn, "SELECT ssl_version()") in ("TLSv1.2", "TLSv1.3")
        assert scalar(conn, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") is True


def test_psql_connects_by_fqdn_with_verify_full(emulator: EmulatorHandle, ready_server: LiveServer) -> None:
    result = psql(emulator, ready_server.fqdn, "SELECT ssl, current_user FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "t|pgadmin"


def test_verify_full_refuses_a_certificate_for_another_host_name(
    emulator: EmulatorHandle, ready_server: LiveServer
) -> None:
    # Same address and port as the working connection: only the name checked against the certificate differs.
    with pytest.raises(psycopg.OperationalError, match="certificate"):
        connect(emulator, ready_server.fqdn, host="other.postgres.database.azure.com")


def test_certificate_chain_leads_from_the_fqdn_through_an_intermediate_to_the_emulator_root(
    emulator: EmulatorHandle, ready_server: LiveServer
) -> None:
    assert emulator.running is not None
    root = x509.load_pem_x509_certificate(emulator.running.ca_root.read_bytes())
    chain = presented_chain(emulator, ready_server.fqdn)
    assert len(chain) == 2, "the server should send its leaf and the intermediate, not the root"
    leaf, intermediate = chain

    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.value.get_values_for_type(x509.DNSName) == [ready_server.fqdn]
    assert san.critical is False  # strict checkers such as sslyze reject a critical SAN
    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False

    assert intermediate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert intermediate.subject != root.subject
    leaf.verify_directly_issued_by(intermediate)
    intermediate.verify_directly_issued_by(root)
    root.verify_directly_issued_by(root)  # self-signed: the anchor a client pins


def test_administrator_is_not_superuser_but_azure_pg_admin(emulator: EmulatorHandle, ready_server: LiveServer) -> None:
    with connect(emulator, ready_server.fqdn) as conn:
        row = conn.execute(
            "SELECT rolsuper, pg_has_role(current_user, 'azure_pg_admin', 'MEMBER')"
            " FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
    assert row == (False, True)


def test_administrator_sees_other_roles_sessions_but_they_do_not_see_its(
    emulator: EmulatorHandle, ready_server: LiveServer
) -> None:
    role, password = unique("app"), "App-passw0rd-1"
    with connect(emulator, ready_server.fqdn) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), password))
    peer_query = (
        "SELECT s.ssl, a.application_name, a.client_addr IS NOT NULL"
        " FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE s.pid = %s"
    )
    with (
        connect(emulator, ready_server.fqdn, user=role, password=password, application_name="peer") as peer,
        connect(emulator, ready_server.fqdn, application_name="admin") as admin,
    ):
        seen_by_admin = admin.execute(peer_query, (peer.pgconn.backend_pid,)).fetchone()
        seen_by_peer = peer.execute(peer_query, (admin.pgconn.backend_pid,)).fetchone()
    assert seen_by_admin == (True, "peer", True)  # pg_monitor through azure_pg_admin
    # The contrast shows the admin's view is a privilege: an ordinary role does not see others' TLS rows.
    assert seen_by_peer is None
