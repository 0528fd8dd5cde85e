"""Service-level operations: name availability, DNS suffix, subnet usage and capabilities (per location and
per server)."""

from __future__ import annotations

from typing import Any

from ..errors import InvalidRequest, NotFound
from .capabilities import DEFAULT_SKU, SKUS, STORAGE_TIERS, TIER_IOPS, ZONES, require_location
from .context import Context, require_object
from .ids import SERVER_TYPE, SUBNET_TYPE, VNET_TYPE
from .server_rules import DNS_SUFFIX, SERVER_NAME, VERSIONS
from .servers import Servers


class ServiceInfo:
    def __init__(self, ctx: Context, servers: Servers) -> None:
        self._ctx = ctx
        self._servers = servers

    def check_name_availability(self, subscription: str, body: Any) -> dict[str, Any]:
        self._ctx.require_subscription(subscription)
        request = require_object(body, "a name availability request")
        name = request.get("name")
        resource_type = request.get("type") or SERVER_TYPE
        if not isinstance(name, str):
            raise InvalidRequest("'name' is required.")
        result: dict[str, Any] = {"name": name, "type": resource_type, "nameAvailable": True, "message": ""}
        if not SERVER_NAME.match(name):
            result.update(nameAvailable=False, reason="Invalid", message=f"'{name}' is not a valid server name.")
        elif self._servers.names.taken(name):
            result.update(
                nameAvailable=False,
                reason="AlreadyExists",
                message=f"Specified server name '{name}' is already used.",
            )
        return result

    @staticmethod
    def private_dns_zone_suffix() -> str:
        return DNS_SUFFIX

    def subnet_usage(self, subscription: str, location: str, body: Any) -> dict[str, Any]:
        self._ctx.require_subscription(subscription)
        vnet_id = require_object(body, "a subnet usage request").get("virtualNetworkArmResourceId")
        vnet = self._ctx.store.get(str(vnet_id)) if vnet_id else None
        if vnet is None or vnet.type != VNET_TYPE.lower():
            raise NotFound(f"Virtual network '{vnet_id}' was not found.")
        servers = self._ctx.store.of_type(SERVER_TYPE)
        usage = []
        for subnet in self._ctx.store.children(vnet.id, SUBNET_TYPE):
            count = sum(
                1
                for s in servers
                if str(s.body["properties"]["network"].get("delegatedSubnetResourceId", "")).lower() == subnet.key
            )
            if count:
                usage.append({"subnetName": subnet.body["name"], "usage": count})
        return {"delegatedSubnetsUsage": usage, "location": location, "subscriptionId": subscription}

    def capabilities(self, subscription: str, location: str) -> list[dict[str, Any]]:
        self._ctx.require_subscription(subscription)
        require_location(location, "locations/capabilities")  # as Resource Manager refuses a region it lacks
        return [_capability(VERSIONS)]

    def server_capabilities(self, subscription: str, resource_group: str, server: str) -> list[dict[str, Any]]:
        """What a server can change to: its region's compute sizes and storage (any tier: a server may move
        between tiers) and its own major version with the versions it may be upgraded to (assumed: the service
        documents no difference from its region's list; az reads this list before update and upgrade)."""
        record = self._servers.require(subscription, resource_group, server)
        return [_capability((record.body["properties"]["version"],))]


def _capability(versions: tuple[str, ...]) -> dict[str, Any]:
    """The capabilities the emulator offers everywhere (capabilities.py), listing ``versions``."""
    enabled = {"status": "Available", "reason": ""}
    editions = []
    for tier, skus in SKUS.items():
        editions.append(
            {
                **enabled,
                "name": tier,
                "defaultSkuName": DEFAULT_SKU[tier],
                "supportedStorageEditions": [
                    {
                        **enabled,
                        "name": "ManagedDisk",
                        "defaultStorageSizeMb": 131072,
                        "supportedStorageMb": [
                            {
                                **enabled,
                                "storageSizeMb": size * 1024,
                                "supportedIops": TIER_IOPS[tiers[0]],
                                "defaultIopsTier": tiers[0],
                                "supportedIopsTiers": [
                                    {**enabled, "name": name, "iops": TIER_IOPS[name]} for name in tiers
                                ],
                            }
                            for size, tiers in STORAGE_TIERS.items()
                        ],
                    }
                ],
                "supportedServerSkus": [
                    {
                        **enabled,
                        "name": name,
                        "vCores": cores,
                        "supportedIops": max_iops,
                        "supportedMemoryPerVcoreMb": memory,
                        "supportedZones": list(ZONES),
                        "supportedHaMode": [] if tier == "Burstable" else ["SameZone", "ZoneRedundant"],
                    }
                    for name, cores, memory, max_iops in skus
                ],
            }
        )
    return {
        **enabled,
        "name": "FlexibleServerCapabilities",
        # Clients (az) read these flags to decide what a location offers.
        "supportedFeatures": [
            {"name": name, "status": status}
            for name, status in (
                ("OfferRestricted", "Disabled"),
                ("ZoneRedundantHa", "Enabled"),
                ("GeoBackup", "Enabled"),
                ("OnlineResize", "Enabled"),
                ("IndexTuning", "Disabled"),
            )
        ],
        "supportedServerEditions": editions,
        "supportedServerVersions": [
            {
                **enabled,
                "name": v,
                "supportedVersionsToUpgrade": [u for u in VERSIONS if int(u) > int(v)],
            }
            for v in versions
        ],
        "fastProvisioningSupported": "Disabled",
        "geoBackupSupported": "Enabled",
        "zoneRedundantHaSupported": "Enabled",
        "zoneRedundantHaAndGeoBackupSupported": "Enabled",
        "storageAutoGrowthSupported": "Enabled",
        "onlineResizeSupported": "Enabled",
        "restricted": "Disabled",
    }
