"""Resource Manager's own list of what a resource group (or a subscription) holds: ``GET .../resources``.

Resource Manager lists tracked resources only (a location, tags), in its generic shape (GenericResourceExpanded of
Microsoft.Resources' resources.json): id, name, type, location, tags when there are some, and the SKU of those
that have one. Here: flexible servers, virtual networks, private DNS zones and their virtual network links
(subnets, firewall rules, databases, record sets and the like are proxy resources, listed by their parents).

``$filter`` takes what az sends (``az resource list --resource-type/--name/--location/--tag``): ``eq``
comparisons of resourceType, name, location, resourceGroup, tagName and tagValue, joined by ``and``, compared
ignoring case as Resource Manager compares them. Anything else is refused (assumed: 400 BadRequest, naming the
expression; Resource Manager takes more, such as substringof).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ..errors import ArmError
from ..store import Record
from .context import Context
from .ids import DNS_LINK_TYPE, DNS_ZONE_TYPE, SERVER_TYPE, VNET_TYPE

TRACKED_TYPES = (SERVER_TYPE, VNET_TYPE, DNS_ZONE_TYPE, DNS_LINK_TYPE)
_CONDITION = re.compile(r"\s*(\w+)\s+eq\s+'((?:[^']|'')*)'\s*", re.IGNORECASE)
_FILTERED = ("resourceType", "name", "location", "resourceGroup", "tagName", "tagValue")

Test = Callable[[Record], bool]


class GenericResources:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def list_all(self, subscription: str, resource_group: str | None, where: str | None) -> list[dict[str, Any]]:
        if resource_group is None:
            self._ctx.require_subscription(subscription)
        else:
            self._ctx.require_resource_group(subscription, resource_group)
        test = _filter(where or "")
        found = [r for kind in TRACKED_TYPES for r in self._ctx.store.in_scope(kind, subscription, resource_group)]
        return [_generic(record) for record in found if test(record)]


def _generic(record: Record) -> dict[str, Any]:
    body = record.body
    generic: dict[str, Any] = {key: body[key] for key in ("id", "name", "type", "location")}
    if body.get("sku"):
        generic["sku"] = body["sku"]
    if body.get("tags"):
        generic["tags"] = body["tags"]
    return generic


def _filter(where: str) -> Test:
    """The records ``where`` keeps (every record for an empty filter)."""
    tests: list[Test] = []
    for clause in re.split(r"\s+and\s+", where.strip(), flags=re.IGNORECASE) if where.strip() else []:
        found = _CONDITION.fullmatch(clause)
        field = next((f for f in _FILTERED if found and f.lower() == found.group(1).lower()), None)
        if found is None or field is None:
            raise ArmError(
                f"The $filter '{where}' is not supported by the emulator: it takes eq comparisons of "
                f"{', '.join(_FILTERED)}, joined by 'and'.",
                code="BadRequest",
            )
        tests.append(_test(field, found.group(2).replace("''", "'").lower()))
    return lambda record: all(test(record) for test in tests)


def _test(field: str, value: str) -> Test:
    if field == "resourceType":
        return lambda r: str(r.body["type"]).lower() == value
    if field == "name":
        return lambda r: str(r.body["name"]).lower() == value
    if field == "location":
        return lambda r: str(r.body["location"]).replace(" ", "").lower() == value.replace(" ", "")
    if field == "resourceGroup":
        return lambda r: r.resource_group.lower() == value
    if field == "tagName":
        return lambda r: value in {str(k).lower() for k in (r.body.get("tags") or {})}
    return lambda r: value in {str(v).lower() for v in (r.body.get("tags") or {}).values()}
