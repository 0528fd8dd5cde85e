"""Where each server is: the emulator's endpoint map for ``cloud: local``, DNS for Azure.

None of this calls Resource Manager: the emulator's map comes from its admin API, Azure's endpoints from DNS
(public, or the private zone inside a linked network).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from pgflex.emulator import netns
from pgflex.emulator.client import AdminClient, EmulatorRequestFailed, RunningEmulator, find
from pgflex.emulator.settings import default_state_dir
from pgflex.spec import Environment, PgflexError, Server

from .checks import Endpoint

if TYPE_CHECKING:
    from pgflex.azure.clients import AzureClients

POSTGRES_PORT = 5432

T = TypeVar("T")


class VerifyError(PgflexError):
    """verify cannot start at all (no emulator, unknown server name, unusable CA bundle)."""


def running_emulator(clients: AzureClients | None) -> RunningEmulator:
    if clients is not None and clients.emulator is not None:
        return clients.emulator
    # Not connect(): that would start an empty emulator, whose servers verify would then call missing.
    running = find(default_state_dir())
    if running is None:
        raise VerifyError(
            f"no pgflex emulator runs for {default_state_dir()}; start it with `pgflex emulator start` "
            "(cloud: local verifies the emulator's servers)"
        )
    return running


def _resolve(host_name: str) -> str:
    infos = socket.getaddrinfo(host_name, POSTGRES_PORT, type=socket.SOCK_STREAM)
    return str(infos[0][4][0])


class Locator:
    """Endpoints: the emulator's map for ``cloud: local``, DNS for Azure (public, or the private zone)."""

    def __init__(self, env: Environment, emulator: RunningEmulator | None, host_names: Mapping[str, str]) -> None:
        self._env = env
        self._host_names = host_names
        self._map: dict[str, dict[str, Any]] | None = None
        if emulator is not None:
            try:
                self._map = AdminClient(emulator).endpoints()
            except (OSError, EmulatorRequestFailed) as failure:
                raise VerifyError(f"cannot read the emulator's endpoint map: {failure}") from None

    def fqdn(self, server: Server) -> str:
        return f"{server.name}.{self._env.dns_suffix}"

    def endpoint(self, server: Server) -> Endpoint:
        """The endpoint, or OSError saying why the server cannot be reached."""
        fqdn = self.fqdn(server)
        host_name = self._host_names.get(server.name, fqdn)
        if self._map is None:
            # A private server's FQDN resolves (through its private zone) only inside linked networks.
            address = _resolve(host_name)
            return Endpoint(fqdn, host_name, address, POSTGRES_PORT, via=f"DNS ({host_name})")
        entry = self._map.get(fqdn)
        if entry is None:
            raise OSError(f"the emulator has no server {fqdn} (create it with `pgflex apply`)")
        if entry.get("host") is None or entry.get("port") is None:
            raise OSError(f"{fqdn} has no running PostgreSQL (state {entry.get('state')})")
        return Endpoint(
            fqdn,
            host_name,
            str(entry["host"]),
            int(entry["port"]),
            via="emulator endpoint map",
            namespace=entry.get("namespace"),
        )


def from_clients_network(endpoint: Endpoint, work: Callable[[], T]) -> T:
    """``work()`` where the server's clients are: for a private emulated server, inside the network namespace
    that stands for its virtual network (root only); here otherwise.

    Only the connections to the server go inside: the emulator's own API stays on this machine's loopback.
    """
    if not endpoint.namespace:
        return work()
    try:
        return netns.call_inside(endpoint.namespace, work)
    except netns.NetnsError as failure:
        raise OSError(f"cannot join the virtual network of {endpoint.fqdn}: {failure}") from failure
