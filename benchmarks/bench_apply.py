"""Apply benchmark: write requests per apply, and pgflex's own share of apply wall time.

Run: .venv/bin/python benchmarks/bench_apply.py [--operation-seconds 1.0] [--servers 4]

Against a control-plane-only emulator it reports:
- write requests of an apply that changes nothing (the target is 0), and of one that changes one
  parameter (the target is 1 write, plus its read-back GET);
- wall time of an apply whose every Azure operation takes a fixed time, against the floor those
  operations impose (one write at a time per server, servers in parallel): what is left is
  pgflex's own overhead (planning, polling, read-backs), shown as a share of the wall time.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from pgflex.azure.clients import connect
from pgflex.engine.api import apply
from pgflex.spec import load_spec
from support.emulator import make_handle
from support.specs import environment, public_server, write


def _spec(folder: Path, servers: int, min_version: str) -> Path:
    document = environment(
        "bench-apply",
        [
            public_server(f"bench-{index:03d}", {"office": "203.0.113.0/24"}, tls={"minVersion": min_version})
            for index in range(servers)
        ],
    )
    return write(folder / f"env-{servers}-{min_version}.yaml", document)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--operation-seconds", type=float, default=1.0)
    parser.add_argument("--servers", type=int, default=4)
    args = parser.parse_args()
    os.environ["PGFLEX_ADMIN_PASSWORD"] = "Bench-Passw0rd!x"
    with tempfile.TemporaryDirectory(prefix="pgflex-bench-apply-") as folder:
        handle = make_handle(Path(folder) / "state", data_plane=False, operation_seconds=0.0, retry_after_seconds=0)
        handle.start()
        try:
            with handle.client_environment():
                run(handle, Path(folder), args.servers, args.operation_seconds)
        finally:
            handle.stop()


def run(handle: object, folder: Path, servers: int, operation_seconds: float) -> None:
    from support.emulator import EmulatorHandle

    assert isinstance(handle, EmulatorHandle)
    base = _spec(folder, servers, "TLSv1.2")
    changed = _spec(folder, servers, "TLSv1.3")
    env = load_spec(base)
    clients = connect(env.cloud, env.subscription, polling_interval=0.05)
    first = apply(env, clients=clients)
    assert first.converged
    print(f"first apply of {servers} servers: {first.writes} write requests")

    handle.reset_request_count()
    again = apply(env, clients=clients)
    print(f"no-change apply:        {again.writes} write requests (emulator saw {handle.request_count('arm.writes')})")

    one = _spec(folder, 1, "TLSv1.3")
    single_env = load_spec(one)
    handle.reset_request_count()
    before = clients.counter.reads
    changed_one = apply(single_env, clients=clients)
    reads = clients.counter.reads - before
    print(
        f"one-parameter change:   {changed_one.writes} write request(s), {reads} reads in all "
        "(observe, operation polls, read-back, wait for Ready, final re-plan)"
    )

    # Fixed operation time: every write takes operation_seconds on the emulator.
    handle.tune(operation_seconds=operation_seconds)
    changed_env = load_spec(changed)
    start = time.perf_counter()
    result = apply(changed_env, clients=clients, parallelism=servers)
    wall = time.perf_counter() - start
    assert result.converged
    writes_per_server = result.writes / max(1, servers - 1)  # server 0 already has TLSv1.3 from above
    floor = writes_per_server * operation_seconds  # servers run in parallel, writes within one run in turn
    overhead = wall - floor
    print(
        f"\nTLS minimum raised on {servers} servers with every operation taking {operation_seconds:.1f} s:\n"
        f"  wall time {wall:6.2f} s, floor set by Azure's operations {floor:6.2f} s "
        f"({writes_per_server:.0f} write(s) per server, in parallel across servers)\n"
        f"  pgflex overhead {overhead:6.2f} s = {overhead / wall:5.1%} of wall time "
        f"(polling interval {clients.polling_interval} s adds up to one interval per write)"
    )


if __name__ == "__main__":
    main()
