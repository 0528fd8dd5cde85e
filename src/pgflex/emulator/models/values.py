"""How the service reads the enumerated values of a request and how it answers them.

Resource Manager's JSON enums are read ignoring case ("enabled", "BURSTABLE", "zoneredundant") and every answer
spells them as the API does ("Enabled", "Burstable", "ZoneRedundant"); a value outside the enum is refused with
the service's InvalidParameterValue wording. (Assumed: the service documents the values, not its parsing; the
API marks these enums open strings, so a client may send any casing.)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..errors import InvalidParameterValue


def canonical(value: Any, allowed: Iterable[str], parameter: str) -> str:
    """``value`` spelt as the API spells it, or InvalidParameterValue naming ``parameter`` and the values."""
    members = tuple(allowed)
    if isinstance(value, str):
        for member in members:
            if member.lower() == value.lower():
                return member
    raise InvalidParameterValue.of(parameter, f"It must be one of {', '.join(members)}, not '{value}'.")
