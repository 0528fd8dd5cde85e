"""Public access disabled without a virtual network: as on Azure, the server has no endpoint at all.

PostgreSQL listens on no TCP address, only on the emulator's private Unix socket (a 0700 directory of
PostgreSQL's account, where pg_hba.conf admits nobody but the emulator's own superuser login). Connecting
fails for root and for an unprivileged account alike, by TCP on any loopback address and by the socket.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from pgflex.emulator.dataplane import DataPlane
from pgflex.emulator.pki import CertificateAuthority

from .conftest import ADMIN, PASSWORD, Server, new_server_name, provision, psql_binary

pytestmark = pytest.mark.dataplane

UNPRIVILEGED = "nobody"


@pytest.fixture
def closed_server(dataplane: DataPlane, ca: CertificateAuthority) -> Iterator[Server]:
    server = provision(dataplane, ca, new_server_name())
    dataplane.apply_firewall(server.name, [("127.0.0.1", "127.0.0.1")], public_access=False)
    yield server
    dataplane.delete(server.name)


def _postmaster_pid(server: Server) -> int:
    data = server.dataplane.root / "servers" / server.name / "data"
    return int((data / "postmaster.pid").read_text().split()[0])


def _socket_dir(server: Server) -> str:
    """Where the private socket is, from the postmaster.pid PostgreSQL wrote (line 5)."""
    data = server.dataplane.root / "servers" / server.name / "data"
    return (data / "postmaster.pid").read_text().splitlines()[4]


def _tcp_listeners(pid: int) -> list[str]:
    """The TCP sockets ``pid`` listens on, from /proc: its socket inodes in the LISTEN rows of tcp and tcp6."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = str(fd.readlink())
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            fields = row.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                listening.append(fields[1])
    return listening


def _unprivileged_runner() -> list[str] | None:
    """The command prefix that runs a program as an unprivileged account, or None when we are one already."""
    if os.geteuid() != 0:
        return None
    try:
        account = pwd.getpwnam(UNPRIVILEGED)
    except KeyError:
        pytest.skip(f"running as root and no {UNPRIVILEGED!r} account to drop to")
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root and no setpriv to drop privileges with")
    return [setpriv, f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}", "--clear-groups"]


def _psql(prefix: list[str], conninfo: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, psql_binary(), "-X", "-At", "-d", conninfo, "-c", "SELECT 1"],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", ""), "PGPASSWORD": PASSWORD, "PGCONNECT_TIMEOUT": "5"},
        cwd="/",
        timeout=30,
        check=False,
    )


def test_no_tcp_listener_at_all(closed_server: Server) -> None:
    pid = _postmaster_pid(closed_server)
    assert _tcp_listeners(pid) == []
    health = closed_server.dataplane.health(closed_server.name)
    assert health is not None and (health.state, health.listening) == ("running", False)


def test_root_and_an_unprivileged_account_cannot_connect(closed_server: Server) -> None:
    port = closed_server.endpoint.port
    tcp = [
        f"host={address} port={port} user={ADMIN} dbname=postgres sslmode=require" for address in ("127.0.0.1", "::1")
    ]
    by_socket = f"host={_socket_dir(closed_server)} port={port} user={ADMIN} dbname=postgres"
    unprivileged = _unprivileged_runner()

    for conninfo in tcp:
        refused = _psql([], conninfo)
        assert refused.returncode != 0 and "Connection refused" in refused.stderr, refused.stderr
    # Root reaches the socket's folder, but pg_hba.conf admits no one but the emulator's own superuser there.
    rejected = _psql([], by_socket)
    assert rejected.returncode != 0, rejected.stdout
    if os.geteuid() == 0:
        assert "pg_hba.conf rejects connection" in rejected.stderr, rejected.stderr
    with pytest.raises(psycopg.OperationalError):
        closed_server.connect()

    if unprivileged is not None:
        for conninfo in tcp:
            refused = _psql(unprivileged, conninfo)
            assert refused.returncode != 0 and "Connection refused" in refused.stderr, refused.stderr
        denied = _psql(unprivileged, by_socket)
        assert denied.returncode != 0 and "Permission denied" in denied.stderr, denied.stderr


def test_turning_public_access_on_and_off_opens_and_closes_the_port(closed_server: Server) -> None:
    plane, name = closed_server.dataplane, closed_server.name
    plane.apply_firewall(name, [("127.0.0.1", "127.0.0.1")], public_access=True)
    with closed_server.connect() as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert _tcp_listeners(_postmaster_pid(closed_server)) != []

    plane.apply_firewall(name, [("127.0.0.1", "127.0.0.1")], public_access=False)
    assert _tcp_listeners(_postmaster_pid(closed_server)) == []
    with pytest.raises(psycopg.OperationalError, match="Connection refused"):
        closed_server.connect()
