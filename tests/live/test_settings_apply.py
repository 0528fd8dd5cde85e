"""pgflex apply of an Entra-only server with databases, end to end on the emulator's real PostgreSQL.

No password exists anywhere: the spec has no administrator and no password variable is set. The databases
pgflex creates are real PostgreSQL databases with their charset and collation; one the spec stops naming stays
until the spec prunes databases. (verify logging in by token is the verify layer's, tested there.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from azure.identity import DefaultAzureCredential

from pgflex.api import apply
from pgflex.azure.retry import RetryPolicy
from pgflex.emulator.arm.auth import PRINCIPAL_ID
from support.emulator import Clients, EmulatorHandle, unique
from support.specs import environment, public_server, write

from .conftest import connect, scalar

pytestmark = pytest.mark.dataplane

OSSRDBMS_SCOPE = "https://ossrdbms-aad.database.windows.net/.default"
DEPLOYER = "pgflex-deployer"
FAST_RETRY = RetryPolicy(initial_seconds=0.05, max_seconds=0.5)


def _spec(group: str, name: str, databases: list[dict[str, str]], *, prune: bool = False) -> dict[str, Any]:
    server = public_server(
        name,
        {"local": "127.0.0.1/32"},
        authentication={
            "password": False,
            "entra": {
                "administrators": [
                    {"objectId": PRINCIPAL_ID, "principalName": DEPLOYER, "principalType": "ServicePrincipal"}
                ]
            },
        },
        databases=databases,
        pruneDatabases=prune,
    )
    document = environment(group, [server])
    del document["defaults"]["administrator"]
    return document


def _databases(emulator: EmulatorHandle, fqdn: str, token: str) -> set[str]:
    with connect(emulator, fqdn, user=DEPLOYER, password=token) as conn:
        return {str(row[0]) for row in conn.execute("SELECT datname FROM pg_database WHERE NOT datistemplate")}


def _encoding_and_order(emulator: EmulatorHandle, fqdn: str, token: str, database: str) -> tuple[str, bool]:
    """The database's encoding, and whether it sorts 'a' before 'B' (en_US does, C sorts by byte value)."""
    with connect(emulator, fqdn, user=DEPLOYER, password=token, dbname=database) as conn:
        return str(scalar(conn, "SHOW server_encoding")), bool(scalar(conn, "SELECT 'a' < 'B'"))


def test_an_entra_only_server_with_databases_is_applied_without_any_password(
    emulator: EmulatorHandle, clients: Clients, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PGFLEX_ADMIN_PASSWORD", raising=False)
    group, name = unique("rg-live-set"), unique("entra")
    fqdn = f"{name}.postgres.database.azure.com"
    databases = [{"name": "reports"}, {"name": "legacy", "charset": "LATIN1", "collation": "C"}]
    env_file = write(tmp_path / "env.yaml", _spec(group, name, databases))
    result = apply(env_file, verify=False, retry=FAST_RETRY)
    assert result.outcome == "applied", result.failures
    assert clients.postgres.servers.get(group, name).administrator_login is None

    token = DefaultAzureCredential().get_token(OSSRDBMS_SCOPE).token
    with connect(emulator, fqdn, user=DEPLOYER, password=token) as conn:
        assert scalar(conn, "SELECT current_user") == DEPLOYER
    assert _encoding_and_order(emulator, fqdn, token, "reports") == ("UTF8", True)
    assert _encoding_and_order(emulator, fqdn, token, "legacy") == ("LATIN1", False)
    with pytest.raises(psycopg.OperationalError):
        connect(emulator, fqdn, user="pgadmin", password="Any-Passw0rd!")  # no password login at all

    write(env_file, _spec(group, name, databases[:1]))  # legacy no longer named: kept
    kept = apply(env_file, verify=False, retry=FAST_RETRY)
    assert (kept.outcome, kept.writes) == ("unchanged", 0)
    assert "legacy" in _databases(emulator, fqdn, token)
    write(env_file, _spec(group, name, databases[:1], prune=True))
    assert apply(env_file, verify=False, retry=FAST_RETRY).outcome == "applied"
    assert _databases(emulator, fqdn, token) == {"reports", "postgres"}
