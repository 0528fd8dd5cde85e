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
import math
import os
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import InvalidRequest, Unauthorized
from ..settings import DEFAULT_TENANT

TOKEN_LIFETIME_SECONDS = 3600
# Azure AD tolerates five minutes of clock difference on 'exp' and 'nbf'.
CLOCK_SKEW_SECONDS = 300
ISSUER = f"https://sts.windows.net/{DEFAULT_TENANT}/"
# The emulator's one managed identity.
PRINCIPAL_ID = "00000000-0000-0000-0000-0000000000bb"
# The audiences each part of the emulator accepts. Resource Manager's are those real Resource Manager
# accepts: azure-identity asks for 'https://management.azure.com' (the scope without '/.default'), az for
# the first audience of /metadata/endpoints. The admin endpoint takes them too: AdminClient asks for
# Resource Manager's token.
ARM_AUDIENCES = frozenset(
    {
        "https://management.azure.com/",
        "https://management.azure.com",
        "https://management.core.windows.net/",
        "https://management.core.windows.net",
    }
)
KEY_VAULT_AUDIENCES = frozenset({"https://vault.azure.net", "https://vault.azure.net/"})
# Azure Database for PostgreSQL's: a Microsoft Entra login's password is a token for it (the data plane checks).
OSSRDBMS_AUDIENCES = frozenset(
    {"https://ossrdbms-aad.database.windows.net", "https://ossrdbms-aad.database.windows.net/"}
)


@dataclass(frozen=True)
class Principal:
    object_id: str
    tenant_id: str
    groups: tuple[str, ...] = ()  # the 'groups' claim: object ids of the groups the principal belongs to


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

    def authenticate(self, authorization: str | None, audiences: frozenset[str]) -> Principal:
        """The principal of a valid bearer token for one of ``audiences``; else ``Unauthorized`` (a 401).

        Everything is checked, as Azure AD's tokens are by Resource Manager and Key Vault: signature and
        algorithm, issuer, audience, expiry and not-before (with a few minutes of clock skew), and the
        type of each claim. Nothing a token holds can make this raise anything else.
        """
        if not authorization:
            raise Unauthorized("AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("InvalidAuthenticationToken", "The access token is invalid: expected 'Bearer <token>'.")
        return self.verify_access_token(token, audiences)

    def verify_access_token(self, token: str, audiences: frozenset[str]) -> Principal:
        """The principal of a token valid now for one of ``audiences``; else ``Unauthorized`` (its message says why).

        The data plane asks this of the token a Microsoft Entra login sends as its password.
        """
        return _check_claims(self._verify(token.strip()), audiences, time.time())

    def _sign(self, claims: dict[str, Any]) -> str:
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = hmac.new(self._key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        return f"{header}.{payload}.{_b64(signature)}"

    def _verify(self, token: str) -> dict[str, Any]:
        """The claims of a token signed with our key. The signature is checked before anything is parsed, so
        nothing from a stranger reaches the JSON decoder."""
        parts = token.split(".")
        if len(parts) != 3:
            raise _invalid("it is not a JSON Web Token")
        try:
            signed = f"{parts[0]}.{parts[1]}".encode("ascii")
            signature = _unb64(parts[2])
        except ValueError:  # also UnicodeError and binascii.Error
            raise _invalid("it is not a JSON Web Token") from None
        expected = hmac.new(self._key, signed, hashlib.sha256).digest()
        if not hmac.compare_digest(expected, signature):
            raise _invalid("its signature does not verify")
        header, claims = _decoded(parts[0]), _decoded(parts[1])
        if header.get("alg") != "HS256":
            raise _invalid("its signing algorithm is not the one the emulator signs with")
        return claims


def _invalid(reason: str) -> Unauthorized:
    return Unauthorized("InvalidAuthenticationToken", f"The access token is invalid: {reason}.")


def _decoded(part: str) -> dict[str, Any]:
    """A JWT segment's JSON object (after the signature verified)."""
    try:
        value = json.loads(_unb64(part))
    except (ValueError, RecursionError):  # ValueError covers bad base64, UTF-8 and JSON
        raise _invalid("it is not a JSON Web Token") from None
    if not isinstance(value, dict):
        raise _invalid("it is not a JSON Web Token")
    return value


def _time_claim(claims: dict[str, Any], name: str) -> float:
    value = claims.get(name)
    problem = _invalid(f"its '{name}' claim is missing or not a number")
    if isinstance(value, bool) or not isinstance(value, int | float):  # bool is an int in Python
        raise problem
    try:
        number = float(value)
    except OverflowError:  # an integer beyond any float
        raise problem from None
    if not math.isfinite(number):  # JSON's Infinity and 1e999 decode to infinity
        raise problem
    return number


def _check_claims(claims: dict[str, Any], audiences: frozenset[str], now: float) -> Principal:
    issuer = claims.get("iss")
    if issuer != ISSUER:
        raise Unauthorized(
            "InvalidAuthenticationTokenTenant",
            f"The access token is from the wrong issuer '{_shown(issuer)}'. It must be '{ISSUER}'.",
        )
    audience = claims.get("aud")
    if not isinstance(audience, str) or audience not in audiences:
        allowed = ", ".join(f"'{a}'" for a in sorted(audiences))
        raise Unauthorized(
            "InvalidAuthenticationTokenAudience",
            f"The access token has been obtained for wrong audience or resource '{_shown(audience)}'. "
            f"It should exactly match one of the allowed audiences {allowed}.",
        )
    expires, not_before = _time_claim(claims, "exp"), _time_claim(claims, "nbf")
    if expires + CLOCK_SKEW_SECONDS < now:
        raise Unauthorized(
            "ExpiredAuthenticationToken",
            f"The access token expired at {_utc(expires)}, before the current time {_utc(now)}.",
        )
    if not_before - CLOCK_SKEW_SECONDS > now:
        raise _invalid(f"it is not valid before {_utc(not_before)}; the current time is {_utc(now)}")
    object_id, tenant_id = claims.get("oid"), claims.get("tid")
    if not isinstance(object_id, str) or not isinstance(tenant_id, str):
        raise _invalid("its 'oid' or 'tid' claim is missing or not a string")
    groups = claims.get("groups", [])
    if not isinstance(groups, list) or not all(isinstance(group, str) for group in groups):
        raise _invalid("its 'groups' claim is not a list of strings")
    return Principal(object_id=object_id, tenant_id=tenant_id, groups=tuple(groups))


def _shown(value: Any) -> str:
    """A claim as an error message quotes it: a short string, or the kind of value it is."""
    if isinstance(value, str):
        return value if len(value) <= 200 else value[:200] + "..."
    return "(missing)" if value is None else f"({type(value).__name__})"


def _utc(timestamp: float) -> str:
    try:
        return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):  # beyond what a date can hold
        return str(timestamp)
