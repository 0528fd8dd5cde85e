"""Private DNS zones, their virtual-network links and A record sets (Microsoft.Network)."""

from __future__ import annotations

import uuid
from typing import Any

from ..errors import ArmError, InvalidRequest, NotFound
from ..store import Record
from .context import Context, Written, optional_object, require_object
from .ids import DNS_A_TYPE, DNS_LINK_TYPE, DNS_ZONE_TYPE, VNET_TYPE, child_id, provider_id

MAX_RECORD_SETS = 25000
MAX_LINKS = 1000


def _etag() -> str:
    return str(uuid.uuid4())


class PrivateDns:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    # Zones

    def put_zone(self, subscription: str, resource_group: str, name: str, body: Any) -> Written:
        self._ctx.require_resource_group(subscription, resource_group)
        payload = require_object(body, "a private DNS zone")
        zone_id = provider_id(subscription, resource_group, DNS_ZONE_TYPE, name)
        existing = self._ctx.store.get(zone_id)
        if "." not in name.strip("."):
            raise ArmError(f"The zone name '{name}' is not a valid DNS name.", code="BadRequest")
        resource = {
            "id": zone_id,
            "name": name,
            "type": DNS_ZONE_TYPE,
            "location": "global",
            "tags": payload.get("tags") or (existing.body.get("tags") if existing else {}),
            "etag": _etag(),
            "properties": {
                "maxNumberOfRecordSets": MAX_RECORD_SETS,
                "maxNumberOfVirtualNetworkLinks": MAX_LINKS,
                "maxNumberOfVirtualNetworkLinksWithRegistration": 100,
                "provisioningState": "Succeeded",
            },
        }
        self._ctx.store.put(Record(zone_id, DNS_ZONE_TYPE, subscription, resource_group, "", body=resource))
        return Written(self._zone_view(zone_id), created=existing is None)

    def get_zone(self, subscription: str, resource_group: str, name: str) -> dict[str, Any]:
        return self._zone_view(self._require_zone(subscription, resource_group, name).id)

    def list_zones(self, subscription: str, resource_group: str | None) -> list[dict[str, Any]]:
        if resource_group is None:
            self._ctx.require_subscription(subscription)
        else:
            self._ctx.require_resource_group(subscription, resource_group)
        return [self._zone_view(r.id) for r in self._ctx.store.in_scope(DNS_ZONE_TYPE, subscription, resource_group)]

    def delete_zone(self, subscription: str, resource_group: str, name: str) -> bool:
        zone_id = provider_id(subscription, resource_group, DNS_ZONE_TYPE, name)
        if self._ctx.store.get(zone_id) is None:
            return False
        if self._ctx.store.children(zone_id, DNS_LINK_TYPE):
            raise ArmError(
                "You cannot delete a Private DNS zone that has virtual network links. Delete the links first.",
                code="CannotDeleteResource",
                status=409,
            )
        self._ctx.store.delete(zone_id)
        return True

    def zone_by_id(self, zone_id: str) -> Record | None:
        record = self._ctx.store.get(zone_id)
        return record if record is not None and record.type == DNS_ZONE_TYPE.lower() else None

    # Virtual network links

    def put_link(self, subscription: str, resource_group: str, zone: str, name: str, body: Any) -> Written:
        zone_record = self._require_zone(subscription, resource_group, zone)
        payload = require_object(body, "a virtual network link")
        properties = optional_object(payload, "properties", "a virtual network link")
        vnet_id = optional_object(properties, "virtualNetwork", "properties").get("id")
        if not isinstance(vnet_id, str):
            raise InvalidRequest("properties.virtualNetwork.id is required for a virtual network link.")
        vnet = self._ctx.store.get(vnet_id)
        if vnet is None or vnet.type != VNET_TYPE.lower():
            raise NotFound(f"Virtual network '{vnet_id}' was not found.", code="BadRequest", status=400)
        link_id = child_id(zone_record.id, "virtualNetworkLinks", name)
        for other in self._ctx.store.children(zone_record.id, DNS_LINK_TYPE):
            same_vnet = other.body["properties"]["virtualNetwork"]["id"].lower() == vnet.key
            if same_vnet and other.key != link_id.lower():
                raise ArmError(
                    f"A virtual network cannot be linked to the same zone twice (link '{other.body['name']}').",
                    code="Conflict",
                    status=409,
                )
        existing = self._ctx.store.get(link_id)
        resource = {
            "id": link_id,
            "name": name,
            "type": DNS_LINK_TYPE,
            "location": "global",
            "tags": payload.get("tags") or {},
            "etag": _etag(),
            "properties": {
                "virtualNetwork": {"id": vnet.body["id"]},
                "registrationEnabled": bool(properties.get("registrationEnabled", False)),
                "virtualNetworkLinkState": "Completed",
                "provisioningState": "Succeeded",
            },
        }
        self._ctx.store.put(Record(link_id, DNS_LINK_TYPE, subscription, resource_group, zone_record.id, body=resource))
        return Written(resource, created=existing is None)

    def get_link(self, subscription: str, resource_group: str, zone: str, name: str) -> dict[str, Any]:
        zone_record = self._require_zone(subscription, resource_group, zone)
        record = self._ctx.store.get(child_id(zone_record.id, "virtualNetworkLinks", name))
        if record is None:
            raise NotFound(f"Virtual network link '{name}' was not found in zone '{zone}'.")
        return record.body

    def list_links(self, subscription: str, resource_group: str, zone: str) -> list[dict[str, Any]]:
        zone_record = self._require_zone(subscription, resource_group, zone)
        return [r.body for r in self._ctx.store.children(zone_record.id, DNS_LINK_TYPE)]

    def delete_link(self, subscription: str, resource_group: str, zone: str, name: str) -> bool:
        zone_record = self._require_zone(subscription, resource_group, zone)
        link_id = child_id(zone_record.id, "virtualNetworkLinks", name)
        if self._ctx.store.get(link_id) is None:
            return False
        self._ctx.store.delete(link_id)
        return True

    def links_to(self, zone_id: str) -> list[str]:
        """Ids of the virtual networks a zone is linked to."""
        return [r.body["properties"]["virtualNetwork"]["id"] for r in self._ctx.store.children(zone_id, DNS_LINK_TYPE)]

    # A record sets

    def put_a_record(self, subscription: str, resource_group: str, zone: str, name: str, body: Any) -> Written:
        zone_record = self._require_zone(subscription, resource_group, zone)
        payload = require_object(body, "a record set")
        properties = optional_object(payload, "properties", "a record set")
        addresses = [str(require_object(a, "an A record").get("ipv4Address")) for a in properties.get("aRecords") or []]
        return self.set_a_record(zone_record, name, addresses, int(properties.get("ttl", 3600)))

    def set_a_record(self, zone: Record, name: str, addresses: list[str], ttl: int = 30) -> Written:
        record_id = child_id(zone.id, "A", name)
        existing = self._ctx.store.get(record_id)
        resource = {
            "id": record_id,
            "name": name,
            "type": DNS_A_TYPE,
            "etag": _etag(),
            "properties": {
                "fqdn": f"{name}.{zone.body['name']}.",
                "ttl": ttl,
                "isAutoRegistered": False,
                "aRecords": [{"ipv4Address": a} for a in addresses],
            },
        }
        self._ctx.store.put(
            Record(record_id, DNS_A_TYPE, zone.subscription, zone.resource_group, zone.id, body=resource)
        )
        return Written(resource, created=existing is None)

    def get_a_record(self, subscription: str, resource_group: str, zone: str, name: str) -> dict[str, Any]:
        zone_record = self._require_zone(subscription, resource_group, zone)
        record = self._ctx.store.get(child_id(zone_record.id, "A", name))
        if record is None:
            raise NotFound(f"The record set 'A/{name}' was not found in zone '{zone}'.")
        return record.body

    def list_a_records(self, subscription: str, resource_group: str, zone: str) -> list[dict[str, Any]]:
        zone_record = self._require_zone(subscription, resource_group, zone)
        return [r.body for r in self._ctx.store.children(zone_record.id, DNS_A_TYPE)]

    def delete_a_record(self, subscription: str, resource_group: str, zone: str, name: str) -> bool:
        zone_record = self._require_zone(subscription, resource_group, zone)
        record_id = child_id(zone_record.id, "A", name)
        if self._ctx.store.get(record_id) is None:
            return False
        self._ctx.store.delete(record_id)
        return True

    def remove_a_record(self, zone_id: str, name: str) -> None:
        self._ctx.store.delete(child_id(zone_id, "A", name))

    # Helpers

    def _require_zone(self, subscription: str, resource_group: str, name: str) -> Record:
        self._ctx.require_resource_group(subscription, resource_group)
        record = self._ctx.store.get(provider_id(subscription, resource_group, DNS_ZONE_TYPE, name))
        if record is None:
            raise NotFound(
                f"The Resource '{DNS_ZONE_TYPE}/{name}' under resource group '{resource_group}' was not found."
            )
        return record

    def _zone_view(self, zone_id: str) -> dict[str, Any]:
        record = self._ctx.store.get(zone_id)
        assert record is not None
        body = dict(record.body)
        links = self._ctx.store.children(zone_id, DNS_LINK_TYPE)
        body["properties"] = {
            **body["properties"],
            # The SOA record set every zone has, plus the A record sets.
            "numberOfRecordSets": 1 + len(self._ctx.store.children(zone_id, DNS_A_TYPE)),
            "numberOfVirtualNetworkLinks": len(links),
            "numberOfVirtualNetworkLinksWithRegistration": sum(
                1 for link in links if link.body["properties"]["registrationEnabled"]
            ),
        }
        return body
