"""``pgflex apply`` and ``pgflex destroy``."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from .common import EXIT_ERROR, EXIT_OK, fail, reported_errors


class RestartChoice(StrEnum):
    auto = "auto"
    never = "never"


def _confirm(question: str, auto_approve: bool) -> None:
    if auto_approve:
        return
    if not sys.stdin.isatty():
        raise fail("no terminal to confirm on: pass --auto-approve to apply without asking")
    if not typer.confirm(question, default=False):
        typer.echo("nothing done")
        raise typer.Exit(EXIT_OK)


def apply(
    target: Path = typer.Argument(..., help="env.yaml, or a plan saved with `pgflex plan --out`.", show_default=False),
    spec: Path | None = typer.Option(
        None, "--spec", help="The env.yaml a saved plan was made from (default: as recorded)."
    ),
    auto_approve: bool = typer.Option(False, "--auto-approve", help="Apply without asking (pipelines)."),
    restart: RestartChoice = typer.Option(
        RestartChoice.auto,
        "--restart",
        help="auto: one restart per server when static parameters changed; never: leave them pending.",
    ),
    parallelism: int = typer.Option(4, "--parallelism", min=1, max=64, help="Servers changed at once."),
    verify: bool = typer.Option(
        True, "--verify/--no-verify", help="Verify TLS on the live servers afterwards (and keep sslinfo allow-listed)."
    ),
) -> None:
    """Converge the environment to the spec: one write at a time per server, at most one restart each."""
    from rich.console import Console

    from pgflex.azure.clients import connect
    from pgflex.engine.apply import apply_plan
    from pgflex.engine.plan import Plan
    from pgflex.engine.planning import plan_now
    from pgflex.render.plan_view import render_plan
    from pgflex.render.progress import progress_display
    from pgflex.spec import load_spec

    console = Console()
    with reported_errors():
        saved: Plan | None = None
        if target.suffix == ".json":
            try:
                saved = Plan.from_dict(json.loads(target.read_text()))
            except (OSError, ValueError, KeyError) as error:
                raise fail(f"{target}: not a pgflex plan: {error}") from None
            env = load_spec(spec or saved.source)
        else:
            env = load_spec(target)
        clients = connect(env.cloud, env.subscription)
        to_run = saved or plan_now(env, clients, parallelism=parallelism, verify=verify)
        render_plan(to_run, console)
        if not to_run.has_changes:
            if verify:
                _verify_after_apply(env, clients, console)
            raise typer.Exit(EXIT_OK)
        if to_run.errors:
            raise typer.Exit(EXIT_ERROR)
        _confirm("Apply these changes?", auto_approve or (saved is not None and auto_approve))
        with progress_display(console) as progress:
            result = apply_plan(
                env,
                clients,
                to_run,
                restart=restart.value,
                parallelism=parallelism,
                verify=verify,
                progress=progress,
                # Someone may have changed the world while a person read the plan, or since it was saved.
                check_stale=saved is not None or not auto_approve,
            )
    for name, parameters in result.pending_restart.items():
        console.print(f"[magenta]{name}: {', '.join(parameters)} take effect at the next restart (--restart never)[/]")
    if result.restarted:
        console.print(f"restarted once: {', '.join(result.restarted)}")
    if not result.converged:
        for failure in result.failures:
            console.print(f"[bold red]error:[/] {failure}")
        if result.final_plan is not None and result.final_plan.has_changes and not result.failures:
            console.print("[bold red]error:[/] the environment still differs after apply:")
            render_plan(result.final_plan, console)
        raise typer.Exit(EXIT_ERROR)
    console.print(f"[bold green]Apply complete:[/] {result.writes} write request(s); the environment matches the spec.")
    if verify:
        _verify_after_apply(env, clients, console)


def _verify_after_apply(env: Any, clients: Any, console: Any) -> None:
    """The last step of apply: prove TLS on the live servers (skipped with --no-verify)."""
    from pgflex.render.verify_view import render_verify
    from pgflex.verify import verify as run_verify

    with reported_errors():
        report = run_verify(env, clients=clients)
    render_verify(report, console)
    if not report.passed:
        raise typer.Exit(EXIT_ERROR)


def destroy(
    spec: Path = typer.Argument(..., help="The environment file (env.yaml).", show_default=False),
    auto_approve: bool = typer.Option(False, "--auto-approve", help="Delete without asking."),
) -> None:
    """Delete the spec's servers and the network objects pgflex created (asks first)."""
    from rich.console import Console

    from pgflex.azure.clients import connect
    from pgflex.engine.destroy import destroy_environment
    from pgflex.render.progress import progress_display
    from pgflex.spec import load_spec

    console = Console()
    with reported_errors():
        env = load_spec(spec)
        names = ", ".join(s.name for s in env.servers)
        _confirm(f"Delete servers {names} and their data in {env.resource_group}?", auto_approve)
        clients = connect(env.cloud, env.subscription)
        with progress_display(console) as progress:
            deleted = destroy_environment(env, clients, progress=progress)
    console.print(f"deleted: {', '.join(deleted) if deleted else 'nothing (already gone)'}")
