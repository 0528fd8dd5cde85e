"""The spec layer: read `env.yaml`, validate it completely before any network call, and hand the
engine a frozen, normalised `Environment`. No Azure SDK, no network I/O.
"""

from typing import Any

from pgflex.spec.constants import API_VERSION, Cloud, PolicyRule, TlsVersion
from pgflex.spec.document import SpecDocument
from pgflex.spec.errors import PgflexError, SpecError, SpecIssue
from pgflex.spec.loader import load_spec, parse_spec, resolve_password
from pgflex.spec.model import (
    SYSTEM_DATABASES,
    Administrator,
    AppliedException,
    Authentication,
    EntraAdministrator,
    Environment,
    FirewallRule,
    PrivateAccess,
    PublicAccess,
    SecretRef,
    Server,
    SourceLocation,
    TlsPolicy,
    creation_only_error,
)
from pgflex.spec.settings import Backup, Database, HighAvailability, MaintenanceWindow, Storage
from pgflex.spec.shared import (
    PolicyException,
    PrivateDnsZoneCreate,
    PrivateDnsZoneRef,
    Sku,
    SubnetCreate,
    SubnetRef,
)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of env.yaml (see `pgflex.spec.schema`)."""
    # Imported on use so that `python -m pgflex.spec.schema` does not find the module pre-imported.
    from pgflex.spec import schema

    return schema.json_schema()


def render_schema() -> str:
    """The schema text committed as infra/env.schema.json."""
    from pgflex.spec import schema

    return schema.render_schema()


__all__ = [
    "API_VERSION",
    "SYSTEM_DATABASES",
    "Administrator",
    "AppliedException",
    "Authentication",
    "Backup",
    "Cloud",
    "Database",
    "EntraAdministrator",
    "Environment",
    "FirewallRule",
    "HighAvailability",
    "MaintenanceWindow",
    "PgflexError",
    "PolicyException",
    "PolicyRule",
    "PrivateAccess",
    "PrivateDnsZoneCreate",
    "PrivateDnsZoneRef",
    "PublicAccess",
    "SecretRef",
    "Server",
    "Sku",
    "SourceLocation",
    "SpecDocument",
    "SpecError",
    "SpecIssue",
    "Storage",
    "SubnetCreate",
    "SubnetRef",
    "TlsPolicy",
    "TlsVersion",
    "creation_only_error",
    "json_schema",
    "load_spec",
    "parse_spec",
    "render_schema",
    "resolve_password",
]
