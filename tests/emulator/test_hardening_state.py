"""State at rest: private to the emulator's account from the first byte, and no plaintext password in any file.

State directories here sit in a folder every account may enter, so that only the emulator's own modes keep
another account out (under pytest's tmp_path, /tmp/pytest-of-root would do it for them).
"""

from __future__ import annotations

import json
import stat
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.identity import DefaultAzureCredential
from azure.keyvault.secrets import SecretClient

from support.accounts import files_under, holding, reachable_folder, readable_by, unprivileged_account
from support.emulator import EmulatorHandle, make_handle, server_body, unique

PGFLEX = str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "pgflex")
GROUP = "rg-hardening"


@pytest.fixture
def stranger() -> Iterator[str]:
    """An account that is neither the emulator's nor PostgreSQL's."""
    with unprivileged_account() as name:
        yield name


@pytest.fixture
def private_emulator() -> Iterator[EmulatorHandle]:
    with reachable_folder() as folder:
        handle = make_handle(folder / "state", data_plane=False)
        handle.start()
        try:
            with handle.client_environment():
                yield handle
        finally:
            handle.stop()


def non_ascii_password() -> tuple[str, tuple[bytes, ...]]:
    """A password as reported (non-ASCII), and what would betray it in a file: its UTF-8 bytes, or its ASCII
    tail, which any encoding of it (JSON's \\u00dc escapes included) leaves as it is."""
    tail = f"{uuid.uuid4().hex[:12]}-NIQUE-pass-1!"
    password = f"Zq9-Ü{tail}"
    return password, (password.encode("utf-8"), tail.encode("ascii"))


def begin_create(handle: EmulatorHandle, name: str, password: str) -> None:
    """A server create left in flight for two seconds: what it needs is on disk meanwhile."""
    clients = handle.clients()
    clients.resources.resource_groups.create_or_update(GROUP, {"location": "westeurope"})
    handle.tune(operation_seconds=2.0)
    clients.postgres.servers.begin_create_or_update(GROUP, name, server_body(password=password), polling=False)
    assert clients.postgres.servers.get(GROUP, name).state == "Provisioning"


def set_vault_secret(handle: EmulatorHandle, value: str) -> None:
    vault = SecretClient(
        f"{handle.base_url}/keyvault/{unique('kv')[:20]}", DefaultAzureCredential(), verify_challenge_resource=False
    )
    vault.set_secret(unique("db-password"), value)


def test_state_files_are_private_to_the_emulator_account(private_emulator: EmulatorHandle, stranger: str) -> None:
    password, traces = non_ascii_password()
    vault_value = f"vault-value-{uuid.uuid4().hex}"
    set_vault_secret(private_emulator, vault_value)
    begin_create(private_emulator, "pg-private", password)

    state_dir = private_emulator.state_dir
    files = files_under(state_dir)
    names = {str(path.relative_to(state_dir)) for path in files}
    expected = {"state.db", "state.db-wal", "state.db-shm", "emulator.log", "emulator.json", "pki/intermediate-ca.key"}
    assert expected <= names, names
    assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700
    loose = {str(path): oct(stat.S_IMODE(path.stat().st_mode)) for path in files if path.stat().st_mode & 0o177}
    assert not loose, f"files not 0600: {loose}"
    folders = [path for path in state_dir.rglob("*") if path.is_dir()]
    assert all(stat.S_IMODE(path.stat().st_mode) == 0o700 for path in folders), folders

    probe = state_dir.parent / "probe.txt"  # the check itself sees what others can read
    probe.write_text("readable")
    probe.chmod(0o644)
    assert readable_by(stranger, [probe, *files]) == [probe]
    # The vault keeps its values in the state database: private to the emulator's account, as checked above.
    assert holding(files, vault_value.encode())
    assert holding(files, *traces) == [], "the administrator password is on disk in plaintext"
    assert holding(files, b"SCRAM-SHA-256$4096:"), "what provisioning needs is on disk, as a verifier"


@pytest.mark.parametrize(
    "password",
    [
        "Zq9-ÜNIQUE-pass-1!",  # as reported
        "Zq9-U\u0308NIQUE-pass-1!",  # decomposed: SASLprep composes it
        "\ufb01ne-\uff30ass-1!",  # a ligature and a full-width letter, which NFKC replaces
        "Pass\u00a0Word-\u00ad1!",  # a no-break space (mapped to a space) and a soft hyphen (mapped to nothing)
        "\ue000Private-Use-1!",  # prohibited: PostgreSQL hashes it as given
        "\u05d0\u05d1-Mixed-1!",  # right-to-left with left-to-right: refused by SASLprep, hashed as given
    ],
)
def test_no_password_reaches_a_file_whatever_its_characters(private_emulator: EmulatorHandle, password: str) -> None:
    traces = (password.encode("utf-8"), json.dumps(password)[1:-1].encode("ascii"))  # as given, or JSON-escaped
    name = unique("pg")
    begin_create(private_emulator, name, password)
    assert holding(files_under(private_emulator.state_dir), *traces) == [], "on disk while the create is in flight"
    servers = private_emulator.clients().postgres.servers
    deadline = time.monotonic() + 30
    while servers.get(GROUP, name).state != "Ready" and time.monotonic() < deadline:
        time.sleep(0.1)
    # A password change goes the same way.
    servers.begin_update(GROUP, name, {"properties": {"administratorLoginPassword": password[::-1]}}).result()
    traces += (password[::-1].encode("utf-8"), json.dumps(password[::-1])[1:-1].encode("ascii"))
    assert holding(files_under(private_emulator.state_dir), *traces) == []


@pytest.mark.parametrize("mode", [0o777, 0o775, 0o757])
def test_a_state_dir_others_can_write_to_is_refused(mode: int) -> None:
    with reachable_folder() as folder:
        state_dir = folder / "state"
        state_dir.mkdir()
        state_dir.chmod(mode)
        try:
            started = subprocess.run(
                [PGFLEX, "emulator", "start", "--no-data-plane", "--port", "0", "--state-dir", str(state_dir)],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        finally:
            subprocess.run(
                [PGFLEX, "emulator", "stop", "--state-dir", str(state_dir)], capture_output=True, check=False
            )
        assert started.returncode != 0, started.stdout
        assert "group- or world-writable" in started.stderr and str(state_dir) in started.stderr
        assert len(started.stderr.strip().splitlines()) == 1, started.stderr
        assert list(state_dir.iterdir()) == []  # nothing written into it
        assert stat.S_IMODE(state_dir.stat().st_mode) == mode


def test_files_an_older_version_left_readable_are_made_private() -> None:
    with reachable_folder() as folder:
        state_dir = folder / "state"
        (state_dir / "pki").mkdir(parents=True)
        state_dir.chmod(0o755)
        (state_dir / "pki").chmod(0o755)
        for old in (state_dir / "state.db", state_dir / "emulator.log", state_dir / "pki" / "root-ca.pem"):
            old.touch()
            old.chmod(0o644)
        handle = make_handle(state_dir, data_plane=False)
        handle.start()
        try:
            assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700
            modes = {str(p): stat.S_IMODE(p.stat().st_mode) for p in [*files_under(state_dir), state_dir / "pki"]}
            assert set(modes.values()) <= {0o600, 0o700}, modes
        finally:
            handle.stop()
