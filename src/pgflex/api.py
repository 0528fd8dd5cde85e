"""pgflex as a library: everything a runbook needs, from this one module.

    from pgflex.api import apply, load_spec

    env = load_spec("env.yaml").with_tls(min_version="TLSv1.3")   # validated like the file (SpecError)
    report = apply(env)                   # plan, apply, then verify TLS on the live servers
    sys.exit(report.exit_code)            # the same codes as the CLI (see pgflex.exit_codes)

Results are typed dataclasses whose attributes are named like the keys of their ``to_dict()`` (the CLI's
``-o json`` document: ``report.pending_restart`` is ``pendingRestart``), with an ``exit_code``.

Every failure is a ``PgflexError``: a spec refused is a ``SpecError``, an Azure operation that failed an
``AzureOperationError``, and any other Azure SDK failure (signing in, reaching Resource Manager, the local
emulator not starting) an ``AzureError`` carrying Azure's ``code`` and ``message``, the SDK's exception as
its ``__cause__``.
"""

from __future__ import annotations

import functools
import typing
from typing import TYPE_CHECKING

import pgflex.verify as verification
from pgflex import drift as drift_job
from pgflex.audit.policy import DEFAULT_SOURCE as _DEFAULT_POLICY
from pgflex.audit.policy import AuditPolicy
from pgflex.audit.policy import load_policy as _load_policy
from pgflex.audit.report import AuditReport
from pgflex.audit.run import run_audit as _run_audit
from pgflex.azure import clients as azure_clients
from pgflex.azure.retry import AzureOperationError, RetryPolicy
from pgflex.drift import Difference, DriftReport
from pgflex.engine import api as engine
from pgflex.engine.apply import DEFAULT_LOCK_TIMEOUT_SECONDS as _LOCK_TIMEOUT
from pgflex.engine.apply import ApplyResult, Event, Phase, Progress, RestartMode
from pgflex.engine.plan import Plan
from pgflex.engine.rollout import check_rollout_options as _check_rollout
from pgflex.engine.saved import check_inputs as _check_inputs
from pgflex.engine.saved import recheck as _recheck
from pgflex.engine.tls_impact import ImpactNotAcceptedError
from pgflex.engine.tls_impact import check_accepted as _check_accepted
from pgflex.exit_codes import ExitCode
from pgflex.importer import ImportedEnvironment, ImportResult
from pgflex.importer import import_environment as _import_environment
from pgflex.outcomes import ApplyReport, DestroyReport, plan_exit_code, report_exit_code
from pgflex.spec import Environment, PgflexError, Server, SpecError, SpecIssue, TlsPolicy
from pgflex.spec import load_spec as _load_spec
from pgflex.verify import SessionsReport, VerifyError, VerifyReport
from pgflex.verify.impact import assess as _assess_impact
from pgflex.verify.impact import read_watch_report as _read_watch_report
from pgflex.wave_verification import WaveVerification as _WaveVerification

AzureClients = azure_clients.AzureClients

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

_Params = typing.ParamSpec("_Params")
_Result = typing.TypeVar("_Result")


class AzureError(PgflexError):
    """An Azure SDK failure outside a retried operation: signing in, reaching Resource Manager, starting the
    local emulator. ``code`` is Azure's error code (or the HTTP status, or None when no answer came) and
    ``message`` its message; ``__cause__`` is the SDK's own exception. ``str()`` is one line naming the cause."""

    def __init__(self, description: str, code: str | None, message: str) -> None:
        super().__init__(description)
        self.code = code
        self.message = message


def _as_pgflex_error(error: Exception) -> PgflexError | None:
    from azure.core.exceptions import AzureError as SdkError
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

    from pgflex.azure.credential_errors import describe_authentication_failure
    from pgflex.emulator.daemon import EmulatorStartFailed

    if isinstance(error, EmulatorStartFailed):
        return AzureError(f"cannot start the local emulator: {error}", None, str(error))
    if not isinstance(error, SdkError):
        return None
    code: str | None = None
    message = str(error.message)
    if isinstance(error, HttpResponseError):
        status = None if error.status_code is None else str(error.status_code)  # None: no answer came
        code = error.error.code if error.error and error.error.code else status
        message = error.error.message if error.error and error.error.message else message
    if isinstance(error, ClientAuthenticationError):
        return AzureError(describe_authentication_failure(error), code, message)
    if isinstance(error, HttpResponseError):
        return AzureError(f"Azure refused a request ({code}): {message}", code, message)
    return AzureError(f"cannot reach Azure: {message}", code, message)


def _pgflex_errors_only(function: Callable[_Params, _Result]) -> Callable[_Params, _Result]:
    """The library's promise: whatever fails inside ``function`` reaches the caller as a PgflexError."""

    @functools.wraps(function)
    def call(*args: _Params.args, **kwargs: _Params.kwargs) -> _Result:
        try:
            return function(*args, **kwargs)
        except PgflexError:
            raise
        except Exception as error:
            wrapped = _as_pgflex_error(error)
            if wrapped is None:
                raise  # a bug in pgflex: its traceback is what finds it
            raise wrapped from error

    return call


load_spec = _load_spec
connect = _pgflex_errors_only(azure_clients.connect)
verify = _pgflex_errors_only(verification.verify)
sessions = _pgflex_errors_only(verification.sessions)
# Live servers as env files (`pgflex import`): result.environments[i].text is the file, .issues() what it cannot say.
import_environment = _pgflex_errors_only(_import_environment)


def _environment(spec: Environment | str | Path) -> Environment:
    return spec if isinstance(spec, Environment) else load_spec(spec, defer_catalogue=True)


def _watch_report(env: Environment, impact_from: str | Path | None) -> dict[str, typing.Any] | None:
    from pathlib import Path

    return None if impact_from is None else _read_watch_report(Path(impact_from), env)


@_pgflex_errors_only
def plan(
    spec: Environment | str | Path,
    *,
    clients: AzureClients | None = None,
    parallelism: int = 8,
    verify: bool = True,
    retry: RetryPolicy | None = None,
    impact_from: str | Path | None = None,
    ca_bundle: str | Path | None = None,
) -> Plan:
    """What apply would change (read-only), as ``pgflex plan``: each change that tightens TLS carries its
    ``impact``, the clients it would refuse (seen connected now, or in the ``impact_from`` watch report)."""
    env = _environment(spec)
    clients = clients or connect(env.cloud, env.subscription)
    made = engine.plan(env, clients=clients, parallelism=parallelism, verify=verify, retry=retry)
    watched = _watch_report(env, impact_from)
    return _assess_impact(env, made, clients=clients, ca_bundle=ca_bundle, watch_report=watched)


@_pgflex_errors_only
def drift(
    spec: Environment | str | Path,
    *,
    repair: bool = False,
    clients: AzureClients | None = None,
    parallelism: int = 8,
    verify: bool = True,
    progress: Progress | None = None,
    retry: RetryPolicy | None = None,
    ca_bundle: str | Path | None = None,
) -> DriftReport:
    """Where the environment differs from the spec (read-only), and with ``repair`` the repair: the spec
    applied (no question asked), then TLS verified as apply does; ``pgflex drift [--repair]`` exactly.

    ``report.exit_code``: 0 no drift, or all of it repaired (and verified); 2 drift remains (read-only, or
    differences that cannot be repaired automatically: then nothing is repaired); 1 the repair failed; 3
    verifying TLS after the repair failed. ``verify=False`` neither plans sslinfo nor verifies.
    """
    env = _environment(spec)
    clients = clients or connect(env.cloud, env.subscription)
    found = drift_job.find(env, clients, parallelism=parallelism, verify=verify, retry=retry)
    return drift_job.settle(
        env,
        clients,
        found,
        repair=repair,
        parallelism=parallelism,
        verify=verify,
        progress=progress,
        retry=retry,
        ca_bundle=ca_bundle,
    )


@_pgflex_errors_only
def apply(
    spec: Environment | str | Path,
    *,
    saved_plan: Plan | None = None,
    clients: AzureClients | None = None,
    restart: RestartMode = "auto",
    parallelism: int = 4,
    verify: bool = True,
    progress: Progress | None = None,
    retry: RetryPolicy | None = None,
    lock_timeout: float = _LOCK_TIMEOUT,
    ca_bundle: str | Path | None = None,
    canary: int | None = None,
    wave_size: int | None = None,
    accept_impact: bool = False,
    impact_from: str | Path | None = None,
) -> ApplyReport:
    """Converge the environment to the spec (or run ``saved_plan``, refused when stale), then, with ``verify``
    (the default), verify TLS on the live servers, as ``pgflex apply`` does. A plan with errors is refused
    before any write; verification runs only after a successful apply, and its failure is
    ``ExitCode.VERIFY_FAILED``, not an apply failure. ``verify=False`` is ``--no-verify``. A change that tightens
    TLS and would refuse clients (or whose impact nobody could see) raises ``ImpactNotAcceptedError`` before any
    write unless ``accept_impact``; ``impact_from`` judges it against a ``pgflex sessions --watch`` report.

    ``canary``, ``wave_size`` (``--canary``, ``--wave-size``): apply the first ``canary`` servers the plan changes
    (spec order), verify them, then waves of ``wave_size``, each verified before the next; the first failed
    verification stops the rollout (``outcome == "stopped"``, exit 1) and ``report.untouched`` names the servers
    left alone."""
    env = _environment(spec)
    in_waves = _check_rollout(canary, wave_size, verify=verify)  # before any request
    if saved_plan is not None:
        _check_inputs(saved_plan, env)  # another pgflex version, or a spec changed since: refused before any request
    clients = clients or connect(env.cloud, env.subscription)
    if saved_plan is not None:
        # Never trusted for values: refused unless the plan made again now is the same; that one runs and is reported.
        to_run = _recheck(env, clients, saved_plan, parallelism=parallelism, retry=retry)
    else:
        to_run = engine.plan(env, clients=clients, parallelism=parallelism, verify=verify, retry=retry)
    if to_run.errors:
        return ApplyReport(to_run)
    watched = _watch_report(env, impact_from)
    to_run = _assess_impact(env, to_run, clients=clients, ca_bundle=ca_bundle, watch_report=watched)
    _check_accepted(to_run, accept_impact=accept_impact)  # ImpactNotAcceptedError, before any write
    result: ApplyResult | None = None
    waves = _WaveVerification(env, clients, ca_bundle) if in_waves else None
    if to_run.has_changes:
        result = engine.apply(
            env,
            saved_plan=to_run,
            clients=clients,
            restart=restart,
            parallelism=parallelism,
            verify=verify,
            progress=progress,
            retry=retry,
            check_stale=saved_plan is not None,
            lock_timeout=lock_timeout,
            rollout=waves.rollout(canary, wave_size) if waves is not None else None,
        )
    if waves is not None and result is not None:
        return ApplyReport(to_run, result, waves.report(result))  # each wave was verified as it ran
    report = ApplyReport(to_run, result)
    if not verify or report.outcome == "failed":
        return report
    return ApplyReport(to_run, result, verification.verify(env, clients=clients, ca_bundle=ca_bundle))


@_pgflex_errors_only
def destroy(
    spec: Environment | str | Path,
    *,
    clients: AzureClients | None = None,
    progress: Progress | None = None,
    retry: RetryPolicy | None = None,
    lock_timeout: float = _LOCK_TIMEOUT,
) -> DestroyReport:
    """Delete the spec's servers and the network objects it created; the resource group stays."""
    env = _environment(spec)
    deleted = engine.destroy(env, clients=clients, progress=progress, retry=retry, lock_timeout=lock_timeout)
    return DestroyReport(env.name, env.cloud, env.source, deleted)


@_pgflex_errors_only
def audit(
    subscriptions: Sequence[str] = (),
    *,
    cloud: str = "local",
    policy: AuditPolicy | str | Path | None = None,
    parallelism: int = 8,
    progress: Progress | None = None,
    retry: RetryPolicy | None = None,
) -> AuditReport:
    """The TLS posture of every Flexible Server in ``subscriptions`` (every one the identity can list when empty)
    judged against ``policy`` (a YAML file, validated before any request, or an ``AuditPolicy``; default: what
    pgflex enforces), as ``pgflex audit``. ``report.exit_code``: 0 compliant, 2 findings, 1 a read failed."""
    if isinstance(policy, AuditPolicy) or policy is None:
        judged_by, source = policy, _DEFAULT_POLICY if policy is None else "AuditPolicy given to pgflex.api.audit"
    else:
        judged_by, source = _load_policy(policy), str(policy)
    return _run_audit(
        subscriptions,
        cloud=cloud,
        policy=judged_by,
        policy_source=source,
        parallelism=parallelism,
        retry=retry,
        progress=progress,
    )


__all__ = [
    "ApplyReport",
    "ApplyResult",
    "AuditPolicy",
    "AuditReport",
    "AzureClients",
    "AzureError",
    "AzureOperationError",
    "DestroyReport",
    "Difference",
    "DriftReport",
    "Environment",
    "Event",
    "ExitCode",
    "ImpactNotAcceptedError",
    "ImportResult",
    "ImportedEnvironment",
    "PgflexError",
    "Phase",
    "Plan",
    "Progress",
    "RestartMode",
    "RetryPolicy",
    "Server",
    "SessionsReport",
    "SpecError",
    "SpecIssue",
    "TlsPolicy",
    "VerifyError",
    "VerifyReport",
    "apply",
    "audit",
    "connect",
    "destroy",
    "drift",
    "import_environment",
    "load_spec",
    "plan",
    "plan_exit_code",
    "report_exit_code",
    "sessions",
    "verify",
]
