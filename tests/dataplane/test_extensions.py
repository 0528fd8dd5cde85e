"""azure.extensions is an allow-list for the non-superuser administrator, as on Azure."""

from __future__ import annotations

import psycopg
import pytest

from .conftest import Server

pytestmark = pytest.mark.dataplane

REFUSAL = 'Extension "sslinfo" is not allow-listed for "azure_pg_admin" users in Azure Database for PostgreSQL'


def test_sslinfo_refused_until_allow_listed_then_reports_tls(server: Server) -> None:
    with server.connect() as conn, pytest.raises(psycopg.errors.InsufficientPrivilege) as refused:
        conn.execute("CREATE EXTENSION sslinfo")
    assert refused.value.diag.message_primary == REFUSAL

    result = server.psql("CREATE EXTENSION sslinfo")
    assert result.returncode != 0
    assert REFUSAL in result.stderr

    server.dataplane.apply_parameters(server.name, {"azure.extensions": "SSLINFO, pg_trgm"})
    with server.connect() as conn:
        conn.execute("CREATE EXTENSION sslinfo")
        assert conn.execute("SELECT ssl_is_used(), ssl_version()").fetchone() in (
            (True, "TLSv1.3"),
            (True, "TLSv1.2"),
        )
    result = server.psql("SELECT ssl_is_used()")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "t"


def test_session_setting_cannot_bypass_the_allow_list(server: Server) -> None:
    with server.connect() as conn:
        conn.execute("SET azure.extensions = 'sslinfo'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="not allow-listed"):
            conn.execute("CREATE EXTENSION sslinfo")


def test_databases_created_by_the_admin_enforce_it_too(server: Server) -> None:
    with server.connect() as conn:
        conn.execute("CREATE DATABASE appdb")
    with server.connect(dbname="appdb") as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("CREATE EXTENSION pg_trgm")
    server.dataplane.apply_parameters(server.name, {"azure.extensions": "pg_trgm"})
    with server.connect(dbname="appdb") as conn:
        conn.execute("CREATE EXTENSION pg_trgm")
        assert conn.execute("SELECT similarity('abc', 'abd') > 0").fetchone() == (True,)
