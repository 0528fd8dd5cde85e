"""The request bodies apply sends, as plain JSON (the SDK's TypedDicts describe the same shape)."""

from __future__ import annotations

from typing import Any

from pgflex.spec import Environment, Server

from .desired import desired_tags


def wire(body: dict[str, Any]) -> Any:
    """A request body as the SDK sends it: plain JSON (its TypedDicts describe the same shape)."""
    return body


def server_create_body(env: Environment, server: Server, password: str, network: dict[str, str]) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "version": server.version,
        "storage": {
            "storageSizeGB": server.storage.size_gb,
            "autoGrow": "Enabled" if server.storage.auto_grow else "Disabled",
        },
        "highAvailability": {"mode": server.high_availability.mode},
        "authConfig": {
            "passwordAuth": "Enabled" if server.authentication.password else "Disabled",
            "activeDirectoryAuth": "Enabled" if server.authentication.entra else "Disabled",
        },
        "createMode": "Create",
    }
    if server.administrator is not None:
        properties["administratorLogin"] = server.administrator.login
        properties["administratorLoginPassword"] = password
    if network:
        # Private access: pgflex sets publicNetworkAccess itself, as the service requires.
        properties["network"] = {
            "delegatedSubnetResourceId": network["subnet"],
            "privateDnsZoneArmResourceId": network["zone"],
            "publicNetworkAccess": "Disabled",
        }
    else:
        properties["network"] = {"publicNetworkAccess": "Enabled"}
    return {
        "location": env.location,
        "sku": {"name": server.sku.name, "tier": server.sku.tier},
        "tags": desired_tags(server),
        "properties": properties,
    }
