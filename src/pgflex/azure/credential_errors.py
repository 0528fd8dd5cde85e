"""Why signing in to Azure failed, in one sentence that names the real cause.

DefaultAzureCredential tries credentials in turn and lists each attempt as ``\\tName: what happened``.
An attempt that could not reach its endpoint, or that was answered with a refusal (a managed identity's
refusal does not even stop the chain), says more than the many "unavailable" lines around it: each of the
three causes (nothing configured, endpoint unreachable, credentials refused) has a different fix.
"""

from __future__ import annotations

import re
from typing import Any

_ATTEMPT = re.compile(r"^\t(\w+): (.*)$")
_UNREACHABLE = re.compile(
    r"Failed to resolve|Name or service not known|Temporary failure in name resolution|Connection refused|"
    r"Failed to establish|timed out|Network is unreachable|No route to host|Max retries exceeded|"
    r"ServiceRequestError|ConnectionError|Connection reset",
    re.IGNORECASE,
)
_UNAVAILABLE = re.compile(
    r"unavailable|not fully configured|not found on path|could not be found|is not installed|not installed|"
    r"requires the|No accounts were found|Please run 'az login'|az login",
    re.IGNORECASE,
)
_HOST = re.compile(r"host='([^']+)'")

NO_CREDENTIALS = (
    "no Azure credentials are configured: in a pipeline, set AZURE_CLIENT_ID, AZURE_TENANT_ID and "
    "AZURE_FEDERATED_TOKEN_FILE (workload identity federation) or AZURE_CLIENT_SECRET, or sign in with "
    "azure/login or `az login`; on Azure, run with a managed identity. --verbose shows each credential tried."
)


def describe_authentication_failure(error: Any) -> str:
    """One line for a ``ClientAuthenticationError`` (from a credential, or a 401 from Resource Manager)."""
    if getattr(error, "response", None) is not None:
        code = error.error.code if getattr(error, "error", None) else error.status_code
        return (
            f"Azure Resource Manager refused the credentials ({code}): {_first_line(error.message)} "
            "Check the identity's tenant and its role on the subscription."
        )
    attempts = [match.groups() for match in map(_ATTEMPT.match, str(error.message).splitlines()) if match]
    if not attempts:
        return f"cannot authenticate to Azure: {_first_line(error.message)}"
    for credential, detail in attempts:
        if _UNREACHABLE.search(detail):
            host = _HOST.search(detail)
            where = f" {host.group(1)}" if host else ""
            return (
                f"cannot reach the identity endpoint{where} ({credential}): {_short(detail)}. Check the network, "
                "the proxy and DNS from this machine; the credentials themselves were not tried."
            )
    for credential, detail in attempts:
        if not _UNAVAILABLE.search(detail):
            return (
                f"the credentials were refused ({credential}): {_short(detail)}. Check the client id, tenant and "
                "secret or federated credential (subject, issuer, audience) of the identity."
            )
    return NO_CREDENTIALS


def _first_line(text: str) -> str:
    return str(text).strip().splitlines()[0] if str(text).strip() else ""


def _short(text: str) -> str:
    text = text.strip().rstrip(".")
    return text if len(text) <= 300 else text[:297] + "..."
