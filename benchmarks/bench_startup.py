"""Start-up benchmark: how long the commands people type most take before doing their work.

Run: .venv/bin/python benchmarks/bench_startup.py [--runs 15] [--against REV]

Times, side by side in one run, each as median / min / max wall seconds of a fresh process:

- ``python -c pass`` with the same interpreter: the floor;
- ``pgflex --version``;
- ``pgflex validate infra/local.yaml`` (target: below 0.3 s; ``az --version`` takes about as long);
- ``pgflex emulator status``, of a running control-plane emulator (started here in a temporary state
  dir) and when none runs;
- verify's imports: ``python -c "import pgflex.cli.main, pgflex.verify.runner, pgflex.render.verify_view"``, what
  ``pgflex verify`` loads before it connects to anything.

Commands run in rounds (each command once per round), so that a shared machine's drift hits all of them
alike. ``--against REV`` also runs every pgflex command with the sources of git revision REV (exported with
``git archive`` to a temporary folder put first on PYTHONPATH) in the same rounds, and prints the ratio of
the medians: before/after figures from one run. Finally it lists the modules that take over 10 ms
(cumulative, ``python -X importtime``) during ``pgflex validate``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from bench_plan import import_times
from support.emulator import make_handle

ROOT = Path(__file__).resolve().parents[1]
PGFLEX = str(Path(sys.executable).with_name("pgflex"))
VERIFY_IMPORTS = "import pgflex.cli.main, pgflex.verify.runner, pgflex.render.verify_view"
TARGET_SECONDS = 0.3


@dataclass
class Series:
    label: str
    command: list[str]
    exit_codes: tuple[int, ...] = (0,)
    env: dict[str, str] = field(default_factory=dict)
    samples: list[float] = field(default_factory=list)

    def run_once(self) -> None:
        start = time.perf_counter()
        done = subprocess.run(
            self.command,
            cwd=ROOT,
            env={**os.environ, **self.env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            check=False,
        )
        self.samples.append(time.perf_counter() - start)
        if done.returncode not in self.exit_codes:
            raise SystemExit(f"{self.label}: exit {done.returncode}\n{done.stderr.decode(errors='replace')}")


def _series(state_dir: Path, empty_dir: Path) -> list[Series]:
    return [
        Series("python -c pass (floor)", [sys.executable, "-c", "pass"]),
        Series("pgflex --version", [PGFLEX, "--version"]),
        Series("pgflex validate infra/local.yaml", [PGFLEX, "validate", "infra/local.yaml"]),
        Series("pgflex emulator status (running)", [PGFLEX, "emulator", "status", "--state-dir", str(state_dir)]),
        Series(
            "pgflex emulator status (none runs)",
            [PGFLEX, "emulator", "status", "--state-dir", str(empty_dir)],
            exit_codes=(1,),
        ),
        Series("verify's imports", [sys.executable, "-c", VERIFY_IMPORTS]),
    ]


@contextmanager
def _sources_of(revision: str) -> Iterator[Path]:
    """The ``src`` folder of ``revision``, exported to a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="pgflex-bench-src-") as name:
        archive = subprocess.run(["git", "archive", revision, "src"], cwd=ROOT, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", name], input=archive.stdout, check=True)
        yield Path(name) / "src"


def _import_times(args: list[str]) -> list[tuple[int, str]]:
    """(cumulative microseconds, module) from ``python -X importtime`` for ``pgflex ARGS``, in-process."""
    lines = ["import sys", f"sys.argv = ['pgflex', *{args!r}]", "from pgflex.cli.main import main"]
    return import_times("\n".join([*lines, "try: main()", "except SystemExit: pass"]), cwd=ROOT)


def _print_table(series: list[Series], baseline: dict[str, Series], revision: str | None) -> None:
    header = f"{'command':<38}{'median':>8}{'min':>8}{'max':>8}"
    if revision:
        header += f"{'at ' + revision[:10]:>16}{'ratio':>8}"
    print(header)
    for one in series:
        median = statistics.median(one.samples)
        row = f"{one.label:<38}{median:8.3f}{min(one.samples):8.3f}{max(one.samples):8.3f}"
        before = baseline.get(one.label)
        if before is not None:
            old = statistics.median(before.samples)
            row += f"{old:16.3f}{median / old:8.2f}"
        if one.label.startswith("pgflex validate"):
            row += "  ok" if median < TARGET_SECONDS else "  OVER TARGET"
        print(row)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15, help="rounds (runs of each command)")
    parser.add_argument("--against", metavar="REV", help="also time the sources of this git revision")
    args = parser.parse_args()
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        # Without cached bytecode every run compiles pgflex's sources again; an installed pgflex has it.
        print("note: PYTHONDONTWRITEBYTECODE is set: pgflex's own modules are compiled on every run")
    with tempfile.TemporaryDirectory(prefix="pgflex-bench-") as name:
        folder = Path(name)
        handle = make_handle(folder / "emulator", data_plane=False)
        handle.start()
        try:
            series = _series(handle.state_dir, folder / "none")
            baseline: dict[str, Series] = {}
            with _sources_of(args.against) if args.against else _nothing() as old_src:
                if old_src is not None:
                    baseline = {
                        s.label: Series(s.label, s.command, s.exit_codes, {"PYTHONPATH": str(old_src)})
                        for s in series[1:]
                    }
                for _ in range(args.runs + 1):  # the first round warms the caches and is dropped
                    for one in [*series, *baseline.values()]:
                        one.run_once()
                for one in [*series, *baseline.values()]:
                    del one.samples[0]
        finally:
            handle.stop()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, {args.runs} runs each, wall seconds")
    _print_table(series, baseline, args.against)
    rows = _import_times(["validate", "infra/local.yaml"])
    print("\nmodules over 10 ms cumulative during `pgflex validate` (python -X importtime):")
    for micros, module in sorted((row for row in rows if row[0] > 10_000), reverse=True):
        print(f"  {micros / 1000:7.1f} ms  {module}")


@contextmanager
def _nothing() -> Iterator[None]:
    yield None


if __name__ == "__main__":
    main()
