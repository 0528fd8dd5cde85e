"""The audit policy and its rules, without Azure: the defaults are pgflex's own, a policy file is validated with
file, line and key before any request, and each rule judges the posture it is about (and nothing else)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pgflex.audit.collect import FirewallRange, ServerPosture
from pgflex.audit.findings import RULES, judge
from pgflex.audit.policy import RULE_IDS, AuditPolicy, load_policy
from pgflex.cli.main import app
from pgflex.spec.constants import AZURE_SERVICES_IP, MIN_SAFE_TLS
from pgflex.spec.document import TlsSpec
from pgflex.spec.errors import SpecError
from support.emulator import EmulatorHandle

ROOT = Path(__file__).resolve().parents[2]
SERVER_ID = "/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-a"
ZERO, ALL = AZURE_SERVICES_IP, "255.255.255.255"
SUBSCRIPTION = "11111111-2222-3333-4444-555555555555"


def _cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def _server(**changes: Any) -> ServerPosture:
    """A public, managed server that complies with pgflex's defaults; ``changes`` make it not."""
    compliant = ServerPosture(
        id=SERVER_ID.format(sub=SUBSCRIPTION),
        name="pg-a",
        subscription=SUBSCRIPTION,
        resource_group="rg",
        location="westeurope",
        state="Ready",
        managed=True,
        public_network_access="Enabled",
        delegated_subnet_id=None,
        require_secure_transport="on",
        ssl_min_protocol_version="TLSv1.2",
        ssl_max_protocol_version="",
        firewall_rules=(FirewallRange("office", "203.0.113.0", "203.0.113.255"),),
    )
    return dataclasses.replace(compliant, **changes)


def _rules(server: ServerPosture, policy: AuditPolicy | None = None) -> list[str]:
    return [finding.rule for finding in judge(server, policy or AuditPolicy())]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return path


def test_the_default_policy_is_what_pgflex_enforces() -> None:
    policy = AuditPolicy()
    assert policy.tls.require_secure_transport is TlsSpec().require_secure_transport is True
    assert policy.tls.min_version == MIN_SAFE_TLS == TlsSpec().min_version == "TLSv1.2"
    assert policy.tls.lowest_cap == "TLSv1.2"
    assert (policy.network.public_network_access, policy.network.allow_azure_services) == ("allowed", False)
    assert policy.network.widest_rule_prefix is None and policy.managed.required is False
    assert tuple(RULES) == RULE_IDS and len({rule.name for rule in RULES.values()}) == len(RULES)


def test_the_shipped_example_policy_loads(tmp_path: Path) -> None:
    policy = load_policy(ROOT / "infra" / "audit-policy.yaml")
    assert policy.tls.min_version == "TLSv1.3" and policy.network.widest_rule_prefix == 16


def test_each_rule_judges_its_own_posture() -> None:
    assert _rules(_server()) == []
    assert _rules(_server(require_secure_transport="off")) == ["PGF001"]
    assert _rules(_server(require_secure_transport=None)) == ["PGF001"]  # not reported: not proven
    assert _rules(_server(ssl_min_protocol_version="TLSv1.1")) == ["PGF002"]
    assert _rules(_server(ssl_min_protocol_version="SSLv3")) == ["PGF002"]  # unknown: not proven
    assert _rules(_server(ssl_max_protocol_version="TLSv1.1")) == ["PGF003"]  # capped below the policy's minimum
    assert _rules(_server(ssl_max_protocol_version="TLSv1.2")) == []  # a cap at the policy's minimum is fine
    everyone = FirewallRange("everyone", ZERO, ALL)
    assert _rules(_server(firewall_rules=(everyone,))) == ["PGF004"]
    halves = (FirewallRange("low", ZERO, "127.255.255.255"), FirewallRange("high", "128.0.0.0", ALL))
    together = judge(_server(firewall_rules=halves), AuditPolicy())
    assert [(f.rule, f.subject) for f in together] == [("PGF004", "low,high")]
    azure = FirewallRange("AllowAllAzureServices", ZERO, ZERO)
    assert _rules(_server(firewall_rules=(azure,))) == ["PGF006"]
    assert _rules(_server(managed=False)) == []


def test_the_policy_sets_what_is_expected_and_how_severe_it_is() -> None:
    policy = AuditPolicy.model_validate(
        {
            "tls": {"minVersion": "1.3", "lowestMaxVersion": "TLSv1.3"},
            "network": {"publicNetworkAccess": "denied", "allowAzureServices": True, "widestRulePrefix": 24},
            "managed": {"required": True},
            "severity": {"PGF007": "error"},
        }
    )
    wide = FirewallRange("campus", "10.0.0.0", "10.0.1.255")  # a /23: twice a /24
    azure = FirewallRange("AllowAllAzureServices", ZERO, ZERO)
    server = _server(managed=False, ssl_max_protocol_version="TLSv1.2", firewall_rules=(wide, azure))
    found = judge(server, policy)
    assert [(f.rule, f.severity) for f in found] == [
        ("PGF002", "error"),
        ("PGF003", "warning"),
        ("PGF005", "warning"),
        ("PGF007", "error"),
        ("PGF008", "note"),
    ]
    assert (found[2].observed, found[2].expected) == ("campus (10.0.0.0-10.0.1.255)", "at most 256 addresses per rule")


def test_firewall_rules_count_only_while_public_network_access_is_enabled() -> None:
    everyone = (FirewallRange("everyone", ZERO, ALL),)
    denied = AuditPolicy.model_validate({"network": {"publicNetworkAccess": "denied"}})
    assert _rules(_server(public_network_access="Disabled", firewall_rules=everyone), denied) == []
    private = _server(public_network_access="Disabled", delegated_subnet_id="/subscriptions/x/subnets/db")
    assert private.access == "private" and _rules(private, denied) == []


BAD_POLICIES = [
    ("apiVersion: pgflex/v1\nkind: AuditPolicy\ntls:\n  minVersoin: TLSv1.3\n", "4:3: tls.minVersoin: unknown key"),
    ("apiVersion: pgflex/v1\nkind: AuditPolicy\ntls:\n  minVersion: TLSv9\n", "4:15: tls.minVersion: unknown TLS"),
    ("apiVersion: pgflex/v1\nkind: AuditPolicy\nseverity:\n  PGF099: note\n", "4:3: severity.PGF099: unknown rule"),
    ("apiVersion: pgflex/v1\nkind: AuditPolicy\nnetwork: {widestRulePrefix: 40}\n", "3:29: network.widestRulePrefix"),
    ("apiVersion: pgflex/v1\nkind: Environment\n", "2:7: kind: expected 'AuditPolicy'"),
    ("kind: AuditPolicy\n", "1:1: missing required key 'apiVersion'"),
    ("apiVersion: pgflex/v1\nkind: AuditPolicy\ntls: [\n", "4:1: YAML syntax error"),
]


@pytest.mark.parametrize(("text", "expected"), BAD_POLICIES)
def test_a_bad_policy_file_is_one_located_line_and_exit_1_before_any_request(
    emulator: EmulatorHandle, tmp_path: Path, text: str, expected: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(SpecError):
        load_policy(path)
    emulator.reset_request_count()
    result = _cli("audit", "--policy", str(path))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"pgflex: {path}:{expected}"), result.stderr
    assert "Traceback" not in result.output
    assert emulator.request_count("arm") == 0 and emulator.request_count("identity") == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--subscription", "not-a-guid"], "pgflex: --subscription: subscription 'not-a-guid' is not a UUID"),
        (["--cloud", "AzureMoon"], "pgflex: --cloud 'AzureMoon': choose one of local, AzureCloud"),
        (["--policy", "/nonexistent/policy.yaml"], "pgflex: /nonexistent/policy.yaml:1:1: cannot read the file"),
    ],
)
def test_bad_arguments_are_refused_before_any_request(emulator: EmulatorHandle, args: list[str], message: str) -> None:
    emulator.reset_request_count()
    result = _cli("audit", *args)
    assert result.exit_code == 1 and result.stderr.startswith(message), result.stderr
    assert emulator.request_count("arm") == 0
