"""Running the emulator in this process: PKI, store, data plane, HTTPS listener."""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import instance, statedir
from .arm.app import DroppedConnection, EmulatorApp, current_transport
from .arm.auth import Identity
from .models.backend import Backend
from .models.context import ServerRuntime
from .pki import CertificateAuthority
from .ports import bind_listener
from .settings import RUNTIME_FILE, EmulatorSettings
from .store import Store

log = logging.getLogger("pgflex.emulator")

HTTPS_CERT_STEM = "https"


class _QuietDroppedConnections(logging.Filter):
    """Injected connection drops are intended; keep them out of the error log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DroppedConnection))


def _transport_aware_protocol() -> type:
    """uvicorn's h11 protocol, telling the app which connection a request came on (to drop it)."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class TransportAwareH11Protocol(H11Protocol):
        def data_received(self, data: bytes) -> None:
            # Request tasks are created in here and copy the current context.
            token = current_transport.set(self.transport)
            try:
                super().data_received(data)
            finally:
                current_transport.reset(token)

    return TransportAwareH11Protocol


def load_runtime(settings_or_dir: EmulatorSettings | Path) -> ServerRuntime | None:
    """The data plane, or None (with the reason logged) when no PostgreSQL can be run here."""
    state_dir = settings_or_dir.state_dir if isinstance(settings_or_dir, EmulatorSettings) else settings_or_dir
    from .dataplane import DataPlane, DataPlaneUnavailable

    try:
        return DataPlane(state_dir / "dataplane", CertificateAuthority(state_dir / "pki"))
    except DataPlaneUnavailable as reason:
        log.warning("servers will have no data plane: %s", reason)
        return None


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
        },
    )
    logging.getLogger("uvicorn.error").addFilter(_QuietDroppedConnections())
    config = uvicorn.Config(
        app,
        ssl_certfile=str(https.cert_path),
        ssl_keyfile=str(https.key_path),
        http=_transport_aware_protocol(),
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
