"""The api-versions Resource Manager accepts for each provider the emulator serves, and its refusal of others.

The lists, with the files and commits they were read from, are ``data/api_versions.json``. Resource Manager
checks a request's api-version against the type the request addresses before any resource provider sees it:
a provider's type refuses an unknown version with ``NoRegisteredProviderFound`` (naming the location, the type,
the versions and the locations), Resource Manager's own types (Microsoft.Resources: subscriptions, resource
groups, operation results, providers) with ``InvalidApiVersionParameter``. The type is read from the path as
Resource Manager reads it: the segments after the provider namespace, names left out
(``flexibleServers/firewallRules``, ``locations/capabilities``); a POST action on a resource is its resource's
type, while an action under ``locations`` is a type of its own (``locations/checkNameAvailability``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

from ..errors import InvalidApiVersionParameter, NoRegisteredProviderFound
from ..models.capabilities import LOCATIONS

RESOURCE_MANAGER = "Microsoft.Resources"
PRIVATE_DNS = "Microsoft.Network/privateDnsZones"
# Where each provider's types are registered, as its refusal lists them. The emulator's regions are
# Flexible Server's; virtual networks are offered in those too (assumed: the emulator lists no others).
_LOCATIONS: dict[str, tuple[str, ...]] = {PRIVATE_DNS: ("global",)}


@dataclass(frozen=True)
class Target:
    """What a request addresses, as Resource Manager routes it."""

    provider: str  # the key in data/api_versions.json: a namespace, or namespace/type for private DNS zones
    resource_type: str  # e.g. "flexibleServers/firewallRules"
    subscription: str | None = None
    resource_group: str | None = None
    location: str | None = None  # a /locations/{location}/ segment's


@dataclass(frozen=True)
class Provider:
    refusal: str
    versions: tuple[str, ...]  # oldest first, as NoRegisteredProviderFound lists them
    locations: tuple[str, ...]

    def accepts(self, api_version: str) -> bool:
        return api_version.lower() in {version.lower() for version in self.versions}


@functools.cache
def providers() -> dict[str, Provider]:
    """Every provider's accepted versions: the published ones and those today's clients send."""
    document = json.loads(resources.files("pgflex.emulator.data").joinpath("api_versions.json").read_text())
    catalogue = {}
    for name, entry in document["providers"].items():
        versions = {*entry["apiVersions"], *(client["apiVersion"] for client in entry["clients"])}
        catalogue[name] = Provider(entry["refusal"], tuple(sorted(versions)), _LOCATIONS.get(name, LOCATIONS))
    return catalogue


def target_of(method: str, path: str) -> Target:
    segments = [segment for segment in path.split("/") if segment]
    subscription = resource_group = None
    if segments[:1] and segments[0].lower() == "subscriptions":
        subscription = segments[1] if len(segments) > 1 else None
        segments = segments[2:]
        if segments[:1] and segments[0].lower() == "resourcegroups":
            resource_group = segments[1] if len(segments) > 1 else None
            segments = segments[2:]
    if len(segments) < 3 or segments[0].lower() != "providers":
        # Resource Manager's own: subscriptions, resource groups, operation results, a provider's metadata.
        own = segments[0] if segments else ("resourceGroups" if resource_group else "subscriptions")
        return Target(RESOURCE_MANAGER, own, subscription, resource_group)
    namespace, typed = segments[1], segments[2:]
    types = typed[0::2]
    if method == "POST" and len(typed) % 2 == 1 and len(typed) > 1 and typed[-3].lower() != "locations":
        types = types[:-1]  # an action on a resource (restart, start, stop)
    location = typed[1] if typed[0].lower() == "locations" and len(typed) > 1 else None
    provider = namespace
    if namespace.lower() == "microsoft.network" and typed[0].lower() == "privatednszones":
        provider = PRIVATE_DNS
    return Target(provider, "/".join(types), subscription, resource_group, location)


def require_supported(target: Target, api_version: str, location_of: Callable[[Target], str]) -> None:
    """Refuse ``api_version`` as Resource Manager does when ``target``'s provider does not publish it.

    ``location_of`` gives the location the refusal names (only asked when refusing).
    """
    provider = _provider(target.provider)
    if provider is None or provider.accepts(api_version):
        return
    if provider.refusal == InvalidApiVersionParameter.code:
        # Newest first, without spaces, as Resource Manager words it.
        raise InvalidApiVersionParameter(api_version, ",".join(reversed(provider.versions)))
    # A provider registered only in 'global' (private DNS) is routed there, wherever its resource group is.
    location = "global" if provider.locations == ("global",) else location_of(target)
    raise NoRegisteredProviderFound(
        location,
        api_version,
        target.resource_type,
        ", ".join(provider.versions),
        ", ".join(provider.locations),
    )


def _provider(name: str) -> Provider | None:
    catalogue = providers()
    return catalogue.get(name) or next(
        (provider for key, provider in catalogue.items() if key.lower() == name.lower()), None
    )
