"""The result of ``pgflex audit``: every server read, every finding, every error, and the exit code.

``AuditReport.to_dict()`` is the ``pgflex.audit`` JSON document (pgflex/schemas/audit.schema.json). Exit codes:
0 every server complies, 2 findings, 1 an error (a subscription or server that could not be read), which wins:
an audit that could not see everything cannot call the estate compliant.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from typing import Any, get_args

from pgflex.exit_codes import ExitCode

from .collect import AuditError, ServerPosture
from .findings import RULES, Finding, severity_of
from .policy import AuditPolicy, Severity

AUDIT_KIND = "pgflex.audit"
FORMAT_VERSION = 1
SEVERITIES: tuple[Severity, ...] = get_args(Severity)


@dataclass(frozen=True)
class SubscriptionAudit:
    """One subscription's part of an audit."""

    id: str
    display_name: str | None  # None when the subscription was named, not listed
    servers: tuple[ServerPosture, ...]
    errors: tuple[AuditError, ...]
    reads: int  # Resource Manager requests sent for it, retries included
    seconds: float

    @property
    def label(self) -> str:
        return f"{self.display_name} ({self.id})" if self.display_name else self.id

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "displayName": self.display_name,
            "servers": len(self.servers),
            "errors": len(self.errors),
            "reads": self.reads,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class AuditReport:
    cloud: str
    policy: AuditPolicy
    policy_source: str  # the policy file, or "pgflex defaults"
    subscriptions: tuple[SubscriptionAudit, ...]
    findings: tuple[Finding, ...]
    seconds: float

    @property
    def servers(self) -> list[ServerPosture]:
        return [server for subscription in self.subscriptions for server in subscription.servers]

    @property
    def errors(self) -> list[AuditError]:
        return [error for subscription in self.subscriptions for error in subscription.errors]

    @cached_property
    def findings_by_server(self) -> dict[str, list[Finding]]:
        by_server: dict[str, list[Finding]] = {server.id: [] for server in self.servers}
        for finding in self.findings:
            by_server[finding.server.id].append(finding)
        return by_server

    @property
    def compliant(self) -> list[ServerPosture]:
        return [server for server in self.servers if not self.findings_by_server[server.id]]

    @property
    def exit_code(self) -> ExitCode:
        if self.errors:
            return ExitCode.ERROR
        return ExitCode.CHANGES if self.findings else ExitCode.OK

    def severity_counts(self) -> dict[str, int]:
        counted = Counter(finding.severity for finding in self.findings)
        return {severity: counted[severity] for severity in SEVERITIES}

    @property
    def verdict(self) -> str:
        """One line: what was audited and what came of it."""
        servers, subscriptions = len(self.servers), len(self.subscriptions)
        text = (
            f"{_count(servers, 'server')} in {_count(subscriptions, 'subscription')}: "
            f"{len(self.compliant)} compliant, {_count(len(self.findings), 'finding')}"
        )
        counts = self.severity_counts()
        if self.findings:
            text += " (" + ", ".join(f"{counts[s]} {s}" for s in SEVERITIES if counts[s]) + ")"
        if self.errors:
            text += f", {_count(len(self.errors), 'error')}: not everything could be read"
        return text

    @property
    def rules(self) -> list[dict[str, str]]:
        """Every rule with the severity this policy gives it."""
        return [
            {
                "id": rule.id,
                "name": rule.name,
                "severity": severity_of(rule.id, self.policy),
                "summary": rule.summary,
                "help": rule.help,
            }
            for rule in RULES.values()
        ]

    @property
    def summary(self) -> dict[str, Any]:
        return {
            "subscriptions": len(self.subscriptions),
            "servers": len(self.servers),
            "compliant": len(self.compliant),
            "findings": len(self.findings),
            "errors": len(self.errors),
            "bySeverity": self.severity_counts(),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": AUDIT_KIND,
            "formatVersion": FORMAT_VERSION,
            "cloud": self.cloud,
            "policy": self.policy.model_dump(mode="json", by_alias=True),
            "policySource": self.policy_source,
            "rules": self.rules,
            "subscriptions": [subscription.to_dict() for subscription in self.subscriptions],
            "servers": [server.to_dict() for server in self.servers],
            "findings": [finding.to_dict() for finding in self.findings],
            "errors": [error.to_dict() for error in self.errors],
            "summary": self.summary,
            "seconds": round(self.seconds, 3),
            "exitCode": int(self.exit_code),
        }


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
