"""Where the machine allows it, a private server is reachable only from inside its virtual network.

The emulator (as root, with ``ip netns``) gives each virtual network a network namespace; a private
server listens on its private address there and nowhere else. This machine may have a default route to
a real network, so no packet is ever sent to a private address from outside a namespace the test owns:
unreachability from the host is shown by where the listener is, and by a connection attempt only when
the host has no route to the address at all (it then fails at once, without a packet leaving).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import psycopg
import pytest

from pgflex.emulator import netns
from support.emulator import EmulatorHandle, unique

from .conftest import (
    PrivateServer,
    connect,
    conninfo,
    create_private_server,
    running_live_emulator,
    scalar,
    sdk,
    set_parameter,
)

pytestmark = pytest.mark.dataplane

_NO_ISOLATION = netns.unavailable_reason()
if _NO_ISOLATION is not None:
    pytestmark = [pytest.mark.dataplane, pytest.mark.skip(reason=f"no network isolation here: {_NO_ISOLATION}")]


@pytest.fixture(scope="module")
def isolated() -> Iterator[tuple[EmulatorHandle, PrivateServer]]:
    """An emulator of its own (one test restarts it) holding one private server with sslinfo allowed."""
    with running_live_emulator() as handle:
        with sdk(handle) as clients:
            group = unique("rg")
            clients.resources.resource_groups.create_or_update(group, {"location": "westeurope"})
            server = create_private_server(clients, group, vnet_prefix="10.50")
            set_parameter(clients, server, "azure.extensions", "sslinfo")
        yield handle, server


def namespace_of(handle: EmulatorHandle, server: PrivateServer) -> str:
    entry = handle.admin().endpoints()[server.fqdn]
    assert (entry["host"], entry["port"]) == (server.address, 5432)
    assert handle.admin().endpoints()[server.zone_record]["namespace"] == entry["namespace"]
    return str(entry["namespace"])


def listeners(namespace: str | None = None) -> str:
    prefix = ["ip", "netns", "exec", namespace] if namespace else []
    return subprocess.run([*prefix, "ss", "-ltnH"], capture_output=True, text=True, check=True, timeout=10).stdout


def tls_session_inside(handle: EmulatorHandle, server: PrivateServer) -> tuple[bool, str]:
    """verify-full to the FQDN at the private address, from inside the namespace: ssl_is_used() and the client."""

    # Read outside: inside the namespace, 127.0.0.1 is the namespace's own loopback, not the emulator's.
    params = conninfo(handle, server.fqdn)  # host=<fqdn> hostaddr=<private address> sslmode=verify-full

    def session() -> tuple[bool, str]:
        with psycopg.connect(autocommit=True, **params) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS sslinfo")
            return bool(scalar(conn, "SELECT ssl_is_used()")), str(scalar(conn, "SELECT inet_client_addr()"))

    return netns.call_inside(namespace_of(handle, server), session)


def test_status_says_private_servers_are_isolated(isolated: tuple[EmulatorHandle, PrivateServer]) -> None:
    handle, _ = isolated
    assert handle.admin().status()["privateNetworkIsolation"].startswith("network namespaces")


def test_private_server_is_not_reachable_from_the_host(isolated: tuple[EmulatorHandle, PrivateServer]) -> None:
    handle, server = isolated
    namespace = namespace_of(handle, server)
    listening_at = f"{server.address}:5432"
    assert listening_at in listeners(namespace)
    assert listening_at not in listeners()
    host_addresses = subprocess.run(["ip", "-br", "addr"], capture_output=True, text=True, check=True).stdout
    assert f" {server.address}/" not in host_addresses
    route = subprocess.run(["ip", "route", "get", server.address], capture_output=True, text=True, check=False)
    assert "dev lo" not in route.stdout and not route.stdout.startswith("local")
    if route.returncode != 0:  # no route at all: the attempt fails locally, nothing leaves the machine
        with pytest.raises(psycopg.OperationalError):
            connect(handle, server.fqdn, connect_timeout=2)


def test_private_server_is_reachable_inside_its_virtual_network(
    isolated: tuple[EmulatorHandle, PrivateServer],
) -> None:
    handle, server = isolated
    ssl_used, client = tls_session_inside(handle, server)
    assert ssl_used
    assert client == server.address  # the namespace's own address: no firewall rule needed, as on Azure


def test_private_server_comes_back_in_its_namespace_after_an_emulator_restart(
    isolated: tuple[EmulatorHandle, PrivateServer],
) -> None:
    handle, server = isolated
    before = namespace_of(handle, server)
    handle.stop()
    assert netns.exists(before)  # stopping keeps the virtual network; its server comes back into it
    handle.start()
    assert namespace_of(handle, server) == before
    assert tls_session_inside(handle, server)[0]
    assert f"{server.address}:5432" not in listeners()
