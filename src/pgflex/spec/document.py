"""The document models: the shape of env.yaml, key for key.

They carry the camelCase keys, the per-field checks (Azure naming rules, CIDR syntax, allowed values) and the
descriptions from which `infra/env.schema.json` is generated (pgflex.spec.schema). Every model is frozen and
refuses unknown keys. Cross-field and policy checks run afterwards, on each server merged with `defaults`
(pgflex.spec.rules); the loader then resolves the document into the engine's model (pgflex.spec.model).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from pgflex.spec.base import SpecModel
from pgflex.spec.checks import FIREWALL_RULE_NAME_RULE, parse_ipv4
from pgflex.spec.constants import DEFAULT_MIN_TLS, Cloud, PrincipalType
from pgflex.spec.fields import (
    AdminLogin,
    AvailabilityZoneSetting,
    EnvironmentName,
    EnvVarName,
    FirewallRuleName,
    Ipv4Address,
    Ipv4Cidr,
    KeyVaultSecretUri,
    LocationName,
    ObjectId,
    OptionalTlsVersionSetting,
    ParameterName,
    ParameterSetting,
    PrincipalName,
    ResourceGroupName,
    ServerName,
    SubscriptionId,
    TagName,
    TagValue,
    TenantId,
    TlsVersionSetting,
    VersionSetting,
)
from pgflex.spec.settings import Backup, Database, HighAvailability, MaintenanceWindow, Storage
from pgflex.spec.shared import PolicyException, PrivateDnsZoneRef, Sku, SubnetRef


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

    name: FirewallRuleName = Field(description=f"Rule name: {FIREWALL_RULE_NAME_RULE} (Azure's rule).")
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


class EntraAdministratorSpec(SpecModel):
    """A Microsoft Entra principal that administers the server (the `administrators` subresource).

    It logs in as a PostgreSQL role named after principalName, with an access token for itself.
    """

    object_id: ObjectId = Field(description="Object id of the user, group or service principal (a UUID).")
    principal_name: PrincipalName = Field(
        description="Its name: the user principal name, the group's or the application's display name. "
        "It is the login role's name."
    )
    principal_type: PrincipalType = Field(description="User, Group or ServicePrincipal.")
    tenant_id: TenantId | None = Field(
        None, description="Its tenant (a UUID). Default: authentication.entra.tenantId, else environment.tenant."
    )


class EntraSpec(SpecModel):
    """Microsoft Entra authentication, with the administrators pgflex keeps in step with the spec."""

    tenant_id: TenantId | None = Field(
        None,
        description="Tenant whose tokens the server accepts (a UUID). Default: environment.tenant, else the "
        "subscription's tenant (Azure's default).",
    )
    administrators: list[EntraAdministratorSpec] | None = Field(
        None,
        description="The server's Entra administrators, reconciled like firewall rules: ones not listed are "
        "removed. Omitted: pgflex leaves them as they are. An Entra-only server needs at least one.",
    )


def _entra_switch(value: object) -> object:
    # `entra: true` is Entra with the administrators left alone; `entra: false` is no Entra.
    if value is True:
        return {}
    if value is False:
        return None
    if value is not None and not isinstance(value, dict | EntraSpec):
        raise ValueError(f"entra takes true, false or {{tenantId, administrators}}, got {value!r}")
    return value


def _entra_schema(schema: dict[str, Any]) -> None:
    reference = {key: schema.pop(key) for key in ("$ref", "allOf", "anyOf") if key in schema}
    schema["anyOf"] = [{"type": "boolean"}, (reference.get("$ref") and {"$ref": reference["$ref"]}) or reference]


class AuthenticationSpec(SpecModel):
    """Which authentication methods the server accepts."""

    password: bool = Field(True, description="PostgreSQL password authentication (default true).")
    entra: Annotated[EntraSpec | None, BeforeValidator(_entra_switch)] = Field(
        None,
        description="Microsoft Entra authentication: true, or {tenantId, administrators} (default false).",
        json_schema_extra=_entra_schema,
    )
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


class ServerSettings(SpecModel):
    """Settings a server may inherit from `defaults`."""

    version: VersionSetting | None = Field(None, description='PostgreSQL major version as a string, "11" to "18".')
    sku: Sku | None = Field(None, description="Compute size: {name, tier}.")
    storage: Storage | None = Field(None, description="Storage: {sizeGb, autoGrow, tier}.")
    availability_zone: AvailabilityZoneSetting | None = Field(
        None,
        description="Availability zone of the server, 1 to 3. Set when the server is created only (a change is a "
        "plan error). Omitted: Azure chooses.",
    )
    high_availability: HighAvailability | None = Field(
        None, description="High availability: {mode, standbyAvailabilityZone}. Default Disabled."
    )
    backup: Backup | None = Field(None, description="Backups: {retentionDays, geoRedundant}. Default 7 days, local.")
    maintenance_window: MaintenanceWindow | None = Field(
        None,
        description="Maintenance window: {dayOfWeek, startHour, startMinute} (UTC), or {systemManaged: true} "
        "(the default).",
    )
    tags: dict[TagName, TagValue] | None = Field(
        None, description="Azure resource tags (string values); merged with the defaults' tags."
    )
    administrator: AdministratorSpec | None = Field(
        None, description="Administrator account; required when password authentication is on."
    )
    authentication: AuthenticationSpec | None = Field(
        None, description="Authentication methods: {password, entra}. Default: password only."
    )
    tls: TlsSpec | None = Field(
        None, description="TLS policy. Default: requireSecureTransport true, minVersion TLSv1.2, no maximum."
    )
    parameters: dict[ParameterName, ParameterSetting] | None = Field(
        None,
        description="Other server parameters by Azure name. Booleans become on/off, numbers strings; "
        "azure.extensions takes a list. The TLS parameters go through tls, and read-only ones (ssl, "
        "ssl_ciphers, ...) are refused. Merged with the defaults' parameters.",
    )
    databases: list[Database] | None = Field(
        None,
        description="Databases to create, each {name, charset, collation}. Databases on the server the list does "
        "not name are left alone unless pruneDatabases is true.",
    )
    prune_databases: bool | None = Field(
        None,
        description="true: delete the databases on the server that databases does not name (never the system "
        "ones). Default false: pgflex never deletes a database on its own.",
    )


class ServerDefaults(ServerSettings):
    """Settings merged under every server; a server's own values win (mappings merge key by key, except
    sku, administrator, highAvailability and maintenanceWindow, which are replaced whole; lists are replaced
    whole). A server with authentication.password false does not inherit the administrator."""


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
    tenant: TenantId | None = Field(
        None,
        description="Microsoft Entra tenant (UUID), e.g. ${AZURE_TENANT_ID}: the default tenant of Entra "
        "authentication and its administrators. Omitted: the subscription's tenant.",
    )


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
