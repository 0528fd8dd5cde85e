"""Writing env.yaml files for tests, the way users write them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from pgflex.emulator.settings import DEFAULT_SUBSCRIPTION


def environment(group: str, servers: list[dict[str, Any]], **defaults: Any) -> dict[str, Any]:
    return {
        "apiVersion": "pgflex/v1",
        "environment": {
            "name": "test",
            "cloud": "local",
            "subscription": DEFAULT_SUBSCRIPTION,
            "resourceGroup": group,
            "location": "westeurope",
        },
        "defaults": {
            "version": "16",
            "sku": {"name": "Standard_B1ms", "tier": "Burstable"},
            "storage": {"sizeGb": 32, "autoGrow": False},
            "administrator": {"login": "pgadmin", "password": {"fromEnv": "PGFLEX_ADMIN_PASSWORD"}},
            **defaults,
        },
        "servers": servers,
    }


def public_server(name: str, rules: dict[str, str], **settings: Any) -> dict[str, Any]:
    return {
        "name": name,
        "access": {"public": {"firewallRules": [{"name": n, "cidr": c} for n, c in rules.items()]}},
        **settings,
    }


def private_server(name: str, vnet: str, zone: str, **settings: Any) -> dict[str, Any]:
    return {
        "name": name,
        "access": {
            "private": {
                "subnet": {
                    "create": {
                        "vnet": vnet,
                        "vnetAddressPrefix": "10.40.0.0/16",
                        "name": "snet-db",
                        "addressPrefix": "10.40.1.0/24",
                    }
                },
                "privateDnsZone": {"create": {"name": zone}},
            }
        },
        **settings,
    }


def write(path: Path, document: dict[str, Any]) -> Path:
    with path.open("w") as handle:
        YAML(typ="safe", pure=True).dump(document, handle)
    return path
