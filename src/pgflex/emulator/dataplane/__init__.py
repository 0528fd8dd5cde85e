"""The emulator's data plane: a real, TLS-only PostgreSQL for every emulated Flexible Server."""

from pgflex.emulator.dataplane.binaries import DataPlaneUnavailable, PostgresInstall, discover_installs
from pgflex.emulator.dataplane.bootstrap import ALLOW_LIST_MESSAGE
from pgflex.emulator.dataplane.cluster import DataPlaneError
from pgflex.emulator.dataplane.config import AZURE_SSL_CIPHERS
from pgflex.emulator.dataplane.databases import Database
from pgflex.emulator.dataplane.entra import EntraAdministrator
from pgflex.emulator.dataplane.manager import DataPlane
from pgflex.emulator.dataplane.placement import Endpoint, PrivateNetwork, namespace_prefix
from pgflex.emulator.dataplane.watchdog import WATCHDOG_INTERVAL_S, ServerHealth

__all__ = [
    "ALLOW_LIST_MESSAGE",
    "AZURE_SSL_CIPHERS",
    "WATCHDOG_INTERVAL_S",
    "DataPlane",
    "DataPlaneError",
    "DataPlaneUnavailable",
    "Database",
    "Endpoint",
    "EntraAdministrator",
    "PostgresInstall",
    "PrivateNetwork",
    "ServerHealth",
    "discover_installs",
    "namespace_prefix",
]
