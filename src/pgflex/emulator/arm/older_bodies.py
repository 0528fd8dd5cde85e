"""Bodies as older api-versions define them, where a client of that version breaks on the newest shape.

The models build every body in the newest shape (2025-08-01 and later). A transform keyed by the type a route
addresses and an api-version rewrites a successful answer for clients of that version; ``reshape`` applies it.
Fields a newer version added are left in place: old clients ignore keys they do not know, but break on a key
they know whose type changed, such as the capabilities' booleans that became "Enabled"/"Disabled".

To add one: ``TRANSFORMS[("flexibleServers/capabilities", "2021-06-01")] = function`` taking and returning a
list item or a resource body (a list answer's items are transformed one by one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .api_versions import Target
from .wire import Response

Transform = Callable[[dict[str, Any]], dict[str, Any]]


def _enabled(value: Any) -> bool:
    return bool(value == "Enabled")


def capabilities_2021_06_01(item: dict[str, Any]) -> dict[str, Any]:
    """A location's capability as azure-mgmt-rdbms 10.1.1 (postgresql_flexibleservers, 2021-06-01) reads it:
    booleans for the region's features, editions holding their storage sizes and, per server version, the
    compute sizes (the 2021-06-01 CapabilityProperties of stable/2021-06-01/postgresql.json)."""
    editions = [edition for edition in item.get("supportedServerEditions", []) if isinstance(edition, dict)]
    versions = [str(version.get("name")) for version in item.get("supportedServerVersions", [])]
    return {
        "zone": "none",
        "geoBackupSupported": _enabled(item.get("geoBackupSupported")),
        "zoneRedundantHaSupported": _enabled(item.get("zoneRedundantHaSupported")),
        "zoneRedundantHaAndGeoBackupSupported": _enabled(item.get("zoneRedundantHaAndGeoBackupSupported")),
        "supportedFlexibleServerEditions": [_edition_2021_06_01(edition, versions) for edition in editions],
        "supportedHyperscaleNodeEditions": [],
        "supportedHAMode": sorted(
            {
                mode
                for edition in editions
                for sku in edition.get("supportedServerSkus", [])
                for mode in sku.get("supportedHaMode", [])
            }
        ),
        "status": item.get("status", "Available"),
    }


def _edition_2021_06_01(edition: dict[str, Any], versions: list[str]) -> dict[str, Any]:
    vcores = [
        {
            "name": sku["name"],
            "vCores": sku["vCores"],
            "supportedIops": sku["supportedIops"],
            "supportedMemoryPerVcoreMB": sku["supportedMemoryPerVcoreMb"],
            "status": sku.get("status", "Available"),
        }
        for sku in edition.get("supportedServerSkus", [])
    ]
    return {
        "name": edition["name"],
        "supportedStorageEditions": [
            {
                "name": storage["name"],
                "supportedStorageMB": [
                    {
                        "name": str(size["storageSizeMb"]),
                        "supportedIops": size.get("supportedIops", 0),
                        "storageSizeMB": size["storageSizeMb"],
                        "status": size.get("status", "Available"),
                    }
                    for size in storage.get("supportedStorageMb", [])
                ],
                "status": storage.get("status", "Available"),
            }
            for storage in edition.get("supportedStorageEditions", [])
        ],
        "supportedServerVersions": [
            {"name": version, "supportedVcores": vcores, "status": "Available"} for version in versions
        ],
        "status": edition.get("status", "Available"),
    }


TRANSFORMS: dict[tuple[str, str], Transform] = {
    ("locations/capabilities", "2021-06-01"): capabilities_2021_06_01,
}


def reshape(target: Target, api_version: str, response: Response) -> Response:
    """``response`` as ``api_version`` defines it, when a transform is registered for its type and version."""
    key = (target.resource_type.lower(), api_version.lower())
    transform = next(
        (function for (kind, version), function in TRANSFORMS.items() if (kind.lower(), version.lower()) == key), None
    )
    if transform is None or response.status >= 300 or not isinstance(response.body, dict):
        return response
    body = response.body
    if isinstance(body.get("value"), list):
        body = {**body, "value": [transform(item) if isinstance(item, dict) else item for item in body["value"]]}
    else:
        body = transform(body)
    return Response(response.status, body, response.headers)
