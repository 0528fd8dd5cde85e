"""Authentication settings, Entra administrators and databases survive restarts of the server and of the emulator,
wired as the emulator wires its data plane (server.load_runtime: the identity's key checks the tokens)."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from pgflex.emulator.arm.auth import Identity
from pgflex.emulator.dataplane import DataPlane
from pgflex.emulator.pki import CertificateAuthority
from pgflex.emulator.server import load_runtime

from .conftest import Server, new_server_name
from .entra_support import DEPLOYER, ENTRA_REFUSED, connect_as, issued_token

pytestmark = pytest.mark.dataplane


@pytest.fixture
def state_dir() -> Iterator[Path]:
    """A state directory the postgres account can reach (see conftest.traversable_root)."""
    folder = Path(tempfile.mkdtemp(prefix="pgflex-entra-state-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        DataPlane(folder / "dataplane", CertificateAuthority(folder / "pki")).shutdown_all()
        shutil.rmtree(folder, ignore_errors=True)


def _load(state_dir: Path) -> DataPlane:
    runtime = load_runtime(state_dir)
    assert isinstance(runtime, DataPlane)
    return runtime


def _provision_in_an_emulator_that_dies(state_dir: Path, name: str) -> None:
    """An emulator process sets the server up, then is killed; its PostgreSQL goes on running."""
    script = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from pgflex.emulator.dataplane import EntraAdministrator
        from pgflex.emulator.server import load_runtime
        plane = load_runtime(Path({str(state_dir)!r}))
        plane.provision({name!r}, "{name}.postgres.database.azure.com", "15", "", "", {{}})
        plane.apply_firewall({name!r}, [("127.0.0.1", "127.0.0.1")], True)
        plane.set_authentication({name!r}, password_enabled=False, entra_enabled=True, tenant_id=None)
        plane.set_entra_administrators({name!r}, [EntraAdministrator(*{list(vars(DEPLOYER).values())!r})])
        plane.create_database({name!r}, "orders", charset="UTF8", collation="C.utf8")
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    emulator = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=180)
    assert emulator.returncode == -signal.SIGKILL, emulator.stderr


def _logs_in(server: Server, identity: Identity) -> None:
    with connect_as(server, DEPLOYER, issued_token(identity), dbname="orders") as conn:
        assert conn.execute("SELECT current_user, current_database()").fetchone() == (DEPLOYER.principal_name, "orders")


def test_entra_logins_survive_emulator_and_server_restarts(state_dir: Path) -> None:
    name = new_server_name()
    _provision_in_an_emulator_that_dies(state_dir, name)
    identity = Identity(state_dir)
    saved_port = json.loads((state_dir / "dataplane" / "entra-ldap.json").read_text())["port"]
    # Another program took the responder's port meanwhile: the new emulator answers on another one.
    with socket.create_server(("127.0.0.1", saved_port)):
        plane = _load(state_dir)
        server = Server(plane, name, CertificateAuthority(state_dir / "pki").root_cert_path)
        assert plane.is_running(name)  # adopted, not restarted
        assert json.loads((state_dir / "dataplane" / "entra-ldap.json").read_text())["port"] != saved_port
        _logs_in(server, identity)
    plane.restart(name)
    _logs_in(server, identity)
    with pytest.raises(psycopg.OperationalError, match=ENTRA_REFUSED):
        connect_as(server, DEPLOYER, "not-a-token")
    plane.shutdown_all()

    again = _load(state_dir)
    again.start(name)
    _logs_in(Server(again, name, server.root_ca), identity)
    with pytest.raises(psycopg.OperationalError, match=r"no pg_hba.conf entry"):
        server.connect(user="azure_pg_admin", password="anything")  # password authentication is still off
    assert [d.name for d in again.list_databases(name)] == ["orders", "postgres"]
