"""The plan for people: one block per server, changes marked + ~ - as Terraform users expect, with how verify
logs in to the server and the databases kept although the spec does not name them."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from pgflex.engine.plan import Action, Change, Kind, Plan
from pgflex.engine.settings_diff import KEPT_DATABASE

from .lines import change_reason, change_values, login_detail, plan_verdict

SYMBOLS = {
    Action.CREATE: ("+", "green"),
    Action.UPDATE: ("~", "yellow"),
    Action.DELETE: ("-", "red"),
    Action.RESTART: ("↻", "magenta"),
    Action.NOOP: (" ", "dim"),
}


def _line(change: Change) -> Text:
    symbol, style = SYMBOLS[change.action]
    text = Text(f"  {symbol} {change.kind.value} {change.name}", style=style)
    values = change_values(change)
    if values:
        text.append(f": {values}")
    text.append(f"  ({change_reason(change)})", style="dim")
    return text


def _impact_block(change: Change, console: Console) -> None:
    """Under a TLS-tightening change: the clients it would refuse, or that none would be, or why nobody knows."""
    impact = change.impact
    if impact is None or change.action is Action.NOOP:
        return
    if impact.status == "unknown":
        console.print(Text(f"      impact unknown: {impact.reason}", style="bold yellow"))
        return
    if impact.status == "none":
        console.print(Text(f"      impact: none ({impact.source})", style="green"))
        return
    console.print(
        Text(f"      impact: would refuse {len(impact.clients)} client(s) ({impact.source})", style="bold red")
    )
    for client in impact.clients:
        console.print(
            Text(
                f"        {client.application or '(no application_name)'}  user {client.user}  "
                f"database {client.database}  from {client.client_address}  {client.tls}  "
                f"{client.sessions} session(s)",
                style="red",
            )
        )


def _kept(change: Change) -> bool:
    """A database on the server that the spec does not name, kept because it does not prune: shown, so that
    nobody takes it for one the spec manages."""
    return change.kind is Kind.DATABASE and change.action is Action.NOOP and change.reason == KEPT_DATABASE


def render_plan(plan: Plan, console: Console, *, show_unchanged: bool = False) -> None:
    console.print(
        Text(f"pgflex plan for {plan.environment} ({plan.cloud}, resource group {plan.resource_group})", style="bold")
    )
    environment = [c for c in plan.environment_changes if show_unchanged or c.action is not Action.NOOP]
    if environment:
        console.print(Text("environment", style="bold"))
        for change in environment:
            console.print(_line(change))
    for server in plan.servers:
        shown = [c for c in server.changes if show_unchanged or c.action is not Action.NOOP or _kept(c)]
        status = f"{len(server.pending)} change(s)" if server.pending else "up to date"
        console.print(Text(f"server {server.name}: {status}", style="bold"))
        if server.login is not None:
            console.print(Text(f"  {login_detail(server.login)}", style="dim"))
        for exception in server.exceptions:
            console.print(Text(f"  ! policy exception {exception.rule}: {exception.reason}", style="bold yellow"))
        for change in shown:
            console.print(_line(change))
            _impact_block(change, console)
    for error in plan.errors:
        console.print(Text(f"error: {error}", style="bold red"))
    verdict = plan_verdict(plan)
    if plan.errors:
        console.print(Text(f"Plan: {verdict}.", style="bold red"))
    elif plan.has_changes:
        console.print(Text(f"Plan: {verdict}.", style="bold"))
    else:
        console.print(Text("No changes: the environment matches the spec.", style="bold green"))
