"""Routes of Microsoft.Network: virtual networks, subnets, private DNS zones, their links and A records."""

from __future__ import annotations

from ..models.backend import Backend
from . import wire
from .routes import RG, SUB, page, router
from .wire import Call, Response

VNETS = RG + "/providers/Microsoft.Network/virtualNetworks"
ZONES = RG + "/providers/Microsoft.Network/privateDnsZones"
ZONE = ZONES + "/{zone}"


# Virtual networks and subnets


@router.add("GET", SUB + "/providers/Microsoft.Network/virtualNetworks")
def list_all_vnets(backend: Backend, call: Call) -> Response:
    sub = call.params["subscription"]
    groups = [g["name"] for g in backend.resource_groups.list_all(sub)]
    return page(backend, call, [v for g in groups for v in backend.networks.list_vnets(sub, g)])


@router.add("GET", VNETS)
def list_vnets(backend: Backend, call: Call) -> Response:
    return page(backend, call, backend.networks.list_vnets(call.params["subscription"], call.params["resourceGroup"]))


@router.add("PUT", VNETS + "/{vnet}")
def put_vnet(backend: Backend, call: Call) -> Response:
    p = call.params
    return wire.written(backend.networks.put_vnet(p["subscription"], p["resourceGroup"], p["vnet"], call.body))


@router.add("GET", VNETS + "/{vnet}")
def get_vnet(backend: Backend, call: Call) -> Response:
    p = call.params
    return wire.ok(backend.networks.get_vnet(p["subscription"], p["resourceGroup"], p["vnet"]))


@router.add("DELETE", VNETS + "/{vnet}")
def delete_vnet(backend: Backend, call: Call) -> Response:
    p = call.params
    return wire.deleted(backend.networks.delete_vnet(p["subscription"], p["resourceGroup"], p["vnet"]))


@router.add("GET", VNETS + "/{vnet}/subnets")
def list_subnets(backend: Backend, call: Call) -> Response:
    p = call.params
    return page(backend, call, backend.networks.list_subnets(p["subscription"], p["resourceGroup"], p["vnet"]))


@router.add("PUT", VNETS + "/{vnet}/subnets/{subnet}")
def put_subnet(backend: Backend, call: Call) -> Response:
    p = call.params
    return wire.written(
        backend.networks.put_subnet(p["subscription"], p["resourceGroup"], p["vnet"], p["subnet"], call.body)
    )


@router.add("GET", VNETS + "/{vnet}/subnets/{subnet}")
def get_subnet(backend: Backend, call: Call) -> Response:
    p = call.params
    return wire.ok(backend.networks.get_subnet(p["subscription"], p["resourceGroup"], p["vnet"], p["subnet"]))


@router.add("DELETE", VNETS + "/{vnet}/subnets/{subnet}")
def delete_subnet(backend: Backend, call: Call) -> Response:
    p = call.params
    return wire.deleted(backend.networks.delete_subnet(p["subscription"], p["resourceGroup"], p["vnet"], p["subnet"]))


# Private DNS zones, links and A records


@router.add("GET", SUB + "/providers/Microsoft.Network/privateDnsZones")
def list_all_zones(backend: Backend, call: Call) -> Response:
    return page(backend, call, backend.dns.list_zones(call.params["subscription"], None))


@router.add("GET", ZONES)
def list_zones(backend: Backend, call: Call) -> Response:
    return page(backend, call, backend.dns.list_zones(call.params["subscription"], call.params["resourceGroup"]))


@router.add("PUT", ZONE)
def put_zone(backend: Backend, call: Call) -> Response:
    p = call.params
    return wire.written(backend.dns.put_zone(p["subscription"], p["resourceGroup"], p["zone"], call.body))


@router.add("GET", ZONE)
def get_zone(backend: Backend, call: Call) -> Response:
    p = call.params
    return wire.ok(backend.dns.get_zone(p["subscription"], p["resourceGroup"], p["zone"]))


@router.add("DELETE", ZONE)
def delete_zone(backend: Backend, call: Call) -> Response:
    p = call.params
    return wire.deleted(backend.dns.delete_zone(p["subscription"], p["resourceGroup"], p["zone"]))


@router.add("GET", ZONE + "/virtualNetworkLinks")
def list_links(backend: Backend, call: Call) -> Response:
    p = call.params
    return page(backend, call, backend.dns.list_links(p["subscription"], p["resourceGroup"], p["zone"]))


@router.add("PUT", ZONE + "/virtualNetworkLinks/{link}")
def put_link(backend: Backend, call: Call) -> Response:
    p = call.params
    return wire.written(backend.dns.put_link(p["subscription"], p["resourceGroup"], p["zone"], p["link"], call.body))


@router.add("GET", ZONE + "/virtualNetworkLinks/{link}")
def get_link(backend: Backend, call: Call) -> Response:
    p = call.params
    return wire.ok(backend.dns.get_link(p["subscription"], p["resourceGroup"], p["zone"], p["link"]))


@router.add("DELETE", ZONE + "/virtualNetworkLinks/{link}")
def delete_link(backend: Backend, call: Call) -> Response:
    p = call.params
    return wire.deleted(backend.dns.delete_link(p["subscription"], p["resourceGroup"], p["zone"], p["link"]))


@router.add("GET", ZONE + "/A")
@router.add("GET", ZONE + "/ALL")
def list_a_records(backend: Backend, call: Call) -> Response:
    p = call.params
    return page(backend, call, backend.dns.list_a_records(p["subscription"], p["resourceGroup"], p["zone"]))


@router.add("PUT", ZONE + "/A/{record}")
def put_a_record(backend: Backend, call: Call) -> Response:
    p = call.params
    return wire.written(
        backend.dns.put_a_record(p["subscription"], p["resourceGroup"], p["zone"], p["record"], call.body)
    )


@router.add("GET", ZONE + "/A/{record}")
def get_a_record(backend: Backend, call: Call) -> Response:
    p = call.params
    return wire.ok(backend.dns.get_a_record(p["subscription"], p["resourceGroup"], p["zone"], p["record"]))


@router.add("DELETE", ZONE + "/A/{record}")
def delete_a_record(backend: Backend, call: Call) -> Response:
    p = call.params
    return wire.deleted(backend.dns.delete_a_record(p["subscription"], p["resourceGroup"], p["zone"], p["record"]))
