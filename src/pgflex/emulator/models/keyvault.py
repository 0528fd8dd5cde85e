"""Key Vault secrets: the small part of the Key Vault data plane that deployments read passwords from.

Any vault name is served: a vault comes into being with its first secret (creating vaults is Resource
Manager's job, which the emulator does not cover for Key Vault). Secrets are versioned; reading
without a version gives the latest. Deleting purges at once: the answer carries no ``recoveryId``,
as from a vault without soft delete, so the SDK's delete poller finishes without polling.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from ..errors import InvalidRequest, NotFound
from ..store import Store
from .context import require_object

SECRET_NAME = re.compile(r"^[0-9A-Za-z-]{1,127}$")
MAX_VALUE_CHARS = 25 * 1024  # Key Vault's limit on a secret value
RECOVERY_LEVEL = "Recoverable+Purgeable"


class SecretNotFound(NotFound):
    code = "SecretNotFound"

    def __init__(self, name: str) -> None:
        super().__init__(f"A secret with (name/id) {name} was not found in this key vault.")


def bad_parameter(message: str) -> InvalidRequest:
    return InvalidRequest(message, code="BadParameter")


def secret_id(vault: str, name: str, version: str) -> str:
    """The id Key Vault gives a secret version: the vault's own URL, whatever address served the request."""
    return f"https://{vault}.vault.azure.net/secrets/{name}/{version}"


class KeyVault:
    def __init__(self, store: Store) -> None:
        self._store = store

    def set(self, vault: str, name: str, body: Any) -> dict[str, Any]:
        """A new version of the secret, with the value and content type of ``body``."""
        _check_name(name)
        request = require_object(body, "a secret")
        value = request.get("value")
        if not isinstance(value, str):
            raise bad_parameter("The secret value must be a string.")
        if len(value) > MAX_VALUE_CHARS:
            raise bad_parameter(f"The secret value exceeds the maximum of {MAX_VALUE_CHARS} characters.")
        version = uuid.uuid4().hex
        now = int(time.time())
        bundle: dict[str, Any] = {
            "value": value,
            "id": secret_id(vault, name, version),
            "attributes": {"enabled": True, "created": now, "updated": now, "recoveryLevel": RECOVERY_LEVEL},
        }
        if isinstance(request.get("contentType"), str):
            bundle["contentType"] = request["contentType"]
        if isinstance(request.get("tags"), dict):
            bundle["tags"] = request["tags"]
        self._store.put_secret(vault, name, version, bundle)
        return bundle

    def get(self, vault: str, name: str, version: str | None) -> dict[str, Any]:
        bundle = self._store.get_secret(vault, name, version or None)
        if bundle is None:
            raise SecretNotFound(f"{name}/{version}" if version else name)
        return bundle

    def delete(self, vault: str, name: str) -> dict[str, Any]:
        """The latest version as it was (a DeletedSecretBundle without its value), then every version gone."""
        bundle = self.get(vault, name, None)
        self._store.delete_secret(vault, name)
        deleted = {key: item for key, item in bundle.items() if key != "value"}
        deleted["attributes"] = {**bundle["attributes"], "recoveryLevel": "Purgeable"}
        return deleted


def _check_name(name: str) -> None:
    if not SECRET_NAME.match(name):
        raise bad_parameter(f"The secret name '{name}' is invalid: use 1-127 letters, digits and '-'.")
