"""The emulator's backend: every resource family (and Key Vault secrets) over one store, one runner and one
data plane."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..settings import DEFAULT_SUBSCRIPTION, DEFAULT_TENANT, Tuning
from ..store import Store
from .administrators import Administrators
from .configurations import Configurations
from .context import Context, ServerRuntime
from .databases import Databases
from .firewall import FirewallRules
from .generic_resources import GenericResources
from .ids import SERVER_TYPE
from .keyvault import KeyVault
from .network import Networks
from .operations import OperationRunner
from .privatedns import PrivateDns
from .resources import ResourceGroups
from .server_network import ADDRESS
from .server_reads import ServerReads
from .servers import ENDPOINT, RUNNING_VERSION, Servers
from .service import ServiceInfo
from .threat_protection import ThreatProtection

log = logging.getLogger("pgflex.emulator")


class Backend:
    def __init__(self, store: Store, tuning: Tuning, runtime: ServerRuntime | None) -> None:
        self.store = store
        self.runner = OperationRunner(store)
        self.ctx = Context(store=store, runner=self.runner, tuning=tuning, runtime=runtime)
        self.networks = Networks(self.ctx)
        self.dns = PrivateDns(self.ctx)
        self.servers = Servers(self.ctx, self.networks, self.dns)
        self.resource_groups = ResourceGroups(self.ctx, self.servers.delete_contents)
        self.configurations = Configurations(self.ctx, self.servers)
        self.firewall_rules = FirewallRules(self.ctx, self.servers)
        # Subresources of servers written as long-running operations (models.children).
        self.administrators = Administrators(self.ctx, self.servers)
        self.databases = Databases(self.ctx, self.servers)
        self.threat_protection = ThreatProtection(self.ctx, self.servers)
        self.servers.on_create(self.databases.add_system_databases)
        self.server_reads = ServerReads(self.ctx, self.servers)
        self.generic_resources = GenericResources(self.ctx)
        self.service = ServiceInfo(self.ctx, self.servers)
        self.keyvault = KeyVault(store)
        self.resource_groups.ensure_subscription(DEFAULT_SUBSCRIPTION, DEFAULT_TENANT, "pgflex emulator sandbox")

    @property
    def tuning(self) -> Tuning:
        return self.ctx.tuning

    @property
    def runtime(self) -> ServerRuntime | None:
        return self.ctx.runtime

    @contextmanager
    def mutation(self) -> Iterator[None]:
        """One request's writes: committed together, then their operations start."""
        try:
            with self.store.transaction():
                yield
        except BaseException:
            self.runner.discard_pending()
            raise
        self.runner.flush()

    async def recover(self) -> None:
        """After a start: bring running servers back, then finish the operations left in flight."""
        await self.servers.restart_data_planes()
        resumed = self.runner.resume()
        if resumed:
            log.info("resumed %d operations that were in flight", resumed)

    async def shutdown(self) -> None:
        self.runner.cancel_all()
        await asyncio.sleep(0)
        if self.runtime is not None:
            await asyncio.to_thread(self.runtime.shutdown_all)

    def endpoints(self) -> dict[str, dict[str, Any]]:
        """How a local client reaches each server: FQDN (and private zone name) -> address and port."""
        result: dict[str, dict[str, Any]] = {}
        for server in self.store.of_type(SERVER_TYPE):
            name = server.body["name"]
            properties = server.body["properties"]
            # Records written before namespaces existed hold [host, port].
            host, port, namespace = [*(server.private.get(ENDPOINT) or [None, None]), None][:3]
            entry = {
                "server": name,
                "id": server.body["id"],
                "state": properties["state"],
                "host": host,
                "port": port,
                "publicNetworkAccess": properties["network"].get("publicNetworkAccess"),
                "requestedVersion": properties["version"],
                # The system's PostgreSQL may lack the requested major version; say which one runs.
                "runningVersion": server.private.get(RUNNING_VERSION),
            }
            if namespace:
                # A private server in its virtual network's namespace: clients connect from inside it.
                entry["namespace"] = namespace
            result[properties["fullyQualifiedDomainName"]] = entry
            zone = self.servers.zone_for(server)
            if zone is not None:
                result[f"{name}.{zone.body['name']}"] = {
                    **entry,
                    "privateAddress": server.private.get(ADDRESS),
                }
        return result
