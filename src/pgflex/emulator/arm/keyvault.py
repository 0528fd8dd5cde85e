"""Key Vault's secrets data plane, under ``/keyvault/<vault>``: ``https://<vault>.vault.azure.net`` moved
to the emulator's address.

Not Resource Manager: no ARM faults, throttling or recording apply here (recorded exchanges are checked
against the ARM specification, and a secret's value has no place in a record file). Authentication is
Key Vault's challenge protocol: a request without a valid bearer token for Key Vault's audience gets 401
with a ``WWW-Authenticate`` challenge, from which the SDK learns the tenant and the scope to ask a token for.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..errors import ArmError, MethodNotAllowed, RouteNotFound, Unauthorized
from ..models.backend import Backend
from ..models.keyvault import bad_parameter
from ..settings import DEFAULT_TENANT
from . import wire
from .auth import KEY_VAULT_AUDIENCES
from .wire import Response

PREFIX = "/keyvault/"
# Tokens for Key Vault only: a Resource Manager token is refused, as by a real vault.
AUDIENCES = KEY_VAULT_AUDIENCES
SECRET_PATH = re.compile(r"^/keyvault/(?P<vault>[A-Za-z0-9-]{3,24})/secrets/(?P<name>[^/]+)(?:/(?P<version>[^/]*))?/?$")
# The challenge of the public cloud's vaults; the SDK's ChallengeAuthPolicy parses exactly these two fields.
CHALLENGE = (
    f'Bearer authorization="https://login.microsoftonline.com/{DEFAULT_TENANT}", resource="https://vault.azure.net"'
)


def respond(backend: Backend, method: str, path: str, query: dict[str, str], raw: bytes) -> Response:
    """Answer one authenticated Key Vault request (the app authenticates first, with ``AUDIENCES``, and
    answers a failure with ``challenge``: the SDK's first request is a bare probe)."""
    try:
        return _dispatch(backend, method, path, query, _json(raw))
    except ArmError as failure:
        return wire.error(failure)


def challenge(message: str) -> Response:
    response = wire.error(Unauthorized("Unauthorized", message))
    response.headers["WWW-Authenticate"] = CHALLENGE
    return response


def _json(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as problem:
        raise bad_parameter(f"The request body is not valid JSON: {problem}.") from None


def _dispatch(backend: Backend, method: str, path: str, query: dict[str, str], body: Any) -> Response:
    match = SECRET_PATH.match(path)
    if match is None:
        raise RouteNotFound(f"The Key Vault path '{path}' is not served by the emulator.", code="NotFound")
    if not query.get("api-version"):
        raise bad_parameter("The api-version query parameter is required.")
    vault, name, version = match["vault"], match["name"], match["version"]
    secrets = backend.keyvault
    if method == "GET":
        return wire.ok(secrets.get(vault, name, version))
    if version:
        raise MethodNotAllowed(f"The method '{method}' is not allowed on a secret version.")
    if method == "PUT":
        return wire.ok(secrets.set(vault, name, body))
    if method == "DELETE":
        return wire.ok(secrets.delete(vault, name))
    raise MethodNotAllowed(f"The method '{method}' is not allowed on '{path}'.")
