"""Azure server parameters: require_secure_transport, static parameters, names PostgreSQL lacks."""

from __future__ import annotations

import psycopg
import pytest

from .conftest import Server

pytestmark = pytest.mark.dataplane


def test_require_secure_transport_on_refuses_plaintext_with_no_encryption(server: Server) -> None:
    with server.connect() as conn:  # the same client is admitted over TLS: not a firewall block
        assert conn.pgconn.ssl_in_use
    with pytest.raises(psycopg.OperationalError, match="no encryption"):
        server.connect(sslmode="disable")
    result = server.psql("SELECT 1", sslmode="disable")
    assert result.returncode != 0
    assert "no encryption" in result.stderr


@pytest.mark.parametrize("off", ["OFF", "false"])
def test_require_secure_transport_off_admits_plaintext_and_tls(server: Server, off: str) -> None:
    server.dataplane.apply_parameters(server.name, {"require_secure_transport": off})
    with server.connect(sslmode="disable") as conn:
        assert not conn.pgconn.ssl_in_use
    result = server.psql("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", sslmode="disable")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "f"
    with server.connect() as conn:
        assert conn.pgconn.ssl_in_use

    server.dataplane.apply_parameters(server.name, {"require_secure_transport": "ON"})
    with pytest.raises(psycopg.OperationalError, match="no encryption"):
        server.connect(sslmode="disable")


def test_static_parameter_waits_for_restart(server: Server) -> None:
    server.dataplane.apply_parameters(server.name, {"max_connections": "200"})
    assert server.dataplane.pending_restart(server.name) == {"max_connections"}
    with server.connect() as conn:
        assert conn.execute("SHOW max_connections").fetchone() == ("100",)

    server.dataplane.restart(server.name)
    assert server.dataplane.pending_restart(server.name) == set()
    with server.connect() as conn:
        assert conn.execute("SHOW max_connections").fetchone() == ("200",)


def test_dynamic_parameter_applies_on_reload(server: Server) -> None:
    server.dataplane.apply_parameters(server.name, {"work_mem": "8192"})
    with server.connect() as conn:
        assert conn.execute("SHOW work_mem").fetchone() == ("8MB",)
    assert server.dataplane.pending_restart(server.name) == set()


def test_azure_only_and_invalid_parameters_never_break_a_restart(server: Server) -> None:
    parameters = {
        "pgbouncer.enabled": "true",
        "metrics.collector_database_activity": "on",
        "azure.accepted_password_auth_method": "md5,scram-sha-256",
        "shared_preload_libraries": "pg_cron,pg_stat_statements,azure",
        "pg_stat_statements.track": "all",
        "max_connections": "lots",
        "ssl_ciphers": "NULL",
        "port": "1",
        "log_min_messages": "WARNING",
    }
    server.dataplane.apply_parameters(server.name, parameters)
    server.dataplane.restart(server.name)
    with server.connect() as conn:
        assert conn.execute("SHOW shared_preload_libraries").fetchone() == ("pg_stat_statements",)
        assert conn.execute("SHOW pg_stat_statements.track").fetchone() == ("all",)
        assert conn.execute("SHOW max_connections").fetchone() == ("100",)
        assert conn.execute("SHOW log_min_messages").fetchone() == ("warning",)
        assert conn.execute("SHOW azure.extensions").fetchone() == ("",)
    assert server.endpoint.port != 1


def test_removing_an_override_returns_to_the_default(server: Server) -> None:
    server.dataplane.apply_parameters(server.name, {"work_mem": "8192"})
    server.dataplane.apply_parameters(server.name, {})
    with server.connect() as conn:
        assert conn.execute("SHOW work_mem").fetchone() == ("4MB",)
