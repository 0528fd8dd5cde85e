"""Firewall rules become pg_hba.conf lines: a client is admitted only when a rule covers its address."""

from __future__ import annotations

import psycopg
import pytest

from .conftest import Server

pytestmark = pytest.mark.dataplane


def test_rules_admit_and_refuse(server: Server) -> None:
    plane, name = server.dataplane, server.name
    with server.connect() as conn:  # the fixture's rule 127.0.0.1-127.0.0.1 admits us
        assert conn.execute("SELECT 1").fetchone() == (1,)

    plane.apply_firewall(name, [], public_access=True)
    with pytest.raises(psycopg.OperationalError, match=r"no pg_hba\.conf entry"):
        server.connect()
    assert "no pg_hba.conf entry" in server.psql("SELECT 1").stderr

    plane.apply_firewall(name, [("10.0.0.0", "10.0.0.255"), ("127.0.0.2", "127.0.0.9")], public_access=True)
    with pytest.raises(psycopg.OperationalError, match=r"no pg_hba\.conf entry"):
        server.connect()

    plane.apply_firewall(name, [("10.0.0.0", "10.0.0.255"), ("126.0.0.0", "127.0.0.1")], public_access=True)
    with server.connect() as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    result = server.psql("SELECT 1")
    assert result.returncode == 0, result.stderr


def test_firewall_does_not_weaken_tls_requirement(server: Server) -> None:
    server.dataplane.apply_firewall(server.name, [("0.0.0.0", "255.255.255.255")], public_access=True)  # noqa: S104
    with pytest.raises(psycopg.OperationalError, match="no encryption"):
        server.connect(sslmode="disable")
