"""Firewall rules of servers with public access."""

from __future__ import annotations

import asyncio
import ipaddress
import re
from typing import Any

from ..errors import ArmError, InvalidParameterValue, NotFound
from ..store import Operation, Record
from .context import Accepted, Context, optional_object, require_object
from .ids import FIREWALL_RULE_TYPE, child_id
from .servers import Servers

PUT = "firewallRule.put"
DELETE = "firewallRule.delete"
# The API's pattern for a rule's name: up to 80 letters, digits, '-' and '_', starting with a letter or digit and
# not ending with '-' (no dots).
RULE_NAME = re.compile(r"[a-zA-Z0-9][-_a-zA-Z0-9]{0,79}(?<!-)")


class FirewallRules:
    def __init__(self, ctx: Context, servers: Servers) -> None:
        self._ctx = ctx
        self._servers = servers
        ctx.runner.register(PUT, self._complete, self._rollback)
        ctx.runner.register(DELETE, self._complete, self._rollback)

    def get(self, subscription: str, resource_group: str, server: str, name: str) -> dict[str, Any]:
        record = self._servers.require(subscription, resource_group, server)
        rule = self._ctx.store.get(child_id(record.id, "firewallRules", name))
        if rule is None:
            raise NotFound(f"The firewall rule '{name}' was not found on server '{server}'.")
        return rule.body

    def list_all(self, subscription: str, resource_group: str, server: str) -> list[dict[str, Any]]:
        record = self._servers.require(subscription, resource_group, server)
        return [r.body for r in self._ctx.store.children(record.id, FIREWALL_RULE_TYPE)]

    def create_or_update(self, subscription: str, resource_group: str, server: str, name: str, body: Any) -> Accepted:
        record = self._servers.require(subscription, resource_group, server)
        if not RULE_NAME.fullmatch(name):
            # Assumed: the service's wording for a bad server name, naming this parameter.
            raise InvalidParameterValue.of(
                "firewallRuleName",
                f"'{name}' is not a valid firewall rule name: use 1 to 80 letters, digits, '-' and '_', starting "
                "with a letter or digit and not ending with '-'.",
            )
        if record.body["properties"]["network"].get("delegatedSubnetResourceId"):
            raise ArmError(
                f"Firewall rules are not supported on server '{server}' because it uses private access "
                "(virtual network integration).",
                code="FirewallRuleNotSupportedForPrivateAccess",
            )
        properties = optional_object(require_object(body, "a firewall rule"), "properties", "a firewall rule")
        start = _ipv4(properties.get("startIpAddress"), "startIpAddress")
        end = _ipv4(properties.get("endIpAddress"), "endIpAddress")
        if start > end:
            raise InvalidParameterValue(
                f"The start IP address {start} is greater than the end IP address {end}.",
                code="FirewallRuleStartIpAddressGreaterThanEndIpAddress",
            )
        rule_id = child_id(record.id, "firewallRules", name)
        previous = self._ctx.store.get(rule_id)
        accepted = self._servers.begin_child_write(
            record, PUT, {"rule": rule_id, "previous": previous.body if previous else None}
        )
        self._store_rule(record, rule_id, name, str(start), str(end))
        return accepted

    def delete(self, subscription: str, resource_group: str, server: str, name: str) -> Accepted | None:
        record = self._servers.require(subscription, resource_group, server)
        rule_id = child_id(record.id, "firewallRules", name)
        previous = self._ctx.store.get(rule_id)
        if previous is None:
            return None
        accepted = self._servers.begin_child_write(record, DELETE, {"rule": rule_id, "previous": previous.body})
        self._ctx.store.delete(rule_id)
        return accepted

    def _store_rule(self, server: Record, rule_id: str, name: str, start: str, end: str) -> None:
        body = {
            "id": rule_id,
            "name": name,
            "type": FIREWALL_RULE_TYPE,
            "properties": {"startIpAddress": start, "endIpAddress": end},
        }
        self._ctx.store.put(
            Record(rule_id, FIREWALL_RULE_TYPE, server.subscription, server.resource_group, server.id, body=body)
        )

    async def _complete(self, op: Operation) -> None:
        record = self._ctx.store.get(op.resource_key)
        if record is None:
            return
        runtime = self._ctx.runtime
        if self._servers.has_data_plane(record) and runtime is not None:
            await asyncio.to_thread(
                runtime.apply_firewall,
                record.body["name"],
                self._servers.firewall_ranges(record),
                self._servers.is_public(record),
            )
        self._servers.release(op)

    def _rollback(self, op: Operation, error: ArmError) -> None:
        record = self._ctx.store.get(op.resource_key)
        if record is None:
            return
        previous = op.payload.get("previous")
        if previous is None:
            self._ctx.store.delete(op.payload["rule"])
        else:
            properties = previous["properties"]
            self._store_rule(
                record,
                previous["id"],
                previous["name"],
                properties["startIpAddress"],
                properties["endIpAddress"],
            )
        self._servers.release(op, state=op.payload["previousState"])


def _ipv4(value: Any, field: str) -> ipaddress.IPv4Address:
    try:
        return ipaddress.IPv4Address(str(value))
    except ValueError:
        raise InvalidParameterValue(
            f"The {field} '{value}' is not a valid IPv4 address.", code="InvalidFirewallRuleIpAddress"
        ) from None
