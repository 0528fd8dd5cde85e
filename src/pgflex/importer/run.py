"""`pgflex import`: live servers to env files, one per resource group (an environment has one)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby
from typing import Any, get_args

from pgflex.azure.clients import AzureClients, connect
from pgflex.azure.retry import RetryPolicy
from pgflex.spec import API_VERSION, SpecError, parse_spec
from pgflex.spec.checks import (
    check_env_var_name,
    check_environment_name,
    check_resource_group,
    check_server_name,
    check_subscription,
)
from pgflex.spec.constants import Cloud

from .live import ImportInputError, LiveServer, read_live_servers
from .mapping import (
    ServerDraft,
    environment_location,
    environment_name,
    factor_defaults,
    server_draft,
    unrepresentable,
)
from .settings import entra_tenant
from .writer import render

DEFAULT_PASSWORD_ENV = "PGFLEX_ADMIN_PASSWORD"  # noqa: S105 - a variable's name, never a password


@dataclass(frozen=True)
class ImportedEnvironment:
    """One env file: the servers of one resource group, as text, with what a person should review."""

    resource_group: str
    servers: tuple[str, ...]
    text: str
    notes: tuple[str, ...]  # "server: note", also comments in the text

    def issues(self, file: str = "<imported>") -> tuple[str, ...]:
        """Where the text does not validate as ``file`` (empty: it does): what the spec cannot express."""
        try:
            parse_spec(self.text, file, env={})
        except SpecError as error:
            return tuple(str(issue) for issue in error.issues)
        return ()


@dataclass(frozen=True)
class ImportResult:
    environments: tuple[ImportedEnvironment, ...]
    skipped: tuple[str, ...]  # "server: why", servers the spec cannot express
    requests: int  # Resource Manager requests it took


def import_environment(
    *,
    resource_group: str | None = None,
    servers: Sequence[str] = (),
    subscription: str | None = None,
    cloud: str = "local",
    clients: AzureClients | None = None,
    name: str | None = None,
    password_env: str = DEFAULT_PASSWORD_ENV,
    databases: bool = True,
    parallelism: int = 8,
    retry: RetryPolicy | None = None,
    now: datetime | None = None,
) -> ImportResult:
    """The servers of ``resource_group`` (None: of the whole subscription), or only ``servers``, as env files: one
    per resource group, each holding every server of it that the spec can express, with their databases unless
    ``databases`` is False (one read less per server, and the file leaves databases alone).

    ``subscription`` defaults to the emulator's for ``cloud="local"`` and is required for Azure's clouds (``clients``,
    when given, says both). Bad input raises ImportInputError (a PgflexError) before any Azure call; so does a
    resource group or named server that does not exist, or nothing to import, after the first reads.
    """
    if clients is None:
        subscription = _checked_target(cloud, subscription)
    _check_names(resource_group, servers, name, password_env)
    clients = clients or connect(cloud, subscription or "")
    policy = retry or RetryPolicy()
    moment = now or datetime.now(UTC)
    before = clients.counter.total
    live = read_live_servers(
        clients, policy, resource_group=resource_group, names=servers, databases=databases, parallelism=parallelism
    )
    skipped = {server.name: why for server in live if (why := unrepresentable(server)) is not None}
    environments = []
    for group, grouped in groupby(live, key=lambda server: server.resource_group):
        members = list(grouped)
        kept = [server for server in members if server.name not in skipped]
        left_out = [f"{server.name}: {skipped[server.name]}" for server in members if server.name in skipped]
        if kept:
            environments.append(_environment(clients, group, kept, left_out, name, password_env, moment))
    return ImportResult(
        environments=tuple(environments),
        skipped=tuple(f"{server}: {why}" for server, why in skipped.items()),
        requests=clients.counter.total - before,
    )


def _checked_target(cloud: str, subscription: str | None) -> str:
    clouds = get_args(Cloud)
    if cloud not in clouds:
        raise ImportInputError(f"unknown cloud {cloud!r}: choose one of {', '.join(clouds)}")
    if subscription is None:
        if cloud != "local":
            raise ImportInputError(f"a subscription is required for cloud {cloud} (--subscription)")
        from pgflex.emulator.settings import DEFAULT_SUBSCRIPTION

        return DEFAULT_SUBSCRIPTION
    return _checked(check_subscription, subscription)


def _check_names(resource_group: str | None, servers: Sequence[str], name: str | None, password_env: str) -> None:
    if resource_group is not None:
        _checked(check_resource_group, resource_group)
    for server in servers:
        _checked(check_server_name, server)
    if name is not None:
        _checked(check_environment_name, name)
    _checked(check_env_var_name, password_env)


def _checked(check: Callable[[str], str], value: str) -> str:
    try:
        return check(value)
    except ValueError as invalid:
        raise ImportInputError(str(invalid)) from None


def _environment(
    clients: AzureClients,
    group: str,
    servers: list[LiveServer],
    left_out: list[str],
    name: str | None,
    password_env: str,
    moment: datetime,
) -> ImportedEnvironment:
    location, tenant = environment_location(servers), entra_tenant(servers)
    drafts = [
        server_draft(s, password_env=password_env, location=location, tenant=tenant, today=moment.date())
        for s in servers
    ]
    entries = [draft.entry for draft in drafts]
    defaults = factor_defaults(entries)
    document: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "environment": {
            "name": name or environment_name(group),
            "cloud": clients.cloud,
            "subscription": clients.subscription,
            "resourceGroup": group,
            "location": location,
        },
    }
    if tenant is not None:
        document["environment"]["tenant"] = tenant
    if defaults:
        document["defaults"] = defaults
    document["servers"] = entries
    text = render(
        document,
        header=_header(clients, group, servers, left_out, password_env, moment),
        notes={draft.name: draft.notes for draft in drafts},
        password_note=f"never imported: set {password_env} before apply or verify",
    )
    return ImportedEnvironment(
        resource_group=group,
        servers=tuple(s.name for s in servers),
        text=text,
        notes=tuple(_notes(drafts)),
    )


def _header(
    clients: AzureClients,
    group: str,
    servers: list[LiveServer],
    left_out: list[str],
    password_env: str,
    moment: datetime,
) -> list[str]:
    stamp = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Imported by `pgflex import` on {stamp} from resource group {group},",
        f"subscription {clients.subscription} (cloud {clients.cloud}): {len(servers)} server(s).",
        "Parameters: those set on each server (source user-override); the others keep the service's defaults.",
    ]
    if any(server.password_auth for server in servers):
        lines.append(
            f"Passwords are never imported: set {password_env} (or use keyVaultSecret) before apply or verify."
        )
    lines += [f"Not imported: {entry}" for entry in left_out]
    return lines


def _notes(drafts: list[ServerDraft]) -> list[str]:
    return [f"{draft.name}: {note}" for draft in drafts for note in draft.notes]
