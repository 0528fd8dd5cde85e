"""Running the emulator in this process: PKI, store, data plane, HTTPS listener."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import instance, statedir
from .arm.app import MAX_HEAD_BYTES, DroppedConnection, EmulatorApp, current_transport
from .arm.auth import OSSRDBMS_AUDIENCES, Identity, Principal
from .models.backend import Backend
from .models.context import ServerRuntime
from .pki import CertificateAuthority
from .ports import bind_listener
from .settings import RUNTIME_FILE, EmulatorSettings
from .store import Store

log = logging.getLogger("pgflex.emulator")

HTTPS_CERT_STEM = "https"

# Connection limits, through uvicorn's settings (a request's body is limited in arm/app.py: 4 MB).
# Open connections at once, idle ones included: beyond, uvicorn answers 503. Room for several pgflex runs at
# their largest --parallelism (64 connections each) and SDK clients besides.
MAX_CONNECTIONS = 256
# A request's line and headers together: arm.app.MAX_HEAD_BYTES (16 KB), which bounds h11's buffer for an
# incomplete event too (past it, 400 and the connection closed). The emulator's tokens are under 1 KB.
MAX_REQUEST_HEAD_BYTES = MAX_HEAD_BYTES
# A connection idle this long is closed: between requests (uvicorn's keep-alive) and before its first one.
IDLE_CONNECTION_SECONDS = 5
# After an answer given before the body was read (401, 413), uvicorn reads and drops the rest of the body so
# that the client sees the answer and may reuse the connection; past this much, the connection is cut.
DISCARDED_BODY_BYTES = 8 * 1024 * 1024


class _QuietDroppedConnections(logging.Filter):
    """Injected connection drops are intended; keep them out of the error log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DroppedConnection))


def _emulator_protocol() -> type:
    """uvicorn's h11 protocol, telling the app which connection a request came on (to drop it), and bounding
    what a connection may cost before and after its requests."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class EmulatorH11Protocol(H11Protocol):
        _discarding: object = None  # the request whose unread body is being dropped
        _discarded = 0

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)  # type: ignore[arg-type]
            # uvicorn arms its keep-alive timeout after each answer only: without this, a connection that
            # never sends a request would hold its place (of MAX_CONNECTIONS) for ever.
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler
            )

        def data_received(self, data: bytes) -> None:
            if self._over_discard_limit(len(data)):
                return
            # Request tasks are created in here and copy the current context.
            token = current_transport.set(self.transport)
            try:
                super().data_received(data)
            finally:
                current_transport.reset(token)

        def _over_discard_limit(self, size: int) -> bool:
            """Whether this data is past what is dropped of a body after its request was answered."""
            cycle = self.cycle
            if cycle is None or not cycle.response_complete or self.conn.their_state is not h11.SEND_BODY:
                return False
            if self.transport.is_closing():
                return True
            if self._discarding is not cycle:
                self._discarding, self._discarded = cycle, 0
            self._discarded += size
            if self._discarded <= DISCARDED_BODY_BYTES:
                return False
            if self.transport.get_write_buffer_size():
                self.transport.close()  # the answer is still on its way: let it go first
            else:
                self.transport.abort()  # close() would wait for TLS's close_notify while the peer still sends
            return True

    return EmulatorH11Protocol


def load_runtime(settings_or_dir: EmulatorSettings | Path) -> ServerRuntime | None:
    """The data plane, or None (with the reason logged) when no PostgreSQL can be run here."""
    state_dir = settings_or_dir.state_dir if isinstance(settings_or_dir, EmulatorSettings) else settings_or_dir
    from .dataplane import DataPlane, DataPlaneUnavailable

    identity = Identity(state_dir)

    def verify_token(token: str) -> Principal:
        """A Microsoft Entra login's password: a token the identity endpoint issued for PostgreSQL's audience."""
        return identity.verify_access_token(token, OSSRDBMS_AUDIENCES)

    try:
        plane = DataPlane(state_dir / "dataplane", CertificateAuthority(state_dir / "pki"), token_verifier=verify_token)
    except DataPlaneUnavailable as reason:
        log.warning("servers will have no data plane: %s", reason)
        return None
    plane.start_watchdog()  # servers whose PostgreSQL died come back, as the service heals its servers
    return plane


@contextlib.contextmanager
def _runtime_file(state_dir: Path, info: dict[str, Any]) -> Iterator[None]:
    path = state_dir / RUNTIME_FILE
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(json.dumps(info))
    tmp.replace(path)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            if json.loads(path.read_text()).get("pid") == os.getpid():
                path.unlink()


def serve(settings: EmulatorSettings) -> None:
    """Serve until interrupted (SIGINT/SIGTERM stop it cleanly; SIGKILL loses nothing acknowledged)."""
    import uvicorn

    state_dir = settings.state_dir
    os.umask(statedir.UMASK)  # nothing this process creates is readable by other accounts
    statedir.prepare(state_dir, data_plane=settings.tuning.data_plane)
    instance.hold_lock(state_dir)  # until this process exits, however it exits
    sock = bind_listener(settings.host, settings.port)  # before any other work: a taken port fails fast
    ca = CertificateAuthority(state_dir / "pki")
    https = ca.issue_server_certificate([settings.host, "localhost"], state_dir / "pki", HTTPS_CERT_STEM)
    port = sock.getsockname()[1]
    base_url = f"https://{settings.host}:{port}"
    runtime = load_runtime(settings) if settings.tuning.data_plane else None
    store = Store(state_dir / "state.db")
    backend = Backend(store, settings.tuning, runtime)
    app = EmulatorApp(
        backend,
        Identity(state_dir),
        base_url,
        settings.record_path,
        status_extra=lambda: {
            "dataPlane": runtime.binaries_info() if runtime else "none (control plane only)",
            "privateNetworkIsolation": runtime.network_isolation()
            if runtime
            else "not enforced: no data plane (control plane only)",
            "dataPlaneHealth": runtime.health_report() if runtime else {},
        },
    )
    logging.getLogger("uvicorn.error").addFilter(_QuietDroppedConnections())
    config = uvicorn.Config(
        app,
        ssl_certfile=str(https.cert_path),
        ssl_keyfile=str(https.key_path),
        http=_emulator_protocol(),
        ws="none",  # no WebSocket upgrades: nothing here speaks it
        limit_concurrency=MAX_CONNECTIONS,
        h11_max_incomplete_event_size=MAX_REQUEST_HEAD_BYTES,
        timeout_keep_alive=IDLE_CONNECTION_SECONDS,
        log_level="warning",
        lifespan="on",
        access_log=False,
        timeout_graceful_shutdown=1,  # clients keep idle connections open
    )
    info = {
        "pid": os.getpid(),
        "process": instance.process_identity(os.getpid()),
        "host": settings.host,
        "port": port,
        "base_url": base_url,
        "ca_root": str(ca.root_cert_path),
        "trust_bundle": str(ca.trust_bundle_path),
    }
    with _runtime_file(state_dir, info):
        try:
            uvicorn.Server(config).run(sockets=[sock])
        finally:
            store.close()
