"""Leaf models that serve both the document (env.yaml) and the resolved model the engine consumes.

They need no normalisation: the value written is the value used (`Sku`, `SubnetRef`, `PolicyException`, ...).
The server settings of the same kind (storage, backup, ...) are in pgflex.spec.settings.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator

from pgflex.spec.base import SpecModel
from pgflex.spec.checks import DNS_ZONE_ID_RE, parse_ipv4_network
from pgflex.spec.constants import PolicyRule, SkuTier
from pgflex.spec.fields import (
    AzureNetworkName,
    DnsZoneId,
    DnsZoneName,
    Ipv4Cidr,
    IsoDate,
    NonBlank,
    SubnetId,
    pattern,
)

# The VM family letter of each tier's SKUs: Standard_B1ms is Burstable, Standard_D2ds_v5 GeneralPurpose...
_SKU_FAMILY: dict[str, str] = {"Burstable": "B", "GeneralPurpose": "D", "MemoryOptimized": "E"}


class Sku(SpecModel):
    """Compute size. The name's family letter must match the tier.

    B is Burstable, D GeneralPurpose and E MemoryOptimized.
    """

    name: Annotated[str, pattern(r"^Standard_[A-Za-z0-9_]+$")] = Field(
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
