"""``pgflex apply`` and ``pgflex destroy``."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from .common import EXIT_OK, fail, reported_errors, write_atomically
from .impact import AcceptImpactOption, ImpactFromOption, assess_impact, gate_impact
from .output import Display, Output
from .plan import OutputOption
from .verify import CaBundleOption

if TYPE_CHECKING:
    from pgflex.outcomes import ApplyReport


class RestartChoice(StrEnum):
    auto = "auto"
    never = "never"


def _confirm(question: str, auto_approve: bool, display: Display) -> None:
    if auto_approve:
        return
    if not sys.stdin.isatty():
        raise fail("no terminal to confirm on: pass --auto-approve to apply without asking", json_output=display.json)
    if not typer.confirm(question, default=False, err=display.json):
        display.note("nothing done")
        raise typer.Exit(EXIT_OK)


# Seconds to wait for another apply's or destroy's lease on the environment (pgflex.engine.lease).
LockTimeoutOption = typer.Option(
    300.0, "--lock-timeout", min=0.0, help="Seconds to wait while another apply or destroy runs (0: fail at once)."
)

# Rollout in waves (pgflex.engine.rollout): checked by pgflex itself, so that 0 or -1 is one line and exit 1.
CanaryOption = typer.Option(
    None, "--canary", help="Apply the first N servers the plan changes, verify them, then the rest (in waves)."
)
WaveSizeOption = typer.Option(
    None, "--wave-size", help="After the canary, apply M servers at a time, each wave verified before the next."
)

# A saved plan is a few kilobytes per server; anything this large is not one, and is not read whole.
MAX_PLAN_BYTES = 16 * 1024 * 1024


def _load_saved_plan(target: Path, display: Display) -> Any:
    """The plan saved in `target`; anything else is one line naming the file, and exit 1."""
    import json
    import os

    from pgflex.engine.plan import Plan, PlanVersionError

    def refuse(reason: str) -> typer.Exit:
        return fail(f"{target}: not a pgflex plan: {reason}", json_output=display.json)

    try:
        with target.open("rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            data = b"" if size > MAX_PLAN_BYTES else stream.read(MAX_PLAN_BYTES + 1)
    except OSError as error:
        raise fail(f"{target}: cannot read the plan: {error.strerror or error}", json_output=display.json) from None
    if size > MAX_PLAN_BYTES or len(data) > MAX_PLAN_BYTES:
        raise refuse(f"the file is larger than {MAX_PLAN_BYTES // (1024 * 1024)} MiB")
    try:
        document = json.loads(data)
    except RecursionError:
        raise refuse("the JSON nests too deeply") from None
    except ValueError as error:  # JSONDecodeError, bytes that are not UTF-8, an integer too long to read
        raise refuse(f"not JSON ({error})") from None
    try:
        return Plan.from_dict(document)
    except PlanVersionError as error:  # a pgflex plan, of another format
        raise fail(f"{target}: {error}", json_output=display.json) from None
    except ValueError as error:  # PlanFormatError, naming the key at fault
        raise refuse(str(error)) from None


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
    output: Output = OutputOption,
    junit: Path | None = typer.Option(None, "--junit", help="Write the verification's JUnit XML report here."),
    ca_bundle: Path | None = CaBundleOption,
    lock_timeout: float = LockTimeoutOption,
    canary: int | None = CanaryOption,
    wave_size: int | None = WaveSizeOption,
    accept_impact: bool = AcceptImpactOption,
    impact_from: Path | None = ImpactFromOption,
) -> None:
    """Converge the environment to the spec (one write at a time per server, at most one restart each), then
    verify TLS on the live servers. Exit 0 done, 1 error (nothing or not everything applied), 3 applied but
    verification failed."""
    from pgflex.azure.clients import connect
    from pgflex.engine.apply import ApplyResult, apply_plan
    from pgflex.engine.planning import plan_now
    from pgflex.outcomes import ApplyReport
    from pgflex.spec import load_spec

    display = Display(output)
    with reported_errors(json_output=display.json):
        from pgflex.engine.rollout import check_rollout_options

        in_waves = check_rollout_options(canary, wave_size, verify=verify)  # before any request
        if verify and ca_bundle is not None:
            from pgflex.verify.trust import check_ca_bundle

            check_ca_bundle(ca_bundle)  # an unusable bundle is found before the writes, not after
        saved = _load_saved_plan(target, display) if target.suffix == ".json" else None
        if saved is not None:
            # Bound to its inputs and never trusted for values (pgflex.engine.saved): another pgflex version or a
            # changed spec is refused before any request; then the plan is made again from the spec and the live
            # state, and refused unless it is the same. What runs and what is shown is that plan, not the file's.
            from pgflex.engine.saved import check_inputs, check_version, recheck

            check_version(saved, label=str(target))
            env = load_spec(spec or saved.source, defer_catalogue=True)
            check_inputs(saved, env, label=str(target))
            clients = connect(env.cloud, env.subscription)
            to_run = recheck(env, clients, saved, label=str(target), parallelism=parallelism)
        else:
            env = load_spec(target, defer_catalogue=True)
            clients = connect(env.cloud, env.subscription)
            to_run = plan_now(env, clients, parallelism=parallelism, verify=verify)
        to_run = assess_impact(env, to_run, clients, impact_from=impact_from, ca_bundle=ca_bundle)
        display.plan(to_run, document=False)
        result: ApplyResult | None = None
        from pgflex.wave_verification import WaveVerification

        waves = WaveVerification(env, clients, ca_bundle) if in_waves else None
        if to_run.has_changes and not to_run.errors:
            gate_impact(to_run, accept_impact=accept_impact, auto_approve=auto_approve, display=display)
            _confirm("Apply these changes?", auto_approve, display)
            with display.progress() as progress:
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
                    lock_timeout=lock_timeout,
                    rollout=waves.rollout(canary, wave_size) if waves is not None else None,
                )
        report = ApplyReport(to_run, result)
        if waves is not None and result is not None:
            report = ApplyReport(to_run, result, waves.report(result))  # each wave was verified as it ran
        _tell_apply(report, display)
        if report.verify is None and verify and report.outcome in ("applied", "unchanged"):
            from pgflex.verify import verify as run_verify

            report = ApplyReport(to_run, result, run_verify(env, clients=clients, ca_bundle=ca_bundle))
        if report.verify is not None:
            if junit is not None:
                from pgflex.render.verify_view import to_junit

                write_atomically(junit, to_junit(report.verify))
            display.verify(report.verify, document=False)
    _finish(report, display)


def _tell_apply(report: ApplyReport, display: Display) -> None:
    result = report.result
    if report.outcome == "refused":
        display.note("error: the plan has errors; nothing was applied", "bold red")
        return
    if result is None:
        return
    for name, parameters in result.pending_restart.items():
        display.note(f"{name}: {', '.join(parameters)} take effect at the next restart (--restart never)", "magenta")
    if result.restarted:
        display.note(f"restarted once: {', '.join(result.restarted)}")
    for failure in result.failures:
        display.note(f"error: {failure}", "bold red")
    if result.waves is not None:
        changed, untouched = ", ".join(report.changed) or "none", ", ".join(report.untouched) or "none"
        display.note(f"rollout: {len(result.waves)} wave(s); changed: {changed}; left untouched: {untouched}")
    remaining = report.remaining
    if remaining is not None and not result.failures:
        display.note("error: the environment still differs after apply:", "bold red")
        display.plan(remaining, document=False)
    if report.outcome == "applied":
        done = f"Apply complete: {result.writes} write request(s)"
        if result.pending_restart:
            # Not "matches the spec": the next plan shows the restart still to do.
            pending = "; ".join(
                f"{len(parameters)} static parameter change(s) pending a restart on {name}"
                for name, parameters in result.pending_restart.items()
            )
            advice = "restart the server(s), or apply again with --restart auto"
            display.note(f"{done}; applied; {pending} (--restart never: {advice}).", "bold yellow")
        else:
            display.note(f"{done}; the environment matches the spec.", "bold green")


def _finish(report: ApplyReport, display: Display) -> None:
    if display.json:
        display.document(report.to_dict())
    elif report.exit_code == 3:
        display.note("apply succeeded, but TLS verification failed (exit 3)", "bold red")
    raise typer.Exit(report.exit_code)


def destroy(
    spec: Path = typer.Argument(..., help="The environment file (env.yaml).", show_default=False),
    auto_approve: bool = typer.Option(False, "--auto-approve", help="Delete without asking."),
    output: Output = OutputOption,
    lock_timeout: float = LockTimeoutOption,
) -> None:
    """Delete the spec's servers and the network objects pgflex created (asks first)."""
    from pgflex.azure.clients import connect
    from pgflex.engine.destroy import destroy_environment
    from pgflex.outcomes import DestroyReport
    from pgflex.spec import load_spec

    display = Display(output)
    with reported_errors(json_output=display.json):
        env = load_spec(spec)
        names = ", ".join(s.name for s in env.servers)
        _confirm(f"Delete servers {names} and their data in {env.resource_group}?", auto_approve, display)
        clients = connect(env.cloud, env.subscription)
        with display.progress() as progress:
            deleted = destroy_environment(env, clients, progress=progress, lock_timeout=lock_timeout)
    report = DestroyReport(env.name, env.cloud, env.source, deleted)
    if display.json:
        display.document(report.to_dict())
    else:
        if deleted:
            display.note(f"deleted: {', '.join(deleted)}")
        else:  # never created, or destroyed before: not an error
            where = f"resource group {env.resource_group}"
            display.note(f"nothing to delete: none of the spec's servers or network objects exist in {where}")
    raise typer.Exit(report.exit_code)
