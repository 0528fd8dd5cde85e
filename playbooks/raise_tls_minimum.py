"""Runbook: raise the TLS minimum of every server of a spec, apply it, and prove it on the live servers.

python playbooks/raise_tls_minimum.py env.yaml [TLSv1.3]
"""

from __future__ import annotations

import sys

from pgflex.api import PgflexError, apply, load_spec


def main(argv: list[str]) -> int:
    minimum = argv[1] if len(argv) > 1 else "TLSv1.3"
    try:
        env = load_spec(argv[0]).with_tls(min_version=minimum)  # validated as the file is: "TLSv9" is refused
        report = apply(env)  # plan, apply, then verify TLS on every live server
    except PgflexError as error:
        print(f"raise-tls: {error}", file=sys.stderr)
        return 1
    verified = "passed" if report.verify is not None and report.verify.passed else "FAILED"
    print(f"{env.name}: {report.outcome} with {report.writes} write(s); TLS verification {verified}")
    return int(report.exit_code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
