"""End-to-end fixtures: an emulator with its data plane, changed only through the Azure SDK, reached by real clients.

Every emulated server is a real PostgreSQL with TLS. Clients find it the way ``pgflex`` users do: the
emulator's endpoint list maps the server's FQDN to a loopback address and port, and libpq connects with
``host=<fqdn> hostaddr=<address>`` so that verify-full still checks the certificate against the FQDN.
A private server may instead listen on its private address inside a network namespace (its virtual
network, when the emulator runs as root): :func:`from_network` runs a client there.
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, LiteralString, TypeVar

import psycopg
import pytest

from pgflex.emulator import netns
from pgflex.emulator.dataplane import namespace_prefix
from support.armspec import ArmSpec
from support.conformance import assert_conforming
from support.emulator import SERVER_PASSWORD, Clients, EmulatorHandle, make_handle, server_body, unique

ADMIN = "pgadmin"
SSL_REQUEST = bytes.fromhex("0000000804d2162f")  # PostgreSQL's SSLRequest: length 8, code 80877103
LOCAL_RULE = {"properties": {"startIpAddress": "127.0.0.1", "endIpAddress": "127.0.0.1"}}
VERSION_NAMES = {
    ssl.TLSVersion.TLSv1: "TLSv1",
    ssl.TLSVersion.TLSv1_1: "TLSv1.1",
    ssl.TLSVersion.TLSv1_2: "TLSv1.2",
    ssl.TLSVersion.TLSv1_3: "TLSv1.3",
}
ProbeOutcome = Literal["accepted", "refused", "inconclusive"]
DELEGATION = {"name": "pg", "properties": {"serviceName": "Microsoft.DBforPostgreSQL/flexibleServers"}}
T = TypeVar("T")


@dataclass(frozen=True)
class LiveServer:
    group: str
    name: str

    @property
    def fqdn(self) -> str:
        return f"{self.name}.postgres.database.azure.com"


@dataclass(frozen=True)
class PrivateServer(LiveServer):
    zone: str
    address: str  # its A record in the private zone

    @property
    def zone_record(self) -> str:
        return f"{self.name}.{self.zone}"


# --- emulators --------------------------------------------------------------------------------------------------


def new_state_dir() -> Path:
    """A state dir under /tmp: the postgres account (we run as root) cannot traverse /tmp/pytest-of-root."""
    return Path(tempfile.mkdtemp(prefix="pgflex-live-"))


@contextmanager
def running_live_emulator() -> Iterator[EmulatorHandle]:
    state_dir = new_state_dir()
    handle = make_handle(state_dir, data_plane=True, operation_seconds=0.05, retry_after_seconds=0)
    try:
        handle.start()
        yield handle
    finally:
        handle.stop()  # also stops every PostgreSQL it runs
        # Stopping keeps the virtual networks' namespaces (servers come back into them); the state goes here.
        netns.delete_matching(namespace_prefix(state_dir / "dataplane"))
        shutil.rmtree(state_dir, ignore_errors=True)


@contextmanager
def sdk(handle: EmulatorHandle) -> Iterator[Clients]:
    """SDK clients for ``handle``, with its identity variables set only meanwhile.

    Not session-wide: the control-plane emulator of the same worker sets the same variables, and the
    base URL (so the identity endpoint) changes whenever an emulator restarts.
    """
    with handle.client_environment():
        yield handle.clients()


@pytest.fixture(scope="session")
def live_emulator() -> Iterator[EmulatorHandle]:
    """One emulator with data plane per test worker, shared by the tests that don't restart it."""
    with running_live_emulator() as handle:
        yield handle


@pytest.fixture
def emulator(live_emulator: EmulatorHandle, arm_spec: ArmSpec) -> Iterator[EmulatorHandle]:
    """The live emulator for one test; every ARM response it recorded must conform to the specification."""
    live_emulator.new_record_lines()  # start this test's record from here
    with live_emulator.client_environment():
        yield live_emulator
    assert_conforming(live_emulator, arm_spec)


# `clients` and `resource_group` come from tests/conftest.py; they use the `emulator` above.


# --- servers ----------------------------------------------------------------------------------------------------


def create_server(clients: Clients, group: str, *, local_rule: bool = True) -> LiveServer:
    """A public server; with ``local_rule`` its firewall admits 127.0.0.1 (a new server admits nobody)."""
    server = LiveServer(group, unique("pg"))
    clients.postgres.servers.begin_create_or_update(group, server.name, server_body(version="15")).result()
    if local_rule:
        clients.postgres.firewall_rules.begin_create_or_update(group, server.name, "local", LOCAL_RULE).result()
    return server


def create_private_server(clients: Clients, group: str, vnet_prefix: str = "10.30") -> PrivateServer:
    """A private server in a new delegated subnet, with its private DNS zone linked to the virtual network."""
    address_space = {"addressSpace": {"addressPrefixes": [f"{vnet_prefix}.0.0/16"]}}
    vnet = clients.network.virtual_networks.begin_create_or_update(
        group, "vnet", {"location": "westeurope", "properties": address_space}
    ).result()
    subnet_body = {"properties": {"addressPrefix": f"{vnet_prefix}.1.0/24", "delegations": [DELEGATION]}}
    subnet = clients.network.subnets.begin_create_or_update(group, "vnet", "db", subnet_body).result()
    zone_name = f"{unique('z')}.private.postgres.database.azure.com"
    zone = clients.dns.private_zones.begin_create_or_update(group, zone_name, {"location": "global"}).result()
    link = {"location": "global", "properties": {"virtualNetwork": {"id": vnet.id}, "registrationEnabled": False}}
    clients.dns.virtual_network_links.begin_create_or_update(group, zone_name, "vnet", link).result()
    name = unique("priv")
    network = {"delegatedSubnetResourceId": subnet.id, "privateDnsZoneArmResourceId": zone.id}
    clients.postgres.servers.begin_create_or_update(group, name, server_body(version="15", network=network)).result()
    record = clients.dns.record_sets.get(group, zone_name, "A", name)
    address = (record.a_records or [])[0].ipv4_address
    assert address is not None
    return PrivateServer(group, name, zone_name, address)


def set_parameter(clients: Clients, server: LiveServer, name: str, value: str) -> None:
    body = {"properties": {"value": value, "source": "user-override"}}
    clients.postgres.configurations.begin_update(server.group, server.name, name, body).result()


@pytest.fixture(scope="session")
def ready_server(live_emulator: EmulatorHandle, arm_spec: ArmSpec) -> LiveServer:
    """A server admitting 127.0.0.1 with sslinfo allow-listed, for tests that change nothing server-wide."""
    live_emulator.new_record_lines()
    with sdk(live_emulator) as setup:
        group = unique("rg")
        setup.resources.resource_groups.create_or_update(group, {"location": "westeurope"})
        server = create_server(setup, group)
        set_parameter(setup, server, "azure.extensions", "sslinfo")
    assert_conforming(live_emulator, arm_spec)  # the setup's responses belong to no test
    return server


@pytest.fixture
def new_server(clients: Clients, resource_group: str) -> LiveServer:
    """A server of the test's own, for tests that change server-wide parameters or its state."""
    return create_server(clients, resource_group)


# --- real clients -----------------------------------------------------------------------------------------------


def endpoint(handle: EmulatorHandle, fqdn: str) -> tuple[str, int]:
    """Where ``fqdn`` listens now; read it again after a start, restart or emulator restart."""
    entry = handle.admin().endpoints()[fqdn]
    return str(entry["host"]), int(entry["port"])


def conninfo(handle: EmulatorHandle, fqdn: str, **overrides: Any) -> dict[str, Any]:
    assert handle.running is not None
    host, port = endpoint(handle, fqdn)
    params: dict[str, Any] = {
        "host": fqdn,
        "hostaddr": host,
        "port": port,
        "user": ADMIN,
        "password": SERVER_PASSWORD,
        "dbname": "postgres",
        "sslmode": "verify-full",
        "sslrootcert": str(handle.running.ca_root),
        "connect_timeout": 10,
    }
    params.update(overrides)
    return params


def connect(handle: EmulatorHandle, fqdn: str, **overrides: Any) -> psycopg.Connection[tuple[Any, ...]]:
    return psycopg.connect(autocommit=True, **conninfo(handle, fqdn, **overrides))


def from_network(handle: EmulatorHandle, fqdn: str, work: Callable[[], T]) -> T:
    """``work()`` where the server's clients are: inside its virtual network's namespace when it has one.

    ``work`` must not call the emulator: inside a namespace, 127.0.0.1 is the namespace's own loopback.
    """
    namespace = handle.admin().endpoints()[fqdn].get("namespace")
    return netns.call_inside(namespace, work) if namespace else work()


def scalar(conn: psycopg.Connection[tuple[Any, ...]], query: LiteralString, *args: Any) -> Any:
    row = conn.execute(query, args or None).fetchone()
    assert row is not None
    return row[0]


def psql(handle: EmulatorHandle, fqdn: str, query: str, **overrides: Any) -> subprocess.CompletedProcess[str]:
    """The psql binary; the password travels in PGPASSWORD, everything else in the connection string."""
    binary = shutil.which("psql")
    if binary is None:
        pytest.skip("psql is not installed")
    params = conninfo(handle, fqdn, **overrides)
    env = {**os.environ, "PGPASSWORD": str(params.pop("password"))}
    connection_string = " ".join(f"{key}={value}" for key, value in params.items())
    return subprocess.run(
        [binary, "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", connection_string, "-c", query],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )


def raw_tls_probe(host: str, port: int, server_hostname: str, version: ssl.TLSVersion) -> ProbeOutcome:
    """SSLRequest, then a TLS handshake offering exactly ``version``.

    "accepted" when the handshake completes at that version; "refused" when the server answers a real
    ClientHello with a fatal alert (or answers the SSLRequest with "N"); "inconclusive" otherwise,
    notably when OpenSSL could not even build a ClientHello for that version (a client-side refusal
    that proves nothing about the server). Memory BIOs show exactly what left the client.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # only the version is in question; certificates are tested elsewhere
    context.set_ciphers("ALL:@SECLEVEL=0")  # otherwise OpenSSL 3 sends no TLS 1.0/1.1 ClientHello
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # offering TLS 1.0/1.1 is the point
        context.minimum_version = version
        context.maximum_version = version
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname=server_hostname)
    hello_sent = False
    with socket.create_connection((host, port), timeout=10) as raw:
        raw.sendall(SSL_REQUEST)
        if raw.recv(1) != b"S":  # exactly one byte (CVE-2021-23222)
            return "refused"
        while True:
            try:
                tls.do_handshake()
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLError as failure:
                return "refused" if hello_sent and "ALERT" in (failure.reason or "") else "inconclusive"
            else:
                return "accepted" if tls.version() == VERSION_NAMES[version] else "inconclusive"
            pending = outgoing.read()
            if not pending and not hello_sent:
                return "inconclusive"
            if pending:
                raw.sendall(pending)
                hello_sent = True
            try:
                received = raw.recv(65536)
            except (TimeoutError, ConnectionResetError):
                return "inconclusive"
            if not received:
                return "inconclusive"  # closed without an alert: not the refusal we look for
            incoming.write(received)
