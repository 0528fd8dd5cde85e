"""Stop, start, restart, recovery after the emulator dies, deletion, idempotent provisioning."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psycopg
import pytest

from pgflex.emulator.dataplane import DataPlane, DataPlaneUnavailable, discover_installs
from pgflex.emulator.pki import CertificateAuthority

from .conftest import ADMIN, PASSWORD, Server, new_server_name, provision

pytestmark = pytest.mark.dataplane


def _write_row(server: Server, value: str) -> None:
    with server.connect() as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS kept (v text)")
        conn.execute("INSERT INTO kept VALUES (%s)", [value])


def _rows(server: Server) -> list[str]:
    with server.connect() as conn:
        return [row[0] for row in conn.execute("SELECT v FROM kept ORDER BY v").fetchall()]


def test_data_survives_stop_start_and_restart(server: Server) -> None:
    plane, name = server.dataplane, server.name
    _write_row(server, "a")
    plane.stop(name)
    assert not plane.is_running(name)
    with pytest.raises(psycopg.OperationalError):
        server.connect()
    plane.stop(name)  # idempotent
    plane.start(name)
    assert plane.is_running(name)
    assert plane.start(name) == server.endpoint  # idempotent
    _write_row(server, "b")
    plane.restart(name)
    assert _rows(server) == ["a", "b"]


def test_data_survives_shutdown_all_and_a_new_dataplane(fresh_root: Path, ca: CertificateAuthority) -> None:
    first = DataPlane(fresh_root, ca)
    server = provision(first, ca, new_server_name())
    _write_row(server, "kept")
    first.shutdown_all()
    assert not first.is_running(server.name)

    second = DataPlane(fresh_root, ca)
    second.start(server.name)
    again = Server(second, server.name, ca.root_cert_path)
    assert _rows(again) == ["kept"]
    second.delete(server.name)


def test_start_recovers_after_the_emulator_and_postmaster_are_killed(
    fresh_root: Path, ca: CertificateAuthority
) -> None:
    root, name = fresh_root.resolve(), new_server_name()
    script = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from pgflex.emulator.dataplane import DataPlane
        from pgflex.emulator.pki import CertificateAuthority
        plane = DataPlane(Path({str(root)!r}), CertificateAuthority(Path({str(ca.folder)!r})))
        plane.provision({name!r}, "{name}.postgres.database.azure.com", "15", {ADMIN!r}, {PASSWORD!r}, {{}})
        plane.apply_firewall({name!r}, [("127.0.0.1", "127.0.0.1")], True)
        print(plane.endpoint({name!r}).port, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    emulator = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert emulator.returncode == -signal.SIGKILL, emulator.stderr
    plane = DataPlane(root, ca)
    server = Server(plane, name, ca.root_cert_path)
    assert plane.is_running(name)  # the postmaster outlives the emulator; a new DataPlane adopts it
    _write_row(server, "before-crash")

    pid = int((root / "servers" / name / "data" / "postmaster.pid").read_text().split()[0])
    os.kill(pid, signal.SIGKILL)  # leaves a stale postmaster.pid behind
    deadline = time.monotonic() + 10
    while plane.is_running(name) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not plane.is_running(name)
    assert (root / "servers" / name / "data" / "postmaster.pid").exists()

    plane.start(name)
    assert _rows(server) == ["before-crash"]
    plane.delete(name)


def test_delete_removes_everything_and_is_idempotent(dataplane: DataPlane, ca: CertificateAuthority) -> None:
    server = provision(dataplane, ca, new_server_name())
    folder = dataplane.root / "servers" / server.name
    port = server.endpoint.port
    assert folder.exists()
    dataplane.delete(server.name)
    assert not folder.exists()
    assert dataplane.endpoint(server.name) is None
    assert not dataplane.is_running(server.name)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(host="127.0.0.1", port=port, user=ADMIN, password=PASSWORD, connect_timeout=3)
    dataplane.delete(server.name)


def test_provision_is_idempotent_and_redoes_half_made_servers(dataplane: DataPlane, ca: CertificateAuthority) -> None:
    name = new_server_name()
    folder = dataplane.root / "servers" / name
    folder.mkdir(parents=True)
    (folder / "server.json").write_text(
        json.dumps({"name": name, "fqdn": "x", "requested_version": "15", "major": 15, "port": 1})
    )
    (folder / "data").mkdir()
    (folder / "data" / "garbage").write_text("left by a crash")

    server = provision(dataplane, ca, name)
    assert not (folder / "data" / "garbage").exists()
    _write_row(server, "x")
    assert provision(dataplane, ca, name).endpoint == server.endpoint
    assert _rows(server) == ["x"]
    dataplane.delete(name)


def test_unavailable_major_falls_back_to_the_newest_installed(dataplane: DataPlane, ca: CertificateAuthority) -> None:
    name = new_server_name()
    dataplane.provision(name, f"{name}.postgres.database.azure.com", "11", ADMIN, PASSWORD, {})
    newest = discover_installs()[0]
    assert dataplane.version_used(name) == str(newest.major)
    assert f"PostgreSQL {newest.version} at {newest.bindir}" in dataplane.binaries_info()
    dataplane.delete(name)


def test_no_binaries_raises_a_clear_error(tmp_path: Path, ca: CertificateAuthority) -> None:
    with pytest.raises(DataPlaneUnavailable, match=str(tmp_path)):
        DataPlane(tmp_path / "root", ca, postgres_bin=tmp_path)


def test_servers_run_concurrently(dataplane: DataPlane, ca: CertificateAuthority) -> None:
    from concurrent.futures import ThreadPoolExecutor

    names = [new_server_name() for _ in range(3)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        servers = list(pool.map(lambda n: provision(dataplane, ca, n), names))
    assert len({s.endpoint.port for s in servers}) == 3
    for server in servers:
        _write_row(server, server.name)
        assert _rows(server) == [server.name]
        dataplane.delete(server.name)
