"""Server parameters ("configurations"): the catalogue's values plus the user's overrides.

Only overrides are stored, so a thousand servers cost a thousand small rows, not 415 each. Each server sees
the catalogue through its profile (parameters.server_profile: its version's documentation, the defaults
derived from the memory it was created with).

A TLS range with no version in it (ssl_max_protocol_version below ssl_min_protocol_version, set in either
order) is refused at the request: PostgreSQL would keep its old range on reload and refuse to start on the
next restart. The service documents no error for it: 400 InvalidParameterValue naming both (assumed).

A change the data plane wrote but whose server then did not start (it had died and cannot start again) fails
in one line and is kept; the server is left Inaccessible, like a failed restart, never Ready.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..dataplane import DataPlaneError
from ..errors import ArmError, InvalidParameterValue, InvalidRequest
from ..store import Operation, Record
from .context import Accepted, Context, optional_object, require_object
from .ids import CONFIGURATION_TYPE, child_id
from .parameters import (
    CREATION_SKU,
    ConfigurationNotExists,
    ConfigurationReadOnly,
    ParameterDefinition,
    ServerProfile,
    catalogue,
    normalise,
    running_parameters,
    server_profile,
)
from .servers import FAILED_START_STATE, PENDING_RESTART, RUNNING_VALUES, Servers

UPDATE = "configuration.update"
TLS_MIN, TLS_MAX = "ssl_min_protocol_version", "ssl_max_protocol_version"
_TLS_ORDER = ("tlsv1.2", "tlsv1.3")


class Configurations:
    def __init__(self, ctx: Context, servers: Servers) -> None:
        self._ctx = ctx
        self._servers = servers
        ctx.runner.register(UPDATE, self._complete, self._rollback)
        servers.on_create(self._remember_creation_sku)

    def get(self, subscription: str, resource_group: str, server: str, name: str) -> dict[str, Any]:
        record = self._servers.require(subscription, resource_group, server)
        definition = self._definition(name, server)
        override = self._ctx.store.get(child_id(record.id, "configurations", definition.name))
        return self._view(record, server_profile(record), definition, override)

    def list_all(self, subscription: str, resource_group: str, server: str) -> list[dict[str, Any]]:
        record = self._servers.require(subscription, resource_group, server)
        overrides = {r.body["name"]: r for r in self._ctx.store.children(record.id, CONFIGURATION_TYPE)}
        parameters = catalogue()
        profile = server_profile(record)
        views = []
        for name in parameters.names:
            definition = parameters.get(name)
            assert definition is not None
            views.append(self._view(record, profile, definition, overrides.get(name)))
        return views

    def update(self, subscription: str, resource_group: str, server: str, name: str, body: Any) -> Accepted:
        record = self._servers.require(subscription, resource_group, server)
        definition = self._definition(name, server)
        properties = optional_object(require_object(body, "a configuration"), "properties", "a configuration")
        value = properties.get("value")
        source = str(properties.get("source") or "user-override")
        if definition.is_read_only:
            raise ConfigurationReadOnly(definition.name)
        if source == "system-default" and value is None:
            value = None  # reset to the default
        elif not isinstance(value, str):
            raise InvalidRequest(f"properties.value of configuration '{definition.name}' must be a string.")
        else:
            definition.validate(value)
            value = definition.as_stored(value)
        self._check_tls_range(record, definition.name, value)
        override_id = child_id(record.id, "configurations", definition.name)
        previous = self._ctx.store.get(override_id)
        accepted = self._servers.begin_child_write(
            record,
            UPDATE,
            {"name": definition.name, "previous": previous.body if previous else None},
        )
        self._store_override(record, override_id, None if value is None else {"name": definition.name, "value": value})
        return accepted

    def _check_tls_range(self, server: Record, name: str, value: str | None) -> None:
        """InvalidParameterValue when the TLS maximum would be below the minimum (an empty maximum: none)."""
        if name not in (TLS_MIN, TLS_MAX):
            return
        profile = server_profile(server)
        bounds = {bound: self._value(server, profile, bound) for bound in (TLS_MIN, TLS_MAX)}
        definition = catalogue().get(name)
        assert definition is not None
        bounds[name] = definition.default_for(profile) if value is None else value
        low, high = (bounds[bound].strip().lower() for bound in (TLS_MIN, TLS_MAX))
        if high and low in _TLS_ORDER and high in _TLS_ORDER and _TLS_ORDER.index(high) < _TLS_ORDER.index(low):
            raise InvalidParameterValue(
                f"Invalid value given for parameter {name}. {TLS_MAX} '{bounds[TLS_MAX]}' is lower than "
                f"{TLS_MIN} '{bounds[TLS_MIN]}': no TLS version would be left to connect with."
            )

    def _value(self, server: Record, profile: ServerProfile, name: str) -> str:
        """A parameter's current value: the user's override, else the server's default."""
        override = self._ctx.store.get(child_id(server.id, "configurations", name))
        if override is not None:
            return str(override.body["value"])
        definition = catalogue().get(name)
        assert definition is not None
        return definition.default_for(profile)

    def _remember_creation_sku(self, server: Record) -> None:
        """The memory-derived defaults come from the compute a server is created with, as the service's do."""
        server.private[CREATION_SKU] = server.body["sku"]["name"]
        self._ctx.store.put(server)

    def _store_override(self, server: Record, override_id: str, body: dict[str, Any] | None) -> None:
        """Keep a user's value (None: back to the catalogue's)."""
        if body is None:
            self._ctx.store.delete(override_id)
            return
        record = Record(override_id, CONFIGURATION_TYPE, server.subscription, server.resource_group, server.id, body)
        self._ctx.store.put(record)

    def _definition(self, name: str, server: str) -> ParameterDefinition:
        definition = catalogue().get(name)
        if definition is None:
            raise ConfigurationNotExists(name, server)
        return definition

    def _view(
        self, server: Record, profile: ServerProfile, definition: ParameterDefinition, override: Record | None
    ) -> dict[str, Any]:
        properties = definition.metadata_for(profile)
        if override is not None:
            properties["value"] = override.body["value"]
            properties["source"] = "user-override"
        properties["isConfigPendingRestart"] = definition.name in server.private.get(PENDING_RESTART, [])
        return {
            "id": child_id(server.body["id"], "configurations", definition.name),
            "name": definition.name,
            "type": CONFIGURATION_TYPE,
            "properties": properties,
        }

    async def _complete(self, op: Operation) -> None:
        record = self._ctx.store.get(op.resource_key)
        if record is None:
            return
        runtime = self._ctx.runtime
        parameters = self._servers.user_parameters(record)
        if self._servers.has_data_plane(record) and runtime is not None:
            name = record.body["name"]
            try:
                await asyncio.to_thread(runtime.apply_parameters, name, running_parameters(record, parameters))
                await asyncio.to_thread(
                    runtime.apply_firewall,
                    name,
                    self._servers.firewall_ranges(record),
                    self._servers.is_public(record),
                )
            except DataPlaneError:
                # Written, but the server that should run did not start with it: the value stays (the data
                # plane holds it), the operation fails with the data plane's one-line reason and the server is
                # left as a failed restart leaves it (FAILED_START_STATE) until its next change or restart.
                op.payload["applied"] = True
                raise
            # What the running server itself says waits for a restart.
            pending = sorted(await asyncio.to_thread(runtime.pending_restart, name))
        else:
            pending = _pending_without_data_plane(record, parameters)
        record.private[PENDING_RESTART] = pending
        self._ctx.store.put(record)
        self._servers.release(op)

    def _rollback(self, op: Operation, error: ArmError) -> None:
        record = self._ctx.store.get(op.resource_key)
        if record is None:
            return
        if op.payload.get("applied"):
            self._servers.release(op, state=FAILED_START_STATE)
            return
        override_id = child_id(record.id, "configurations", op.payload["name"])
        self._store_override(record, override_id, op.payload.get("previous"))
        self._servers.release(op, state=op.payload["previousState"])


def _pending_without_data_plane(server: Record, parameters: dict[str, str]) -> list[str]:
    """Static parameters whose value differs from what the (imaginary) process started with."""
    running: dict[str, str] = server.private.setdefault(RUNNING_VALUES, {})
    pending = []
    parameter_catalogue = catalogue()
    profile = server_profile(server)
    for name in parameter_catalogue.names:
        definition = parameter_catalogue.get(name)
        assert definition is not None
        if definition.is_dynamic:
            continue
        default = definition.default_for(profile)
        started_with = running.get(name, default)
        current = parameters.get(name, default)
        if normalise(definition.data_type, current) != normalise(definition.data_type, started_with):
            pending.append(name)
    return pending
