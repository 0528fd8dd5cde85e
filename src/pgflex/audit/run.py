"""Running an audit: which subscriptions, their clients, each read concurrently, every server judged.

Each subscription gets clients of its own (``pgflex.azure.clients.connect``), so each spends its own rate
budget: Resource Manager's throttling is per subscription and principal. Clients are built one after the other
before any thread starts (``cloud: local`` starts the emulator on the first), then subscriptions are read at
once, at most ``MAX_SUBSCRIPTIONS_AT_ONCE`` together, each with ``parallelism`` servers in flight.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pgflex.azure.clients import AzureClients, connect
from pgflex.azure.retry import RetryPolicy
from pgflex.azure.subscriptions import TENANT, list_subscriptions
from pgflex.concurrency import map_concurrently
from pgflex.engine.apply import Event, Phase, Progress

from .collect import collect_subscription
from .findings import Finding, judge
from .policy import DEFAULT_SOURCE, AuditPolicy
from .report import AuditReport, SubscriptionAudit

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

MAX_SUBSCRIPTIONS_AT_ONCE = 8
PROGRESS_STEPS = 10  # a long subscription reports its progress about this many times


def run_audit(
    subscriptions: Sequence[str] = (),
    *,
    cloud: str = "local",
    policy: AuditPolicy | None = None,
    policy_source: str = DEFAULT_SOURCE,
    parallelism: int = 8,
    retry: RetryPolicy | None = None,
    progress: Progress | None = None,
    credential: TokenCredential | None = None,
) -> AuditReport:
    """Audit ``subscriptions`` (every one the identity can list when empty) of ``cloud`` against ``policy``."""
    policy = policy or AuditPolicy()
    retry = retry or RetryPolicy()
    started = time.monotonic()
    targets = _targets(list(dict.fromkeys(subscriptions)), cloud, retry, credential)
    audited = map_concurrently(
        lambda target: _audit_subscription(target[0], target[1], retry, parallelism, progress),
        targets,
        min(MAX_SUBSCRIPTIONS_AT_ONCE, max(1, len(targets))),
    )
    findings: list[Finding] = [
        finding for subscription in audited for server in subscription.servers for finding in judge(server, policy)
    ]
    return AuditReport(
        cloud=cloud,
        policy=policy,
        policy_source=policy_source,
        subscriptions=tuple(audited),
        findings=tuple(findings),
        seconds=time.monotonic() - started,
    )


def _targets(
    named: list[str], cloud: str, retry: RetryPolicy, credential: TokenCredential | None
) -> list[tuple[AzureClients, str | None]]:
    """Clients for each subscription to audit, with its display name when it was listed rather than named."""
    if named:
        first = connect(cloud, named[0], credential=credential)
        rest = [connect(cloud, subscription, credential=first.credential) for subscription in named[1:]]
        return [(clients, None) for clients in (first, *rest)]
    lister = connect(cloud, TENANT, credential=credential)
    listed = [subscription for subscription in list_subscriptions(lister, retry) if subscription.readable]
    return [(connect(cloud, s.id, credential=lister.credential), s.display_name) for s in listed]


def _audit_subscription(
    clients: AzureClients, display_name: str | None, retry: RetryPolicy, parallelism: int, progress: Progress | None
) -> SubscriptionAudit:
    started = time.monotonic()
    before = clients.counter.reads
    scope = f"subscription {display_name or clients.subscription}"
    emit = progress or (lambda event: None)
    emit(Event(scope, "list servers", Phase.STARTED))
    total, done = 0, 0

    def listed(count: int) -> None:
        nonlocal total
        total = count
        emit(Event(scope, "read servers", Phase.STARTED, f"{count} servers"))

    def server_read() -> None:  # called under collect's lock
        nonlocal done
        done += 1
        if done == total or done % max(1, total // PROGRESS_STEPS) == 0:
            emit(Event(scope, "read servers", Phase.NOTE, f"{done}/{total}"))

    collected = collect_subscription(clients, retry, parallelism=parallelism, on_listed=listed, on_server=server_read)
    failed = len(collected.errors)
    emit(Event(scope, "audit", Phase.FAILED if failed else Phase.DONE, f"{total} servers, {failed} errors"))
    return SubscriptionAudit(
        id=clients.subscription,
        display_name=display_name,
        servers=collected.servers,
        errors=collected.errors,
        reads=clients.counter.reads - before,
        seconds=time.monotonic() - started,
    )
