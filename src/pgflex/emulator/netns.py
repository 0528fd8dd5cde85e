"""Linux network namespaces: the emulator's stand-in for the virtual networks of private servers.

iproute2 creates and removes them (``ip netns add`` pins one under ``/var/run/netns/<name>``). Entering
one is per thread: ``setns(2)`` with ``CLONE_NEWNET`` moves only the calling thread, and every socket
that thread creates, and every process it starts, lives in the namespace for good, wherever it is used
afterwards. Python 3.11 has no ``os.setns``, so libc's is called through ctypes.

Only the root account can do any of this; :func:`unavailable_reason` says why isolation cannot be used.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

NETNS_DIR = Path("/var/run/netns")
CLONE_NEWNET = 0x40000000
_IP_TIMEOUT_S = 10

T = TypeVar("T")


class NetnsError(OSError):
    """A namespace could not be created, changed or entered (the message says which and why)."""


def _ip(*args: str) -> None:
    # umask 022 rather than the emulator's 077: ip may create the system's /run/netns, which others read too.
    result = subprocess.run(
        ["ip", *args],
        capture_output=True,
        text=True,
        timeout=_IP_TIMEOUT_S,
        check=False,
        stdin=subprocess.DEVNULL,
        umask=0o022,
    )
    if result.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)} failed: {(result.stdout + result.stderr).strip()}")


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise NetnsError(errno, f"setns: {os.strerror(errno)}")


def exists(name: str) -> bool:
    return (NETNS_DIR / name).exists()


def ensure(name: str, addresses: list[str]) -> None:
    """The namespace with ``lo`` up and each address (a /32 on ``lo``); created when missing (after a reboot)."""
    if not exists(name):
        _ip("netns", "add", name)
    _ip("-n", name, "link", "set", "lo", "up")
    for address in addresses:
        _ip("-n", name, "addr", "replace", f"{address}/32", "dev", "lo")  # replace: idempotent


def remove_address(name: str, address: str) -> None:
    if exists(name):
        with contextlib.suppress(NetnsError):  # already gone: nothing to undo
            _ip("-n", name, "addr", "del", f"{address}/32", "dev", "lo")


def delete(name: str) -> None:
    if exists(name):
        _ip("netns", "delete", name)


def delete_matching(prefix: str) -> list[str]:
    """Delete every namespace whose name starts with ``prefix`` (cleanup after a state directory is gone)."""
    names = sorted(path.name for path in NETNS_DIR.glob(f"{prefix}*")) if NETNS_DIR.is_dir() else []
    for name in names:
        delete(name)
    return names


@contextlib.contextmanager
def inside(name: str) -> Iterator[None]:
    """This thread's network calls happen in namespace ``name`` until the block ends.

    The thread's own namespace is opened first, so that the way back is known before leaving it.
    """
    own = os.open(f"/proc/self/task/{threading.get_native_id()}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        try:
            target = os.open(NETNS_DIR / name, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise NetnsError(f"network namespace {name} does not exist") from None
        try:
            _setns(target)
        finally:
            os.close(target)
        try:
            yield
        finally:
            _setns(own)
    finally:
        os.close(own)


def call_inside(name: str, function: Callable[[], T]) -> T:
    """``function()`` in a thread of its own that entered namespace ``name``.

    A short-lived thread, not the caller's: a pooled worker thread must never stay behind in a namespace,
    even if the way back failed. Exceptions reach the caller unchanged.
    """
    outcome: list[T] = []
    failure: list[BaseException] = []

    def body() -> None:
        try:
            with inside(name):
                outcome.append(function())
        except BaseException as exc:  # handed to the caller's thread below
            failure.append(exc)

    thread = threading.Thread(target=body, name=f"netns-{name}", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]


def unavailable_reason() -> str | None:
    """Why namespaces cannot be used here, or None when a throwaway one could be made, entered and removed."""
    if os.geteuid() != 0:
        return "not running as root"
    if shutil.which("ip") is None:
        return "iproute2's ip command is not installed"
    probe = f"pgflex-probe-{uuid.uuid4().hex[:8]}"
    try:
        ensure(probe, [])
        call_inside(probe, lambda: None)
    except OSError as failure:
        return f"ip netns unavailable: {failure}"
    finally:
        with contextlib.suppress(OSError):
            delete(probe)
    return None
