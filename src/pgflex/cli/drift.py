"""``pgflex drift``: the scheduled drift job. Read-only by default; ``--repair`` applies the spec and verifies.

The decisions (what counts as repairable, when to verify, the exit code) are pgflex.drift's, shared with the
library; this module only shows them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from .common import reported_errors, write_atomically
from .output import Display, Output
from .plan import OutputOption, ParallelismOption, SpecArgument
from .verify import CaBundleOption

if TYPE_CHECKING:
    from pgflex.drift import DriftReport

RepairOption = typer.Option(
    False,
    "--repair",
    help="Apply the spec where it drifted (no question asked; servers whose static parameters drifted restart "
    "once), then verify TLS as apply does. Nothing is repaired when any difference cannot be.",
)
ReportOption = typer.Option(None, "--report", help="Also write the pgflex.drift JSON document here.")
DriftVerifyOption = typer.Option(
    True,
    "--verify/--no-verify",
    help="Plan sslinfo in azure.extensions so that verify can read the session; with --repair, verify TLS after.",
)


def drift(
    spec: Path = SpecArgument,
    repair: bool = RepairOption,
    report: Path | None = ReportOption,
    output: Output = OutputOption,
    parallelism: int = ParallelismOption,
    verify: bool = DriftVerifyOption,
    ca_bundle: Path | None = CaBundleOption,
) -> None:
    """Report drift from the spec: exit 0 none, 2 drift (including differences that cannot be repaired
    automatically), 1 error. With --repair: exit 0 once repaired and verified, 2 when something cannot be
    repaired (then nothing is), 1 when the repair failed, 3 when verifying TLS afterwards failed."""
    import json

    from pgflex.azure.clients import connect
    from pgflex.drift import find, settle
    from pgflex.spec import load_spec

    display = Display(output)
    with reported_errors(json_output=display.json):
        if repair and verify and ca_bundle is not None:
            from pgflex.verify.trust import check_ca_bundle

            check_ca_bundle(ca_bundle)  # an unusable bundle is found before the repair, not after
        env = load_spec(spec, defer_catalogue=True)
        clients = connect(env.cloud, env.subscription)
        found = find(env, clients, parallelism=parallelism, verify=verify)
        # Read-only, `-o json` prints the plan as it always has; with --repair, the drift document.
        display.plan(found, drift=True, document=not repair)
        if repair and found.has_changes and not found.errors:
            with display.progress() as progress:
                result = settle(
                    env, clients, found, repair=True, parallelism=parallelism, verify=verify, progress=progress
                )
        else:
            result = settle(env, clients, found, repair=repair, parallelism=parallelism, verify=verify)
        if result.verify is not None:
            display.verify(result.verify, document=False)
    _tell(result, display)
    if report is not None:
        with reported_errors(json_output=display.json):
            write_atomically(report, json.dumps(result.to_dict(), indent=2) + "\n")
    if repair and display.json:
        display.document(result.to_dict())
    raise typer.Exit(result.exit_code)


def _tell(report: DriftReport, display: Display) -> None:
    for error in report.unrepairable:
        display.note(f"drift that cannot be repaired automatically: {error}", "bold red")
    outcome = report.outcome
    if outcome == "unrepairable":
        repairs = "nothing was repaired: " if report.repair else ""
        display.note(f"{repairs}a person must resolve the differences above (exit 2)", "bold red")
    elif outcome == "drifted":
        display.note(f"drift: {len(report.drift)} difference(s) from the spec (exit 2)", "yellow")
    elif outcome == "failed":
        for failure in report.failures:
            display.note(f"error: {failure}", "bold red")
        remaining = report.remaining
        if remaining is not None:
            display.note("error: the environment still differs after the repair:", "bold red")
            display.plan(remaining, document=False)
    elif outcome == "repaired":
        display.note(
            f"repaired {len(report.repaired)} difference(s) with {report.writes} write request(s); "
            "the environment matches the spec",
            "bold green",
        )
    if report.exit_code == 3:
        done = "repaired" if outcome == "repaired" else "nothing to repair"
        display.note(f"{done}, but TLS verification failed (exit 3)", "bold red")
