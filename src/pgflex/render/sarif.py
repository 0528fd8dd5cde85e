"""An audit as SARIF 2.1.0, the format code-scanning dashboards (GitHub code scanning, Azure DevOps) read.

One run, tool ``pgflex``, its rules PGF001... with the policy's severity as their default level and GitHub's
``security-severity``; one result per finding. A finding is about an Azure resource, not a file: its location
names the server's resource id, as a relative URI (``subscriptions/.../flexibleServers/NAME``) and as a logical
location, and ``partialFingerprints`` identify it by rule, server and subject, so that a dashboard matches the
same finding across runs instead of guessing from file contents. Reads that failed are the invocation's
notifications, and make it unsuccessful.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pgflex.audit.findings import Finding
    from pgflex.audit.report import AuditReport

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
FINGERPRINT = "pgflexFinding/v1"


def to_sarif(report: AuditReport, tool_version: str) -> dict[str, Any]:
    from pgflex.audit.findings import RULES, severity_of

    rule_ids = list(RULES)
    rules = [
        {
            "id": rule.id,
            "name": rule.name,
            "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": f"{rule.summary}. {rule.help}"},
            "help": {"text": rule.help},
            "defaultConfiguration": {"level": severity_of(rule.id, report.policy)},
            "properties": {"tags": ["security"], "security-severity": rule.security_severity, "precision": "very-high"},
        }
        for rule in RULES.values()
    ]
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "pgflex", "version": tool_version, "rules": rules}},
        "automationDetails": {"id": f"pgflex-audit/{report.cloud}/"},
        "invocations": [
            {
                "executionSuccessful": not report.errors,
                "toolExecutionNotifications": [
                    {"level": "error", "message": {"text": f"{error.scope}: {error.message}"}}
                    for error in report.errors
                ],
            }
        ],
        "results": [_result(finding, rule_ids.index(finding.rule)) for finding in report.findings],
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def _result(finding: Finding, rule_index: int) -> dict[str, Any]:
    server = finding.server
    identity = "|".join((finding.rule, server.id.lower(), finding.subject))
    return {
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
        "level": finding.severity,
        "message": {
            "text": f"{server.name}: {finding.message} (observed {finding.observed}; expected {finding.expected})"
        },
        "locations": [
            {
                "physicalLocation": {"artifactLocation": {"uri": server.id.lstrip("/")}},
                "logicalLocations": [{"name": server.name, "fullyQualifiedName": server.id, "kind": "resource"}],
            }
        ],
        "partialFingerprints": {FINGERPRINT: hashlib.sha256(identity.encode()).hexdigest()},
        "properties": {
            "subscription": server.subscription,
            "resourceGroup": server.resource_group,
            "observed": finding.observed,
            "expected": finding.expected,
        },
    }


def sarif_text(report: AuditReport) -> str:
    from importlib.metadata import version

    return json.dumps(to_sarif(report, version("pgflex")), indent=2) + "\n"
