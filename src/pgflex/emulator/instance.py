"""Which process is the emulator of a state directory: a lock it holds while it lives, and who it is.

The emulator holds an exclusive ``flock`` on ``<state>/emulator.lock`` from before it writes ``emulator.json``
until it exits. The kernel releases it when the process dies, however it dies (SIGKILL, a crash), so a free lock
means that no emulator runs there, whatever ``emulator.json`` still says. ``emulator.json`` also records who the
process is: its pid plus the boot it runs in and its start time (``/proc/<pid>/stat``), which a zombie or a
process that got the pid later does not match. Signals go through a pidfd opened before that identity is checked,
so not even a pid reused in between is signalled.

Standard library only: ``pgflex emulator status`` and ``stop`` import this, never the server.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import time
from pathlib import Path

from .settings import LOCK_FILE
from .statedir import StateDirRefused

LOCK_WAIT_SECONDS = 5.0  # a client probing the lock holds it for microseconds; never for this long


class AlreadyServed(StateDirRefused):
    """Another live emulator holds this state directory's lock."""


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "unknown-boot"


def process_identity(pid: int) -> str | None:
    """``<boot id>:<start time>`` of a live process, None when there is none (or only a zombie) with that pid."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    # After the command name: state is field 3 of stat(5), starttime field 22.
    if len(fields) < 20 or fields[0] in ("Z", "X", "x"):
        return None
    return f"{_boot_id()}:{fields[19]}"


def hold_lock(state_dir: Path) -> int:
    """Take the state directory's lock for the rest of this process's life; the descriptor is never inherited."""
    fd = os.open(state_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() > deadline:
                os.close(fd)
                raise AlreadyServed(f"another emulator is running on the state directory {state_dir}") from None
            time.sleep(0.02)


def lock_is_held(state_dir: Path) -> bool:
    """Whether a live process holds the state directory's lock (a shared probe, released at once)."""
    try:
        fd = os.open(state_dir / LOCK_FILE, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except (FileNotFoundError, NotADirectoryError):
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def send_signal(pid: int, identity: str, signum: int) -> bool:
    """Signal ``pid`` only while it is the process ``identity`` names; False when that process is gone."""
    try:
        handle: int | None = os.pidfd_open(pid)
    except ProcessLookupError:
        return False
    except OSError:  # no pidfds (a kernel before 5.3): check, then signal by pid
        handle = None
    try:
        if process_identity(pid) != identity:
            return False
        if handle is not None:
            signal.pidfd_send_signal(handle, signum)
        else:
            os.kill(pid, signum)
        return True
    except ProcessLookupError:
        return False
    finally:
        if handle is not None:
            os.close(handle)


def reap(pid: int) -> None:
    """Collect the exit status of an emulator this very process started, so it leaves no zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
