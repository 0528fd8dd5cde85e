"""Resource Manager's generic routes that az uses: provider metadata and the resources of a group or subscription."""

from __future__ import annotations

from ..models.backend import Backend
from . import providers, wire
from .routes import RG, SUB, page, router
from .wire import Call, Response


@router.add("GET", SUB + "/providers")
def list_providers(backend: Backend, call: Call) -> Response:
    subscription = call.params["subscription"]
    backend.resource_groups.get_subscription(subscription)
    return page(backend, call, [providers.metadata(subscription, name) for name in providers.namespaces()])


@router.add("GET", SUB + "/providers/{namespace}")
def get_provider(backend: Backend, call: Call) -> Response:
    subscription = call.params["subscription"]
    backend.resource_groups.get_subscription(subscription)
    return wire.ok(providers.metadata(subscription, call.params["namespace"]))


@router.add("GET", SUB + "/resources")
def list_subscription_resources(backend: Backend, call: Call) -> Response:
    listed = backend.generic_resources.list_all(call.params["subscription"], None, call.query.get("$filter"))
    return page(backend, call, listed)


@router.add("GET", RG + "/resources")
def list_group_resources(backend: Backend, call: Call) -> Response:
    p = call.params
    listed = backend.generic_resources.list_all(p["subscription"], p["resourceGroup"], call.query.get("$filter"))
    return page(backend, call, listed)
