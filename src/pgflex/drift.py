"""The drift job: find where the environment differs from its spec and, when asked, repair it and verify TLS.

``pgflex drift [--repair]`` and ``pgflex.api.drift`` both run it: first a read-only plan (``find``), then
``settle`` decides what the drift comes to. Its result, ``DriftReport``, is the ``pgflex.drift`` JSON document
(pgflex/schemas/drift.schema.json) and carries the exit code, from the one table in pgflex.exit_codes:

* 0: the environment matches the spec: nothing drifted, or ``repair`` repaired every difference (and
  verifying TLS afterwards passed). A scheduled job stays green once the drift is gone; that drift was
  there is in the report (``outcome: repaired``, ``repaired``), in the log, and annotated in a pipeline.
* 2: drift remains: found read-only, or differences pgflex cannot repair on its own (the plan's errors:
  a version downgrade, storage that would shrink, ...). With any of those, nothing is repaired at all,
  on any server: a person decides, and a half-repaired environment would hide the rest.
* 1: the repair failed (a write failed, or differences remain after it), or the job could not run.
* 3: repaired (or nothing to repair), but verifying TLS on the live servers failed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pgflex.exit_codes import ExitCode
from pgflex.outcomes import PlanRun

if TYPE_CHECKING:
    from pathlib import Path

    from pgflex.azure.clients import AzureClients
    from pgflex.azure.retry import RetryPolicy
    from pgflex.engine.apply import Progress
    from pgflex.engine.plan import Change, Plan
    from pgflex.spec import Environment

DRIFT_KIND = "pgflex.drift"
FORMAT_VERSION = 1
DriftOutcome = Literal["none", "drifted", "unrepairable", "repaired", "failed"]


@dataclass(frozen=True)
class Difference:
    """One pending change of the plan, with the server it belongs to (None: the environment's network)."""

    server: str | None
    kind: str
    name: str
    action: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.server}: " if self.server else ""
        return f"{where}{self.kind} {self.name}: {self.action} ({self.reason})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "kind": self.kind,
            "name": self.name,
            "action": self.action,
            "reason": self.reason,
        }


def differences(plan: Plan) -> list[Difference]:
    def entry(server: str | None, change: Change) -> Difference:
        return Difference(server, change.kind.value, change.name, change.action.value, change.reason)

    found = [entry(None, change) for change in plan.environment_changes if change.action.value != "no-op"]
    for server in plan.servers:
        found += [entry(server.name, change) for change in server.pending]
    return found


@dataclass(frozen=True)
class DriftReport(PlanRun):
    """What the drift job found (``plan``, before any repair), what repairing it did (``result``) and the TLS
    verification (only after a repair, or with nothing to repair, unless verify=False)."""

    repair: bool = False  # whether repairing was asked for

    @property
    def outcome(self) -> DriftOutcome:
        if self.plan.errors:
            return "unrepairable"
        if not self.plan.has_changes:
            return "none"
        if self.result is None:
            return "drifted"
        return "repaired" if self.result.converged else "failed"

    @property
    def exit_code(self) -> ExitCode:
        outcome = self.outcome
        if outcome in ("unrepairable", "drifted"):
            return ExitCode.CHANGES
        if outcome == "failed":
            return ExitCode.ERROR
        if self.verify is not None and not self.verify.passed:
            return ExitCode.VERIFY_FAILED
        return ExitCode.OK

    @property
    def drift(self) -> list[Difference]:
        """Every difference found, repairable or not (the plan's errors are in ``unrepairable``)."""
        return differences(self.plan)

    @property
    def unrepairable(self) -> list[str]:
        return list(self.plan.errors)

    @property
    def repaired(self) -> list[Difference]:
        return self.drift if self.outcome == "repaired" else []

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": DRIFT_KIND,
            "formatVersion": FORMAT_VERSION,
            "environment": self.environment,
            "cloud": self.cloud,
            "source": self.source,
            "repair": self.repair,
            "outcome": self.outcome,
            "exitCode": int(self.exit_code),
            "drift": [difference.to_dict() for difference in self.drift],
            "unrepairable": self.unrepairable,
            "repaired": [difference.to_dict() for difference in self.repaired],
            **self.applied_keys(),
        }


def find(
    env: Environment,
    clients: AzureClients,
    *,
    parallelism: int = 8,
    verify: bool = True,
    retry: RetryPolicy | None = None,
) -> Plan:
    """The drift, read-only: the plan that would make the environment match its spec."""
    from pgflex.engine.planning import plan_now

    return plan_now(env, clients, parallelism=parallelism, verify=verify, retry=retry)


def settle(
    env: Environment,
    clients: AzureClients,
    found: Plan,
    *,
    repair: bool = False,
    parallelism: int = 4,
    verify: bool = True,
    progress: Progress | None = None,
    retry: RetryPolicy | None = None,
    ca_bundle: str | Path | None = None,
) -> DriftReport:
    """What ``found`` comes to: reported as it is, or (``repair``) applied, then TLS verified as apply does.

    Nothing is applied when the plan has errors (see the module's docstring). Static parameters that drifted
    restart their server once, as ``pgflex apply --restart auto`` does.
    """
    report = DriftReport(found, repair=repair)
    if not repair or found.errors:
        return report
    if found.has_changes:
        from pgflex.engine.apply import apply_plan

        result = apply_plan(
            env,
            clients,
            found,
            parallelism=parallelism,
            verify=verify,
            progress=progress,
            retry=retry,
            check_stale=False,  # made a moment ago, by this job
        )
        report = dataclasses.replace(report, result=result)
    if not verify or report.outcome == "failed":
        return report
    from pgflex.verify import verify as run_verify

    return dataclasses.replace(report, verify=run_verify(env, clients=clients, ca_bundle=ca_bundle))
