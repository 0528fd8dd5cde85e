"""What the service checks on a server write, as outside clients meet it: compute sizes, tiers, versions and
regions against the emulator's own capabilities, firewall-rule names by the API's pattern, enum values read
ignoring case and answered as the API spells them, and a deleted server's name held for a while. Through the SDK
and on the raw wire; a refused write creates nothing (counted at the emulator)."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from pgflex.emulator.client import EmulatorRequestFailed
from pgflex.emulator.settings import DEFAULT_SUBSCRIPTION
from support.emulator import Clients, EmulatorHandle, server_body, unique
from support.rawarm import SDK_VERSION, arm_session, call

SERVER_TYPE = "Microsoft.DBforPostgreSQL/flexibleServers"


@pytest.fixture
def arm(emulator: EmulatorHandle) -> requests.Session:
    return arm_session(emulator)


def _server_path(resource_group: str, server: str) -> str:
    return (
        f"/subscriptions/{DEFAULT_SUBSCRIPTION}/resourceGroups/{resource_group}"
        f"/providers/Microsoft.DBforPostgreSQL/flexibleServers/{server}"
    )


def _wait_until_ready(clients: Clients, resource_group: str, server: str) -> None:
    deadline = time.monotonic() + 30
    while clients.postgres.servers.get(resource_group, server).state != "Ready":
        assert time.monotonic() < deadline, "the server did not become Ready"
        time.sleep(0.05)


def _refused(emulator: EmulatorHandle, write: Any) -> HttpResponseError:
    emulator.reset_request_count()
    with pytest.raises(HttpResponseError) as raised:
        write()
    assert emulator.request_count("arm.writes") == 1  # refused at the request: no operation to poll
    return raised.value


@pytest.mark.parametrize(
    ("sku", "location", "code", "message"),
    [
        (
            {"name": "Standard_X99", "tier": "GeneralPurpose"},
            "westeurope",
            "InvalidParameterValue",
            "Invalid value given for parameter SkuName. The compute size 'Standard_X99' is not offered.",
        ),
        (
            {"name": "Standard_D2ds_v5", "tier": "Burstable"},
            "westeurope",
            "InvalidParameterValue",
            "Invalid value given for parameter Tier. The compute size 'Standard_D2ds_v5' belongs to the "
            "GeneralPurpose tier, not Burstable.",
        ),
        (
            {"name": "Standard_B1ms", "tier": "Basic"},
            "westeurope",
            "InvalidParameterValue",
            "Invalid value given for parameter Tier. It must be one of Burstable, GeneralPurpose, MemoryOptimized, "
            "not 'Basic'.",
        ),
        (
            {"name": "Standard_B1ms", "tier": "Burstable"},
            "marsnorth",
            "NoRegisteredProviderFound",
            f"No registered resource provider found for location 'marsnorth' and API version '{SDK_VERSION}' for "
            "type 'flexibleServers'. The supported api-versions are '2020-02-14-preview, ",
        ),
    ],
)
def test_what_the_capabilities_do_not_offer_is_refused_and_creates_nothing(
    clients: Clients,
    emulator: EmulatorHandle,
    resource_group: str,
    server_name: str,
    sku: dict[str, str],
    location: str,
    code: str,
    message: str,
) -> None:
    body = {**server_body(location), "sku": sku}
    refused = _refused(
        emulator, lambda: clients.postgres.servers.begin_create_or_update(resource_group, server_name, body)
    )
    assert refused.status_code == 400
    assert refused.error is not None and refused.error.code == code
    assert refused.error.message is not None and refused.error.message.startswith(message)
    with pytest.raises(ResourceNotFoundError):
        clients.postgres.servers.get(resource_group, server_name)
    free = clients.postgres.name_availability.check_globally({"name": server_name, "type": SERVER_TYPE})
    assert free.name_available is True  # a refused create takes no name


def test_an_update_is_checked_against_the_capabilities_too(
    clients: Clients, emulator: EmulatorHandle, resource_group: str, server_name: str
) -> None:
    servers = clients.postgres.servers
    servers.begin_create_or_update(resource_group, server_name, server_body()).result()
    for sku, parameter in (
        ({"name": "Standard_X99", "tier": "Burstable"}, "SkuName"),
        ({"name": "Standard_E4ds_v5", "tier": "GeneralPurpose"}, "Tier"),
    ):
        refused = _refused(emulator, lambda sku=sku: servers.begin_update(resource_group, server_name, {"sku": sku}))
        assert refused.error is not None and refused.error.code == "InvalidParameterValue"
        assert f"Invalid value given for parameter {parameter}." in str(refused.error.message)
    moved = servers.begin_update(
        resource_group, server_name, {"sku": {"name": "standard_d4ds_v5", "tier": "generalpurpose"}}
    ).result()
    assert moved.sku is not None and (moved.sku.name, moved.sku.tier) == ("Standard_D4ds_v5", "GeneralPurpose")


def test_values_are_read_ignoring_case_and_answered_as_the_api_spells_them(
    emulator: EmulatorHandle, arm: requests.Session, clients: Clients, resource_group: str, server_name: str
) -> None:
    body = server_body("West Europe")
    body["sku"] = {"name": "standard_b1ms", "tier": "burstable"}
    body["properties"].update(
        version=16,
        createMode="default",
        network={"publicNetworkAccess": "enabled"},
        storage={"storageSizeGB": 32, "tier": "p6", "autoGrow": "ENABLED"},
        backup={"backupRetentionDays": 7, "geoRedundantBackup": "disabled"},
        authConfig={"passwordAuth": "enabled", "activeDirectoryAuth": "disabled"},
        highAvailability={"mode": "disabled"},
        availabilityZone=2,
    )
    created = call(arm, emulator, "PUT", _server_path(resource_group, server_name), json=body)
    assert created.status_code == 202, created.text
    _wait_until_ready(clients, resource_group, server_name)
    answered = call(arm, emulator, "GET", _server_path(resource_group, server_name)).json()
    properties = answered["properties"]
    assert (answered["location"], answered["sku"]) == ("westeurope", {"name": "Standard_B1ms", "tier": "Burstable"})
    assert (properties["version"], properties["availabilityZone"]) == ("16", "2")
    assert properties["network"] == {"publicNetworkAccess": "Enabled"}
    assert (properties["storage"]["tier"], properties["storage"]["autoGrow"]) == ("P6", "Enabled")
    assert properties["backup"]["geoRedundantBackup"] == "Disabled"
    assert properties["authConfig"] == {"activeDirectoryAuth": "Disabled", "passwordAuth": "Enabled"}
    assert properties["highAvailability"]["mode"] == "Disabled"

    updated = call(
        arm,
        emulator,
        "PATCH",
        _server_path(resource_group, server_name),
        json={"properties": {"network": {"publicNetworkAccess": "DISABLED"}}},
    )
    assert updated.status_code == 202
    _wait_until_ready(clients, resource_group, server_name)
    assert clients.postgres.servers.get(resource_group, server_name).network.public_network_access == "Disabled"  # type: ignore[union-attr]
    wrong = call(
        arm,
        emulator,
        "PATCH",
        _server_path(resource_group, server_name),
        json={"properties": {"network": {"publicNetworkAccess": "Sometimes"}}},
    )
    assert wrong.json()["error"] == {
        "code": "InvalidParameterValue",
        "message": "Invalid value given for parameter publicNetworkAccess. It must be one of Enabled, Disabled, "
        "not 'Sometimes'.",
    }


@pytest.mark.parametrize(
    ("name", "accepted"),
    [
        ("a", True),
        ("9", True),
        ("ci-runner_1", True),
        ("x" * 80, True),
        ("AllowAll_2026-11-30", True),
        ("ci.runner", False),  # no dots
        ("x" * 81, False),  # at most 80
        ("_office", False),  # starts with a letter or digit
        ("-office", False),
        ("office-", False),  # does not end with '-'
        ("office ", False),
    ],
)
def test_firewall_rule_names_follow_the_apis_pattern(
    clients: Clients, emulator: EmulatorHandle, resource_group: str, server_name: str, name: str, accepted: bool
) -> None:
    clients.postgres.servers.begin_create_or_update(resource_group, server_name, server_body()).result()
    rule = {"properties": {"startIpAddress": "198.51.100.7", "endIpAddress": "198.51.100.7"}}
    rules = clients.postgres.firewall_rules
    if accepted:
        assert rules.begin_create_or_update(resource_group, server_name, name, rule).result().name == name
        return
    refused = _refused(emulator, lambda: rules.begin_create_or_update(resource_group, server_name, name, rule))
    assert refused.status_code == 400
    assert refused.error is not None and refused.error.code == "InvalidParameterValue"
    assert str(refused.error.message).startswith("Invalid value given for parameter firewallRuleName.")
    assert list(rules.list_by_server(resource_group, server_name)) == []


def test_a_deleted_servers_name_is_held_for_a_while(
    clients: Clients, emulator: EmulatorHandle, arm: requests.Session, resource_group: str, server_name: str
) -> None:
    servers = clients.postgres.servers
    check = clients.postgres.name_availability
    servers.begin_create_or_update(resource_group, server_name, server_body()).result()
    servers.begin_delete(resource_group, server_name).result()
    with pytest.raises(ResourceNotFoundError):
        servers.get(resource_group, server_name)  # gone: GET says so at once
    taken = check.check_globally({"name": server_name, "type": SERVER_TYPE})
    assert (taken.name_available, taken.reason) == (False, "AlreadyExists")  # while its name is still held
    other_group = unique("rg")
    clients.resources.resource_groups.create_or_update(other_group, {"location": "westeurope"})
    for group in (resource_group, other_group):
        refused = _refused(
            emulator, lambda group=group: servers.begin_create_or_update(group, server_name, server_body())
        )
        assert refused.status_code == 409 and isinstance(refused, ResourceExistsError)
        assert refused.error is not None and refused.error.code == "ServerNameAlreadyExists"
        assert refused.error.message == (
            f"Specified server name '{server_name}' is already used. Please use a different name and try again."
        )
    try:
        emulator.tune(deleted_name_hold_seconds=0)  # the hold is over
        assert check.check_globally({"name": server_name, "type": SERVER_TYPE}).name_available is True
        assert servers.begin_create_or_update(resource_group, server_name, server_body()).result().state == "Ready"
    finally:
        emulator.tune(deleted_name_hold_seconds=60)


def test_the_hold_is_a_checked_tuning_value(emulator: EmulatorHandle) -> None:
    assert emulator.admin().settings()["deleted_name_hold_seconds"] == 60
    for wrong in (-1, 432_001, "soon", True):
        with pytest.raises(EmulatorRequestFailed, match="deleted_name_hold_seconds"):
            emulator.tune(deleted_name_hold_seconds=wrong)
    assert emulator.admin().settings()["deleted_name_hold_seconds"] == 60
