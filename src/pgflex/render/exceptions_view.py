"""``pgflex exceptions`` for people, logs and pipelines: a table, one line per exception, annotations.

Kept light (no engine, no verify): the log line is ``render.log_line.result_line``,
``SERVER exception/RULE STATUS detail``, as for every other result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pgflex.spec.expiry import plural_days

from .ci import Annotation, Level, markdown_table
from .log_line import result_line

if TYPE_CHECKING:
    from rich.console import Console

    from pgflex.policy_exceptions import ExceptionEntry, ExceptionsReport

STYLES = {"expired": "bold red", "expiring": "yellow", "no-expiry": "yellow", "valid": "green"}


def check_name(entry: ExceptionEntry) -> str:
    return f"exception/{entry.rule}"


def entry_detail(entry: ExceptionEntry) -> str:
    """ "expires 2027-01-31 (30 days left); waives minVersion TLSv1.1; reason: ...", with the advice when any."""
    waived = f"waives {entry.waived}" if entry.waived else "waives nothing today"
    parts = [entry.when, waived, f"reason: {entry.reason}"]
    if entry.advice:
        parts.append(entry.advice)
    return "; ".join(" ".join(part.split()) for part in parts)  # one line, whatever the reason held


def days_left_text(entry: ExceptionEntry) -> str:
    """ "30 days", "expired" or "no expiry"."""
    if entry.days_left is None:
        return "no expiry"
    return plural_days(entry.days_left) if entry.days_left > 0 else "expired"


def summary_line(report: ExceptionsReport) -> str:
    return f"exceptions {report.environment}: {report.verdict}"


def exception_lines(report: ExceptionsReport) -> list[str]:
    lines = [exception_line(entry) for entry in report.exceptions]
    return [*lines, summary_line(report)]


def exception_line(entry: ExceptionEntry) -> str:
    return result_line(entry.server, check_name(entry), entry.status, entry_detail(entry))


def render_exceptions(report: ExceptionsReport, console: Console) -> None:
    from rich.table import Table
    from rich.text import Text

    console.print(Text(f"pgflex exceptions for {report.environment} ({report.cloud}), as of {report.today}", "bold"))
    if report.exceptions:
        table = Table()
        for fixed in ("Server", "Rule", "Expires", "Days left"):
            table.add_column(fixed, no_wrap=True)
        table.add_column("Waives")
        table.add_column("Reason")
        for entry in report.exceptions:
            table.add_row(
                entry.server,
                entry.rule,
                str(entry.expires or "-"),
                Text(days_left_text(entry), STYLES[entry.status]),
                entry.waived or "nothing today",
                entry.reason,
            )
        console.print(table)
        for entry in report.exceptions:
            if entry.advice:
                console.print(Text(f"{entry.server} {entry.rule}: {entry.advice}", STYLES[entry.status]))
    style = "bold red" if report.with_status("expired") else "bold"
    console.print(Text(summary_line(report), style))


def exception_annotations(report: ExceptionsReport) -> list[Annotation]:
    """An expired exception is an error; one ending soon, or never, a warning; the rest nothing."""
    found = []
    for entry in report.exceptions:
        if not entry.advice:
            continue
        level: Level = "error" if entry.status == "expired" else "warning"
        origin = entry.origin
        message = f"{entry.server} {check_name(entry)}: {entry_detail(entry)}"
        found.append(Annotation(level, message, "pgflex exceptions", origin.file, origin.line, origin.column))
    return found


def exceptions_summary_markdown(report: ExceptionsReport) -> str:
    heading = f"### pgflex exceptions: {report.environment} ({report.cloud})\n\n"
    rows = [
        [entry.server, entry.rule, entry.status, entry.when, entry.waived or "nothing today", entry.reason]
        for entry in report.exceptions
    ]
    table = markdown_table(["Server", "Rule", "Status", "Expiry", "Waives", "Reason"], rows)
    return heading + table + f"\n**{report.verdict}**\n"
