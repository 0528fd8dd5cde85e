"""``pgflex audit`` against the emulator: two subscriptions holding compliant, non-compliant, unmanaged and private
servers (made with the SDK, as another tool would), every finding reported exactly in log lines, the table, JSON
(by its schema), JUnit and SARIF (by the official SARIF 2.1.0 schema); exit codes 0, 2 and 1; reads counted at the
emulator."""

from __future__ import annotations

import io
import json
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator
from rich.console import Console
from typer.testing import CliRunner

from pgflex import api
from pgflex.cli.main import app
from pgflex.engine.managed import MANAGED_TAG, MANAGED_TAG_VALUE
from pgflex.render.audit_view import render_audit
from pgflex.spec.constants import AZURE_SERVICES_IP
from support.emulator import Clients, EmulatorHandle, server_body, unique
from support.outputs import assert_documented

SARIF_SCHEMA = Path(__file__).resolve().parents[1] / "support" / "sarif" / "sarif-schema-2.1.0.json"
MANAGED = {MANAGED_TAG: MANAGED_TAG_VALUE}
ZERO, ALL = AZURE_SERVICES_IP, "255.255.255.255"


def _cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


@dataclass(frozen=True)
class Estate:
    team_a: str  # subscription: compliant and open
    team_b: str  # subscription: unmanaged and private
    compliant: str
    open: str
    unmanaged: str
    private: str
    ids: dict[str, str]

    def id(self, server: str) -> str:
        return self.ids[server]


def _create(
    clients: Clients, group: str, name: str, tags: dict[str, str], network: dict[str, str] | None = None
) -> str:
    body = server_body(network=network)
    body["tags"] = tags
    created = clients.postgres.servers.begin_create_or_update(group, name, body).result()
    return str(created.id)


def _set(clients: Clients, group: str, server: str, name: str, value: str) -> None:
    body = {"properties": {"value": value, "source": "user-override"}}
    clients.postgres.configurations.begin_update(group, server, name, body).result()


def _rule(clients: Clients, group: str, server: str, name: str, start: str, end: str) -> None:
    body = {"properties": {"startIpAddress": start, "endIpAddress": end}}
    clients.postgres.firewall_rules.begin_create_or_update(group, server, name, body).result()


def _private_network(clients: Clients, group: str) -> dict[str, str]:
    vnet = clients.network.virtual_networks.begin_create_or_update(
        group, "vnet", {"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.50.0.0/16"]}}}
    ).result()
    delegation = [{"name": "pg", "properties": {"serviceName": "Microsoft.DBforPostgreSQL/flexibleServers"}}]
    subnet = clients.network.subnets.begin_create_or_update(
        group, "vnet", "db", {"properties": {"addressPrefix": "10.50.1.0/24", "delegations": delegation}}
    ).result()
    zone_name = f"{unique('z')}.private.postgres.database.azure.com"
    zone = clients.dns.private_zones.begin_create_or_update(group, zone_name, {"location": "global"}).result()
    link = {"location": "global", "properties": {"virtualNetwork": {"id": vnet.id}, "registrationEnabled": False}}
    clients.dns.virtual_network_links.begin_create_or_update(group, zone_name, "link", link).result()
    return {"delegatedSubnetResourceId": str(subnet.id), "privateDnsZoneArmResourceId": str(zone.id)}


@pytest.fixture(scope="module")
def estate(control_emulator: EmulatorHandle) -> Iterator[Estate]:
    team_a, team_b = str(uuid.uuid4()), str(uuid.uuid4())
    control_emulator.add_subscription(team_a, "team a")
    control_emulator.add_subscription(team_b, "team b")
    a, b = control_emulator.clients(team_a), control_emulator.clients(team_b)
    group_a, group_b = unique("rg-audit"), unique("rg-audit")
    a.resources.resource_groups.create_or_update(group_a, {"location": "westeurope"})
    b.resources.resource_groups.create_or_update(group_b, {"location": "westeurope"})
    names = {key: unique(f"pg-{key}") for key in ("compliant", "open", "unmanaged", "private")}
    ids = {
        names["compliant"]: _create(a, group_a, names["compliant"], MANAGED),
        names["open"]: _create(a, group_a, names["open"], MANAGED),
        names["unmanaged"]: _create(b, group_b, names["unmanaged"], {"owner": "data-team"}),
        names["private"]: _create(b, group_b, names["private"], MANAGED, _private_network(b, group_b)),
    }
    _set(a, group_a, names["compliant"], "ssl_min_protocol_version", "TLSv1.3")
    _rule(a, group_a, names["compliant"], "office", "203.0.113.0", "203.0.113.255")
    _set(a, group_a, names["open"], "require_secure_transport", "off")  # and TLSv1.2, the service's default
    _rule(a, group_a, names["open"], "everyone", ZERO, ALL)
    _set(b, group_b, names["unmanaged"], "ssl_min_protocol_version", "TLSv1.3")
    _rule(b, group_b, names["unmanaged"], "AllowAllAzureServices", ZERO, ZERO)
    _set(b, group_b, names["private"], "ssl_min_protocol_version", "TLSv1.3")
    yield Estate(team_a, team_b, ids=ids, **names)


@pytest.fixture
def strict(tmp_path: Path) -> Path:
    """TLS 1.3 at least, and every server managed by pgflex."""
    path = tmp_path / "strict.yaml"
    path.write_text("apiVersion: pgflex/v1\nkind: AuditPolicy\ntls: {minVersion: TLSv1.3}\nmanaged: {required: true}\n")
    return path


def _expected(estate: Estate) -> list[tuple[str, str, str, str, str, str]]:
    """Every finding under the strict policy: server, rule, severity, message, observed, expected."""
    return [
        (estate.open, "PGF001", "error", "require_secure_transport is off", "off", "on"),
        (
            estate.open,
            "PGF002",
            "error",
            "ssl_min_protocol_version is TLSv1.2, below the policy's TLSv1.3",
            "TLSv1.2",
            "TLSv1.3 or higher",
        ),
        (
            estate.open,
            "PGF004",
            "error",
            "firewall rule everyone (0.0.0.0-255.255.255.255) admits every IPv4 address",
            "everyone (0.0.0.0-255.255.255.255)",
            "no rule admitting every IPv4 address",
        ),
        (
            estate.unmanaged,
            "PGF006",
            "warning",
            "firewall rule AllowAllAzureServices (0.0.0.0-0.0.0.0) allows connections from any Azure service",
            "AllowAllAzureServices (0.0.0.0-0.0.0.0)",
            "no 0.0.0.0-0.0.0.0 rule",
        ),
        (
            estate.unmanaged,
            "PGF008",
            "note",
            "not created by pgflex (no managed-by: pgflex tag)",
            "untagged",
            "managed by pgflex",
        ),
    ]


_RULE_NAMES = {
    "PGF001": "insecure-transport",
    "PGF002": "tls-minimum-below-policy",
    "PGF004": "open-to-internet",
    "PGF006": "allows-azure-services",
    "PGF008": "unmanaged",
}


@cache
def _sarif_validator() -> Draft4Validator:
    schema = json.loads(SARIF_SCHEMA.read_text())
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema)


def test_two_subscriptions_every_finding_in_every_output_and_at_most_3_reads_per_server(
    emulator: EmulatorHandle, estate: Estate, strict: Path, tmp_path: Path
) -> None:
    junit, sarif = tmp_path / "audit.xml", tmp_path / "audit.sarif"
    emulator.reset_request_count()
    result = _cli(
        "audit",
        "--subscription",
        estate.team_a,
        "--subscription",
        estate.team_b,
        "--policy",
        str(strict),
        "-o",
        "json",
        "--junit",
        str(junit),
        "--sarif",
        str(sarif),
    )
    assert result.exit_code == 2, result.output
    # Per subscription one list of servers; per public server its parameters and its rules, per private server
    # its parameters alone (it has no firewall): 2 + 3 x 2 + 1 = 9, within 3 per server plus the lists.
    assert emulator.request_count("arm") == 9 <= 3 * 4 + 2
    assert emulator.request_count("arm.writes") == 0

    document = json.loads(result.stdout)
    assert_documented("audit", document)
    expected = _expected(estate)
    assert [
        (f["server"], f["rule"], f["severity"], f["message"], f["observed"], f["expected"])
        for f in document["findings"]
    ] == expected
    assert all(f["serverId"] == estate.id(f["server"]) for f in document["findings"])
    assert [(s["id"], s["displayName"], s["servers"], s["errors"]) for s in document["subscriptions"]] == [
        (estate.team_a, None, 2, 0),
        (estate.team_b, None, 2, 0),
    ]
    servers = {s["name"]: s for s in document["servers"]}
    assert {name: (s["access"], s["managed"], s["sslMinProtocolVersion"]) for name, s in servers.items()} == {
        estate.compliant: ("public", True, "TLSv1.3"),
        estate.open: ("public", True, "TLSv1.2"),
        estate.unmanaged: ("public", False, "TLSv1.3"),
        estate.private: ("private", True, "TLSv1.3"),
    }
    assert servers[estate.private]["firewallRules"] == [] and servers[estate.private]["delegatedSubnetId"]
    assert document["summary"] == {
        "subscriptions": 2,
        "servers": 4,
        "compliant": 2,
        "findings": 5,
        "errors": 0,
        "bySeverity": {"error": 3, "warning": 1, "note": 1},
    }
    assert (document["exitCode"], document["policySource"]) == (2, str(strict))

    suites = ET.parse(junit).getroot()  # noqa: S314 - the file pgflex just wrote in this test
    assert (suites.get("tests"), suites.get("failures"), suites.get("errors")) == ("32", "5", "0")
    failed = {
        (case.get("classname"), case.get("name"), case.find("failure").get("type"))  # type: ignore[union-attr]
        for case in suites.iter("testcase")
        if case.find("failure") is not None
    }
    assert failed == {(f"pgflex.audit.{s}", f"{r} {_RULE_NAMES[r]}", level) for s, r, level, *_ in expected}

    log = json.loads(sarif.read_text())
    errors = sorted(_sarif_validator().iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]
    run = log["runs"][0]
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == [f"PGF00{n}" for n in range(1, 9)]
    assert [(r["locations"][0]["logicalLocations"][0]["name"], r["ruleId"], r["level"]) for r in run["results"]] == [
        (s, r, level) for s, r, level, *_ in expected
    ]
    logical = [r["locations"][0]["logicalLocations"][0] for r in run["results"]]
    assert all(location["fullyQualifiedName"] == estate.id(location["name"]) for location in logical)
    fingerprints = [r["partialFingerprints"]["pgflexFinding/v1"] for r in run["results"]]
    assert len(set(fingerprints)) == 5
    assert run["invocations"][0]["executionSuccessful"] is True


def test_log_lines_name_each_finding_exactly_then_each_compliant_server(
    emulator: EmulatorHandle, estate: Estate, strict: Path
) -> None:
    result = _cli("audit", "--subscription", estate.team_a, "--subscription", estate.team_b, "--policy", str(strict))
    assert result.exit_code == 2, result.output
    lines = result.stdout.splitlines()
    findings = [
        f"{server} {rule}/{_RULE_NAMES[rule]} {severity.upper()} {message}; observed {observed}, expected {wanted}; "
        f"{estate.id(server)}"
        for server, rule, severity, message, observed, wanted in _expected(estate)
    ]
    assert lines[:5] == findings
    assert [line.split(" ", 3)[:3] for line in lines[5:7]] == [
        [estate.compliant, "audit", "PASS"],
        [estate.private, "audit", "PASS"],
    ]
    assert "private, managed, require_secure_transport on, TLSv1.3+, 0 firewall rules" in lines[6]
    assert "public, managed, require_secure_transport on, TLSv1.3+, 1 firewall rule;" in lines[5]
    assert lines[7:] == ["audit: 4 servers in 2 subscriptions: 2 compliant, 5 findings (3 error, 1 warning, 1 note)"]
    # Progress goes to standard error, one time-stamped line per step.
    assert f"subscription {estate.team_a}: audit: done (2 servers, 0 errors)" in result.stderr


def test_a_pipeline_gets_an_annotation_per_finding_and_a_summary_table(
    emulator: EmulatorHandle, estate: Estate, strict: Path, tmp_path: Path
) -> None:
    summary = tmp_path / "summary.md"
    environment = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    result = CliRunner().invoke(
        app, ["audit", "--subscription", estate.team_b, "--policy", str(strict)], env=environment
    )
    assert result.exit_code == 2, result.output
    annotations = [line for line in result.stdout.splitlines() if line.startswith("::")]
    assert annotations == [
        f"::warning title=pgflex audit::{estate.unmanaged} PGF006/allows-azure-services: firewall rule "
        "AllowAllAzureServices (0.0.0.0-0.0.0.0) allows connections from any Azure service; observed "
        "AllowAllAzureServices (0.0.0.0-0.0.0.0), expected no 0.0.0.0-0.0.0.0 rule",
        f"::notice title=pgflex audit::{estate.unmanaged} PGF008/unmanaged: not created by pgflex (no managed-by: "
        "pgflex tag); observed untagged, expected managed by pgflex",
    ]
    table = summary.read_text()
    assert f"| {estate.unmanaged} | {estate.team_b} | PGF006/allows-azure-services | warning |" in table
    assert "**2 servers in 1 subscription: 1 compliant, 2 findings (1 warning, 1 note)**" in table


def test_the_schema_command_prints_the_audit_schema() -> None:
    printed = _cli("schema", "--output", "audit")
    assert printed.exit_code == 0 and json.loads(printed.stdout)["$id"] == "urn:pgflex:output:audit:1"


def test_the_table_shows_each_finding_with_what_was_observed_and_expected(estate: Estate, strict: Path) -> None:
    report = api.audit([estate.team_a, estate.team_b], policy=strict)
    buffer = io.StringIO()
    render_audit(report, Console(file=buffer, width=400, color_system=None))
    rows = [" ".join(line.replace("│", " ").split()) for line in buffer.getvalue().splitlines()]
    for server, rule, severity, message, observed, wanted in _expected(estate):
        row = f"{server} {report.subscriptions[0 if server == estate.open else 1].id} {rule}/{_RULE_NAMES[rule]} "
        assert f"{row}{severity} {message} {observed} {wanted}" in rows, (row, rows)
    assert rows[-1] == "audit: 4 servers in 2 subscriptions: 2 compliant, 5 findings (3 error, 1 warning, 1 note)"


def test_the_default_policy_and_the_exit_codes(emulator: EmulatorHandle, estate: Estate, tmp_path: Path) -> None:
    defaults = api.audit([estate.team_a, estate.team_b])
    assert [(f.server.name, f.rule) for f in defaults.findings] == [
        (estate.open, "PGF001"),
        (estate.open, "PGF004"),
        (estate.unmanaged, "PGF006"),
    ]
    assert defaults.exit_code == 2 and defaults.policy_source == "pgflex defaults"
    # The library's promise: a result's attributes are named like its document's keys, nested ones too.
    for result in (defaults, defaults.subscriptions[0], defaults.servers[0], defaults.findings[0]):
        keys = set(result.to_dict()) - {"kind", "formatVersion"}
        assert [key for key in keys if not hasattr(result, re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower())] == []

    allowing = tmp_path / "allowing.yaml"
    allowing.write_text("apiVersion: pgflex/v1\nkind: AuditPolicy\nnetwork:\n  allowAzureServices: true\n")
    compliant = _cli("audit", "--subscription", estate.team_b, "--policy", str(allowing))
    assert compliant.exit_code == 0, compliant.output
    assert compliant.stdout.splitlines()[-1] == "audit: 2 servers in 1 subscription: 2 compliant, 0 findings"

    missing = str(uuid.uuid4())
    emulator.reset_request_count()
    failed = _cli("audit", "--subscription", estate.team_a, "--subscription", missing, "-o", "json")
    assert failed.exit_code == 1, failed.output
    document = json.loads(failed.stdout)
    assert_documented("audit", document)
    assert [e["scope"] for e in document["errors"]] == [f"subscription {missing}"]
    assert "SubscriptionNotFound" in document["errors"][0]["message"]
    assert document["summary"]["findings"] == 2  # what could be read is still judged and reported
    assert emulator.request_count("arm") == 2 + 2 * 2


def test_without_subscriptions_every_one_the_identity_lists_is_audited(
    emulator: EmulatorHandle, estate: Estate
) -> None:
    report = api.audit()
    listed = {s.id: s for s in report.subscriptions}
    assert (listed[estate.team_a].display_name, listed[estate.team_b].display_name) == ("team a", "team b")
    audited = {server.name for server in report.servers}
    assert {estate.compliant, estate.open, estate.unmanaged, estate.private} <= audited
    assert {(f.server.name, f.rule) for f in report.findings} >= {
        (estate.open, "PGF001"),
        (estate.open, "PGF004"),
        (estate.unmanaged, "PGF006"),
    }
