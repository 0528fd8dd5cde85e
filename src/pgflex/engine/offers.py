"""What a location offers Flexible Server (versions, tiers, compute sizes with their zones, storage sizes with
their performance tiers, HA, geo-redundant backup), read once per location.

One ``capabilities_by_location`` call per location, cached for the run (per `AzureClients`): plan, the
stale check before apply and the re-plan after it ask the same question of the same service.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

from azure.core.exceptions import HttpResponseError

from pgflex.azure.clients import AzureClients
from pgflex.azure.retry import RetryPolicy

from .observe import ENVIRONMENT, sdk_text

# Capability statuses meaning "not offered" (Available, Default and Visible are offered).
_UNAVAILABLE = {"disabled"}


@dataclass(frozen=True)
class SkuOffer:
    name: str
    tier: str
    ha_modes: frozenset[str]  # SameZone, ZoneRedundant; Disabled is always possible
    zones: frozenset[str] = frozenset()  # availability zones the size is offered in (supportedZones)


@dataclass(frozen=True)
class LocationOffer:
    """What one location offers; ``refusal`` says why it offers nothing (an unknown region)."""

    location: str
    versions: frozenset[str] = frozenset()
    tiers: frozenset[str] = frozenset()
    skus: dict[str, SkuOffer] = field(default_factory=dict)  # by lower-case name
    storage_mb: dict[str, frozenset[int]] = field(default_factory=dict)  # by tier
    # Premium SSD performance tiers per storage size in MB (supportedIopsTiers), across compute tiers.
    storage_tiers: dict[int, frozenset[str]] = field(default_factory=dict)
    geo_backup: bool = True  # geoBackupSupported
    zone_redundant_ha: bool = True  # zoneRedundantHaSupported
    zone_redundant_ha_with_geo_backup: bool = True  # zoneRedundantHaAndGeoBackupSupported
    refusal: str | None = None

    @property
    def offers_anything(self) -> bool:
        return self.refusal is None and bool(self.tiers)


_cache: weakref.WeakKeyDictionary[AzureClients, dict[str, LocationOffer]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def location_offer(clients: AzureClients, location: str, policy: RetryPolicy) -> LocationOffer:
    """The location's offer, read on the first question of this run and remembered."""
    key = location.replace(" ", "").lower()
    with _lock:
        known = _cache.setdefault(clients, {}).get(key)
    if known is not None:
        return known
    offer = policy.call(ENVIRONMENT, f"read capabilities of location {location}", lambda: _read(clients, location))
    with _lock:
        _cache[clients][key] = offer
    return offer


def _read(clients: AzureClients, location: str) -> LocationOffer:
    try:
        capabilities = list(clients.postgres.capabilities_by_location.list(location))
    except HttpResponseError as refused:
        # 400 NoRegisteredProviderFound (or 404) is Resource Manager saying the region has no Flexible Server;
        # anything transient goes back to the retry policy.
        if refused.status_code not in (400, 404):
            raise
        code = refused.error.code if refused.error is not None else None
        return LocationOffer(location, refusal=code or f"HTTP {refused.status_code}")
    return _parse(location, capabilities)


def _offered(item: Any) -> bool:
    return sdk_text(getattr(item, "status", None) or "Available").lower() not in _UNAVAILABLE


def _enabled(value: Any) -> bool:
    """A capability flag ("Enabled"/"Disabled"); one the service does not report is taken as offered."""
    return value is None or sdk_text(value).lower() == "enabled"


def _parse(location: str, capabilities: list[Any]) -> LocationOffer:
    versions: set[str] = set()
    tiers: set[str] = set()
    skus: dict[str, SkuOffer] = {}
    storage: dict[str, frozenset[int]] = {}
    storage_tiers: dict[int, set[str]] = {}
    flags = {"geo_backup": False, "zone_redundant_ha": False, "zone_redundant_ha_with_geo_backup": False}
    for capability in capabilities:
        if not _offered(capability):
            continue
        flags["geo_backup"] |= _enabled(capability.geo_backup_supported)
        flags["zone_redundant_ha"] |= _enabled(capability.zone_redundant_ha_supported)
        flags["zone_redundant_ha_with_geo_backup"] |= _enabled(capability.zone_redundant_ha_and_geo_backup_supported)
        versions |= {str(v.name) for v in capability.supported_server_versions or [] if _offered(v)}
        for edition in capability.supported_server_editions or []:
            if not _offered(edition) or edition.name is None:
                continue
            tier = str(edition.name)
            tiers.add(tier)
            for sku in edition.supported_server_skus or []:
                if _offered(sku) and sku.name:
                    modes = frozenset(sdk_text(mode) for mode in sku.supported_ha_mode or [])
                    zones = frozenset(str(zone) for zone in sku.supported_zones or [])
                    skus[str(sku.name).lower()] = SkuOffer(str(sku.name), tier, modes, zones)
            sizes = [
                size
                for storage_edition in edition.supported_storage_editions or []
                if _offered(storage_edition)
                for size in storage_edition.supported_storage_mb or []
                if _offered(size) and size.storage_size_mb
            ]
            storage[tier] = frozenset(
                {int(size.storage_size_mb) for size in sizes} | set(storage.get(tier, frozenset()))
            )
            for size in sizes:
                offered = {str(t.name) for t in size.supported_iops_tiers or [] if _offered(t) and t.name}
                storage_tiers.setdefault(int(size.storage_size_mb), set()).update(offered)
    return LocationOffer(
        location,
        frozenset(versions),
        frozenset(tiers),
        skus,
        storage,
        {size: frozenset(names) for size, names in storage_tiers.items()},
        geo_backup=flags["geo_backup"],
        zone_redundant_ha=flags["zone_redundant_ha"],
        zone_redundant_ha_with_geo_backup=flags["zone_redundant_ha_with_geo_backup"],
    )


__all__ = ["LocationOffer", "SkuOffer", "location_offer"]
