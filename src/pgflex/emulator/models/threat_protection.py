"""A flexible server's advanced threat protection setting (``advancedThreatProtectionSettings/Default``).

There is one, named Default, on every server: Disabled until a PUT sets it (assumed: the service documents the
state, not its default; Microsoft Defender for open-source databases is off unless turned on), its creation time
the server's. A PUT is a long-running operation holding the server like every other write; the setting has
nothing to do on the data plane, and cannot be deleted (the API has no DELETE for it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import InvalidParameterValue
from ..store import Record
from .children import ServerChildren
from .context import ServerRuntime, optional_object
from .ids import SERVER_TYPE, child_id
from .values import canonical

THREAT_PROTECTION_TYPE = f"{SERVER_TYPE}/advancedThreatProtectionSettings"
SETTING_NAME = "Default"  # the only name the API allows
STATES = ("Enabled", "Disabled")


class ThreatProtection(ServerChildren):
    segment = "advancedThreatProtectionSettings"
    resource_type = THREAT_PROTECTION_TYPE

    def resource(self, server: Record, name: str, body: dict[str, Any], existing: Record | None) -> dict[str, Any]:
        current = _setting(server, _named(name), existing)
        properties = optional_object(body, "properties", "an advanced threat protection setting")
        state = canonical(properties.get("state"), STATES, "state")
        return {**current, "properties": {**current["properties"], "state": state}}

    def apply(
        self, runtime: ServerRuntime, server: Record, name: str, resource: dict[str, Any] | None
    ) -> Callable[[], None]:
        return lambda: None  # Microsoft Defender watches the server from outside; PostgreSQL is unchanged

    def get(self, subscription: str, resource_group: str, server: str, name: str) -> dict[str, Any]:
        record = self._servers.require(subscription, resource_group, server)
        return _setting(record, _named(name), self._ctx.store.get(child_id(record.id, self.segment, SETTING_NAME)))

    def list_all(self, subscription: str, resource_group: str, server: str) -> list[dict[str, Any]]:
        return [self.get(subscription, resource_group, server, SETTING_NAME)]


def _named(name: str) -> str:
    if name.lower() != SETTING_NAME.lower():
        raise InvalidParameterValue.of("threatProtectionName", f"The only setting is '{SETTING_NAME}', not '{name}'.")
    return SETTING_NAME


def _setting(server: Record, name: str, stored: Record | None) -> dict[str, Any]:
    """The stored setting, else the one every server has from its creation."""
    if stored is not None:
        return dict(stored.body)
    return {
        "id": child_id(server.id, "advancedThreatProtectionSettings", name),
        "name": name,
        "type": THREAT_PROTECTION_TYPE,
        "properties": {"state": "Disabled", "creationTime": server.body["systemData"]["createdAt"]},
    }
