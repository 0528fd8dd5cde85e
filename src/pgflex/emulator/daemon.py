"""Starting and stopping the emulator as a background process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from . import instance, statedir
from .client import AdminClient, RunningEmulator, find
from .ports import EXIT_PORT_IN_USE, EXIT_REFUSED, PortInUse, check_port_free
from .settings import EmulatorSettings, allowed_environment
from .statedir import StateDirRefused

START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 60.0


class EmulatorStartFailed(RuntimeError):
    pass


class EmulatorPortInUse(EmulatorStartFailed):
    """Another program holds the emulator's port; the message is one line naming it and PGFLEX_EMULATOR_PORT."""


def settings_to_json(settings: EmulatorSettings) -> str:
    tuning = settings.tuning.as_dict()
    return json.dumps(
        {
            "state_dir": str(settings.state_dir),
            "host": settings.host,
            "port": settings.port,
            "record_path": str(settings.record_path) if settings.record_path else None,
            "tuning": tuning,
        }
    )


def settings_from_json(text: str) -> EmulatorSettings:
    raw = json.loads(text)
    settings = EmulatorSettings(
        state_dir=Path(raw["state_dir"]),
        host=raw["host"],
        port=int(raw["port"]),
        record_path=Path(raw["record_path"]) if raw.get("record_path") else None,
    )
    problems = settings.tuning.update(raw.get("tuning", {}))
    if problems:
        raise ValueError("; ".join(problems))
    return settings


def start(settings: EmulatorSettings) -> RunningEmulator:
    """Start the emulator in the background (or return the one already serving this state dir).

    The process gets an allow-listed environment (settings.EMULATOR_ENVIRONMENT) and umask 077.
    """
    running = find(settings.state_dir)
    if running is not None:
        return running
    try:
        check_port_free(settings.host, settings.port)
    except PortInUse as failure:
        raise EmulatorPortInUse(str(failure)) from None
    try:
        statedir.prepare(settings.state_dir, data_plane=settings.tuning.data_plane)
    except StateDirRefused as refused:
        raise EmulatorStartFailed(str(refused)) from None
    log_path = settings.state_dir / "emulator.log"
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "pgflex.emulator", "serve-json", settings_to_json(settings)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env=allowed_environment(),
            umask=statedir.UMASK,
            start_new_session=True,  # outlives the shell that started it
        )
    finally:
        os.close(log)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raced = find(settings.state_dir)
            if raced is not None:  # another start got there first; it serves the same state
                return raced
            if process.returncode == EXIT_PORT_IN_USE:  # taken since the check above
                raise EmulatorPortInUse(str(PortInUse(settings.host, settings.port)))
            if process.returncode == EXIT_REFUSED:  # its last line says why, in one line
                raise EmulatorStartFailed(_tail(log_path, 1).removeprefix("pgflex emulator: "))
            raise EmulatorStartFailed(
                f"the emulator exited with status {process.returncode}; see {log_path}:\n{_tail(log_path)}"
            )
        running = find(settings.state_dir)
        if running is not None and running.pid == process.pid and AdminClient(running, timeout=2).health():
            return running
        time.sleep(0.05)
    process.kill()
    raise EmulatorStartFailed(f"the emulator did not become healthy in {START_TIMEOUT_SECONDS:.0f} s; see {log_path}")


def stop(state_dir: Path) -> bool:
    """Stop the emulator serving ``state_dir``; False when none was running. Signals no other process."""
    running = find(state_dir)
    if running is None:
        return False
    if not instance.send_signal(running.pid, running.identity, signal.SIGTERM):
        return False  # it ended meanwhile
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if instance.process_identity(running.pid) != running.identity:
            instance.reap(running.pid)
            return True
        time.sleep(0.05)
    instance.send_signal(running.pid, running.identity, signal.SIGKILL)
    return True


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""


__all__ = ["EmulatorPortInUse", "EmulatorStartFailed", "settings_from_json", "settings_to_json", "start", "stop"]


def reset(state_dir: Path) -> list[str]:
    """Stop the emulator and remove everything it made: state, servers' data, network namespaces.

    Returns the namespaces removed. Servers' PostgreSQL processes stop with the emulator.
    """
    import shutil

    from . import netns
    from .dataplane.placement import namespace_prefix

    stop(state_dir)
    removed = netns.delete_matching(namespace_prefix(state_dir / "dataplane")) if os.geteuid() == 0 else []
    shutil.rmtree(state_dir, ignore_errors=True)
    return removed
