"""Runbook: the scheduled drift job, as a short example of the library (pgflex.api).

    python playbooks/drift_reconcile.py env.yaml [--repair]

The job itself ships with pgflex: `pgflex drift env.yaml [--repair] [--report drift.json]` does the same, with
the same exit codes (0 no drift or all repaired, 2 drift remains, 1 error, 3 repaired but TLS verification
failed), a pipeline's annotations and the pgflex.drift JSON document.
"""

from __future__ import annotations

import sys

from pgflex.api import PgflexError, drift


def main(argv: list[str]) -> int:
    try:
        report = drift(argv[0], repair="--repair" in argv[1:])  # repairs nothing when anything is unrepairable
    except PgflexError as error:  # every failure is one, Azure's included
        print(f"drift job: {error}", file=sys.stderr)
        return 1
    for difference in report.drift:
        print(f"{report.environment}: drift: {difference}")
    for unrepairable in report.unrepairable:
        print(f"{report.environment}: cannot be repaired automatically: {unrepairable}")
    print(f"{report.environment}: {report.outcome} ({report.writes} write request(s))")
    return int(report.exit_code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
