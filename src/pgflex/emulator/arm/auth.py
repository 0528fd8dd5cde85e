"""Identity: the managed-identity token endpoint, and bearer-token checks on everything else.

Tokens are JWTs signed with HMAC-SHA256 under a key kept in the state directory, so tokens stay
valid across emulator restarts. The token endpoint answers only callers that present the
identity header secret, exactly as App Service's endpoint does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidRequest, Unauthorized
from ..settings import DEFAULT_TENANT

TOKEN_LIFETIME_SECONDS = 3600
ISSUER = f"https://sts.windows.net/{DEFAULT_TENANT}/"
# The emulator's one managed identity.
PRINCIPAL_ID = "00000000-0000-0000-0000-0000000000bb"


@dataclass(frozen=True)
class Principal:
    object_id: str
    tenant_id: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _read_or_create_secret(path: Path, size: int) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(size)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    tmp.replace(path)
    return value


class Identity:
    def __init__(self, state_dir: Path) -> None:
        self._key = _read_or_create_secret(state_dir / "identity" / "signing.key", 32).encode()
        self.header_secret = _read_or_create_secret(state_dir / "identity" / "header.secret", 24)

    def issue(self, header_secret: str | None, resource: str | None) -> dict[str, Any]:
        """Answer the managed-identity token protocol (App Service, api-version 2019-08-01)."""
        if not header_secret or not hmac.compare_digest(header_secret, self.header_secret):
            raise Unauthorized("InvalidIdentityHeader", "The X-IDENTITY-HEADER header is missing or wrong.")
        if not resource:
            raise InvalidRequest("The 'resource' query parameter is required.", code="InvalidResource")
        now = int(time.time())
        expires = now + TOKEN_LIFETIME_SECONDS
        claims = {
            "aud": resource,
            "iss": ISSUER,
            "iat": now,
            "nbf": now,
            "exp": expires,
            "oid": PRINCIPAL_ID,
            "sub": PRINCIPAL_ID,
            "tid": DEFAULT_TENANT,
            "idtyp": "app",
        }
        return {
            "access_token": self._sign(claims),
            "expires_on": str(expires),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": PRINCIPAL_ID,
        }

    def authenticate(self, authorization: str | None) -> Principal:
        if not authorization:
            raise Unauthorized("AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("InvalidAuthenticationToken", "The access token is invalid: expected 'Bearer <token>'.")
        claims = self._verify(token.strip())
        if int(claims.get("exp", 0)) < time.time():
            raise Unauthorized("ExpiredAuthenticationToken", "The access token has expired.")
        return Principal(object_id=str(claims.get("oid")), tenant_id=str(claims.get("tid")))

    def _sign(self, claims: dict[str, Any]) -> str:
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = hmac.new(self._key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        return f"{header}.{payload}.{_b64(signature)}"

    def _verify(self, token: str) -> dict[str, Any]:
        invalid = Unauthorized("InvalidAuthenticationToken", "The access token is invalid.")
        parts = token.split(".")
        if len(parts) != 3:
            raise invalid
        expected = hmac.new(self._key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        try:
            if not hmac.compare_digest(expected, _unb64(parts[2])):
                raise invalid
            claims = json.loads(_unb64(parts[1]))
        except (ValueError, json.JSONDecodeError):
            raise invalid from None
        if not isinstance(claims, dict):
            raise invalid
        return claims
