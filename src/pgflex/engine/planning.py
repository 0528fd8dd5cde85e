"""Observe, then diff: the plan for the world as it is now."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace

from pgflex.azure.clients import AzureClients
from pgflex.azure.retry import RetryPolicy
from pgflex.spec import Environment

from .diff import make_plan
from .observe import observe
from .plan import Plan
from .preflight import preflight


def plan_now(
    env: Environment,
    clients: AzureClients,
    *,
    parallelism: int = 8,
    verify: bool = True,
    retry: RetryPolicy | None = None,
) -> Plan:
    """``retry`` governs every read (default: RetryPolicy(), the policy apply's writes use).

    Pre-flight's findings (engine/preflight.py) join the plan's errors: apply runs no plan that has any.
    """
    observed = observe(env, clients, parallelism=parallelism, retry=retry)
    plan = make_plan(env, observed, verify=verify)
    # What load_spec deferred (the shipped catalogue's findings, lapsed policy exceptions) comes first: every
    # problem in one plan.
    deferred = [*env.catalogue_issues, *env.expired_exceptions]
    problems = [*deferred, *preflight(env, observed, clients, verify=verify, retry=retry)]
    return replace(plan, errors=(*plan.errors, *problems)) if problems else plan


def replan(
    env: Environment,
    clients: AzureClients,
    ran: Plan,
    written: Collection[str],
    *,
    parallelism: int = 8,
    retry: RetryPolicy | None = None,
) -> Plan:
    """The plan after apply wrote to the servers named ``written``: those servers, the resource group and the
    network read again; every other server keeps its entry from ``ran``, the plan apply ran (nothing was written
    to it). Its fingerprint is of what was read again. No pre-flight: nothing it checks changed."""
    servers = [server for server in env.servers if server.name in written]
    observed = observe(env, clients, parallelism=parallelism, retry=retry, servers=servers)
    fresh = make_plan(env, observed, verify=ran.verify)
    # The servers not read again look absent to make_plan: only the entries of those read again are kept (the
    # plan's errors are theirs alone, since an absent server has none).
    again = {server.name: server for server in fresh.servers if server.name in written}
    return replace(fresh, servers=tuple(again.get(server.name, server) for server in ran.servers))
