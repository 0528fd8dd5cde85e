"""Tokens for the emulator's bearer checks: minted by its identity endpoint, or forged with its signing key.

The key is read from the emulator's state directory, as any process of the same user could; forged tokens
carry a valid signature over whatever header and claims a test needs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from pgflex.emulator.arm.auth import ISSUER, PRINCIPAL_ID
from pgflex.emulator.settings import DEFAULT_TENANT
from support.emulator import EmulatorHandle

ARM = "https://management.azure.com/"
VAULT = "https://vault.azure.net"
TIME_CLAIMS = ("exp", "nbf", "iat")


def get(handle: EmulatorHandle, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], Any]:
    """GET over HTTPS: status, headers and the JSON body."""
    assert handle.running is not None
    context = ssl.create_default_context(cafile=str(handle.running.ca_root))
    request = urllib.request.Request(handle.base_url + path, headers=headers)
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as failure:
        return failure.code, dict(failure.headers), json.loads(failure.read() or b"null")


def minted(handle: EmulatorHandle, resource: str) -> str:
    """A token from the emulator's managed-identity endpoint, for any resource."""
    assert handle.running is not None
    query = urllib.parse.urlencode({"api-version": "2019-08-01", "resource": resource})
    status, _, body = get(handle, f"/msi/token?{query}", {"X-IDENTITY-HEADER": handle.running.identity_header})
    assert status == 200, body
    return str(body["access_token"])


def signing_key(state_dir: Path) -> bytes:
    return (state_dir / "identity" / "signing.key").read_text().strip().encode()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(audience: str = ARM, **changes: Any) -> dict[str, Any]:
    """The claims the identity endpoint issues, changed: None removes a claim; an int for a time claim is
    an offset from now (a non-int replaces it as is)."""
    now = int(time.time())
    result: dict[str, Any] = {
        "aud": audience,
        "iss": ISSUER,
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "oid": PRINCIPAL_ID,
        "sub": PRINCIPAL_ID,
        "tid": DEFAULT_TENANT,
    }
    for name, value in changes.items():
        if value is None:
            result.pop(name, None)
        elif name in TIME_CLAIMS and type(value) is int:
            result[name] = now + value
        else:
            result[name] = value
    return result


def forged(key: bytes, body: Any = None, *, header: Any = None, payload: str | None = None) -> str:
    """A token signed with ``key``: valid signature, whatever content."""
    head = b64(json.dumps(header if header is not None else {"alg": "HS256", "typ": "JWT"}).encode())
    encoded = payload if payload is not None else b64(json.dumps(body).encode())
    signature = hmac.new(key, f"{head}.{encoded}".encode(), hashlib.sha256).digest()
    return f"{head}.{encoded}.{b64(signature)}"


def malformed(key: bytes) -> dict[str, str]:
    """Tokens no verifier may accept, and none may answer with a 500, by name."""
    good = claims()
    nested = b"[" * 3000 + b"]" * 3000  # past json's recursion limit, within the header size limit
    return {
        "alg-none": forged(key, good, header={"alg": "none"}),
        "alg-hs512": forged(key, good, header={"alg": "HS512", "typ": "JWT"}),
        "header-not-an-object": forged(key, good, header="not an object"),
        "header-deeply-nested-unsigned": f"{b64(nested)}.{b64(json.dumps(good).encode())}.c2lnbmF0dXJl",
        "payload-bad-base64": forged(key, payload="!!!not*base64"),
        "payload-not-json": forged(key, payload=b64(b"{not json")),
        "payload-a-list": forged(key, payload=b64(b"[1, 2]")),
        "payload-deeply-nested": forged(key, payload=b64(nested)),
        "payload-not-utf8": forged(key, payload=b64(b'{"aud": "\xff"}')),
        "wrong-signature": forged(b"another key", good),
        "unsigned": forged(key, good).rsplit(".", 1)[0] + ".",
        "two-parts": forged(key, good).rsplit(".", 1)[0],
        "non-ascii": forged(key, good) + "\u00e9",
    }


MALFORMED = sorted(malformed(b"k"))


def bad_claims_cases() -> list[tuple[str, dict[str, Any], str]]:
    """(id, claim changes, the ARM error code) for signed tokens whose claims must be refused."""
    hour = 3600
    return [
        ("nbf-in-an-hour", {"nbf": hour, "iat": hour}, "InvalidAuthenticationToken"),
        ("expired", {"exp": -hour, "nbf": -2 * hour, "iat": -2 * hour}, "ExpiredAuthenticationToken"),
        ("exp-not-a-number", {"exp": "abc"}, "InvalidAuthenticationToken"),
        ("exp-numeric-string", {"exp": "99999999999"}, "InvalidAuthenticationToken"),
        ("nbf-not-a-number", {"nbf": "abc"}, "InvalidAuthenticationToken"),
        ("exp-boolean", {"exp": True}, "InvalidAuthenticationToken"),
        ("exp-beyond-a-float", {"exp": 10**400}, "InvalidAuthenticationToken"),
        ("exp-infinite", {"exp": float("inf")}, "InvalidAuthenticationToken"),
        ("nbf-nan", {"nbf": float("nan")}, "InvalidAuthenticationToken"),
        ("exp-list", {"exp": [1]}, "InvalidAuthenticationToken"),
        ("exp-missing", {"exp": None}, "InvalidAuthenticationToken"),
        ("nbf-missing", {"nbf": None}, "InvalidAuthenticationToken"),
        ("aud-missing", {"aud": None}, "InvalidAuthenticationTokenAudience"),
        ("aud-list", {"aud": [ARM]}, "InvalidAuthenticationTokenAudience"),
        ("iss-missing", {"iss": None}, "InvalidAuthenticationTokenTenant"),
        ("iss-wrong", {"iss": "https://sts.windows.net/evil/"}, "InvalidAuthenticationTokenTenant"),
        ("oid-missing", {"oid": None}, "InvalidAuthenticationToken"),
        ("tid-not-a-string", {"tid": 7}, "InvalidAuthenticationToken"),
    ]
