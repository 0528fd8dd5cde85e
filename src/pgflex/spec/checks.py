"""Field-level checks of env.yaml values. Each raises ValueError with a message written for the person
editing the YAML; pydantic turns it into an issue at the value's file position (see loader.py)."""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Callable
from datetime import date, datetime

from pgflex.spec.constants import (
    AVAILABILITY_ZONES,
    CLIENT_ONLY_ENCODINGS,
    READ_ONLY_PARAMETERS,
    RESERVED_ADMIN_LOGINS,
    SERVER_ENCODINGS,
    STORAGE_SIZES_GB,
    SYSTEM_DATABASES,
    TLS_PARAMETERS,
    WEEKDAYS,
)


def check_server_name(value: str) -> str:
    if not 3 <= len(value) <= 63:
        raise ValueError(f"server name {value!r} must be 3 to 63 characters long (it has {len(value)})")
    if not re.fullmatch(r"[a-z0-9-]+", value):
        raise ValueError(f"server name {value!r} may contain only lowercase letters, digits and hyphens")
    if value.startswith("-") or value.endswith("-"):
        raise ValueError(f"server name {value!r} must not start or end with a hyphen")
    return value


def check_uuid(value: str, what: str) -> str:
    """A UUID written 8-4-4-4-12, returned in lowercase (Azure's ids compare case-insensitively)."""
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        raise ValueError(f"{what} {value!r} is not a UUID such as 00000000-0000-0000-0000-000000000000") from None
    if len(value) != 36:  # uuid.UUID also accepts braces, urn: prefixes and missing hyphens
        raise ValueError(f"{what} {value!r} must be written as 8-4-4-4-12 hexadecimal digits")
    return str(parsed)


def check_subscription(value: str) -> str:
    return check_uuid(value, "subscription")


def check_tenant(value: str) -> str:
    return check_uuid(value, "tenant")


def check_object_id(value: str) -> str:
    return check_uuid(value, "object id")


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


def check_ipv4(value: str) -> str:
    return str(parse_ipv4(value))


def check_ipv4_network(value: str) -> str:
    parse_ipv4_network(value)
    return value


# The API's pattern for firewallRuleName (2025-08-01 openapi.json), also the schema's (a valid ECMA-262 regex).
FIREWALL_RULE_NAME_PATTERN = r"^[a-zA-Z0-9][-_a-zA-Z0-9]{0,79}(?<!-)$"
FIREWALL_RULE_NAME_RULE = "1 to 80 letters, digits, '-' or '_', starting with a letter or digit and not ending with '-'"


def check_firewall_rule_name(value: str) -> str:
    """Azure refuses any other name (400 InvalidParameterValue). The reason quotes no piece of the value: it
    may come from a variable holding a secret, which the loader hides only whole."""
    if re.fullmatch(FIREWALL_RULE_NAME_PATTERN, value):
        return value
    if len(value) > 80:
        reason = "is longer than 80 characters"
    elif "." in value:
        reason = "contains '.'"
    elif not re.fullmatch(r"[-_a-zA-Z0-9]+", value):
        reason = "contains a character other than a letter, digit, '-' or '_'"
    elif not value[0].isalnum():
        reason = "does not start with a letter or digit"
    else:
        reason = "ends with '-'"
    raise ValueError(f"firewall rule name {value!r} {reason}; Azure takes {FIREWALL_RULE_NAME_RULE}")


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


# --------------------------------------------------------------------------------------------------
# Server settings: zones, maintenance window, backup, databases, Microsoft Entra principals.
# --------------------------------------------------------------------------------------------------


def whole_number(low: int, high: int, what: str) -> Callable[[object], int]:
    """A check for an integer from ``low`` to ``high``; pydantic alone would also take true as 1 and "7" as 7."""

    def check(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{what} must be a whole number from {low} to {high}, got {value!r}")
        if not low <= value <= high:
            raise ValueError(f"{what} must be from {low} to {high}, got {value}")
        return value

    return check


def normalise_zone(value: object) -> object:
    """An availability zone, written 1 or "1", as Azure spells it ("1")."""
    zone = str(value).strip() if isinstance(value, int | str) and not isinstance(value, bool) else None
    if zone in AVAILABILITY_ZONES:
        return zone
    raise ValueError(f"availability zone must be 1, 2 or 3, got {value!r}")


def normalise_weekday(value: object) -> str:
    """A day of the week by name (Sunday) or abbreviation (Sun), in any case; numbers are ambiguous
    (Azure counts from Sunday = 0, ISO from Monday = 1) and refused."""
    if isinstance(value, str):
        wanted = value.strip().lower()
        for day in WEEKDAYS:
            if wanted in (day.lower(), day[:3].lower()):
                return day
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(WEEKDAYS):
        hint = f"; Azure's {value} is {WEEKDAYS[value]}"
    else:
        hint = ""
    raise ValueError(f"dayOfWeek must be a day's name such as Sunday or Sun, got {value!r}{hint}")


def check_database_name(value: str) -> str:
    # The API's pattern for databaseName, ASCII only (the pattern's \w would take any letter).
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]{0,62}", value):
        raise ValueError(
            f"database name {value!r} must be 1 to 63 letters, digits, '_' or '-', starting with a letter or '_'"
        )
    if value in SYSTEM_DATABASES:
        raise ValueError(f"{value} is a system database of every Flexible Server; it cannot be declared")
    return value


def normalise_charset(value: object) -> object:
    """A server-side PostgreSQL encoding, upper-cased as PostgreSQL reports it (utf8 is UTF8)."""
    if not isinstance(value, str):
        return value  # the str type reports it
    charset = value.strip().upper()
    if charset in CLIENT_ONLY_ENCODINGS:
        raise ValueError(f"{charset} is a client-only encoding in PostgreSQL; a database cannot use it")
    if charset.replace("-", "") == "UTF8":
        return "UTF8"
    if charset not in SERVER_ENCODINGS:
        raise ValueError(f"charset {value!r} is not a PostgreSQL server encoding such as UTF8, LATIN1 or WIN1252")
    return charset


def check_collation(value: str) -> str:
    # The API's pattern for a database's collation.
    if not re.fullmatch(r"[A-Za-z-]+(?:[. ]|\w)*", value):
        raise ValueError(f"collation {value!r} must look like en_US.utf8 (letters, digits, '_', '-', '.' or spaces)")
    return value


def collation_encoding(collation: str) -> str | None:
    """The encoding a libc locale names after its dot (en_US.utf8: UTF8), or None (C, POSIX, en_US)."""
    _, dot, suffix = collation.partition(".")
    if not dot:
        return None
    suffix = suffix.split("@")[0].upper().replace("-", "")
    return {"UTF8": "UTF8", "ISO88591": "LATIN1", "ISO885915": "LATIN9"}.get(suffix, suffix)


def check_principal_name(value: str) -> str:
    if not value.strip():
        raise ValueError("principalName must not be empty")
    if value != value.strip():
        raise ValueError(f"principalName {value!r} must not start or end with spaces (it is the login role's name)")
    return value
