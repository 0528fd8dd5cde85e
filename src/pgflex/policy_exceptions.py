"""``pgflex exceptions``: every policy exception of an environment, with the days it has left.

Read from the spec alone (no Azure call). The result, ``ExceptionsReport``, is the ``pgflex.exceptions`` JSON
document (pgflex/schemas/exceptions.schema.json) and carries the exit code: 1 when any exception has expired
(as ``validate`` would refuse the file), else 0. Exceptions without an end, or ending within
``EXPIRING_SOON_DAYS``, are warnings: they do not change the exit code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from pgflex.exit_codes import ExitCode
from pgflex.spec.expiry import EXPIRING_SOON_DAYS, ExpiryStatus, days_left, expiry_status, plural_days

if TYPE_CHECKING:
    from pathlib import Path

    from pgflex.spec import Environment, SourceLocation

EXCEPTIONS_KIND = "pgflex.exceptions"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class ExceptionEntry:
    """One exception of one server, as of the report's day."""

    server: str
    rule: str
    reason: str
    expires: date | None
    days_left: int | None  # None without an expiry; 0 or less once expired
    status: ExpiryStatus
    waived: str | None  # what it allows on this server today; None when the spec no longer needs it
    origin: SourceLocation  # where the server is written, for a pipeline's annotation

    @property
    def when(self) -> str:
        """The expiry in words: "expires 2027-01-31 (30 days left)", "expired on ... (2 days ago)", "no expiry"."""
        if self.expires is None or self.days_left is None:
            return "no expiry"
        if self.days_left > 0:
            return f"expires {self.expires} ({plural_days(self.days_left)} left)"
        ago = "today" if self.days_left == 0 else f"{plural_days(-self.days_left)} ago"
        return f"expired on {self.expires} ({ago})"

    @property
    def advice(self) -> str:
        """What a person should do now, or "" when nothing."""
        if self.status == "expired":
            return "renew it with a new date and reason, or remove it"
        if self.status == "expiring":
            return f"ends within {EXPIRING_SOON_DAYS} days: renew it or remove what it waives"
        if self.status == "no-expiry":
            return "no end date: give it expires"
        return ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "rule": self.rule,
            "reason": self.reason,
            "expires": self.expires.isoformat() if self.expires else None,
            "daysLeft": self.days_left,
            "status": self.status,
            "waived": self.waived,
        }


@dataclass(frozen=True)
class ExceptionsReport:
    environment: str
    cloud: str
    source: str
    today: date
    exceptions: tuple[ExceptionEntry, ...]

    def with_status(self, status: ExpiryStatus) -> list[ExceptionEntry]:
        return [entry for entry in self.exceptions if entry.status == status]

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.ERROR if self.with_status("expired") else ExitCode.OK

    @property
    def verdict(self) -> str:
        """The summary in words, e.g. "3 exception(s): 1 expired, 1 expiring within 14 days, 1 without expiry"."""
        parts = [
            f"{len(self.with_status('expired'))} expired",
            f"{len(self.with_status('expiring'))} expiring within {EXPIRING_SOON_DAYS} days",
            f"{len(self.with_status('no-expiry'))} without expiry",
        ]
        counted = ", ".join(part for part in parts if not part.startswith("0 "))
        total = f"{len(self.exceptions)} exception(s)"
        return f"{total}: {counted}" if counted else total

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": EXCEPTIONS_KIND,
            "formatVersion": FORMAT_VERSION,
            "environment": self.environment,
            "cloud": self.cloud,
            "source": self.source,
            "today": self.today.isoformat(),
            "exceptions": [entry.to_dict() for entry in self.exceptions],
            "exitCode": int(self.exit_code),
        }


def exceptions_report(env: Environment, today: date | None = None) -> ExceptionsReport:
    """Every policy exception of ``env``, server by server, with its expiry as of ``today`` (default: the
    calendar's). Load ``env`` with ``defer_catalogue=True`` so that expired exceptions do not stop the load."""
    day = today or date.today()
    entries = []
    for server in env.servers:
        waived: dict[str, list[str]] = {}
        for applied in server.applied_exceptions:
            waived.setdefault(applied.rule, []).append(applied.waived)
        for exception in server.exceptions:
            entries.append(
                ExceptionEntry(
                    server=server.name,
                    rule=exception.rule,
                    reason=exception.reason,
                    expires=exception.expires,
                    days_left=days_left(exception, day),
                    status=expiry_status(exception, day),
                    waived="; ".join(waived[exception.rule]) if exception.rule in waived else None,
                    origin=server.origin,
                )
            )
    return ExceptionsReport(env.name, env.cloud, env.source, day, tuple(entries))


def load_exceptions_report(spec: str | Path, today: date | None = None) -> ExceptionsReport:
    """``pgflex exceptions``: load the spec (expired exceptions deferred, not refused) and report."""
    from pgflex.spec import load_spec

    return exceptions_report(load_spec(spec, defer_catalogue=True, today=today), today)
