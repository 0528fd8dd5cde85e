"""Apply benchmark: write requests per apply, and pgflex's own share of apply wall time.

Run: .venv/bin/python benchmarks/bench_apply.py [--operation-seconds 1.0] [--servers 4] [--fleet 10]

Against a control-plane-only emulator it reports:
- reads per write of one TLS change (require_secure_transport on, ssl_min and ssl_max TLSv1.3: three
  parameters) on ``--fleet`` servers, by pgflex apply and by an ``az``-style loop making the SDK calls
  ``az postgres flexible-server parameter set`` makes per parameter (PATCH, status polls, the poller's
  final GET), both counted at the emulator in the same run from the same state, with the same
  operation time and polling interval;
- write requests of an apply that changes nothing (the target is 0), and of one that changes one
  parameter (the target is 1 write);
- wall time of an apply whose every Azure operation takes a fixed time, against the floor those
  operations impose (one write at a time per server, servers in parallel): what is left is
  pgflex's own overhead (planning, polling, read-backs), shown as a share of the wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from pgflex.azure.clients import connect
from pgflex.engine.api import apply
from pgflex.spec import load_spec
from support.emulator import EmulatorHandle, make_handle
from support.specs import environment, public_server, write

# The TLS change compared with the az loop: where the fleet starts (set out of band) and what the spec says, each in
# an order the service accepts (the minimum never above the maximum), which is also the order pgflex sets them in.
TLS_BEFORE = {
    "require_secure_transport": "off",
    "ssl_min_protocol_version": "TLSv1.2",
    "ssl_max_protocol_version": "TLSv1.2",
}
TLS_AFTER = {
    "require_secure_transport": "on",
    "ssl_max_protocol_version": "TLSv1.3",
    "ssl_min_protocol_version": "TLSv1.3",
}
COMPARE_OPERATION_SECONDS = 0.2  # a few status polls per write, on both sides


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
    parser.add_argument("--fleet", type=int, default=10, help="servers of the TLS change compared with an az loop")
    args = parser.parse_args()
    os.environ["PGFLEX_ADMIN_PASSWORD"] = "Bench-Passw0rd!x"
    with tempfile.TemporaryDirectory(prefix="pgflex-bench-apply-") as folder:
        handle = make_handle(Path(folder) / "state", data_plane=False, operation_seconds=0.0, retry_after_seconds=0)
        handle.start()
        try:
            with handle.client_environment():
                compare_with_az_loop(handle, Path(folder), args.fleet)
                run(handle, Path(folder), args.servers, args.operation_seconds)
        finally:
            handle.stop()


def _set_parameters(handle: EmulatorHandle, group: str, names: list[str], values: dict[str, str]) -> float:
    """What an ``az postgres flexible-server parameter set`` loop sends: per server, per parameter, one PATCH through
    the SDK and its poller to the end (status polls, then the final GET of the parameter). Returns the wall time."""
    configurations = handle.clients().postgres.configurations
    start = time.perf_counter()
    for name in names:
        for parameter, value in values.items():
            body = {"properties": {"value": value, "source": "user-override"}}
            configurations.begin_update(group, name, parameter, body).result()  # type: ignore[call-overload]
    return time.perf_counter() - start


def _is_poll(path: str) -> bool:
    lowered = path.lower()
    return "/azureasyncoperation/" in lowered or "/operationresults/" in lowered


def _counts(handle: EmulatorHandle) -> dict[str, int]:
    """Requests the emulator saw since the last call, by what they were."""
    counts = {"writes": 0, "reads": 0, "polls": 0, "parameterGets": 0}
    for entry in map(json.loads, handle.new_record_lines()):
        if entry["method"] not in ("GET", "HEAD"):
            counts["writes"] += 1
            continue
        counts["reads"] += 1
        if _is_poll(entry["path"]):
            counts["polls"] += 1
        elif entry["method"] == "GET" and "/configurations/" in entry["path"].lower():
            counts["parameterGets"] += 1
    return counts


def compare_with_az_loop(handle: EmulatorHandle, folder: Path, servers: int) -> None:
    names = [f"fleet-{index:03d}" for index in range(servers)]
    tls = {"requireSecureTransport": True, "minVersion": "TLSv1.3", "maxVersion": "TLSv1.3"}
    document = environment("bench-tls", [public_server(name, {"office": "203.0.113.0/24"}, tls=tls) for name in names])
    env = load_spec(write(folder / "fleet.yaml", document))
    clients = connect(env.cloud, env.subscription, polling_interval=0.05)  # the SDK clients' interval in the loop
    assert apply(env, clients=clients).converged
    handle.tune(operation_seconds=COMPARE_OPERATION_SECONDS)
    rows = []
    for label in ("pgflex apply", "az loop"):
        _set_parameters(handle, env.resource_group, names, TLS_BEFORE)  # the same starting point, not counted
        handle.new_record_lines()
        start = time.perf_counter()
        if label == "pgflex apply":
            result = apply(env, clients=clients, parallelism=servers)
            assert result.converged, result.failures
        else:
            _set_parameters(handle, env.resource_group, names, TLS_AFTER)
        rows.append((label, _counts(handle), time.perf_counter() - start))
    handle.tune(operation_seconds=0.0)
    print(
        f"== the same TLS change ({len(TLS_AFTER)} parameters) on {servers} servers, operations of "
        f"{COMPARE_OPERATION_SECONDS} s, polling every 0.05 s, counted at the emulator"
    )
    header = ("writes", 7), ("reads", 7), ("per write", 10), ("polls", 7), ("param GETs", 11), ("other reads", 12)
    print(f"{'':<14}" + "".join(f"{title:>{width}}" for title, width in header) + f"{'wall':>8}")
    for label, counts, wall in rows:
        writes, reads, polls, gets = counts["writes"], counts["reads"], counts["polls"], counts["parameterGets"]
        other = reads - polls - gets
        print(f"{label:<14}{writes:>7}{reads:>7}{reads / writes:>10.2f}{polls:>7}{gets:>11}{other:>12}{wall:>7.2f}s")
    ours, loop = rows[0][1], rows[1][1]
    parameter_writes = servers * len(TLS_AFTER)
    # Status polls follow each operation's length and the polling interval, alike on both sides: compared without.
    beyond = (ours["reads"] - ours["polls"]) - (loop["reads"] - loop["polls"])
    print(
        f"pgflex's writes: {parameter_writes} parameters + the lease's {ours['writes'] - parameter_writes}. Reads "
        f"beyond the az loop's, polls aside: {beyond} ({beyond / parameter_writes:.2f} per parameter written): the "
        "plan, the plan again under the lease and the final re-plan of the servers written to (2 + 2 per server "
        "each), and the lease's reads. Per write, both read the parameter once: the poller's final GET.\n"
    )


def run(handle: EmulatorHandle, folder: Path, servers: int, operation_seconds: float) -> None:
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
        "(the plan, the plan again under the lease, operation polls, the lease, the final re-plan)"
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
