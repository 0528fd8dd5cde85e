"""The resolved model: what the engine, verify and the renderers consume.

`load_spec` turns the document (pgflex.spec.document) into an `Environment`: `defaults` merged in, firewall
rules as IPv4 start/end pairs, TLS versions and server parameters in Azure's spelling, password sources as
references only. Every model is frozen; `Environment.replace`, `Environment.with_tls` and `Server.replace`
derive changed copies validated as loading validates (pgflex.spec.derive).

Server settings (each model's `azure_properties()` is its body in the 2025-08-01 API):

* always resolved, Azure's default when the spec is silent, so compared and repaired: `backup`
  (retention_days 7, geo_redundant False), `maintenance_window` (system-managed), `high_availability.mode`
  (Disabled), `authentication.password`/`.entra`, `databases` (each with charset and collation).
* None when the spec leaves them to Azure, so neither written nor compared: `availability_zone`,
  `high_availability.standby_availability_zone`, `storage.tier` (`storage.default_tier` is Azure's choice),
  `authentication.tenant_id`, and `authentication.entra_administrators` (`entra: true`: the server's Entra
  administrators are left alone; a tuple, even empty, is the whole set: others are deleted).
* databases are created, never deleted unless `prune_databases`, and never one of `SYSTEM_DATABASES`.
* creation-only: `Server.creation_only_settings()` (geo-redundant backup, availability zone, administrator
  login) and `Database.creation_only` (charset, collation); a difference is a plan error worded by
  `creation_only_error`, located with `SpecLocator.server_issue(server, message, *key.split("."))`.
* `authentication.login` says how verify and sessions log in: "password" (the administrator's) or "entra"
  (a token, as one of `entra_administrators`: an Entra-only server has at least one and no administrator).
"""

from __future__ import annotations

from collections.abc import Iterable
from types import EllipsisType
from typing import Annotated, Any, Literal

from pydantic import Field, computed_field

from pgflex.spec.base import SpecModel
from pgflex.spec.checks import normalise_parameter, parse_ipv4_network
from pgflex.spec.constants import (
    API_VERSION,
    AZURE_SERVICES_IP,
    DEFAULT_MIN_TLS,
    MIN_SAFE_TLS,
    POSTGRES_DNS_SUFFIX,
    STORAGE_SIZES_GB,
    SYSTEM_DATABASES,
    TLS_VERSIONS,
    AvailabilityZone,
    Cloud,
    PolicyRule,
    PostgresVersion,
    PrincipalType,
    TlsVersion,
)
from pgflex.spec.document import FirewallRuleSpec
from pgflex.spec.settings import (
    SYSTEM_MANAGED_WINDOW,
    Backup,
    Database,
    HighAvailability,
    MaintenanceWindow,
    Storage,
)
from pgflex.spec.shared import (
    PolicyException,
    PrivateDnsZoneCreate,
    PrivateDnsZoneRef,
    Sku,
    SubnetCreate,
    SubnetRef,
)


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


class EntraAdministrator(SpecModel):
    """A Microsoft Entra administrator of the server: `administrators/{object_id}` in the API, and the
    PostgreSQL role `principal_name`, which logs in with an access token whose oid is `object_id`."""

    object_id: str = Field(description="Lowercase UUID; the subresource's name.")
    principal_name: str
    principal_type: PrincipalType
    tenant_id: str | None = Field(
        None, description="None: the spec names no tenant (Azure uses the server's, the subscription's by default)."
    )

    def azure_properties(self) -> dict[str, object]:
        """The API's administrator `properties` for a PUT (the object id is in the URL)."""
        properties: dict[str, object] = {"principalName": self.principal_name, "principalType": self.principal_type}
        if self.tenant_id is not None:
            properties["tenantId"] = self.tenant_id
        return properties


class Authentication(SpecModel):
    """How clients log in: password (the `administrator`), Microsoft Entra tokens, or both."""

    password: bool = True
    entra: bool = False
    client_certificate: bool = False  # always false: Flexible Server has no client-certificate authentication
    tenant_id: str | None = Field(
        None, description="authConfig.tenantId when Entra is on; None: the spec names none (Azure's default)."
    )
    entra_administrators: tuple[EntraAdministrator, ...] | None = Field(
        None,
        description="The Entra administrators, to reconcile like firewall rules (unlisted ones are deleted); "
        "None when the spec lists none (`entra: true`): the server's administrators are left alone.",
    )

    @property
    def entra_only(self) -> bool:
        return self.entra and not self.password

    @property
    def login(self) -> Literal["password", "entra"]:
        """How pgflex itself logs in (verify, sessions): with the administrator's password while password
        authentication is on, else with an Entra access token as one of the Entra administrators."""
        return "password" if self.password else "entra"

    def azure_properties(self) -> dict[str, object]:
        """The API's `authConfig` (tenantId only when Entra is on and the spec names a tenant)."""
        properties: dict[str, object] = {
            "activeDirectoryAuth": "Enabled" if self.entra else "Disabled",
            "passwordAuth": "Enabled" if self.password else "Disabled",
        }
        if self.entra and self.tenant_id is not None:
            properties["tenantId"] = self.tenant_id
        return properties


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
    availability_zone: AvailabilityZone | None = Field(
        None, description="The primary's zone; None: Azure chooses and pgflex does not compare it."
    )
    high_availability: HighAvailability
    backup: Backup = Field(default_factory=Backup)
    maintenance_window: MaintenanceWindow = SYSTEM_MANAGED_WINDOW
    tags: dict[str, str]
    administrator: Administrator | None
    authentication: Authentication
    tls: TlsPolicy
    parameters: dict[str, str] = Field(description="Server parameters in Azure spelling, TLS ones excluded.")
    access: Annotated[PublicAccess | PrivateAccess, Field(discriminator="kind")]
    databases: tuple[Database, ...] = Field(
        default=(), description="Databases to create; others on the server are left alone unless prune_databases."
    )
    prune_databases: bool = Field(
        default=False,
        description="Delete databases the server has and `databases` does not name, except SYSTEM_DATABASES.",
    )
    exceptions: tuple[PolicyException, ...]
    applied_exceptions: tuple[AppliedException, ...]
    origin: SourceLocation

    @computed_field  # type: ignore[prop-decorator]  # shown in dumps, so plans can flag it
    @property
    def allows_azure_services(self) -> bool:
        return isinstance(self.access, PublicAccess) and self.access.allows_azure_services

    def creation_only_settings(self) -> dict[str, object]:
        """The settings Azure takes only when the server is created, by spec key path (for SpecLocator:
        `key.split(".")`), with the spec's value; settings the spec leaves to Azure are absent. A server whose
        value differs cannot be changed in place: the plan reports `creation_only_error(...)` and writes nothing.
        Sources: the API's x-ms-mutability [read, create] (availabilityZone, geoRedundantBackup, which PATCH has
        read-only; administratorLogin). A zone-redundant server swaps availabilityZone and its standby's zone
        when it fails over."""
        settings: dict[str, object] = {"backup.geoRedundant": self.backup.geo_redundant}
        if self.availability_zone is not None:
            settings["availabilityZone"] = self.availability_zone
        if self.administrator is not None:
            settings["administrator.login"] = self.administrator.login
        return settings

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
    tenant: str | None = Field(None, description="The Microsoft Entra tenant the spec names; None: the subscription's.")
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


def creation_only_error(key: str, actual: object, desired: object, *, of: str = "server") -> str:
    """The plan error for a creation-only setting (`Server.creation_only_settings`, `Database.creation_only`)
    whose live value differs from the spec's."""
    return (
        f"{key} is set when a {of} is created and cannot change: it is {actual}, the spec says {desired}; "
        f"put the spec back, or create a new {of}"
    )


# Names this module has always offered (other layers import e.g. TLS_VERSIONS from here), beside its own.
__all__ = [
    "API_VERSION",
    "AZURE_SERVICES_IP",
    "DEFAULT_MIN_TLS",
    "MIN_SAFE_TLS",
    "POSTGRES_DNS_SUFFIX",
    "STORAGE_SIZES_GB",
    "SYSTEM_DATABASES",
    "TLS_VERSIONS",
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
    "PolicyException",
    "PolicyRule",
    "PostgresVersion",
    "PrivateAccess",
    "PrivateDnsZoneCreate",
    "PrivateDnsZoneRef",
    "PublicAccess",
    "SecretRef",
    "Server",
    "Sku",
    "SourceLocation",
    "Storage",
    "SubnetCreate",
    "SubnetRef",
    "TlsPolicy",
    "TlsVersion",
    "creation_only_error",
    "normalise_parameter",
]
