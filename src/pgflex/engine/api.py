"""The library surface of the read half: plan and drift, as runbooks call them."""

from __future__ import annotations

from pathlib import Path

from pgflex.azure.clients import AzureClients, connect
from pgflex.azure.retry import RetryPolicy
from pgflex.spec import Environment, load_spec

from .apply import DEFAULT_LOCK_TIMEOUT_SECONDS, ApplyResult, Progress, RestartMode, apply_plan
from .destroy import destroy_environment
from .plan import Plan
from .planning import plan_now
from .rollout import Rollout


def _environment(spec: Environment | str | Path) -> Environment:
    return spec if isinstance(spec, Environment) else load_spec(spec, defer_catalogue=True)


def plan(
    spec: Environment | str | Path,
    *,
    clients: AzureClients | None = None,
    parallelism: int = 8,
    verify: bool = True,
    retry: RetryPolicy | None = None,
) -> Plan:
    """Observe the environment and return what it would take to match the spec (read-only).

    ``verify`` adds sslinfo to ``azure.extensions``, which ``pgflex verify`` needs on the server. ``retry``
    governs every read, as it governs apply's writes (default: ``RetryPolicy()``).
    """
    env = _environment(spec)  # validated completely before any Azure call
    clients = clients or connect(env.cloud, env.subscription)
    return plan_now(env, clients, parallelism=parallelism, verify=verify, retry=retry)


def drift(spec: Environment | str | Path, **options: object) -> Plan:
    """The same read-only plan; it has drift when ``plan.has_changes``."""
    return plan(spec, **options)  # type: ignore[arg-type]


def apply(
    spec: Environment | str | Path,
    *,
    saved_plan: Plan | None = None,
    clients: AzureClients | None = None,
    restart: RestartMode = "auto",
    parallelism: int = 4,
    verify: bool = True,
    progress: Progress | None = None,
    retry: RetryPolicy | None = None,
    check_stale: bool | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS,
    rollout: Rollout | None = None,
) -> ApplyResult:
    """Converge the environment to the spec (or run ``saved_plan``, refusing it when stale).

    ``check_stale`` defaults to whether a saved plan was given: a plan made just now cannot be stale yet.
    ``lock_timeout``: seconds to wait while another apply or destroy holds the environment's lease (0: fail at once).
    ``rollout``: apply in waves, each verified (by its ``verify_wave``) before the next starts.
    """
    env = _environment(spec)
    clients = clients or connect(env.cloud, env.subscription)
    to_run = saved_plan or plan(env, clients=clients, parallelism=parallelism, verify=verify, retry=retry)
    return apply_plan(
        env,
        clients,
        to_run,
        restart=restart,
        parallelism=parallelism,
        verify=verify,
        progress=progress,
        retry=retry,
        check_stale=saved_plan is not None if check_stale is None else check_stale,
        lock_timeout=lock_timeout,
        rollout=rollout,
    )


def destroy(
    spec: Environment | str | Path,
    *,
    clients: AzureClients | None = None,
    progress: Progress | None = None,
    retry: RetryPolicy | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS,
) -> list[str]:
    """Delete the spec's servers and the network objects it created; the resource group stays."""
    env = _environment(spec)
    clients = clients or connect(env.cloud, env.subscription)
    return destroy_environment(env, clients, progress=progress, retry=retry, lock_timeout=lock_timeout)
