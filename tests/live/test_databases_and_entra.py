"""Databases and Microsoft Entra administrators made through the SDK exist in the server's real PostgreSQL."""

from __future__ import annotations

import psycopg
import pytest
from azure.identity import DefaultAzureCredential

from pgflex.emulator.arm.auth import PRINCIPAL_ID
from support.emulator import SERVER_PASSWORD, Clients, EmulatorHandle, unique

from .conftest import LOCAL_RULE, LiveServer, connect, scalar

pytestmark = pytest.mark.dataplane

OSSRDBMS_SCOPE = "https://ossrdbms-aad.database.windows.net/.default"
DEPLOYER = "ci-deployer@contoso.com"  # the emulator's managed identity, as an Entra administrator


def test_databases_created_by_put_exist_with_their_charset_and_collation(
    emulator: EmulatorHandle, clients: Clients, new_server: LiveServer
) -> None:
    databases = clients.postgres.databases
    group, name = new_server.group, new_server.name
    inventory = {"properties": {"charset": "UTF8", "collation": "en_US.utf8"}}
    databases.begin_create(group, name, "inventory", inventory).result()
    databases.begin_create(group, name, "inventory", inventory).result()  # again: the data plane changes nothing
    databases.begin_create(group, name, "legacy", {"properties": {"charset": "LATIN1", "collation": "C"}}).result()
    with connect(emulator, new_server.fqdn, dbname="inventory") as conn:
        assert scalar(conn, "SHOW server_encoding") == "UTF8"
        assert scalar(conn, "SELECT 'a' < 'B'") is True  # en_US collates letters case-insensitively first
        conn.execute("CREATE TABLE items (name text)")  # the administrator may use it
    with connect(emulator, new_server.fqdn, dbname="legacy") as conn:
        assert scalar(conn, "SHOW server_encoding") == "LATIN1"
        assert scalar(conn, "SELECT 'a' < 'B'") is False  # C collates by byte value
    databases.begin_delete(group, name, "legacy").result()
    with connect(emulator, new_server.fqdn) as conn:
        names = {row[0] for row in conn.execute("SELECT datname FROM pg_database WHERE NOT datistemplate")}
    assert {"inventory", "postgres"} <= names and "legacy" not in names
    assert {d.name for d in databases.list_by_server(group, name)} == {
        "azure_maintenance",
        "azure_sys",
        "inventory",
        "postgres",
    }


def test_an_entra_only_server_admits_its_administrator_by_token_and_no_password(
    emulator: EmulatorHandle, clients: Clients, resource_group: str
) -> None:
    servers, admins = clients.postgres.servers, clients.postgres.administrators_microsoft_entra
    server = LiveServer(resource_group, unique("entra"))
    entra_only = {"activeDirectoryAuth": "Enabled", "passwordAuth": "Disabled"}
    body = {
        "location": "westeurope",
        "sku": {"name": "Standard_B1ms", "tier": "Burstable"},
        "properties": {"version": "15", "storage": {"storageSizeGB": 32}, "authConfig": entra_only},
    }
    servers.begin_create_or_update(resource_group, server.name, body).result()
    clients.postgres.firewall_rules.begin_create_or_update(resource_group, server.name, "local", LOCAL_RULE).result()
    principal = {"principalName": DEPLOYER, "principalType": "ServicePrincipal"}
    admins.begin_create_or_update(resource_group, server.name, PRINCIPAL_ID, {"properties": principal}).result()
    token = DefaultAzureCredential().get_token(OSSRDBMS_SCOPE).token
    with connect(emulator, server.fqdn, user=DEPLOYER, password=token) as conn:
        assert scalar(conn, "SELECT current_user") == DEPLOYER
        assert scalar(conn, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") is True
    with pytest.raises(psycopg.OperationalError):
        connect(emulator, server.fqdn, password=SERVER_PASSWORD)  # no password administrator, no password logins
    # Password authentication turned on later, with its administrator; removing the Entra administrator ends its login.
    password_on = {
        "authConfig": {"passwordAuth": "Enabled"},
        "administratorLogin": "pgadmin",
        "administratorLoginPassword": SERVER_PASSWORD,
    }
    servers.begin_update(resource_group, server.name, {"properties": password_on}).result()
    with connect(emulator, server.fqdn) as conn:
        assert scalar(conn, "SELECT current_user") == "pgadmin"
    admins.begin_delete(resource_group, server.name, PRINCIPAL_ID).result()
    with pytest.raises(psycopg.OperationalError):
        connect(emulator, server.fqdn, user=DEPLOYER, password=token)
