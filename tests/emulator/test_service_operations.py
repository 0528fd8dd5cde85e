"""Name availability, DNS suffix and capabilities."""

from __future__ import annotations

import pytest

from support.emulator import Clients, server_body, unique

SERVER_TYPE = "Microsoft.DBforPostgreSQL/flexibleServers"


def test_name_availability(clients: Clients, resource_group: str, server_name: str) -> None:
    check = clients.postgres.name_availability
    assert check.check_globally({"name": server_name, "type": SERVER_TYPE}).name_available is True
    clients.postgres.servers.begin_create_or_update(resource_group, server_name, server_body()).result()
    taken = check.check_globally({"name": server_name, "type": SERVER_TYPE})
    assert (taken.name_available, taken.reason) == (False, "AlreadyExists")
    local = check.check_with_location("westeurope", {"name": server_name, "type": SERVER_TYPE})
    assert local.name_available is False
    invalid = check.check_globally({"name": "Not_Valid", "type": SERVER_TYPE})
    assert (invalid.name_available, invalid.reason) == (False, "Invalid")
    assert check.check_globally({"name": unique("free"), "type": SERVER_TYPE}).name_available is True


def test_private_dns_zone_suffix(clients: Clients) -> None:
    assert clients.postgres.private_dns_zone_suffix.get() == "postgres.database.azure.com"


def test_capabilities_let_a_client_pick_versions_and_skus(clients: Clients) -> None:
    capabilities = list(clients.postgres.capabilities_by_location.list("westeurope"))
    assert capabilities
    capability = capabilities[0]
    versions = [v.name for v in capability.supported_server_versions or []]
    assert "16" in versions and "17" in versions
    editions = {e.name: e for e in capability.supported_server_editions or []}
    assert set(editions) == {"Burstable", "GeneralPurpose", "MemoryOptimized"}
    burstable = editions["Burstable"]
    assert burstable.default_sku_name == "Standard_B1ms"
    assert "Standard_B1ms" in [s.name for s in burstable.supported_server_skus or []]
    sizes = [
        s.storage_size_mb for e in burstable.supported_storage_editions or [] for s in e.supported_storage_mb or []
    ]
    assert 32768 in sizes


def test_capabilities_list_realistic_sizes_and_refuse_an_unknown_region(clients: Clients) -> None:
    from azure.core.exceptions import HttpResponseError

    capability = next(iter(clients.postgres.capabilities_by_location.list("eastus")))
    skus = {e.name: {s.name for s in e.supported_server_skus or []} for e in capability.supported_server_editions or []}
    assert {"Standard_B1ms", "Standard_B2s"} <= skus["Burstable"]
    assert {"Standard_D2ds_v5", "Standard_D4ds_v5", "Standard_D8s_v3"} <= skus["GeneralPurpose"]
    assert {"Standard_E2ds_v5", "Standard_E4ds_v5"} <= skus["MemoryOptimized"]
    with pytest.raises(HttpResponseError) as refused:
        list(clients.postgres.capabilities_by_location.list("atlantis"))
    assert refused.value.status_code == 400
    assert refused.value.error is not None and refused.value.error.code == "NoRegisteredProviderFound"
