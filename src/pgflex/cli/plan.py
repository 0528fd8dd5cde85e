"""``pgflex plan``, ``pgflex validate`` and ``pgflex schema`` (``pgflex drift`` is in drift.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from .common import EXIT_ERROR, EXIT_OK, fail, reported_errors, write_atomically
from .impact import ImpactFromOption, assess_impact
from .output import Display, Output

if TYPE_CHECKING:
    from pgflex.engine.plan import Plan
    from pgflex.spec import Environment, SpecIssue

SpecArgument = typer.Argument(..., help="The environment file (env.yaml).", show_default=False)
OutputOption = typer.Option(
    Output.table, "--output", "-o", help="table: a table on a terminal, one line per result in a log; json."
)
ParallelismOption = typer.Option(8, "--parallelism", min=1, max=64, help="Servers observed at once.")
VerifyOption = typer.Option(
    True, "--verify/--no-verify", help="Plan sslinfo in azure.extensions so that verify can read the session."
)


def _plan_and_show(
    spec: Path, display: Display, parallelism: int, verify: bool, out: Path | None, impact_from: Path | None = None
) -> Plan:
    from pgflex.azure.clients import connect
    from pgflex.engine.api import plan as make_plan
    from pgflex.spec import load_spec

    with reported_errors(json_output=display.json):
        env = load_spec(spec, defer_catalogue=True)
        clients = connect(env.cloud, env.subscription)
        result = make_plan(env, clients=clients, parallelism=parallelism, verify=verify)
        result = assess_impact(env, result, clients, impact_from=impact_from)
    if out is not None:
        write_atomically(out, result.to_json())
    display.plan(result)
    if out is not None:
        display.note(f"plan saved to {out}")
    return result


def plan(
    spec: Path = SpecArgument,
    output: Output = OutputOption,
    out: Path | None = typer.Option(None, "--out", help="Also save the plan as JSON here (for `pgflex apply`)."),
    detailed_exitcode: bool = typer.Option(
        False, "--detailed-exitcode", help="Exit 0 when nothing would change, 2 when something would, 1 on error."
    ),
    parallelism: int = ParallelismOption,
    verify: bool = VerifyOption,
    impact_from: Path | None = ImpactFromOption,
) -> None:
    """Show what apply would change (reads only), and who each TLS-tightening change would cut off."""
    from pgflex.outcomes import plan_exit_code

    result = _plan_and_show(spec, Display(output), parallelism, verify, out, impact_from)
    raise typer.Exit(plan_exit_code(result, detailed=detailed_exitcode))


# A subscription read from an unset variable is what a pull-request check without secrets sees: the file can
# still be validated whole, with a stand-in subscription, and the missing variable is a warning.
_UNSET_VARIABLE = re.compile(r"^environment variable (\w+) is not set")
_SUBSCRIPTION_KEY = "environment.subscription"
_STAND_IN_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"


def _load_for_validation(path: Path) -> tuple[Environment, list[SpecIssue]]:
    """Load ``path``; an unset variable in the subscription is returned as a warning instead of an error."""
    import os

    from pgflex.spec import SpecError, load_spec

    try:
        return load_spec(path), []
    except SpecError as error:
        unset = {
            issue: match.group(1)
            for issue in error.issues
            if issue.key_path == _SUBSCRIPTION_KEY and (match := _UNSET_VARIABLE.match(issue.message))
        }
        if not unset:
            raise
        stand_ins = dict.fromkeys(unset.values(), _STAND_IN_SUBSCRIPTION)
        return load_spec(path, env={**os.environ, **stand_ins}), list(unset)


def validate(
    specs: list[Path] = typer.Argument(..., help="Environment files (env.yaml).", show_default=False),
) -> None:
    """Check environment files without calling Azure (no Azure variables needed)."""
    from pgflex.render.ci import Annotation, Pipeline

    pipeline = Pipeline.detect()
    failed = False
    for spec in specs:
        try:
            with reported_errors():
                env, warnings = _load_for_validation(spec)
        except typer.Exit:
            failed = True
            continue
        for warning in warnings:
            typer.echo(f"pgflex: warning: {warning} (validated with a stand-in subscription)", err=True)
        pipeline.annotate(
            Annotation("warning", f"{w.key_path}: {w.message}", "pgflex spec", w.file, w.line, w.column)
            for w in warnings
        )
        typer.echo(f"{spec}: valid ({len(env.servers)} server(s), cloud {env.cloud})")
    raise typer.Exit(EXIT_ERROR if failed else EXIT_OK)


def schema(
    output: str | None = typer.Option(
        None,
        "--output",
        "-o",
        metavar="DOCUMENT",
        help="Print the JSON Schema of a JSON output instead: "
        "plan, verify, sessions, apply, destroy, drift, exceptions or audit.",
    ),
) -> None:
    """Print the JSON Schema of env.yaml (editors use it to validate and complete), or of an output."""
    import json

    if output is None:
        from pgflex.spec import json_schema

        typer.echo(json.dumps(json_schema(), indent=2))
        return
    from pgflex.schemas import OUTPUTS, output_schema

    if output not in OUTPUTS:
        raise fail(f"--output {output!r}: choose one of {', '.join(OUTPUTS)}")
    typer.echo(json.dumps(output_schema(output), indent=2))
