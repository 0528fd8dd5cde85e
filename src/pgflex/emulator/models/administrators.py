"""Microsoft Entra administrators of a flexible server (``administrators/{objectId}``).

Each is a login role in the server's PostgreSQL named after its principal name; a token whose ``oid`` is the
object id logs in as it (see dataplane.entra). As the service does, a body's ``name`` is the principal name
while the id ends in the object id. Administrators are added only while Microsoft Entra authentication is on
(assumed: the service documents no error code; InvalidParameterValue). A server that is not ready (busy with
another write, stopped) refuses every administrator write with the service's
AadAuthOperationCannotBePerformedWhenServerIsNotAccessible (its documented text; the 409 status is assumed,
like the other busy answers).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from ..dataplane import EntraAdministrator
from ..dataplane.entra import PrincipalType
from ..dataplane.roles import check_principal_name
from ..errors import Conflict, InvalidParameterValue
from ..store import Record
from .children import ServerChildren
from .context import ServerRuntime, optional_object
from .ids import SERVER_TYPE, child_id

ADMINISTRATOR_TYPE = f"{SERVER_TYPE}/administrators"
PRINCIPAL_TYPES = ("User", "Group", "ServicePrincipal")  # the API's PrincipalType but Unknown, which no login can be


class ServerNotAccessibleForEntra(Conflict):
    code = "AadAuthOperationCannotBePerformedWhenServerIsNotAccessible"

    def __init__(self, server: str) -> None:
        super().__init__(
            f"The server '{server}' is not in an accessible state to perform Azure AD Principal operation. "
            "Please make sure the server is accessible before executing Azure AD Principal operations."
        )


class Administrators(ServerChildren):
    segment = "administrators"
    resource_type = ADMINISTRATOR_TYPE

    def resource(self, server: Record, name: str, body: dict[str, Any], existing: Record | None) -> dict[str, Any]:
        auth = server.body["properties"]["authConfig"]
        server_name = server.body["name"]
        if auth["activeDirectoryAuth"] != "Enabled":
            raise InvalidParameterValue(
                f"Microsoft Entra authentication is off on server '{server_name}': turn it on "
                "(authConfig.activeDirectoryAuth: Enabled) before adding Microsoft Entra administrators."
            )
        properties = optional_object(body, "properties", "a Microsoft Entra administrator")
        principal_type = properties.get("principalType")
        if principal_type not in PRINCIPAL_TYPES:
            raise InvalidParameterValue(
                f"principalType must be one of {', '.join(PRINCIPAL_TYPES)}, not '{principal_type}'."
            )
        principal_name = properties.get("principalName")
        if not isinstance(principal_name, str) or not principal_name:
            raise InvalidParameterValue("principalName, the Microsoft Entra principal's name, is required.")
        try:
            check_principal_name(principal_name)
        except ValueError as refused:
            raise InvalidParameterValue(
                f"principalName '{principal_name}' cannot be a login role: {refused}."
            ) from None
        if principal_name == self._servers.administrator_login(server):
            raise InvalidParameterValue(f"'{principal_name}' is the server's password administrator.")
        for other in self.children(server):
            other_properties = other.body["properties"]
            if (
                other_properties["principalName"] == principal_name
                and other_properties["objectId"].lower() != name.lower()
            ):
                raise InvalidParameterValue(
                    f"principalName '{principal_name}' already names administrator {other_properties['objectId']}."
                )
        return {
            "id": child_id(server.body["id"], self.segment, name),
            "name": principal_name,
            "type": ADMINISTRATOR_TYPE,
            "properties": {
                "principalType": principal_type,
                "principalName": principal_name,
                "objectId": name,
                "tenantId": str(properties.get("tenantId") or auth.get("tenantId") or ""),
            },
        }

    def check_writable(self, server: Record) -> None:
        if self._servers.is_busy(server) or server.body["properties"]["state"] != "Ready":
            raise ServerNotAccessibleForEntra(server.body["name"])

    def apply(
        self, runtime: ServerRuntime, server: Record, name: str, resource: dict[str, Any] | None
    ) -> Callable[[], None]:
        administrators = [
            EntraAdministrator(
                object_id=p["objectId"],
                principal_name=p["principalName"],
                principal_type=cast(PrincipalType, p["principalType"]),
                tenant_id=p["tenantId"],
            )
            for p in (record.body["properties"] for record in self.children(server))
        ]
        server_name = server.body["name"]
        return lambda: runtime.set_entra_administrators(server_name, administrators)
