"""Views of ``pgflex verify`` and ``pgflex sessions``: tables for people, JSON for machines, JUnit XML for
pipeline test reports, and ``--explain``'s drawing of one handshake."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from pgflex.verify.checks import ServerReport, SessionsReport, Status, VerifyReport

STYLES: dict[Status, str] = {
    "pass": "green",
    "warn": "yellow",
    "fail": "bold red",
    "inconclusive": "magenta",
    "blocked": "bold magenta",
    "error": "bold red",
}
OUTCOME_STYLES = {"accepted": "green", "refused": "cyan", "inconclusive": "magenta"}


def to_json(report: VerifyReport | SessionsReport) -> str:
    return json.dumps(report.to_dict(), indent=2, default=str) + "\n"


# --------------------------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------------------------


def _status(status: str) -> Text:
    return Text(status.upper(), style=STYLES.get(status, ""))  # type: ignore[call-overload]


def render_verify(report: VerifyReport, console: Console) -> None:
    console.print(Text(f"pgflex verify {report.environment} ({report.cloud}, {report.source})", style="bold"))
    for server in report.servers:
        _render_server(server, console)
    counts = ", ".join(f"{count} {status}" for status, count in report.counts().items() if count)
    verdict = Text("PASSED" if report.passed else "FAILED", style="bold green" if report.passed else "bold red")
    console.print(Text.assemble(verdict, f"  {counts} in {report.seconds:.1f}s"))


def _render_server(server: ServerReport, console: Console) -> None:
    where = (
        f"{server.endpoint.host_name} at {server.endpoint.address}:{server.endpoint.port}" if server.endpoint else ""
    )
    if server.login is not None:
        where += f" {server.login.describe()}"
    table = Table(
        title=Text.assemble((server.server, "bold"), f"  {where}  ", _status(server.status)), title_justify="left"
    )
    table.add_column("check")
    table.add_column("status")
    table.add_column("detail", overflow="fold")
    for check in server.checks:
        table.add_row(Text(check.name), _status(check.status), Text(check.detail))  # Text: no markup in details
    console.print(table)
    if server.versions:
        versions = Text("  TLS versions: ")
        for version, result in server.versions.items():
            versions.append(f"{version} ", style="bold")
            versions.append(result["outcome"], style=OUTCOME_STYLES.get(result["outcome"], ""))
            versions.append("  ")
        console.print(versions)
    session = next((c for c in server.checks if c.name == "sslinfo" and "pgStatSsl" in c.data), None)
    if session:
        row = session.data["pgStatSsl"]
        console.print(
            Text(
                f"  pg_stat_ssl: ssl={row['ssl']} version={row['protocol']} cipher={row['cipher']} bits={row['bits']} "
                f"user={row['user']} client={row['clientAddress']}",
                style="dim",
            )
        )


def render_sessions(report: SessionsReport, console: Console) -> None:
    console.print(Text(f"pgflex sessions {report.environment} ({report.cloud})", style="bold"))
    for server in report.servers:
        title = Text.assemble((server.server, "bold"), "  ", _status(server.status), f"  {server.detail}")
        table = Table(title=title, title_justify="left")
        for column in ("database", "user", "ssl", "protocol", "cipher", "client", "application", "backend type"):
            table.add_column(column)
        for row in server.sessions:
            ssl_cell = Text("yes", style="green") if row["ssl"] else Text("NO", style="bold red")
            # Text, not markup: application names are whatever clients chose.
            cells = [row["database"], row["user"], None, row["protocol"], row["cipher"]]
            cells += [row["clientAddress"] or "(local socket)", row["application"], row["backendType"]]
            texts = [Text(str(cell or "")) for cell in cells]
            texts[2] = ssl_cell
            table.add_row(*texts)
        console.print(table)


# --------------------------------------------------------------------------------------------------------------
# --explain: one handshake as a person would draw it
# --------------------------------------------------------------------------------------------------------------


def explain_lines(server: ServerReport) -> list[str]:
    """Plain lines, so the same drawing serves a terminal, a log and a test."""
    lines = [f"Handshake with {server.server}"]
    shake: dict[str, Any] | None = server.handshake
    if shake is None:
        lines.append("  no TLS handshake took place: " + (server.checks[0].detail if server.checks else "not run"))
    else:
        lines += _handshake_lines(shake)
    lines.append("Refusal probes (SSLRequest, then a ClientHello capped at one version):")
    for version, result in server.versions.items():
        lines.append(f"  {version:<8} {result['outcome']:<13} {result['detail']}")
    for check in server.checks:
        if check.name.startswith("refuses-"):
            lines.append(f"  => {check.name}: {check.status} ({check.detail})")
    return lines


def _handshake_lines(shake: dict[str, Any]) -> list[str]:
    lines = [
        f"  client -> {shake['serverName']} ({shake['address']}:{shake['port']})",
        "  client -> server  SSLRequest (00 00 00 08 04 d2 16 2f)",
        "  server -> client  'S'",
        f"  client -> server  ClientHello: versions {', '.join(shake['offeredVersions'])}",
        f"                    suites {', '.join(shake['offeredSuites'])}",
        f"  server -> client  ServerHello: version {shake['version']}, suite {shake['cipher']}",
        "  server -> client  Certificate chain:",
    ]
    for depth, cert in enumerate(shake["chain"]):
        lines += _certificate_lines(depth, cert)
    anchor = shake.get("trustAnchor")
    if shake["verified"] and anchor:
        lines.append(f"  trusted root: {anchor['subject']} (valid until {anchor['notAfter'][:10]})")
        lines.append(f"  verified: chain and host name {shake['serverName']} OK")
    else:
        lines.append(f"  verification FAILED: {shake['verifyError']}")
    return lines


def _certificate_lines(depth: int, cert: dict[str, Any]) -> list[str]:
    lines = [
        f"    [{depth}] subject: {cert['subject']}",
        f"        issuer:  {cert['issuer']}",
        f"        valid:   {cert['notBefore'][:10]} to {cert['notAfter'][:10]} ({cert['daysLeft']} days left)",
    ]
    if cert["dnsNames"]:
        lines.append(f"        names:   {', '.join(cert['dnsNames'])}")
    return lines


def render_explain(server: ServerReport, console: Console) -> None:
    for line in explain_lines(server):
        console.print(Text(line), highlight=False, soft_wrap=True)  # long lines stay whole for copy and grep


# --------------------------------------------------------------------------------------------------------------
# JUnit XML
# --------------------------------------------------------------------------------------------------------------


def to_junit(report: VerifyReport) -> str:
    """One testsuite per server, one testcase per check.

    Only pass and warn are successes. inconclusive counts as a failure, not a skip: CI systems treat skips
    as green, and an unproven TLS claim must not look green.
    """
    root = ET.Element("testsuites", name=f"pgflex verify {report.environment}", time=f"{report.seconds:.3f}")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for server in report.servers:
        suite = ET.SubElement(
            root, "testsuite", name=f"{report.environment}.{server.server}", time=f"{server.seconds:.3f}"
        )
        counts = {"tests": 0, "failures": 0, "errors": 0}
        for check in server.checks:
            counts["tests"] += 1
            case = ET.SubElement(
                suite, "testcase", classname=f"pgflex.verify.{server.server}", name=check.name, time="0"
            )
            if check.status in ("fail", "inconclusive"):
                counts["failures"] += 1
                ET.SubElement(case, "failure", message=check.detail, type=check.status).text = check.detail
            elif check.status in ("error", "blocked"):
                counts["errors"] += 1
                ET.SubElement(case, "error", message=check.detail, type=check.status).text = check.detail
            else:
                ET.SubElement(case, "system-out").text = f"{check.status}: {check.detail}"
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
