"""Writes to a server's child resources: firewall rules, Microsoft Entra administrators and databases.

Each write is one long-running operation run by apply's ``run`` (its retries, its progress events), and is
checked on the operation's final GET, never by a GET of its own. Values come from the spec (the plan's change
names what to write), never from a saved plan.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pgflex.azure.clients import AzureClients
from pgflex.spec import PgflexError, Server

from .bodies import wire
from .plan import Action, Change

# apply's one long-running write: (scope, operation, begin, *args) -> the operation's result
Run = Callable[..., Any]


def write_firewall_rule(run: Run, clients: AzureClients, group: str, server: Server, change: Change) -> None:
    rules = clients.postgres.firewall_rules
    if change.action is Action.DELETE:
        run(server.name, f"delete firewall rule {change.name}", rules.begin_delete, group, server.name, change.name)
        return
    body: dict[str, Any] = {
        "properties": {"startIpAddress": change.after["start"], "endIpAddress": change.after["end"]}
    }
    stored = run(
        server.name,
        f"{change.action} firewall rule {change.name}",
        rules.begin_create_or_update,
        group,
        server.name,
        change.name,
        wire(body),
    )
    if (stored.start_ip_address, stored.end_ip_address) != (change.after["start"], change.after["end"]):
        raise PgflexError(f"{server.name}: firewall rule {change.name} reads back differently")


def write_administrator(run: Run, clients: AzureClients, group: str, server: Server, change: Change) -> None:
    """Add, update or delete the Entra administrator whose object id the change names."""
    admins = clients.postgres.administrators_microsoft_entra
    if change.action is Action.DELETE:
        who = (change.before or {}).get("principalName") or change.name
        run(server.name, f"delete Entra administrator {who}", admins.begin_delete, group, server.name, change.name)
        return
    wanted = next(
        admin
        for admin in server.authentication.entra_administrators or ()
        if admin.object_id.lower() == change.name.lower()
    )
    stored = run(
        server.name,
        f"{change.action} Entra administrator {wanted.principal_name}",
        admins.begin_create_or_update,
        group,
        server.name,
        wanted.object_id,
        wire({"properties": wanted.azure_properties()}),
    )
    if stored.principal_name != wanted.principal_name:
        raise PgflexError(f"{server.name}: Entra administrator {wanted.object_id} reads back differently")


def write_database(run: Run, clients: AzureClients, group: str, server: Server, change: Change) -> None:
    """Create the database the change names, as the spec has it, or delete it (pruneDatabases)."""
    databases = clients.postgres.databases
    if change.action is Action.DELETE:
        run(server.name, f"delete database {change.name}", databases.begin_delete, group, server.name, change.name)
        return
    wanted = next(database for database in server.databases if database.name == change.name)
    stored = run(
        server.name,
        f"create database {wanted.name}",
        databases.begin_create,
        group,
        server.name,
        wanted.name,
        wire({"properties": wanted.azure_properties()}),
    )
    if (stored.charset or "").lower() != wanted.charset.lower():
        raise PgflexError(f"{server.name}: database {wanted.name} reads back with charset {stored.charset}")


__all__ = ["Run", "write_administrator", "write_database", "write_firewall_rule"]
