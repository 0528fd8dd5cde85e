"""Extensions need Azure's allow-list (azure.extensions) before the administrator may create them."""

from __future__ import annotations

import psycopg
import pytest

from support.emulator import Clients, EmulatorHandle

from .conftest import LiveServer, connect, scalar, set_parameter

pytestmark = pytest.mark.dataplane

NOT_ALLOW_LISTED = 'Extension "sslinfo" is not allow-listed for "azure_pg_admin" users in Azure Database for PostgreSQL'


def test_sslinfo_needs_the_allow_list(emulator: EmulatorHandle, clients: Clients, new_server: LiveServer) -> None:
    with connect(emulator, new_server.fqdn) as conn, pytest.raises(psycopg.Error) as refused:
        conn.execute("CREATE EXTENSION sslinfo")
    assert refused.value.diag.message_primary == NOT_ALLOW_LISTED

    set_parameter(clients, new_server, "azure.extensions", "sslinfo")
    with connect(emulator, new_server.fqdn) as conn:
        conn.execute("CREATE EXTENSION sslinfo")
        assert scalar(conn, "SELECT ssl_is_used()") is True
