"""api-versions as Resource Manager checks them: every version a provider publishes (and every version today's
clients send) is accepted; any other is refused before anything happens, with Resource Manager's own error and
wording; older versions get the body shape they define where their clients break on the newest one.

The versions the installed SDKs send are read from the SDK modules themselves, so a newer SDK whose version the
emulator's list lacks fails here rather than in every other test.
"""

from __future__ import annotations

import importlib
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.identity import DefaultAzureCredential
from azure.mgmt.postgresqlflexibleservers import PostgreSQLManagementClient

from pgflex.emulator.models.capabilities import LOCATIONS
from pgflex.emulator.settings import DEFAULT_SUBSCRIPTION
from support.emulator import Clients, EmulatorHandle, server_body, unique
from support.rawarm import arm_session, call

SUB = f"/subscriptions/{DEFAULT_SUBSCRIPTION}"
PG = SUB + "/providers/Microsoft.DBforPostgreSQL"
# Each installed management SDK, the provider it calls, and a path of that provider that answers a GET.
SDKS = {
    "azure.mgmt.postgresqlflexibleservers": ("Microsoft.DBforPostgreSQL", PG + "/flexibleServers"),
    "azure.mgmt.rdbms.postgresql_flexibleservers": ("Microsoft.DBforPostgreSQL", PG + "/flexibleServers"),
    "azure.mgmt.network": ("Microsoft.Network", SUB + "/providers/Microsoft.Network/virtualNetworks"),
    "azure.mgmt.privatedns": (
        "Microsoft.Network/privateDnsZones",
        SUB + "/providers/Microsoft.Network/privateDnsZones",
    ),
    "azure.mgmt.resource.resources": ("Microsoft.Resources", SUB + "/resourcegroups"),
    "azure.mgmt.resource.subscriptions": ("Microsoft.Resources", "/subscriptions"),
}
# The request builders' defaults: kwargs.pop("api_version", ...) and _params.pop("api-version", ...).
SDK_VERSION = re.compile(r'"api[-_]version",\s*"(\d{4}-\d{2}-\d{2}(?:-[a-z]+)?)"')
# What clients that are not installed here send (azure-cli 2.91's PostgreSQL module).
OTHER_CLIENTS = {"Microsoft.DBforPostgreSQL": ("2026-04-01-preview",)}


def published() -> dict[str, Any]:
    return dict(json.loads(resources.files("pgflex.emulator.data").joinpath("api_versions.json").read_text()))


def accepted(provider: str) -> list[str]:
    entry = published()["providers"][provider]
    return sorted({*entry["apiVersions"], *(client["apiVersion"] for client in entry["clients"])})


def sdk_versions(module: str) -> set[str]:
    """Every api-version an installed SDK module sends, read from its source files."""
    package = importlib.import_module(module)
    assert package.__file__ is not None
    return {
        found for file in Path(package.__file__).parent.rglob("*.py") for found in SDK_VERSION.findall(file.read_text())
    }


@pytest.fixture
def arm(emulator: EmulatorHandle) -> requests.Session:
    """Raw HTTPS to the emulator with a Resource Manager token, as curl or a script would call it."""
    return arm_session(emulator)


def no_provider(
    location: str, version: str, resource_type: str, provider: str, locations: tuple[str, ...] = LOCATIONS
) -> dict[str, Any]:
    return {
        "error": {
            "code": "NoRegisteredProviderFound",
            "message": f"No registered resource provider found for location '{location}' and API version '{version}' "
            f"for type '{resource_type}'. The supported api-versions are '{', '.join(accepted(provider))}'. "
            f"The supported locations are '{', '.join(locations)}'.",
        }
    }


@pytest.mark.parametrize("module", sorted(SDKS))
def test_every_version_an_installed_sdk_sends_is_accepted(
    module: str, emulator: EmulatorHandle, arm: requests.Session
) -> None:
    provider, path = SDKS[module]
    versions = sdk_versions(module)
    assert versions, f"no api-version found in {module}: the pattern no longer matches its request builders"
    for version in sorted(versions):
        assert version in accepted(provider), f"{module} sends {version}, which data/api_versions.json lacks"
        response = call(arm, emulator, "GET", path, version)
        assert response.status_code == 200, (version, response.text)
        assert isinstance(response.json()["value"], list)


@pytest.mark.parametrize(("provider", "version"), [(p, v) for p, versions in OTHER_CLIENTS.items() for v in versions])
def test_what_other_clients_send_is_accepted(
    provider: str, version: str, emulator: EmulatorHandle, arm: requests.Session
) -> None:
    assert version in accepted(provider)
    assert call(arm, emulator, "GET", PG + "/flexibleServers", version).status_code == 200


def test_the_list_keeps_its_sources() -> None:
    document = published()
    assert document["kind"] == "pgflex-emulator-api-versions"
    assert "MIT" in document["licence"]
    for name, entry in document["providers"].items():
        assert entry["apiVersions"] == sorted(entry["apiVersions"]), name
        for source in entry["sources"]:
            assert source["repository"] == "Azure/azure-rest-api-specs"
            assert re.fullmatch(r"[0-9a-f]{40}", source["commit"]), (name, source)
            assert source["path"].endswith("readme.md")


def test_an_unpublished_version_of_a_provider_type_is_refused_as_resource_manager_does(
    emulator: EmulatorHandle, arm: requests.Session, resource_group: str, server_name: str
) -> None:
    server = f"{SUB}/resourceGroups/{resource_group}/providers/Microsoft.DBforPostgreSQL/flexibleServers/{server_name}"
    refused = call(arm, emulator, "GET", server, "1999-01-01")
    assert refused.status_code == 400
    # The resource group's location (westeurope), the type without its names.
    assert refused.json() == no_provider("westeurope", "1999-01-01", "flexibleServers", "Microsoft.DBforPostgreSQL")

    nested = call(arm, emulator, "GET", server + "/firewallRules/rule1", "banana")
    assert nested.json() == no_provider(
        "westeurope", "banana", "flexibleServers/firewallRules", "Microsoft.DBforPostgreSQL"
    )
    action = call(arm, emulator, "POST", server + "/restart", "2017-12-01")  # a single-server version
    assert action.json() == no_provider("westeurope", "2017-12-01", "flexibleServers", "Microsoft.DBforPostgreSQL")

    located = call(
        arm, emulator, "POST", PG + "/locations/eastus/checkNameAvailability", "2099-01-01", json={"name": "x"}
    )
    assert located.json() == no_provider(
        "eastus", "2099-01-01", "locations/checkNameAvailability", "Microsoft.DBforPostgreSQL"
    )
    everywhere = call(arm, emulator, "GET", PG + "/flexibleServers", "2099-01-01")
    assert everywhere.json() == no_provider("", "2099-01-01", "flexibleServers", "Microsoft.DBforPostgreSQL")


def test_a_refused_create_names_the_location_it_asked_for_and_creates_nothing(
    emulator: EmulatorHandle, arm: requests.Session, clients: Clients, resource_group: str, server_name: str
) -> None:
    server = f"{SUB}/resourceGroups/{resource_group}/providers/Microsoft.DBforPostgreSQL/flexibleServers/{server_name}"
    refused = call(arm, emulator, "PUT", server, "2020-01-01", json=server_body("North Europe"))
    assert refused.json() == no_provider("northeurope", "2020-01-01", "flexibleServers", "Microsoft.DBforPostgreSQL")
    assert [s.name for s in clients.postgres.servers.list_by_resource_group(resource_group)] == []


def test_network_and_private_dns_refuse_with_their_own_lists(
    emulator: EmulatorHandle, arm: requests.Session, resource_group: str
) -> None:
    group = f"{SUB}/resourceGroups/{resource_group}/providers"
    subnet = call(arm, emulator, "GET", group + "/Microsoft.Network/virtualNetworks/v1/subnets/s1", "2024-06-01")
    assert subnet.json() == no_provider("westeurope", "2024-06-01", "virtualNetworks/subnets", "Microsoft.Network")
    # Private DNS zones are registered in 'global' only; Microsoft.Network's versions are not theirs.
    zone = call(
        arm, emulator, "GET", group + "/Microsoft.Network/privateDnsZones/z.postgres.database.azure.com", "2025-05-01"
    )
    assert zone.json() == no_provider(
        "global", "2025-05-01", "privateDnsZones", "Microsoft.Network/privateDnsZones", ("global",)
    )


def test_resource_managers_own_types_refuse_with_invalid_api_version(
    emulator: EmulatorHandle, arm: requests.Session, clients: Clients
) -> None:
    newest_first = ",".join(reversed(accepted("Microsoft.Resources")))
    for path in ("/subscriptions", SUB, SUB + "/resourcegroups"):
        refused = call(arm, emulator, "GET", path, "banana")
        assert refused.status_code == 400, path
        assert refused.json() == {
            "error": {
                "code": "InvalidApiVersionParameter",
                "message": f"The api-version 'banana' is invalid. The supported versions are '{newest_first}'.",
            }
        }
    name = unique("rg")
    created = call(arm, emulator, "PUT", f"{SUB}/resourcegroups/{name}", "1999-01-01", json={"location": "westeurope"})
    assert created.json()["error"]["code"] == "InvalidApiVersionParameter"
    assert not clients.resources.resource_groups.check_existence(name)


def test_a_missing_api_version_is_still_its_own_error(emulator: EmulatorHandle, arm: requests.Session) -> None:
    response = arm.get(f"{emulator.base_url}{PG}/flexibleServers", timeout=30)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "MissingApiVersionParameter"


def test_an_sdk_pinned_to_an_unpublished_version_gets_resource_managers_error(
    emulator: EmulatorHandle, clients: Clients, resource_group: str, server_name: str
) -> None:
    pinned = PostgreSQLManagementClient(
        DefaultAzureCredential(),
        DEFAULT_SUBSCRIPTION,
        base_url=emulator.base_url,
        credential_scopes=["https://management.azure.com/.default"],
        api_version="2019-06-01",
    )
    emulator.reset_request_count()
    with pytest.raises(HttpResponseError) as refused:
        pinned.servers.get(resource_group, server_name)
    assert refused.value.status_code == 400
    assert refused.value.error is not None and refused.value.error.code == "NoRegisteredProviderFound"
    assert emulator.request_count("arm") == 1  # a 400 is final: the SDK does not retry it


def test_capabilities_at_2021_06_01_carry_that_versions_booleans(
    emulator: EmulatorHandle, arm: requests.Session
) -> None:
    path = PG + "/locations/westeurope/capabilities"
    newest = call(arm, emulator, "GET", path, "2025-08-01").json()["value"][0]
    old = call(arm, emulator, "GET", path, "2021-06-01").json()["value"][0]

    assert newest["geoBackupSupported"] == "Enabled"
    assert old["geoBackupSupported"] is True
    assert old["zoneRedundantHaSupported"] is (newest["zoneRedundantHaSupported"] == "Enabled")
    assert old["zoneRedundantHaAndGeoBackupSupported"] is True
    # The same offer in 2021-06-01's structure: editions holding storage sizes and, per version, compute sizes.
    editions = {edition["name"]: edition for edition in old["supportedFlexibleServerEditions"]}
    assert set(editions) == {edition["name"] for edition in newest["supportedServerEditions"]}
    burstable = editions["Burstable"]
    versions = [version["name"] for version in burstable["supportedServerVersions"]]
    assert versions == [version["name"] for version in newest["supportedServerVersions"]]
    assert "16" in versions
    vcores = {vcore["name"]: vcore for vcore in burstable["supportedServerVersions"][0]["supportedVcores"]}
    assert vcores["Standard_B1ms"]["vCores"] == 1
    assert vcores["Standard_B1ms"]["supportedMemoryPerVcoreMB"] == 2048
    sizes = [size["storageSizeMB"] for size in burstable["supportedStorageEditions"][0]["supportedStorageMB"]]
    assert 32768 in sizes
    # Versions after 2021-06-01 keep the newest shape.
    assert call(arm, emulator, "GET", path, "2026-10-01").json()["value"][0] == newest
