"""Databases in the real PostgreSQL, with Azure's charset and collation names."""

from __future__ import annotations

import re

import psycopg
import pytest

from pgflex.emulator.dataplane import Database, DataPlane

from .conftest import Server

pytestmark = pytest.mark.dataplane

ALLOW_LIST_REFUSAL = 'Extension "sslinfo" is not allow-listed'


def _catalogue(server: Server, database: str) -> tuple[str, str, str, str | None] | None:
    with server.connect() as conn:
        row = conn.execute(
            "SELECT pg_encoding_to_char(encoding), datcollate, datlocprovider, daticulocale FROM pg_database"
            " WHERE datname = %s",
            [database],
        ).fetchone()
    return None if row is None else (row[0], row[1], row[2], row[3])


def _sorted(server: Server, database: str) -> list[str]:
    with server.connect(dbname=database) as conn:
        return [row[0] for row in conn.execute("SELECT x FROM (VALUES ('b'), ('B'), ('a')) v(x) ORDER BY x")]


def test_databases_have_their_charset_and_collation_in_postgresql(server: Server) -> None:
    plane, name = server.dataplane, server.name
    plane.create_database(name, "orders", charset="UTF8", collation="C.utf8")
    plane.create_database(name, "legacy", charset="latin1", collation="C")
    assert _catalogue(server, "orders") == ("UTF8", "C.utf8", "c", None)
    assert _catalogue(server, "legacy") == ("LATIN1", "C", "c", None)
    assert _sorted(server, "orders") == ["B", "a", "b"]  # byte order


def test_azure_default_collation_sorts_as_en_us_even_without_the_system_locale(server: Server) -> None:
    plane, name = server.dataplane, server.name
    plane.create_database(name, "shop", charset="utf8", collation="en_US.utf8")
    encoding, collate, provider, icu = _catalogue(server, "shop") or ("", "", "", None)
    assert encoding == "UTF8"
    # This machine's own locale when it has one, else ICU's for the same language and territory.
    assert (provider, collate) == ("c", "en_US.utf8") or (provider, icu) == ("i", "en-US")
    assert _sorted(server, "shop") == ["a", "b", "B"]
    assert Database("shop", "UTF8", "en_US.utf8") in plane.list_databases(name)  # Azure's names, as asked


def test_unavailable_charset_or_collation_is_refused_clearly(server: Server) -> None:
    plane, name = server.dataplane, server.name
    with pytest.raises(ValueError, match=re.escape("collation 'xx_YY.utf8' is not available")):
        plane.create_database(name, "nowhere", charset="UTF8", collation="xx_YY.utf8")
    with pytest.raises(ValueError, match="charset 'KLINGON' is not one PostgreSQL knows"):
        plane.create_database(name, "nowhere", charset="KLINGON", collation="C")
    with pytest.raises(ValueError, match=re.escape('encoding "LATIN1" does not match locale "C.utf8"')):
        plane.create_database(name, "nowhere", charset="LATIN1", collation="C.utf8")
    with pytest.raises(ValueError, match="must match"):
        plane.create_database(name, "bad name", charset="UTF8", collation="C")
    with pytest.raises(ValueError, match="system database"):
        plane.drop_database(name, "postgres")
    assert _catalogue(server, "nowhere") is None


def test_create_and_drop_are_idempotent_and_drop_ends_sessions(server: Server) -> None:
    plane, name = server.dataplane, server.name
    plane.create_database(name, "orders", charset="UTF8", collation="C.utf8")
    plane.create_database(name, "orders", charset="UTF8", collation="C.utf8")
    with server.connect(dbname="orders") as conn:
        conn.execute("CREATE TABLE kept (v int)")  # the administrator may use it (it belongs to azure_pg_admin)
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match=ALLOW_LIST_REFUSAL):
            conn.execute("CREATE EXTENSION sslinfo")  # the allow-list holds in it as in every database
        session = server.connect(dbname="orders")
        plane.drop_database(name, "orders")
        with pytest.raises(psycopg.OperationalError):
            session.execute("SELECT 1")
    plane.drop_database(name, "orders")
    assert _catalogue(server, "orders") is None
    assert [d.name for d in plane.list_databases(name)] == ["postgres"]


def test_a_stopped_server_gets_its_database_and_stays_stopped(dataplane: DataPlane, server: Server) -> None:
    dataplane.stop(server.name)
    dataplane.create_database(server.name, "later", charset="UTF8", collation="C.utf8")
    assert not dataplane.is_running(server.name)
    dataplane.start(server.name)
    assert _catalogue(server, "later") == ("UTF8", "C.utf8", "c", None)
