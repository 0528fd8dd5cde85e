"""The spec's data models.

Two families live here:

* the *document* models (`SpecDocument` and the `*Spec` classes) mirror `env.yaml` exactly. They carry
  the camelCase keys, the per-field checks (Azure naming rules, CIDR syntax, allowed values) and the
  descriptions from which `infra/env.schema.json` is generated;
* the *normalised* models (`Environment`, `Server`, ...) are what the engine consumes: `defaults`
  merged in, firewall rules as IPv4 start/end pairs, TLS versions and server parameters in Azure's
  spelling, password sources as references only.

Leaf models that need no normalisation (`Sku`, `Storage`, `SubnetRef`, ...) serve both families.
Every model is frozen and refuses unknown keys. Cross-field and policy checks live in `rules.py`.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Iterable
from datetime import date, datetime
from types import EllipsisType
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationInfo,
    WithJsonSchema,
    computed_field,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.json_schema import SkipJsonSchema

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


class SpecModel(BaseModel):
    """Base of every spec model: immutable, strict about keys, camelCase in YAML."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )


# --------------------------------------------------------------------------------------------------
# Field-level checks. Each raises ValueError with a message written for the person editing the YAML.
# --------------------------------------------------------------------------------------------------


def _pattern(regex: str, **extra: Any) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "pattern": regex, **extra})


def check_server_name(value: str) -> str:
    if not 3 <= len(value) <= 63:
        raise ValueError(f"server name {value!r} must be 3 to 63 characters long (it has {len(value)})")
    if not re.fullmatch(r"[a-z0-9-]+", value):
        raise ValueError(f"server name {value!r} may contain only lowercase letters, digits and hyphens")
    if value.startswith("-") or value.endswith("-"):
        raise ValueError(f"server name {value!r} must not start or end with a hyphen")
    return value


def check_subscription(value: str) -> str:
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        raise ValueError(f"subscription {value!r} is not a UUID such as 00000000-0000-0000-0000-000000000000") from None
    if len(value) != 36:  # uuid.UUID also accepts braces, urn: prefixes and missing hyphens
        raise ValueError(f"subscription {value!r} must be written as 8-4-4-4-12 hexadecimal digits")
    return str(parsed)


def check_resource_group(value: str) -> str:
    if not re.fullmatch(r"[-\w._()]{1,90}", value) or value.endswith("."):
        raise ValueError(
            f"resource group {value!r} must be 1 to 90 letters, digits, '-', '_', '.', '(' or ')' "
            "and must not end with '.'"
        )
    return value


def check_location(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9]+", value):
        raise ValueError(f"location {value!r} must be an Azure region name such as westeurope")
    return value


def check_environment_name(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}", value):
        raise ValueError(f"environment name {value!r} must be 1 to 63 letters, digits, '-' or '_'")
    return value


def check_admin_login(value: str) -> str:
    if not 1 <= len(value) <= 63:
        raise ValueError(f"administrator login must be 1 to 63 characters long (it has {len(value)})")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        raise ValueError(
            f"administrator login {value!r} must start with a letter or '_' and contain only letters, digits and '_'"
        )
    if value.lower() in RESERVED_ADMIN_LOGINS:
        raise ValueError(f"administrator login {value!r} is reserved by Azure; choose another name")
    if value.lower().startswith("pg_"):
        raise ValueError(f"administrator login {value!r} must not start with 'pg_' (reserved by PostgreSQL)")
    return value


def check_env_var_name(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        raise ValueError(f"{value!r} is not an environment variable name (letters, digits and '_')")
    return value


KEY_VAULT_SECRET_RE = re.compile(
    r"https://(?P<vault>[A-Za-z0-9-]{3,24})\.vault\.(?:azure\.net|usgovcloudapi\.net|azure\.cn)"
    r"/secrets/(?P<name>[A-Za-z0-9-]{1,127})(?:/(?P<version>[0-9a-fA-F]{32}))?/?"
)


def check_key_vault_secret(value: str) -> str:
    if not KEY_VAULT_SECRET_RE.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a Key Vault secret URI such as "
            "https://<vault>.vault.azure.net/secrets/<name>[/<version>]"
        )
    return value.rstrip("/")


def parse_ipv4(value: str) -> ipaddress.IPv4Address:
    """Parse one IPv4 address; the Flexible Server firewall has no IPv6 rules."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv4 address") from None
    if not isinstance(address, ipaddress.IPv4Address):
        raise ValueError(f"{value} is an IPv6 address; Flexible Server firewall rules are IPv4-only")
    return address


def parse_ipv4_network(value: str) -> ipaddress.IPv4Network:
    """Parse an IPv4 CIDR block, refusing host bits so that '10.0.0.1/24' is not silently widened."""
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError(f"{value!r} is not a CIDR block such as 10.0.0.0/24") from None
    if not isinstance(network, ipaddress.IPv4Network):
        raise ValueError(f"{value} is an IPv6 block; Flexible Server networking here is IPv4-only")
    if network.network_address != ipaddress.ip_address(value.split("/")[0]):
        raise ValueError(f"{value} has host bits set; did you mean {network}?")
    return network


def _check_ipv4(value: str) -> str:
    return str(parse_ipv4(value))


def _check_ipv4_network(value: str) -> str:
    parse_ipv4_network(value)
    return value


def check_firewall_rule_name(value: str) -> str:
    if not re.fullmatch(r"[-\w._]{1,128}", value):
        raise ValueError(f"firewall rule name {value!r} must be 1 to 128 letters, digits, '-', '_' or '.' (Azure)")
    return value


def check_azure_network_name(value: str) -> str:
    # Azure virtual network and subnet names: 1-80 chars, start alphanumeric, end alphanumeric or '_'.
    if not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,78}[A-Za-z0-9_])?", value):
        raise ValueError(
            f"{value!r} must be 1 to 80 letters, digits, '.', '-' or '_', starting with a letter or digit "
            "and ending with a letter, digit or '_'"
        )
    return value


def check_dns_zone_name(value: str) -> str:
    label = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
    if len(value) > 253 or not re.fullmatch(rf"{label}(?:\.{label})+", value):
        raise ValueError(f"{value!r} is not a lowercase DNS zone name")
    return value


SUBNET_ID_RE = re.compile(
    r"/subscriptions/(?P<subscription>[^/]+)/resourceGroups/(?P<resource_group>[^/]+)"
    r"/providers/Microsoft\.Network/virtualNetworks/(?P<vnet>[^/]+)/subnets/(?P<subnet>[^/]+)",
    re.IGNORECASE,  # ARM resource IDs are case-insensitive
)
DNS_ZONE_ID_RE = re.compile(
    r"/subscriptions/(?P<subscription>[^/]+)/resourceGroups/(?P<resource_group>[^/]+)"
    r"/providers/Microsoft\.Network/privateDnsZones/(?P<zone>[^/]+)",
    re.IGNORECASE,
)


def check_subnet_id(value: str) -> str:
    match = SUBNET_ID_RE.fullmatch(value)
    if match is None:
        raise ValueError(
            "subnet id must look like /subscriptions/<uuid>/resourceGroups/<rg>/providers/"
            "Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>"
        )
    _check_id_subscription(match["subscription"], "subnet id")
    return value


def check_dns_zone_id(value: str) -> str:
    match = DNS_ZONE_ID_RE.fullmatch(value)
    if match is None:
        raise ValueError(
            "private DNS zone id must look like /subscriptions/<uuid>/resourceGroups/<rg>/providers/"
            "Microsoft.Network/privateDnsZones/<zone>"
        )
    _check_id_subscription(match["subscription"], "private DNS zone id")
    return value


def _check_id_subscription(subscription: str, what: str) -> None:
    # Quotes nothing: the id may come whole from an environment variable, and messages never show such a
    # value (pgflex.spec.redaction takes out whole values, not pieces of them).
    try:
        check_subscription(subscription)
    except ValueError:
        raise ValueError(f"the subscription in the {what} is not a UUID (8-4-4-4-12 hexadecimal digits)") from None


def normalise_tls_version(value: object) -> object:
    """Accept 'TLSv1.2', 'tlsv1.2', 'TLS1.2' or '1.2' and return Azure's spelling ('TLSv1.2')."""
    if value is None or not isinstance(value, str):
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise ValueError(f"write TLS versions as strings such as TLSv1.2 (YAML read {value} as a number)")
        return value  # let the Literal check report the type
    match = re.fullmatch(r"(?:tls\s*v?)?1(?:\.([0-3]))?", value.strip(), re.IGNORECASE)
    if match is None:
        raise ValueError(f"unknown TLS version {value!r}; use TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3")
    minor = match.group(1)
    return "TLSv1" if minor in (None, "0") else f"TLSv1.{minor}"


def check_storage_size(value: int) -> int:
    if value not in STORAGE_SIZES_GB:
        larger = [size for size in STORAGE_SIZES_GB if size > value]
        hint = f"; the next size up is {larger[0]}" if larger else ""
        sizes = ", ".join(str(size) for size in STORAGE_SIZES_GB)
        raise ValueError(f"storage size {value} GiB is not offered by Azure (choose {sizes}){hint}")
    return value


def require_string(value: object) -> object:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(f'write the version as a string such as "16" (quote it; YAML read {value} as a number)')
    return value


def check_parameter_name(value: str) -> str:
    if value in TLS_PARAMETERS:
        raise ValueError(f"{value} is managed through {TLS_PARAMETERS[value]}; set it there, not in parameters")
    if value in READ_ONLY_PARAMETERS:
        raise ValueError(f"{value} is read-only on Flexible Server and cannot be set")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*(?:\.[a-z0-9_]+)*", value):
        raise ValueError(f"{value!r} is not a server parameter name (lowercase, digits, '_' and '.')")
    return value


ParameterValue = str | bool | int | float | list[str]


def check_parameter_value(value: object) -> ParameterValue:
    if isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    raise ValueError("a server parameter value must be a string, boolean, number or list of strings")


def check_not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value.strip()


def check_tag_name(value: str) -> str:
    if not 1 <= len(value) <= 512 or re.search(r"[<>%&\\?/]", value):
        raise ValueError(f"tag name {value!r} must be 1 to 512 characters without < > % & \\ ? /")
    return value


def check_tag_value(value: str) -> str:
    if len(value) > 256:
        raise ValueError(f"tag value must be at most 256 characters (it has {len(value)})")
    return value


ServerName = Annotated[
    str, AfterValidator(check_server_name), _pattern(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", minLength=3)
]
SubscriptionId = Annotated[
    str,
    AfterValidator(check_subscription),
    _pattern(
        r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|\$\{[A-Za-z_][A-Za-z0-9_]*\})$"
    ),
]
ResourceGroupName = Annotated[str, AfterValidator(check_resource_group), _pattern(r"^[-\w._()]{0,89}[-\w_()]$")]
LocationName = Annotated[str, AfterValidator(check_location), _pattern(r"^[a-z0-9]+$")]
EnvironmentName = Annotated[str, AfterValidator(check_environment_name), _pattern(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")]
AdminLogin = Annotated[str, AfterValidator(check_admin_login), _pattern(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")]
EnvVarName = Annotated[str, AfterValidator(check_env_var_name), _pattern(r"^[A-Za-z_][A-Za-z0-9_]*$")]
KeyVaultSecretUri = Annotated[
    str,
    AfterValidator(check_key_vault_secret),
    _pattern(
        r"^https://[A-Za-z0-9-]{3,24}\.vault\.(azure\.net|usgovcloudapi\.net|azure\.cn)"
        r"/secrets/[A-Za-z0-9-]{1,127}(/[0-9a-fA-F]{32})?/?$"
    ),
]
Ipv4Address = Annotated[str, AfterValidator(_check_ipv4), WithJsonSchema({"type": "string", "format": "ipv4"})]
Ipv4Cidr = Annotated[str, AfterValidator(_check_ipv4_network), _pattern(r"^\d{1,3}(\.\d{1,3}){3}(/\d{1,2})?$")]
FirewallRuleName = Annotated[str, AfterValidator(check_firewall_rule_name), _pattern(r"^[-\w._]{1,128}$")]
AzureNetworkName = Annotated[
    str, AfterValidator(check_azure_network_name), _pattern(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
]
DnsZoneName = Annotated[str, AfterValidator(check_dns_zone_name), _pattern(r"^[a-z0-9.-]+$")]
# Schema patterns spell out both cases where ARM is case-insensitive (ECMA regexes have no inline flags).
SubnetId = Annotated[
    str,
    AfterValidator(check_subnet_id),
    _pattern(
        r"^/subscriptions/[^/]+/resource[Gg]roups/[^/]+/providers/[Mm]icrosoft\.[Nn]etwork"
        r"/virtual[Nn]etworks/[^/]+/subnets/[^/]+$"
    ),
]
DnsZoneId = Annotated[
    str,
    AfterValidator(check_dns_zone_id),
    _pattern(
        r"^/subscriptions/[^/]+/resource[Gg]roups/[^/]+/providers/[Mm]icrosoft\.[Nn]etwork/private[Dd]ns[Zz]ones/[^/]+$"
    ),
]
TlsVersionSetting = Annotated[
    TlsVersion,
    BeforeValidator(normalise_tls_version),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^([Tt][Ll][Ss] ?[Vv]?)?1(\.[0-3])?$",
            "examples": list(TLS_VERSIONS),
        }
    ),
]
OptionalTlsVersionSetting = Annotated[
    TlsVersionSetting | None,
    # The schema generator hides null for optional keys; here null is meaningful ("no maximum").
    WithJsonSchema(
        {
            "anyOf": [
                {
                    "type": "string",
                    "pattern": r"^([Tt][Ll][Ss] ?[Vv]?)?1(\.[0-3])?$",
                    "examples": list(TLS_VERSIONS),
                },
                {"type": "null"},
            ]
        }
    ),
]
StorageSizeGb = Annotated[
    int,
    AfterValidator(check_storage_size),
    WithJsonSchema({"type": "integer", "enum": list(STORAGE_SIZES_GB)}),
]
VersionSetting = Annotated[PostgresVersion, BeforeValidator(require_string)]
ParameterName = Annotated[str, AfterValidator(check_parameter_name), _pattern(r"^[a-z_][a-z0-9_]*(\.[a-z0-9_]+)*$")]
ParameterSetting = Annotated[
    ParameterValue,
    PlainValidator(check_parameter_value),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string"},
                {"type": "boolean"},
                {"type": "number"},
                {"type": "array", "items": {"type": "string"}},
            ]
        }
    ),
]
NonBlank = Annotated[str, AfterValidator(check_not_blank), WithJsonSchema({"type": "string", "minLength": 1})]


def check_iso_date(value: object) -> date:
    # Only a calendar date: pydantic would also read 86400 as 1970-01-02, and YAML reads 2027-01-31 as a date.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{value!r} is not a calendar date") from None
    raise ValueError(f"expected a date written YYYY-MM-DD, such as 2027-01-31, got {value!r}")


IsoDate = Annotated[date, PlainValidator(check_iso_date), WithJsonSchema({"type": "string", "format": "date"})]
TagName = Annotated[str, AfterValidator(check_tag_name)]
TagValue = Annotated[str, AfterValidator(check_tag_value)]


# --------------------------------------------------------------------------------------------------
# Leaf models shared by the document and the normalised model.
# --------------------------------------------------------------------------------------------------

# The VM family letter of each tier's SKUs: Standard_B1ms is Burstable, Standard_D2ds_v5 GeneralPurpose...
_SKU_FAMILY: dict[str, str] = {"Burstable": "B", "GeneralPurpose": "D", "MemoryOptimized": "E"}


class Sku(SpecModel):
    """Compute size. The name's family letter must match the tier.

    B is Burstable, D GeneralPurpose and E MemoryOptimized.
    """

    name: Annotated[str, _pattern(r"^Standard_[A-Za-z0-9_]+$")] = Field(
        description="Azure SKU name, e.g. Standard_B1ms, Standard_D2ds_v5, Standard_E4ds_v5."
    )
    tier: SkuTier = Field(description="Pricing tier: Burstable, GeneralPurpose or MemoryOptimized.")

    @model_validator(mode="after")
    def _family_matches_tier(self) -> Sku:
        match = re.fullmatch(r"Standard_([A-Za-z])[A-Za-z0-9_]*", self.name)
        if match is None:
            raise ValueError(f"SKU name {self.name!r} must look like Standard_B1ms or Standard_D2ds_v5")
        family = _SKU_FAMILY[self.tier]
        if match.group(1).upper() != family:
            raise ValueError(f"SKU {self.name} does not belong to tier {self.tier} (expected Standard_{family}...)")
        return self


class Storage(SpecModel):
    """Storage size and growth."""

    size_gb: StorageSizeGb = Field(
        description="Provisioned storage in GiB; one of Azure's sizes: " + ", ".join(map(str, STORAGE_SIZES_GB)) + "."
    )
    auto_grow: bool = Field(False, description="Let Azure grow storage when it runs low (default false).")


class HighAvailability(SpecModel):
    """High availability. Burstable servers support only Disabled."""

    mode: HighAvailabilityMode = Field(
        "Disabled", description="Disabled (default), SameZone or ZoneRedundant. Not available on Burstable."
    )


class Authentication(SpecModel):
    """Which authentication methods the server accepts."""

    password: bool = Field(True, description="PostgreSQL password authentication (default true).")
    entra: bool = Field(False, description="Microsoft Entra ID authentication (default false).")
    client_certificate: bool = Field(
        False,
        description="Always false: Flexible Server does not support client-certificate authentication.",
        json_schema_extra={"const": False},
    )

    @field_validator("client_certificate")
    @classmethod
    def _no_client_certificates(cls, value: bool) -> bool:
        if value:
            raise ValueError("Flexible Server does not support client-certificate authentication")
        return value


class SubnetCreate(SpecModel):
    """A virtual network and delegated subnet for pgflex to create (or adopt when they already match)."""

    vnet: AzureNetworkName = Field(description="Virtual network name, in the environment's resource group.")
    vnet_address_prefix: Ipv4Cidr = Field(description="Address space of the virtual network, e.g. 10.10.0.0/16.")
    name: AzureNetworkName = Field(
        description="Subnet name; pgflex delegates it to Microsoft.DBforPostgreSQL/flexibleServers."
    )
    address_prefix: Ipv4Cidr = Field(description="Subnet prefix inside vnetAddressPrefix, e.g. 10.10.1.0/24.")

    @field_validator("address_prefix")
    @classmethod
    def _inside_vnet(cls, value: str, info: ValidationInfo) -> str:
        vnet_prefix = info.data.get("vnet_address_prefix")
        if vnet_prefix is not None and not parse_ipv4_network(value).subnet_of(parse_ipv4_network(vnet_prefix)):
            raise ValueError(f"subnet prefix {value} is not inside the virtual network's {vnet_prefix}")
        return value


class SubnetRef(SpecModel):
    """The delegated subnet: an existing one by `id`, or one to `create`. Exactly one of the two."""

    model_config = ConfigDict(json_schema_extra={"oneOf": [{"required": ["id"]}, {"required": ["create"]}]})

    id: SubnetId | None = Field(
        None,
        description="Resource ID of an existing subnet: /subscriptions/<uuid>/resourceGroups/<rg>/providers/"
        "Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>.",
    )
    create: SubnetCreate | None = Field(None, description="A virtual network and subnet to create.")

    @model_validator(mode="after")
    def _exactly_one(self) -> SubnetRef:
        if (self.id is None) == (self.create is None):
            raise ValueError("set exactly one of id (an existing subnet) or create (a new one)")
        return self


class PrivateDnsZoneCreate(SpecModel):
    """A private DNS zone for pgflex to create and link to the server's virtual network."""

    name: DnsZoneName = Field(
        description="Zone name ending in .postgres.database.azure.com (other suffixes in sovereign clouds), "
        "e.g. dev.private.postgres.database.azure.com; "
        "it must not equal <server>.postgres.database.azure.com."
    )


class PrivateDnsZoneRef(SpecModel):
    """The private DNS zone: an existing one by `id`, or one to `create`. Exactly one of the two."""

    model_config = ConfigDict(json_schema_extra={"oneOf": [{"required": ["id"]}, {"required": ["create"]}]})

    id: DnsZoneId | None = Field(
        None,
        description="Resource ID of an existing zone: /subscriptions/<uuid>/resourceGroups/<rg>/providers/"
        "Microsoft.Network/privateDnsZones/<zone>.",
    )
    create: PrivateDnsZoneCreate | None = Field(None, description="A zone to create.")

    @model_validator(mode="after")
    def _exactly_one(self) -> PrivateDnsZoneRef:
        if (self.id is None) == (self.create is None):
            raise ValueError("set exactly one of id (an existing zone) or create (a new one)")
        return self

    @property
    def zone_name(self) -> str:
        """The zone's DNS name, whether referenced or created."""
        if self.create is not None:
            return self.create.name
        match = DNS_ZONE_ID_RE.fullmatch(self.id or "")
        return match["zone"].lower() if match else ""


class PolicyException(SpecModel):
    """A deliberate, explained exception to one of pgflex's security policies."""

    rule: PolicyRule = Field(
        description="tls-below-1.2 (TLS minimum below 1.2, RFC 8996), insecure-transport "
        "(requireSecureTransport false) or open-to-internet (a firewall rule covering every IPv4 address)."
    )
    reason: NonBlank = Field(description="Why the exception is acceptable; shown in plans.")
    expires: IsoDate | None = Field(
        None,
        description="The date the exception lapses (YYYY-MM-DD): from that day on it is a policy error in validate, "
        "plan and drift, until renewed or removed. `pgflex exceptions` lists the days left.",
    )


# --------------------------------------------------------------------------------------------------
# Document models: the shape of env.yaml.
# --------------------------------------------------------------------------------------------------


class PasswordSource(SpecModel):
    """Where the administrator password comes from; never the password itself. Exactly one key."""

    model_config = ConfigDict(
        json_schema_extra={"oneOf": [{"required": ["fromEnv"]}, {"required": ["keyVaultSecret"]}]}
    )

    from_env: EnvVarName | None = Field(
        None, description="Name of the environment variable holding the password, read at deploy time."
    )
    key_vault_secret: KeyVaultSecretUri | None = Field(
        None, description="Key Vault secret URI: https://<vault>.vault.azure.net/secrets/<name>[/<version>]."
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> PasswordSource:
        if (self.from_env is None) == (self.key_vault_secret is None):
            raise ValueError("set exactly one of fromEnv or keyVaultSecret")
        return self


class AdministratorSpec(SpecModel):
    """The server administrator account."""

    login: AdminLogin = Field(
        description="1-63 letters, digits or '_'; not azure_superuser, azure_pg_admin, admin, administrator, "
        "root, guest or public, and not starting with pg_."
    )
    password: PasswordSource = Field(
        description="{fromEnv: VAR} or {keyVaultSecret: URI}; a literal password is refused."
    )

    @field_validator("password", mode="before")
    @classmethod
    def _never_a_literal(cls, value: object) -> object:
        if isinstance(value, str | int | float):
            raise ValueError(
                "a literal password is not allowed; use {fromEnv: VAR} or "
                "{keyVaultSecret: https://<vault>.vault.azure.net/secrets/<name>}, never a literal"
            )
        return value


class TlsSpec(SpecModel):
    """TLS policy, applied as the server parameters require_secure_transport and ssl_*_protocol_version."""

    require_secure_transport: bool = Field(
        True,
        description="Refuse unencrypted connections (default true; false needs the exception insecure-transport).",
    )
    min_version: TlsVersionSetting = Field(
        DEFAULT_MIN_TLS,
        description="Lowest TLS version accepted: TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3. Default TLSv1.2 "
        "(Microsoft recommends TLSv1.3); below TLSv1.2 needs exception tls-below-1.2.",
    )
    max_version: OptionalTlsVersionSetting = Field(
        None, description="Highest TLS version accepted, or null for no maximum (default, recommended)."
    )


class FirewallRuleSpec(SpecModel):
    """A public firewall rule: `cidr`, or an inclusive `start`..`end` range. IPv4 only.

    The special range 0.0.0.0-0.0.0.0 means "allow connections from Azure services".
    """

    model_config = ConfigDict(json_schema_extra={"oneOf": [{"required": ["cidr"]}, {"required": ["start", "end"]}]})

    name: FirewallRuleName = Field(description="Rule name: 1-128 letters, digits, '-', '_' or '.'.")
    cidr: Ipv4Cidr | None = Field(
        None, description="IPv4 block without host bits, e.g. 203.0.113.0/24 (a bare address means /32)."
    )
    start: Ipv4Address | None = Field(None, description="First IPv4 address of the range.")
    end: Ipv4Address | None = Field(None, description="Last IPv4 address of the range (inclusive).")

    @field_validator("end")
    @classmethod
    def _end_not_before_start(cls, value: str | None, info: ValidationInfo) -> str | None:
        start = info.data.get("start")
        if value is not None and start is not None and parse_ipv4(value) < parse_ipv4(start):
            raise ValueError(f"end {value} is before start {start}")
        return value

    @model_validator(mode="after")
    def _one_form(self) -> FirewallRuleSpec:
        has_range = self.start is not None or self.end is not None
        if self.cidr is not None and has_range:
            raise ValueError("use either cidr or start/end, not both")
        if self.cidr is None and not has_range:
            raise ValueError("set cidr, or start and end")
        if has_range and (self.start is None or self.end is None):
            raise ValueError("a range needs both start and end")
        return self


class PublicAccessSpec(SpecModel):
    """Public access through the server's public endpoint, limited by firewall rules."""

    firewall_rules: list[FirewallRuleSpec] = Field(
        default_factory=list, description="Allowed client ranges; none means no client can connect."
    )


class PrivateAccessSpec(SpecModel):
    """Private access (VNet integration): the server lives in a delegated subnet, with no public endpoint."""

    subnet: SubnetRef = Field(description="The delegated subnet: {id: ...} or {create: {...}}.")
    private_dns_zone: PrivateDnsZoneRef = Field(
        description="The private DNS zone resolving the server name: {id: ...} or {create: {name: ...}}."
    )
    # Not part of the format; declared only so that the mistake gets a specific message.
    firewall_rules: SkipJsonSchema[Any] = Field(None, exclude=True)

    @field_validator("firewall_rules")
    @classmethod
    def _no_firewall(cls, value: object) -> object:
        raise ValueError(
            "firewall rules apply only to public access; a private (VNet-integrated) server has no public endpoint"
        )


class AccessSpec(SpecModel):
    """Network access: exactly one of `public` or `private`."""

    model_config = ConfigDict(json_schema_extra={"oneOf": [{"required": ["public"]}, {"required": ["private"]}]})

    public: PublicAccessSpec | None = Field(None, description="Public access with firewall rules.")
    private: PrivateAccessSpec | None = Field(None, description="Private access in a subnet.")

    @model_validator(mode="after")
    def _exactly_one(self) -> AccessSpec:
        if self.public is not None and self.private is not None:
            raise ValueError(
                "set either public or private access, not both (Azure refuses public access with VNet integration)"
            )
        if self.public is None and self.private is None:
            raise ValueError("set public or private access")
        return self


class ServerSettings(SpecModel):
    """Settings a server may inherit from `defaults`."""

    version: VersionSetting | None = Field(None, description='PostgreSQL major version as a string, "11" to "18".')
    sku: Sku | None = Field(None, description="Compute size: {name, tier}.")
    storage: Storage | None = Field(None, description="Storage: {sizeGb, autoGrow}.")
    high_availability: HighAvailability | None = Field(None, description="High availability: {mode}. Default Disabled.")
    tags: dict[TagName, TagValue] | None = Field(
        None, description="Azure resource tags (string values); merged with the defaults' tags."
    )
    administrator: AdministratorSpec | None = Field(
        None, description="Administrator account; required when password authentication is on."
    )
    authentication: Authentication | None = Field(None, description="Authentication methods. Default: password only.")
    tls: TlsSpec | None = Field(
        None, description="TLS policy. Default: requireSecureTransport true, minVersion TLSv1.2, no maximum."
    )
    parameters: dict[ParameterName, ParameterSetting] | None = Field(
        None,
        description="Other server parameters by Azure name. Booleans become on/off, numbers strings; "
        "azure.extensions takes a list. The TLS parameters go through tls, and read-only ones (ssl, "
        "ssl_ciphers, ...) are refused. Merged with the defaults' parameters.",
    )


class ServerDefaults(ServerSettings):
    """Settings merged under every server; a server's own values win (mappings merge key by key,
    except sku and administrator, which are replaced whole)."""


class ServerSpec(ServerSettings):
    """One Flexible Server."""

    name: ServerName = Field(
        description="Server name, globally unique: 3-63 lowercase letters, digits and hyphens, "
        "not starting or ending with a hyphen. The host name is <name>.postgres.database.azure.com."
    )
    access: AccessSpec = Field(
        description="Network access: {public: {firewallRules}} or {private: {subnet, privateDnsZone}}."
    )
    exceptions: list[PolicyException] = Field(
        default_factory=list, description="Policy exceptions for this server, each with a reason."
    )


class EnvironmentSpec(SpecModel):
    """Where the servers are deployed."""

    name: EnvironmentName = Field(description="Environment name, e.g. dev.")
    cloud: Cloud = Field(
        description="local (pgflex's embedded emulator), AzureCloud, AzureUSGovernment or AzureChinaCloud."
    )
    subscription: SubscriptionId = Field(description="Subscription ID (UUID), e.g. ${AZURE_SUBSCRIPTION_ID}.")
    resource_group: ResourceGroupName = Field(description="Resource group holding every resource pgflex creates.")
    location: LocationName = Field(description="Azure region, e.g. westeurope.")


class SpecDocument(SpecModel):
    """A pgflex environment: Azure Database for PostgreSQL Flexible Servers and their TLS posture.

    String values may use ${VAR} to read environment variables ($${ writes a literal ${).
    Top-level keys starting with x- are ignored (a home for YAML anchors).
    """

    model_config = ConfigDict(
        title="pgflex environment",
        # Top-level keys starting with x- are ignored: a place for YAML anchors shared by servers.
        json_schema_extra={"patternProperties": {"^x-": {}}},
    )

    api_version: Literal["pgflex/v1"] = Field(description="Format version; always pgflex/v1.")
    environment: EnvironmentSpec = Field(description="Target cloud, subscription, resource group and region.")
    defaults: ServerDefaults | None = Field(None, description="Settings merged under every server; server values win.")
    servers: list[ServerSpec] = Field(min_length=1, description="The servers, each with a unique name.")


# --------------------------------------------------------------------------------------------------
# Normalised models: what the engine consumes.
# --------------------------------------------------------------------------------------------------


class SourceLocation(SpecModel):
    """Where something was written, for messages raised after loading."""

    file: str
    line: int
    column: int
    key_path: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.key_path}"


class SecretRef(SpecModel):
    """A reference to a secret (an environment variable name or a Key Vault secret URI), never its value."""

    env_var: str | None = None
    key_vault_secret: str | None = None
    origin: SourceLocation

    def describe(self) -> str:
        return f"environment variable {self.env_var}" if self.env_var else f"Key Vault secret {self.key_vault_secret}"


class Administrator(SpecModel):
    login: str
    password: SecretRef


class TlsPolicy(SpecModel):
    require_secure_transport: bool
    min_version: TlsVersion
    max_version: TlsVersion | None

    def server_parameters(self) -> dict[str, str]:
        """The TLS policy as Azure server parameters (an empty ssl_max_protocol_version means no maximum)."""
        return {
            "require_secure_transport": "on" if self.require_secure_transport else "off",
            "ssl_min_protocol_version": self.min_version,
            "ssl_max_protocol_version": self.max_version or "",
        }


AZURE_SERVICES_IP = "0.0.0.0"  # noqa: S104 - Azure's marker range 0.0.0.0-0.0.0.0, not a bind address


class FirewallRule(SpecModel):
    """A firewall rule as Azure stores it (inclusive start/end), plus the form it was written in."""

    name: str
    start_ip: str
    end_ip: str
    written_as: str = Field(description="The rule as written: a CIDR block or 'start-end'.")

    @computed_field  # type: ignore[prop-decorator]  # shown in dumps, so plans can flag it
    @property
    def allows_azure_services(self) -> bool:
        return self.start_ip == AZURE_SERVICES_IP and self.end_ip == AZURE_SERVICES_IP

    @classmethod
    def from_spec(cls, spec: FirewallRuleSpec) -> FirewallRule:
        if spec.cidr is not None:
            network = parse_ipv4_network(spec.cidr)
            start, end = network.network_address, network.broadcast_address
            return cls(name=spec.name, start_ip=str(start), end_ip=str(end), written_as=spec.cidr)
        start_ip, end_ip = spec.start or "", spec.end or ""
        return cls(name=spec.name, start_ip=start_ip, end_ip=end_ip, written_as=f"{start_ip}-{end_ip}")


class PublicAccess(SpecModel):
    kind: Literal["public"] = "public"
    firewall_rules: tuple[FirewallRule, ...] = ()

    @computed_field  # type: ignore[prop-decorator]  # shown in dumps, so plans can flag it
    @property
    def allows_azure_services(self) -> bool:
        """True when the special 0.0.0.0-0.0.0.0 rule lets any Azure service connect."""
        return any(rule.allows_azure_services for rule in self.firewall_rules)


class PrivateAccess(SpecModel):
    kind: Literal["private"] = "private"
    subnet: SubnetRef
    private_dns_zone: PrivateDnsZoneRef


class AppliedException(SpecModel):
    """A policy exception that actually waived a violation, for plans to show."""

    rule: PolicyRule
    reason: str
    waived: str = Field(description="What the exception allowed, e.g. 'minVersion TLSv1.1'.")


class Server(SpecModel):
    """A server with defaults merged and every value normalised."""

    name: str
    version: PostgresVersion
    sku: Sku
    storage: Storage
    high_availability: HighAvailability
    tags: dict[str, str]
    administrator: Administrator | None
    authentication: Authentication
    tls: TlsPolicy
    parameters: dict[str, str] = Field(description="Server parameters in Azure spelling, TLS ones excluded.")
    access: Annotated[PublicAccess | PrivateAccess, Field(discriminator="kind")]
    exceptions: tuple[PolicyException, ...]
    applied_exceptions: tuple[AppliedException, ...]
    origin: SourceLocation

    @computed_field  # type: ignore[prop-decorator]  # shown in dumps, so plans can flag it
    @property
    def allows_azure_services(self) -> bool:
        return isinstance(self.access, PublicAccess) and self.access.allows_azure_services

    def desired_parameters(self) -> dict[str, str]:
        """Every server parameter pgflex manages: `parameters` plus the TLS policy."""
        return {**self.parameters, **self.tls.server_parameters()}

    def replace(self, **changes: Any) -> Server:
        """A copy with `changes` (a mapping updates a nested model key by key), validated as loading validates;
        `model_copy` does not validate. Raises SpecError. See pgflex.spec.derive."""
        from pgflex.spec.derive import replace_server

        return replace_server(self, changes)


class Environment(SpecModel):
    """A loaded, validated and normalised environment."""

    api_version: Literal["pgflex/v1"]
    name: str
    cloud: Cloud
    subscription: str
    resource_group: str
    location: str
    servers: tuple[Server, ...]
    source: str = Field(description="The file the environment was loaded from.")
    source_digest: str = Field(
        default="", description="sha256:<hex> of the file's bytes as loaded (pgflex.spec.digest); plans record it."
    )
    source_keys: tuple[tuple[str, str], ...] = Field(
        default=(),
        description="(key, sha256:<hex>) per top-level key of the file, as written (before ${VAR} interpolation).",
    )
    catalogue_issues: tuple[str, ...] = Field(
        default=(),
        description="Parameter problems the shipped catalogue found, as file:line:col messages, when loaded with "
        "defer_catalogue=True: plan reports them beside what it learns from Azure, so all are listed at once.",
    )
    expired_exceptions: tuple[str, ...] = Field(
        default=(),
        description="Policy exceptions past their expires date, as file:line:col messages, deferred with the "
        "catalogue's findings: plan reports them as plan errors (drift: unrepairable, exit 2).",
    )

    @property
    def is_local(self) -> bool:
        return self.cloud == "local"

    @property
    def dns_suffix(self) -> str:
        return POSTGRES_DNS_SUFFIX[self.cloud]

    def server(self, name: str) -> Server:
        for server in self.servers:
            if server.name == name:
                return server
        raise KeyError(name)

    def replace(self, **changes: Any) -> Environment:
        """A copy with `changes` (e.g. `servers=...`), validated as loading validates, TLS policy included;
        `model_copy` does not validate. Raises SpecError. See pgflex.spec.derive."""
        from pgflex.spec.derive import replace_environment

        return replace_environment(self, changes)

    def with_tls(
        self,
        *,
        min_version: str | EllipsisType = ...,
        max_version: str | EllipsisType | None = ...,
        require_secure_transport: bool | EllipsisType = ...,
        servers: Iterable[str] | None = None,
    ) -> Environment:
        """A copy with the TLS policy of `servers` (default: all) changed, validated like the spec (SpecError).
        `...` leaves a setting as it is (None is a value for max_version: no maximum)."""
        from pgflex.spec.derive import with_tls

        given: dict[str, Any] = {"min_version": min_version, "max_version": max_version}
        given["require_secure_transport"] = require_secure_transport
        return with_tls(self, servers=servers, **{key: value for key, value in given.items() if value is not ...})


def normalise_parameter(name: str, value: ParameterValue) -> str:
    """Azure's string form of a parameter value: booleans on/off, lists comma-joined."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list) or name == "azure.extensions":
        items = value if isinstance(value, list) else str(value).split(",")
        cleaned = [item.strip() for item in items if item.strip()]
        if name == "azure.extensions":  # a set: order and case carry no meaning
            cleaned = sorted({item.lower() for item in cleaned})
        return ",".join(cleaned)
    return str(value)
