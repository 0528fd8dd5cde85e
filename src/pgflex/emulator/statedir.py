"""The state directory: private to the emulator's account, checked before anything is written into it.

Modes, from the first byte (the emulator process runs under umask 077 and creates files with explicit modes)::

    <state>/                     0700, or 0710 with group postgres when PostgreSQL runs as that account (root):
                                 the group's search bit is the one right PostgreSQL needs there, to reach dataplane/
    state.db, -wal, -shm         0600  resources, operations, Key Vault secret values
    emulator.log, emulator.json  0600
    emulator.lock                0600  held (flock) by the emulator process while it runs
    pki/, identity/              0700, files 0600
    dataplane/                   PostgreSQL's account, 0700: its data directories (see dataplane/manager.py)

No permission outside the state directory is ever changed. When PostgreSQL's account cannot reach the state
directory through its parents, the emulator refuses to start with the data plane and says which directory
stops it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
from pathlib import Path

UMASK = 0o077  # the emulator process's umask: nothing it creates is readable by other accounts
POSTGRES_ACCOUNT = "postgres"  # PostgreSQL refuses to run as root; a root emulator runs it as this account
DATAPLANE_DIR = "dataplane"
SYSTEM_TEST = ("/usr/bin/test", "/bin/test")


class StateDirRefused(RuntimeError):
    """The state directory cannot be used safely; the message is one line saying why and what to do."""


def postgres_account() -> pwd.struct_passwd | None:
    """The account PostgreSQL runs as when it is not the emulator's own (the emulator is root), else None."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(POSTGRES_ACCOUNT)
    except KeyError:
        return None  # the data plane says so itself when it starts


def prepare(state_dir: Path, *, data_plane: bool) -> None:
    """Create the state directory (0700), or check an existing one and close what an older version left open.

    Refuses a directory that other accounts can write to or that belongs to another account. With the data plane
    run as another account, that account's group may search the directory (0710), and must reach it.
    """
    if not state_dir.exists():
        _make_parents(state_dir.parent)
        state_dir.mkdir(0o700)
    info = state_dir.stat()
    if not stat.S_ISDIR(info.st_mode):
        raise StateDirRefused(f"the emulator's state directory {state_dir} is not a directory")
    if info.st_mode & 0o022:
        raise StateDirRefused(
            f"refusing to use the state directory {state_dir}: it is group- or world-writable "
            f"(mode {stat.S_IMODE(info.st_mode):04o}), so other accounts could replace the emulator's files; "
            f"run `chmod go-w {state_dir}` or choose another --state-dir"
        )
    if info.st_uid != os.geteuid():
        raise StateDirRefused(
            f"refusing to use the state directory {state_dir}: it belongs to {_owner(info.st_uid)}, not to "
            f"{_owner(os.geteuid())} who runs the emulator; choose another --state-dir"
        )
    account = postgres_account() if data_plane or (state_dir / DATAPLANE_DIR).exists() else None
    if account is not None:
        os.chown(state_dir, -1, account.pw_gid)  # group first: the mode has no group bits yet
        state_dir.chmod(0o710)  # search for PostgreSQL's group only: nothing to read
    elif stat.S_IMODE(info.st_mode) != 0o700:
        state_dir.chmod(0o700)
    _close_older_files(state_dir)
    if account is not None:
        reason = unreachable_reason(state_dir, account)
        if reason is not None:
            raise StateDirRefused(f"{reason}; or start the emulator with --no-data-plane")


def _make_parents(folder: Path) -> None:
    """Missing parents are made 0755 (they are not the state directory); existing ones are left as they are."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for parent in reversed(missing):
        parent.mkdir(0o755)
        # Just made and empty, outside the state directory: the umask must not lock PostgreSQL's account out.
        parent.chmod(0o755)


def _close_older_files(state_dir: Path) -> None:
    """Files an older version made readable by others (state.db was 0644) become private; dataplane/ is its own."""
    for folder, subdirs, files in os.walk(state_dir):
        here = Path(folder)
        if here == state_dir and DATAPLANE_DIR in subdirs:
            subdirs.remove(DATAPLANE_DIR)
        for name, private in [*((d, 0o700) for d in subdirs), *((f, 0o600) for f in files)]:
            path = here / name
            info = path.lstat()
            if not stat.S_ISLNK(info.st_mode) and stat.S_IMODE(info.st_mode) & 0o077:
                path.chmod(private)


def unreachable_reason(path: Path, account: pwd.struct_passwd) -> str | None:
    """Why ``account`` (with its primary group only, as PostgreSQL runs) cannot search ``path``, or None.

    The kernel decides, in a child running as that account; the modes then name the directory that stops it.
    """
    # The system's own test(1) first: it runs as another account, so not whatever PATH finds first.
    probe = next((p for p in SYSTEM_TEST if Path(p).exists()), None) or shutil.which("test") or "test"
    result = subprocess.run(
        [probe, "-x", str(path)],
        user=account.pw_uid,
        group=account.pw_gid,
        extra_groups=[],
        env={"PATH": os.defpath},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=False,
    )
    if result.returncode == 0:
        return None
    blocking = next((p for p in [*reversed(path.parents), path] if not _searchable(p, account)), path)
    mode = stat.S_IMODE(blocking.stat().st_mode)
    return (
        f"PostgreSQL runs as the {account.pw_name} account, which cannot reach {path}: {blocking} "
        f"(mode {mode:04o}, owner {_owner(blocking.stat().st_uid)}) does not let it through. pgflex changes no "
        f"permissions outside its state directory: choose a state directory that {account.pw_name} can reach "
        "(such as the default /var/lib/pgflex/emulator, or one under /tmp)"
    )


def _searchable(folder: Path, account: pwd.struct_passwd) -> bool:
    info = folder.stat()
    if info.st_uid == account.pw_uid:
        return bool(info.st_mode & stat.S_IXUSR)
    if info.st_gid == account.pw_gid:
        return bool(info.st_mode & stat.S_IXGRP)
    return bool(info.st_mode & stat.S_IXOTH)


def _owner(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"
