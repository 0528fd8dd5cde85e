"""The emulator's side of Microsoft Entra logins: the LDAP responder each PostgreSQL asks about a token.

pg_hba.conf sends an Entra role's password (the token) to ``127.0.0.1:<port>`` in simple-bind mode, the
server's name in the bind name (:func:`entra.bind_name`). PostgreSQL resolves that address in its own
network namespace, so the responder listens on the same port on this machine's loopback and on the
loopback of every namespace that private servers live in. The port is kept in a file so that servers
still running from an earlier emulator process find the new one there; when another program took it
meanwhile, :attr:`EntraGate.port_changed` tells the data plane to rewrite their pg_hba.conf.

A login is admitted only when the token verifies (signature, issuer, PostgreSQL's audience, expiry and
not-before) and names an administrator of that very server with that role name (:func:`entra.admitted`).
The token itself is never logged, only why a login was refused.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
from collections.abc import Callable
from pathlib import Path

from pgflex.emulator import netns
from pgflex.emulator.dataplane.config import write_atomically
from pgflex.emulator.dataplane.entra import EntraSettings, TokenVerifier, admitted, parse_bind_name
from pgflex.emulator.dataplane.ldap import LdapResponder

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"


class EntraGate:
    """Answers PostgreSQL's binds for every server of one data plane root."""

    def __init__(
        self,
        port_file: Path,
        verify: TokenVerifier,
        settings_of: Callable[[str], EntraSettings | None],
        is_server_name: Callable[[str], bool],
    ) -> None:
        self._verify = verify
        self._settings_of = settings_of
        self._is_server_name = is_server_name
        self._port_file = port_file
        self._lock = threading.Lock()
        self._namespaces: dict[str, tuple[socket.socket, int]] = {}  # name -> (listener, the namespace's inode)
        previous = self._saved_port()
        listener = _listen(previous)
        self.port: int = listener.getsockname()[1]
        self.port_changed = previous is not None and previous != self.port
        if self.port != previous:
            write_atomically(port_file, json.dumps({"port": self.port}))
        self._responder = LdapResponder(self.check)
        self._responder.serve(listener)

    def check(self, bind_name: str, token: str) -> bool:
        """Whether ``token`` logs in as the role ``bind_name`` names, on the server it names."""
        parsed = parse_bind_name(bind_name, self._is_server_name)
        if parsed is None:
            log.info("Entra login refused: the bind name is not one this data plane writes")
            return False
        role, server = parsed
        settings = self._settings_of(server)
        if settings is None or not settings.enabled:
            log.info("Entra login to %s as %r refused: Microsoft Entra authentication is off", server, role)
            return False
        try:
            identity = self._verify(token)
        except Exception as invalid:
            log.info("Entra login to %s as %r refused: %s", server, role, invalid)
            return False
        if admitted(identity, role, settings) is None:
            log.info(
                "Entra login to %s as %r refused: the token is not that administrator's (object id, tenant)",
                server,
                role,
            )
            return False
        return True

    def serve_namespace(self, namespace: str) -> None:
        """Listen on the port in ``namespace`` too (again, when the namespace was made anew since)."""
        with self._lock:
            current = _inode(namespace)
            known = self._namespaces.get(namespace)
            if known is not None and known[1] == current:
                return
            self._forget(namespace)
            try:
                listener = netns.call_inside(namespace, lambda: _listen(self.port, exact=True))
            except OSError as failure:
                log.warning("Entra logins to servers in %s will fail: %s", namespace, failure)
                return
            self._responder.serve(listener)
            self._namespaces[namespace] = (listener, current)

    def leave_namespace(self, namespace: str) -> None:
        """Stop listening there: a listening socket would keep a deleted namespace alive."""
        with self._lock:
            self._forget(namespace)

    def close(self) -> None:
        with self._lock:
            for namespace in list(self._namespaces):
                self._forget(namespace)
        self._responder.close()

    def _forget(self, namespace: str) -> None:
        known = self._namespaces.pop(namespace, None)
        if known is not None:
            self._responder.stop_serving(known[0])

    def _saved_port(self) -> int | None:
        try:
            port = json.loads(self._port_file.read_text())["port"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return port if isinstance(port, int) and 0 < port < 65536 else None


def _listen(port: int | None, *, exact: bool = False) -> socket.socket:
    """A listener on loopback at ``port``; any free port when that one is taken, unless ``exact``."""
    try:
        return socket.create_server((LOOPBACK, port or 0))
    except OSError:
        if exact or not port:
            raise
        return socket.create_server((LOOPBACK, 0))


def _inode(namespace: str) -> int:
    with contextlib.suppress(OSError):
        return (netns.NETNS_DIR / namespace).stat().st_ino
    return 0
