"""Observe, then diff: the plan for the world as it is now."""

from __future__ import annotations

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
