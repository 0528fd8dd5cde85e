"""Apply: converge the environment to the spec, one write at a time per server.

Different servers progress concurrently; one server never sees two writes at once, and each
write waits for its operation to finish before the next. Property changes of a server go in one
PATCH; static parameters share one restart, at the end, as ``restart`` allows. Every write is read
back from what its operation's final GET returned (the poller's result), never by a GET of its own;
a server's writes wait for Ready only when that result says the server is still busy (a write to a
busy server is refused with ServerBusy, which the policy retries anyway). At the end the servers
written to are observed again, and whatever still differs is reported as an error.

Every request, read or write, goes through one RetryPolicy (pgflex.azure.retry): the plan's reads, each
write, each status poll of a long-running operation, and the final re-plan.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

from pgflex.azure.clients import AzureClients
from pgflex.azure.retry import AzureOperationError, OnRetry, RetryPolicy, describe
from pgflex.azure.secrets import resolve_password
from pgflex.spec import Environment, PgflexError, PrivateAccess, Server

from .bodies import server_create_body, server_update_body, wire
from .children import write_administrator, write_database, write_firewall_rule
from .diff import POSTGRES_DELEGATION, SET_PARAMETERS, canonical
from .observe import sdk_text
from .plan import Action, Change, Kind, Plan, ServerPlan, StalePlanError
from .planning import plan_now, replan
from .saved import recheck
from .settings_diff import PASSWORD_AUTH

if TYPE_CHECKING:
    from .rollout import Rollout, Wave

RestartMode = Literal["auto", "never"]
BUSY_STATES = {"Updating", "Restarting", "Starting", "Provisioning", "Stopping", "Dropping"}
READY_TIMEOUT_SECONDS = 1800.0
# How long an apply or destroy waits for another one's lease on the environment (pgflex.engine.lease).
DEFAULT_LOCK_TIMEOUT_SECONDS = 300.0


class ApplyError(PgflexError):
    """Apply finished, but the environment still differs from the spec."""


class Phase(StrEnum):
    STARTED = "started"
    DONE = "done"
    RETRY = "retry"
    FAILED = "failed"
    NOTE = "note"


@dataclass(frozen=True)
class Event:
    """Progress, for the live view or log lines."""

    scope: str  # a server name, or "environment"
    operation: str
    phase: Phase
    detail: str = ""


Progress = Callable[[Event], None]


@dataclass
class ApplyResult:
    plan: Plan
    final_plan: Plan | None = None
    writes: int = 0
    restarted: list[str] = field(default_factory=list)
    pending_restart: dict[str, list[str]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    lease_requests: int = 0  # Resource Manager requests the environment's lease cost (not in ``writes``)
    waves: list[Wave] | None = None  # applied in waves (engine/rollout.py); None: all servers at once

    @property
    def untouched(self) -> list[str]:
        """Servers with planned changes in waves that never ran: a rollout stopped before them."""
        return [name for wave in self.waves or [] if not wave.ran for name in wave.servers]

    @property
    def converged(self) -> bool:
        return not self.failures and self.final_plan is not None and not _remaining(self.final_plan, self)


def _remaining(plan: Plan, result: ApplyResult) -> list[Change]:
    """Differences left after apply; restarts the user chose to defer are not failures."""
    deferred = set(result.pending_restart)
    left = []
    for change in plan.environment_changes:
        if change.action is not Action.NOOP:
            left.append(change)
    for server in plan.servers:
        for change in server.pending:
            if server.name in deferred and (change.action is Action.RESTART or change.requires_restart):
                continue
            left.append(change)
    return left


class Applier:
    def __init__(
        self,
        env: Environment,
        clients: AzureClients,
        *,
        retry: RetryPolicy | None = None,
        restart: RestartMode = "auto",
        progress: Progress | None = None,
        poll_seconds: float | None = None,
        parallelism: int = 4,
        group_created: bool = False,
    ) -> None:
        self.env = env
        self.group_created = group_created  # by the lease, with its tag: creating it again would drop the tag
        self.parallelism = parallelism
        self.clients = clients
        self.retry = retry or RetryPolicy()
        self.restart = restart
        self.progress = progress or (lambda event: None)
        self.poll_seconds = poll_seconds if poll_seconds is not None else clients.polling_interval

    # Running

    def run(self, plan: Plan, passwords: dict[str, str]) -> ApplyResult:
        result = ApplyResult(plan=plan)
        writes_before = self.clients.counter.writes
        self.apply_environment(plan)
        result.failures.extend(self.apply_servers([s for s in plan.servers if s.pending], passwords, result))
        result.writes = self.clients.counter.writes - writes_before
        return result

    def apply_environment(self, plan: Plan) -> None:
        for change in plan.environment_changes:
            if change.action is not Action.NOOP:
                self._environment_change(change)

    def apply_servers(self, servers: list[ServerPlan], passwords: dict[str, str], result: ApplyResult) -> list[str]:
        """Apply these servers' changes, in parallel; returns the failure messages."""
        if not servers:
            return []
        with ThreadPoolExecutor(max_workers=max(1, min(len(servers), self.parallelism))) as pool:
            outcomes = list(pool.map(lambda s: self._server_changes(s.name, s.pending, passwords, result), servers))
        return [failure for failure in outcomes if failure]

    def _on_retry(self, scope: str, operation: str) -> OnRetry:
        def on_retry(error: BaseException, sleep: float) -> None:
            self.progress(Event(scope, operation, Phase.RETRY, f"{describe(error)}; again in {sleep:.1f}s"))

        return on_retry

    def _step(self, scope: str, operation: str, function: Callable[[], Any]) -> Any:
        """One request (a read, or a write answered at once), retried by the policy."""
        self.progress(Event(scope, operation, Phase.STARTED))
        value = self.retry.call(scope, operation, function, self._on_retry(scope, operation))
        self.progress(Event(scope, operation, Phase.DONE))
        return value

    def _operation(self, scope: str, operation: str, begin: Callable[..., Any], *args: Any) -> Any:
        """One long-running write: started, polled to its end, every request retried by the policy."""
        self.progress(Event(scope, operation, Phase.STARTED))
        value = self.retry.finish(scope, operation, begin, *args, on_retry=self._on_retry(scope, operation))
        self.progress(Event(scope, operation, Phase.DONE))
        return value

    # Environment objects

    def _environment_change(self, change: Change) -> None:
        env, clients = self.env, self.clients
        group = env.resource_group
        scope = "environment"
        if change.kind is Kind.RESOURCE_GROUP:
            if self.group_created:
                self.progress(Event(scope, f"create resource group {group}", Phase.NOTE, "created with the lease"))
                return
            self._step(
                scope,
                f"create resource group {group}",
                lambda: clients.resources.resource_groups.create_or_update(group, {"location": env.location}),
            )
        elif change.kind is Kind.VIRTUAL_NETWORK:
            body = {
                "location": env.location,
                "properties": {"addressSpace": {"addressPrefixes": change.after["addressPrefixes"]}},
            }
            self._operation(
                scope,
                f"{change.action} virtual network {change.name}",
                clients.network.virtual_networks.begin_create_or_update,
                group,
                change.name,
                wire(body),
            )
        elif change.kind is Kind.SUBNET:
            vnet, subnet = change.name.split("/", 1)
            body = {
                "properties": {
                    "addressPrefix": change.after["addressPrefix"],
                    "delegations": [{"name": "flexibleServers", "properties": {"serviceName": POSTGRES_DELEGATION}}],
                }
            }
            self._operation(
                scope,
                f"{change.action} subnet {change.name}",
                clients.network.subnets.begin_create_or_update,
                group,
                vnet,
                subnet,
                wire(body),
            )
        elif change.kind is Kind.PRIVATE_DNS_ZONE:
            self._operation(
                scope,
                f"create private DNS zone {change.name}",
                clients.dns.private_zones.begin_create_or_update,
                group,
                change.name,
                wire({"location": "global"}),  # private DNS zones are global resources
            )
        elif change.kind is Kind.PRIVATE_DNS_ZONE_LINK:
            zone, vnet = change.name.rsplit("/", 1)
            # The spec creates this network in the group: its id is known without reading it.
            vnet_id = f"{self._network_base()}/virtualNetworks/{vnet}"
            body = {
                "location": "global",
                "properties": {"virtualNetwork": {"id": vnet_id}, "registrationEnabled": False},
            }
            self._operation(
                scope,
                f"link zone {zone} to {vnet}",
                clients.dns.virtual_network_links.begin_create_or_update,
                group,
                zone,
                vnet,
                wire(body),
            )

    # Servers

    def _server_changes(
        self, name: str, changes: tuple[Change, ...], passwords: dict[str, str], result: ApplyResult
    ) -> str | None:
        """Apply one server's changes in order; returns a failure message, or None.

        The order follows what Azure requires: the server (created, then its custom maintenance window), its
        properties in one PATCH (Microsoft Entra authentication turned on before any administrator), its Entra
        administrators, password authentication turned off only once they exist, its databases, parameters and
        firewall rules, and one restart last.
        """
        server = self.env.server(name)
        password = passwords.get(name)
        run, group = self._operation, self.env.resource_group
        try:
            properties = [c for c in changes if c.kind is Kind.SERVER and c.action is Action.UPDATE]
            password_off = [c for c in properties if c.name == f"{name}.{PASSWORD_AUTH}" and c.after is False]
            for change in changes:
                if change.kind is Kind.SERVER and change.action is Action.CREATE:
                    self._create_server(server, password)
            if len(password_off) < len(properties):
                self._update_server(server, [c for c in properties if c not in password_off], password)
            for change in changes:
                if change.kind is Kind.ENTRA_ADMINISTRATOR and change.action is not Action.NOOP:
                    write_administrator(run, self.clients, group, server, change)
            if password_off:
                self._update_server(server, password_off)
            static = []
            for change in changes:
                if change.kind is Kind.DATABASE and change.action is not Action.NOOP:
                    write_database(run, self.clients, group, server, change)
                elif change.kind is Kind.PARAMETER and change.action is Action.UPDATE:
                    if self._set_parameter(server, change.name, str(change.after)):
                        static.append(change.name)
                elif change.kind is Kind.FIREWALL_RULE:
                    write_firewall_rule(run, self.clients, group, server, change)
            pending = static + [
                str(p)
                for c in changes
                if c.action is Action.RESTART
                for p in (c.before or {}).get("pendingRestart", [])
            ]
            if pending:
                self._restart_or_defer(server, sorted(set(pending)), result)
        except PgflexError as error:
            self.progress(Event(name, "apply", Phase.FAILED, str(error)))
            return str(error)
        return None

    def _create_server(self, server: Server, password: str | None) -> None:
        body = server_create_body(self.env.location, server, password, self._network_ids(server))
        group = self.env.resource_group
        begin = self.clients.postgres.servers.begin_create_or_update
        created = self._operation(server.name, "create server", begin, group, server.name, wire(body))
        self._until_ready(server.name, created)

    def _update_server(self, server: Server, changes: list[Change], password: str | None = None) -> None:
        fields = [(c.name.split(".", 1)[1], c.before, c.after) for c in changes]
        if any(field == "highAvailability" and "Disabled" not in (before, after) for field, before, after in fields):
            # Azure changes a high-availability mode only through Disabled.
            self._patch(server, "disable high availability", {"properties": {"highAvailability": {"mode": "Disabled"}}})
        # One PATCH for every property: each write holds the server for minutes on Azure.
        label = "update " + ", ".join(field for field, _, _ in fields)
        self._patch(server, label, server_update_body(server, fields, password))

    def _patch(self, server: Server, label: str, patch: dict[str, Any]) -> None:
        group, begin = self.env.resource_group, self.clients.postgres.servers.begin_update
        updated = self._operation(server.name, label, begin, group, server.name, wire(patch))
        self._until_ready(server.name, updated)

    def _set_parameter(self, server: Server, name: str, value: str) -> bool:
        """Set one parameter and check what its operation's final GET says; True when it waits for a restart."""
        group = self.env.resource_group
        configurations = self.clients.postgres.configurations
        body: dict[str, Any] = {"properties": {"value": value, "source": "user-override"}}
        # Read back from the poller's final GET of the parameter: a parameter can report success without being
        # persisted (bicep-registry-modules #7270), and that GET is made after the operation ended.
        stored = self._operation(
            server.name, f"set {name} = {value!r}", configurations.begin_update, group, server.name, name, wire(body)
        )
        data_type = "Set" if name in SET_PARAMETERS else sdk_text(stored.data_type)
        if canonical(data_type, str(stored.value or "")) != canonical(data_type, value):
            raise PgflexError(f"{server.name}: {name} reads back {stored.value!r} after setting {value!r}")
        return bool(stored.is_config_pending_restart) or stored.is_dynamic_config is False

    def _restart_or_defer(self, server: Server, pending: list[str], result: ApplyResult) -> None:
        if self.restart == "never":
            result.pending_restart[server.name] = pending
            detail = f"{', '.join(pending)} wait for a restart (--restart never)"
            self.progress(Event(server.name, "restart", Phase.NOTE, detail))
            return
        group = self.env.resource_group
        restart = self.clients.postgres.servers.begin_restart
        # The restart's operation ends when the server is back; the final re-plan reads its state.
        self._operation(server.name, f"restart for {', '.join(pending)}", restart, group, server.name)
        result.restarted.append(server.name)

    def _until_ready(self, name: str, found: Any) -> None:
        """Wait while the server is busy, starting from ``found`` (the server as its operation's final GET
        returned it): no request at all when that says it is no longer busy."""
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        group = self.env.resource_group
        while (state := sdk_text(found.state)) in BUSY_STATES:
            if time.monotonic() > deadline:
                raise PgflexError(f"{name}: still {state} after {READY_TIMEOUT_SECONDS:.0f} s")
            time.sleep(self.poll_seconds)
            found = self.retry.call(name, "read state", lambda: self.clients.postgres.servers.get(group, name))

    def _network_ids(self, server: Server) -> dict[str, str]:
        access = server.access
        if not isinstance(access, PrivateAccess):
            return {}
        base = self._network_base()
        created = access.subnet.create
        subnet = access.subnet.id or (
            f"{base}/virtualNetworks/{created.vnet}/subnets/{created.name}" if created else ""
        )
        zone = access.private_dns_zone.id or f"{base}/privateDnsZones/{access.private_dns_zone.zone_name}"
        return {"subnet": subnet, "zone": zone}

    def _network_base(self) -> str:
        """The id prefix of the environment's network objects (they live in its resource group)."""
        sub, group = self.env.subscription, self.env.resource_group
        return f"/subscriptions/{sub}/resourceGroups/{group}/providers/Microsoft.Network"


def passwords_for(env: Environment, plan: Plan, clients: AzureClients) -> dict[str, str]:
    """Administrator passwords apply sends (environment or Key Vault): of each server it creates with password
    authentication, and of each whose password authentication it turns on. An Entra-only server has none.

    Read before any write, so that a missing variable or secret stops apply with nothing half-built.
    """
    sending = {server.name for server in plan.servers for change in server.pending if _sends_password(server, change)}
    return {
        name: resolve_password(env.server(name), clients)
        for name in sorted(sending)
        if env.server(name).administrator is not None
    }


def _sends_password(server: ServerPlan, change: Change) -> bool:
    if change.kind is not Kind.SERVER:
        return False
    turned_on = change.name == f"{server.name}.{PASSWORD_AUTH}" and change.after is True
    return change.action is Action.CREATE or turned_on


def apply_plan(
    env: Environment,
    clients: AzureClients,
    plan: Plan,
    *,
    restart: RestartMode = "auto",
    parallelism: int = 4,
    verify: bool = True,
    progress: Progress | None = None,
    retry: RetryPolicy | None = None,
    check_stale: bool = True,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS,
    rollout: Rollout | None = None,
) -> ApplyResult:
    """Run ``plan`` under the environment's lease, first checking that the world still looks as it did when it
    was made (a saved plan) or planning again (``check_stale=False``: a plan made a moment ago in the same call,
    but maybe before another apply wrote). ``lock_timeout``: seconds to wait for another apply's lease.
    ``rollout``: apply in waves, each verified before the next (engine/rollout.py), all under the one lease.
    """
    from .lease import Lease  # here: the lease builds on this module's progress events

    if check_stale or plan.saved:
        # A saved plan is bound to its inputs and never trusted for values (pgflex.engine.saved): refused, before
        # any write, unless the plan computed again now is the same; that plan runs, checked once more under the
        # lease. A plan read from a document is checked whatever check_stale says.
        label = "the saved plan" if plan.saved else "the plan"
        plan = recheck(env, clients, plan, label=label, parallelism=parallelism, retry=retry)
        verify, check_stale = plan.verify, True
    passwords = passwords_for(env, plan, clients)
    run = partial(_run, env, clients, restart=restart, parallelism=parallelism, verify=verify, retry=retry)
    run = partial(run, progress=progress, rollout=rollout)
    if not plan.has_changes or plan.errors:
        # Nothing to write, or nothing that may be written: no lease, and so not one write request.
        return run(plan, passwords, check_stale=check_stale)
    lease = Lease(env, clients, operation="apply", lock_timeout=lock_timeout, retry=retry, progress=progress)
    with lease:
        if lease.created_group:
            # The group did not exist when the lease was taken: nobody can have applied anything since the plan.
            check_stale = False
        elif not check_stale:
            # Another run may have written since the plan: read again what this one is about to write to (the
            # servers with changes, the group and the network); the others keep their entries, so it applies no
            # more than the plan it showed, at 2 reads per changed server instead of per server.
            pending = [server.name for server in plan.servers if server.pending]
            plan = replan(env, clients, plan, pending, parallelism=parallelism, retry=retry)
            passwords = passwords_for(env, plan, clients)
        result = run(plan, passwords, check_stale=check_stale, group_created=lease.created_group)
        if lease.lost is not None:
            result.failures.append(
                f"the lease on {env.resource_group} was lost midway to {lease.lost}: "
                "another run may have written at the same time; check with pgflex drift"
            )
    result.lease_requests = lease.requests
    return result


def _run(
    env: Environment,
    clients: AzureClients,
    plan: Plan,
    passwords: dict[str, str],
    *,
    restart: RestartMode,
    parallelism: int,
    verify: bool,
    progress: Progress | None,
    retry: RetryPolicy | None,
    check_stale: bool,
    group_created: bool = False,
    rollout: Rollout | None = None,
) -> ApplyResult:
    if check_stale:
        current = plan_now(env, clients, parallelism=parallelism, verify=verify, retry=retry)
        if current.fingerprint != plan.fingerprint:
            raise StalePlanError(
                f"the plan is stale: what it observed has changed since it was made ({plan.fingerprint[:19]} → "
                f"{current.fingerprint[:19]}); make a new plan"
            )
    if plan.errors:
        raise ApplyError("the plan has errors it cannot apply:\n" + "\n".join(plan.errors))
    applier = Applier(
        env,
        clients,
        restart=restart,
        progress=progress,
        retry=retry,
        parallelism=parallelism,
        group_created=group_created,
    )
    from .rollout import run_waves, without_untouched  # it builds on this module

    result = applier.run(plan, passwords) if rollout is None else run_waves(applier, plan, passwords, rollout)
    # Nothing written: the plan it ran is still the truth. Otherwise look again at what was written to, and report
    # what differs; the servers of waves a rollout never reached still differ, as expected: they are reported as
    # untouched instead.
    if not result.writes:
        result.final_plan = without_untouched(plan, result.untouched)
        return result
    untouched = set(result.untouched)
    written = [server.name for server in plan.servers if server.pending and server.name not in untouched]
    try:
        final = replan(env, clients, plan, written, parallelism=parallelism, retry=retry)
        result.final_plan = without_untouched(final, result.untouched)
    except AzureOperationError as error:
        # The writes are done and stay in the result; what is unknown is whether the environment matches.
        writes = f"{result.writes} write request(s)"
        result.failures.append(f"the final re-plan after {writes} could not read the environment: {error}")
    return result
