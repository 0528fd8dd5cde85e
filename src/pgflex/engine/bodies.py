"""The request bodies apply sends, as plain JSON (the SDK's TypedDicts describe the same shape).

Every setting is spelt by the spec's own `azure_properties()`, so that apply, the importer and the tests write
it one way. What a body leaves out, Azure leaves as it is (PATCH) or chooses (creation).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pgflex.spec import Server

from .desired import desired_tags


def wire(body: dict[str, Any]) -> Any:
    """A request body as the SDK sends it: plain JSON (its TypedDicts describe the same shape)."""
    return body


def server_create_body(location: str, server: Server, password: str | None, network: dict[str, str]) -> dict[str, Any]:
    """The PUT that creates ``server``. A custom maintenance window is not in it: Azure takes one only from a
    server that exists (apply PATCHes it next). An Entra-only server is created without any administrator
    login or password (``password`` None)."""
    properties: dict[str, Any] = {
        "version": server.version,
        "storage": server.storage.azure_properties(),
        "highAvailability": server.high_availability.azure_properties(),
        "backup": server.backup.azure_properties(),
        "authConfig": server.authentication.azure_properties(),
        "createMode": "Create",
    }
    if server.availability_zone is not None:
        properties["availabilityZone"] = server.availability_zone
    if server.administrator is not None and password is not None:
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
        "location": location,
        "sku": {"name": server.sku.name, "tier": server.sku.tier},
        "tags": desired_tags(server),
        "properties": properties,
    }


def server_update_body(
    server: Server, fields: Iterable[tuple[str, Any, Any]], password: str | None = None
) -> dict[str, Any]:
    """One PATCH for the server's properties named in ``fields`` (field, before, after: a plan change's name
    after the server's, and its values), each as the spec has it. ``password``: sent with the administrator's
    login when the PATCH turns password authentication on."""
    patch: dict[str, Any] = {"properties": {}}
    properties = patch["properties"]
    auth: set[str] = set()
    for field, before, after in fields:
        if field == "sku":
            patch["sku"] = {"name": server.sku.name, "tier": server.sku.tier}
        elif field == "tags":  # the tags now, as observed for this plan: a managed server stays managed
            patch["tags"] = desired_tags(server, before)
        elif field.startswith("storage"):
            properties["storage"] = server.storage.azure_properties()
        elif field == "highAvailability":
            # A mode change enables (or disables) high availability: apply disables it first when the mode
            # switches, so the standby's zone, if named, is only ever sent as the standby is created.
            properties["highAvailability"] = server.high_availability.azure_properties()
        elif field == "publicNetworkAccess":
            properties["network"] = {"publicNetworkAccess": after}
        elif field.startswith("backup"):
            # Only the retention: geo-redundant backup is read-only after creation.
            properties["backup"] = {"backupRetentionDays": server.backup.retention_days}
        elif field == "maintenanceWindow":
            properties["maintenanceWindow"] = server.maintenance_window.azure_properties()
        elif field.startswith("authentication"):
            auth.add(field)
            if field == "authentication.password" and after is True and server.administrator and password:
                properties["administratorLogin"] = server.administrator.login
                properties["administratorLoginPassword"] = password
    if auth:
        # Password authentication only when this PATCH changes it (apply turns it off in a PATCH of its own,
        # once the Entra administrators exist); Azure keeps what a PATCH leaves out.
        config = server.authentication.azure_properties()
        if "authentication.password" not in auth:
            config.pop("passwordAuth")
        if auth == {"authentication.password"}:
            config = {"passwordAuth": config["passwordAuth"]}
        properties["authConfig"] = config
    return patch


__all__ = ["server_create_body", "server_update_body", "wire"]
