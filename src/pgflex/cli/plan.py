"""``pgflex plan``, ``pgflex drift``, ``pgflex validate`` and ``pgflex schema``."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer

from .common import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, reported_errors, write_atomically


class Output(StrEnum):
    table = "table"
    json = "json"


SpecArgument = typer.Argument(..., help="The environment file (env.yaml).", show_default=False)
OutputOption = typer.Option(Output.table, "--output", "-o", help="table for people, json for machines.")
ParallelismOption = typer.Option(8, "--parallelism", min=1, max=64, help="Servers observed at once.")
VerifyOption = typer.Option(
    True, "--verify/--no-verify", help="Plan sslinfo in azure.extensions so that verify can read the session."
)


def _plan_and_show(spec: Path, output: Output, parallelism: int, verify: bool, out: Path | None):  # type: ignore[no-untyped-def]
    from pgflex.engine.api import plan as make_plan
    from pgflex.spec import load_spec

    with reported_errors():
        env = load_spec(spec)
        result = make_plan(env, parallelism=parallelism, verify=verify)
    if out is not None:
        write_atomically(out, result.to_json())
    if output is Output.json:
        typer.echo(result.to_json(), nl=False)
    else:
        from rich.console import Console

        from pgflex.render.plan_view import render_plan

        render_plan(result, Console())
        if out is not None:
            typer.echo(f"plan saved to {out}")
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
) -> None:
    """Show what apply would change (reads only)."""
    result = _plan_and_show(spec, output, parallelism, verify, out)
    if result.errors and not detailed_exitcode:
        raise typer.Exit(EXIT_ERROR)
    if detailed_exitcode and (result.has_changes or result.errors):
        raise typer.Exit(EXIT_CHANGES)
    raise typer.Exit(EXIT_OK)


def drift(
    spec: Path = SpecArgument,
    output: Output = OutputOption,
    parallelism: int = ParallelismOption,
    verify: bool = VerifyOption,
) -> None:
    """Report drift from the spec, read-only: exit 0 none, 2 drift, 1 error."""
    result = _plan_and_show(spec, output, parallelism, verify, None)
    raise typer.Exit(EXIT_CHANGES if result.has_changes or result.errors else EXIT_OK)


def validate(spec: Path = SpecArgument) -> None:
    """Check an environment file without calling Azure."""
    from pgflex.spec import load_spec

    with reported_errors():
        env = load_spec(spec)
    typer.echo(f"{spec}: valid ({len(env.servers)} server(s), cloud {env.cloud})")


def schema() -> None:
    """Print the JSON Schema of env.yaml (editors use it to validate and complete)."""
    from pgflex.spec import json_schema

    typer.echo(json.dumps(json_schema(), indent=2))
