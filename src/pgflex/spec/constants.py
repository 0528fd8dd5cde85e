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

# --------------------------------------------------------------------------------------------------
# Server settings beyond TLS (the 2025-08-01 API's Backup, MaintenanceWindow, HighAvailability, Storage,
# AuthConfig; subresources administrators and databases).
# --------------------------------------------------------------------------------------------------

# Backup retention: 7 to 35 days, 7 by default (learn.microsoft.com, compute and storage options; the
# OpenAPI's default; Terraform's backup_retention_days validates the same range).
BACKUP_RETENTION_DAYS: tuple[int, int] = (7, 35)
DEFAULT_BACKUP_RETENTION_DAYS = 7

AvailabilityZone = Literal["1", "2", "3"]
AVAILABILITY_ZONES: tuple[AvailabilityZone, ...] = ("1", "2", "3")

Weekday = Literal["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
# In Azure's order: a day's index is the API's dayOfWeek (0 is Sunday, as in Terraform's day_of_week).
WEEKDAYS: tuple[Weekday, ...] = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")

# Premium SSD performance tiers per storage size, the size's default first: a tier may be raised above the
# default, up to P50 below 8 TiB and up to P80 from 8 TiB on (Terraform azurerm's storage-tier table, which
# the service enforces; the capabilities' supportedIopsTiers list the same per size). P1-P3 belong to disks
# smaller than 32 GiB, which Flexible Server does not offer.
StorageTier = Literal["P4", "P6", "P10", "P15", "P20", "P30", "P40", "P50", "P60", "P70", "P80"]
STORAGE_TIERS: tuple[StorageTier, ...] = ("P4", "P6", "P10", "P15", "P20", "P30", "P40", "P50", "P60", "P70", "P80")
STORAGE_TIERS_BY_SIZE_GB: dict[int, tuple[StorageTier, ...]] = {
    32: ("P4", "P6", "P10", "P15", "P20", "P30", "P40", "P50"),
    64: ("P6", "P10", "P15", "P20", "P30", "P40", "P50"),
    128: ("P10", "P15", "P20", "P30", "P40", "P50"),
    256: ("P15", "P20", "P30", "P40", "P50"),
    512: ("P20", "P30", "P40", "P50"),
    1024: ("P30", "P40", "P50"),
    2048: ("P40", "P50"),
    4096: ("P50",),
    8192: ("P60", "P70", "P80"),
    16384: ("P70", "P80"),
    32767: ("P80",),
}

# Microsoft Entra principals that may administer a server (the API's PrincipalType without "Unknown",
# which Terraform refuses too).
PrincipalType = Literal["User", "Group", "ServicePrincipal"]

# Databases every Flexible Server has: Azure's own (azure_maintenance, azure_sys), PostgreSQL's default
# database and its templates. A spec may not declare them, and pruning never deletes them.
SYSTEM_DATABASES: frozenset[str] = frozenset({"azure_maintenance", "azure_sys", "postgres", "template0", "template1"})
# Azure's defaults for a database created without them (Terraform's and az's defaults too).
DEFAULT_DATABASE_CHARSET = "UTF8"
DEFAULT_DATABASE_COLLATION = "en_US.utf8"
# PostgreSQL's server-side encodings (PostgreSQL docs, "Character Set Support", the table's Server column).
SERVER_ENCODINGS: frozenset[str] = frozenset(
    {
        "EUC_CN",
        "EUC_JP",
        "EUC_JIS_2004",
        "EUC_KR",
        "EUC_TW",
        "ISO_8859_5",
        "ISO_8859_6",
        "ISO_8859_7",
        "ISO_8859_8",
        "KOI8R",
        "KOI8U",
        "MULE_INTERNAL",
        "SQL_ASCII",
        "UTF8",
        *(f"LATIN{n}" for n in range(1, 11)),
        "WIN866",
        "WIN874",
        *(f"WIN{n}" for n in range(1250, 1259)),
    }
)
# Encodings PostgreSQL offers to clients only.
CLIENT_ONLY_ENCODINGS: frozenset[str] = frozenset({"BIG5", "GB18030", "GBK", "JOHAB", "SJIS", "SHIFT_JIS_2004", "UHC"})
