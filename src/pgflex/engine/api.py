"""The library surface of the read half: plan and drift, as runbooks call them."""

from __future__ import annotations

from pathlib import Path

from pgflex.azure.clients import AzureClients, connect
from pgflex.spec import Environment, load_spec

from .diff import make_plan
from .observe import ParameterStrategy, observe
from .plan import Plan


def _environment(spec: Environment | str | Path) -> Environment:
    return spec if isinstance(spec, Environment) else load_spec(spec)


def plan(
    spec: Environment | str | Path,
    *,
    clients: AzureClients | None = None,
    parallelism: int = 8,
    verify: bool = True,
    parameter_strategy: ParameterStrategy = "auto",
) -> Plan:
    """Observe the environment and return what it would take to match the spec (read-only).

    ``verify`` adds sslinfo to ``azure.extensions``, which ``pgflex verify`` needs on the server.
    """
    env = _environment(spec)  # validated completely before any Azure call
    clients = clients or connect(env.cloud, env.subscription)
    observed = observe(env, clients, parallelism=parallelism, parameter_strategy=parameter_strategy)
    return make_plan(env, observed, verify=verify)


def drift(spec: Environment | str | Path, **options: object) -> Plan:
    """The same read-only plan; it has drift when ``plan.has_changes``."""
    return plan(spec, **options)  # type: ignore[arg-type]
