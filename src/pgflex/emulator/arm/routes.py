"""The route table: ARM paths to thin handlers that call one backend method each.

ARM matches path literals case-insensitively, so every pattern does too. Microsoft.Network's routes are in
routes_network, Resource Manager's generic ones (providers, resources) in routes_resources: both add theirs to
the same table when this module is imported.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from ..errors import NoRegisteredProviderFound, NotFound
from ..models.backend import Backend
from ..models.capabilities import LocationNotAvailable
from ..models.children import ServerChildren
from ..models.context import Accepted
from . import api_versions, wire
from .wire import Call, Response

Handler = Callable[[Backend, Call], Response]
T = TypeVar("T")

SUB = "/subscriptions/{subscription}"
RG = SUB + "/resourceGroups/{resourceGroup}"
PG = "/providers/Microsoft.DBforPostgreSQL"
SERVERS = RG + PG + "/flexibleServers"
SERVER = SERVERS + "/{server}"


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    handler: Handler
    pattern: re.Pattern[str]


def _compile(template: str) -> re.Pattern[str]:
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", re.escape(template).replace(r"\{", "{").replace(r"\}", "}"))
    return re.compile(f"^{regex}/?$", re.IGNORECASE)


class Router:
    def __init__(self) -> None:
        self._routes: list[Route] = []

    def add(self, method: str, template: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self._routes.append(Route(method, template, handler, _compile(template)))
            return handler

        return register

    def routes(self) -> tuple[Route, ...]:
        return tuple(self._routes)

    def resolve(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route for a request; raises NotFound/405 semantics through the caller."""
        path_matched = False
        for route in self._routes:
            match = route.pattern.match(path)
            if match is None:
                continue
            path_matched = True
            if route.method == method:
                return route, match.groupdict()
        if path_matched:
            raise MethodNotAllowedError(method, path)
        return None


class MethodNotAllowedError(Exception):
    def __init__(self, method: str, path: str) -> None:
        super().__init__(f"The method '{method}' is not allowed on '{path}'.")


router = Router()


def _accepted(backend: Backend, call: Call, accepted: Accepted | None) -> Response:
    if accepted is None:
        return Response(204)
    return wire.accepted_response(call, call.params["subscription"], accepted, backend.tuning.retry_after_seconds)


def page(backend: Backend, call: Call, items: list[dict[str, object]]) -> Response:
    return wire.paged(call, items, backend.tuning.page_size)


def in_registered_location(call: Call, work: Callable[[], T]) -> T:
    """``work()``, or Resource Manager's refusal of a region Flexible Server is not registered in: it checks the
    region (of the path, or of a created resource) before the provider sees the request, and words the refusal
    with the request's api-version."""
    try:
        return work()
    except LocationNotAvailable as refused:
        provider = api_versions.providers()[wire.POSTGRES_PROVIDER]
        raise NoRegisteredProviderFound(
            refused.location,
            call.api_version,
            refused.resource_type,
            ", ".join(provider.versions),
            ", ".join(provider.locations),
        ) from None


# Operation status (polled by the SDK)


@router.add("GET", SUB + PG + "/locations/{location}/azureAsyncOperation/{operation}")
def operation_status(backend: Backend, call: Call) -> Response:
    op = backend.store.get_operation(call.params["operation"])
    if op is None:
        raise NotFound(f"Operation '{call.params['operation']}' was not found.")
    body: dict[str, object] = {
        "id": call.path,
        "name": op.id,
        "status": op.status,
        "startTime": op.start_time,
    }
    if op.end_time:
        body["endTime"] = op.end_time
    if op.error:
        body["error"] = op.error
    headers = {"Retry-After": str(backend.tuning.retry_after_seconds)} if op.status == "InProgress" else {}
    return Response(200, body, headers)


@router.add("GET", SUB + PG + "/locations/{location}/operationResults/{operation}")
@router.add("GET", SUB + "/operationresults/{operation}")
def operation_result(backend: Backend, call: Call) -> Response:
    op = backend.store.get_operation(call.params["operation"])
    if op is None:
        raise NotFound(f"Operation '{call.params['operation']}' was not found.")
    if op.status == "InProgress":
        return Response(
            202,
            None,
            {
                "Location": f"{call.base_url}{call.path}?api-version={call.api_version}",
                "Retry-After": str(backend.tuning.retry_after_seconds),
            },
        )
    if op.error:
        return Response(400, {"error": op.error})
    return Response(204)


# Subscriptions and resource groups


@router.add("GET", "/subscriptions")
def list_subscriptions(backend: Backend, call: Call) -> Response:
    return page(backend, call, backend.resource_groups.list_subscriptions())


@router.add("GET", SUB)
def get_subscription(backend: Backend, call: Call) -> Response:
    return wire.ok(backend.resource_groups.get_subscription(call.params["subscription"]))


@router.add("GET", SUB + "/resourcegroups")
def list_resource_groups(backend: Backend, call: Call) -> Response:
    return page(backend, call, backend.resource_groups.list_all(call.params["subscription"]))


@router.add("PUT", SUB + "/resourcegroups/{resourceGroup}")
def put_resource_group(backend: Backend, call: Call) -> Response:
    p = call.params
    return wire.written(backend.resource_groups.create_or_update(p["subscription"], p["resourceGroup"], call.body))


@router.add("GET", SUB + "/resourcegroups/{resourceGroup}")
def get_resource_group(backend: Backend, call: Call) -> Response:
    return wire.ok(backend.resource_groups.get(call.params["subscription"], call.params["resourceGroup"]))


@router.add("PATCH", SUB + "/resourcegroups/{resourceGroup}")
def patch_resource_group(backend: Backend, call: Call) -> Response:
    p = call.params
    return wire.ok(backend.resource_groups.update(p["subscription"], p["resourceGroup"], call.body))


@router.add("HEAD", SUB + "/resourcegroups/{resourceGroup}")
def resource_group_exists(backend: Backend, call: Call) -> Response:
    backend.resource_groups.get(call.params["subscription"], call.params["resourceGroup"])
    return Response(204)


@router.add("DELETE", SUB + "/resourcegroups/{resourceGroup}")
def delete_resource_group(backend: Backend, call: Call) -> Response:
    p = call.params
    accepted = backend.resource_groups.delete(p["subscription"], p["resourceGroup"])
    if accepted is None:
        backend.resource_groups.get(p["subscription"], p["resourceGroup"])  # raises ResourceGroupNotFound
        return Response(204)
    return wire.location_only_response(call, p["subscription"], accepted, backend.tuning.retry_after_seconds)


# Flexible servers


@router.add("GET", SUB + PG + "/flexibleServers")
def list_servers_in_subscription(backend: Backend, call: Call) -> Response:
    return page(backend, call, backend.servers.list_all(call.params["subscription"], None))


@router.add("GET", SERVERS)
def list_servers(backend: Backend, call: Call) -> Response:
    return page(backend, call, backend.servers.list_all(call.params["subscription"], call.params["resourceGroup"]))


@router.add("GET", SERVER)
def get_server(backend: Backend, call: Call) -> Response:
    p = call.params
    return wire.ok(backend.servers.get(p["subscription"], p["resourceGroup"], p["server"]))


@router.add("PUT", SERVER)
def put_server(backend: Backend, call: Call) -> Response:
    p = call.params
    accepted = in_registered_location(
        call, lambda: backend.servers.create_or_update(p["subscription"], p["resourceGroup"], p["server"], call.body)
    )
    return _accepted(backend, call, accepted)


@router.add("PATCH", SERVER)
def patch_server(backend: Backend, call: Call) -> Response:
    p = call.params
    return _accepted(
        backend, call, backend.servers.update(p["subscription"], p["resourceGroup"], p["server"], call.body)
    )


@router.add("DELETE", SERVER)
def delete_server(backend: Backend, call: Call) -> Response:
    p = call.params
    return _accepted(backend, call, backend.servers.delete(p["subscription"], p["resourceGroup"], p["server"]))


@router.add("POST", SERVER + "/restart")
def restart_server(backend: Backend, call: Call) -> Response:
    p = call.params
    return _accepted(
        backend, call, backend.servers.restart(p["subscription"], p["resourceGroup"], p["server"], call.body)
    )


@router.add("POST", SERVER + "/start")
def start_server(backend: Backend, call: Call) -> Response:
    p = call.params
    return _accepted(backend, call, backend.servers.start(p["subscription"], p["resourceGroup"], p["server"]))


@router.add("POST", SERVER + "/stop")
def stop_server(backend: Backend, call: Call) -> Response:
    p = call.params
    return _accepted(backend, call, backend.servers.stop(p["subscription"], p["resourceGroup"], p["server"]))


# Configurations


@router.add("GET", SERVER + "/configurations")
def list_configurations(backend: Backend, call: Call) -> Response:
    """Every parameter in one page, as the service's example (ConfigurationsListByServer.json, 2025-08-01)
    returns its 415, whatever ``page_size``: paging it would make this list look dearer than it is. (The
    example's nextLink is a placeholder, ``$skiptoken=skiptoken``; the emulator sends none.)"""
    p = call.params
    return wire.ok({"value": backend.configurations.list_all(p["subscription"], p["resourceGroup"], p["server"])})


@router.add("GET", SERVER + "/configurations/{name}")
def get_configuration(backend: Backend, call: Call) -> Response:
    p = call.params
    return wire.ok(backend.configurations.get(p["subscription"], p["resourceGroup"], p["server"], p["name"]))


@router.add("PUT", SERVER + "/configurations/{name}")
@router.add("PATCH", SERVER + "/configurations/{name}")
def update_configuration(backend: Backend, call: Call) -> Response:
    p = call.params
    return _accepted(
        backend,
        call,
        backend.configurations.update(p["subscription"], p["resourceGroup"], p["server"], p["name"], call.body),
    )


# Firewall rules


@router.add("GET", SERVER + "/firewallRules")
def list_firewall_rules(backend: Backend, call: Call) -> Response:
    p = call.params
    return page(backend, call, backend.firewall_rules.list_all(p["subscription"], p["resourceGroup"], p["server"]))


@router.add("GET", SERVER + "/firewallRules/{name}")
def get_firewall_rule(backend: Backend, call: Call) -> Response:
    p = call.params
    return wire.ok(backend.firewall_rules.get(p["subscription"], p["resourceGroup"], p["server"], p["name"]))


@router.add("PUT", SERVER + "/firewallRules/{name}")
def put_firewall_rule(backend: Backend, call: Call) -> Response:
    p = call.params
    return _accepted(
        backend,
        call,
        backend.firewall_rules.create_or_update(
            p["subscription"], p["resourceGroup"], p["server"], p["name"], call.body
        ),
    )


@router.add("DELETE", SERVER + "/firewallRules/{name}")
def delete_firewall_rule(backend: Backend, call: Call) -> Response:
    p = call.params
    return _accepted(
        backend,
        call,
        backend.firewall_rules.delete(p["subscription"], p["resourceGroup"], p["server"], p["name"]),
    )


# Subresources of servers written as long-running operations (list, get, PUT, DELETE), one line each


def _serve_children(segment: str, family: Callable[[Backend], ServerChildren], *, delete: bool = True) -> None:
    collection = f"{SERVER}/{segment}"
    item = collection + "/{name}"

    def list_children(backend: Backend, call: Call) -> Response:
        p = call.params
        return page(backend, call, family(backend).list_all(p["subscription"], p["resourceGroup"], p["server"]))

    def get_child(backend: Backend, call: Call) -> Response:
        p = call.params
        return wire.ok(family(backend).get(p["subscription"], p["resourceGroup"], p["server"], p["name"]))

    def put_child(backend: Backend, call: Call) -> Response:
        p = call.params
        accepted = family(backend).create_or_update(
            p["subscription"], p["resourceGroup"], p["server"], p["name"], call.body
        )
        return _accepted(backend, call, accepted)

    def delete_child(backend: Backend, call: Call) -> Response:
        p = call.params
        return _accepted(
            backend, call, family(backend).delete(p["subscription"], p["resourceGroup"], p["server"], p["name"])
        )

    router.add("GET", collection)(list_children)
    router.add("GET", item)(get_child)
    router.add("PUT", item)(put_child)
    if delete:
        router.add("DELETE", item)(delete_child)


_serve_children("administrators", lambda backend: backend.administrators)
_serve_children("databases", lambda backend: backend.databases)
_serve_children("advancedThreatProtectionSettings", lambda backend: backend.threat_protection, delete=False)


# Subresources of servers that are only read: capabilities, log files, backups, replicas, virtual endpoints


@router.add("GET", SERVER + "/capabilities")
def server_capabilities(backend: Backend, call: Call) -> Response:
    p = call.params
    return page(backend, call, backend.service.server_capabilities(p["subscription"], p["resourceGroup"], p["server"]))


@router.add("GET", SERVER + "/logFiles")
def list_log_files(backend: Backend, call: Call) -> Response:
    p = call.params
    return page(backend, call, backend.server_reads.log_files(p["subscription"], p["resourceGroup"], p["server"]))


@router.add("GET", SERVER + "/backups")
def list_backups(backend: Backend, call: Call) -> Response:
    p = call.params
    return page(backend, call, backend.server_reads.backups(p["subscription"], p["resourceGroup"], p["server"]))


@router.add("GET", SERVER + "/backups/{name}")
def get_backup(backend: Backend, call: Call) -> Response:
    p = call.params
    return wire.ok(backend.server_reads.backup(p["subscription"], p["resourceGroup"], p["server"], p["name"]))


@router.add("GET", SERVER + "/replicas")
def list_replicas(backend: Backend, call: Call) -> Response:
    p = call.params
    return page(backend, call, backend.server_reads.replicas(p["subscription"], p["resourceGroup"], p["server"]))


@router.add("GET", SERVER + "/virtualendpoints")
def list_virtual_endpoints(backend: Backend, call: Call) -> Response:
    p = call.params
    reads = backend.server_reads
    return page(backend, call, reads.virtual_endpoints(p["subscription"], p["resourceGroup"], p["server"]))


@router.add("GET", SERVER + "/virtualendpoints/{name}")
def get_virtual_endpoint(backend: Backend, call: Call) -> Response:
    p = call.params
    reads = backend.server_reads
    return wire.ok(reads.virtual_endpoint(p["subscription"], p["resourceGroup"], p["server"], p["name"]))


# Service-level operations


@router.add("POST", SUB + PG + "/checkNameAvailability")
@router.add("POST", SUB + PG + "/locations/{location}/checkNameAvailability")
def check_name_availability(backend: Backend, call: Call) -> Response:
    return wire.ok(backend.service.check_name_availability(call.params["subscription"], call.body))


@router.add("POST", PG + "/getPrivateDnsZoneSuffix")
def private_dns_zone_suffix(backend: Backend, call: Call) -> Response:
    return wire.ok(backend.service.private_dns_zone_suffix())


@router.add("POST", SUB + PG + "/locations/{location}/checkVirtualNetworkSubnetUsage")
def subnet_usage(backend: Backend, call: Call) -> Response:
    p = call.params
    return wire.ok(backend.service.subnet_usage(p["subscription"], p["location"], call.body))


@router.add("GET", SUB + PG + "/locations/{location}/capabilities")
def capabilities(backend: Backend, call: Call) -> Response:
    p = call.params
    return page(
        backend,
        call,
        in_registered_location(call, lambda: backend.service.capabilities(p["subscription"], p["location"])),
    )


# Microsoft.Network's routes and Resource Manager's generic ones add theirs to ``router`` on import.
from . import routes_network, routes_resources  # noqa: E402, F401
