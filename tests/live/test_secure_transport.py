"""require_secure_transport decides whether a client without TLS is admitted; Azure's default is on."""

from __future__ import annotations

import psycopg
import pytest

from support.emulator import Clients, EmulatorHandle

from .conftest import LiveServer, connect, scalar, set_parameter

pytestmark = pytest.mark.dataplane


def assert_plaintext_refused(handle: EmulatorHandle, server: LiveServer) -> None:
    with pytest.raises(psycopg.OperationalError, match="no encryption"):
        connect(handle, server.fqdn, sslmode="disable")


def test_plaintext_is_refused_by_default_and_admitted_only_while_the_parameter_is_off(
    emulator: EmulatorHandle, clients: Clients, new_server: LiveServer
) -> None:
    default = clients.postgres.configurations.get(new_server.group, new_server.name, "require_secure_transport")
    assert default.value == "on"
    with connect(emulator, new_server.fqdn):  # the same client gets in over TLS: the refusal is about TLS
        pass
    assert_plaintext_refused(emulator, new_server)

    set_parameter(clients, new_server, "require_secure_transport", "off")
    with connect(emulator, new_server.fqdn, sslmode="disable") as conn:
        assert not conn.pgconn.ssl_in_use
        assert scalar(conn, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") is False

    set_parameter(clients, new_server, "require_secure_transport", "on")
    assert_plaintext_refused(emulator, new_server)
