"""Where servers listen: a port of this machine's loopback, or a private address in a network namespace.

Private servers (``provision(..., network=...)``) run in a network namespace per virtual network when the
emulator is root and ``ip netns`` works: ``lo`` there carries each server's private address, on which its
PostgreSQL listens (port 5432), so nothing outside the namespace reaches it. The emulator still manages it
through the Unix socket, which network namespaces do not affect. Elsewhere they listen on loopback like
public servers, and :meth:`Placement.isolation` says why.

A server with public access disabled and no virtual network has no endpoint on Azure: its PostgreSQL listens
on no TCP address at all (``listen_addresses = ''``), only on the emulator's private Unix socket.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from pgflex.emulator import netns
from pgflex.emulator.dataplane.cluster import free_port
from pgflex.emulator.dataplane.gate import EntraGate
from pgflex.emulator.dataplane.records import ServerRecord

LOOPBACK = "127.0.0.1"
NO_TCP = ""  # listen_addresses for a server without an endpoint: the private Unix socket only
PRIVATE_PORT = 5432  # a private server has an address of its own, so it takes PostgreSQL's usual port
ISOLATED = "network namespaces (private servers listen only inside their virtual network's namespace)"


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    namespace: str | None = None  # the network namespace to connect from; None: this machine's own


@dataclass(frozen=True)
class PrivateNetwork:
    """Where a private server lives: its virtual network (resource id) and its address in the delegated subnet."""

    network_id: str
    address: str


def namespace_prefix(root: Path) -> str:
    """Namespaces of one data plane root share this prefix: two emulators (two state directories) on one
    machine may hold virtual networks with the same resource id, and must not share or delete each other's."""
    return f"pgflex-{hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:6]}-"


class Placement:
    """Ports and namespaces of one data plane root's servers."""

    def __init__(self, root: Path, ports_in_use: Iterable[int]) -> None:
        self._root = root
        self._guard = threading.Lock()
        # Ports of servers that exist (running or not), so that a new server never takes one of them.
        self._reserved_ports = set(ports_in_use)
        self.no_isolation = netns.unavailable_reason()  # probed once: root, iproute2, a throwaway namespace
        self._namespace_lock = threading.Lock()  # servers of one virtual network share its namespace

    def isolation(self) -> str:
        """How private servers are kept apart from this machine's network, for ``status``."""
        if self.no_isolation is None:
            return ISOLATED
        return f"not enforced: private servers listen on loopback like public ones ({self.no_isolation})"

    def place(self, record: ServerRecord, network: PrivateNetwork | None) -> None:
        """A new server's port, and its namespace and address when it is private and isolation works here."""
        if network is not None:
            record.virtual_network = network.network_id
        if network is None or self.no_isolation is not None:  # without isolation: loopback, as public ones
            record.port = self.reserve_port()
            return
        record.port = PRIVATE_PORT
        # Resource ids compare case-insensitively in Azure; namespace names are file names, so keep them short.
        digest = hashlib.sha256(network.network_id.lower().encode()).hexdigest()[:8]
        record.namespace = namespace_prefix(self._root) + digest
        record.private_address = network.address

    def in_namespace(self, record: ServerRecord) -> bool:
        # A record from a root emulator read by one that cannot isolate falls back to loopback.
        return bool(record.namespace) and self.no_isolation is None

    def endpoint(self, record: ServerRecord) -> Endpoint:
        if self.in_namespace(record):
            return Endpoint(record.private_address, record.port, record.namespace)
        return Endpoint(LOOPBACK, record.port)

    def listen_address(self, record: ServerRecord) -> str:
        """PostgreSQL's listen_addresses: "" (no TCP) for a server no client may reach."""
        if self.in_namespace(record):
            return record.private_address
        if not record.public_access and not record.virtual_network:
            return NO_TCP
        return LOOPBACK

    def listening(self, record: ServerRecord) -> bool:
        return self.listen_address(record) != NO_TCP

    def enter_namespace(self, record: ServerRecord, gate: EntraGate | None) -> None:
        """The server's namespace with its address (made anew after a reboot), and the Entra gate listening there."""
        with self._namespace_lock:
            netns.ensure(record.namespace, [record.private_address])
            if gate is not None:
                gate.serve_namespace(record.namespace)

    def leave_namespace(
        self, record: ServerRecord, all_records: Callable[[], list[ServerRecord]], gate: EntraGate | None
    ) -> None:
        """Take a deleted server's address out of its namespace; remove the namespace with its last server."""
        if not self.in_namespace(record):
            return
        with self._namespace_lock:  # a sibling made meanwhile is saved before it enters the namespace
            if any(other.namespace == record.namespace and other.name != record.name for other in all_records()):
                netns.remove_address(record.namespace, record.private_address)
                return
            if gate is not None:
                gate.leave_namespace(record.namespace)  # its listener would keep the namespace alive
            netns.delete(record.namespace)

    def reserve_port(self) -> int:
        with self._guard:
            while True:
                port = free_port()
                if port not in self._reserved_ports:
                    self._reserved_ports.add(port)
                    return port

    def release_port(self, port: int) -> None:
        with self._guard:
            self._reserved_ports.discard(port)
