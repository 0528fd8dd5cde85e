"""Judging one server's posture against a policy: the rules, each with a stable id, and the findings they make.

Rule ids (PGF001...) never change meaning: dashboards and suppressions key on them. Firewall rules are judged
only while public network access is enabled: with it disabled (or on a VNet-integrated server) no rule admits
anyone, and the posture still lists them.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from pgflex.spec.constants import AZURE_SERVICES_IP, TLS_VERSIONS
from pgflex.spec.rules import ALL_IPV4, covers_every_ipv4

from .collect import FirewallRange, ServerPosture
from .policy import AuditPolicy, RuleId, Severity

IPv4Range = tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]


@dataclass(frozen=True)
class Rule:
    id: RuleId
    name: str
    summary: str  # one line: what a finding of it means
    help: str  # why it matters and what to do
    default_severity: Severity
    security_severity: str  # 0.0-10.0, how code-scanning dashboards rank it (GitHub's security-severity)


RULES: dict[RuleId, Rule] = {
    rule.id: rule
    for rule in (
        Rule(
            "PGF001",
            "insecure-transport",
            "require_secure_transport is off: clients may connect without TLS",
            "Set require_secure_transport to on (pgflex: tls.requireSecureTransport true).",
            "error",
            "8.0",
        ),
        Rule(
            "PGF002",
            "tls-minimum-below-policy",
            "ssl_min_protocol_version is below the policy's minimum TLS version",
            "Raise ssl_min_protocol_version (pgflex: tls.minVersion); TLS 1.0 and 1.1 are deprecated (RFC 8996).",
            "error",
            "7.5",
        ),
        Rule(
            "PGF003",
            "tls-maximum-below-policy",
            "ssl_max_protocol_version caps TLS below what the policy allows",
            "Clear ssl_max_protocol_version or raise it (pgflex: tls.maxVersion null).",
            "warning",
            "5.0",
        ),
        Rule(
            "PGF004",
            "open-to-internet",
            "firewall rules admit every IPv4 address",
            "Replace the rule with the clients' own ranges, or make the server private.",
            "error",
            "9.0",
        ),
        Rule(
            "PGF005",
            "wide-firewall-rule",
            "a firewall rule admits more addresses than the policy's widest rule",
            "Narrow the rule to the clients' own ranges.",
            "warning",
            "6.0",
        ),
        Rule(
            "PGF006",
            "allows-azure-services",
            'the "allow Azure services" rule (0.0.0.0-0.0.0.0) lets any Azure service, of any tenant, connect',
            "Delete the 0.0.0.0-0.0.0.0 rule and admit the services' own addresses, or use private access.",
            "warning",
            "6.5",
        ),
        Rule(
            "PGF007",
            "public-network-access",
            "public network access is enabled where the policy denies it",
            "Disable public network access and reach the server privately (VNet integration or a private endpoint).",
            "warning",
            "5.5",
        ),
        Rule(
            "PGF008",
            "unmanaged",
            "the server is not managed by pgflex",
            "Adopt it (pgflex import) and apply its env file, so drift is found and repaired.",
            "note",
            "2.0",
        ),
    )
}


@dataclass(frozen=True)
class Finding:
    """One server breaking one rule of the policy, with what was seen and what the policy expects."""

    rule: RuleId
    severity: Severity
    server: ServerPosture
    message: str
    observed: str
    expected: str
    subject: str = ""  # what on the server it is about, when not the server itself: a firewall rule's name

    @property
    def rule_name(self) -> str:
        return RULES[self.rule].name

    @property
    def server_id(self) -> str:
        return self.server.id

    @property
    def subscription(self) -> str:
        return self.server.subscription

    @property
    def resource_group(self) -> str:
        return self.server.resource_group

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "ruleName": self.rule_name,
            "severity": self.severity,
            "server": self.server.name,
            "serverId": self.server_id,
            "subscription": self.subscription,
            "resourceGroup": self.resource_group,
            "subject": self.subject or None,
            "message": self.message,
            "observed": self.observed,
            "expected": self.expected,
        }


def severity_of(rule: RuleId, policy: AuditPolicy) -> Severity:
    return policy.severity.get(rule, RULES[rule].default_severity)


def judge(server: ServerPosture, policy: AuditPolicy) -> list[Finding]:
    """Every finding of ``server`` under ``policy``, in rule order."""
    found: list[_Found] = [*_tls(server, policy), *_network(server, policy)]
    if policy.managed.required and not server.managed:
        found.append(
            _Found("PGF008", "not created by pgflex (no managed-by: pgflex tag)", "untagged", "managed by pgflex")
        )
    return [
        Finding(
            item.rule, severity_of(item.rule, policy), server, item.message, item.observed, item.expected, item.subject
        )
        for item in sorted(found, key=lambda item: item.rule)
    ]


@dataclass(frozen=True)
class _Found:
    rule: RuleId
    message: str
    observed: str
    expected: str
    subject: str = ""


def _rank(version: str | None) -> int | None:
    """The version's place in TLS_VERSIONS; None for anything else (empty, unknown, not reported)."""
    return next((rank for rank, known in enumerate(TLS_VERSIONS) if known == version), None)


def _shown(value: str | None) -> str:
    return "not reported" if value is None else value or "empty"


def _tls(server: ServerPosture, policy: AuditPolicy) -> list[_Found]:
    found: list[_Found] = []
    expected = policy.tls
    secure = server.require_secure_transport
    if expected.require_secure_transport and (secure or "").lower() != "on":
        found.append(_Found("PGF001", f"require_secure_transport is {_shown(secure)}", _shown(secure), "on"))
    minimum = server.ssl_min_protocol_version
    lowest = _rank(minimum)
    if lowest is None or lowest < TLS_VERSIONS.index(expected.min_version):  # unknown: not proven, a finding
        message = f"ssl_min_protocol_version is {_shown(minimum)}, below the policy's {expected.min_version}"
        found.append(_Found("PGF002", message, _shown(minimum), f"{expected.min_version} or higher"))
    maximum = server.ssl_max_protocol_version
    cap, highest = expected.lowest_cap, _rank(maximum)
    if maximum and (highest is None or highest < TLS_VERSIONS.index(cap)):
        message = f"ssl_max_protocol_version caps TLS at {maximum}, below {cap}"
        found.append(_Found("PGF003", message, maximum, f"no maximum, or {cap} or higher"))
    return found


def _network(server: ServerPosture, policy: AuditPolicy) -> list[_Found]:
    if server.access != "public":
        return []
    expected = policy.network
    found: list[_Found] = []
    if expected.public_network_access == "denied":
        found.append(_Found("PGF007", "public network access is enabled", "Enabled", "Disabled"))
    ranges: list[IPv4Range] = []
    for rule in server.firewall_rules:
        parsed = _range(rule)
        if parsed is None:
            continue  # not an IPv4 range: nothing the service would admit through it
        shown = f"{rule.name} ({rule.start}-{rule.end})"
        if rule.start == AZURE_SERVICES_IP and rule.end == AZURE_SERVICES_IP:
            if not expected.allow_azure_services:
                message = f"firewall rule {shown} allows connections from any Azure service"
                found.append(_Found("PGF006", message, shown, "no 0.0.0.0-0.0.0.0 rule", rule.name))
            continue
        ranges.append(parsed)
        if parsed == ALL_IPV4:
            message = f"firewall rule {shown} admits every IPv4 address"
            found.append(_Found("PGF004", message, shown, "no rule admitting every IPv4 address", rule.name))
        elif expected.widest_rule_prefix is not None:
            size = int(parsed[1]) - int(parsed[0]) + 1
            widest = 2 ** (32 - expected.widest_rule_prefix)
            if size > widest:
                message = f"firewall rule {shown} admits {size:,} addresses, more than a /{expected.widest_rule_prefix}"
                found.append(_Found("PGF005", message, shown, f"at most {widest:,} addresses per rule", rule.name))
    if ALL_IPV4 not in ranges and ranges and covers_every_ipv4(ranges):
        shown = ", ".join(f"{r.name} ({r.start}-{r.end})" for r in server.firewall_rules)
        message = "together the firewall rules admit every IPv4 address"
        names = ",".join(r.name for r in server.firewall_rules)
        found.append(_Found("PGF004", message, shown, "no rules admitting every IPv4 address together", names))
    return found


def _range(rule: FirewallRange) -> IPv4Range | None:
    try:
        first, last = ipaddress.IPv4Address(rule.start), ipaddress.IPv4Address(rule.end)
    except ValueError:
        return None
    return (first, last) if first <= last else None
