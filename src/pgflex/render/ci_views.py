"""What pgflex tells a pipeline about each result: annotations and step-summary Markdown."""

from __future__ import annotations

from pgflex.engine.plan import Action, Plan
from pgflex.verify.checks import SessionsReport, VerifyReport

from .ci import Annotation, Level, markdown_table
from .lines import ENVIRONMENT_SCOPE, change_check, change_detail, plan_verdict


def plan_annotations(plan: Plan, *, drift: bool) -> list[Annotation]:
    """Drift is a warning (someone changed the world); a planned change is a notice; a plan error an error."""
    title = "pgflex drift" if drift else "pgflex plan"
    found = [Annotation("error", error, title=title) for error in plan.errors]
    level: Level = "warning" if drift else "notice"
    scoped = [(ENVIRONMENT_SCOPE, c) for c in plan.environment_changes if c.action is not Action.NOOP]
    scoped += [(server.name, c) for server in plan.servers for c in server.pending]
    for scope, change in scoped:
        message = f"{change.action.value} {change_check(change)}: {change_detail(change)}"
        found.append(Annotation(level, message, title=f"{title}: {scope}"))
    return found


def plan_summary_markdown(plan: Plan, *, drift: bool) -> str:
    heading = f"### pgflex {'drift' if drift else 'plan'}: {plan.environment} ({plan.cloud})\n\n"
    rows = [[ENVIRONMENT_SCOPE, change_check(c), c.action.value, change_detail(c)] for c in plan.environment_changes]
    rows = [row for row, c in zip(rows, plan.environment_changes, strict=True) if c.action is not Action.NOOP]
    for server in plan.servers:
        pending = server.pending
        rows += [[server.name, change_check(c), c.action.value, change_detail(c)] for c in pending]
        if not pending:
            rows.append([server.name, "plan", "ok", "up to date"])
    rows += [[ENVIRONMENT_SCOPE, "plan", "error", error] for error in plan.errors]
    verdict = plan_verdict(plan)
    return heading + markdown_table(["Server", "Change", "Action", "Detail"], rows) + f"\n**{verdict}**\n"


def verify_annotations(report: VerifyReport) -> list[Annotation]:
    found = []
    for check in report.checks:
        if check.status == "pass":
            continue
        level: Level = "warning" if check.status == "warn" else "error"
        found.append(
            Annotation(level, f"{check.name} {check.status}: {check.detail}", title=f"pgflex verify: {check.server}")
        )
    return found


def verify_summary_markdown(report: VerifyReport) -> str:
    heading = f"### pgflex verify: {report.environment} ({report.cloud})\n\n"
    rows = [[c.server, c.name, c.status.upper(), c.detail] for c in report.checks]
    counts = ", ".join(f"{count} {status}" for status, count in report.counts().items() if count)
    verdict = f"**{'PASSED' if report.passed else 'FAILED'}** ({counts or 'no checks'})"
    return heading + markdown_table(["Server", "Check", "Status", "Detail"], rows) + f"\n{verdict}\n"


def sessions_annotations(report: SessionsReport) -> list[Annotation]:
    found = []
    for server in report.servers:
        if server.status != "pass":
            level: Level = "warning" if server.status == "warn" else "error"
            found.append(Annotation(level, server.detail, title=f"pgflex sessions: {server.server}"))
    return found


def sessions_summary_markdown(report: SessionsReport) -> str:
    lines = [f"### pgflex sessions: {report.environment} ({report.cloud})\n"]
    lines += [f"- **{server.server}**: {server.status.upper()} {server.detail}" for server in report.servers]
    rows = [
        [
            server.server,
            row["user"],
            row["database"],
            row["application"] or "-",
            row["clientAddress"] or "(local socket)",
            f"{row['protocol']} {row['cipher']}" if row["ssl"] else "**no TLS**",
        ]
        for server in report.servers
        for row in server.sessions
    ]
    table = markdown_table(["Server", "User", "Database", "Application", "Client", "TLS"], rows) if rows else ""
    return "\n".join(lines) + "\n\n" + table
