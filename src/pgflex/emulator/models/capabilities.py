"""What the service offers: regions, availability zones, compute sizes per tier and storage sizes with their
performance tiers.

Both the capabilities endpoint and server writes read these tables, so a client that checks capabilities
first learns exactly what a create would refuse. Every region offers the same sizes here; on Azure the
list varies by region and subscription (a client must read it per location, as pgflex does).
"""

from __future__ import annotations

from ..errors import ArmError

# Public-cloud regions with Flexible Server: the name Resource Manager uses in ids and requests, and the display
# name its provider metadata lists (Resource Manager's location list).
LOCATION_NAMES = {
    "australiacentral": "Australia Central",
    "australiacentral2": "Australia Central 2",
    "australiaeast": "Australia East",
    "australiasoutheast": "Australia Southeast",
    "brazilsouth": "Brazil South",
    "canadacentral": "Canada Central",
    "canadaeast": "Canada East",
    "centralindia": "Central India",
    "centralus": "Central US",
    "eastasia": "East Asia",
    "eastus": "East US",
    "eastus2": "East US 2",
    "francecentral": "France Central",
    "germanywestcentral": "Germany West Central",
    "israelcentral": "Israel Central",
    "italynorth": "Italy North",
    "japaneast": "Japan East",
    "japanwest": "Japan West",
    "koreacentral": "Korea Central",
    "koreasouth": "Korea South",
    "mexicocentral": "Mexico Central",
    "northcentralus": "North Central US",
    "northeurope": "North Europe",
    "norwayeast": "Norway East",
    "polandcentral": "Poland Central",
    "qatarcentral": "Qatar Central",
    "southafricanorth": "South Africa North",
    "southcentralus": "South Central US",
    "southeastasia": "Southeast Asia",
    "southindia": "South India",
    "spaincentral": "Spain Central",
    "swedencentral": "Sweden Central",
    "switzerlandnorth": "Switzerland North",
    "uaenorth": "UAE North",
    "uksouth": "UK South",
    "ukwest": "UK West",
    "westcentralus": "West Central US",
    "westeurope": "West Europe",
    "westindia": "West India",
    "westus": "West US",
    "westus2": "West US 2",
    "westus3": "West US 3",
}
LOCATIONS = tuple(LOCATION_NAMES)


def _sizes(prefix: str, suffix: str, cores: tuple[int, ...], memory_per_core: int) -> list[tuple[str, int, int, int]]:
    # Max IOPS grows with vCores (3200 for 2), as the service's compute table does, up to its ceiling.
    return [(f"Standard_{prefix}{n}{suffix}", n, memory_per_core, min(n * 1600, 80000)) for n in cores]


# Compute sizes offered per tier: (name, vCores, memory per vCore in MB, max IOPS).
SKUS: dict[str, list[tuple[str, int, int, int]]] = {
    "Burstable": [
        ("Standard_B1ms", 1, 2048, 640),
        ("Standard_B2s", 2, 2048, 1280),
        ("Standard_B2ms", 2, 4096, 1920),
        ("Standard_B4ms", 4, 4096, 2880),
        ("Standard_B8ms", 8, 4096, 4320),
        ("Standard_B12ms", 12, 4096, 4320),
        ("Standard_B16ms", 16, 4096, 4320),
        ("Standard_B20ms", 20, 4096, 4320),
    ],
    "GeneralPurpose": [
        *_sizes("D", "s_v3", (2, 4, 8, 16, 32, 48, 64), 4096),
        *_sizes("D", "ds_v4", (2, 4, 8, 16, 32, 48, 64), 4096),
        *_sizes("D", "ds_v5", (2, 4, 8, 16, 32, 48, 64, 96), 4096),
        *_sizes("D", "ads_v5", (2, 4, 8, 16, 32, 48, 64, 96), 4096),
    ],
    "MemoryOptimized": [
        *_sizes("E", "s_v3", (2, 4, 8, 16, 32, 48, 64), 8192),
        *_sizes("E", "ds_v4", (2, 4, 8, 16, 20, 32, 48, 64), 8192),
        *_sizes("E", "ds_v5", (2, 4, 8, 16, 20, 32, 48, 64, 96), 8192),
        *_sizes("E", "ads_v5", (2, 4, 8, 16, 20, 32, 48, 64, 96), 8192),
    ],
}
DEFAULT_SKU = {
    "Burstable": "Standard_B1ms",
    "GeneralPurpose": "Standard_D2ds_v5",
    "MemoryOptimized": "Standard_E2ds_v5",
}
_OFFERED = {name.lower(): (name, tier) for tier, skus in SKUS.items() for name, *_ in skus}


# Availability zones of every region here (capabilities list them per compute size as supportedZones).
ZONES = ("1", "2", "3")

# Premium SSD performance tiers and their IOPS (Azure managed disks' table).
TIER_IOPS = {
    "P4": 120,
    "P6": 240,
    "P10": 500,
    "P15": 1100,
    "P20": 2300,
    "P30": 5000,
    "P40": 7500,
    "P50": 7500,
    "P60": 16000,
    "P70": 18000,
    "P80": 20000,
}
# Storage sizes (GiB) and the performance tiers each may run at, the size's default first: a tier may be raised
# above the default, up to P50 below 8 TiB and up to P80 from 8 TiB (the service's storage table, as Terraform
# azurerm's storage-tier validation and the capabilities' supportedIopsTiers give it).
STORAGE_TIERS = {
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


class LocationNotAvailable(ArmError):
    """Resource Manager's answer for a region the resource type is not registered in. Resource Manager words it
    with the request's api-version, which the routes add (arm.routes)."""

    code = "NoRegisteredProviderFound"

    def __init__(self, location: str, resource_type: str) -> None:
        self.location = location.replace(" ", "").lower()
        self.resource_type = resource_type
        super().__init__(
            f"No registered resource provider found for location '{self.location}' for type '{resource_type}'. "
            f"The supported locations are '{', '.join(LOCATIONS)}'."
        )


def require_location(location: str, resource_type: str) -> str:
    """The region's canonical name ("West Europe" is westeurope), or the error Resource Manager gives."""
    canonical = location.replace(" ", "").lower()
    if canonical not in LOCATIONS:
        raise LocationNotAvailable(location, resource_type)
    return canonical


def offered_sku(name: str) -> tuple[str, str] | None:
    """The compute size spelt as the capabilities spell it, with its tier; None when it is not offered."""
    return _OFFERED.get(name.lower())


class AvailabilityZoneNotAvailable(ArmError):
    """The service's answer for a zone the region does not offer (message as the service words it)."""

    code = "AvailabilityZoneNotAvailable"

    def __init__(self, zone: str, location: str, subscription: str) -> None:
        super().__init__(
            f"Availability zone '{zone}' isn't available in location '{location}' for subscription "
            f"'{subscription}'. Choose a different availability zone."
        )


def require_zone(zone: str, location: str, subscription: str) -> str:
    if zone not in ZONES:
        raise AvailabilityZoneNotAvailable(zone, location, subscription)
    return zone
