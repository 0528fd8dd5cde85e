"""Azure SDK clients for an environment: the only place pgflex builds them.

Real clouds use DefaultAzureCredential (environment service principal, workload identity
federation, managed identity, az login). ``cloud: local`` uses the embedded emulator, started
when none runs, with its managed-identity endpoint and CA. Every request waits for a token of
Resource Manager's rate limits and is counted where it leaves (pgflex.azure.wire).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from azure.core.credentials import AccessToken, TokenCredential

from pgflex.emulator.client import ARM_RESOURCE, AdminClient, EmulatorRequestFailed, RunningEmulator

from .ratelimit import KINDS, LIMITER, Limit
from .wire import MeteredTransport, RequestCounter

if TYPE_CHECKING:
    # Imported where a client is first built: azure-mgmt-network alone takes about 0.2 s to import, and
    # many runs (a plan of public servers, verify reading a Key Vault secret) never use it.
    from azure.mgmt.network import NetworkManagementClient
    from azure.mgmt.postgresqlflexibleservers import PostgreSQLManagementClient
    from azure.mgmt.privatedns import PrivateDnsManagementClient
    from azure.mgmt.resource.resources import ResourceManagementClient

ClientT = TypeVar("ClientT")

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


class EmulatorCredential(TokenCredential):
    """Tokens from the emulator's managed-identity endpoint, without touching os.environ."""

    def __init__(self, emulator: RunningEmulator) -> None:
        self.admin = AdminClient(emulator)

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        # The audience the client asks for: Key Vault's for a SecretClient, Resource Manager's otherwise.
        resource = scopes[0].removesuffix("/.default") if scopes else ARM_RESOURCE
        token, expires_on = self.admin.token_and_expiry(resource)
        return AccessToken(token, int(expires_on))


class AzureClients:
    """The Resource Manager clients of one subscription, each built on first use (see the imports above)."""

    def __init__(
        self,
        subscription: str,
        cloud: str,
        credential: TokenCredential,
        counter: RequestCounter,
        options: dict[str, Any],
        emulator: RunningEmulator | None = None,
        polling_interval: float = DEFAULT_POLLING_INTERVAL,
    ) -> None:
        self.subscription = subscription
        self.cloud = cloud
        # The identity behind the clients; Key Vault secrets are read with it too (pgflex.azure.secrets).
        self.credential = credential
        self.counter = counter
        self.emulator = emulator
        self.polling_interval = polling_interval
        self._options = options  # endpoint, audience, polling, the transport that paces and counts
        self._built: dict[str, Any] = {}
        self._lock = threading.Lock()  # observe reads the clients from many threads

    def _client(self, name: str, build: Callable[[], ClientT]) -> ClientT:
        with self._lock:
            if name not in self._built:
                self._built[name] = build()
            client: ClientT = self._built[name]
            return client

    @property
    def postgres(self) -> PostgreSQLManagementClient:
        def build() -> PostgreSQLManagementClient:
            from azure.mgmt.postgresqlflexibleservers import PostgreSQLManagementClient

            return PostgreSQLManagementClient(self.credential, self.subscription, **self._options)

        return self._client("postgres", build)

    @property
    def resources(self) -> ResourceManagementClient:
        def build() -> ResourceManagementClient:
            from azure.mgmt.resource.resources import ResourceManagementClient

            return ResourceManagementClient(self.credential, self.subscription, **self._options)

        return self._client("resources", build)

    @property
    def network(self) -> NetworkManagementClient:
        def build() -> NetworkManagementClient:
            from azure.mgmt.network import NetworkManagementClient

            return NetworkManagementClient(self.credential, self.subscription, **self._options)

        return self._client("network", build)

    @property
    def dns(self) -> PrivateDnsManagementClient:
        def build() -> PrivateDnsManagementClient:
            from azure.mgmt.privatedns import PrivateDnsManagementClient

            return PrivateDnsManagementClient(self.credential, self.subscription, **self._options)

        return self._client("dns", build)


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
    try:
        settings = EmulatorSettings()  # the port: $PGFLEX_EMULATOR_PORT, else 4590
    except ValueError as invalid:
        raise daemon.EmulatorStartFailed(str(invalid)) from None
    return daemon.start(settings)


def _pooled_transport(counter: RequestCounter, verify: str | bool = True, paced: bool = True) -> MeteredTransport:
    """One HTTP session for all clients, with room for as many connections as observe uses threads, paced by
    the process's rate limits (unless ``paced`` is false) and counted by ``counter`` (pgflex.azure.wire).

    ``verify`` is the CA bundle: with a transport of its own, a client's connection_verify is not used.
    """
    import requests
    from azure.core.pipeline.transport import RequestsTransport

    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=64)
    session.mount("https://", adapter)
    transport = RequestsTransport(session=session, session_owner=False, connection_verify=verify)
    return MeteredTransport(transport, counter, LIMITER if paced else None)


def _prime_emulator_limits(emulator: RunningEmulator, admin: AdminClient) -> None:
    """The emulator's token buckets are its tuning (``throttle_<kind>_burst``, ``..._per_second``), as Resource
    Manager's are its documentation: the process's buckets for it start from them."""
    try:
        tuning = admin.settings()
    except (OSError, EmulatorRequestFailed):
        return  # the documented limits, and the headers, will do
    limits = {}
    for kind in KINDS:
        burst, per_second = tuning.get(f"throttle_{kind}_burst"), tuning.get(f"throttle_{kind}_per_second")
        if isinstance(burst, int | float) and isinstance(per_second, int | float) and per_second > 0:
            limits[kind] = Limit(float(burst), float(per_second))
    LIMITER.prime(emulator.base_url, limits)


def connect(
    cloud: str,
    subscription: str,
    *,
    polling_interval: float | None = None,
    credential: TokenCredential | None = None,
    rate_limit: bool = True,
) -> AzureClients:
    """Clients for one subscription of one cloud (``local`` = the embedded emulator).

    ``rate_limit=False`` sends each request at once instead of waiting for a token of Resource Manager's rate
    limits (still counted): only to measure what the limiter saves (benchmarks/bench_fleet.py), since under load
    Resource Manager then answers 429s, which pgflex retries after their Retry-After."""
    counter = RequestCounter()
    # One retry policy, pgflex's (pgflex.azure.retry), owns every retry: azure-core's own RetryPolicy would
    # otherwise retry 429 and 5xx up to 3 times (10 in all) inside each attempt, multiplying attempts, adding
    # its own backoff (up to 120 s) outside pgflex's cap, and hiding how many requests a failure took.
    options: dict[str, Any] = {"retry_total": 0}
    emulator = None
    verify: str | bool = True
    if cloud == "local":
        emulator = local_emulator()
        base_url = emulator.base_url
        credential = credential or EmulatorCredential(emulator)
        admin = credential.admin if isinstance(credential, EmulatorCredential) else AdminClient(emulator)
        _prime_emulator_limits(emulator, admin)
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
        transport=_pooled_transport(counter, verify, paced=rate_limit),
    )
    if cloud == "local":
        # The emulator accepts Resource Manager's usual audience.
        options["credential_scopes"] = ["https://management.azure.com/.default"]
    return AzureClients(
        subscription=subscription,
        cloud=cloud,
        credential=credential,
        counter=counter,
        options=options,
        emulator=emulator,
        polling_interval=interval,
    )
