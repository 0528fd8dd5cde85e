"""A flexible server's settings beyond its identity: storage, backup, availability zone, high availability,
maintenance window and authentication, with the service's rules for creating a server and for changing one.

Some settings are taken only when a server is created: geo-redundant backup (the API marks it read-only in
PATCH), the availability zone and the standby's zone (they change only by swapping places in a failover:
a restart with failover), and a custom maintenance window is taken only once the server exists (Terraform
azurerm sets it with an update after creating, "could not be created with"). The service documents no error
code for these refusals: InvalidParameterValue, the strictest plausible one, is assumed, with messages that
say what to do instead. Changing a high-availability mode in place (SameZone <-> ZoneRedundant) is refused
likewise: disable high availability first (assumed as well).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ArmError, InvalidParameterValue
from .capabilities import STORAGE_TIERS, TIER_IOPS, ZONES, require_zone
from .context import optional_object
from .values import canonical

SWITCH = ("Enabled", "Disabled")
HA_MODES = ("Disabled", "SameZone", "ZoneRedundant")
DEFAULT_STORAGE_GB = 128
DEFAULT_RETENTION_DAYS = 7
SYSTEM_MANAGED_WINDOW = {"customWindow": "Disabled", "dayOfWeek": 0, "startHour": 0, "startMinute": 0}
WINDOW_LIMITS = {"dayOfWeek": (0, 6), "startHour": (0, 23), "startMinute": (0, 59)}
SETTINGS = ("authConfig", "backup", "highAvailability", "maintenanceWindow", "storage")


@dataclass(frozen=True)
class Scope:
    """Where a server lives, which some rules need: zones are per region, the default tenant per subscription."""

    subscription: str
    location: str
    tenant: str


class HighAvailabilityNotSupported(ArmError):
    code = "HighAvailabilityNotSupported"

    def __init__(self) -> None:
        super().__init__("High availability is not supported for the Burstable tier.")


def _creation_only(what: str, current: object, instead: str) -> InvalidParameterValue:
    return InvalidParameterValue(
        f"{what} is set when a server is created and cannot be changed (it is '{current}'); {instead}"
    )


def _switch(value: Any, field: str, allowed: tuple[str, ...] = SWITCH) -> str:
    return canonical(value, allowed, field)


def _integer(value: Any, field: str, low: int, high: int) -> int:
    """A whole number, also written as a JSON string of digits: az sends its maintenance window's hour and minute
    so ("23" for --maintenance-window Sun:23:30), and the service reads them as numbers."""
    number = int(value) if isinstance(value, str) and value.isascii() and value.isdigit() else value
    if isinstance(number, bool) or not isinstance(number, int) or not low <= number <= high:
        raise InvalidParameterValue.of(field, f"It must be a whole number from {low} to {high}, not {value!r}.")
    return number


def _given(requested: dict[str, Any], key: str, default: Any) -> Any:
    value = requested.get(key)
    return default if value is None or value == "" else value


def new_settings(properties: dict[str, Any], sku: dict[str, str], scope: Scope, created_at: str) -> dict[str, Any]:
    """The settings of a server being created, from its PUT body's properties."""
    zone = availability_zone(properties.get("availabilityZone"), scope)
    settings: dict[str, Any] = {
        "authConfig": auth_config(optional_object(properties, "authConfig", "properties"), None, scope),
        "availabilityZone": zone,
        "backup": backup(optional_object(properties, "backup", "properties"), None, created_at),
        "highAvailability": high_availability(
            optional_object(properties, "highAvailability", "properties"), None, zone, scope
        ),
        "maintenanceWindow": maintenance_window(optional_object(properties, "maintenanceWindow", "properties"), None),
        "storage": storage(optional_object(properties, "storage", "properties"), None),
    }
    check_high_availability_fits(settings["highAvailability"], sku)
    return settings


def updated_settings(
    current: dict[str, Any], properties: dict[str, Any], sku: dict[str, str], scope: Scope
) -> dict[str, Any]:
    """The settings a PATCH (or a PUT on an existing server) changes; omitted ones keep their values."""
    zone = properties.get("availabilityZone")
    if zone not in (None, "") and str(zone) != current["availabilityZone"]:
        raise _creation_only(
            "The availability zone",
            current["availabilityZone"],
            "with high availability, a restart with failover swaps it with the standby's zone.",
        )
    settings: dict[str, Any] = {}
    for key in SETTINGS:
        if key not in properties:
            continue
        requested = optional_object(properties, key, "properties")
        if key == "authConfig":
            settings[key] = auth_config(requested, current[key], scope)
        elif key == "backup":
            settings[key] = backup(requested, current[key], current[key]["earliestRestoreDate"])
        elif key == "highAvailability":
            settings[key] = high_availability(requested, current[key], current["availabilityZone"], scope)
        elif key == "maintenanceWindow":
            settings[key] = maintenance_window(requested, current[key])
        else:
            settings[key] = storage(requested, current[key])
    check_high_availability_fits(settings.get("highAvailability", current["highAvailability"]), sku)
    return settings


def availability_zone(raw: Any, scope: Scope) -> str:
    """The zone asked for, or the one the service picks (the first)."""
    return require_zone(str(_given({"zone": raw}, "zone", ZONES[0])), scope.location, scope.subscription)


def storage(requested: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
    """Size, growth and performance tier. On Premium SSD (the emulator's only storage type) IOPS follow the tier."""
    keep = current or {}
    size = _given(requested, "storageSizeGB", keep.get("storageSizeGB", DEFAULT_STORAGE_GB))
    if size not in STORAGE_TIERS or isinstance(size, bool):
        raise InvalidParameterValue.of(
            "storageSizeGB", f"{size} is not supported. Supported sizes: {', '.join(map(str, STORAGE_TIERS))}."
        )
    if current is not None and size < int(current["storageSizeGB"]):
        raise InvalidParameterValue("Storage size cannot be reduced.", code="StorageSizeDecreaseNotSupported")
    offered = STORAGE_TIERS[size]
    tier = requested.get("tier")
    if tier is None or tier == "":
        # Growing storage raises a tier below the new size's default to that default, as the service does.
        tier = keep["tier"] if keep.get("tier") in offered else offered[0]
    else:
        tier = _offered_tier(tier, offered, size)
    kind = requested.get("type")
    if kind not in (None, "") and str(kind).lower() != "premium_lrs":
        raise InvalidParameterValue.of(
            "storage.type", f"Storage type '{kind}' is not offered here: only Premium_LRS (Premium SSD)."
        )
    iops = requested.get("iops")
    if iops is not None and iops != TIER_IOPS[tier]:
        raise InvalidParameterValue(
            f"On Premium SSD the IOPS follow the performance tier: {tier} gives {TIER_IOPS[tier]} IOPS, not "
            f"{iops}. Choose a tier instead."
        )
    auto_grow = _switch(_given(requested, "autoGrow", keep.get("autoGrow", "Disabled")), "storage.autoGrow")
    return {"type": "", "autoGrow": auto_grow, "iops": TIER_IOPS[tier], "storageSizeGB": size, "tier": tier}


def _offered_tier(tier: Any, offered: tuple[str, ...], size: int) -> str:
    chosen = next((name for name in offered if isinstance(tier, str) and name.lower() == tier.lower()), None)
    if chosen is None:
        raise InvalidParameterValue.of(
            "storage.tier",
            f"Performance tier '{tier}' is not offered for {size} GiB of storage; choose one of {', '.join(offered)}.",
        )
    return chosen


def backup(requested: dict[str, Any], current: dict[str, Any] | None, earliest_restore: str) -> dict[str, Any]:
    keep = current or {}
    days = _integer(
        _given(requested, "backupRetentionDays", keep.get("backupRetentionDays", DEFAULT_RETENTION_DAYS)),
        "backupRetentionDays",
        7,
        35,
    )
    geo = _switch(
        _given(requested, "geoRedundantBackup", keep.get("geoRedundantBackup", "Disabled")),
        "backup.geoRedundantBackup",
    )
    if current is not None and geo != current["geoRedundantBackup"]:
        raise _creation_only("Geo-redundant backup", current["geoRedundantBackup"], "create a new server to change it.")
    return {"backupRetentionDays": days, "geoRedundantBackup": geo, "earliestRestoreDate": earliest_restore}


def high_availability(
    requested: dict[str, Any], current: dict[str, Any] | None, zone: str, scope: Scope
) -> dict[str, Any]:
    was = (current or {}).get("mode", "Disabled")
    mode = _switch(_given(requested, "mode", was), "highAvailability.mode", HA_MODES)
    standby = _given(requested, "standbyAvailabilityZone", None)
    if mode == "Disabled":
        return {"mode": "Disabled", "state": "NotEnabled"}
    if current is not None:
        # Enabling high availability on an existing server may name the standby's zone (the PATCH model marks
        # it updatable; az's `update --standby-zone`); once enabled, the zone stays (Terraform azurerm: "service
        # team confirmed it doesn't support to update standby_availability_zone").
        if was != "Disabled" and standby is not None and standby != current.get("standbyAvailabilityZone"):
            raise _creation_only(
                "The standby's availability zone",
                current.get("standbyAvailabilityZone", ""),
                "the service picks it when high availability is enabled on an existing server.",
            )
        if was == mode:
            return dict(current)
        if was != "Disabled":
            raise InvalidParameterValue(f"High availability is {was}: disable it before enabling {mode}.")
    if standby is None:
        standby = zone if mode == "SameZone" else next(z for z in ZONES if z != zone)
    standby = require_zone(str(standby), scope.location, scope.subscription)
    if mode == "SameZone" and standby != zone:
        raise InvalidParameterValue(f"With SameZone high availability the standby is in zone {zone}, not {standby}.")
    if mode == "ZoneRedundant" and standby == zone:
        raise InvalidParameterValue(
            f"With ZoneRedundant high availability the standby needs a zone other than the server's ({zone})."
        )
    return {"mode": mode, "standbyAvailabilityZone": standby, "state": "Healthy"}


def fail_over(properties: dict[str, Any]) -> None:
    """The standby becomes the primary: the server's zone and its standby's swap places."""
    standby = properties["highAvailability"].get("standbyAvailabilityZone")
    if properties["highAvailability"]["mode"] != "Disabled" and standby:
        properties["highAvailability"]["standbyAvailabilityZone"] = properties["availabilityZone"]
        properties["availabilityZone"] = standby


def check_high_availability_fits(high_availability: dict[str, Any], sku: dict[str, str]) -> None:
    if high_availability["mode"] != "Disabled" and sku["tier"] == "Burstable":
        raise HighAvailabilityNotSupported()


def maintenance_window(requested: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
    """A custom weekly window (UTC) or the system-managed one, which the service reports as zeros."""
    custom = _switch(
        _given(requested, "customWindow", (current or SYSTEM_MANAGED_WINDOW)["customWindow"]),
        "maintenanceWindow.customWindow",
    )
    if custom == "Disabled":
        named = [key for key in WINDOW_LIMITS if requested.get(key) not in (None, 0)]
        if named:
            raise InvalidParameterValue(
                f"maintenanceWindow.{named[0]} needs a custom window: set customWindow to Enabled."
            )
        return dict(SYSTEM_MANAGED_WINDOW)
    if current is None:
        raise InvalidParameterValue(
            "A custom maintenance window is set by updating the server once it exists, not when it is created."
        )
    window: dict[str, Any] = {"customWindow": "Enabled"}
    for key, (low, high) in WINDOW_LIMITS.items():
        window[key] = _integer(_given(requested, key, current[key]), f"maintenanceWindow.{key}", low, high)
    return window


def auth_config(requested: dict[str, Any], current: dict[str, Any] | None, scope: Scope) -> dict[str, str]:
    keep = current or {}
    password = _switch(_given(requested, "passwordAuth", keep.get("passwordAuth", "Enabled")), "passwordAuth")
    entra = _switch(
        _given(requested, "activeDirectoryAuth", keep.get("activeDirectoryAuth", "Disabled")), "activeDirectoryAuth"
    )
    if password == "Disabled" and entra == "Disabled":  # noqa: S105 - a setting, not a secret
        raise InvalidParameterValue(
            "Password authentication can be turned off only with Microsoft Entra authentication on "
            "(activeDirectoryAuth: Enabled)."
        )
    config = {"activeDirectoryAuth": entra, "passwordAuth": password}
    if entra == "Enabled":
        # The service fills in the subscription's tenant when none is named.
        config["tenantId"] = str(_given(requested, "tenantId", keep.get("tenantId") or scope.tenant))
    return config
