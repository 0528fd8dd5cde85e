"""pgflex as a library: everything a runbook needs, from this one module.

    from pgflex.api import ExitCode, apply, drift, load_spec, verify

    report = apply("env.yaml")            # plan, apply, then verify TLS on the live servers
    sys.exit(report.exit_code)            # the same codes as the CLI (see pgflex.exit_codes)

Results are data with a ``to_dict()`` (the CLI's ``-o json``) and an ``exit_code``-giving outcome.
Errors pgflex raises on purpose derive from ``PgflexError``; the Azure SDK's own errors pass through.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pgflex.azure.clients import AzureClients, connect
from pgflex.azure.retry import RetryPolicy
from pgflex.engine import api as engine
from pgflex.engine.apply import DEFAULT_LOCK_TIMEOUT_SECONDS, ApplyResult, Event, Phase, Progress, RestartMode
from pgflex.engine.plan import Plan
from pgflex.exit_codes import ExitCode
from pgflex.outcomes import ApplyReport, DestroyReport, plan_exit_code, report_exit_code
from pgflex.spec import Environment, PgflexError, SpecError, SpecIssue, load_spec
from pgflex.verify import SessionsReport, VerifyError, VerifyReport, sessions, verify

if TYPE_CHECKING:
    from pathlib import Path

plan = engine.plan
drift = engine.drift


def apply(
    spec: Environment | str | Path,
    *,
    saved_plan: Plan | None = None,
    clients: AzureClients | None = None,
    restart: RestartMode = "auto",
    parallelism: int = 4,
    verify_tls: bool = True,
    progress: Progress | None = None,
    retry: RetryPolicy | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS,
) -> ApplyReport:
    """Converge the environment to the spec (or run ``saved_plan``, refused when stale), then verify TLS on
    the live servers. A plan with errors is refused before any write; verification runs only after a
    successful apply, and its failure is ``ExitCode.VERIFY_FAILED``, not an apply failure."""
    env = spec if isinstance(spec, Environment) else load_spec(spec)
    clients = clients or connect(env.cloud, env.subscription)
    to_run = saved_plan or engine.plan(env, clients=clients, parallelism=parallelism, verify=verify_tls, retry=retry)
    if to_run.errors:
        return ApplyReport(to_run)
    result: ApplyResult | None = None
    if to_run.has_changes:
        result = engine.apply(
            env,
            saved_plan=to_run,
            clients=clients,
            restart=restart,
            parallelism=parallelism,
            verify=verify_tls,
            progress=progress,
            retry=retry,
            check_stale=saved_plan is not None,
            lock_timeout=lock_timeout,
        )
    report = ApplyReport(to_run, result)
    if not verify_tls or report.outcome == "failed":
        return report
    return ApplyReport(to_run, result, verify(env, clients=clients))


def destroy(
    spec: Environment | str | Path,
    *,
    clients: AzureClients | None = None,
    progress: Progress | None = None,
    retry: RetryPolicy | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS,
) -> DestroyReport:
    """Delete the spec's servers and the network objects it created; the resource group stays."""
    env = spec if isinstance(spec, Environment) else load_spec(spec)
    deleted = engine.destroy(env, clients=clients, progress=progress, retry=retry, lock_timeout=lock_timeout)
    return DestroyReport(env.name, env.cloud, env.source, deleted)


__all__ = [
    "ApplyReport",
    "ApplyResult",
    "AzureClients",
    "DestroyReport",
    "Environment",
    "Event",
    "ExitCode",
    "PgflexError",
    "Phase",
    "Plan",
    "Progress",
    "RestartMode",
    "RetryPolicy",
    "SessionsReport",
    "SpecError",
    "SpecIssue",
    "VerifyError",
    "VerifyReport",
    "apply",
    "connect",
    "destroy",
    "drift",
    "load_spec",
    "plan",
    "plan_exit_code",
    "report_exit_code",
    "sessions",
    "verify",
]
