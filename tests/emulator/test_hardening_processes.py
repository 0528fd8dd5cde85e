"""The emulator is known by more than a pid, and its settings are checked before they apply.

Emulators here are started and stopped with the ``pgflex`` command, as people do, each on a state directory of
its own (never the default one) and a free port.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pgflex.emulator.client import AdminClient, RunningEmulator, find

PGFLEX = str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "pgflex")


def pgflex(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PGFLEX, *args], capture_output=True, text=True, timeout=120, check=False)


def start(state_dir: Path) -> RunningEmulator:
    started = pgflex("emulator", "start", "--no-data-plane", "--port", "0", "--state-dir", str(state_dir))
    assert started.returncode == 0, started.stderr
    running = find(state_dir)
    assert running is not None
    return running


def state_of(pid: int) -> str | None:
    """The process state letter from /proc (Z: a zombie), None when there is no such process."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return None


@pytest.fixture
def state_dir(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "state"
    yield folder
    pgflex("emulator", "stop", "--state-dir", str(folder))


@pytest.fixture
def unrelated() -> Iterator[subprocess.Popen[bytes]]:
    """A process that has nothing to do with any emulator."""
    process = subprocess.Popen(["sleep", "60"])
    yield process
    process.kill()
    process.wait()


def test_a_pid_file_naming_another_process_is_not_trusted(state_dir: Path, unrelated: subprocess.Popen[bytes]) -> None:
    first = start(state_dir)
    runtime = json.loads((state_dir / "emulator.json").read_text())
    assert pgflex("emulator", "stop", "--state-dir", str(state_dir)).returncode == 0
    assert find(state_dir) is None
    # A stale runtime file after a crash, whose pid another process has by now.
    (state_dir / "emulator.json").write_text(json.dumps({**runtime, "pid": unrelated.pid}))

    stopped = pgflex("emulator", "stop", "--state-dir", str(state_dir))
    assert stopped.returncode == 0 and "not running" in stopped.stdout
    time.sleep(0.2)
    assert unrelated.poll() is None, "stop signalled a process that is not the emulator"
    assert pgflex("emulator", "status", "--state-dir", str(state_dir)).returncode == 1

    second = start(state_dir)
    assert second.pid not in (unrelated.pid, first.pid)
    assert AdminClient(second).health()
    assert unrelated.poll() is None


HOLDER = """
import sys, time
from pathlib import Path
from pgflex.emulator import daemon
from pgflex.emulator.settings import EmulatorSettings
settings = EmulatorSettings(state_dir=Path(sys.argv[1]), port=0)
assert not settings.tuning.update({"data_plane": False})
print(daemon.start(settings).pid, flush=True)
time.sleep(300)  # its parent lives on and never collects its exit status
"""


def test_start_after_sigkill_starts_even_while_the_killed_one_is_a_zombie(state_dir: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(state_dir)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        killed = int(holder.stdout.readline())
        os.kill(killed, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while state_of(killed) != "Z" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert state_of(killed) == "Z"  # dead, its pid still taken: kill(pid, 0) succeeds on it

        assert pgflex("emulator", "status", "--state-dir", str(state_dir)).returncode == 1
        restarted = start(state_dir)
        assert restarted.pid != killed
        assert AdminClient(restarted).health()
    finally:
        holder.kill()
        holder.wait()


def test_start_after_sigkill_starts(state_dir: Path) -> None:
    killed = start(state_dir)
    os.kill(killed.pid, signal.SIGKILL)
    restarted = start(state_dir)
    assert restarted.pid != killed.pid
    assert AdminClient(restarted).health()


def test_a_second_start_on_a_running_state_dir_starts_nothing(state_dir: Path) -> None:
    running = start(state_dir)
    again = start(state_dir)
    assert again.pid == running.pid


@pytest.mark.parametrize(
    ("pairs", "named"),
    [
        (["page_size=0"], "page_size"),
        (["page_size=-5"], "page_size"),
        (["rate_throttled=1.5"], "rate_throttled"),
        (["latency_ms=-1"], "latency_ms"),
        (["operation_seconds=NaN"], "operation_seconds"),
        (["seed=1.5"], "seed"),
        (["page_size=7", "rate_dropped=2"], "rate_dropped"),  # one bad value: none of them applies
    ],
)
def test_bad_settings_are_refused_and_the_emulator_keeps_working(state_dir: Path, pairs: list[str], named: str) -> None:
    running = start(state_dir)
    before = AdminClient(running).settings()

    refused = pgflex("emulator", "set", *pairs, "--state-dir", str(state_dir))
    assert refused.returncode != 0, refused.stdout
    assert named in refused.stderr and "must be" in refused.stderr, refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr

    admin = AdminClient(running)
    assert admin.settings() == before
    accepted = pgflex("emulator", "set", "page_size=2", "--state-dir", str(state_dir))
    assert accepted.returncode == 0, accepted.stderr
    for number in range(5):
        admin.call("PUT", f"/subscriptions/{SUBSCRIPTION}/resourcegroups/rg-{number}?api-version=2021-04-01", GROUP)
    names = list_all(admin, f"/subscriptions/{SUBSCRIPTION}/resourcegroups?api-version=2021-04-01")
    assert {f"rg-{number}" for number in range(5)} <= set(names)


SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
GROUP = {"location": "westeurope"}


def list_all(admin: AdminClient, path: str) -> list[str]:
    """Every name of a paged list, following nextLink (page_size items at a time)."""
    names: list[str] = []
    for _page in range(50):
        page = admin.call("GET", path)
        names += [item["name"] for item in page["value"]]
        if not page.get("nextLink"):
            return names
        path = page["nextLink"].removeprefix(admin.emulator.base_url)
    raise AssertionError("the list never ended")
