"""What the service offers: the regions Flexible Server runs in and the compute sizes of each tier.

Both the capabilities endpoint and server writes read these tables, so a client that checks capabilities
first learns exactly what a create would refuse. Every region offers the same sizes here; on Azure the
list varies by region and subscription (a client must read it per location, as pgflex does).
"""

from __future__ import annotations

from ..errors import ArmError, InvalidParameterValue

# Public-cloud regions with Flexible Server (as Resource Manager lists them for a resource group).
LOCATIONS = (
    "australiacentral",
    "australiacentral2",
    "australiaeast",
    "australiasoutheast",
    "brazilsouth",
    "canadacentral",
    "canadaeast",
    "centralindia",
    "centralus",
    "eastasia",
    "eastus",
    "eastus2",
    "francecentral",
    "germanywestcentral",
    "israelcentral",
    "italynorth",
    "japaneast",
    "japanwest",
    "koreacentral",
    "koreasouth",
    "mexicocentral",
    "northcentralus",
    "northeurope",
    "norwayeast",
    "polandcentral",
    "qatarcentral",
    "southafricanorth",
    "southcentralus",
    "southeastasia",
    "southindia",
    "spaincentral",
    "swedencentral",
    "switzerlandnorth",
    "uaenorth",
    "uksouth",
    "ukwest",
    "westcentralus",
    "westeurope",
    "westindia",
    "westus",
    "westus2",
    "westus3",
)


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
_TIER_OF_SKU = {name.lower(): tier for tier, skus in SKUS.items() for name, *_ in skus}


class LocationNotAvailable(ArmError):
    """Resource Manager's answer for a region the resource type is not registered in."""

    code = "NoRegisteredProviderFound"

    def __init__(self, location: str, resource_type: str) -> None:
        super().__init__(
            f"No registered resource provider found for location '{location}' for type '{resource_type}'. "
            f"The supported locations are '{', '.join(LOCATIONS)}'."
        )


def require_location(location: str, resource_type: str) -> str:
    """The region's canonical name ("West Europe" is westeurope), or the error Resource Manager gives."""
    canonical = location.replace(" ", "").lower()
    if canonical not in LOCATIONS:
        raise LocationNotAvailable(location, resource_type)
    return canonical


def require_offered_sku(name: str, tier: str) -> None:
    """Refuse a compute size the service does not offer, or offers in another tier."""
    offered_in = _TIER_OF_SKU.get(name.lower())
    if offered_in is None:
        raise InvalidParameterValue(f"sku.name '{name}' is not a known compute size.", code="InvalidSkuName")
    if offered_in != tier:
        raise InvalidParameterValue(
            f"The compute size '{name}' belongs to the {offered_in} tier, not {tier}.", code="InvalidSkuForTier"
        )
