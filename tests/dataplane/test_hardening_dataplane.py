"""The data plane keeps to itself: PostgreSQL's environment, its files, permissions outside its root, passwords.

Passwords are checked against PostgreSQL and libpq themselves: the emulator sets a verifier it computed, and the
client logs in with the password, which libpq prepares with its own SASLprep.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from pgflex.emulator.dataplane import DataPlane, DataPlaneError
from pgflex.emulator.pki import CertificateAuthority
from support.accounts import files_under, readable_by, unprivileged_account

from .conftest import ADMIN, Server, new_server_name, provision

pytestmark = pytest.mark.dataplane

SENTINELS = {
    "PGFLEX_ADMIN_PASSWORD": "sentinel-admin-password-1",
    "DB_PASSWORD": "sentinel-db-password-2",
    "AZURE_CLIENT_SECRET": "sentinel-client-secret-3",
    "PGPASSWORD": "sentinel-pgpassword-4",
}


def postgres_processes(server: Server) -> list[int]:
    """The postmaster and every process it forked."""
    data = server.dataplane.root / "servers" / server.name / "data"
    postmaster = int((data / "postmaster.pid").read_text().split()[0])
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if fields[1] == str(postmaster):
                children.append(int(entry.name))
    return [postmaster, *children]


def _environment(pid: int) -> bytes | None:
    """A process's environment; None when it has already exited (a backend serving a short connection)."""
    try:
        return Path(f"/proc/{pid}/environ").read_bytes()
    except (ProcessLookupError, FileNotFoundError):
        return None


def test_postgresql_gets_only_the_variables_it_needs(
    dataplane: DataPlane, ca: CertificateAuthority, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SENTINELS.items():
        monkeypatch.setenv(name, value)
    server = provision(dataplane, ca, new_server_name())  # initdb is skipped (a template), pg_ctl runs now
    try:
        processes = postgres_processes(server)
        environments = {pid: environment for pid in processes if (environment := _environment(pid)) is not None}
        postmaster = environments[processes[0]].split(b"\0")
        assert b"LC_ALL=C.UTF-8" in postmaster and any(line.startswith(b"PATH=") for line in postmaster)
        for pid, environment in environments.items():
            leaked = [
                name
                for name, value in SENTINELS.items()
                if name.encode() in environment or value.encode() in environment
            ]
            assert not leaked, f"process {pid} has {leaked} in its environment"
    finally:
        dataplane.delete(server.name)


@pytest.mark.parametrize(
    "password",
    [
        "Zq9-ÜNIQUE-pass-1!",
        "Zq9-U\u0308NIQUE-pass-1!",  # decomposed: NFKC composes it
        "\ufb01ne-\uff30ass-1!",  # a ligature and a full-width letter
        "Pass\u00a0Word-\u00ad1!",  # no-break space to a space, soft hyphen to nothing
        "Pass-Word-1!\u200b",  # zero-width space: a space in Unicode 3.2
        "\u05d0\u05d1\u05d2\u05d3-1-\u05d4",  # right-to-left only: allowed
        "\u05d0\u05d1-Mixed-1!",  # right-to-left with left-to-right: refused by SASLprep, hashed as given
        "\ufb01\u0221-Pass-1!",  # unassigned in Unicode 3.2: hashed as given, not normalised
        "\ue000\ufb01-Pass-1!",  # private use: hashed as given
        "Pass\u0080Word-1!",  # a C1 control: hashed as given
        "Pass\tWord-1!",  # ASCII, control included: always as given
    ],
)
def test_every_password_logs_in_as_postgresql_prepares_it(server: Server, password: str) -> None:
    server.dataplane.set_admin_password(server.name, ADMIN, password)
    with server.connect(password=password) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (ADMIN,)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        server.connect(password=password + "x")


def test_saslprep_maps_normalises_and_falls_back_as_postgresql_does() -> None:
    from pgflex.emulator.dataplane.scram import saslprep

    assert saslprep("\ufb01ne") == b"fine"
    assert saslprep("a\u00a0b\u00adc") == b"a bc"
    assert saslprep("U\u0308") == "Ü".encode()
    assert saslprep("\ufb01\u0221") == "\ufb01\u0221".encode()  # refused: as given
    assert saslprep("\u200b") == b" "
    assert saslprep("\u00ad") == "\u00ad".encode()  # nothing left after mapping: as given


@pytest.fixture
def closed_folder() -> Iterator[Path]:
    """A folder only root may enter, as /root or pytest's /tmp/pytest-of-root are."""
    folder = Path(tempfile.mkdtemp(prefix="pgflex-closed-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_no_permission_outside_the_root_is_changed(closed_folder: Path, ca: CertificateAuthority) -> None:
    if os.geteuid() != 0:
        pytest.skip("PostgreSQL runs as another account only when the emulator is root")
    before = stat.S_IMODE(closed_folder.stat().st_mode)
    with pytest.raises(DataPlaneError, match=f"cannot reach .*{closed_folder}"):
        DataPlane(closed_folder / "dataplane", ca)
    assert stat.S_IMODE(closed_folder.stat().st_mode) == before == 0o700


def test_nothing_in_the_data_plane_is_readable_by_another_account(server: Server) -> None:
    with unprivileged_account() as stranger:
        files = files_under(server.dataplane.root)
        assert any(path.name == "server.key" for path in files) and any(path.name == "PG_VERSION" for path in files)
        assert readable_by(stranger, files) == []
