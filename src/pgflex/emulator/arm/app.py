"""The ASGI application: authentication, request limits, latency and faults, throttling, routing, recording.

``create_app`` receives everything it uses; there is no global state.

Every request but the public ones (the identity endpoint, the cloud metadata) is authenticated from its
headers before a byte of its body is read, with the audience of the part it addresses; a Resource Manager
request is then throttled (throttle.py: every answer reports the buckets); a body is then read up to Resource
Manager's 4 MB and refused (413) beyond, from Content-Length before reading or as it streams.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from ..errors import (
    ArmError,
    InternalServerError,
    InvalidRequest,
    MethodNotAllowed,
    MissingApiVersion,
    RequestHeadTooLarge,
    RequestTooLarge,
    RouteNotFound,
    ServerBusy,
    TooManyRequests,
    Unauthorized,
)
from ..models.backend import Backend
from ..settings import DEFAULT_TENANT, THROTTLE_SETTINGS
from . import api_versions, keyvault, older_bodies, providers, wire
from .auth import ARM_AUDIENCES, Identity, Principal
from .routes import MethodNotAllowedError, Route, router
from .throttle import Throttle, kind_of, subscription_of
from .wire import Call, Response

log = logging.getLogger("pgflex.emulator.http")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

IDENTITY_PATH = "/msi/token"
# Public on real Resource Manager too: clients (az cloud register) read it before they have a token.
METADATA_PATH = "/metadata/endpoints"
ADMIN_PREFIX = "/_emulator"
SUBSCRIPTIONS_ADMIN = "/subscriptions/"  # PUT {ADMIN_PREFIX}/subscriptions/{id} {"displayName": ...} adds one
# Resource Manager's limit on a request's content; Key Vault's requests (a secret is at most 25 KB) share it.
MAX_BODY_BYTES = 4 * 1024 * 1024
# A request's line and headers together. The server stops reading a head past it (server.py gives h11 this
# limit), but h11 checks only what is still incomplete: a head that arrives whole is measured here.
MAX_HEAD_BYTES = 16 * 1024
# The stats key counting the 429s the token buckets answered (injected ones count as faults.throttled).
THROTTLED_STAT = "arm.throttled"
SECRET_KEYS = {"administratorLoginPassword", "access_token", "password"}


class DroppedConnection(Exception):
    """Raised after an injected connection drop, to end the request's handling."""


# The connection of the request being handled; the HTTP protocol sets it (see server.py).
current_transport: contextvars.ContextVar[asyncio.BaseTransport | None] = contextvars.ContextVar(
    "current_transport", default=None
)


class Recorder:
    """Appends every ARM exchange to a JSON-lines file, secrets masked (for spec validation and debugging).

    Key Vault exchanges never reach it: they are not ARM, and their bodies are the secrets themselves.
    """

    def __init__(self, path: Path | None) -> None:
        self._path = path

    def write(self, call: Call, response: Response) -> None:
        if self._path is None:
            return
        entry = {
            "method": call.method,
            "path": call.path,
            "query": call.query,
            "status": response.status,
            "request_body": _masked(call.body),
            "response_body": _masked(response.body),
            "response_headers": response.headers,
        }
        with self._path.open("a") as handle:
            handle.write(json.dumps(entry) + "\n")


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "***" if k in SECRET_KEYS else _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def cloud_metadata(base_url: str) -> dict[str, Any]:
    """Resource Manager's cloud description (api-version 2022-09-01), pointing at the emulator."""
    return {
        "name": "pgflex-emulator",
        "resourceManager": f"{base_url}/",
        "portal": f"{base_url}/",
        "graph": "https://graph.windows.net/",
        "graphAudience": "https://graph.windows.net/",
        "microsoftGraphResourceId": "https://graph.microsoft.com/",
        "gallery": f"{base_url}/",
        "authentication": {
            "loginEndpoint": "https://login.microsoftonline.com",
            "audiences": ["https://management.core.windows.net/", "https://management.azure.com/"],
            "tenant": "common",
            "identityProvider": "AAD",
        },
        "suffixes": {
            "acrLoginServer": "azurecr.io",
            "keyVaultDns": "vault.azure.net",
            "sqlServerHostname": "database.windows.net",
            "storage": "core.windows.net",
            "postgresqlServerEndpoint": "postgres.database.azure.com",
        },
        "ossrdbmsResourceId": "https://ossrdbms-aad.database.windows.net",
    }


class EmulatorApp:
    def __init__(
        self,
        backend: Backend,
        identity: Identity,
        base_url: str,
        record_path: Path | None = None,
        status_extra: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.backend = backend
        self.identity = identity
        self.base_url = base_url
        self.throttle = Throttle()
        self.recorder = Recorder(record_path)
        self.stats: Counter[str] = Counter()
        self._status_extra = status_extra or dict

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if _head_size(scope) > MAX_HEAD_BYTES:
            await _send(send, wire.error(RequestHeadTooLarge()))
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        path = scope["path"]
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        response = await self._respond(scope["method"], path, query, headers, receive, send)
        if response is not None:
            await _send(send, response)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.backend.recover()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.backend.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _respond(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        receive: Receive,
        send: Send,
    ) -> Response | None:
        try:
            # Public, and answered from the request's head: a body sent along is never read.
            if path == IDENTITY_PATH:
                self.stats["identity"] += 1
                return wire.ok(self.identity.issue(headers.get("x-identity-header"), query.get("resource")))
            if path.startswith(keyvault.PREFIX):
                return await self._keyvault(method, path, query, headers, receive)
        except ArmError as failure:
            return wire.error(failure)
        response = await self._resource_manager(method, path, query, headers, receive, send)
        return wire.traced(response, headers)

    async def _resource_manager(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        receive: Receive,
        send: Send,
    ) -> Response:
        """Resource Manager's routes, its cloud metadata and the admin endpoint (AdminClient asks for Resource
        Manager's token)."""
        try:
            if path == METADATA_PATH and method == "GET":
                return wire.ok(cloud_metadata(self.base_url))
            try:
                principal = self.identity.authenticate(headers.get("authorization"), ARM_AUDIENCES)
            except Unauthorized as failure:
                return wire.challenge(failure, self._tenant_of(path), header_missing=not headers.get("authorization"))
            if path.startswith(ADMIN_PREFIX):
                body = _parse_json(await _read_body(receive, headers))
                return self._admin(method, path[len(ADMIN_PREFIX) :], query, body)
        except ArmError as failure:
            return wire.error(failure)
        call = Call(method, path, query, None, self.base_url)
        response = await self._arm(call, principal, headers, receive, send)
        if method == "HEAD":
            response.body = None  # HEAD answers carry headers only
        self.recorder.write(call, response)
        return response

    def _tenant_of(self, path: str) -> str:
        """The tenant of the subscription a path names (Resource Manager's challenge names it), else the default."""
        subscription = subscription_of(path)
        try:
            return (
                str(self.backend.resource_groups.get_subscription(subscription)["tenantId"])
                if subscription
                else DEFAULT_TENANT
            )
        except ArmError:
            return DEFAULT_TENANT

    async def _keyvault(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], receive: Receive
    ) -> Response:
        self.stats["keyvault"] += 1
        try:
            self.identity.authenticate(headers.get("authorization"), keyvault.AUDIENCES)
        except Unauthorized as failure:
            return keyvault.challenge(failure.message)
        return keyvault.respond(self.backend, method, path, query, await _read_body(receive, headers))

    async def _arm(
        self, call: Call, principal: Principal, headers: dict[str, str], receive: Receive, send: Send
    ) -> Response:
        """A Resource Manager request: throttled before its body is read, as Resource Manager's front door
        does; every answer, refusals and failures included, reports the buckets' remaining tokens."""
        tuning = self.backend.tuning
        kind = kind_of(call.method)
        self.stats["arm"] += 1
        self.stats[f"arm.{kind}"] += 1
        if tuning.latency_ms:
            await asyncio.sleep(tuning.latency_ms / 1000)
        verdict = self.throttle.take(tuning, subscription_of(call.path), principal, kind)
        if verdict.allowed:
            response = await self._handle(call, headers, receive, send)
        else:
            self.stats[THROTTLED_STAT] += 1
            refusal = TooManyRequests(verdict.message, retry_after=verdict.retry_after)
            refusal.code = verdict.code
            response = wire.error(refusal)
        response.headers.update(verdict.headers)
        return response

    async def _handle(self, call: Call, headers: dict[str, str], receive: Receive, send: Send) -> Response:
        tuning = self.backend.tuning
        try:
            call.body = _parse_json(await _read_body(receive, headers))
            if tuning.chance(tuning.rate_throttled):
                self.stats["faults.throttled"] += 1
                raise TooManyRequests(
                    "Too many requests (fault injected by the emulator).", retry_after=tuning.retry_after_seconds
                )
            if tuning.chance(tuning.rate_server_error):
                self.stats["faults.server_error"] += 1
                raise InternalServerError("Internal server error (fault injected by the emulator).")
            drop = tuning.chance(tuning.rate_dropped)
            if drop:
                self.stats["faults.dropped"] += 1
            if drop and tuning.rng.random() < 0.5:
                await _drop(send)  # before the request takes effect
            response = self._dispatch(call)
            if drop:
                await _drop(send)  # after it took effect: the client cannot know it did
        except ArmError as failure:
            response = wire.error(failure)
        return response

    def _dispatch(self, call: Call) -> Response:
        try:
            resolved = router.resolve(call.method, call.path)
        except MethodNotAllowedError as refused:
            raise MethodNotAllowed(str(refused)) from None
        if resolved is None:
            raise providers.not_served(call.method, call.path, call.api_version)
        route, params = resolved
        call.params = params
        if not call.api_version:
            raise MissingApiVersion()
        target = api_versions.target_of(call.method, call.path)
        api_versions.require_supported(target, call.api_version, lambda _: self._location_of(call, target))
        return older_bodies.reshape(target, call.api_version, self._run(route, call))

    def _run(self, route: Route, call: Call) -> Response:
        tuning = self.backend.tuning
        if call.method == "GET":
            return route.handler(self.backend, call)
        if "server" in call.params and tuning.chance(tuning.rate_server_busy):
            self.stats["faults.server_busy"] += 1
            raise ServerBusy(call.params["server"])
        with self.backend.mutation():
            return route.handler(self.backend, call)

    def _location_of(self, call: Call, target: api_versions.Target) -> str:
        """The location Resource Manager names when refusing an api-version: the path's, a created resource's,
        else its resource group's; none for what has no location (a subscription-wide list)."""
        location = target.location
        if location is None and call.method == "PUT" and isinstance(call.body, dict):
            location = call.body.get("location") if isinstance(call.body.get("location"), str) else None
        if location is None and target.subscription and target.resource_group:
            try:
                location = str(self.backend.resource_groups.get(target.subscription, target.resource_group)["location"])
            except ArmError:
                location = None
        return (location or "").replace(" ", "").lower()

    def _admin(self, method: str, path: str, query: dict[str, str], body: Any) -> Response:
        tuning = self.backend.tuning
        if path == "/health" and method == "GET":
            return wire.ok({"status": "ok"})
        if path == "/status" and method == "GET":
            return wire.ok(
                {
                    "servers": self.backend.store.count("Microsoft.DBforPostgreSQL/flexibleServers"),
                    "operationsRunning": self.backend.runner.running,
                    "tuning": tuning.as_dict(),
                    **self._status_extra(),
                }
            )
        if path == "/settings" and method == "GET":
            return wire.ok(tuning.as_dict())
        if path == "/settings" and method in ("PATCH", "PUT"):
            if not isinstance(body, dict):
                raise InvalidRequest("Settings must be a JSON object.")
            problems = tuning.update(body)
            if problems:
                raise InvalidRequest("; ".join(problems), code="InvalidSetting")
            if THROTTLE_SETTINGS & body.keys():
                self.throttle.reset()
            return wire.ok(tuning.as_dict())
        if path == "/stats" and method == "GET":
            return wire.ok(dict(self.stats))
        if path == "/stats" and method == "DELETE":
            self.stats.clear()
            return Response(204)
        if path == "/endpoints" and method == "GET":
            return wire.ok(self.backend.endpoints())
        if path.startswith(SUBSCRIPTIONS_ADMIN) and path.count("/") == 2 and method == "PUT":
            subscription = path[len(SUBSCRIPTIONS_ADMIN) :]
            with self.backend.mutation():
                return wire.written(
                    self.backend.resource_groups.register_subscription(subscription, DEFAULT_TENANT, body)
                )
        raise RouteNotFound(f"No admin endpoint {method} {ADMIN_PREFIX}{path}.")


async def _read_body(receive: Receive, headers: dict[str, str], limit: int = MAX_BODY_BYTES) -> bytes:
    """The request's body, or ``RequestTooLarge`` (413) past ``limit``: from Content-Length before a byte is
    read, else as a chunked body streams in, so that no more than ``limit`` (and one piece) is ever held.

    The server (uvicorn) stops reading a connection while more than 64 KB of its body waits unread, and
    discards what arrives after the answer; see ``server.py`` for how much.
    """
    declared = headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:  # h11 has checked it is one number
        raise RequestTooLarge()
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise RequestTooLarge()
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def _head_size(scope: Scope) -> int:
    """The size of the request's line and headers, as they came."""
    line = len(scope["method"]) + len(scope.get("raw_path", b"")) + len(scope.get("query_string", b"")) + 16
    return line + sum(len(name) + len(value) + 4 for name, value in scope["headers"])


def _parse_json(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as problem:
        raise InvalidRequest(f"The request content is not valid JSON: {problem}.") from None


async def _send(send: Send, response: Response) -> None:
    payload = response.encoded()
    headers = [(b"content-type", b"application/json; charset=utf-8")] if payload else []
    headers.append((b"content-length", str(len(payload)).encode()))
    if "x-ms-request-id" not in response.headers:
        headers.append((b"x-ms-request-id", str(uuid.uuid4()).encode()))
    headers.extend((k.encode(), v.encode()) for k, v in response.headers.items())
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def _drop(send: Send) -> None:
    """Reset the connection without a response, as a lost connection looks to the client."""
    transport = current_transport.get()
    if isinstance(transport, asyncio.Transport):
        transport.abort()
    else:  # served without our protocol: a truncated response is the closest
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1024")]})
        await send({"type": "http.response.body", "body": b"{", "more_body": True})
    raise DroppedConnection()
