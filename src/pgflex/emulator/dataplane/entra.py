"""Microsoft Entra administrators of a server, and whether an access token logs in as one of them.

As on Azure, an administrator's login role is named after its ``principal_name`` and its password is an
access token for Azure Database for PostgreSQL (audience ``https://ossrdbms-aad.database.windows.net``)
whose ``oid`` is the administrator's object id (for a group: whose ``groups`` claim holds the group's).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

PrincipalType = Literal["User", "Group", "ServicePrincipal"]
PRINCIPAL_TYPES: frozenset[str] = frozenset({"User", "Group", "ServicePrincipal"})


@dataclass(frozen=True)
class EntraAdministrator:
    """One ``administrators/{objectId}`` of a server, as the data plane needs it."""

    object_id: str
    principal_name: str  # the login role's name
    principal_type: PrincipalType
    tenant_id: str


class VerifiedToken(Protocol):
    """Who a valid access token names (the emulator's identity checks signature, issuer, audience and time)."""

    @property
    def object_id(self) -> str: ...
    @property
    def tenant_id(self) -> str: ...
    @property
    def groups(self) -> tuple[str, ...]: ...


# Checks a token for Azure Database for PostgreSQL's audience; raises (any exception) for an invalid one.
TokenVerifier = Callable[[str], VerifiedToken]


@dataclass(frozen=True)
class EntraSettings:
    """What decides a server's Entra logins (kept in its record)."""

    enabled: bool
    tenant_id: str
    administrators: Sequence[EntraAdministrator]


def bind_name(role: str, server: str) -> str:
    """The LDAP name PostgreSQL binds with for ``role`` (pg_hba.conf's ldapprefix and ldapsuffix around it)."""
    return f"cn={role},ou={server}"


def parse_bind_name(name: str, is_server_name: Callable[[str], bool]) -> tuple[str, str] | None:
    """(role, server) from a bind name, read from the right: the role is whatever the client logged in as."""
    head, separator, server = name.rpartition(",ou=")
    if not separator or not head.startswith("cn=") or not is_server_name(server):
        return None
    return head.removeprefix("cn="), server


def _same_id(first: str, second: str) -> bool:
    return first.strip().lower() == second.strip().lower()  # object and tenant ids are GUIDs: any case


def admitted(token: VerifiedToken, role: str, settings: EntraSettings) -> EntraAdministrator | None:
    """The administrator that ``token`` logs in as ``role``, or None: as Azure decides for a Microsoft Entra login."""
    if not settings.enabled:
        return None
    if settings.tenant_id and not _same_id(token.tenant_id, settings.tenant_id):
        return None
    for administrator in settings.administrators:
        if administrator.principal_name != role:
            continue
        if administrator.tenant_id and not _same_id(token.tenant_id, administrator.tenant_id):
            continue
        identities = [token.object_id, *token.groups] if administrator.principal_type == "Group" else [token.object_id]
        if any(_same_id(identity, administrator.object_id) for identity in identities):
            return administrator
    return None
