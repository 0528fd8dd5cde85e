"""What a whole command came to, as data: the outcome of apply (changes, then verification) and of
destroy, and the exit code each result means. The CLI and the library read the same codes from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pgflex.exit_codes import ExitCode

if TYPE_CHECKING:
    from pgflex.engine.apply import ApplyResult
    from pgflex.engine.plan import Plan
    from pgflex.engine.rollout import Wave
    from pgflex.verify.checks import SessionsReport, VerifyReport

ApplyOutcome = Literal["unchanged", "applied", "failed", "refused", "stopped"]
FORMAT_VERSION = 1


def plan_exit_code(plan: Plan, *, detailed: bool) -> ExitCode:
    """``plan``: 1 when the plan has errors, else 0; with ``detailed`` (and for ``drift``) 2 when anything
    would change."""
    if plan.errors:
        return ExitCode.ERROR
    return ExitCode.CHANGES if detailed and plan.has_changes else ExitCode.OK


def report_exit_code(report: VerifyReport | SessionsReport) -> ExitCode:
    return ExitCode.OK if report.passed else ExitCode.ERROR


@dataclass(frozen=True)
class PlanRun:
    """A plan, what applying it did (``result``) and the TLS verification after: what apply and the drift job
    share. The attributes are named like the keys of their JSON documents."""

    plan: Plan
    # None when nothing was applied. Not a key of its own in the JSON: its writes, restarted,
    # pendingRestart and failures are, and so are the properties of the same names.
    result: ApplyResult | None = None
    verify: VerifyReport | None = None  # None with --no-verify, or when nothing was verified

    @property
    def environment(self) -> str:
        return self.plan.environment

    @property
    def cloud(self) -> str:
        return self.plan.cloud

    @property
    def source(self) -> str:
        return self.plan.source

    @property
    def writes(self) -> int:
        return self.result.writes if self.result else 0

    @property
    def restarted(self) -> list[str]:
        return list(self.result.restarted) if self.result else []

    @property
    def pending_restart(self) -> dict[str, list[str]]:
        return dict(self.result.pending_restart) if self.result else {}

    @property
    def untouched(self) -> list[str]:
        """Servers a rollout left alone, their changes not made, because an earlier wave's verification failed."""
        return self.result.untouched if self.result else []

    @property
    def waves(self) -> list[Wave] | None:
        """A rollout's waves (engine/rollout.py); None when every server was applied at once."""
        return self.result.waves if self.result else None

    @property
    def changed(self) -> list[str]:
        """Servers a rollout sent writes to: those of the waves that ran (empty without a rollout)."""
        return [name for wave in self.waves or [] if wave.ran for name in wave.servers]

    def applied_keys(self) -> dict[str, Any]:
        """The keys apply's and the drift job's documents share: what applying did, the plan, what remains after
        it, and the verification."""
        remaining = self.remaining
        return {
            "writes": self.writes,
            "restarted": self.restarted,
            "pendingRestart": self.pending_restart,
            "failures": self.failures,
            "plan": self.plan.to_dict(),
            "remaining": remaining.to_dict() if remaining is not None else None,
            "verify": self.verify.to_dict() if self.verify is not None else None,
        }

    @property
    def failures(self) -> list[str]:
        return list(self.result.failures) if self.result else []

    @property
    def remaining(self) -> Plan | None:
        """The final re-plan, when differences remain after applying."""
        if self.result is None or self.result.converged:
            return None
        final = self.result.final_plan
        return final if final is not None and final.has_changes else None


@dataclass(frozen=True)
class ApplyReport(PlanRun):
    """``pgflex apply`` from start to end: the plan it ran, what applying it did, and the TLS verification."""

    @property
    def failures(self) -> list[str]:
        return list(self.result.failures) if self.result else list(self.plan.errors)

    @property
    def outcome(self) -> ApplyOutcome:
        if self.plan.errors:
            return "refused"
        if self.result is None:
            return "unchanged"
        if self.result.converged:
            return "applied"
        waves = self.result.waves or []
        # Stopped on purpose, by a wave's failed verification, rather than by a write that failed.
        stopped = self.untouched and any(wave.verification == "fail" for wave in waves)
        return "stopped" if stopped else "failed"

    @property
    def exit_code(self) -> ExitCode:
        # A stopped rollout is 1, not 3: 3 promises the apply succeeded, and a stopped one left changes unmade.
        if self.outcome in ("refused", "failed", "stopped"):
            return ExitCode.ERROR
        if self.verify is not None and not self.verify.passed:
            return ExitCode.VERIFY_FAILED
        return ExitCode.OK

    def to_dict(self) -> dict[str, Any]:
        waves = self.waves
        return {
            "kind": "pgflex.apply",
            "formatVersion": FORMAT_VERSION,
            "environment": self.environment,
            "cloud": self.cloud,
            "source": self.source,
            "outcome": self.outcome,
            "exitCode": int(self.exit_code),
            **self.applied_keys(),
            # A rollout's waves, and the servers it wrote to (null without one) and left untouched.
            "waves": [wave.to_dict() for wave in waves] if waves is not None else None,
            "changed": self.changed if waves is not None else None,
            "untouched": self.untouched,
        }


@dataclass(frozen=True)
class DestroyReport:
    environment: str
    cloud: str
    source: str
    deleted: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "pgflex.destroy",
            "formatVersion": FORMAT_VERSION,
            "environment": self.environment,
            "cloud": self.cloud,
            "source": self.source,
            "deleted": list(self.deleted),
            "exitCode": int(self.exit_code),
        }
