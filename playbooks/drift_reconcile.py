"""Runbook: the scheduled drift job, through the Python library.

    python playbooks/drift_reconcile.py env.yaml [--repair] [--report drift.json]

Exit 0 when the environment matches its spec (or was repaired), 2 when drift remains, 1 on error,
like `pgflex drift`. With --repair it applies the spec (restarting servers only when static
parameters changed) and checks again. The JSON report is the plan, for the job's artifacts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pgflex.engine.api import apply, drift
from pgflex.spec import PgflexError, load_spec


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("spec", type=Path)
    parser.add_argument("--repair", action="store_true", help="apply the spec when it drifted")
    parser.add_argument("--report", type=Path, help="write the drift plan as JSON here")
    args = parser.parse_args(argv)
    try:
        env = load_spec(args.spec)
        found = drift(env)
        if args.report:
            args.report.write_text(found.to_json())
        if not found.has_changes:
            print(f"{env.name}: no drift")
            return 0
        for change in found.pending:
            print(f"{env.name}: drift: {change.kind} {change.name}: {change.action} ({change.reason})")
        if not args.repair:
            return 2
        result = apply(env)
        if not result.converged:
            print(f"{env.name}: repair incomplete: {'; '.join(result.failures) or 'differences remain'}")
            return 2
        print(f"{env.name}: repaired with {result.writes} write request(s)")
        return 0
    except PgflexError as error:
        print(f"drift job: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
