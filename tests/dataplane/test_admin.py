"""The administrator is Azure's: not superuser, CREATEDB, CREATEROLE, azure_pg_admin with pg_monitor."""

from __future__ import annotations

import psycopg
import pytest

from .conftest import ADMIN, PASSWORD, Server

pytestmark = pytest.mark.dataplane


def test_admin_is_not_superuser_but_creates_databases_and_roles(server: Server) -> None:
    with server.connect() as conn:
        row = conn.execute(
            "SELECT rolsuper, rolcreatedb, rolcreaterole,"
            " pg_has_role(current_user, 'azure_pg_admin', 'MEMBER'),"
            " pg_has_role(current_user, 'pg_monitor', 'USAGE') FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
    assert row == (False, True, True, True, True)


def test_psql_sees_admin_membership(server: Server) -> None:
    result = server.psql(
        "SELECT string_agg(b.rolname, ',') FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid"
        " JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = current_user"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "azure_pg_admin"


def test_admin_sees_other_sessions_in_pg_stat_ssl(server: Server) -> None:
    with server.connect() as admin:
        admin.execute("CREATE ROLE app LOGIN PASSWORD 'app-password-1'")
    with server.connect(user="app", password="app-password-1") as other, server.connect() as admin:
        other_pid = other.pgconn.backend_pid
        row = admin.execute(
            "SELECT a.usename, s.ssl, s.version FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE pid = %s",
            [other_pid],
        ).fetchone()
    assert row is not None
    assert row[0] == "app"
    assert row[1] is True
    assert row[2] in ("TLSv1.2", "TLSv1.3")


def test_superuser_is_refused_over_tcp(server: Server) -> None:
    with pytest.raises(psycopg.OperationalError, match="rejects connection"):
        server.connect(user="azuresu")


def test_wrong_password_is_refused(server: Server) -> None:
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        server.connect(password="not-the-password")


def test_set_admin_password_replaces_the_old_one(server: Server) -> None:
    server.dataplane.set_admin_password(server.name, ADMIN, "N3w-Password-9")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        server.connect()
    with server.connect(password="N3w-Password-9") as conn:
        assert conn.execute("SELECT current_user").fetchone() == (ADMIN,)


def test_non_ascii_password_works(server: Server) -> None:
    server.dataplane.set_admin_password(server.name, ADMIN, "pässwörd-ünïcode")
    with server.connect(password="pässwörd-ünïcode") as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert PASSWORD not in (server.dataplane.root / "servers" / server.name / "server.json").read_text()
