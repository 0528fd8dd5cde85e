"""Running an emulator for tests and building unmodified Azure SDK clients against it.

Clients change nothing but the endpoint, the CA bundle (through REQUESTS_CA_BUNDLE) and the
polling interval; credentials come from DefaultAzureCredential reading the identity variables.
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from azure.identity import DefaultAzureCredential
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.postgresqlflexibleservers import PostgreSQLManagementClient
from azure.mgmt.privatedns import PrivateDnsManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.resource.subscriptions import SubscriptionClient

from pgflex.emulator import daemon
from pgflex.emulator.client import AdminClient, RunningEmulator
from pgflex.emulator.settings import DEFAULT_SUBSCRIPTION, EmulatorSettings, Tuning

POLLING_INTERVAL = 0.05
# Resource Manager's bucket sizes and refill rates, which the emulator fixture restores after every test.
THROTTLE_DEFAULTS = {name: value for name, value in Tuning().as_dict().items() if name.startswith("throttle_")}


@dataclass
class Clients:
    resources: ResourceManagementClient
    subscriptions: SubscriptionClient
    postgres: PostgreSQLManagementClient
    network: NetworkManagementClient
    dns: PrivateDnsManagementClient
    subscription_id: str = DEFAULT_SUBSCRIPTION


@dataclass
class EmulatorHandle:
    state_dir: Path
    settings: EmulatorSettings
    record_path: Path
    running: RunningEmulator | None = None
    _record_offset: int = field(default=0)
    _admin: AdminClient | None = field(default=None, repr=False)

    def start(self) -> RunningEmulator:
        self.running = daemon.start(self.settings)
        # Restarts keep the port, so clients and their environment stay valid, as with a fixed port.
        self.settings.port = int(self.running.base_url.rsplit(":", 1)[1])
        return self.running

    def stop(self) -> None:
        daemon.stop(self.state_dir)
        self.running = None

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash."""
        assert self.running is not None
        os.kill(self.running.pid, signal.SIGKILL)
        with suppress(ChildProcessError):
            os.waitpid(self.running.pid, 0)
        self.running = None

    @property
    def base_url(self) -> str:
        assert self.running is not None
        return self.running.base_url

    def admin(self) -> AdminClient:
        """One admin client (one token) per running process, so stats count only what tests cause."""
        assert self.running is not None
        if self._admin is None or self._admin.emulator is not self.running:
            self._admin = AdminClient(self.running)
        return self._admin

    def tune(self, **changes: Any) -> None:
        self.admin().settings(changes)

    def reset_request_count(self) -> None:
        self.admin().reset_stats()

    def add_subscription(self, subscription_id: str, display_name: str) -> None:
        """Register another subscription (a GUID): listed by ``subscriptions.list()``, holding its own
        resource groups and servers, with its own throttle buckets. Calling it again renames it."""
        self.admin().add_subscription(subscription_id, display_name)

    def request_count(self, kind: str = "arm") -> int:
        """Resource Manager requests the emulator received since the last reset (admin calls excluded).

        Keys: ``arm`` (every request), ``arm.reads`` / ``arm.writes`` / ``arm.deletes`` (by bucket kind),
        ``arm.throttled`` (429s the throttle answered: buckets empty), ``faults.<name>`` (injected faults),
        ``identity`` (token requests), ``keyvault``."""
        return int(self.admin().stats().get(kind, 0))

    def environment(self) -> dict[str, str]:
        assert self.running is not None
        return self.running.client_environment()

    @contextmanager
    def client_environment(self) -> Iterator[None]:
        saved = {k: os.environ.get(k) for k in self.environment()}
        os.environ.update(self.environment())
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def clients(self, subscription_id: str = DEFAULT_SUBSCRIPTION) -> Clients:
        """SDK clients as a user would build them after ``eval "$(pgflex emulator env)"``, for
        ``subscription_id`` (another one must be added first: ``add_subscription``)."""
        credential = DefaultAzureCredential()
        options: dict[str, Any] = {
            "base_url": self.base_url,
            "credential_scopes": ["https://management.azure.com/.default"],
            "polling_interval": POLLING_INTERVAL,
        }
        return Clients(
            resources=ResourceManagementClient(credential, subscription_id, **options),
            subscriptions=SubscriptionClient(credential, **options),
            postgres=PostgreSQLManagementClient(credential, subscription_id, **options),
            network=NetworkManagementClient(credential, subscription_id, **options),
            dns=PrivateDnsManagementClient(credential, subscription_id, **options),
            subscription_id=subscription_id,
        )

    def new_record_lines(self) -> list[str]:
        """Recorded exchanges since the last call."""
        if not self.record_path.exists():
            return []
        with self.record_path.open() as handle:
            handle.seek(self._record_offset)
            text = handle.read()
            self._record_offset = handle.tell()
        return [line for line in text.splitlines() if line.strip()]


def make_handle(state_dir: Path, *, data_plane: bool, **tuning: Any) -> EmulatorHandle:
    record_path = state_dir / "exchanges.jsonl"
    defaults: dict[str, Any] = {"operation_seconds": 0.05, "retry_after_seconds": 0, "data_plane": data_plane}
    settings = EmulatorSettings(
        state_dir=state_dir,
        port=0,
        record_path=record_path,
        tuning=Tuning(),
    )
    problems = settings.tuning.update({**defaults, **tuning})
    assert not problems, problems
    return EmulatorHandle(state_dir=state_dir, settings=settings, record_path=record_path)


SERVER_PASSWORD = "Emul4tor-Passw0rd!"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def server_body(
    location: str = "westeurope",
    *,
    version: str = "16",
    tier: str = "Burstable",
    sku: str = "Standard_B1ms",
    network: dict[str, Any] | None = None,
    password: str = SERVER_PASSWORD,
) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "administratorLogin": "pgadmin",
        "administratorLoginPassword": password,
        "version": version,
        "storage": {"storageSizeGB": 32},
    }
    if network is not None:
        properties["network"] = network
    return {"location": location, "sku": {"name": sku, "tier": tier}, "properties": properties}
