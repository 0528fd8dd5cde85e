"""Observe, then diff: the plan for the world as it is now."""

from __future__ import annotations

from pgflex.azure.clients import AzureClients
from pgflex.azure.retry import RetryPolicy
from pgflex.spec import Environment

from .diff import make_plan
from .observe import ParameterStrategy, observe
from .plan import Plan


def plan_now(
    env: Environment,
    clients: AzureClients,
    *,
    parallelism: int = 8,
    verify: bool = True,
    parameter_strategy: ParameterStrategy = "auto",
    retry: RetryPolicy | None = None,
) -> Plan:
    """``retry`` governs every read (default: RetryPolicy(), the policy apply's writes use)."""
    observed = observe(env, clients, parallelism=parallelism, parameter_strategy=parameter_strategy, retry=retry)
    return make_plan(env, observed, verify=verify)
