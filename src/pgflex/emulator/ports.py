"""The emulator's listening port: binding it, and saying clearly when another program holds it."""

from __future__ import annotations

import errno
import socket

from .settings import PORT_ENV


class PortInUse(OSError):
    """The emulator's port is taken; the message names it and how to choose another."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(
            f"port {port} on {host} is already in use by another program; "
            f"set {PORT_ENV} to another port for the emulator (0 picks a free one)"
        )
        self.host = host
        self.port = port


def bind_listener(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (0: a free port), or PortInUse."""
    # proto=IPPROTO_TCP matters: asyncio turns on TCP_NODELAY only for sockets that say they are TCP,
    # and without it every response waits ~40 ms on Nagle's algorithm and delayed ACKs.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as failure:
        sock.close()
        if failure.errno == errno.EADDRINUSE:
            raise PortInUse(host, port) from None
        raise
    sock.set_inheritable(True)
    return sock


def check_port_free(host: str, port: int) -> None:
    """PortInUse now, when the port is taken, rather than after a background start has begun."""
    if port != 0:
        bind_listener(host, port).close()


# How the background process (``python -m pgflex.emulator serve-json``) tells daemon.start that its port was
# taken between daemon.start's check and its own bind.
EXIT_PORT_IN_USE = 3
# How it says that it refused to start (an unsafe state directory, or another emulator serving it): the last line
# of its log says why.
EXIT_REFUSED = 4
