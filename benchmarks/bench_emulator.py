"""Emulator control-plane benchmark: request latency and throughput, and 1,000 servers.

Run: .venv/bin/python benchmarks/bench_emulator.py [--servers 1000] [--requests 2000]

It starts a control-plane-only emulator in a temporary state directory and reports:
- latency (p50/p95/p99) and throughput of GET requests over keep-alive HTTPS, for a real ARM
  read (GET a server) against the baseline of the same run: the admin health endpoint, which
  passes the same HTTP, TLS and token check but touches no ARM state;
- the same reads from 8 concurrent connections;
- the time to create N servers through the unmodified SDK (PUT, poll the operation, final GET),
  with 16 client threads, against a sequential baseline of 50 creates.
"""

from __future__ import annotations

import argparse
import http.client
import os
import ssl
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.emulator import EmulatorHandle, make_handle, server_body

GROUP = "bench"


def _connection(handle: EmulatorHandle) -> http.client.HTTPSConnection:
    assert handle.running is not None
    parts = urlsplit(handle.base_url)
    context = ssl.create_default_context(cafile=str(handle.running.ca_root))
    return http.client.HTTPSConnection(parts.hostname or "127.0.0.1", parts.port, context=context)


def _timed_gets(handle: EmulatorHandle, token: str, path: str, count: int) -> list[float]:
    connection = _connection(handle)
    headers = {"Authorization": f"Bearer {token}"}
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        samples.append(time.perf_counter() - start)
        assert response.status == 200, response.status
    connection.close()
    return samples


def _report(label: str, samples: list[float], wall: float) -> None:
    ordered = sorted(samples)
    p = {q: ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] * 1000 for q in (50, 95, 99)}
    print(
        f"{label:<44} p50 {p[50]:6.2f} ms  p95 {p[95]:6.2f} ms  p99 {p[99]:6.2f} ms  {len(samples) / wall:8.0f} req/s"
    )


def _concurrent(workers: int, job: Callable[[], list[float]]) -> tuple[list[float], float]:
    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(lambda _: job(), range(workers)))
    return [s for r in results for s in r], time.perf_counter() - start


def bench_requests(handle: EmulatorHandle, requests: int) -> None:
    clients = handle.clients()
    clients.resources.resource_groups.create_or_update(GROUP, {"location": "westeurope"})
    clients.postgres.servers.begin_create_or_update(GROUP, "bench-read", server_body()).result()
    token = handle.admin().token()
    server = (
        f"/subscriptions/{clients.subscription_id}/resourceGroups/{GROUP}/providers/"
        "Microsoft.DBforPostgreSQL/flexibleServers/bench-read?api-version=2026-10-01"
    )
    print(f"\n== requests ({requests} per series, keep-alive HTTPS)")
    _timed_gets(handle, token, server, 100)  # warm up
    for label, path in (
        ("baseline: admin health (1 connection)", "/_emulator/health"),
        ("GET server (1 connection)", server),
    ):
        start = time.perf_counter()
        samples = _timed_gets(handle, token, path, requests)
        _report(label, samples, time.perf_counter() - start)
    samples, wall = _concurrent(8, lambda: _timed_gets(handle, token, server, requests // 8))
    _report("GET server (8 connections)", samples, wall)


def _create(clients: object, name: str) -> None:
    clients.postgres.servers.begin_create_or_update(GROUP, name, server_body()).result()  # type: ignore[attr-defined]


def bench_fleet(handle: EmulatorHandle, servers: int) -> None:
    clients = handle.clients()
    print(f"\n== creating control-plane-only servers (operation time 0, polling interval {0.05}s)")
    start = time.perf_counter()
    for index in range(50):
        _create(clients, f"seq-{index:04d}")
    sequential = time.perf_counter() - start
    print(f"baseline: 50 servers, one at a time           {sequential:7.2f} s  ({50 / sequential:6.1f} servers/s)")
    local = threading.local()

    def create(index: int) -> None:
        if not hasattr(local, "clients"):
            local.clients = handle.clients()
        _create(local.clients, f"fleet-{index:05d}")

    start = time.perf_counter()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(create, range(servers)))
    elapsed = time.perf_counter() - start
    print(f"{servers} servers, 16 client threads            {elapsed:7.2f} s  ({servers / elapsed:6.1f} servers/s)")
    start = time.perf_counter()
    listed = sum(1 for _ in clients.postgres.servers.list_by_subscription())
    print(f"list all {listed} servers (paged by 100)          {time.perf_counter() - start:7.2f} s")
    assert listed >= servers + 50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pgflex-bench-") as folder:
        handle = make_handle(Path(folder), data_plane=False, operation_seconds=0.0)
        handle.start()
        try:
            with handle.client_environment():
                python = sys.version.split()[0]
                print(f"emulator {handle.base_url}, state {folder}, python {python}, {os.cpu_count()} cpus")
                bench_requests(handle, args.requests)
                bench_fleet(handle, args.servers)
        finally:
            handle.stop()


if __name__ == "__main__":
    main()
