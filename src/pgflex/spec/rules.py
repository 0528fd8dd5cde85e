"""Cross-field and policy checks, run on servers whose defaults are already merged in (the server settings'
own combinations are in pgflex.spec.settings_rules).

Checks report `Finding`s located by key path (YAML keys, list indexes); the loader turns paths into
file positions. Policy violations are waived by a matching `exceptions` entry, and each waiver is
recorded as an `AppliedException` so plans can show it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field

from pgflex.spec.checks import normalise_parameter, parse_ipv4, parse_ipv4_network
from pgflex.spec.constants import (
    AZURE_SERVICES_IP,
    MIN_SAFE_TLS,
    POSTGRES_DNS_SUFFIX,
    TLS_VERSIONS,
    PolicyRule,
    TlsVersion,
)
from pgflex.spec.document import (
    EnvironmentSpec,
    FirewallRuleSpec,
    PrivateAccessSpec,
    PublicAccessSpec,
    ServerSpec,
    TlsSpec,
)
from pgflex.spec.findings import Finding as Finding  # re-exported: other layers import them from here
from pgflex.spec.findings import Loc as Loc
from pgflex.spec.model import AppliedException
from pgflex.spec.parameter_catalogue import shipped_catalogue
from pgflex.spec.settings_rules import settings_findings

ALL_IPV4 = (ipaddress.IPv4Address("0.0.0.0"), ipaddress.IPv4Address("255.255.255.255"))  # noqa: S104


@dataclass
class ServerVerdict:
    findings: list[Finding] = field(default_factory=list)
    applied: list[AppliedException] = field(default_factory=list)


def check_unique_server_names(names: Sequence[tuple[int, str]]) -> list[Finding]:
    """Server names are global DNS names; two entries with one name would fight over one server."""
    findings: list[Finding] = []
    first_index: dict[str, int] = {}
    for index, name in names:
        if name in first_index:
            findings.append(
                Finding(
                    ("servers", index, "name"),
                    f"duplicate server name {name!r} (already used by servers[{first_index[name]}])",
                )
            )
        else:
            first_index[name] = index
    return findings


def check_server(
    index: int,
    server: ServerSpec,
    environment: EnvironmentSpec,
    server_names: Sequence[str],
    *,
    check_parameters: bool = True,
) -> ServerVerdict:
    """Every cross-field and policy check for one (merged) server; the catalogue's parameter checks unless
    ``check_parameters`` is off (the caller runs `check_parameters` itself)."""
    base: Loc = ("servers", index)
    verdict = ServerVerdict()
    verdict.findings += _required_settings(base, server)
    verdict.findings += _authentication(base, server)
    verdict.findings += settings_findings(base, server)
    verdict.findings += _duplicate_exceptions(base, server)
    if check_parameters:
        verdict.findings += parameter_findings(index, server)
    _tls(base, server, environment, verdict)
    access = server.access
    if access.public is not None:
        _firewall((*base, "access", "public"), access.public, server, verdict)
    if access.private is not None:
        verdict.findings += _private_dns_zone((*base, "access", "private"), access.private, environment, server_names)
    return verdict


def _required_settings(base: Loc, server: ServerSpec) -> list[Finding]:
    # These may come from `defaults`, so the document model cannot mark them required.
    required = {"version": server.version, "sku": server.sku, "storage": server.storage}
    return [
        Finding(base, f"missing required key {key!r} (set it on the server or under defaults)", at_key=True)
        for key, value in required.items()
        if value is None
    ]


def _authentication(base: Loc, server: ServerSpec) -> list[Finding]:
    auth = server.authentication
    password_auth = auth is None or auth.password
    if auth is not None and not auth.password and auth.entra is None:
        return [Finding((*base, "authentication"), "enable password or entra authentication (or both)")]
    if password_auth and server.administrator is None:
        return [Finding(base, "missing required key 'administrator' (password authentication needs it)", at_key=True)]
    if not password_auth and server.administrator is not None:
        return [
            Finding(
                (*base, "administrator"),
                "an administrator login is only used with password authentication; "
                "remove it or set authentication.password: true",
                at_key=True,
            )
        ]
    return []


def parameter_findings(index: int, server: ServerSpec) -> list[Finding]:
    # Against the catalogue pgflex ships: refused here, before any Azure call, rather than by the service
    # after other servers have changed (plan checks each live server's own list too).
    findings = []
    for name, value in sorted((server.parameters or {}).items()):
        problem = shipped_catalogue().problem(name, normalise_parameter(name, value))
        if problem is not None:
            findings.append(Finding(("servers", index, "parameters", name), problem))
    return findings


def _duplicate_exceptions(base: Loc, server: ServerSpec) -> list[Finding]:
    seen: set[str] = set()
    findings: list[Finding] = []
    for position, exception in enumerate(server.exceptions):
        if exception.rule in seen:
            findings.append(
                Finding((*base, "exceptions", position, "rule"), f"duplicate exception for rule {exception.rule}")
            )
        seen.add(exception.rule)
    return findings


def _waive_or_refuse(
    rule: PolicyRule, loc: Loc, problem: str, waived: str, server: ServerSpec, verdict: ServerVerdict
) -> bool:
    """Record a waiver when the server has an exception for `rule`, else a finding. True when waived."""
    for exception in server.exceptions:
        if exception.rule == rule:
            verdict.applied.append(AppliedException(rule=rule, reason=exception.reason, waived=waived))
            return True
    verdict.findings.append(
        Finding(
            loc,
            f"{problem}; fix it or add an exception {{rule: {rule}, reason: ...}} to server {server.name!r}",
        )
    )
    return False


def _tls_rank(version: TlsVersion) -> int:
    return TLS_VERSIONS.index(version)


def check_tls(base: Loc, server: ServerSpec, environment: EnvironmentSpec, verdict: ServerVerdict) -> None:
    """The TLS checks alone, for a server whose TLS policy changed after loading (pgflex.spec.derive)."""
    _tls(base, server, environment, verdict)


def _tls(base: Loc, server: ServerSpec, environment: EnvironmentSpec, verdict: ServerVerdict) -> None:
    tls = server.tls or TlsSpec()
    tls_loc = (*base, "tls")
    min_loc = (*tls_loc, "minVersion")
    if tls.max_version is not None and _tls_rank(tls.min_version) > _tls_rank(tls.max_version):
        verdict.findings.append(Finding(min_loc, f"minVersion {tls.min_version} is above maxVersion {tls.max_version}"))
    if not tls.require_secure_transport:
        _waive_or_refuse(
            "insecure-transport",
            (*tls_loc, "requireSecureTransport"),
            "requireSecureTransport: false lets clients connect without TLS",
            "requireSecureTransport false",
            server,
            verdict,
        )
    if _tls_rank(tls.min_version) < _tls_rank(MIN_SAFE_TLS):
        waived = _waive_or_refuse(
            "tls-below-1.2",
            min_loc,
            f"minVersion {tls.min_version} is below TLSv1.2 (RFC 8996 deprecates TLS 1.0 and 1.1)",
            f"minVersion {tls.min_version}",
            server,
            verdict,
        )
        if waived and environment.cloud != "local":
            verdict.findings.append(
                Finding(
                    min_loc,
                    f"Azure accepts only TLSv1.2 or TLSv1.3 as minVersion; {tls.min_version} "
                    "is possible only with cloud: local (the emulator)",
                )
            )
    if (
        tls.max_version is not None
        and _tls_rank(tls.max_version) < _tls_rank(MIN_SAFE_TLS)
        and environment.cloud != "local"
    ):
        verdict.findings.append(
            Finding((*tls_loc, "maxVersion"), "Azure accepts only TLSv1.2, TLSv1.3 or null as maxVersion")
        )


def _rule_range(rule: FirewallRuleSpec) -> tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]:
    if rule.cidr is not None:
        network = parse_ipv4_network(rule.cidr)
        return network.network_address, network.broadcast_address
    return parse_ipv4(rule.start or ""), parse_ipv4(rule.end or "")


def _is_azure_services_marker(first: ipaddress.IPv4Address, last: ipaddress.IPv4Address) -> bool:
    # 0.0.0.0-0.0.0.0 is Azure's switch for "allow Azure services", not an address range.
    return str(first) == AZURE_SERVICES_IP and str(last) == AZURE_SERVICES_IP


def covers_every_ipv4(ranges: list[tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]]) -> bool:
    """Whether the (first, last) ranges together admit every IPv4 address (the spec, the audit, import)."""
    reach = ALL_IPV4[0]
    for first, last in sorted(ranges):
        if int(first) > int(reach):
            return False
        if last >= ALL_IPV4[1]:
            return True
        reach = max(reach, last + 1)
    return False


def _firewall(loc: Loc, public: PublicAccessSpec, server: ServerSpec, verdict: ServerVerdict) -> None:
    rules_loc = (*loc, "firewallRules")
    names: dict[str, int] = {}
    ranges: list[tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]] = []
    kept: list[tuple[int, FirewallRuleSpec, ipaddress.IPv4Address, ipaddress.IPv4Address]] = []
    whole_internet_rule = False
    for position, rule in enumerate(public.firewall_rules):
        rule_loc = (*rules_loc, position)
        key = rule.name.lower()  # Azure resource names are case-insensitive
        if key in names:
            verdict.findings.append(
                Finding(
                    (*rule_loc, "name"),
                    f"duplicate firewall rule name {rule.name!r} (see firewallRules[{names[key]}])",
                )
            )
        names.setdefault(key, position)
        first, last = _rule_range(rule)
        if _is_azure_services_marker(first, last):
            continue
        if (first, last) == ALL_IPV4:
            whole_internet_rule = True
            _waive_or_refuse(
                "open-to-internet",
                rule_loc,
                f"firewall rule {rule.name!r} admits every IPv4 address",
                f"firewall rule {rule.name} ({first}-{last})",
                server,
                verdict,
            )
            continue
        for other_position, other, other_first, other_last in kept:
            if first <= other_last and other_first <= last:
                verdict.findings.append(
                    Finding(
                        rule_loc,
                        f"firewall rule {rule.name!r} ({first}-{last}) overlaps rule {other.name!r} "
                        f"({other_first}-{other_last}, firewallRules[{other_position}]); "
                        "merge or narrow them",
                        at_key=True,
                    )
                )
                break
        kept.append((position, rule, first, last))
        ranges.append((first, last))
    if not whole_internet_rule and ranges and covers_every_ipv4(ranges):
        _waive_or_refuse(
            "open-to-internet",
            rules_loc,
            "together these firewall rules admit every IPv4 address",
            "firewall rules covering 0.0.0.0-255.255.255.255",
            server,
            verdict,
        )


def _private_dns_zone(
    loc: Loc, private: PrivateAccessSpec, environment: EnvironmentSpec, server_names: Sequence[str]
) -> list[Finding]:
    zone = private.private_dns_zone
    zone_loc = loc + ("privateDnsZone",) + (("create", "name") if zone.create is not None else ("id",))
    suffix = POSTGRES_DNS_SUFFIX[environment.cloud]
    name = zone.zone_name
    if not name.endswith("." + suffix):
        return [Finding(zone_loc, f"private DNS zone {name!r} must end in .{suffix}")]
    clashing = [server for server in server_names if name == f"{server}.{suffix}"]
    if clashing:
        return [
            Finding(
                zone_loc,
                f"private DNS zone {name!r} equals the host name of server {clashing[0]!r}; "
                f"choose another name such as {clashing[0]}.private.{suffix}",
            )
        ]
    return []
