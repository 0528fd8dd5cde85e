"""Create-to-Ready time and memory per emulated server: template copy against a fresh initdb.

Run: ``python benchmarks/bench_dataplane.py [--servers N]``. Every server is provisioned through the
public DataPlane API (certificate, configuration, start, administrator), so "Ready" means a client
could connect. Memory is summed over the postmaster and all its children: RSS (counts shared memory
once per process, so it overstates) and PSS (shared pages split between processes).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from pgflex.emulator.dataplane import DataPlane
from pgflex.emulator.pki import CertificateAuthority


@dataclass(frozen=True)
class Sample:
    seconds: float
    rss_kib: int
    pss_kib: int


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat_file.parent.name))
    return found


def _memory_kib(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cluster_memory(root: Path, name: str) -> tuple[int, int]:
    pid = int((root / "servers" / name / "data" / "postmaster.pid").read_text().split()[0])
    pids = [pid, *_children(pid)]
    return sum(_memory_kib(p, "Rss") for p in pids), sum(_memory_kib(p, "Pss") for p in pids)


def _run(plane: DataPlane, prefix: str, count: int) -> list[Sample]:
    samples = []
    for index in range(count):
        name = f"{prefix}-{index}"
        started = time.perf_counter()
        plane.provision(name, f"{name}.postgres.database.azure.com", "16", "benchadmin", "Bench-pass-1", {})
        elapsed = time.perf_counter() - started
        time.sleep(0.5)  # let background workers settle before sampling memory
        rss, pss = _cluster_memory(plane.root, name)
        samples.append(Sample(elapsed, rss, pss))
    return samples


def _report(label: str, samples: list[Sample]) -> None:
    seconds = [s.seconds for s in samples]
    print(
        f"{label:<28} n={len(samples)}  create-to-Ready median {statistics.median(seconds):.3f} s "
        f"(min {min(seconds):.3f}, max {max(seconds):.3f})  "
        f"RSS median {statistics.median(s.rss_kib for s in samples) / 1024:.1f} MiB  "
        f"PSS median {statistics.median(s.pss_kib for s in samples) / 1024:.1f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--servers", type=int, default=5, help="servers per strategy (default 5)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pgflex-bench-") as scratch:
        base = Path(scratch)
        base.chmod(0o755)
        ca = CertificateAuthority(base / "pki")

        copying = DataPlane(base / "copy", ca)
        print(copying.binaries_info())
        first = _run(copying, "first", 1)[0]
        print(f"{'first server (builds template)':<28} create-to-Ready {first.seconds:.3f} s")
        copy_samples = _run(copying, "copy", args.servers)

        fresh = DataPlane(base / "fresh", ca, use_template=False)
        fresh_samples = _run(fresh, "fresh", args.servers)
        try:
            _report("template copy", copy_samples)
            _report("fresh initdb", fresh_samples)
            ratio = statistics.median(s.seconds for s in fresh_samples) / statistics.median(
                s.seconds for s in copy_samples
            )
            print(f"template copy is {ratio:.1f}x faster than initdb (first server: {first.seconds:.3f} s)")
        finally:
            copying.shutdown_all()
            fresh.shutdown_all()


if __name__ == "__main__":
    main()
