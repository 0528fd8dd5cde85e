"""Constants of the spec: the values Azure and PostgreSQL allow, named once for every spec module."""

from __future__ import annotations

from typing import Literal

API_VERSION = "pgflex/v1"

Cloud = Literal["local", "AzureCloud", "AzureUSGovernment", "AzureChinaCloud"]
PostgresVersion = Literal["11", "12", "13", "14", "15", "16", "17", "18"]
SkuTier = Literal["Burstable", "GeneralPurpose", "MemoryOptimized"]
HighAvailabilityMode = Literal["Disabled", "SameZone", "ZoneRedundant"]
TlsVersion = Literal["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
PolicyRule = Literal["tls-below-1.2", "insecure-transport", "open-to-internet"]

TLS_VERSIONS: tuple[TlsVersion, ...] = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
# RFC 8996 deprecates TLS 1.0 and 1.1; Azure's ssl_min_protocol_version only offers TLSv1.2 and TLSv1.3.
MIN_SAFE_TLS: TlsVersion = "TLSv1.2"
DEFAULT_MIN_TLS: TlsVersion = "TLSv1.2"

STORAGE_SIZES_GB: tuple[int, ...] = (32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32767)

# Host names and private DNS zones of Flexible Server end in this suffix, per cloud. The emulator
# ("local") imitates the public cloud.
POSTGRES_DNS_SUFFIX: dict[str, str] = {
    "local": "postgres.database.azure.com",
    "AzureCloud": "postgres.database.azure.com",
    "AzureUSGovernment": "postgres.database.usgovcloudapi.net",
    "AzureChinaCloud": "postgres.database.chinacloudapi.cn",
}

# Server parameters that `parameters:` may not set: the TLS ones have a typed home under `tls:`, and
# the rest are read-only on Flexible Server (the service manages certificates and ciphers).
TLS_PARAMETERS: dict[str, str] = {
    "require_secure_transport": "tls.requireSecureTransport",
    "ssl_min_protocol_version": "tls.minVersion",
    "ssl_max_protocol_version": "tls.maxVersion",
}
READ_ONLY_PARAMETERS: frozenset[str] = frozenset(
    {
        "ssl",
        "ssl_ciphers",
        "ssl_cert_file",
        "ssl_key_file",
        "ssl_ca_file",
        "ssl_crl_file",
        "ssl_crl_dir",
        "ssl_dh_params_file",
        "ssl_ecdh_curve",
        "ssl_library",
        "ssl_passphrase_command",
        "ssl_passphrase_command_supports_reload",
        "ssl_prefer_server_ciphers",
    }
)
RESERVED_ADMIN_LOGINS: frozenset[str] = frozenset(
    {"azure_superuser", "azure_pg_admin", "admin", "administrator", "root", "guest", "public"}
)

AZURE_SERVICES_IP = "0.0.0.0"  # noqa: S104 - Azure's marker range 0.0.0.0-0.0.0.0, not a bind address
