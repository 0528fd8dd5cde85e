"""Building ARM resource ids and timestamps."""

from __future__ import annotations

import datetime as dt

POSTGRES = "Microsoft.DBforPostgreSQL"
SERVER_TYPE = f"{POSTGRES}/flexibleServers"
CONFIGURATION_TYPE = f"{SERVER_TYPE}/configurations"
FIREWALL_RULE_TYPE = f"{SERVER_TYPE}/firewallRules"
RESOURCE_GROUP_TYPE = "Microsoft.Resources/resourceGroups"
SUBSCRIPTION_TYPE = "Microsoft.Resources/subscriptions"
VNET_TYPE = "Microsoft.Network/virtualNetworks"
SUBNET_TYPE = f"{VNET_TYPE}/subnets"
DNS_ZONE_TYPE = "Microsoft.Network/privateDnsZones"
DNS_LINK_TYPE = f"{DNS_ZONE_TYPE}/virtualNetworkLinks"
DNS_A_TYPE = f"{DNS_ZONE_TYPE}/A"
DNS_SOA_TYPE = f"{DNS_ZONE_TYPE}/SOA"


def subscription_id(subscription: str) -> str:
    return f"/subscriptions/{subscription}"


def resource_group_id(subscription: str, resource_group: str) -> str:
    return f"/subscriptions/{subscription}/resourceGroups/{resource_group}"


def provider_id(subscription: str, resource_group: str, resource_type: str, name: str) -> str:
    return f"{resource_group_id(subscription, resource_group)}/providers/{resource_type}/{name}"


def child_id(parent: str, segment: str, name: str) -> str:
    return f"{parent}/{segment}/{name}"


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")


def parse_resource_id(resource_id: str) -> dict[str, str]:
    """Split an ARM id into its named segments, lower-cased keys: {'subscriptions': ..., ...}."""
    parts = [p for p in resource_id.split("/") if p]
    pairs: dict[str, str] = {}
    index = 0
    while index + 1 < len(parts):
        key = parts[index].lower()
        if key == "providers":
            pairs["provider"] = parts[index + 1]
            index += 2
            continue
        pairs[key] = parts[index + 1]
        index += 2
    return pairs
