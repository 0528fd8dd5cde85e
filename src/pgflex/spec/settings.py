"""Server settings that read the same in env.yaml and in the resolved model: storage, high availability,
backup, the maintenance window and databases.

Each model checks what it can alone (ranges, a storage tier against the size); checks across settings (HA on
Burstable, the standby zone against the primary's, duplicate databases) are in pgflex.spec.settings_rules.
`azure_properties()` gives each in the 2025-08-01 API's spelling, so that every writer spells them one way.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic.alias_generators import to_camel
from pydantic.json_schema import SkipJsonSchema

from pgflex.spec.base import SpecModel
from pgflex.spec.checks import collation_encoding
from pgflex.spec.constants import (
    DEFAULT_BACKUP_RETENTION_DAYS,
    DEFAULT_DATABASE_CHARSET,
    DEFAULT_DATABASE_COLLATION,
    STORAGE_SIZES_GB,
    STORAGE_TIERS,
    STORAGE_TIERS_BY_SIZE_GB,
    WEEKDAYS,
    HighAvailabilityMode,
    StorageTier,
)
from pgflex.spec.fields import (
    AvailabilityZoneSetting,
    Charset,
    Collation,
    DatabaseName,
    Hour,
    Minute,
    RetentionDays,
    StorageSizeGb,
    WeekdaySetting,
)


def _enabled(flag: bool) -> str:
    return "Enabled" if flag else "Disabled"


class Storage(SpecModel):
    """Storage size, growth and Premium SSD performance tier."""

    size_gb: StorageSizeGb = Field(
        description="Provisioned storage in GiB; one of Azure's sizes: " + ", ".join(map(str, STORAGE_SIZES_GB)) + "."
    )
    auto_grow: bool = Field(False, description="Let Azure grow storage when it runs low (default false).")
    tier: StorageTier | None = Field(
        None,
        description="Premium SSD performance tier (its IOPS): "
        + ", ".join(STORAGE_TIERS)
        + ". Omitted: Azure's default for the size (P4 for 32 GiB, P10 for 128 GiB, ...), which pgflex leaves "
        "as Azure sets it. A tier may be raised above the size's default, up to P50 below 8 TiB, P80 from 8 TiB.",
    )
    # Not part of the format; declared only so that the mistake gets a specific message.
    iops: SkipJsonSchema[Any] = Field(None, exclude=True)

    @field_validator("tier")
    @classmethod
    def _tier_offered_for_size(cls, value: StorageTier | None, info: ValidationInfo) -> StorageTier | None:
        size = info.data.get("size_gb")
        offered = STORAGE_TIERS_BY_SIZE_GB.get(size) if isinstance(size, int) else None
        if value is not None and offered is not None and value not in offered:
            choices = offered[0] if len(offered) == 1 else ", ".join(offered[:-1]) + " or " + offered[-1]
            raise ValueError(
                f"storage tier {value} is not offered for {size} GiB (default {offered[0]}); choose {choices}"
            )
        return value

    @field_validator("iops")
    @classmethod
    def _iops_follow_the_tier(cls, value: object) -> object:
        if value is not None:
            raise ValueError(
                "on Premium SSD the IOPS follow the performance tier: set storage.tier (e.g. P30) instead of iops"
            )
        return value

    @property
    def default_tier(self) -> StorageTier:
        """The tier Azure gives this size when none is asked for."""
        return STORAGE_TIERS_BY_SIZE_GB[self.size_gb][0]

    def azure_properties(self) -> dict[str, object]:
        """The API's `storage` (tier only when the spec sets it)."""
        properties: dict[str, object] = {"storageSizeGB": self.size_gb, "autoGrow": _enabled(self.auto_grow)}
        if self.tier is not None:
            properties["tier"] = self.tier
        return properties


class HighAvailability(SpecModel):
    """High availability: a standby server, in the primary's zone (SameZone) or another (ZoneRedundant)."""

    mode: HighAvailabilityMode = Field(
        "Disabled", description="Disabled (default), SameZone or ZoneRedundant. Not available on Burstable."
    )
    standby_availability_zone: AvailabilityZoneSetting | None = Field(
        None,
        description="Availability zone of the standby, 1 to 3. Omitted: Azure chooses. With ZoneRedundant it must "
        "differ from availabilityZone; with SameZone it can only be availabilityZone.",
    )

    @field_validator("standby_availability_zone")
    @classmethod
    def _standby_needs_ha(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("mode") == "Disabled":
            raise ValueError(
                "a standby zone needs high availability: set mode to ZoneRedundant or SameZone, "
                "or remove standbyAvailabilityZone"
            )
        return value

    def azure_properties(self) -> dict[str, object]:
        """The API's `highAvailability` (the standby zone only when the spec sets it)."""
        properties: dict[str, object] = {"mode": self.mode}
        if self.standby_availability_zone is not None:
            properties["standbyAvailabilityZone"] = self.standby_availability_zone
        return properties


class Backup(SpecModel):
    """Automatic backups: how long they are kept, and whether they are copied to the paired region."""

    retention_days: RetentionDays = Field(
        DEFAULT_BACKUP_RETENTION_DAYS, description="Days backups are kept: 7 to 35 (default 7)."
    )
    geo_redundant: bool = Field(
        False,
        description="Geo-redundant backup storage (default false). Set when the server is created only: "
        "changing it later is a plan error. Needs a region that offers it (the plan checks).",
    )

    def azure_properties(self) -> dict[str, object]:
        """The API's `backup`."""
        return {"backupRetentionDays": self.retention_days, "geoRedundantBackup": _enabled(self.geo_redundant)}


class MaintenanceWindow(SpecModel):
    """When Azure may patch the server: a custom weekly hour (UTC), or a time Azure chooses (system-managed).

    Exactly one of `systemManaged: true` or `dayOfWeek` (with `startHour`, `startMinute`).
    """

    system_managed: bool = Field(
        False, description="true: Azure chooses the time (the default when maintenanceWindow is omitted)."
    )
    day_of_week: WeekdaySetting | None = Field(
        None, description="Day of a custom window: Sunday to Saturday (or Sun to Sat)."
    )
    start_hour: Hour = Field(0, description="Hour the custom window starts, 0 to 23 (UTC). Default 0.")
    start_minute: Minute = Field(0, description="Minute the custom window starts, 0 to 59. Default 0.")

    @field_validator("day_of_week", "start_hour", "start_minute")
    @classmethod
    def _custom_keys_need_a_custom_window(cls, value: object, info: ValidationInfo) -> object:
        if info.data.get("system_managed") and value not in (None, 0):
            raise ValueError(f"a system-managed window takes no {to_camel(info.field_name or '')}; remove it")
        return value

    @model_validator(mode="after")
    def _custom_window_has_a_day(self) -> MaintenanceWindow:
        if not self.system_managed and self.day_of_week is None:
            raise ValueError(
                "set dayOfWeek (with startHour and startMinute) for a custom window, or systemManaged: true"
            )
        return self

    @property
    def day_number(self) -> int:
        """The API's dayOfWeek: 0 is Sunday (0 too when system-managed, as Azure reports it)."""
        return WEEKDAYS.index(self.day_of_week) if self.day_of_week is not None else 0

    def azure_properties(self) -> dict[str, object]:
        """The API's `maintenanceWindow`; a system-managed window is customWindow Disabled with zeros."""
        if self.system_managed:
            return {"customWindow": "Disabled", "dayOfWeek": 0, "startHour": 0, "startMinute": 0}
        return {
            "customWindow": "Enabled",
            "dayOfWeek": self.day_number,
            "startHour": self.start_hour,
            "startMinute": self.start_minute,
        }


SYSTEM_MANAGED_WINDOW = MaintenanceWindow(system_managed=True)


class Database(SpecModel):
    """A database on the server (the `databases` subresource; a real PostgreSQL database)."""

    # A database's encoding and collation are fixed when it is created (CREATE DATABASE).
    creation_only: ClassVar[tuple[str, ...]] = ("charset", "collation")

    name: DatabaseName = Field(
        description="1-63 letters, digits, '_' or '-', starting with a letter or '_'; case-sensitive. Not "
        "azure_maintenance, azure_sys, postgres, template0 or template1."
    )
    charset: Charset = Field(
        DEFAULT_DATABASE_CHARSET, description="Server-side encoding, e.g. UTF8 (default), LATIN1, WIN1252."
    )
    collation: Collation = Field(
        DEFAULT_DATABASE_COLLATION,
        description="Collation (and character classification), e.g. en_US.utf8 (default), C, de_DE.utf8. "
        "A locale naming an encoding after its dot must match charset.",
    )

    @field_validator("collation")
    @classmethod
    def _matches_charset(cls, value: str, info: ValidationInfo) -> str:
        # PostgreSQL: a libc locale works with the one encoding it names (C and POSIX work with any).
        charset, named = info.data.get("charset"), collation_encoding(value)
        if charset is not None and named is not None and named != charset:
            raise ValueError(f"collation {value} is for {named} and the charset is {charset}; PostgreSQL refuses that")
        return value

    def azure_properties(self) -> dict[str, object]:
        """The API's database `properties`."""
        return {"charset": self.charset, "collation": self.collation}


__all__ = ["SYSTEM_MANAGED_WINDOW", "Backup", "Database", "HighAvailability", "MaintenanceWindow", "Storage"]
