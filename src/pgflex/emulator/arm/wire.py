"""The ARM wire format: responses, the error envelope, paging and long-running-operation headers."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from ..errors import ArmError, TooManyRequests, Unauthorized
from ..models.context import Accepted, Written

POSTGRES_PROVIDER = "Microsoft.DBforPostgreSQL"
# The Resource Manager region named in x-ms-routing-request-id (assumed: the emulator's default location's).
ROUTING_REGION = "WESTEUROPE"
# Where Resource Manager's 401 challenge sends a client for a token (followed by the tenant).
AUTHORIZATION_URI = "https://login.windows.net/"


@dataclass
class Call:
    """One parsed request, as handlers see it."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    base_url: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def api_version(self) -> str:
        return self.query.get("api-version", "")


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        return json.dumps(self.body, separators=(",", ":")).encode()


def ok(body: Any) -> Response:
    return Response(200, body)


def written(result: Written) -> Response:
    return Response(201 if result.created else 200, result.body)


def deleted(found: bool) -> Response:
    return Response(200 if found else 204)


def error(failure: ArmError) -> Response:
    headers = {}
    if isinstance(failure, TooManyRequests):
        headers["Retry-After"] = str(failure.retry_after)
    return Response(failure.status, {"error": {"code": failure.code, "message": failure.message}}, headers)


def traced(response: Response, request_headers: Mapping[str, str]) -> Response:
    """``response`` with Resource Manager's tracing headers: a new request id (a GUID), the caller's correlation id
    (a new GUID when it sent none), the routing id (region, time, correlation id) and, when the caller asked with
    ``x-ms-return-client-request-id: true``, its ``x-ms-client-request-id`` back."""
    correlation = request_headers.get("x-ms-correlation-request-id", "").strip() or str(uuid.uuid4())
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    response.headers.update(
        {
            "x-ms-request-id": str(uuid.uuid4()),
            "x-ms-correlation-request-id": correlation,
            "x-ms-routing-request-id": f"{ROUTING_REGION}:{stamp}:{correlation}",
        }
    )
    client_request_id = request_headers.get("x-ms-client-request-id")
    if client_request_id and request_headers.get("x-ms-return-client-request-id", "").lower() == "true":
        response.headers["x-ms-client-request-id"] = client_request_id
    return response


def challenge(failure: Unauthorized, tenant: str, *, header_missing: bool) -> Response:
    """Resource Manager's 401: the error envelope and a ``WWW-Authenticate`` challenge naming the tenant's
    authority (clients such as azure-identity's tenant discovery read the tenant from it)."""
    reason = (
        "The authentication failed because of missing 'Authorization' header."
        if header_missing
        else "The access token is invalid."
    )
    response = error(failure)
    response.headers["WWW-Authenticate"] = (
        f'Bearer authorization_uri="{AUTHORIZATION_URI}{tenant}", error="invalid_token", error_description="{reason}"'
    )
    return response


def paged(call: Call, items: list[dict[str, Any]], page_size: int) -> Response:
    """A list response, ``page_size`` items at a time, with an absolute nextLink while more remain."""
    try:
        start = max(0, int(call.query.get("$skiptoken", "0")))
    except ValueError:
        start = 0
    page = items[start : start + page_size]
    body: dict[str, Any] = {"value": page}
    if start + page_size < len(items):
        query = {**call.query, "$skiptoken": str(start + page_size)}
        body["nextLink"] = f"{call.base_url}{call.path}?{urlencode(query)}"
    return ok(body)


def operation_urls(call: Call, subscription: str, accepted: Accepted) -> tuple[str, str]:
    """The Azure-AsyncOperation and Location URLs of an operation, absolute as the SDK requires."""
    version = urlencode({"api-version": call.api_version})
    base = f"{call.base_url}/subscriptions/{subscription}/providers/{POSTGRES_PROVIDER}/locations/{accepted.location}"
    return (
        f"{base}/azureAsyncOperation/{accepted.operation.id}?{version}",
        f"{base}/operationResults/{accepted.operation.id}?{version}",
    )


def accepted_response(call: Call, subscription: str, accepted: Accepted, retry_after: int) -> Response:
    async_url, location_url = operation_urls(call, subscription, accepted)
    return Response(
        202,
        None,
        {"Azure-AsyncOperation": async_url, "Location": location_url, "Retry-After": str(retry_after)},
    )


def location_only_response(call: Call, subscription: str, accepted: Accepted, retry_after: int) -> Response:
    """Resource Manager's own deletes (resource groups) report progress through Location alone."""
    version = urlencode({"api-version": call.api_version})
    url = f"{call.base_url}/subscriptions/{subscription}/operationresults/{accepted.operation.id}?{version}"
    return Response(202, None, {"Location": url, "Retry-After": str(retry_after)})
