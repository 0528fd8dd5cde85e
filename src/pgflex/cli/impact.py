"""Apply's impact gate: a TLS change that would refuse clients (or whose impact nobody could see) runs only when
the operator accepts it. Kept apart from cli/apply.py, which calls these two functions around its plan."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from .common import EXIT_OK, fail

if TYPE_CHECKING:
    from pgflex.azure.clients import AzureClients
    from pgflex.engine.plan import Plan
    from pgflex.spec import Environment

    from .output import Display

AcceptImpactOption = typer.Option(
    False,
    "--accept-impact",
    help="Apply TLS changes even though they would refuse clients seen connecting (or nobody could tell).",
)
ImpactFromOption = typer.Option(
    None,
    "--impact-from",
    metavar="FILE",
    help="Judge TLS changes against the clients a recorded `pgflex sessions --watch ... -o json` report saw, "
    "instead of the sessions connected now.",
)


def assess_impact(
    env: Environment,
    plan: Plan,
    clients: AzureClients,
    *,
    impact_from: Path | None = None,
    ca_bundle: Path | None = None,
) -> Plan:
    """``plan`` with who each TLS-tightening change would cut off (connects only when the plan has one)."""
    from pgflex.verify.impact import assess, read_watch_report

    watched = read_watch_report(impact_from, env) if impact_from is not None else None
    return assess(env, plan, clients=clients, ca_bundle=ca_bundle, watch_report=watched, watch_label=str(impact_from))


def gate_impact(plan: Plan, *, accept_impact: bool, auto_approve: bool, display: Display) -> None:
    """Refuse (exit 1, naming the clients, before any write) a plan whose TLS changes would cut clients off.

    An unknown impact is asked about at a terminal and refused without one (pipelines cannot answer).
    """
    from pgflex.engine.tls_impact import refusal_message, unaccepted

    found = unaccepted(plan)
    if not found or accept_impact:
        return
    if all(impact.status == "unknown" for _, _, impact in found) and not auto_approve and sys.stdin.isatty():
        for server, change, impact in found:
            display.note(f"{server}: {change.name}: {impact.describe()}", "bold yellow")
        if not typer.confirm("Nobody could see who these TLS changes cut off. Apply anyway?", default=False):
            display.note("nothing done")
            raise typer.Exit(EXIT_OK)
        return
    raise fail(refusal_message(found), json_output=display.json)
