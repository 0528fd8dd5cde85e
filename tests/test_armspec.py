"""The ARM spec validator accepts the spec's own examples and rejects what the spec forbids."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from support.armspec import (
    SPECS_ENV_VAR,
    ArmSpec,
    ExampleRequest,
    _JsonFiles,
    _SchemaConverter,
    check_shape,
    default_specs_dir,
    route_for_example,
    validate_record_file,
)

SERVER = (
    "/subscriptions/ffffffff-ffff-ffff-ffff-ffffffffffff/resourceGroups/exampleresourcegroup"
    "/providers/Microsoft.DBforPostgreSQL/flexibleServers/exampleserver"
)
FIREWALL_RULE = SERVER + "/firewallRules/examplefirewallrule"
VNET = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet1"
RESOURCE_GROUP = "/subscriptions/s/resourcegroups/rg"


@pytest.fixture(scope="module")
def spec() -> ArmSpec:
    return ArmSpec.load()


def _example(spec: ArmSpec, name: str) -> ExampleRequest:
    return next(example for example in spec.example_requests() if example.name == name)


def _example_body(spec: ArmSpec, name: str, status: str = "200") -> Any:
    return copy.deepcopy(_example(spec, name).responses[status]["body"])


def _example_cases() -> list[Any]:
    return [
        pytest.param(example, status, id=f"{example.name}-{status}")
        for example in ArmSpec.load().example_requests()
        for status in example.responses
    ]


def test_specs_dir_can_be_overridden(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(SPECS_ENV_VAR, str(tmp_path))
    assert default_specs_dir() == tmp_path.resolve()
    with pytest.raises(FileNotFoundError, match=SPECS_ENV_VAR):
        ArmSpec(tmp_path)


# ---- self-check: the spec's own examples --------------------------------------------------------------


@pytest.mark.parametrize(("example", "status"), _example_cases())
def test_every_example_response_validates_against_its_operation(
    spec: ArmSpec, example: ExampleRequest, status: str
) -> None:
    response = example.responses[status]
    problems = spec.validate_response(
        example.method, example.path, int(status), response.get("body"), response.get("headers", {})
    )
    assert problems == []


def test_every_vendored_example_is_replayable(spec: ArmSpec) -> None:
    files = {path.resolve() for path in spec.specs_dir.glob("specification/**/examples/*.json")}
    assert {example.file for example in spec.example_requests()} == files


def test_example_paths_match_their_own_operation(spec: ArmSpec) -> None:
    for example in spec.example_requests():
        assert spec.match(example.method, example.path) is example.operation, example.name


def test_example_requests_include_a_put_for_each_resource_we_create(spec: ArmSpec) -> None:
    puts = {example.operation.operation_id for example in spec.example_requests() if example.method == "PUT"}
    assert puts >= {
        "Servers_CreateOrUpdate",
        "FirewallRules_CreateOrUpdate",
        "Configurations_Put",
        "VirtualNetwork_CreateOrUpdate",
        "Subnet_CreateOrUpdate",
        "PrivateZone_CreateOrUpdate",
        "VirtualNetworkLink_CreateOrUpdate",
    }


def test_example_request_carries_body_and_api_version(spec: ArmSpec) -> None:
    create = _example(spec, "FirewallRulesCreateOrUpdate")
    assert create.path == FIREWALL_RULE
    assert create.api_version == "2025-08-01"
    assert create.body == {"properties": {"startIpAddress": "0.0.0.0", "endIpAddress": "255.255.255.255"}}  # noqa: S104
    subnet = _example(spec, "SubnetCreateWithDelegation")
    assert subnet.body == {"properties": {"addressPrefix": "10.0.0.0/16"}}
    assert _example(spec, "ServersGet").body is None


def test_example_names_map_to_routes() -> None:
    cases = {
        "VirtualNetworkCreate": ("VirtualNetwork", "PUT", False),
        "SubnetCreateWithDelegation": ("Subnet", "PUT", False),
        "SubnetGetWithDelegation": ("Subnet", "GET", False),
        "PrivateZonePut": ("PrivateZone", "PUT", False),
        "VirtualNetworkLinkPut": ("VirtualNetworkLink", "PUT", False),
        "VirtualNetworkLinkList": ("VirtualNetworkLink", "GET", True),
    }
    for stem, expected in cases.items():
        routed = route_for_example(stem)
        assert routed is not None
        assert (routed[0].kind, routed[1], routed[2]) == expected
    assert route_for_example("ServersGet") is None


# ---- schema checks (PostgreSQL) -----------------------------------------------------------------------


def test_wrong_type_is_rejected(spec: ArmSpec) -> None:
    server = _example_body(spec, "ServersGet")
    server["properties"]["version"] = 16
    assert spec.validate_response("GET", SERVER, 200, server) == ["$.properties.version: 16 is not of type 'string'"]


def test_missing_required_property_is_rejected(spec: ArmSpec) -> None:
    rule = _example_body(spec, "FirewallRulesGet")
    del rule["properties"]["startIpAddress"]
    problems = spec.validate_response("GET", FIREWALL_RULE, 200, rule)
    assert problems == ["$.properties: 'startIpAddress' is a required property"]


def test_required_property_from_a_base_in_another_file_is_enforced(spec: ArmSpec) -> None:
    server = _example_body(spec, "ServersGet")
    del server["location"]  # required by common-types v6 TrackedResource
    assert spec.validate_response("GET", SERVER, 200, server) == ["$: 'location' is a required property"]


def test_cross_file_definitions_are_checked(spec: ArmSpec) -> None:
    server = _example_body(spec, "ServersGet")
    server["systemData"] = {"createdAt": 5}  # common-types v6 systemData
    assert spec.validate_response("GET", SERVER, 200, server) == ["$.systemData.createdAt: 5 is not of type 'string'"]


def test_undeclared_property_is_rejected(spec: ArmSpec) -> None:
    server = _example_body(spec, "ServersGet")
    server["properties"]["fullyQualifiedDomainname"] = "typo.postgres.database.azure.com"
    (problem,) = spec.validate_response("GET", SERVER, 200, server)
    assert "'fullyQualifiedDomainname' was unexpected" in problem


def test_enums_are_open_but_typed(spec: ArmSpec) -> None:
    server = _example_body(spec, "ServersGet")
    server["properties"]["storage"]["type"] = ""
    server["properties"]["state"] = "SomeFutureState"
    assert spec.validate_response("GET", SERVER, 200, server) == []
    server["properties"]["state"] = 3
    assert spec.validate_response("GET", SERVER, 200, server) == ["$.properties.state: 3 is not of type 'string'"]


def test_list_items_are_checked(spec: ArmSpec) -> None:
    rules = _example_body(spec, "FirewallRulesListByServer")
    rules["value"][1]["properties"]["endIpAddress"] = None
    problems = spec.validate_response("GET", SERVER + "/firewallRules", 200, rules)
    assert problems == ["$.value[1].properties.endIpAddress: None is not of type 'string'"]


def test_string_body_is_checked(spec: ArmSpec) -> None:
    suffix = "/providers/Microsoft.DBforPostgreSQL/getPrivateDnsZoneSuffix"
    assert spec.validate_response("POST", suffix, 200, "postgres.database.azure.com") == []
    assert spec.validate_response("POST", suffix, 200, {"suffix": "x"}) != []


def test_converter_handles_nullable_and_untyped_enums(tmp_path: Path) -> None:
    converter = _SchemaConverter(_JsonFiles(), tmp_path, closed=True)
    base = tmp_path / "spec.json"
    assert converter.convert({"type": "string", "x-nullable": True, "enum": ["A"]}, base) == {
        "type": ["string", "null"]
    }
    assert converter.convert({"enum": ["A", "B"]}, base) == {"type": "string"}
    closed = converter.convert({"type": "object", "properties": {"a": {"type": "integer", "readOnly": True}}}, base)
    assert closed == {
        "type": "object",
        "properties": {"a": {"type": "integer"}},
        "additionalProperties": False,
    }


# ---- status codes, errors and headers -----------------------------------------------------------------


def test_error_body_must_be_the_arm_envelope(spec: ArmSpec) -> None:
    assert spec.validate_response("GET", SERVER, 404, {"error": {"code": "ResourceNotFound", "message": "no"}}) == []
    assert spec.validate_response("GET", SERVER, 404, {"error": {"message": "no"}}) == [
        "$.error.code: required string missing"
    ]
    assert spec.validate_response("GET", SERVER, 500, {"code": "X", "message": "flat"}) != []


def test_undeclared_success_status_is_rejected(spec: ArmSpec) -> None:
    body = _example_body(spec, "ServersGet")
    assert spec.validate_response("PUT", SERVER, 201, body) == [
        "status 201 is not declared by Servers_CreateOrUpdate (declared: 202, default)"
    ]
    assert spec.validate_response("DELETE", FIREWALL_RULE, 200, None) != []


def test_bodyless_status_must_have_no_body(spec: ArmSpec) -> None:
    assert spec.validate_response("PUT", SERVER, 202, None) == []
    assert spec.validate_response("PUT", SERVER, 202, _example_body(spec, "ServersGet")) == [
        "$: status 202 declares no body, got object"
    ]


def test_declared_lro_headers_are_checked_when_given(spec: ArmSpec) -> None:
    headers = {"location": "https://x/operationResults/1", "azure-asyncoperation": "https://x/op/1"}
    assert spec.validate_response("POST", SERVER + "/restart", 202, None, headers) == []
    assert spec.validate_response("POST", SERVER + "/restart", 202, None, {"Location": "https://x"}) == [
        "header Azure-AsyncOperation declared for status 202 is missing"
    ]


# ---- path matching ------------------------------------------------------------------------------------


def test_literal_segments_match_case_insensitively(spec: ArmSpec) -> None:
    variants = (
        FIREWALL_RULE,
        FIREWALL_RULE.replace("resourceGroups", "resourcegroups").replace("firewallRules", "FIREWALLRULES"),
        FIREWALL_RULE.replace("Microsoft.DBforPostgreSQL/flexibleServers", "microsoft.dbforpostgresql/FlexibleServers"),
        FIREWALL_RULE + "?api-version=2026-10-01",
        FIREWALL_RULE + "/",
    )
    for path in variants:
        operation = spec.match("get", path)
        assert operation is not None and operation.operation_id == "FirewallRules_Get", path


def test_path_parameters_keep_their_case(spec: ArmSpec) -> None:
    operation = spec.operation("Servers_Get")
    parameters = operation.path_parameters(SERVER.replace("exampleserver", "MyServer"))
    assert parameters is not None and parameters["serverName"] == "MyServer"


def test_operations_we_use_are_matched(spec: ArmSpec) -> None:
    location = "/subscriptions/s/providers/Microsoft.DBforPostgreSQL/locations/eastus"
    cases = {
        ("GET", SERVER): "Servers_Get",
        ("POST", SERVER + "/start"): "Servers_Start",
        ("POST", SERVER + "/stop"): "Servers_Stop",
        ("PATCH", SERVER + "/configurations/work_mem"): "Configurations_Update",
        ("POST", "/subscriptions/s/providers/Microsoft.DBforPostgreSQL/checkNameAvailability"): (
            "NameAvailability_CheckGlobally"
        ),
        ("POST", location + "/checkNameAvailability"): "NameAvailability_CheckWithLocation",
        ("POST", location + "/checkVirtualNetworkSubnetUsage"): "VirtualNetworkSubnetUsage_List",
        ("GET", location + "/capabilities"): "CapabilitiesByLocation_List",
        ("GET", location + "/azureAsyncOperation/abc"): "postgresql_AzureAsyncOperation",
        ("PUT", VNET + "/subnets/s1"): "Subnet_CreateOrUpdate",
        ("GET", RESOURCE_GROUP): "ResourceGroup_Get",
        ("HEAD", RESOURCE_GROUP): "ResourceGroup_CheckExistence",
        ("GET", "/subscriptions/s"): "Subscription_Get",
        (
            "PUT",
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/privateDnsZones/z.com/A/db",
        ): ("ARecordSet_CreateOrUpdate"),
    }
    for (method, path), operation_id in cases.items():
        operation = spec.match(method, path)
        assert operation is not None and operation.operation_id == operation_id, (method, path)


def test_unknown_path_is_a_problem(spec: ArmSpec) -> None:
    assert spec.match("GET", SERVER + "/nonsense") is None
    assert spec.validate_response("GET", SERVER + "/nonsense", 200, {}) != []


# ---- shape checks (network, private DNS, resources) ---------------------------------------------------


def test_network_body_is_checked_against_the_example_shape(spec: ArmSpec) -> None:
    vnet = _example_body(spec, "VirtualNetworkGet")
    vnet["tags"] = {"owner": "pgflex"}  # tags are a free-form map
    assert spec.validate_response("GET", VNET, 200, vnet) == []
    vnet["properties"]["addressSpace"]["addressPrefixes"] = [10]
    vnet["properties"]["bogus"] = True
    del vnet["name"]
    assert sorted(spec.validate_response("GET", VNET, 200, vnet)) == [
        "$.name: required key missing",
        "$.properties.addressSpace.addressPrefixes[0]: expected string, got number",
        "$.properties.bogus: key not in the reference shape (allowed: addressSpace, defaultPublicNatGateway, "
        "flowTimeoutInMinutes, provisioningState, subnets, virtualNetworkPeerings)",
    ]


def test_inline_subnets_of_a_vnet_may_look_like_standalone_subnets(spec: ArmSpec) -> None:
    vnet = _example_body(spec, "VirtualNetworkGet")
    vnet["properties"]["subnets"] = [_example_body(spec, "SubnetGetWithDelegation")]
    assert spec.validate_response("GET", VNET, 200, vnet) == []
    vnet["properties"]["subnets"][0]["properties"]["delegations"][0]["properties"]["actions"] = "none"
    assert spec.validate_response("GET", VNET, 200, vnet) == [
        "$.properties.subnets[0].properties.delegations[0].properties.actions: expected an array, got string"
    ]


def test_subnet_list_is_checked_item_by_item(spec: ArmSpec) -> None:
    subnet = _example_body(spec, "SubnetGetWithDelegation")
    assert spec.validate_response("GET", VNET + "/subnets", 200, {"value": [subnet]}) == []
    broken = {"value": [{"id": "x", "name": "s", "properties": {}}]}
    assert spec.validate_response("GET", VNET + "/subnets", 200, broken) == [
        "$.value[0].properties.provisioningState: required key missing"
    ]


def test_private_dns_put_202_has_no_body(spec: ArmSpec) -> None:
    zone = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/privateDnsZones/z.com"
    assert spec.validate_response("PUT", zone, 202, None) == []
    assert spec.validate_response("PUT", zone, 201, _example_body(spec, "PrivateZonePut", "201")) == []
    assert spec.validate_response("PUT", zone, 204, None) != []


def test_resource_group_and_subscription_shapes(spec: ArmSpec) -> None:
    group = {
        "id": "/subscriptions/s/resourceGroups/rg",
        "name": "rg",
        "type": "Microsoft.Resources/resourceGroups",
        "location": "eastus",
        "tags": {"a": "b"},
        "properties": {"provisioningState": "Succeeded"},
    }
    assert spec.validate_response("PUT", RESOURCE_GROUP, 201, group) == []
    assert spec.validate_response("GET", "/subscriptions/s/resourcegroups", 200, {"value": [group]}) == []
    del group["location"]
    assert spec.validate_response("GET", RESOURCE_GROUP, 200, group) == ["$.location: required key missing"]
    assert spec.validate_response("HEAD", RESOURCE_GROUP, 404, None) == []
    subscription = {"id": "/subscriptions/s", "subscriptionId": "s", "displayName": "Dev", "state": "Enabled"}
    assert spec.validate_response("GET", "/subscriptions/s", 200, subscription) == []
    assert spec.validate_response("GET", "/subscriptions", 200, {"value": [{"id": "/subscriptions/s"}]}) != []


def test_check_shape_treats_empty_reference_arrays_as_unknown() -> None:
    shape = ArmSpec.load().operation("VirtualNetwork_CreateOrUpdate").responses["200"].shape
    assert shape is not None
    body = _example_body(ArmSpec.load(), "VirtualNetworkCreate")
    body["properties"]["virtualNetworkPeerings"] = [{"anything": 1}]
    assert check_shape(body, shape) == []


# ---- record files -------------------------------------------------------------------------------------


def test_validate_record_file(spec: ArmSpec, tmp_path: Path) -> None:
    rule = _example_body(spec, "FirewallRulesGet")
    records = [
        {
            "method": "GET",
            "path": FIREWALL_RULE,
            "query": {"api-version": "2026-10-01"},
            "status": 200,
            "request_body": None,
            "response_body": rule,
        },
        {
            "method": "PUT",
            "path": SERVER,
            "query": {},
            "status": 200,
            "request_body": {},
            "response_body": {},
        },
        {
            "method": "GET",
            "path": SERVER,
            "query": {},
            "status": 404,
            "request_body": None,
            "response_body": {"error": {"message": "gone"}},
        },
    ]
    record_file = tmp_path / "record.jsonl"
    record_file.write_text("\n".join(json.dumps(record) for record in records) + "\n\nnot json\n")
    assert validate_record_file(record_file, spec) == [
        f"line 2: PUT {SERVER} -> 200: status 200 is not declared by Servers_CreateOrUpdate (declared: 202, default)",
        f"line 3: GET {SERVER} -> 404: $.error.code: required string missing",
        "line 5: not a record (Expecting value: line 1 column 1 (char 0))",
    ]
