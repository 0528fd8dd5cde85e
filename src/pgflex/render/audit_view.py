"""``pgflex audit`` for people, logs and pipelines: tables, one line per result, JUnit, annotations, a summary.

A log line is ``render.log_line.result_line``: ``SERVER RULE/NAME SEVERITY message; observed ..., expected ...;
server id`` per finding, ``SERVER audit PASS compliant ...`` per compliant server, ``SCOPE audit ERROR message``
per read that failed, then the verdict.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from .ci import Annotation, Level, markdown_table
from .log_line import result_line

if TYPE_CHECKING:
    from rich.console import Console

    from pgflex.audit.collect import ServerPosture
    from pgflex.audit.findings import Finding
    from pgflex.audit.report import AuditReport

STYLES = {"error": "bold red", "warning": "yellow", "note": "cyan"}
LEVELS: dict[str, Level] = {"error": "error", "warning": "warning", "note": "notice"}


def check_name(finding: Finding) -> str:
    return f"{finding.rule}/{finding.rule_name}"


def finding_detail(finding: Finding) -> str:
    return f"{finding.message}; observed {finding.observed}, expected {finding.expected}"


def tls_text(server: ServerPosture) -> str:
    """ "require_secure_transport on, TLSv1.2-TLSv1.3" or "... TLSv1.2+" (no maximum)."""
    secure = server.require_secure_transport or "?"
    minimum = server.ssl_min_protocol_version or "?"
    maximum = server.ssl_max_protocol_version
    window = f"{minimum}-{maximum}" if maximum else f"{minimum}+"
    return f"require_secure_transport {secure}, {window}"


def posture_text(server: ServerPosture) -> str:
    managed = "managed" if server.managed else "unmanaged"
    rules = len(server.firewall_rules)
    return f"{server.access}, {managed}, {tls_text(server)}, {rules} firewall rule{'' if rules == 1 else 's'}"


def summary_line(report: AuditReport) -> str:
    return f"audit: {report.verdict}"


def audit_lines(report: AuditReport) -> list[str]:
    lines = [
        result_line(f.server.name, check_name(f), f.severity, f"{finding_detail(f)}; {f.server.id}")
        for f in report.findings
    ]
    lines += [result_line(s.name, "audit", "pass", f"compliant: {posture_text(s)}; {s.id}") for s in report.compliant]
    lines += [result_line(error.scope, "audit", "error", error.message) for error in report.errors]
    return [*lines, summary_line(report)]


def render_audit(report: AuditReport, console: Console) -> None:
    from rich.table import Table
    from rich.text import Text

    console.print(Text(f"pgflex audit ({report.cloud}) against {report.policy_source}", "bold"))
    if report.findings:
        findings = Table(title="Findings")
        for column in ("Server", "Subscription", "Rule", "Severity"):
            findings.add_column(column, no_wrap=True)
        for column in ("Finding", "Observed", "Expected"):
            findings.add_column(column)
        for finding in report.findings:
            findings.add_row(
                finding.server.name,
                finding.server.subscription,
                check_name(finding),
                Text(finding.severity, STYLES[finding.severity]),
                finding.message,
                finding.observed,
                finding.expected,
            )
        console.print(findings)
    if report.servers:
        servers = Table(title="Servers")
        for column in ("Server", "Subscription", "Resource group", "Managed", "Access", "TLS", "Rules", "Findings"):
            servers.add_column(column, no_wrap=column in ("Server", "Subscription", "Resource group"))
        for server in report.servers:
            count = len(report.findings_by_server[server.id])
            servers.add_row(
                server.name,
                server.subscription,
                server.resource_group,
                "yes" if server.managed else "no",
                server.access,
                tls_text(server),
                str(len(server.firewall_rules)),
                Text(str(count), "bold red" if count else "green"),
            )
        console.print(servers)
    for error in report.errors:
        console.print(Text(f"error: {error.scope}: {error.message}", "bold red"))
    style = "bold red" if report.errors or report.findings else "bold green"
    console.print(Text(summary_line(report), style))


def to_junit(report: AuditReport) -> str:
    """One testsuite per subscription, one testcase per server and rule: a finding fails it, a read that failed
    is an error."""
    from pgflex.audit.findings import RULES

    root = ET.Element("testsuites", name="pgflex audit", time=f"{report.seconds:.3f}")
    for subscription in report.subscriptions:
        suite = ET.SubElement(root, "testsuite", name=f"pgflex.audit.{subscription.id}")
        suite.set("time", f"{subscription.seconds:.3f}")
        for server in subscription.servers:
            found = report.findings_by_server[server.id]
            for rule in RULES.values():
                case = ET.SubElement(suite, "testcase", classname=f"pgflex.audit.{server.name}", time="0")
                case.set("name", f"{rule.id} {rule.name}")
                broken = [f for f in found if f.rule == rule.id]
                if broken:
                    text = "\n".join(finding_detail(f) for f in broken)
                    ET.SubElement(case, "failure", message=text.splitlines()[0], type=broken[0].severity).text = text
        for error in subscription.errors:
            case = ET.SubElement(suite, "testcase", classname=f"pgflex.audit.{error.scope}", name="read", time="0")
            ET.SubElement(case, "error", message=error.message, type="error").text = error.message
    for element in (*root, root):  # each suite's counts, then the totals
        cases = list(element.iter("testcase"))
        element.set("tests", str(len(cases)))
        element.set("failures", str(sum(case.find("failure") is not None for case in cases)))
        element.set("errors", str(sum(case.find("error") is not None for case in cases)))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def audit_annotations(report: AuditReport) -> list[Annotation]:
    found = [
        Annotation(LEVELS[f.severity], f"{f.server.name} {check_name(f)}: {finding_detail(f)}", "pgflex audit")
        for f in report.findings
    ]
    return found + [Annotation("error", f"{e.scope}: {e.message}", "pgflex audit") for e in report.errors]


def audit_summary_markdown(report: AuditReport) -> str:
    heading = f"### pgflex audit ({report.cloud}) against {report.policy_source}\n\n"
    rows = [
        [f.server.name, f.server.subscription, check_name(f), f.severity, f.message, f.observed, f.expected]
        for f in report.findings
    ]
    header = ["Server", "Subscription", "Rule", "Severity", "Finding", "Observed", "Expected"]
    table = markdown_table(header, rows) if rows else ""
    return heading + table + f"\n**{report.verdict}**\n"
