"""Subscriptions and resource groups (Microsoft.Resources)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import ArmError, InvalidRequest
from ..store import Operation, Record
from .capabilities import LOCATIONS
from .context import Accepted, Context, Written, optional_object, require_object
from .ids import RESOURCE_GROUP_TYPE, SUBSCRIPTION_TYPE, resource_group_id, subscription_id

# A subscription's id is a GUID; Resource Manager shows it in lower case.
_SUBSCRIPTION_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MAX_DISPLAY_NAME = 64  # the portal's limit on a subscription's name

# ARM: 1-90 characters, alphanumerics, underscores, parentheses, hyphens, periods; not ending in a period.
_RESOURCE_GROUP_NAME = re.compile(r"^[-\w\._\(\)]{1,90}$")

DELETE_RESOURCE_GROUP = "resourceGroup.delete"


class ResourceGroups:
    def __init__(self, ctx: Context, delete_contents: Callable[[Record], Awaitable[None]]) -> None:
        self._ctx = ctx
        # Servers need their data plane torn down; the owner of servers supplies how.
        self._delete_contents = delete_contents
        ctx.runner.register(DELETE_RESOURCE_GROUP, self._complete_delete, self._rollback_delete)

    def ensure_subscription(self, subscription: str, tenant: str, display_name: str) -> None:
        if self._ctx.store.get(subscription_id(subscription)) is not None:
            return
        self._ctx.store.put(
            Record(
                id=subscription_id(subscription),
                type=SUBSCRIPTION_TYPE,
                subscription=subscription,
                resource_group="",
                parent="",
                body={
                    "id": subscription_id(subscription),
                    "subscriptionId": subscription,
                    "tenantId": tenant,
                    "displayName": display_name,
                    "state": "Enabled",
                    "subscriptionPolicies": {
                        "locationPlacementId": "Public_2014-09-01",
                        "quotaId": "PayAsYouGo_2014-09-01",
                        "spendingLimit": "Off",
                    },
                    "authorizationSource": "RoleBased",
                },
            )
        )

    def register_subscription(self, subscription: str, tenant: str, body: Any) -> Written:
        """Add a subscription (the admin endpoint's PUT), or rename one: ``{"displayName": ...}``."""
        payload = require_object(body, "a subscription")
        name = payload.get("displayName")
        if not _SUBSCRIPTION_ID.match(subscription.lower()):
            raise InvalidRequest(f"The subscription id '{subscription}' is not a GUID.")
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= MAX_DISPLAY_NAME:
            raise InvalidRequest(f"'displayName' must be a string of 1 to {MAX_DISPLAY_NAME} characters.")
        subscription = subscription.lower()
        existing = self._ctx.store.get(subscription_id(subscription))
        if existing is None:
            self.ensure_subscription(subscription, tenant, name.strip())
            return Written(self.get_subscription(subscription), created=True)
        existing.body["displayName"] = name.strip()
        self._ctx.store.put(existing)
        return Written(existing.body, created=False)

    def list_subscriptions(self) -> list[dict[str, Any]]:
        return [r.body for r in self._ctx.store.of_type(SUBSCRIPTION_TYPE)]

    def get_subscription(self, subscription: str) -> dict[str, Any]:
        return self._ctx.require_subscription(subscription).body

    def create_or_update(self, subscription: str, name: str, body: Any) -> Written:
        self._ctx.require_subscription(subscription)
        payload = require_object(body, "a resource group")
        if not _RESOURCE_GROUP_NAME.match(name) or name.endswith("."):
            raise ArmError(
                f"Resource group name '{name}' is invalid. It can include alphanumeric, underscore, "
                "parentheses, hyphen, period (except at end), and Unicode characters.",
                code="InvalidResourceGroupName",
            )
        location = payload.get("location")
        existing = self._ctx.store.get(resource_group_id(subscription, name))
        if existing is None and not isinstance(location, str):
            raise InvalidRequest("The 'location' property is required for a new resource group.")
        if existing is None:
            location = _group_location(str(location))
        if existing is not None:
            if isinstance(location, str) and _canonical(location) != existing.body["location"].lower():
                raise ArmError(
                    f"Invalid resource group location '{location}'. The Resource group already exists "
                    f"in location '{existing.body['location']}'.",
                    code="InvalidResourceGroupLocation",
                    status=409,
                )
            location = existing.body["location"]
        group_id = resource_group_id(subscription, name)
        resource: dict[str, Any] = {
            "id": group_id,
            "name": name if existing is None else existing.body["name"],
            "type": RESOURCE_GROUP_TYPE,
            "location": location,
            "tags": optional_object(payload, "tags", "a resource group") or {},
            "properties": {"provisioningState": "Succeeded"},
        }
        if payload.get("managedBy"):
            resource["managedBy"] = payload["managedBy"]
        self._ctx.store.put(
            Record(
                id=group_id,
                type=RESOURCE_GROUP_TYPE,
                subscription=subscription,
                resource_group=name,
                parent=subscription_id(subscription),
                body=resource,
            )
        )
        return Written(resource, created=existing is None)

    def update(self, subscription: str, name: str, body: Any) -> dict[str, Any]:
        """PATCH (ResourceGroupPatchable): ``tags`` given replace the tags whole, as on Azure.

        Resource groups carry no ETag and ignore If-Match, on Azure as here: there is no compare-and-swap.
        """
        record = self._ctx.require_resource_group(subscription, name)
        payload = require_object(body, "a resource group")
        if payload.get("tags") is not None:
            tags = optional_object(payload, "tags", "a resource group")
            if not all(isinstance(value, str) for value in tags.values()):
                raise InvalidRequest("Tag values of a resource group must be strings.")
            record.body["tags"] = dict(tags)
        if payload.get("managedBy"):
            record.body["managedBy"] = payload["managedBy"]
        self._ctx.store.put(record)
        return record.body

    def get(self, subscription: str, name: str) -> dict[str, Any]:
        return self._ctx.require_resource_group(subscription, name).body

    def list_all(self, subscription: str) -> list[dict[str, Any]]:
        self._ctx.require_subscription(subscription)
        return [r.body for r in self._ctx.store.in_scope(RESOURCE_GROUP_TYPE, subscription)]

    def delete(self, subscription: str, name: str) -> Accepted | None:
        record = self._ctx.store.get(resource_group_id(subscription, name))
        if record is None:
            return None
        record.body["properties"]["provisioningState"] = "Deleting"
        self._ctx.store.put(record)
        op = self._ctx.runner.begin(record.key, DELETE_RESOURCE_GROUP, {}, duration=self._ctx.tuning.operation_seconds)
        return Accepted(op, record.body["location"])

    async def _complete_delete(self, op: Operation) -> None:
        record = self._ctx.store.get(op.resource_key)
        if record is None:
            return
        await self._delete_contents(record)
        self._ctx.store.delete(record.id)

    def _rollback_delete(self, op: Operation, error: ArmError) -> None:
        record = self._ctx.store.get(op.resource_key)
        if record is not None:
            record.body["properties"]["provisioningState"] = "Succeeded"
            self._ctx.store.put(record)


def _canonical(location: str) -> str:
    """A region as Resource Manager stores it: "West Europe" is westeurope."""
    return location.replace(" ", "").lower()


def _group_location(location: str) -> str:
    """Resource Manager's answer to a region it does not offer resource groups in, in its words (azure-cli #7602)."""
    if _canonical(location) not in LOCATIONS:
        raise ArmError(
            f"The provided location '{location}' is not available for resource group. "
            f"List of available regions is '{','.join(LOCATIONS)}'.",
            code="LocationNotAvailableForResourceGroup",
        )
    return _canonical(location)
