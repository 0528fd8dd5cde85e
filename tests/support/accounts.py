"""Another account on this machine, to try the emulator's files as someone who is not the emulator.

Run as root (as CI does), :func:`unprivileged_account` adds a throwaway system account with ``useradd`` and
removes it afterwards; elsewhere the test is skipped. :func:`readable_by` opens each file *as that account*: the
kernel decides, with every directory on the way, not a reading of mode bits.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

_OPEN_EACH = 'while IFS= read -r f; do head -c 1 -- "$f" >/dev/null 2>&1 && printf "%s\\n" "$f"; done; exit 0'


def _account_tool(*args: str) -> None:
    """useradd/userdel, retried while another test (another worker) holds the account files' lock."""
    for _attempt in range(100):
        result = subprocess.run(list(args), capture_output=True, text=True, check=False)
        if result.returncode == 0:
            return
        if "lock" not in result.stderr:
            raise AssertionError(f"{' '.join(args)}: {result.stderr}")
        time.sleep(0.1)
    raise AssertionError(f"{args[0]}: the account files stayed locked")


@contextmanager
def unprivileged_account() -> Iterator[str]:
    if os.geteuid() != 0 or shutil.which("useradd") is None or shutil.which("userdel") is None:
        pytest.skip("needs root and useradd to create an unprivileged account")
    name = f"pgflex-{uuid.uuid4().hex[:8]}"
    _account_tool("useradd", "--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", name)
    try:
        yield name
    finally:
        _account_tool("userdel", name)


def readable_by(account: str, files: Iterable[Path]) -> list[Path]:
    """The files ``account`` can open for reading."""
    listed = "".join(f"{path}\n" for path in files)
    result = subprocess.run(
        ["sh", "-c", _OPEN_EACH], input=listed, user=account, cwd="/", capture_output=True, text=True, check=True
    )
    return [Path(line) for line in result.stdout.splitlines()]


def files_under(folder: Path) -> list[Path]:
    """Every regular file under ``folder`` (read as root), links not followed."""
    return [path for path in folder.rglob("*") if path.is_file() and not path.is_symlink()]


def holding(files: Iterable[Path], *needles: bytes) -> list[Path]:
    """The files whose bytes contain any of ``needles`` (files that vanish meanwhile are skipped)."""
    found = []
    for path in files:
        try:
            data = path.read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            continue
        if any(needle in data for needle in needles):
            found.append(path)
    return found


@contextmanager
def reachable_folder() -> Iterator[Path]:
    """A new folder under /tmp that every account may enter (0755), removed afterwards.

    State directories go in here, so that only their own modes keep other accounts out: under pytest's
    tmp_path (/tmp/pytest-of-root is 0700) every file would be out of their reach anyway.
    """
    folder = Path(tempfile.mkdtemp(prefix="pgflex-hardening-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
