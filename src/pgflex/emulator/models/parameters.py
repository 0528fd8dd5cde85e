"""The server-parameter catalogue (data from the official example) and Azure's value rules.

The example lists a PostgreSQL 13 server with 16 GiB of memory. Each server sees it as its own: documentation
links for its major version, and the defaults the service derives from the compute's memory when the server
is provisioned (:func:`derived_defaults`), which later compute changes leave as they were.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from ..errors import ArmError, InvalidParameterValue, NotFound
from ..store import Record
from .capabilities import SKUS

# Private fact of a server: the compute it was created with, whose memory its derived defaults come from.
CREATION_SKU = "creationSku"
# Of the derived defaults, those the data plane's PostgreSQL runs with. Not shared_buffers: the emulator's
# host is not the SKU's machine (a 64 GiB SKU's 16 GiB of buffers would not even be mapped on a small one).
RUNNING_DERIVED = ("max_connections", "effective_cache_size", "maintenance_work_mem")
_POSTGRES_DOCS = re.compile(r"^(https://www\.postgresql\.org/docs/)\d+(/)")
_MEMORY_MIB = {name.lower(): cores * per_core for tier in SKUS.values() for name, cores, per_core, _ in tier}

# Parameters whose value pgflex and Azure treat as case-insensitive tokens.
_CASE_INSENSITIVE_TYPES = {"Boolean", "Enumeration", "Set"}


class ConfigurationNotExists(NotFound):
    code = "ConfigurationNotExists"

    def __init__(self, name: str, server: str) -> None:
        super().__init__(f"The configuration '{name}' does not exist for server '{server}'.")


class ConfigurationReadOnly(ArmError):
    code = "ConfigurationReadOnly"

    def __init__(self, name: str) -> None:
        super().__init__(f"The configuration(s) '{name}' is(are) read-only.")


def derived_defaults(memory_mib: int) -> dict[str, str]:
    """The defaults Azure computes from the compute's memory (Microsoft's server-parameter notes for
    max_connections, shared_buffers, effective_cache_size and maintenance_work_mem, and the connection
    table of "Limits in Azure Database for PostgreSQL": 50 for 2 GiB, 429 for 4, 859 for 8, 1718 for 16,
    3437 for 32, 5000 from 48). The max_connections formula's factor applies to MiB, as its table shows."""
    gib = memory_mib / 1024
    if gib <= 2:
        max_connections, shared_buffers = int(gib * 25), int(gib * 16384)
    else:
        max_connections, shared_buffers = min(int(memory_mib * 0.1049164697034809), 5000), int(gib * 32768)
    return {
        "max_connections": str(max_connections),
        "shared_buffers": str(shared_buffers),  # 8 kB pages
        "effective_cache_size": str(int(gib * 131072) - shared_buffers),  # 8 kB pages
        "maintenance_work_mem": str(int(82.5 * math.log(gib) + 40) * 1024),  # kB
    }


@dataclass(frozen=True)
class ServerProfile:
    """What a server's parameter metadata depends on: its major version and its derived defaults."""

    major: str
    defaults: dict[str, str] = field(default_factory=dict)

    def link(self, url: str) -> str:
        """A postgresql.org documentation link for this server's major version."""
        return _POSTGRES_DOCS.sub(rf"\g<1>{self.major}\g<2>", url)


def server_profile(server: Record) -> ServerProfile:
    """The profile of a server: its version, and the memory of the compute it was created with (its current
    compute for servers created before that was recorded; none for a compute the emulator does not offer)."""
    sku = str(server.private.get(CREATION_SKU) or server.body["sku"]["name"])
    memory = _MEMORY_MIB.get(sku.lower())
    return ServerProfile(str(server.body["properties"]["version"]), derived_defaults(memory) if memory else {})


def running_parameters(server: Record, overrides: dict[str, str]) -> dict[str, str]:
    """What the data plane's PostgreSQL is given: the derived defaults it runs with, then the user's values."""
    defaults = server_profile(server).defaults
    return {**{name: defaults[name] for name in RUNNING_DERIVED if name in defaults}, **overrides}


@dataclass(frozen=True)
class ParameterDefinition:
    name: str
    metadata: dict[str, Any]  # everything the catalogue says, in ARM spelling

    @property
    def data_type(self) -> str:
        return str(self.metadata.get("dataType", "String"))

    @property
    def allowed_values(self) -> str:
        return str(self.metadata.get("allowedValues", ""))

    @property
    def is_dynamic(self) -> bool:
        return bool(self.metadata.get("isDynamicConfig", True))

    @property
    def is_read_only(self) -> bool:
        return bool(self.metadata.get("isReadOnly", False))

    @property
    def system_value(self) -> str:
        """The value a new server reports before any user override."""
        return str(self.metadata.get("value", self.metadata.get("defaultValue", "")))

    @property
    def system_source(self) -> str:
        return str(self.metadata.get("source", "system-default"))

    def default_for(self, profile: ServerProfile) -> str:
        """The value a new server of this profile reports before any user override."""
        return profile.defaults.get(self.name, self.system_value)

    def metadata_for(self, profile: ServerProfile) -> dict[str, Any]:
        """The catalogue's metadata as a server of this profile reports it."""
        metadata = dict(self.metadata)
        derived = profile.defaults.get(self.name)
        if derived is not None:
            metadata["value"] = metadata["defaultValue"] = derived
        link = metadata.get("documentationLink")
        if isinstance(link, str):
            metadata["documentationLink"] = profile.link(link)
        return metadata

    def as_stored(self, value: str) -> str:
        """A valid value as the service reports it back: PostgreSQL's spelling of booleans (``ON`` is ``on``),
        the catalogue's spelling of enumeration and set members (``tlsv1.3`` is ``TLSv1.3``); others as sent."""
        if self.data_type == "Boolean":
            return normalise("Boolean", value)
        if self.data_type in ("Enumeration", "Set"):
            spelling = {v.strip().lower(): v.strip() for v in self.allowed_values.split(",")}
            items = [v.strip() for v in value.split(",") if v.strip()] if self.data_type == "Set" else [value]
            return ",".join(spelling.get(item.lower(), item) for item in items)
        return value

    def validate(self, value: str) -> None:
        """Refuse values Azure refuses: outside allowedValues, wrong type or out of range."""
        if not _is_allowed(self.data_type, self.allowed_values, value):
            raise InvalidParameterValue(
                f"The value '{value}' for configuration '{self.name}' is not valid. "
                f"Allowed values: {self.allowed_values or '(any)'}."
            )


class Catalogue:
    def __init__(self, definitions: list[ParameterDefinition]) -> None:
        # Resource Manager's resource names are case-insensitive: `datestyle` addresses DateStyle.
        self._by_name = {d.name.lower(): d for d in definitions}
        self.names = sorted(d.name for d in definitions)

    def get(self, name: str) -> ParameterDefinition | None:
        return self._by_name.get(name.lower())

    def __len__(self) -> int:
        return len(self._by_name)


@cache
def catalogue() -> Catalogue:
    raw = resources.files("pgflex.emulator.data").joinpath("parameters.json").read_text()
    entries = json.loads(raw)["parameters"]
    return Catalogue([ParameterDefinition(e["name"], {k: v for k, v in e.items() if k != "name"}) for e in entries])


def _is_allowed(data_type: str, allowed: str, value: str) -> bool:
    if data_type in ("Integer", "Numeric"):
        return _in_numeric_ranges(data_type, allowed, value)
    if data_type == "Boolean":
        return value.lower() in {"on", "off", "true", "false"}
    if data_type == "Enumeration":
        return value.lower() in {v.lower() for v in allowed.split(",")}
    if data_type == "Set":
        choices = {v.strip().lower() for v in allowed.split(",")}
        items = [v.strip().lower() for v in value.split(",") if v.strip()]
        return all(item in choices for item in items)
    if not allowed:
        return True
    try:
        return re.fullmatch(allowed, value) is not None
    except re.error:
        return True


_NUMBER = r"-?\d+(?:\.\d+)?(?:e\+?\d+)?"
_RANGE = re.compile(rf"\s*({_NUMBER})\s*-\s*({_NUMBER})\s*")


def _in_numeric_ranges(data_type: str, allowed: str, value: str) -> bool:
    """``allowed`` is a range such as ``25-5000``, ``-1-2147483647`` or ``0-1.0e+10``."""
    try:
        number = _integer(value) if data_type == "Integer" else float(value)
    except ValueError:
        return False
    match = _RANGE.fullmatch(allowed)
    if not match:
        return True  # no range to enforce
    return float(match.group(1)) <= number <= float(match.group(2))


def _integer(text: str) -> int:
    # PostgreSQL reads a leading zero as octal (file modes such as 0700).
    if len(text) > 1 and text.startswith("0") and text.isdigit():
        return int(text, 8)
    return int(text)


def normalise(data_type: str, value: str) -> str:
    """The value as Azure means it, for comparing two spellings (``ON`` equals ``on``)."""
    if data_type == "Boolean":
        return {"true": "on", "false": "off"}.get(value.lower(), value.lower())
    if data_type in _CASE_INSENSITIVE_TYPES:
        return ",".join(sorted(v.strip().lower() for v in value.split(",") if v.strip()))
    return value
