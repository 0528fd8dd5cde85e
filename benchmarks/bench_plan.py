"""Read-half benchmark: Resource Manager calls per server, plan over a fleet, CLI start-up.

Run: .venv/bin/python benchmarks/bench_plan.py [--servers 200] [--latency-ms 30] [--runs 10]

It starts a control-plane-only emulator in a temporary state directory and reports:
a) Resource Manager reads to observe a server with 1 and with 10 firewall rules, and with 4
   managed parameters (the TLS three + azure.extensions) and with 10 (target: at most 3 each):
   one server alone (its GET, one list of parameters, one list of rules) and the four in one
   resource group (one list of the group's servers instead of the GETs); counted at the emulator
   and by the client (``clients.counter``), with the wall time at the latency;
b) the wall time of ``plan`` over N servers at the emulated latency with ``parallelism=16``,
   against the baseline of the same run: ``parallelism=1``;
c) the start-up time of ``pgflex --help`` and ``pgflex --version`` against the baseline of
   ``python -c pass`` with the same interpreter (target: below 0.3 s), and the modules that take
   more than 10 ms to import for ``--help``.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from azure.mgmt.postgresqlflexibleservers.models import FirewallRule, FirewallRuleProperties

from pgflex.azure.clients import AzureClients, connect
from pgflex.engine.api import plan
from pgflex.engine.observe import observe, observe_server
from pgflex.spec import Environment, load_spec
from support.emulator import Clients, EmulatorHandle, make_handle, server_body

SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
PASSWORD = "Bench-Passw0rd!"
# Firewall rules of the servers observed in a): 1 or 10.
RULE_COUNTS = (1, 10)
# Six dynamic parameters on top of the TLS three and azure.extensions: 10 managed in all.
EXTRA_PARAMETERS = {
    "log_connections": "on",
    "log_disconnections": "on",
    "log_checkpoints": "on",
    "log_min_duration_statement": "1000",
    "idle_in_transaction_session_timeout": "600000",
    "lock_timeout": "5000",
}
# Modules whose import at start-up would be a regression (the CLI imports them lazily).
HEAVY = ("azure", "psycopg", "pydantic", "ruamel", "cryptography", "uvicorn", "rich", "pgflex.spec", "pgflex.engine")


def _rule_names(count: int) -> list[str]:
    return ["bench-client"] + [f"bench-rule-{index:02d}" for index in range(1, count)]


def _spec_text(group: str, servers: list[tuple[str, dict[str, str]]], rules: dict[str, int] | None = None) -> str:
    """An env file of these servers (name, extra parameters), each with ``rules[name]`` firewall rules (1)."""
    lines = [
        "apiVersion: pgflex/v1",
        "environment:",
        "  name: bench",
        "  cloud: local",
        f"  subscription: {SUBSCRIPTION}",
        f"  resourceGroup: {group}",
        "  location: westeurope",
        "defaults:",
        '  version: "16"',
        "  sku: {name: Standard_B1ms, tier: Burstable}",
        "  storage: {sizeGb: 32, autoGrow: false}",
        "  administrator:",
        "    login: pgadmin",
        "    password: {fromEnv: PGFLEX_ADMIN_PASSWORD}",
        "  tls: {requireSecureTransport: true, minVersion: TLSv1.2}",
        "  parameters:",
        "    azure.extensions: [sslinfo]",
        "servers:",
    ]
    for name, parameters in servers:
        lines += [f"  - name: {name}", "    access:", "      public:", "        firewallRules:"]
        for index, rule in enumerate(_rule_names((rules or {}).get(name, 1))):
            lines.append(f"          - {{name: {rule}, cidr: 127.0.0.{index + 1}/32}}")
        if parameters:
            lines.append("    parameters:")
            lines += [f'      {key}: "{value}"' for key, value in parameters.items()]
    return "\n".join(lines) + "\n"


def _load(folder: Path, name: str, text: str) -> Environment:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    os.environ["PGFLEX_ADMIN_PASSWORD"] = PASSWORD
    return load_spec(path)


def _create_servers(
    handle: EmulatorHandle, group: str, names: list[str], threads: int = 16, rules: dict[str, int] | None = None
) -> float:
    """Servers and ``rules[name]`` firewall rules each (1), as the env file names them, through the SDK, from client
    threads (latency 0)."""
    local = threading.local()

    def create(name: str) -> None:
        if not hasattr(local, "clients"):
            local.clients = handle.clients()
        clients: Clients = local.clients
        # The SDK takes a JSON body as well as a model; its type hints only list the model.
        clients.postgres.servers.begin_create_or_update(group, name, server_body()).result()  # type: ignore[call-overload]
        for index, rule in enumerate(_rule_names((rules or {}).get(name, 1))):
            address = f"127.0.0.{index + 1}"
            body = FirewallRule(properties=FirewallRuleProperties(start_ip_address=address, end_ip_address=address))
            clients.postgres.firewall_rules.begin_create_or_update(group, name, rule, body).result()

    handle.clients().resources.resource_groups.create_or_update(group, {"location": "westeurope"})
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(create, names))
    return time.perf_counter() - start


@contextmanager
def _pool_warnings() -> Iterator[list[str]]:
    """urllib3's 'Connection pool is full' warnings: threads beyond the pool reconnect every call."""
    seen: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    logger = logging.getLogger("urllib3.connectionpool")
    handler = Collect(logging.WARNING)
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False  # count them, don't print 1,000 lines
    try:
        yield seen
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def bench_calls_per_server(handle: EmulatorHandle, folder: Path, latency_ms: float) -> None:
    group = "bench-observe"
    shapes = [(rules, parameters) for parameters in (4, 10) for rules in RULE_COUNTS]
    names = {shape: f"obs-r{shape[0]}-p{shape[1]}" for shape in shapes}
    rules = {name: shape[0] for shape, name in names.items()}
    servers = [(names[shape], EXTRA_PARAMETERS if shape[1] == 10 else {}) for shape in shapes]
    env = _load(folder, "observe.yaml", _spec_text(group, servers, rules))
    _create_servers(handle, group, [s.name for s in env.servers], rules=rules)
    admin = handle.admin()  # one client: one token, asked for once and not counted below
    clients = connect(env.cloud, env.subscription)
    observe_server(env, clients, env.servers[0])  # warm up: token, TLS connection
    handle.tune(latency_ms=latency_ms)
    print("\n== a) Resource Manager reads to observe a server (target: at most 3, whatever its rules and parameters)")
    print(f"{'firewall rules':<16}{'managed parameters':<20}{'reads':>6}{'emulator':>10}", end="")
    print(f"{f'time at {latency_ms:g} ms':>17}")
    for server, (rule_count, managed) in zip(env.servers, shapes, strict=True):
        admin.reset_stats()
        before = clients.counter.total
        start = time.perf_counter()
        observed = observe_server(env, clients, server)
        elapsed = time.perf_counter() - start
        calls = clients.counter.total - before
        at_emulator = admin.stats().get("arm.reads", 0)
        assert observed.exists and len(observed.parameters) == managed, observed
        assert len(observed.firewall_rules) == rule_count, observed
        verdict = "ok" if at_emulator <= 3 else "OVER TARGET"
        print(f"{rule_count:<16}{managed:<20}{calls:>6}{at_emulator:>10}{elapsed * 1000:>14.0f} ms  {verdict}")
    admin.reset_stats()
    before = clients.counter.total
    observed_all = observe(env, clients)
    calls = clients.counter.total - before
    at_emulator = admin.stats().get("arm.reads", 0)
    handle.tune(latency_ms=0)
    assert all(s.exists for s in observed_all.servers.values())
    count = len(env.servers)
    print(
        f"the four in one environment: {at_emulator} reads at the emulator ({calls} by the client) = 1 existence check "
        f"of the group + 1 list of its servers + 2 lists per server: {(at_emulator - 1) / count:.2f} per server"
    )


def _timed_plan(env: Environment, parallelism: int) -> tuple[float, int, str, int, int]:
    clients: AzureClients = connect(env.cloud, env.subscription)
    with _pool_warnings() as warnings:
        start = time.perf_counter()
        result = plan(env, clients=clients, parallelism=parallelism)
        elapsed = time.perf_counter() - start
    pool_full = sum("Connection pool is full" in w for w in warnings)
    return elapsed, clients.counter.total, result.fingerprint, len(result.pending), pool_full


def bench_fleet_plan(handle: EmulatorHandle, folder: Path, servers: int, latency_ms: float) -> None:
    group = "bench-fleet"
    names = [f"fleet-{index:04d}" for index in range(servers)]
    print(f"\n== b) plan over {servers} control-plane-only servers at {latency_ms:g} ms per Resource Manager call")
    created = _create_servers(handle, group, names)
    print(f"set-up: {servers} servers + 1 firewall rule each through the SDK, 16 threads, latency 0: {created:.1f} s")
    env = _load(folder, "fleet.yaml", _spec_text(group, [(name, {}) for name in names]))
    handle.tune(latency_ms=latency_ms)
    try:
        runs = {parallelism: _timed_plan(env, parallelism) for parallelism in (16, 1)}
    finally:
        handle.tune(latency_ms=0)
    baseline = runs[1][0]
    for parallelism, (elapsed, calls, _, pending, pool_full) in sorted(runs.items()):
        label = "baseline: parallelism=1" if parallelism == 1 else f"parallelism={parallelism}"
        print(
            f"{label:<26}{elapsed:8.2f} s  {calls:5d} calls  {calls / servers:4.1f} calls/server  "
            f"speed-up {baseline / elapsed:5.1f}x  pending changes {pending}  'pool full' warnings {pool_full}"
        )
    assert runs[1][2] == runs[16][2], "both runs observed the same state: the fingerprints must match"
    ideal = runs[1][1] * latency_ms / 1000
    print(
        f"floor of the sequential run: calls x latency = {ideal:.1f} s; of the parallel one: / 16 = {ideal / 16:.1f} s"
    )
    if runs[16][4]:
        # azure-core's requests session keeps 10 connections per host: threads beyond that open
        # a fresh TLS connection per call and drop it afterwards.
        print("'pool full': more threads than the SDK's connection pool (10): those calls reconnect every time")


def _times(command: list[str], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        samples.append(time.perf_counter() - start)
    return samples


def import_times(code: str, cwd: Path | None = None) -> list[tuple[int, str]]:
    """(cumulative microseconds, module) from ``python -X importtime`` for one start-up."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], cwd=cwd, capture_output=True, text=True, check=True
    )
    rows = []
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|(\s*)(\S+)", line)
        if match:
            rows.append((int(match[1]), match[3]))
    return rows


def bench_startup(runs: int) -> None:
    bin_dir = Path(sys.executable).parent
    pgflex = str(bin_dir / "pgflex")
    print(f"\n== c) start-up, {runs} runs each (min / median; target below 0.3 s)")
    series: list[tuple[str, list[str]]] = [
        ("baseline: python -c pass", [sys.executable, "-c", "pass"]),
        ("pgflex --version", [pgflex, "--version"]),
        ("pgflex --help", [pgflex, "--help"]),
    ]
    for label, command in series:
        samples = _times(command, runs)
        verdict = "" if label.startswith("baseline") else ("  ok" if min(samples) < 0.3 else "  OVER TARGET")
        print(f"{label:<28}{min(samples):6.3f} s  {statistics.median(samples):6.3f} s{verdict}")
    # The same start-up `pgflex --help` makes, in-process, so that -X importtime sees it.
    code = "\n".join(
        [
            "import sys",
            "sys.argv = ['pgflex', '--help']",
            "from pgflex.cli.main import main",
            "try: main()",
            "except SystemExit: pass",
        ]
    )
    rows = import_times(code)
    slow = sorted((row for row in rows if row[0] > 10_000), reverse=True)
    print("modules over 10 ms cumulative during `pgflex --help`:")
    for micros, module in slow:
        print(f"  {micros / 1000:7.1f} ms  {module}")
    imported = {module for _, module in rows}
    heavy = sorted(m for m in imported if any(m == h or m.startswith(f"{h}.") for h in HEAVY))
    tops = sorted({m.split(".")[0] if not m.startswith("pgflex.") else ".".join(m.split(".")[:2]) for m in heavy})
    print(f"heavy modules imported by `pgflex --help`: {', '.join(tops) if tops else 'none'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=30.0)
    parser.add_argument("--runs", type=int, default=10, help="start-up runs per command")
    args = parser.parse_args()
    with scratch_emulator("pgflex-bench-") as (handle, folder):
        bench_calls_per_server(handle, folder, args.latency_ms)
        bench_fleet_plan(handle, folder, args.servers, args.latency_ms)
    bench_startup(args.runs)


@contextmanager
def scratch_emulator(prefix: str) -> Iterator[tuple[EmulatorHandle, Path]]:
    """A control-plane-only emulator in a new temporary folder, its clients' environment set, the run's facts
    printed: (the emulator, the folder for env files)."""
    with tempfile.TemporaryDirectory(prefix=prefix) as name:
        folder = Path(name)
        (folder / "emulator").mkdir()
        handle = make_handle(folder / "emulator", data_plane=False, operation_seconds=0.0)
        handle.start()
        try:
            with handle.client_environment():
                python = sys.version.split()[0]
                print(f"emulator {handle.base_url}, state {folder}, python {python}, {os.cpu_count()} cpus")
                yield handle, folder
        finally:
            handle.stop()


if __name__ == "__main__":
    main()
