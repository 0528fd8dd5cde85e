"""Microsoft Entra administrators of a server, and whether an access token logs in as one of them.

As on Azure, an administrator's login role is named after its ``principal_name`` and its password is an
access token for Azure Database for PostgreSQL (audience ``https://ossrdbms-aad.database.windows.net``)
whose ``oid`` is the administrator's object id (for a group: whose ``groups`` claim holds the group's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PrincipalType = Literal["User", "Group", "ServicePrincipal"]
PRINCIPAL_TYPES: frozenset[str] = frozenset({"User", "Group", "ServicePrincipal"})


@dataclass(frozen=True)
class EntraAdministrator:
    """One ``administrators/{objectId}`` of a server, as the data plane needs it."""

    object_id: str
    principal_name: str  # the login role's name
    principal_type: PrincipalType
    tenant_id: str
