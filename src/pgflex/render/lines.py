"""The compact form for logs: one line per result, ``SERVER CHECK STATUS detail``, never split.

Pipelines read these with grep, not with eyes: no colours, no wrapping, no redraws, and a detail that
held several lines is joined with `` | `` so that one result stays on one line.
"""

from __future__ import annotations

import json
from typing import Any

from pgflex.engine.plan import Action, Change, Login, Plan
from pgflex.verify.checks import SessionsReport, VerifyReport

from .log_line import result_line

ENVIRONMENT_SCOPE = "environment"


def _flatten(value: Any, prefix: str = "") -> list[str]:
    if isinstance(value, dict):
        return [item for key, inner in value.items() for item in _flatten(inner, f"{prefix}{key}.")]
    return [f"{prefix[:-1]}={value_text(value)}"]


def value_text(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, str):
        return value if value else '""'
    if isinstance(value, dict):
        return ", ".join(_flatten(value))
    return json.dumps(value, sort_keys=True)


def change_values(change: Change) -> str:
    """``before → after`` for an update, the value created or deleted otherwise ("" for a restart)."""
    if change.action is Action.UPDATE and change.before is not None:
        return f"{value_text(change.before)} → {value_text(change.after)}"
    if change.action is Action.DELETE:
        return value_text(change.before)
    return value_text(change.after) if change.after is not None else ""


def change_reason(change: Change) -> str:
    return change.reason + ("; needs a restart" if change.requires_restart else "")


def change_detail(change: Change) -> str:
    values = change_values(change)
    return f"{values} ({change_reason(change)})" if values else f"({change_reason(change)})"


def login_detail(login: Login) -> str:
    """How verify and sessions log in to a server, as a plan shows it."""
    how = "a Microsoft Entra token" if login.method == "entra" else "the administrator's password"
    return f"verify and sessions log in with {how} as {' or '.join(login.roles)}"


def change_check(change: Change) -> str:
    return f"{change.kind.value}/{change.name}"


def plan_lines(plan: Plan) -> list[str]:
    lines = [
        result_line(ENVIRONMENT_SCOPE, change_check(c), c.action.value, change_detail(c))
        for c in plan.environment_changes
        if c.action is not Action.NOOP
    ]
    for server in plan.servers:
        for exception in server.exceptions:
            lines.append(result_line(server.name, f"policy-exception/{exception.rule}", "warn", exception.reason))
        if server.login is not None:
            lines.append(result_line(server.name, "login", server.login.method, login_detail(server.login)))
        if not server.pending:
            lines.append(result_line(server.name, "plan", "ok", "up to date"))
        for change in server.pending:
            lines.append(result_line(server.name, change_check(change), change.action.value, change_detail(change)))
            lines += impact_lines(server.name, change)
    lines += [result_line(ENVIRONMENT_SCOPE, "plan", "error", error) for error in plan.errors]
    lines.append(plan_summary(plan))
    return lines


def impact_lines(server: str, change: Change) -> list[str]:
    """Who a TLS-tightening change would cut off: one line per client refused, or one saying none or unknown."""
    impact = change.impact
    if impact is None:
        return []
    check = f"impact/{change.name}"
    if impact.status == "unknown":
        return [result_line(server, check, "unknown", impact.describe())]
    if impact.status == "none":
        return [result_line(server, check, "ok", impact.describe())]
    return [
        result_line(
            server,
            check,
            "refuses",
            f"user={client.user} database={client.database} application={client.application or '-'} "
            f"client={client.client_address} tls={client.tls} sessions={client.sessions} ({impact.source})",
        )
        for client in impact.clients
    ]


def plan_summary(plan: Plan) -> str:
    return f"plan {plan.environment}: {plan_verdict(plan)}"


def plan_verdict(plan: Plan) -> str:
    """What the plan comes to, in words that are true: "matches the spec" only with no change and no error."""
    changes = ", ".join(f"{count} to {action}" for action, count in plan.summary().items() if count)
    if plan.errors:
        errors = f"{len(plan.errors)} error(s) pgflex cannot resolve"
        if changes:
            return f"{changes}, and {errors}: apply refuses this plan"
        return f"no changes pgflex can make, and {errors}: the environment does not match the spec"
    return changes or "no changes, the environment matches the spec"


def verify_lines(report: VerifyReport) -> list[str]:
    lines = [result_line(check.server, check.name, check.status, check.detail) for check in report.checks]
    counts = ", ".join(f"{count} {status}" for status, count in report.counts().items() if count)
    verdict = "PASSED" if report.passed else "FAILED"
    lines.append(f"verify {report.environment}: {verdict} ({counts or 'no checks'}) in {report.seconds:.1f}s")
    return lines


def session_detail(row: dict[str, Any]) -> str:
    tls = f"{row['protocol']} {row['cipher']}" if row["ssl"] else "no TLS"
    client = row["clientAddress"] or "(local socket)"
    return (
        f"user={row['user']} database={row['database']} application={row['application'] or '-'} "
        f"client={client} tls={tls} backend={row['backendType']}"
    )


def sessions_lines(report: SessionsReport) -> list[str]:
    lines = []
    for server in report.servers:
        lines.append(result_line(server.server, "sessions", server.status, server.detail))
        for row in server.sessions:
            lines.append(result_line(server.server, "session", "pass" if row["ssl"] else "warn", session_detail(row)))
    verdict = "PASSED" if report.passed else "FAILED"
    lines.append(f"sessions {report.environment}: {verdict}")
    return lines
