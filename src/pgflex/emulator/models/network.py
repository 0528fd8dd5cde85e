"""Virtual networks and subnets (Microsoft.Network), as far as private access needs them."""

from __future__ import annotations

import ipaddress
from typing import Any

from ..errors import ArmError, InvalidRequest, NotFound
from ..store import Record
from .context import Context, Written, optional_object, require_object
from .ids import SERVER_TYPE, SUBNET_TYPE, VNET_TYPE, child_id, provider_id

POSTGRES_DELEGATION = "Microsoft.DBforPostgreSQL/flexibleServers"
_DELEGATION_ACTIONS = {POSTGRES_DELEGATION: ["Microsoft.Network/virtualNetworks/subnets/join/action"]}


def _network(text: Any, what: str) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(str(text), strict=True)
    except ValueError as error:
        raise ArmError(f"{what} '{text}' is not a valid IPv4 CIDR: {error}.", code="InvalidCidr") from None


class Networks:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    # Virtual networks

    def put_vnet(self, subscription: str, resource_group: str, name: str, body: Any) -> Written:
        self._ctx.require_resource_group(subscription, resource_group)
        payload = require_object(body, "a virtual network")
        properties = optional_object(payload, "properties", "a virtual network")
        prefixes = optional_object(properties, "addressSpace", "properties").get("addressPrefixes")
        if not isinstance(prefixes, list) or not prefixes:
            raise InvalidRequest("properties.addressSpace.addressPrefixes must list at least one CIDR.")
        networks = [_network(p, "Address prefix") for p in prefixes]
        vnet_id = provider_id(subscription, resource_group, VNET_TYPE, name)
        existing = self._ctx.store.get(vnet_id)
        for subnet in self._ctx.store.children(vnet_id, SUBNET_TYPE):
            self._check_inside(subnet.body["properties"]["addressPrefix"], networks, name)
        location = payload.get("location") or (existing.body["location"] if existing else None)
        if not isinstance(location, str):
            raise InvalidRequest("The 'location' property is required for a new virtual network.")
        resource = {
            "id": vnet_id,
            "name": name,
            "type": VNET_TYPE,
            "location": location,
            "tags": payload.get("tags") or {},
            "properties": {
                "provisioningState": "Succeeded",
                "addressSpace": {"addressPrefixes": [str(n) for n in networks]},
                "virtualNetworkPeerings": [],
            },
        }
        self._ctx.store.put(Record(vnet_id, VNET_TYPE, subscription, resource_group, "", body=resource))
        for inline in properties.get("subnets") or []:
            inline = require_object(inline, "a subnet")
            self.put_subnet(subscription, resource_group, name, str(inline.get("name")), inline)
        return Written(self.get_vnet(subscription, resource_group, name), created=existing is None)

    def get_vnet(self, subscription: str, resource_group: str, name: str) -> dict[str, Any]:
        record = self._require_vnet(subscription, resource_group, name)
        return self._with_subnets(record)

    def list_vnets(self, subscription: str, resource_group: str) -> list[dict[str, Any]]:
        self._ctx.require_resource_group(subscription, resource_group)
        return [self._with_subnets(r) for r in self._ctx.store.in_scope(VNET_TYPE, subscription, resource_group)]

    def delete_vnet(self, subscription: str, resource_group: str, name: str) -> bool:
        vnet_id = provider_id(subscription, resource_group, VNET_TYPE, name)
        if self._ctx.store.get(vnet_id) is None:
            return False
        for subnet in self._ctx.store.children(vnet_id, SUBNET_TYPE):
            self._refuse_if_in_use(subnet)
        self._ctx.store.delete(vnet_id)
        return True

    # Subnets

    def put_subnet(self, subscription: str, resource_group: str, vnet: str, name: str, body: Any) -> Written:
        vnet_record = self._require_vnet(subscription, resource_group, vnet)
        payload = require_object(body, "a subnet")
        properties = optional_object(payload, "properties", "a subnet")
        prefix_text = properties.get("addressPrefix") or (properties.get("addressPrefixes") or [None])[0]
        prefix = _network(prefix_text, "Subnet address prefix")
        vnet_networks = [
            ipaddress.IPv4Network(p) for p in vnet_record.body["properties"]["addressSpace"]["addressPrefixes"]
        ]
        self._check_inside(str(prefix), vnet_networks, vnet)
        subnet_id = child_id(vnet_record.id, "subnets", name)
        for sibling in self._ctx.store.children(vnet_record.id, SUBNET_TYPE):
            other = ipaddress.IPv4Network(sibling.body["properties"]["addressPrefix"])
            if sibling.key != subnet_id.lower() and other.overlaps(prefix):
                raise ArmError(
                    f"Subnet '{name}' is not valid because its IP address range overlaps with that of "
                    f"an existing subnet '{sibling.body['name']}' in virtual network '{vnet}'.",
                    code="NetcfgSubnetRangesOverlap",
                )
        existing = self._ctx.store.get(subnet_id)
        delegations = [self._delegation(subnet_id, d) for d in properties.get("delegations") or []]
        if existing is not None and self._servers_in(existing) and not _delegates_to_postgres(delegations):
            raise ArmError(
                f"Subnet '{name}' is in use by a flexible server and its delegation cannot be removed.",
                code="InUseSubnetCannotBeUpdated",
            )
        resource = {
            "id": subnet_id,
            "name": name,
            "properties": {
                "provisioningState": "Succeeded",
                "addressPrefix": str(prefix),
                "delegations": delegations,
            },
        }
        self._ctx.store.put(Record(subnet_id, SUBNET_TYPE, subscription, resource_group, vnet_record.id, body=resource))
        return Written(resource, created=existing is None)

    def get_subnet(self, subscription: str, resource_group: str, vnet: str, name: str) -> dict[str, Any]:
        vnet_record = self._require_vnet(subscription, resource_group, vnet)
        record = self._ctx.store.get(child_id(vnet_record.id, "subnets", name))
        if record is None:
            raise NotFound(f"Subnet '{name}' was not found in virtual network '{vnet}'.", code="NotFound")
        return record.body

    def list_subnets(self, subscription: str, resource_group: str, vnet: str) -> list[dict[str, Any]]:
        vnet_record = self._require_vnet(subscription, resource_group, vnet)
        return [r.body for r in self._ctx.store.children(vnet_record.id, SUBNET_TYPE)]

    def delete_subnet(self, subscription: str, resource_group: str, vnet: str, name: str) -> bool:
        vnet_record = self._require_vnet(subscription, resource_group, vnet)
        record = self._ctx.store.get(child_id(vnet_record.id, "subnets", name))
        if record is None:
            return False
        self._refuse_if_in_use(record)
        self._ctx.store.delete(record.id)
        return True

    def subnet_by_id(self, subnet_id: str) -> Record | None:
        record = self._ctx.store.get(subnet_id)
        return record if record is not None and record.type == SUBNET_TYPE.lower() else None

    # Helpers

    def _require_vnet(self, subscription: str, resource_group: str, name: str) -> Record:
        self._ctx.require_resource_group(subscription, resource_group)
        record = self._ctx.store.get(provider_id(subscription, resource_group, VNET_TYPE, name))
        if record is None:
            raise NotFound(
                f"The Resource '{VNET_TYPE}/{name}' under resource group '{resource_group}' was not found.",
            )
        return record

    def _with_subnets(self, record: Record) -> dict[str, Any]:
        body = dict(record.body)
        body["properties"] = dict(body["properties"])
        body["properties"]["subnets"] = [r.body for r in self._ctx.store.children(record.id, SUBNET_TYPE)]
        return body

    @staticmethod
    def _check_inside(prefix: str, networks: list[ipaddress.IPv4Network], vnet: str) -> None:
        subnet = ipaddress.IPv4Network(prefix)
        if not any(subnet.subnet_of(n) for n in networks):
            raise ArmError(
                f"Subnet address prefix {prefix} is not within the address space of virtual network '{vnet}'.",
                code="NetcfgSubnetRangeOutsideVnet",
            )

    @staticmethod
    def _delegation(subnet_id: str, raw: Any) -> dict[str, Any]:
        delegation = require_object(raw, "a subnet delegation")
        service = optional_object(delegation, "properties", "a delegation").get("serviceName")
        if not isinstance(service, str):
            raise InvalidRequest("A subnet delegation needs properties.serviceName.")
        name = str(delegation.get("name") or service.replace("/", "."))
        return {
            "id": child_id(subnet_id, "delegations", name),
            "name": name,
            "properties": {
                "serviceName": service,
                "actions": _DELEGATION_ACTIONS.get(service, []),
                "provisioningState": "Succeeded",
            },
        }

    def _servers_in(self, subnet: Record) -> list[Record]:
        return [
            s
            for s in self._ctx.store.of_type(SERVER_TYPE)
            if str(s.body["properties"].get("network", {}).get("delegatedSubnetResourceId", "")).lower() == subnet.key
        ]

    def _refuse_if_in_use(self, subnet: Record) -> None:
        users = self._servers_in(subnet)
        if users:
            raise ArmError(
                f"Subnet {subnet.body['name']} is in use by {users[0].id} and cannot be deleted.",
                code="InUseSubnetCannotBeDeleted",
            )


def _delegates_to_postgres(delegations: list[dict[str, Any]]) -> bool:
    return any(d["properties"]["serviceName"].lower() == POSTGRES_DELEGATION.lower() for d in delegations)


def is_delegated_to_postgres(subnet: Record) -> bool:
    return _delegates_to_postgres(subnet.body["properties"].get("delegations", []))
