"""Pre-flight: what apply will need, checked for the whole environment before the first write.

Planning runs it after observing, and every problem becomes a plan error (file:line:col: key: message), so
``plan`` lists them all at once and ``apply`` refuses with nothing written:

* compute size, tier, storage size, version and high availability against what the location offers, and
  the availability and standby zones, the storage performance tier and geo-redundant backup where the
  capabilities say (``offers.py``: one capabilities read per location, only when a server is created, resized,
  or given high availability or another storage tier);
* settings an existing server cannot change in place (``unchangeable.py``): creation-only settings that
  differ, a standby zone Azure would not give;
* the parameters of existing servers against each live server's own configuration list, read with their
  values by observe at no extra cost (``validate`` already checked them against pgflex's catalogue);
* the network objects a new private server references: existing, or created earlier in the same plan;
* every secret the run will read: the administrator password of each server it creates or turns password
  authentication on for and, when apply verifies, of each server verify logs in to with a password. Values
  are read and dropped; messages never show them.
"""

from __future__ import annotations

import difflib

from pgflex.azure.clients import AzureClients
from pgflex.azure.retry import RetryPolicy
from pgflex.azure.secrets import SecretUnavailable, resolve_password
from pgflex.spec import Environment, PrivateAccess, Server, SpecError, SpecIssue
from pgflex.spec.locate import SpecLocator
from pgflex.spec.parameter_catalogue import ParameterRule

from .observe import Observed, ObservedServer, read_subnet_by_id, zone_exists_by_id
from .offers import LocationOffer, SkuOffer, location_offer
from .unchangeable import unchangeable_issues

MB_PER_GB = 1024


def preflight(
    env: Environment,
    observed: Observed,
    clients: AzureClients,
    *,
    verify: bool,
    retry: RetryPolicy | None = None,
) -> tuple[str, ...]:
    """Every problem that would stop apply, one line each, sorted by position in the spec."""
    policy = retry or RetryPolicy()
    locator = SpecLocator(env.source)
    absent = {server.name: ObservedServer(name=server.name, exists=False) for server in env.servers}
    current = {name: observed.servers.get(name, missing) for name, missing in absent.items()}
    issues: list[SpecIssue] = []
    issues += _offer_issues(env, current, clients, policy, locator)
    issues += _parameter_issues(env, current, locator)
    issues += unchangeable_issues(env, current, locator)
    issues += _network_issues(env, observed, current, clients, policy, locator)
    issues += _secret_issues(env, current, clients, verify=verify)
    return tuple(str(issue) for issue in sorted(set(issues)))


# --------------------------------------------------------------------------------------------------
# What the location offers
# --------------------------------------------------------------------------------------------------


def _offer_issues(
    env: Environment,
    current: dict[str, ObservedServer],
    clients: AzureClients,
    policy: RetryPolicy,
    locator: SpecLocator,
) -> list[SpecIssue]:
    changing = [server for server in env.servers if _asks_the_offer(server, current[server.name])]
    if not changing:
        return []  # nothing created or resized: no read at all
    offer = location_offer(clients, env.location, policy)
    if not offer.offers_anything:
        why = f" ({offer.refusal})" if offer.refusal else ""
        message = (
            f"location {env.location!r} offers no Azure Database for PostgreSQL flexible servers{why}; "
            "use a region such as westeurope or eastus"
        )
        return [locator.issue(message, ("environment", "location"))]
    issues: list[SpecIssue] = []
    for server in changing:
        issues += server_offer_issues(server, current[server.name], offer, locator)
    return issues


def _asks_the_offer(server: Server, current: ObservedServer) -> bool:
    if not current.exists:
        return True
    actual = current.properties
    sku_changes = (actual.get("skuName"), str(actual.get("skuTier") or "").lower()) != (
        server.sku.name,
        server.sku.tier.lower(),
    )
    grows = (actual.get("storageSizeGb") or 0) < server.storage.size_gb
    ha_changes = str(actual.get("highAvailability") or "Disabled").lower() != server.high_availability.mode.lower()
    tier = server.storage.tier
    tier_changes = tier is not None and str(actual.get("storageTier") or "").lower() != tier.lower()
    return sku_changes or grows or ha_changes or tier_changes


def server_offer_issues(
    server: Server, current: ObservedServer, offer: LocationOffer, locator: SpecLocator
) -> list[SpecIssue]:
    where = f"in location {offer.location}"
    issues: list[SpecIssue] = []
    if not current.exists and server.version not in offer.versions:
        versions = ", ".join(sorted(offer.versions, key=int)) or "none"
        message = f"PostgreSQL {server.version} is not offered {where} (offered: {versions})"
        issues.append(locator.server_issue(server, message, "version"))
    tier, name = server.sku.tier, server.sku.name
    if tier not in offer.tiers:
        message = f"tier {tier} is not offered {where} (offered: {', '.join(sorted(offer.tiers))})"
        return [*issues, locator.server_issue(server, message, "sku", "tier")]
    sku = offer.skus.get(name.lower())
    if sku is None:
        sizes = sorted(s.name for s in offer.skus.values() if s.tier == tier)
        close = difflib.get_close_matches(name, sizes, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else f" (the {tier} sizes: {', '.join(sizes)})"
        message = f"compute size {name} is not offered {where}{hint}"
        issues.append(locator.server_issue(server, message, "sku", "name"))
    elif sku.tier != tier:
        message = f"compute size {name} belongs to the {sku.tier} tier {where}, not {tier}"
        issues.append(locator.server_issue(server, message, "sku", "tier"))
    elif server.high_availability.mode != "Disabled" and server.high_availability.mode not in sku.ha_modes:
        modes = ", ".join(sorted(sku.ha_modes)) or "none"
        message = f"high availability {server.high_availability.mode} is not offered for {name} {where} ({modes})"
        issues.append(locator.server_issue(server, message, "highAvailability", "mode"))
    elif not current.exists:
        issues += _zone_issues(server, sku, where, locator)
    sizes_mb = offer.storage_mb.get(tier, frozenset())
    size_mb = server.storage.size_gb * MB_PER_GB
    if sizes_mb and size_mb not in sizes_mb:
        offered = ", ".join(str(size // MB_PER_GB) for size in sorted(sizes_mb))
        message = f"storage of {server.storage.size_gb} GiB is not offered for {tier} {where} (offered: {offered})"
        issues.append(locator.server_issue(server, message, "storage", "sizeGb"))
    storage_tiers = offer.storage_tiers.get(size_mb)
    if server.storage.tier is not None and storage_tiers and server.storage.tier not in storage_tiers:
        offered = ", ".join(sorted(storage_tiers, key=lambda t: int(t[1:]) if t[1:].isdigit() else 0))
        message = (
            f"storage tier {server.storage.tier} is not offered for {server.storage.size_gb} GiB {where} "
            f"(offered: {offered})"
        )
        issues.append(locator.server_issue(server, message, "storage", "tier"))
    return [*issues, *_location_feature_issues(server, current, offer, where, locator)]


def _zone_issues(server: Server, sku: SkuOffer, where: str, locator: SpecLocator) -> list[SpecIssue]:
    """The zones a new server asks for, against those its compute size is offered in."""
    if not sku.zones:
        return []  # the service lists none: nothing to check against
    offered = ", ".join(sorted(sku.zones))
    issues = []
    zone_keys = (
        (server.availability_zone, ("availabilityZone",)),
        (server.high_availability.standby_availability_zone, ("highAvailability", "standbyAvailabilityZone")),
    )
    for zone, keys in zone_keys:
        if zone is not None and zone not in sku.zones:
            message = f"availability zone {zone} is not offered for {sku.name} {where} (offered: {offered})"
            issues.append(locator.server_issue(server, message, *keys))
    return issues


def _location_feature_issues(
    server: Server, current: ObservedServer, offer: LocationOffer, where: str, locator: SpecLocator
) -> list[SpecIssue]:
    """Zone-redundant high availability and geo-redundant backup, which a location offers or not."""
    zone_redundant = server.high_availability.mode == "ZoneRedundant"
    geo = server.backup.geo_redundant and not current.exists  # set at creation only
    if zone_redundant and not offer.zone_redundant_ha:
        message = f"zone-redundant high availability is not offered {where}; use SameZone or another region"
        return [locator.server_issue(server, message, "highAvailability", "mode")]
    if geo and not offer.geo_backup:
        message = f"geo-redundant backup is not offered {where}; set backup.geoRedundant false or use another region"
        return [locator.server_issue(server, message, "backup", "geoRedundant")]
    if geo and zone_redundant and not offer.zone_redundant_ha_with_geo_backup:
        message = f"zone-redundant high availability with geo-redundant backup is not offered {where}"
        return [locator.server_issue(server, message, "backup", "geoRedundant")]
    return []


# --------------------------------------------------------------------------------------------------
# Parameters, against each live server's own list
# --------------------------------------------------------------------------------------------------


def _parameter_issues(env: Environment, current: dict[str, ObservedServer], locator: SpecLocator) -> list[SpecIssue]:
    issues: list[SpecIssue] = []
    for server in env.servers:
        observed = current[server.name]
        if not observed.exists:
            continue  # created from the spec: validate checked it against pgflex's catalogue
        live = {name.lower(): parameter for name, parameter in observed.parameters.items()}
        for name, value in sorted(server.parameters.items()):
            parameter = live.get(name.lower())
            if parameter is None:
                problem: str | None = (
                    f"server {server.name} has no parameter {name!r} (ConfigurationNotExists: its "
                    "PostgreSQL version or the service does not offer it)"
                )
            else:
                rule = ParameterRule(name, parameter.data_type, parameter.allowed_values, parameter.read_only)
                found = rule.problem(value)
                problem = f"on server {server.name}: {found}" if found else None
            if problem is not None:
                issues.append(locator.server_issue(server, problem, "parameters", name))
    return issues


# --------------------------------------------------------------------------------------------------
# Network objects a new private server references
# --------------------------------------------------------------------------------------------------


def _network_issues(
    env: Environment,
    observed: Observed,
    current: dict[str, ObservedServer],
    clients: AzureClients,
    policy: RetryPolicy,
    locator: SpecLocator,
) -> list[SpecIssue]:
    issues: list[SpecIssue] = []
    for server in env.servers:
        access = server.access
        if current[server.name].exists or not isinstance(access, PrivateAccess):
            continue  # an existing server keeps its network (diff reports a move as an error)
        subnet_id = access.subnet.id
        if subnet_id is not None:
            # Observe skips ids when the resource group is missing; an id may live in another group.
            known = observed.network.subnets
            subnet = known[subnet_id] if subnet_id in known else read_subnet_by_id(clients, policy, subnet_id)
            path = ("access", "private", "subnet", "id")
            if subnet is None:
                message = "the subnet does not exist (pgflex creates only a subnet declared with create:)"
                issues.append(locator.server_issue(server, message, *path))
            elif not subnet.delegated:
                message = "the subnet is not delegated to Microsoft.DBforPostgreSQL/flexibleServers"
                issues.append(locator.server_issue(server, message, *path))
        zone_id = access.private_dns_zone.id
        if zone_id is not None:
            zones = observed.network.zones
            exists = zones[zone_id] if zone_id in zones else zone_exists_by_id(clients, policy, zone_id)
            if not exists:
                message = "the private DNS zone does not exist (pgflex creates only a zone declared with create:)"
                issues.append(locator.server_issue(server, message, "access", "private", "privateDnsZone", "id"))
    return issues


# --------------------------------------------------------------------------------------------------
# Secrets
# --------------------------------------------------------------------------------------------------


def _secret_issues(
    env: Environment,
    current: dict[str, ObservedServer],
    clients: AzureClients,
    *,
    verify: bool,
) -> list[SpecIssue]:
    issues: list[SpecIssue] = []
    read_secrets: set[str] = set()  # each Key Vault secret read once, however many servers share it
    for server in env.servers:
        observed = current[server.name]
        # A server created, or whose password authentication is turned on (apply sends the password then).
        sends_password = not observed.exists or observed.properties.get("passwordAuth") is False
        if not sends_password and not (verify and server.administrator is not None):
            continue
        if server.administrator is None:
            continue  # created without a password (Entra only); verify reports such a server itself
        ref = server.administrator.password
        if ref.key_vault_secret is not None:
            if ref.key_vault_secret in read_secrets:
                continue
            read_secrets.add(ref.key_vault_secret)
        try:
            resolve_password(server, clients)  # the value is dropped here: pre-flight only proves it readable
        except SpecError as missing:
            issues += missing.issues
        except SecretUnavailable as unreadable:
            origin = ref.origin
            message = str(unreadable).removeprefix(f"{origin}: ")
            issues.append(SpecIssue(origin.file, origin.line, origin.column, origin.key_path, message))
    return issues


__all__ = ["preflight"]
