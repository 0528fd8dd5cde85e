"""Fleet benchmark: a plan and an audit of 1,000 servers under Resource Manager's throttling, against the floor.

Run: .venv/bin/python benchmarks/bench_fleet.py [--servers 1000] [--quick]

It starts a control-plane-only emulator in a temporary state directory, sets up (untimed, throttling off) N servers
in the plan's subscription as bench_plan's env file has them (one firewall rule, azure.extensions: the plan is
converged) and N/2 with a firewall rule in each of two more subscriptions for the audit, turns on its
throttling at Resource Manager's real limits (reads: 250 burst, refilled at 25 per second per subscription and
principal) and reports, in one run:
a) ``plan`` of the N servers (``parallelism=16``) with pgflex's client-side rate limit: requests, wall time, the
   bucket floor ``(reads - 250) / 25`` from the reads the emulator counted, the ratio (target: at most 1.10), and the
   429s counted at the emulator (target: 0) and by the client (``clients.counter.throttled``);
b) ``pgflex.api.audit`` of the two audit subscriptions (N/2 servers each), read concurrently, each subscription with
   its own bucket: a subscription's floor is ``(its reads - 250) / 25`` from the reads the emulator recorded on its
   paths (``/subscriptions/{id}/...``), and the audit's floor the larger of the two, since the buckets refill side
   by side; the 429s at the emulator and those the client's buckets saw (``LIMITER.states()``);
c) the baseline of the same run: the same plan with the client-side limit off (``connect(rate_limit=False)``),
   its 429s (each retried by pgflex's RetryPolicy after its Retry-After) and its time against the floor of the
   reads that got through;
d) reads per server for observe (bench_plan's part a, at 30 ms per call) and reads per write of apply against
   an ``az``-style loop (bench_apply's comparison on 10 servers), throttling off, in the same emulator.
Every throttled run starts with full buckets: the benchmark waits ``burst / rate`` (10 s) after the previous one.
``--quick`` is ``--servers 200``: the audit's subscriptions then stay within the burst (floor 0 s, no ratio).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import bench_apply
import bench_plan
from pgflex import api
from pgflex.azure.clients import connect
from pgflex.azure.ratelimit import LIMITER
from pgflex.engine.api import plan
from pgflex.spec import Environment, PgflexError
from support.emulator import Clients, EmulatorHandle

BURST, PER_SECOND = 250, 25.0  # Resource Manager's reads per subscription and principal
TARGET_RATIO = 1.10
PLAN_PARALLELISM = 16
QUICK_SERVERS = 200
# The start of a recorded exchange (arm/app.py's Recorder writes these keys first, in this order).
RECORD_HEAD = re.compile(r'^\{"method": "(\w+)", "path": "([^"]*)", "query": \{[^}]*\}, "status": (\d+)')


@dataclass(frozen=True)
class Measured:
    """One throttled run: what the emulator counted and what it took."""

    seconds: float
    reads: int  # at the emulator, 429s included
    writes: int
    throttled: int  # 429s the emulator's buckets answered
    client_throttled: int  # 429s the client saw at the wire

    def floor(self) -> float:
        """Seconds the bucket needs for the reads that spent a token (429s spend none)."""
        return max(0.0, self.reads - self.throttled - BURST) / PER_SECOND


class _InSubscription:
    """The emulator as bench_plan's set-up sees it, with SDK clients of another subscription."""

    def __init__(self, handle: EmulatorHandle, subscription: str) -> None:
        self._handle = handle
        self._subscription = subscription

    def clients(self) -> Clients:
        return self._handle.clients(self._subscription)


def _record_size(handle: EmulatorHandle) -> int:
    return handle.record_path.stat().st_size if handle.record_path.exists() else 0


def _reads_by_scope(handle: EmulatorHandle, offset: int) -> tuple[Counter[str], Counter[str]]:
    """(reads, 429s) per subscription (lower case; ``tenant`` otherwise) recorded since ``offset``, read
    without parsing whole lines: a list of 415 parameters is a long one."""
    reads: Counter[str] = Counter()
    throttled: Counter[str] = Counter()
    with handle.record_path.open(encoding="utf-8") as record:
        record.seek(offset)
        for line in record:
            match = RECORD_HEAD.match(line[:2000])
            if match is None:
                entry = json.loads(line)
                method, path, status = entry["method"], entry["path"], int(entry["status"])
            else:
                method, path, status = match[1], match[2], int(match[3])
            if method not in ("GET", "HEAD"):
                continue
            parts = path.split("/")
            scope = parts[2].lower() if len(parts) > 2 and parts[1].lower() == "subscriptions" else "tenant"
            reads[scope] += 1
            throttled[scope] += status == 429
    return reads, throttled


def _limiter_throttled() -> Counter[str]:
    """429s the process's buckets have seen, per subscription: the client's count for clients it paces."""
    seen: Counter[str] = Counter()
    for state in LIMITER.states():
        seen[state.key.scope] += state.throttled
    return seen


def _throttle(handle: EmulatorHandle, on: bool) -> None:
    handle.tune(throttling=on, throttle_reads_burst=BURST, throttle_reads_per_second=PER_SECOND)


def _full_buckets() -> None:
    """Every bucket, the emulator's and the client's copies, back to its burst before the next run."""
    time.sleep(BURST / PER_SECOND + 1)


def _timed_plan(handle: EmulatorHandle, env: Environment, rate_limit: bool) -> tuple[Measured, str]:
    clients = connect(env.cloud, env.subscription, rate_limit=rate_limit)
    handle.reset_request_count()
    start = time.perf_counter()
    try:
        result = plan(env, clients=clients, parallelism=PLAN_PARALLELISM)
        names = ", ".join(f"{name} x{count}" for name, count in Counter(c.name for c in result.pending).items())
        outcome = f"{len(result.pending)} pending changes ({names or 'none'}), {len(result.errors)} errors"
    except PgflexError as failure:
        outcome = f"FAILED: {failure}"
    elapsed = time.perf_counter() - start
    stats = handle.admin().stats()
    measured = Measured(
        elapsed,
        stats.get("arm.reads", 0),
        stats.get("arm.writes", 0) + stats.get("arm.deletes", 0),
        stats.get("arm.throttled", 0),
        clients.counter.throttled,
    )
    return measured, outcome


def _verdict(ratio: float | None, throttled: int) -> str:
    within = ratio is None or ratio <= TARGET_RATIO
    return "ok" if within and throttled == 0 else "OVER TARGET"


def bench_plan_throttled(handle: EmulatorHandle, env: Environment, servers: int) -> Measured:
    print(f"\n== a) plan of {servers} servers, parallelism {PLAN_PARALLELISM}, pgflex's rate limit on", flush=True)
    measured, outcome = _timed_plan(handle, env, rate_limit=True)
    floor = measured.floor()
    ratio = measured.seconds / floor if floor else None
    shown = f"{ratio:.3f}" if ratio is not None else "n/a (within the burst)"
    print(
        f"requests {measured.reads + measured.writes} ({measured.reads} reads, {measured.reads / servers:.2f} per "
        f"server), wall {measured.seconds:.1f} s, floor ({measured.reads} - {BURST}) / {PER_SECOND:g} = {floor:.1f} s, "
        f"ratio {shown} (target <= {TARGET_RATIO}); 429s at the emulator {measured.throttled} (target 0), "
        f"at the client {measured.client_throttled}; {outcome}  {_verdict(ratio, measured.throttled)}"
    )
    return measured


def bench_audit_throttled(handle: EmulatorHandle, subscriptions: list[str], servers: int) -> None:
    count = len(subscriptions)
    print(f"\n== b) pgflex.api.audit of {servers} servers in {count} subscriptions, each its own bucket", flush=True)
    handle.reset_request_count()
    offset = _record_size(handle)
    client_before = _limiter_throttled()
    start = time.perf_counter()
    report = api.audit(subscriptions, cloud="local")
    elapsed = time.perf_counter() - start
    client_seen = _limiter_throttled() - client_before
    reads, throttled = _reads_by_scope(handle, offset)
    floors = {}
    for audited in report.subscriptions:
        scope = audited.id.lower()
        floors[scope] = max(0, reads[scope] - throttled[scope] - BURST) / PER_SECOND
        print(
            f"  subscription {audited.id}: {len(audited.servers)} servers, {reads[scope]} reads at the emulator "
            f"({audited.reads} by the client), floor ({reads[scope]} - {BURST}) / {PER_SECOND:g} = "
            f"{floors[scope]:.1f} s, its own reads done in {audited.seconds:.1f} s, 429s {throttled[scope]}"
        )
    other = sum(n for scope, n in reads.items() if scope not in floors)
    floor = max(floors.values())
    ratio = elapsed / floor if floor else None
    shown = f"{ratio:.3f}" if ratio is not None else "n/a (each within the burst)"
    stats = handle.admin().stats()
    audited_servers = sum(len(s.servers) for s in report.subscriptions)
    print(
        f"requests {stats.get('arm', 0)} ({stats.get('arm.reads', 0)} reads, {other} outside the two subscriptions), "
        f"{audited_servers} servers, {len(report.findings)} findings, {len(report.errors)} errors, wall "
        f"{elapsed:.1f} s, floor (the larger subscription's, the buckets refill side by side) {floor:.1f} s, ratio "
        f"{shown} (target <= {TARGET_RATIO}); 429s at the emulator {stats.get('arm.throttled', 0)} (target 0), at the "
        f"client {client_seen.total()}  {_verdict(ratio, stats.get('arm.throttled', 0))}"
    )


def bench_plan_unpaced(handle: EmulatorHandle, env: Environment, servers: int, paced: Measured) -> None:
    print(f"\n== c) baseline: the same plan of {servers} servers with the client-side limit off", flush=True)
    measured, outcome = _timed_plan(handle, env, rate_limit=False)
    floor = measured.floor()
    ratio = f"{measured.seconds / floor:.3f}" if floor else "n/a"
    print(
        f"requests {measured.reads + measured.writes} ({measured.reads} reads, {measured.throttled} of them refused), "
        f"wall {measured.seconds:.1f} s, floor of the {measured.reads - measured.throttled} reads that got through "
        f"{floor:.1f} s, ratio {ratio}; 429s at the emulator {measured.throttled}, at the client "
        f"{measured.client_throttled}; {outcome}"
    )
    print(
        f"with the limit: {paced.throttled} 429s in {paced.seconds:.1f} s; without: {measured.throttled} 429s in "
        f"{measured.seconds:.1f} s (pgflex retries each 429 after its Retry-After)"
    )


def bench_reads(handle: EmulatorHandle, folder: Path) -> None:
    print("\n== d) reads per server for observe (bench_plan), reads per write for apply (bench_apply), no throttling")
    bench_plan.bench_calls_per_server(handle, folder, latency_ms=30.0)
    print()
    bench_apply.compare_with_az_loop(handle, folder, servers=10)


def _converge_extensions(handle: EmulatorHandle, group: str, names: list[str]) -> float:
    """The one parameter bench_plan's env file sets that a new server lacks (azure.extensions), through the SDK."""
    local = threading.local()

    def update(name: str) -> None:
        if not hasattr(local, "clients"):
            local.clients = handle.clients()
        body = {"properties": {"value": "sslinfo", "source": "user-override"}}
        local.clients.postgres.configurations.begin_update(group, name, "azure.extensions", body).result()

    start = time.perf_counter()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(update, names))
    return time.perf_counter() - start


def _set_up(handle: EmulatorHandle, folder: Path, servers: int) -> tuple[Environment, list[str]]:
    """The plan's servers in the emulator's subscription, the audit's in two more (half each)."""
    names = [f"fleet-{index:04d}" for index in range(servers)]
    seconds = bench_plan._create_servers(handle, "bench-fleet", names)
    print(f"set-up: {servers} servers for the plan, 1 firewall rule each, through the SDK: {seconds:.1f} s", flush=True)
    env = bench_plan._load(folder, "fleet.yaml", bench_plan._spec_text("bench-fleet", [(n, {}) for n in names]))
    seconds = _converge_extensions(handle, "bench-fleet", names)
    print(f"set-up: azure.extensions as the env file says, so that the plan is converged: {seconds:.1f} s", flush=True)
    subscriptions = []
    for index, letter in enumerate("ab"):
        subscription = str(uuid.UUID(int=index + 1))
        handle.add_subscription(subscription, f"bench audit {letter}")
        share = servers // 2 + (servers % 2 if index == 0 else 0)
        audited = [f"audit-{letter}-{number:04d}" for number in range(share)]
        seconds = bench_plan._create_servers(_InSubscription(handle, subscription), "bench-audit", audited)  # type: ignore[arg-type]
        print(f"set-up: {share} servers in subscription {subscription} for the audit: {seconds:.1f} s", flush=True)
        subscriptions.append(subscription)
    return env, subscriptions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=int, default=1000, help="servers of the plan; the audit's, half in each")
    parser.add_argument("--quick", action="store_true", help=f"--servers {QUICK_SERVERS}")
    args = parser.parse_args()
    servers = QUICK_SERVERS if args.quick else args.servers
    with bench_plan.scratch_emulator("pgflex-bench-fleet-") as (handle, folder):
        env, subscriptions = _set_up(handle, folder, servers)
        print(f"throttling on: reads {BURST} burst, {PER_SECOND:g} per second (Resource Manager's)")
        _throttle(handle, on=True)
        _full_buckets()
        paced = bench_plan_throttled(handle, env, servers)
        _full_buckets()
        bench_audit_throttled(handle, subscriptions, servers)
        _full_buckets()
        bench_plan_unpaced(handle, env, servers, paced)
        _throttle(handle, on=False)
        bench_reads(handle, folder)


if __name__ == "__main__":
    main()
