"""The annotated field types of the spec: a Python type, its check (pgflex.spec.checks) and its JSON Schema."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, PlainValidator, WithJsonSchema

from pgflex.spec.checks import (
    FIREWALL_RULE_NAME_PATTERN,
    ParameterValue,
    check_admin_login,
    check_azure_network_name,
    check_collation,
    check_database_name,
    check_dns_zone_id,
    check_dns_zone_name,
    check_env_var_name,
    check_environment_name,
    check_firewall_rule_name,
    check_ipv4,
    check_ipv4_network,
    check_iso_date,
    check_key_vault_secret,
    check_location,
    check_not_blank,
    check_object_id,
    check_parameter_name,
    check_parameter_value,
    check_principal_name,
    check_resource_group,
    check_server_name,
    check_storage_size,
    check_subnet_id,
    check_subscription,
    check_tag_name,
    check_tag_value,
    check_tenant,
    normalise_charset,
    normalise_tls_version,
    normalise_weekday,
    normalise_zone,
    require_string,
    whole_number,
)
from pgflex.spec.constants import (
    AVAILABILITY_ZONES,
    BACKUP_RETENTION_DAYS,
    STORAGE_SIZES_GB,
    TLS_VERSIONS,
    WEEKDAYS,
    AvailabilityZone,
    PostgresVersion,
    TlsVersion,
    Weekday,
)


def pattern(regex: str, **extra: Any) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "pattern": regex, **extra})


ServerName = Annotated[
    str, AfterValidator(check_server_name), pattern(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", minLength=3)
]
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# Ids an environment may read from a variable: the schema sees the file before interpolation.
_UUID_OR_VARIABLE = rf"^({_UUID}|\$\{{[A-Za-z_][A-Za-z0-9_]*\}})$"
SubscriptionId = Annotated[str, AfterValidator(check_subscription), pattern(_UUID_OR_VARIABLE)]
TenantId = Annotated[str, AfterValidator(check_tenant), pattern(_UUID_OR_VARIABLE)]
ObjectId = Annotated[str, AfterValidator(check_object_id), pattern(_UUID_OR_VARIABLE)]
ResourceGroupName = Annotated[str, AfterValidator(check_resource_group), pattern(r"^[-\w._()]{0,89}[-\w_()]$")]
LocationName = Annotated[str, AfterValidator(check_location), pattern(r"^[a-z0-9]+$")]
EnvironmentName = Annotated[str, AfterValidator(check_environment_name), pattern(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")]
AdminLogin = Annotated[str, AfterValidator(check_admin_login), pattern(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")]
EnvVarName = Annotated[str, AfterValidator(check_env_var_name), pattern(r"^[A-Za-z_][A-Za-z0-9_]*$")]
KeyVaultSecretUri = Annotated[
    str,
    AfterValidator(check_key_vault_secret),
    pattern(
        r"^https://[A-Za-z0-9-]{3,24}\.vault\.(azure\.net|usgovcloudapi\.net|azure\.cn)"
        r"/secrets/[A-Za-z0-9-]{1,127}(/[0-9a-fA-F]{32})?/?$"
    ),
]
Ipv4Address = Annotated[str, AfterValidator(check_ipv4), WithJsonSchema({"type": "string", "format": "ipv4"})]
Ipv4Cidr = Annotated[str, AfterValidator(check_ipv4_network), pattern(r"^\d{1,3}(\.\d{1,3}){3}(/\d{1,2})?$")]
FirewallRuleName = Annotated[
    str, AfterValidator(check_firewall_rule_name), pattern(FIREWALL_RULE_NAME_PATTERN, minLength=1, maxLength=80)
]
AzureNetworkName = Annotated[
    str, AfterValidator(check_azure_network_name), pattern(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
]
DnsZoneName = Annotated[str, AfterValidator(check_dns_zone_name), pattern(r"^[a-z0-9.-]+$")]
# Schema patterns spell out both cases where ARM is case-insensitive (ECMA regexes have no inline flags).
SubnetId = Annotated[
    str,
    AfterValidator(check_subnet_id),
    pattern(
        r"^/subscriptions/[^/]+/resource[Gg]roups/[^/]+/providers/[Mm]icrosoft\.[Nn]etwork"
        r"/virtual[Nn]etworks/[^/]+/subnets/[^/]+$"
    ),
]
DnsZoneId = Annotated[
    str,
    AfterValidator(check_dns_zone_id),
    pattern(
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
ParameterName = Annotated[str, AfterValidator(check_parameter_name), pattern(r"^[a-z_][a-z0-9_]*(\.[a-z0-9_]+)*$")]
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

IsoDate = Annotated[date, PlainValidator(check_iso_date), WithJsonSchema({"type": "string", "format": "date"})]
TagName = Annotated[str, AfterValidator(check_tag_name)]
TagValue = Annotated[str, AfterValidator(check_tag_value)]

# Server settings.
RetentionDays = Annotated[
    int,
    PlainValidator(whole_number(*BACKUP_RETENTION_DAYS, "backup retention (days)")),
    WithJsonSchema({"type": "integer", "minimum": BACKUP_RETENTION_DAYS[0], "maximum": BACKUP_RETENTION_DAYS[1]}),
]
Hour = Annotated[
    int,
    PlainValidator(whole_number(0, 23, "startHour")),
    WithJsonSchema({"type": "integer", "minimum": 0, "maximum": 23}),
]
Minute = Annotated[
    int,
    PlainValidator(whole_number(0, 59, "startMinute")),
    WithJsonSchema({"type": "integer", "minimum": 0, "maximum": 59}),
]
AvailabilityZoneSetting = Annotated[
    AvailabilityZone,
    BeforeValidator(normalise_zone),
    WithJsonSchema(
        {"anyOf": [{"type": "string", "enum": list(AVAILABILITY_ZONES)}, {"type": "integer", "enum": [1, 2, 3]}]}
    ),
]


def _any_case(text: str) -> str:
    # ECMA patterns have no inline flags: a case-insensitive value lists both cases of each letter.
    return "".join(f"[{letter.upper()}{letter.lower()}]" for letter in text)


_WEEKDAY_PATTERN = "^(" + "|".join(f"{_any_case(day[:3])}({_any_case(day[3:])})?" for day in WEEKDAYS) + ")$"
WeekdaySetting = Annotated[Weekday, PlainValidator(normalise_weekday), pattern(_WEEKDAY_PATTERN)]
DatabaseName = Annotated[str, AfterValidator(check_database_name), pattern(r"^[A-Za-z_][A-Za-z0-9_-]{0,62}$")]
Charset = Annotated[str, BeforeValidator(normalise_charset), pattern(r"^[A-Za-z]+[\w-]*$")]
Collation = Annotated[str, AfterValidator(check_collation), pattern(r"^[A-Za-z-]+([. ]|\w)*$")]
PrincipalName = Annotated[str, AfterValidator(check_principal_name), WithJsonSchema({"type": "string", "minLength": 1})]
