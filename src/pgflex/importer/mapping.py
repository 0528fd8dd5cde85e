"""Live servers in the spec's shape: plain dicts with env.yaml's camelCase keys, values as the spec normalises them.

Each value is written so that loading the file gives back what the server has (a plan then shows no change):
TLS versions in Azure's spelling, booleans as YAML booleans, integers as numbers, sets (azure.extensions) as
lists, firewall ranges as CIDR blocks where they are one; the server settings (zones, high availability, storage
tier, backup, maintenance window, authentication, databases) by importer/settings.py. What a person should look
at (a policy exception the live server needs, a server elsewhere than the environment's location) comes back as
notes, which the writer turns into comments.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pgflex.engine.desired import VERIFY_EXTENSION
from pgflex.engine.managed import MANAGED_TAG, MANAGED_TAG_VALUE
from pgflex.engine.reads import ObservedParameter
from pgflex.spec.checks import check_environment_name, normalise_tls_version
from pgflex.spec.constants import AZURE_SERVICES_IP, MIN_SAFE_TLS, READ_ONLY_PARAMETERS, TLS_PARAMETERS, TLS_VERSIONS
from pgflex.spec.rules import covers_every_ipv4

from . import settings
from .live import LiveServer

USER_OVERRIDE = "user-override"
_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)")
_BOOLEAN = {"on": True, "true": True, "yes": True, "1": True, "off": False, "false": False, "no": False, "0": False}
# Settings `defaults` can hold whole (the spec replaces or merges them; either way a server's own value wins).
_WHOLE_SETTINGS = (
    "version",
    "sku",
    "storage",
    "availabilityZone",
    "highAvailability",
    "backup",
    "maintenanceWindow",
    "administrator",
    "authentication",
    "tls",
)
# Mappings merged key by key under a server's own: an entry every server shares can move to defaults.
_MERGED_SETTINGS = ("tags", "parameters")


@dataclass
class ServerDraft:
    """A server entry (env.yaml keys, in the spec's order) and what a person should review about it."""

    name: str
    entry: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def server_draft(live: LiveServer, *, password_env: str, location: str, tenant: str | None, today: date) -> ServerDraft:
    """``live`` as a `servers:` entry of an environment in ``location`` whose `environment.tenant` is ``tenant``."""
    props = live.properties
    draft = ServerDraft(live.name, {"name": live.name})
    entry = draft.entry
    entry["version"] = props["version"]
    entry["sku"] = {"name": props["skuName"], "tier": props["skuTier"]}
    entry["storage"] = settings.storage(props)
    optional = {
        "availabilityZone": settings.zone(props["availabilityZone"]) if props.get("availabilityZone") else None,
        "highAvailability": settings.high_availability(props),
        "backup": settings.backup(props),
        "maintenanceWindow": settings.maintenance_window(props),
        "tags": _own_tags(props["tags"]),
    }
    entry.update((key, value) for key, value in optional.items() if value)
    if live.password_auth:
        login = props["administratorLogin"]
        entry["administrator"] = {"login": login, "password": {"fromEnv": password_env}}
    authentication = settings.authentication(live, tenant)
    if authentication is not None:
        entry["authentication"] = authentication
    entry["tls"] = _tls(live.parameters)
    parameters = _overridden_parameters(live.parameters)
    if parameters:
        entry["parameters"] = parameters
    databases = settings.databases(live, draft.notes)
    if databases:
        entry["databases"] = databases
    entry["access"] = _access(live, draft)
    exceptions = _policy_exceptions(entry, today)
    if exceptions:
        entry["exceptions"] = exceptions
        waived = ", ".join(str(e["rule"]) for e in exceptions)
        draft.notes.append(f"the live server breaks pgflex's policy ({waived}): waived below as found; review")
    extensions = parameters.get("azure.extensions", [])
    if VERIFY_EXTENSION not in extensions:
        draft.notes.append(
            f"azure.extensions lacks {VERIFY_EXTENSION}, which verify reads: plan and apply add it unless --no-verify"
        )
    live_location = normalise_location(str(props.get("location") or location))
    if live_location != location:
        draft.notes.append(
            f"runs in {live_location}, the environment in {location}: pgflex would create it anew in {location}"
        )
    return draft


def unrepresentable(live: LiveServer) -> str | None:
    """Why the spec cannot express ``live`` (it is left out of the file), or None."""
    props = live.properties
    authentication = settings.unrepresentable_authentication(live)
    if authentication is not None:
        return authentication
    if not props.get("delegatedSubnetId") and str(props.get("publicNetworkAccess") or "").lower() == "disabled":
        # Reached through private endpoints: the spec knows public access with rules or VNet integration only,
        # and writing it as public would have apply open it.
        return (
            "public network access disabled without a delegated subnet (private endpoints): the spec cannot express it"
        )
    return None


def normalise_location(location: str) -> str:
    """Azure's region name (westeurope) from its display name too (West Europe)."""
    return location.replace(" ", "").lower()


def environment_location(servers: list[LiveServer]) -> str:
    """The environment's location: the one most of its servers run in (ties: alphabetical)."""
    counts = Counter(normalise_location(str(s.properties.get("location") or "")) for s in servers)
    return min(counts, key=lambda location: (-counts[location], location))


def environment_name(resource_group: str) -> str:
    """A valid environment name from a resource group's: rg-payments-prod -> payments-prod."""
    stem = re.sub(r"^rg[-_.]", "", resource_group, flags=re.IGNORECASE)
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-_")[:63] or "imported"
    try:
        return check_environment_name(name)
    except ValueError:
        return "imported"


def factor_defaults(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Move what every server shares into a `defaults` mapping (returned), leaving each entry only its own.

    Only with two servers or more (one server's defaults would only move its settings about). Whole settings
    move when every server has the same value; tags and parameters entry by entry, as the spec merges them.
    """
    defaults: dict[str, Any] = {}
    if len(entries) < 2:
        return defaults
    for key in _WHOLE_SETTINGS:
        values = [entry.get(key) for entry in entries]
        if values[0] is not None and all(value == values[0] for value in values):
            defaults[key] = values[0]
            for entry in entries:
                del entry[key]
    for key in _MERGED_SETTINGS:
        mappings = [entry.get(key) or {} for entry in entries]
        shared = {name: value for name, value in mappings[0].items() if all(m.get(name) == value for m in mappings)}
        if not shared:
            continue
        defaults[key] = shared
        for entry in entries:
            own = {name: value for name, value in entry[key].items() if name not in shared}
            if own:
                entry[key] = own
            else:
                del entry[key]
    return defaults


def _own_tags(tags: dict[str, str]) -> dict[str, str]:
    # pgflex's own tag is not part of a spec (engine/managed.py): plans neither add nor remove it.
    return {name: value for name, value in sorted(tags.items()) if (name, value) != (MANAGED_TAG, MANAGED_TAG_VALUE)}


def _tls(parameters: dict[str, ObservedParameter]) -> dict[str, Any]:
    def value(name: str) -> str:
        found = parameters.get(name)
        return found.value.strip() if found is not None else ""

    # A server that does not report a TLS parameter has the service's default: the spec's default too.
    require = _BOOLEAN.get(value("require_secure_transport").lower(), True)
    tls: dict[str, Any] = {
        "requireSecureTransport": require,
        "minVersion": _tls_version(value("ssl_min_protocol_version")),
    }
    maximum = value("ssl_max_protocol_version")
    if maximum:
        tls["maxVersion"] = _tls_version(maximum)
    return tls


def _tls_version(value: str) -> str:
    if not value:
        return MIN_SAFE_TLS  # the service's default minimum
    try:
        return str(normalise_tls_version(value))
    except ValueError:
        return value  # as found: validating the file names it


def _overridden_parameters(parameters: dict[str, ObservedParameter]) -> dict[str, Any]:
    """Parameters someone set (source user-override) that a spec may set: not TLS (under tls), not read-only."""
    found: dict[str, Any] = {}
    for name, parameter in sorted(parameters.items(), key=lambda item: item[0].lower()):
        if parameter.source != USER_OVERRIDE or parameter.read_only:
            continue  # the service overrides some read-only ones itself (data_directory, ssl_cert_file, ...)
        key = name.lower()  # the spec's spelling; the service's names are case-insensitive (DateStyle)
        if key in TLS_PARAMETERS or key in READ_ONLY_PARAMETERS:
            continue
        found[key] = _parameter_value(key, parameter)
    return found


def _parameter_value(name: str, parameter: ObservedParameter) -> Any:
    text = parameter.value.strip()
    if name == "azure.extensions":  # a set of lower-case names, as the spec normalises it
        return sorted({item.strip().lower() for item in text.split(",") if item.strip()})
    if parameter.data_type == "Set":
        return [item.strip() for item in text.split(",") if item.strip()]
    if parameter.data_type == "Boolean" and text.lower() in _BOOLEAN:
        return _BOOLEAN[text.lower()]
    if parameter.data_type == "Integer" and _INTEGER.fullmatch(text):
        return int(text)
    return parameter.value  # as the service has it, spaces and all


def _access(live: LiveServer, draft: ServerDraft) -> dict[str, Any]:
    props = live.properties
    subnet, zone = props.get("delegatedSubnetId"), props.get("privateDnsZoneId")
    if subnet:
        # References, never create: the network exists, and whoever made it keeps it.
        return {"private": {"subnet": {"id": subnet}, "privateDnsZone": {"id": zone}}}
    rules = [_firewall_rule(name, *live.firewall_rules[name]) for name in sorted(live.firewall_rules, key=str.lower)]
    for rule in rules:
        if rule.get("start") == rule.get("end") == AZURE_SERVICES_IP:
            draft.notes.append(f"firewall rule {rule['name']} (0.0.0.0) admits any Azure service, other tenants' too")
    return {"public": {"firewallRules": rules}}


def _firewall_rule(name: str, start: str, end: str) -> dict[str, Any]:
    """A rule as a CIDR block when its range is exactly one, else start/end."""
    if start == end == AZURE_SERVICES_IP:
        return {"name": name, "start": start, "end": end}  # Azure's switch for its services, not a block
    try:
        blocks = list(ipaddress.summarize_address_range(ipaddress.IPv4Address(start), ipaddress.IPv4Address(end)))
    except ValueError:
        blocks = []  # not an IPv4 range: written as found, and validating the file names it
    if len(blocks) == 1:
        return {"name": name, "cidr": str(blocks[0])}
    return {"name": name, "start": start, "end": end}


def _policy_exceptions(entry: dict[str, Any], today: date) -> list[dict[str, str]]:
    """The exceptions the spec needs to express the server as it is (pgflex.spec.rules refuses it otherwise)."""
    reason = f"found on the live server by pgflex import on {today.isoformat()}; review"
    tls = entry["tls"]
    rules = []
    if not tls["requireSecureTransport"]:
        rules.append("insecure-transport")
    minimum = tls["minVersion"]
    if minimum in TLS_VERSIONS and TLS_VERSIONS.index(minimum) < TLS_VERSIONS.index(MIN_SAFE_TLS):
        rules.append("tls-below-1.2")
    public = entry["access"].get("public")
    if public is not None and _admits_everyone(public["firewallRules"]):
        rules.append("open-to-internet")
    return [{"rule": rule, "reason": reason} for rule in rules]


def _admits_everyone(rules: list[dict[str, Any]]) -> bool:
    ranges: list[tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]] = []
    for rule in rules:
        try:
            if "cidr" in rule:
                block = ipaddress.IPv4Network(rule["cidr"])
                ranges.append((block.network_address, block.broadcast_address))
            elif (rule["start"], rule["end"]) != (AZURE_SERVICES_IP, AZURE_SERVICES_IP):  # a switch, not a range
                ranges.append((ipaddress.IPv4Address(rule["start"]), ipaddress.IPv4Address(rule["end"])))
        except ValueError:
            continue
    return covers_every_ipv4(ranges)
