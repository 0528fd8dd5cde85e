"""The ARM wire format: responses, the error envelope, paging and long-running-operation headers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from ..errors import ArmError, TooManyRequests
from ..models.context import Accepted, Written

POSTGRES_PROVIDER = "Microsoft.DBforPostgreSQL"


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
