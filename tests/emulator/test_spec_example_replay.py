"""The specification's own example requests, replayed against the emulator on the wire.

Examples name subscriptions and resource groups that do not exist here; those names are mapped
to the sandbox subscription and fresh resource groups, and the resources an example presumes
(a virtual network it links, a subnet it delegates) are created first. Where an example breaks a
documented service rule, the emulator must refuse it as the service would; the example is then
replayed once more with only the offending value changed.
"""

from __future__ import annotations

import http.client
import json
import re
import ssl
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest
from azure.identity import DefaultAzureCredential

from pgflex.emulator.settings import DEFAULT_SUBSCRIPTION
from support.armspec import ArmSpec, ExampleRequest
from support.emulator import EmulatorHandle

# The order a user would take: prerequisites, creates, reads, changes, deletes.
ORDER = [
    "PrivateDnsZoneSuffixGet",
    "NameAvailabilityCheckGlobally",
    "NameAvailabilityCheckWithLocation",
    "VirtualNetworkCreate",
    "VirtualNetworkGet",
    "SubnetCreateWithDelegation",
    "SubnetGet",
    "SubnetGetWithDelegation",
    "PrivateZonePut",
    "PrivateZoneGet",
    "VirtualNetworkLinkPut",
    "VirtualNetworkLinkGet",
    "ServersCreateInYourOwnVirtualNetworkWithSameZoneHighAvailability",
    "ServersCreateInMicrosoftOwnedVirtualNetworkWithZoneRedundantHighAvailability",
    "ServersGet",
    "ServersGetWithVnet",
    "ServersListByResourceGroup",
    "VirtualNetworkSubnetUsageList",
    "ConfigurationsListByServer",
    "ConfigurationsGet",
    "ConfigurationsUpdateUsingPut",
    "ConfigurationsUpdate",
    "FirewallRulesCreateOrUpdate",
    "FirewallRulesGet",
    "FirewallRulesListByServer",
    "FirewallRulesDelete",
    "AdministratorsMicrosoftEntraAdd",
    "AdministratorsMicrosoftEntraGet",
    "DatabasesCreate",
    "DatabasesListByServer",
    "DatabasesDelete",
    "CapturedLogsListByServer",
    "ReplicasListByServer",
    "VirtualEndpointsListByServer",
    "AdvancedThreatProtectionSettingsListByServer",
    "ServersUpdate",
    "ServersRestartWithFailover",
    "ServersDelete",
]

# The groups and networks the examples presume are written at versions their providers publish (Resource Manager
# refuses a PostgreSQL version there).
RESOURCES_VERSION = "2025-04-01"
NETWORK_VERSION = "2025-05-01"
STRONG_PASSWORD = "Replay-Passw0rd!"

WEAK_PASSWORD = "has one character class; the service requires three"
STRONG = {"properties": {"administratorLoginPassword": STRONG_PASSWORD}}

# Example -> the refusals the service gives it, in turn: (error code, why, the change that mends it;
# None when nothing short of rewriting the example would).
KNOWN_REFUSALS: dict[str, list[tuple[str, str, dict[str, Any] | None]]] = {
    "ServersCreateInYourOwnVirtualNetworkWithSameZoneHighAvailability": [
        ("PasswordTooWeak", f"'examplepassword' {WEAK_PASSWORD}", STRONG),
        (
            "PrivateDnsZoneHasWrongZoneSuffix",
            "its zone 'exampleprivatednszone.private.postgres.database' lacks the '.azure.com' ending",
            None,
        ),
    ],
    "ServersCreateInMicrosoftOwnedVirtualNetworkWithZoneRedundantHighAvailability": [
        ("PasswordTooWeak", f"'examplepassword' {WEAK_PASSWORD}", STRONG),
    ],
    "ServersUpdate": [("PasswordTooWeak", f"'examplenewpassword' {WEAK_PASSWORD}", STRONG)],
}


EXAMPLE_SERVER = (
    "/subscriptions/x/resourceGroups/exampleresourcegroup"
    "/providers/Microsoft.DBforPostgreSQL/flexibleServers/exampleserver"
)
# Example -> the writes it presumes were made before it (as a user makes them first): (method, path, body).
PRESUMED_WRITES: dict[str, list[tuple[str, str, dict[str, Any]]]] = {
    # Microsoft Entra administrators are added to a server with Microsoft Entra authentication on.
    "AdministratorsMicrosoftEntraAdd": [
        ("PATCH", EXAMPLE_SERVER, {"properties": {"authConfig": {"activeDirectoryAuth": "Enabled"}}}),
    ],
}


class Replayer:
    def __init__(self, handle: EmulatorHandle) -> None:
        assert handle.running is not None
        self.token = DefaultAzureCredential().get_token("https://management.azure.com/.default").token
        parts = urlsplit(handle.base_url)
        self.connection = http.client.HTTPSConnection(
            parts.hostname or "127.0.0.1",
            parts.port,
            context=ssl.create_default_context(cafile=str(handle.running.ca_root)),
        )
        self.suffix = uuid.uuid4().hex[:6]

    def localise(self, text: str) -> str:
        """Examples' subscriptions become the sandbox, their resource groups fresh ones of this run."""
        text = re.sub(r"/subscriptions/[^/\"]+", f"/subscriptions/{DEFAULT_SUBSCRIPTION}", text)
        return re.sub(r"/resourceGroups/([^/\"]+)", lambda m: f"/resourceGroups/{m.group(1)}-{self.suffix}", text)

    def send(self, method: str, path: str, body: Any = None, api_version: str = "2026-10-01") -> tuple[int, Any, Any]:
        separator = "&" if "?" in path else "?"
        url = path if "api-version=" in path else f"{path}{separator}api-version={api_version}"
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        self.connection.request(method, url, body=payload, headers=headers)
        response = self.connection.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None, response.headers

    def wait(self, headers: Any) -> dict[str, Any]:
        status_url = urlsplit(headers["Azure-AsyncOperation"])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            _, document, _ = self.send("GET", f"{status_url.path}?{status_url.query}")
            if document["status"] != "InProgress":
                return dict(document)
            time.sleep(0.05)
        raise AssertionError("operation did not finish")

    def prepare(self) -> None:
        """Resource groups and the networks the examples presume."""
        for group in ("exampleresourcegroup", "rg1", "subnet-test", "resourceGroup1", "virtualNetworkResourceGroup"):
            status, _, _ = self.send(
                "PUT",
                self.localise(f"/subscriptions/x/resourceGroups/{group}"),
                {"location": "eastus"},
                RESOURCES_VERSION,
            )
            assert status in (200, 201)
        delegated = {"name": "pg", "properties": {"serviceName": "Microsoft.DBforPostgreSQL/flexibleServers"}}
        for group, vnet, subnet in (
            ("subnet-test", "vnetname", None),
            ("virtualNetworkResourceGroup", "virtualNetworkName", None),
            ("exampleresourcegroup", "examplevirtualnetwork", "examplesubnet"),
        ):
            base = self.localise(
                f"/subscriptions/x/resourceGroups/{group}/providers/Microsoft.Network/virtualNetworks/{vnet}"
            )
            status, _, _ = self.send(
                "PUT",
                base,
                {"location": "eastus", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/8"]}}},
                NETWORK_VERSION,
            )
            assert status in (200, 201)
            if subnet:
                status, _, _ = self.send(
                    "PUT",
                    f"{base}/subnets/{subnet}",
                    {"properties": {"addressPrefix": "10.250.0.0/24", "delegations": [delegated]}},
                    NETWORK_VERSION,
                )
                assert status in (200, 201)

    def replay(self, example: ExampleRequest, body: Any) -> tuple[int, Any, Any]:
        path = self.localise(example.path)
        localised = json.loads(self.localise(json.dumps(body))) if body is not None else None
        return self.send(example.method, path, localised, example.api_version)


def _merge(base: Any, change: dict[str, Any]) -> Any:
    merged = dict(base)
    for key, value in change.items():
        merged[key] = _merge(merged.get(key, {}), value) if isinstance(value, dict) else value
    return merged


def test_every_example_request_is_served_as_specified(emulator: EmulatorHandle, arm_spec: ArmSpec) -> None:
    examples = {e.name: e for e in arm_spec.example_requests()}
    assert set(ORDER) == set(examples), "a vendored example is not in the replay order"
    replayer = Replayer(emulator)
    replayer.prepare()
    served = []
    for name in ORDER:
        for method, path, presumed in PRESUMED_WRITES.get(name, []):
            status, body, headers = replayer.send(method, replayer.localise(path), presumed)
            assert status == 202, f"{name} presumes {method} {path}: {status} {body}"
            assert replayer.wait(headers)["status"] == "Succeeded"
        example = examples[name]
        request_body = example.body
        status, body, headers = replayer.replay(example, request_body)
        mended = True
        for code, why, fix in KNOWN_REFUSALS.get(name, []):
            assert status == 400, f"{name}: {why}, so the service refuses it; the emulator answered {status}"
            assert body["error"]["code"] == code, f"{name}: expected {code} because {why}: {body}"
            if fix is None:
                mended = False
                break
            request_body = _merge(request_body, fix)
            status, body, headers = replayer.replay(example, request_body)
        if not mended:
            continue
        assert str(status) in example.responses, f"{name}: status {status} not in {sorted(example.responses)}: {body}"
        problems = arm_spec.validate_response(example.method, replayer.localise(example.path), status, body, headers)
        assert not problems, f"{name}: {problems}"
        if status == 202 and "Azure-AsyncOperation" in headers:
            document = replayer.wait(headers)
            assert document["status"] == "Succeeded", f"{name}: {document}"
        served.append(name)
    assert len(served) == len(ORDER) - 1  # all but the one example whose zone name the service refuses


@pytest.mark.parametrize("name", sorted(KNOWN_REFUSALS))
def test_known_refusals_are_real_service_rules(name: str, arm_spec: ArmSpec) -> None:
    """Each refusal above names a value that is really in the example, so the table cannot go stale."""
    example = next(e for e in arm_spec.example_requests() if e.name == name)
    text = json.dumps(example.body)
    for code, _, _ in KNOWN_REFUSALS[name]:
        if code == "PasswordTooWeak":
            assert re.search(r'"administratorLoginPassword": "[a-z]+"', text)
        else:
            assert 'private.postgres.database"' in text
