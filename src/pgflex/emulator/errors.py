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

    def __init__(self, server: str, state: str) -> None:
        super().__init__(f"Server '{server}' is not ready for the operation; its state is '{state}'.")


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
