"""Administrator passwords: from an environment variable (the spec layer reads it) or from Key Vault.

Key Vault secrets are read with the official SDK and the same credential as the Resource Manager
clients. For ``cloud: local`` the vault is the emulator's: ``https://<vault>.vault.azure.net`` is served
at ``<emulator>/keyvault/<vault>``. A value is returned to the caller and nowhere else: errors name the
spec location, the server and the secret, never what it holds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlparse

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
)

from pgflex.spec import PgflexError, SecretRef, Server
from pgflex.spec import resolve_password as resolve_from_env

if TYPE_CHECKING:
    # The Key Vault SDK is imported when a secret is read: apply imports this module for every spec.
    from azure.keyvault.secrets import SecretClient

    from .clients import AzureClients


class SecretUnavailable(PgflexError):
    """A Key Vault secret could not be read; the message says where it is referenced and why."""


def resolve_password(server: Server, clients: AzureClients) -> str:
    """The administrator password of ``server``, read from wherever its spec says it lives."""
    ref = server.administrator.password if server.administrator else None
    if ref is None or ref.key_vault_secret is None:
        return resolve_from_env(server)  # also explains a server without an administrator
    return _read_key_vault(server, ref, ref.key_vault_secret, clients)


def _read_key_vault(server: Server, ref: SecretRef, uri: str, clients: AzureClients) -> str:
    from azure.keyvault.secrets import KeyVaultSecretIdentifier

    secret = KeyVaultSecretIdentifier(uri)
    where = f"{ref.origin}: server {server.name!r}: Key Vault secret {secret.name!r} in {secret.vault_url}"
    try:
        with _secret_client(secret.vault_url, clients) as client:
            value = client.get_secret(secret.name, secret.version).value
    except ResourceNotFoundError:
        missing = f"version {secret.version} does not exist" if secret.version else "the secret does not exist"
        raise SecretUnavailable(f"{where}: {missing} in that vault") from None
    except AzureError as failure:
        raise SecretUnavailable(f"{where}: {_reason(failure)}") from None
    if not value:
        raise SecretUnavailable(f"{where}: the secret is empty")
    return value


def _secret_client(vault_url: str, clients: AzureClients) -> SecretClient:
    from azure.core.pipeline.transport import RequestsTransport
    from azure.keyvault.secrets import SecretClient

    emulator = clients.emulator
    if emulator is None:
        return SecretClient(vault_url, clients.credential)
    vault = (urlparse(vault_url).hostname or "").split(".", 1)[0]
    return SecretClient(
        f"{emulator.base_url}/keyvault/{vault}",
        clients.credential,
        # The emulator's certificate chains to its own CA; with a transport given, connection_verify must
        # be set on the transport (a client-level one would be ignored).
        transport=RequestsTransport(connection_verify=str(emulator.trust_bundle)),
        # The SDK checks that the challenge's resource (vault.azure.net) is a parent domain of the vault's
        # address. The emulated vault lives at 127.0.0.1, which no real challenge can match; the credential
        # is the emulator's own identity, so relaxing the check leaks no token to a stranger.
        verify_challenge_resource=False,
    )


def _reason(failure: AzureError) -> str:
    """Why the read failed, in one line, from what the service or the client said (never a value)."""
    if isinstance(failure, ClientAuthenticationError):
        return f"authentication failed: {_first_line(failure)}"
    if isinstance(failure, HttpResponseError) and failure.status_code == 403:
        return f"access forbidden (the identity needs permission to get secrets): {_first_line(failure)}"
    if isinstance(failure, ServiceRequestError):
        return f"the vault is unreachable: {_first_line(failure)}"
    return f"reading it failed: {_first_line(failure)}"


def _first_line(failure: AzureError) -> str:
    if isinstance(failure, HttpResponseError) and failure.error is not None:
        return f"HTTP {failure.status_code} {failure.error.code}: {failure.error.message}"
    text = str(failure.message or failure).strip()
    return text.splitlines()[0] if text else type(failure).__name__
