"""Private servers of one virtual network share its network namespace; the last one out removes it."""

from __future__ import annotations

import pytest

from pgflex.emulator import netns
from pgflex.emulator.dataplane import DataPlane, PrivateNetwork

from .conftest import ADMIN, PASSWORD, new_server_name

pytestmark = pytest.mark.dataplane

VNET = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/{}"
NO_ISOLATION = netns.unavailable_reason()


@pytest.mark.skipif(NO_ISOLATION is not None, reason=f"no network isolation here: {NO_ISOLATION}")
def test_servers_of_one_virtual_network_share_a_namespace(dataplane: DataPlane) -> None:
    vnet = VNET.format(new_server_name())
    names = [new_server_name(), new_server_name()]
    try:
        # Resource ids compare case-insensitively: both spellings are the same virtual network.
        endpoints = [
            dataplane.provision(name, f"{name}.postgres.database.azure.com", "15", ADMIN, PASSWORD, {}, network)
            for name, network in zip(
                names, [PrivateNetwork(vnet, "10.60.1.4"), PrivateNetwork(vnet.upper(), "10.60.1.5")], strict=True
            )
        ]
        namespace = endpoints[0].namespace
        assert namespace and [e.namespace for e in endpoints] == [namespace, namespace]
        assert [(e.host, e.port) for e in endpoints] == [("10.60.1.4", 5432), ("10.60.1.5", 5432)]
        dataplane.delete(names[0])
        assert netns.exists(namespace)  # its sibling still lives there
        dataplane.delete(names[1])
        assert not netns.exists(namespace)
    finally:
        for name in names:
            dataplane.delete(name)
