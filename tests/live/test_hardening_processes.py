"""An emulator with its data plane, as root: what its processes inherit, and what its state directory lets out.

Secrets a pipeline exported before ``pgflex emulator start`` (or before a ``cloud: local`` command started the
emulator itself) must not be in /proc/<pid>/environ of the emulator or of any PostgreSQL. The state directory
grants PostgreSQL's account what it needs through ownership, and nothing to anyone else; no permission outside it
changes.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pgflex.emulator import netns
from pgflex.emulator.client import find
from pgflex.emulator.dataplane import namespace_prefix
from support.accounts import files_under, holding, reachable_folder, readable_by, unprivileged_account
from support.emulator import EmulatorHandle, make_handle, server_body, unique

from .conftest import LOCAL_RULE, connect, sdk

pytestmark = pytest.mark.dataplane

ROOT = Path(__file__).resolve().parents[2]
PGFLEX = str(ROOT / ".venv" / "bin" / "pgflex")
SENTINELS = {
    "PGFLEX_ADMIN_PASSWORD": f"Sentinel-Admin-{uuid.uuid4().hex[:8]}!",
    "DB_PASSWORD": f"sentinel-db-{uuid.uuid4().hex}",
    "AZURE_CLIENT_SECRET": f"sentinel-client-secret-{uuid.uuid4().hex}",
    "PGPASSWORD": f"sentinel-pgpassword-{uuid.uuid4().hex}",
    "PGFLEX_HARDENING_SENTINEL": f"sentinel-{uuid.uuid4().hex}",
}


def leaked(pid: int) -> list[str]:
    """The sentinel variables (by name or by value) in the environment ``pid`` started with."""
    environment = Path(f"/proc/{pid}/environ").read_bytes()
    return [name for name, value in SENTINELS.items() if name.encode() in environment or value.encode() in environment]


def postgres_processes(state_dir: Path) -> list[int]:
    """Every PostgreSQL process of the emulator's servers: each postmaster and what it forked."""
    postmasters = {
        int(pid_file.read_text().split()[0]) for pid_file in state_dir.glob("dataplane/servers/*/data/postmaster.pid")
    }
    found = set(postmasters)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            except OSError:
                continue
            if parent in postmasters:
                found.add(int(entry.name))
    return sorted(found)


def pgflex(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PGFLEX, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300, check=False)


@pytest.fixture
def exported() -> dict[str, str]:
    """The environment of a pipeline step that exported secrets."""
    return {**os.environ, **SENTINELS}


@pytest.fixture
def state_dir() -> Iterator[Path]:
    with reachable_folder() as folder:
        state = folder / "state"
        try:
            yield state
        finally:
            pgflex("emulator", "stop", "--state-dir", str(state), env=dict(os.environ))
            netns.delete_matching(namespace_prefix(state / "dataplane"))


def attach(state_dir: Path) -> EmulatorHandle:
    """A handle on the emulator that ``pgflex`` started on ``state_dir``, for SDK clients."""
    handle = make_handle(state_dir, data_plane=True)
    handle.running = find(state_dir)
    assert handle.running is not None
    return handle


def test_pgflex_emulator_start_passes_no_exported_secret_on(state_dir: Path, exported: dict[str, str]) -> None:
    started = pgflex("emulator", "start", "--port", "0", "--state-dir", str(state_dir), env=exported)
    assert started.returncode == 0, started.stderr
    handle = attach(state_dir)
    assert handle.running is not None
    with sdk(handle) as clients:
        group = unique("rg")
        clients.resources.resource_groups.create_or_update(group, {"location": "westeurope"})
        body = server_body(version="15")
        clients.postgres.servers.begin_create_or_update(group, unique("pg"), body).result()

    postgres = postgres_processes(state_dir)
    assert postgres, "the server runs a PostgreSQL"
    every = [handle.running.pid, *postgres]
    assert {pid: leaked(pid) for pid in every} == {pid: [] for pid in every}
    assert b"PATH=" in Path(f"/proc/{handle.running.pid}/environ").read_bytes()  # a real read, not an empty one


def test_cloud_local_auto_start_passes_no_exported_secret_on(state_dir: Path, exported: dict[str, str]) -> None:
    environment = {**exported, "PGFLEX_EMULATOR_STATE_DIR": str(state_dir), "PGFLEX_EMULATOR_PORT": "0"}
    planned = pgflex("plan", str(ROOT / "infra" / "local.yaml"), env=environment)
    running = find(state_dir)
    assert running is not None, f"plan did not start the emulator: {planned.stdout}{planned.stderr}"
    assert leaked(running.pid) == []


def test_the_state_dir_lets_postgresql_through_and_nobody_else(state_dir: Path) -> None:
    parent_before = state_dir.parent.stat()
    handle = make_handle(state_dir, data_plane=True, operation_seconds=2.0)
    handle.start()
    tail = f"{uuid.uuid4().hex[:12]}-NIQUE-pass-1!"
    password = f"Zq9-Ü{tail}"
    traces = (password.encode("utf-8"), tail.encode("ascii"))
    with sdk(handle) as clients:
        group, name = unique("rg"), unique("pg")
        clients.resources.resource_groups.create_or_update(group, {"location": "westeurope"})
        body = server_body(version="15", password=password)
        poller = clients.postgres.servers.begin_create_or_update(group, name, body)
        assert holding(files_under(state_dir), *traces) == [], "plaintext on disk while the create is in flight"
        poller.result()
        clients.postgres.firewall_rules.begin_create_or_update(group, name, "local", LOCAL_RULE).result()
    with connect(handle, f"{name}.postgres.database.azure.com", password=password) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)

    # PostgreSQL's files (data, WAL, logs) included: only a verifier ever reached PostgreSQL.
    files = files_under(state_dir)
    assert holding(files, *traces) == []
    postgres = pwd.getpwnam("postgres")
    info = state_dir.stat()
    assert (stat.S_IMODE(info.st_mode), grp.getgrgid(info.st_gid).gr_name) == (0o710, "postgres")
    dataplane = (state_dir / "dataplane").stat()
    assert (stat.S_IMODE(dataplane.st_mode), dataplane.st_uid) == (0o700, postgres.pw_uid)
    outside = [path for path in files if "dataplane" not in path.relative_to(state_dir).parts]
    assert {stat.S_IMODE(path.stat().st_mode) for path in outside} == {0o600}
    with unprivileged_account() as stranger:
        assert readable_by(stranger, files) == []
    parent_after = state_dir.parent.stat()
    assert (parent_after.st_mode, parent_after.st_uid, parent_after.st_gid) == (
        parent_before.st_mode,
        parent_before.st_uid,
        parent_before.st_gid,
    )


def test_a_state_dir_postgresql_cannot_reach_is_refused_and_left_as_it_was() -> None:
    closed = Path(tempfile.mkdtemp(prefix="pgflex-closed-"))  # 0700, as /root is
    state = closed / "state"
    try:
        started = pgflex("emulator", "start", "--port", "0", "--state-dir", str(state), env=dict(os.environ))
        assert started.returncode != 0, started.stdout
        assert f"cannot reach {state}: {closed} (mode 0700" in started.stderr, started.stderr
        assert "--no-data-plane" in started.stderr and len(started.stderr.strip().splitlines()) == 1
        assert stat.S_IMODE(closed.stat().st_mode) == 0o700
    finally:
        pgflex("emulator", "stop", "--state-dir", str(state), env=dict(os.environ))
        shutil.rmtree(closed, ignore_errors=True)
