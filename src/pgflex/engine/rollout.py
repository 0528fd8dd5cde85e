"""Apply in waves: the first ``canary`` servers, then waves of ``wave_size``, each verified before the next starts.

A TLS change that breaks clients should break as few servers as possible. So the servers the plan changes are
split, in the spec's order, into a canary wave and waves of a fixed size. Environment-level changes (resource
group, virtual networks, subnets, DNS zones and links) go first: every server may need them. Each wave is applied
(its servers in parallel, as a whole apply does), then verified; the first wave whose writes fail or whose
verification fails stops the rollout, and every later wave stays untouched: not one request is sent for it.

The engine never imports verify: the caller (pgflex.api, the CLI) passes the verification as ``verify_wave``.
The whole rollout runs inside one apply, so the environment's lease is held from the first write to the last
wave's verification.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from pgflex.spec import PgflexError

from .plan import Plan

if TYPE_CHECKING:
    from .apply import Applier, ApplyResult

# The scope of the rollout's own progress events: "rollout: wave 2/3: srv-a, srv-b: started".
ROLLOUT_SCOPE = "rollout"

# Given the names of one wave's servers, verify them on the live servers; True when every check passed.
VerifyWave = Callable[[Sequence[str]], bool]
Verification = Literal["pass", "fail", "notRun"]


class RolloutError(PgflexError):
    """A rollout that cannot be run as asked (a canary or wave size below 1, waves without verification)."""


@dataclass(frozen=True)
class Rollout:
    """How to pace an apply. ``canary`` alone: the rest in one wave; ``wave_size`` alone: every wave that size."""

    verify_wave: VerifyWave
    canary: int | None = None
    wave_size: int | None = None

    def __post_init__(self) -> None:
        for flag, value in (("--canary", self.canary), ("--wave-size", self.wave_size)):
            if value is not None and value < 1:
                raise RolloutError(f"{flag} must be at least 1 server (got {value})")
        if self.canary is None and self.wave_size is None:
            raise RolloutError("a rollout needs --canary or --wave-size")

    def waves(self, names: Sequence[str]) -> list[tuple[str, ...]]:
        """``names`` (in the spec's order) split into the canary wave and the waves after it."""
        canary = self.canary if self.canary is not None else self.wave_size
        assert canary is not None  # __post_init__: one of the two is set
        rest = list(names[canary:])
        size = self.wave_size or max(1, len(rest))
        waves = [tuple(names[:canary])] if names else []
        waves += [tuple(rest[start : start + size]) for start in range(0, len(rest), size)]
        return waves


def check_rollout_options(canary: int | None, wave_size: int | None, *, verify: bool) -> bool:
    """Whether a rollout was asked for; bad values are one clear RolloutError, before any request."""
    if canary is None and wave_size is None:
        return False
    Rollout(lambda names: True, canary, wave_size)  # validates the numbers
    if not verify:
        raise RolloutError("--canary and --wave-size verify each wave before the next: they need verification on")
    return True


@dataclass
class Wave:
    number: int
    servers: tuple[str, ...]
    applied: bool = False  # every change of its servers was made
    verification: Verification = "notRun"
    ran: bool = False  # its writes were sent (all, or up to a failure)

    def to_dict(self) -> dict[str, Any]:
        return {
            "wave": self.number,
            "servers": list(self.servers),
            "applied": self.applied,
            "verification": self.verification,
        }


def label(wave: Wave, total: int) -> str:
    return f"wave {wave.number}/{total}: {', '.join(wave.servers)}"


def parse_label(operation: str) -> tuple[str, list[str]] | None:
    """``("2/3", ["srv-a", "srv-b"])`` from a rollout event's operation (``label``), so a view can show each
    server's wave; None for anything else."""
    head, _, names = operation.partition(": ")
    if not head.startswith("wave ") or not names:
        return None
    return head.removeprefix("wave "), names.split(", ")


def run_waves(applier: Applier, plan: Plan, passwords: dict[str, str], rollout: Rollout) -> ApplyResult:
    from .apply import ApplyResult, Event, Phase  # apply.py imports this module for its hook

    result = ApplyResult(plan=plan)
    writes_before = applier.clients.counter.writes
    applier.apply_environment(plan)
    pending = {server.name: server for server in plan.servers if server.pending}
    order = [server.name for server in applier.env.servers if server.name in pending]
    result.waves = [Wave(index + 1, names) for index, names in enumerate(rollout.waves(order))]
    total = len(result.waves)
    progress = applier.progress
    for wave in result.waves:  # the whole schedule first: the log says up front which servers go when
        progress(Event(ROLLOUT_SCOPE, label(wave, total), Phase.NOTE, "queued"))
    for wave in result.waves:
        progress(Event(ROLLOUT_SCOPE, label(wave, total), Phase.STARTED))
        wave.ran = True
        failures = applier.apply_servers([pending[name] for name in wave.servers], passwords, result)
        wave.applied = not failures
        if failures:
            result.failures.extend(failures)
            progress(Event(ROLLOUT_SCOPE, label(wave, total), Phase.FAILED, "writes failed; later waves untouched"))
            break
        progress(Event(ROLLOUT_SCOPE, label(wave, total), Phase.NOTE, "applied; verifying"))
        wave.verification = "pass" if rollout.verify_wave(wave.servers) else "fail"
        if wave.verification == "fail":
            progress(Event(ROLLOUT_SCOPE, label(wave, total), Phase.FAILED, "verification failed; rollout stopped"))
            break
        progress(Event(ROLLOUT_SCOPE, label(wave, total), Phase.DONE, "applied and verified"))
    untouched = result.untouched
    if untouched:
        stopped = next(wave for wave in reversed(result.waves) if wave.ran)
        why = "verification failed" if stopped.applied else "writes failed"
        result.failures.append(
            f"rollout stopped at {label(stopped, total)} ({why}); left untouched: {', '.join(untouched)}"
        )
        progress(Event(ROLLOUT_SCOPE, "untouched", Phase.NOTE, ", ".join(untouched)))
    result.writes = applier.clients.counter.writes - writes_before
    return result


def without_untouched(plan: Plan, untouched: Sequence[str]) -> Plan:
    """The plan with the servers of waves that never ran left out: that they still differ is expected."""
    if not untouched:
        return plan
    left_out = set(untouched)
    return replace(plan, servers=tuple(server for server in plan.servers if server.name not in left_out))
