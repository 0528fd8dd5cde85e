"""ARM errors the emulator returns, each a small class with its status, code and message.

The envelope (``{"error": {"code", "message"}}``) is produced in one place, ``arm.wire``.
"""

from __future__ import annotations


class ArmError(Exception):
    status = 400
    code = "BadRequest"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


class InvalidRequest(ArmError):
    code = "InvalidRequestContent"


class InvalidParameterValue(ArmError):
    code = "InvalidParameterValue"

    @classmethod
    def of(cls, parameter: str, detail: str = "Specify a valid parameter value.") -> InvalidParameterValue:
        """The service's wording: "Invalid value given for parameter serverName. Specify a valid parameter value."
        (seen for serverName, Tier and configurationValue); ``detail`` may say more than its second sentence."""
        return cls(f"Invalid value given for parameter {parameter}. {detail}")


class MissingApiVersion(ArmError):
    code = "MissingApiVersionParameter"

    def __init__(self) -> None:
        super().__init__("The api-version query parameter (?api-version=) is required for all requests.")


class NoRegisteredProviderFound(ArmError):
    """Resource Manager's answer to an api-version a resource provider's type does not publish."""

    code = "NoRegisteredProviderFound"

    def __init__(self, location: str, api_version: str, resource_type: str, supported: str, locations: str) -> None:
        super().__init__(
            f"No registered resource provider found for location '{location}' and API version '{api_version}' "
            f"for type '{resource_type}'. The supported api-versions are '{supported}'. "
            f"The supported locations are '{locations}'."
        )


class InvalidApiVersionParameter(ArmError):
    """Resource Manager's answer to an api-version its own types (Microsoft.Resources) do not publish."""

    code = "InvalidApiVersionParameter"

    def __init__(self, api_version: str, supported: str) -> None:
        super().__init__(f"The api-version '{api_version}' is invalid. The supported versions are '{supported}'.")


class Unauthorized(ArmError):
    status = 401

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


class NotFound(ArmError):
    status = 404
    code = "ResourceNotFound"


class ResourceGroupNotFound(NotFound):
    code = "ResourceGroupNotFound"

    def __init__(self, name: str) -> None:
        super().__init__(f"Resource group '{name}' could not be found.")


class SubscriptionNotFound(NotFound):
    code = "SubscriptionNotFound"

    def __init__(self, subscription_id: str) -> None:
        super().__init__(f"The subscription '{subscription_id}' could not be found.")


class RouteNotFound(NotFound):
    code = "InvalidResourceType"


class InvalidResourceType(NotFound):
    """Resource Manager's answer to a type its provider does not register (here: a path the emulator does not serve),
    as it words it (azure-rest-api-specs #14807, terraform-provider-azapi #604)."""

    code = "InvalidResourceType"

    def __init__(self, resource_type: str, namespace: str, api_version: str) -> None:
        super().__init__(
            f"The resource type '{resource_type}' could not be found in the namespace '{namespace}' "
            f"for api version '{api_version}'."
        )


class InvalidResourceNamespace(NotFound):
    """Resource Manager's answer to a provider namespace it does not know (its wording; the 404 is assumed)."""

    code = "InvalidResourceNamespace"

    def __init__(self, namespace: str) -> None:
        super().__init__(f"The resource namespace '{namespace}' is invalid.")


class MethodNotAllowed(ArmError):
    status = 405
    code = "MethodNotAllowed"


class Conflict(ArmError):
    status = 409
    code = "Conflict"


class ServerBusy(Conflict):
    code = "ServerBusy"

    def __init__(self, server: str) -> None:
        super().__init__(f"Server '{server}' is busy with another operation. Please try again later.")


class ServerIsNotReady(Conflict):
    code = "ServerIsNotReady"

    def __init__(self, server: str, state: str, message: str | None = None) -> None:
        super().__init__(message or f"Server '{server}' is not ready for the operation; its state is '{state}'.")


class ServerNotStarted(ServerIsNotReady):
    """The service's answer to a restart or stop of a server that is not Ready, an update in progress included
    (terraform-provider-azurerm #29219: its text verbatim, "Sever" included)."""

    def __init__(self, server: str, state: str) -> None:
        super().__init__(
            server,
            state,
            "Restart or Stop Server can only be performed on Started servers. "
            f"Sever Name = {server}, Current Server State = {state}",
        )


class RequestTooLarge(ArmError):
    """Resource Manager's limit on a request's content: 4 MB."""

    status = 413
    code = "RequestContentTooLarge"

    def __init__(self) -> None:
        super().__init__("The request content size exceeds the maximum size of 4 MB.")


class RequestHeadTooLarge(ArmError):
    status = 431
    code = "RequestHeaderFieldsTooLarge"

    def __init__(self) -> None:
        super().__init__("The request line and headers exceed the maximum size of 16 KB.")


class TooManyRequests(ArmError):
    status = 429
    code = "TooManyRequests"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InternalServerError(ArmError):
    status = 500
    code = "InternalServerError"
