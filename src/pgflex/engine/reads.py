"""Read primitives for Flexible Servers: one request (or one paged list) each, every one under pgflex's RetryPolicy.

Shared by observe (the servers an env file names), ``pgflex audit`` (every server of a subscription) and
``pgflex import`` (a resource group, or named servers). Each function sends its requests whole inside the
retried call, so a page the service refuses reads the list again from the start, and an error that ends it is
an AzureOperationError naming ``scope`` (a server's name, or the scope of a wider read) and the read.

What each read costs in Resource Manager calls:

- :func:`list_servers`: one paged list for a resource group or a whole subscription (one page per 100 servers
  or so, as the service pages);
- :func:`read_server`: one GET;
- :func:`list_parameters`: one list call (the service returns every parameter in its first page), read as plain
  JSON: the SDK would build a model of each of the 415 parameters, which costs several times the request;
- :func:`list_firewall_rules`: one list call;
- :func:`list_administrators`: one list call (the server's Microsoft Entra administrators);
- :func:`list_databases`: one list call (Azure's own databases included: callers leave SYSTEM_DATABASES alone).

:func:`server_properties` turns an SDK server (from a GET or a list: both carry the same fields) into the
plain dict the plan compares, without a request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError, map_error
from azure.core.rest import HttpRequest
from azure.mgmt.core.exceptions import ARMErrorFormat

from pgflex.azure.clients import AzureClients
from pgflex.azure.retry import RetryPolicy

T = TypeVar("T")


@dataclass(frozen=True)
class ObservedParameter:
    """One server parameter as the service reports it (ConfigurationProperties), only the fields pgflex uses."""

    value: str
    data_type: str
    is_dynamic: bool
    pending_restart: bool
    source: str  # "system-default" or "user-override"
    # What the server accepts, read with the value at no extra cost, for pre-flight (engine/preflight.py).
    allowed_values: str = ""
    read_only: bool = False


def resource_group_exists(clients: AzureClients, policy: RetryPolicy, group: str, scope: str) -> bool:
    """Whether resource group ``group`` exists (one HEAD); ``scope`` names who asks in a failure."""
    check = clients.resources.resource_groups.check_existence
    return policy.call(scope, f"check resource group {group}", lambda: bool(check(group)))


def list_servers(clients: AzureClients, policy: RetryPolicy, resource_group: str | None = None) -> list[Any]:
    """Every Flexible Server (SDK ``Server``) of ``resource_group``, or of the clients' subscription when None.

    One paged list; a resource group that does not exist reads as no servers. Each server's ``id`` names its
    resource group (:func:`resource_group_of`).
    """
    servers = clients.postgres.servers
    if resource_group is None:
        scope = f"subscription {clients.subscription}"
        return policy.call(scope, "list servers", lambda: list(servers.list_by_subscription()))
    group = resource_group
    listed = policy.call(
        f"resource group {group}", "list servers", lambda: or_none(lambda: list(servers.list_by_resource_group(group)))
    )
    return listed or []


def read_server(clients: AzureClients, policy: RetryPolicy, resource_group: str, name: str) -> Any | None:
    """The SDK ``Server`` named ``name`` (one GET), or None when it does not exist."""
    read = clients.postgres.servers.get
    return policy.call(name, "read server", lambda: or_none(lambda: read(resource_group, name)))


def list_parameters(
    clients: AzureClients, policy: RetryPolicy, resource_group: str, server: str
) -> dict[str, ObservedParameter]:
    """Every parameter of a server by name (one list call), with its value, source and what it accepts."""
    group, name = quote(resource_group, safe=""), quote(server, safe="")
    path = (
        f"/subscriptions/{clients.subscription}/resourceGroups/{group}"
        f"/providers/Microsoft.DBforPostgreSQL/flexibleServers/{name}/configurations"
    )
    listed = policy.call(server, "list parameters", lambda: list_json(clients.postgres, path))
    return {str(item["name"]): _parameter(item.get("properties") or {}) for item in listed if item.get("name")}


def _parameter(properties: dict[str, Any]) -> ObservedParameter:
    """A configuration's ``properties`` (ConfigurationProperties, as on the wire) as an ObservedParameter."""
    return ObservedParameter(
        value=str(properties.get("value") or ""),
        data_type=str(properties.get("dataType") or "String"),
        is_dynamic=bool(properties.get("isDynamicConfig")),
        pending_restart=bool(properties.get("isConfigPendingRestart")),
        source=str(properties.get("source") or ""),
        allowed_values=str(properties.get("allowedValues") or ""),
        read_only=bool(properties.get("isReadOnly")),
    )


@dataclass(frozen=True)
class ObservedAdministrator:
    """A Microsoft Entra administrator as the service reports it (its object id is the subresource's name)."""

    principal_name: str
    principal_type: str  # "User", "Group", "ServicePrincipal" (or the service's "Unknown")
    tenant_id: str | None


@dataclass(frozen=True)
class ObservedDatabase:
    """A database as the service reports it."""

    charset: str
    collation: str


def list_json(client: Any, path: str) -> list[dict[str, Any]]:
    """Every item of a Resource Manager list at ``path``, as plain JSON, following nextLink.

    ``client`` is an SDK management client: the request goes through its own pipeline (credential, pgflex's
    request counter, its api-version), and a refusal raises what its operations raise (ResourceNotFoundError,
    HttpResponseError with the ARM error's code), so RetryPolicy judges it the same way.
    """
    version = client._config.api_version  # the version the client's own operations send
    url: str | None = f"{path}?api-version={version}"
    items: list[dict[str, Any]] = []
    while url:
        response = client.send_request(HttpRequest("GET", url))
        if response.status_code != 200:
            errors = {401: ClientAuthenticationError, 404: ResourceNotFoundError}
            map_error(status_code=response.status_code, response=response, error_map=errors)
            raise HttpResponseError(response=response, error_format=ARMErrorFormat)
        page = response.json()
        items.extend(page.get("value") or [])
        url = page.get("nextLink")
    return items


def list_firewall_rules(
    clients: AzureClients, policy: RetryPolicy, resource_group: str, server: str
) -> dict[str, tuple[str, str]]:
    """A server's firewall rules, name -> (start IP, end IP), by one list call."""
    rules = clients.postgres.firewall_rules
    listed = policy.call(server, "list firewall rules", lambda: list(rules.list_by_server(resource_group, server)))
    return {
        str(rule.name): (str(rule.start_ip_address), str(rule.end_ip_address))
        for rule in listed
        if rule.name is not None
    }


def list_administrators(
    clients: AzureClients, policy: RetryPolicy, resource_group: str, server: str
) -> dict[str, ObservedAdministrator]:
    """A server's Microsoft Entra administrators by lower-cased object id, by one list call."""
    admins = clients.postgres.administrators_microsoft_entra
    listed = policy.call(
        server, "list Microsoft Entra administrators", lambda: list(admins.list_by_server(resource_group, server))
    )
    found: dict[str, ObservedAdministrator] = {}
    for admin in listed:
        # The service names an administrator by its principal name; its object id is in properties and the id.
        object_id = admin.object_id or (id_parts(str(admin.id)).get("administrators") if admin.id else None)
        if object_id is None:
            continue
        found[str(object_id).lower()] = ObservedAdministrator(
            principal_name=str(admin.principal_name or ""),
            principal_type=sdk_text(admin.principal_type) if admin.principal_type else "",
            tenant_id=str(admin.tenant_id) if admin.tenant_id else None,
        )
    return found


def list_databases(
    clients: AzureClients, policy: RetryPolicy, resource_group: str, server: str
) -> dict[str, ObservedDatabase]:
    """Every database of a server by name (case-sensitive, as PostgreSQL's), by one list call."""
    databases = clients.postgres.databases
    listed = policy.call(server, "list databases", lambda: list(databases.list_by_server(resource_group, server)))
    return {
        str(db.name): ObservedDatabase(charset=str(db.charset or ""), collation=str(db.collation or ""))
        for db in listed
        if db.name is not None
    }


def server_properties(found: Any) -> dict[str, Any]:
    """The fields of an SDK ``Server`` pgflex manages, as plain values (observe's ``properties``).

    Keys: location, version, skuName, skuTier, storageSizeGb, autoGrow, storageTier, availabilityZone,
    highAvailability (the mode), standbyAvailabilityZone, backupRetentionDays, geoRedundantBackup (bool),
    maintenanceWindow (the API's four keys: customWindow, dayOfWeek, startHour, startMinute), passwordAuth and
    activeDirectoryAuth (bools), entraTenantId, tags, administratorLogin, publicNetworkAccess, delegatedSubnetId,
    privateDnsZoneId. A value the server does not report is None (and the high-availability mode "Disabled").
    """
    network = found.network
    ha = found.high_availability
    storage = found.storage
    backup = found.backup
    window = found.maintenance_window
    auth = found.auth_config
    return {
        "location": found.location,
        "version": str(found.version) if found.version else None,
        "skuName": found.sku.name if found.sku else None,
        "skuTier": sdk_text(found.sku.tier) if found.sku else None,
        "storageSizeGb": storage.storage_size_gb if storage else None,
        "autoGrow": sdk_text(storage.auto_grow) == "Enabled" if storage else None,
        "storageTier": sdk_text(storage.tier) if storage and storage.tier else None,
        "availabilityZone": found.availability_zone or None,
        "highAvailability": sdk_text(ha.mode) if ha and ha.mode else "Disabled",
        "standbyAvailabilityZone": (ha.standby_availability_zone or None) if ha else None,
        "backupRetentionDays": backup.backup_retention_days if backup else None,
        "geoRedundantBackup": sdk_text(backup.geo_redundant_backup) == "Enabled" if backup else None,
        "maintenanceWindow": _window(window) if window else None,
        "passwordAuth": sdk_text(auth.password_auth) != "Disabled" if auth else True,
        "activeDirectoryAuth": sdk_text(auth.active_directory_auth) == "Enabled" if auth else False,
        "entraTenantId": (auth.tenant_id or None) if auth else None,
        "tags": dict(found.tags or {}),
        "administratorLogin": found.administrator_login,
        "publicNetworkAccess": sdk_text(network.public_network_access) if network else None,
        "delegatedSubnetId": network.delegated_subnet_resource_id if network else None,
        "privateDnsZoneId": network.private_dns_zone_arm_resource_id if network else None,
    }


def _window(window: Any) -> dict[str, Any]:
    """A maintenance window in the API's spelling (a system-managed one is customWindow Disabled)."""
    return {
        "customWindow": sdk_text(window.custom_window) if window.custom_window else "Disabled",
        "dayOfWeek": window.day_of_week or 0,
        "startHour": window.start_hour or 0,
        "startMinute": window.start_minute or 0,
    }


def server_state(found: Any) -> str:
    """An SDK ``Server``'s state ("Ready", "Updating", ...)."""
    return sdk_text(found.state)


def resource_group_of(resource_id: str) -> str:
    """The resource group named in an ARM resource id (a listed server's ``id``)."""
    return id_parts(resource_id)["resourcegroups"]


def id_parts(resource_id: str) -> dict[str, str]:
    """An ARM resource id's segments by lower-cased type: {"subscriptions": ..., "resourcegroups": ..., ...}."""
    parts = [p for p in resource_id.split("/") if p]
    return {parts[i].lower(): parts[i + 1] for i in range(0, len(parts) - 1, 2) if parts[i].lower() != "providers"}


def or_none(read: Callable[[], T]) -> T | None:
    """``read()``, or None when the resource does not exist (a fact, not a failure to retry)."""
    try:
        return read()
    except ResourceNotFoundError:
        return None


def sdk_text(value: object) -> str:
    """The wire string of an SDK value: its enums print as 'SkuTier.BURSTABLE' otherwise."""
    return str(getattr(value, "value", value))
