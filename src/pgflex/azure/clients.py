"""Azure SDK clients for an environment: the only place pgflex builds them.

Real clouds use DefaultAzureCredential (environment service principal, workload identity
federation, managed identity, az login). ``cloud: local`` uses the embedded emulator, started
when none runs, with its managed-identity endpoint and CA.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from azure.core.credentials import AccessToken, TokenCredential
from azure.core.pipeline import PipelineRequest
from azure.core.pipeline.policies import SansIOHTTPPolicy
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.postgresqlflexibleservers import PostgreSQLManagementClient
from azure.mgmt.privatedns import PrivateDnsManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient

from pgflex.emulator.client import AdminClient, RunningEmulator

# Resource Manager endpoint and token audience of each cloud pgflex knows.
CLOUD_ENDPOINTS = {
    "AzureCloud": "https://management.azure.com",
    "AzureUSGovernment": "https://management.usgovcloudapi.net",
    "AzureChinaCloud": "https://management.chinacloudapi.cn",
}
AUTHORITY_HOSTS = {
    "AzureCloud": "login.microsoftonline.com",
    "AzureUSGovernment": "login.microsoftonline.us",
    "AzureChinaCloud": "login.chinacloudapi.cn",
}
DEFAULT_POLLING_INTERVAL = 2.0


class RequestCounter(SansIOHTTPPolicy[Any, Any]):
    """Counts Resource Manager requests (retries included), for reports and benchmarks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reads = 0
        self.writes = 0

    def on_request(self, request: PipelineRequest[Any]) -> None:
        with self._lock:
            if request.http_request.method in ("GET", "HEAD"):
                self.reads += 1
            else:
                self.writes += 1

    @property
    def total(self) -> int:
        return self.reads + self.writes


class EmulatorCredential(TokenCredential):
    """Tokens from the emulator's managed-identity endpoint, without touching os.environ."""

    def __init__(self, emulator: RunningEmulator) -> None:
        self._admin = AdminClient(emulator)

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        token = self._admin.token()
        return AccessToken(token, int(time.time()) + 3000)


@dataclass
class AzureClients:
    subscription: str
    cloud: str
    postgres: PostgreSQLManagementClient
    resources: ResourceManagementClient
    network: NetworkManagementClient
    dns: PrivateDnsManagementClient
    counter: RequestCounter
    # The identity behind the clients; Key Vault secrets are read with it too (pgflex.azure.secrets).
    credential: TokenCredential
    emulator: RunningEmulator | None = None
    polling_interval: float = DEFAULT_POLLING_INTERVAL


def _credential(cloud: str) -> TokenCredential:
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(authority=AUTHORITY_HOSTS[cloud])


def local_emulator() -> RunningEmulator:
    """The emulator serving the default state dir; started when none runs."""
    from pgflex.emulator import daemon
    from pgflex.emulator.client import find
    from pgflex.emulator.settings import EmulatorSettings, default_state_dir

    running = find(default_state_dir())
    if running is not None:
        return running
    return daemon.start(EmulatorSettings())


def _pooled_transport(verify: str | bool = True) -> Any:
    """One HTTP session for all clients, with room for as many connections as observe uses threads.

    ``verify`` is the CA bundle: with a transport of its own, a client's connection_verify is not used.
    """
    import requests
    from azure.core.pipeline.transport import RequestsTransport

    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=64)
    session.mount("https://", adapter)
    return RequestsTransport(session=session, session_owner=False, connection_verify=verify)


def connect(
    cloud: str,
    subscription: str,
    *,
    polling_interval: float | None = None,
    credential: TokenCredential | None = None,
) -> AzureClients:
    """Clients for one subscription of one cloud (``local`` = the embedded emulator)."""
    counter = RequestCounter()
    options: dict[str, Any] = {"per_call_policies": [counter]}
    emulator = None
    verify: str | bool = True
    if cloud == "local":
        emulator = local_emulator()
        base_url = emulator.base_url
        credential = credential or EmulatorCredential(emulator)
        verify = str(emulator.trust_bundle)
        interval = polling_interval if polling_interval is not None else 0.2
    else:
        base_url = CLOUD_ENDPOINTS[cloud]
        credential = credential or _credential(cloud)
        interval = polling_interval if polling_interval is not None else DEFAULT_POLLING_INTERVAL
    options.update(
        base_url=base_url,
        credential_scopes=[f"{base_url}/.default"],
        polling_interval=interval,
        transport=_pooled_transport(verify),
    )
    if cloud == "local":
        # The emulator accepts Resource Manager's usual audience.
        options["credential_scopes"] = ["https://management.azure.com/.default"]
    return AzureClients(
        subscription=subscription,
        cloud=cloud,
        postgres=PostgreSQLManagementClient(credential, subscription, **options),
        resources=ResourceManagementClient(credential, subscription, **options),
        network=NetworkManagementClient(credential, subscription, **options),
        dns=PrivateDnsManagementClient(credential, subscription, **options),
        counter=counter,
        credential=credential,
        emulator=emulator,
        polling_interval=interval,
    )
