"""The claims of a JWT access token, read without checking it: the service that receives the token checks it.

pgflex reads them only to choose (whose rate-limit bucket a request takes, whom to log in as), never to trust.
"""

from __future__ import annotations

import base64
import json
from typing import Any


def unverified_claims(token: str) -> dict[str, Any]:
    """The payload of ``token``; empty when it is no JWT (not three parts, or a payload that is no JSON object)."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:  # binascii.Error, JSONDecodeError and UnicodeDecodeError are ValueErrors
        return {}
    return claims if isinstance(claims, dict) else {}
