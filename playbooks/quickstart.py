"""Quick start: a Flexible Server on the local emulator, reached over verified TLS.

Run with scripts/quickstart (it starts the emulator). What it does, with the unmodified Azure SDK
and DefaultAzureCredential against the emulator:
1. creates a resource group and a PostgreSQL Flexible Server with public access;
2. allows this machine (127.0.0.1) through the server's firewall;
3. sets TLS 1.3 as the minimum and allow-lists the sslinfo extension;
4. connects with sslmode=verify-full to <server>.postgres.database.azure.com, trusting only the
   emulator's root CA, and shows what the server itself says about the session.
"""

from __future__ import annotations

import os
import secrets
import string
import sys

import psycopg
from azure.identity import DefaultAzureCredential
from azure.mgmt.postgresqlflexibleservers import PostgreSQLManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient

from pgflex.emulator.client import AdminClient, find
from pgflex.emulator.settings import default_state_dir

GROUP = "rg-quickstart"
SERVER = "pgflex-quickstart"


def strong_password() -> str:
    alphabet = string.ascii_letters + string.digits
    return "Qs-" + "".join(secrets.choice(alphabet) for _ in range(20)) + "9a!"


def main() -> int:
    emulator = find(default_state_dir())
    if emulator is None:
        print("the emulator is not running: pgflex emulator start", file=sys.stderr)
        return 1
    os.environ.update(emulator.client_environment())
    credential = DefaultAzureCredential()
    options = {
        "base_url": emulator.base_url,
        "credential_scopes": ["https://management.azure.com/.default"],
        "polling_interval": 0.2,
    }
    subscription = os.environ["AZURE_SUBSCRIPTION_ID"]
    resources = ResourceManagementClient(credential, subscription, **options)
    postgres = PostgreSQLManagementClient(credential, subscription, **options)

    resources.resource_groups.create_or_update(GROUP, {"location": "westeurope"})
    print(f"resource group {GROUP}: ready")
    password = strong_password()  # used once below, never printed
    body = {
        "location": "westeurope",
        "sku": {"name": "Standard_B1ms", "tier": "Burstable"},
        "properties": {
            "administratorLogin": "pgadmin",
            "administratorLoginPassword": password,
            "version": "16",
            "storage": {"storageSizeGB": 32},
        },
    }
    existing = {s.name for s in postgres.servers.list_by_resource_group(GROUP)}
    if SERVER in existing:
        # Re-runs reset the password so this script can connect again.
        server = postgres.servers.begin_update(
            GROUP, SERVER, {"properties": {"administratorLoginPassword": password}}
        ).result()
    else:
        server = postgres.servers.begin_create_or_update(GROUP, SERVER, body).result()
    print(f"server {server.fully_qualified_domain_name}: {getattr(server.state, 'value', server.state)}")
    rule = {"properties": {"startIpAddress": "127.0.0.1", "endIpAddress": "127.0.0.1"}}
    postgres.firewall_rules.begin_create_or_update(GROUP, SERVER, "this-machine", rule).result()
    print("firewall: 127.0.0.1 allowed")
    for name, value in (("ssl_min_protocol_version", "TLSv1.3"), ("azure.extensions", "sslinfo")):
        update = {"properties": {"value": value, "source": "user-override"}}
        postgres.configurations.begin_update(GROUP, SERVER, name, update).result()
        print(f"parameter {name} = {value}")

    fqdn = str(server.fully_qualified_domain_name)
    endpoint = AdminClient(emulator).endpoints()[fqdn]
    with psycopg.connect(
        host=fqdn,
        hostaddr=endpoint["host"],
        port=endpoint["port"],
        dbname="postgres",
        user="pgadmin",
        password=password,
        sslmode="verify-full",
        sslrootcert=str(emulator.ca_root),
        connect_timeout=10,
    ) as connection:
        connection.execute("CREATE EXTENSION IF NOT EXISTS sslinfo")
        used, version, cipher = connection.execute("SELECT ssl_is_used(), ssl_version(), ssl_cipher()").fetchone()  # type: ignore[misc]
        row = connection.execute(
            "SELECT s.ssl, s.version, s.cipher, s.bits FROM pg_stat_ssl s "
            "JOIN pg_stat_activity a USING (pid) WHERE a.pid = pg_backend_pid()"
        ).fetchone()
    print(f"\nconnected to {fqdn} with sslmode=verify-full (host name and chain checked against the emulator CA)")
    print(f"  ssl_is_used() = {used}, ssl_version() = {version}, ssl_cipher() = {cipher}")
    print(f"  pg_stat_ssl: {row}")
    running, requested = endpoint["runningVersion"], endpoint["requestedVersion"]
    print(f"  PostgreSQL {running} (requested {requested}) at {endpoint['host']}:{endpoint['port']}")
    return 0 if used and version == "TLSv1.3" else 1


if __name__ == "__main__":
    sys.exit(main())
