"""The server-parameter catalogue (data from the official example) and Azure's value rules."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from ..errors import ArmError, InvalidParameterValue, NotFound

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

    def validate(self, value: str) -> None:
        """Refuse values Azure refuses: outside allowedValues, wrong type or out of range."""
        if not _is_allowed(self.data_type, self.allowed_values, value):
            raise InvalidParameterValue(
                f"The value '{value}' for configuration '{self.name}' is not valid. "
                f"Allowed values: {self.allowed_values or '(any)'}."
            )


class Catalogue:
    def __init__(self, definitions: list[ParameterDefinition]) -> None:
        self._by_name = {d.name: d for d in definitions}
        self.names = sorted(self._by_name)

    def get(self, name: str) -> ParameterDefinition | None:
        return self._by_name.get(name)

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
