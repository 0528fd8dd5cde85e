"""Resource Manager's view of the providers the emulator serves: their metadata (``GET .../providers/{namespace}``,
which az reads to choose an api-version for ``az resource``) and its answer to a path no provider serves.

A provider's resource types are read from the route table itself, so the metadata lists exactly what is served,
each type with the api-versions Resource Manager accepts for it (data/api_versions.json, newest first as
Resource Manager lists them) and, for types that live in a region, the regions by their display names (private
DNS zones: global). Assumed where Resource Manager's manifests say more: every type is registered, location-less
types (actions such as checkNameAvailability) list no region, and only tracked types name capabilities.
"""

from __future__ import annotations

import functools
from typing import Any

from ..errors import ArmError, InvalidResourceNamespace, InvalidResourceType
from ..models.capabilities import LOCATION_NAMES
from . import api_versions
from .routes import router

RESOURCE_MANAGER = api_versions.RESOURCE_MANAGER
# Types with a location and tags (Resource Manager lists them in a group's resources).
TRACKED = frozenset({"flexibleservers", "virtualnetworks", "privatednszones", "privatednszones/virtualnetworklinks"})
# The first segment of types that live in a region: the resources themselves, and the per-region endpoints.
REGIONAL = frozenset({"flexibleservers", "virtualnetworks", "locations"})


@functools.cache
def _served_types() -> dict[str, dict[str, str]]:
    """Namespace (lower case) -> {type (lower case): (provider key, type as served)}, from the route table."""
    served: dict[str, dict[str, str]] = {}
    for route in router.routes():
        target = api_versions.target_of(route.method, route.template)
        if "{" in target.provider or "{" in target.resource_type:
            continue  # a generic route (providers/{namespace}): it serves no type of its own
        namespace = target.provider.split("/")[0]
        served.setdefault(namespace.lower(), {})[target.resource_type.lower()] = (
            f"{target.provider}|{target.resource_type}"
        )
    return served


def namespaces() -> list[str]:
    """Every namespace the emulator serves, as Resource Manager spells it."""
    return sorted({key.split("/")[0] for key in api_versions.providers()})


def metadata(subscription: str, namespace: str) -> dict[str, Any]:
    """A provider as Resource Manager's Providers_Get answers it, or InvalidResourceNamespace."""
    spelt = next((known for known in namespaces() if known.lower() == namespace.lower()), None)
    if spelt is None:
        raise InvalidResourceNamespace(namespace)
    catalogue = api_versions.providers()
    types = []
    for served in sorted(_served_types().get(spelt.lower(), {}).values(), key=str.lower):
        key, resource_type = served.split("|", 1)
        first = resource_type.split("/")[0].lower()
        entry: dict[str, Any] = {
            "resourceType": resource_type,
            "locations": _locations(key, first),
            "apiVersions": list(reversed(catalogue[key].versions)),
        }
        if resource_type.lower() in TRACKED:
            entry["capabilities"] = "SupportsTags, SupportsLocation"
        types.append(entry)
    return {
        "id": f"/subscriptions/{subscription}/providers/{spelt}",
        "namespace": spelt,
        "registrationState": "Registered",
        "registrationPolicy": "RegistrationFree" if spelt == RESOURCE_MANAGER else "RegistrationRequired",
        "resourceTypes": types,
    }


def not_served(method: str, path: str, api_version: str) -> ArmError:
    """Resource Manager's answer to a path the emulator does not serve: the type is unknown to its namespace
    (InvalidResourceType, 404), or the namespace is unknown (InvalidResourceNamespace)."""
    target = api_versions.target_of(method, path)
    namespace = target.provider.split("/")[0]
    spelt = next((known for known in namespaces() if known.lower() == namespace.lower()), None)
    if spelt is None:
        return InvalidResourceNamespace(namespace)
    return InvalidResourceType(target.resource_type, spelt, api_version)


def _locations(key: str, first_segment: str) -> list[str]:
    provider = api_versions.providers()[key]
    if provider.locations == ("global",):
        return ["global"]
    if first_segment not in REGIONAL:
        return []
    return [LOCATION_NAMES.get(location, location) for location in provider.locations]
