"""``pgflex audit``: the TLS posture of every Flexible Server in subscriptions, judged against a policy.

Exit 0 when every server complies, 2 on findings, 1 when anything could not be read (or on bad input: a policy
file or a subscription refused before any Azure call).
"""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import typer

from .common import fail, reported_errors, write_atomically
from .output import Display, Output
from .plan import OutputOption, ParallelismOption


def audit(
    subscriptions: list[str] | None = typer.Option(
        None,
        "--subscription",
        metavar="ID",
        help="Audit this subscription (repeatable). Default: every subscription the identity can list.",
    ),
    cloud: str = typer.Option(
        "local", "--cloud", help="local (pgflex's emulator), AzureCloud, AzureUSGovernment or AzureChinaCloud."
    ),
    policy: Path | None = typer.Option(
        None, "--policy", help="A YAML audit policy (see infra/audit-policy.yaml). Default: what pgflex enforces."
    ),
    output: Output = OutputOption,
    junit: Path | None = typer.Option(
        None, "--junit", help="Also write a JUnit XML report here (one testcase per server and rule)."
    ),
    sarif: Path | None = typer.Option(None, "--sarif", help="Also write a SARIF 2.1.0 log here (code scanning)."),
    parallelism: int = ParallelismOption,
) -> None:
    """Audit the TLS posture of every Flexible Server in the subscriptions (TLS parameters, public access,
    firewall rules, whether pgflex manages it) against a policy: exit 0 compliant, 2 findings, 1 error."""
    from pgflex.audit.policy import DEFAULT_SOURCE, load_policy
    from pgflex.audit.run import run_audit
    from pgflex.spec.checks import check_subscription
    from pgflex.spec.constants import Cloud

    display = Display(output)
    if cloud not in get_args(Cloud):
        raise fail(f"--cloud {cloud!r}: choose one of {', '.join(get_args(Cloud))}", json_output=display.json)
    named = []
    for subscription in subscriptions or []:
        try:
            named.append(check_subscription(subscription))
        except ValueError as invalid:
            raise fail(f"--subscription: {invalid}", json_output=display.json) from None
    with reported_errors(json_output=display.json):
        judged_by = load_policy(policy) if policy is not None else None  # before any Azure call
    source = str(policy) if policy is not None else DEFAULT_SOURCE
    with reported_errors(json_output=display.json), display.progress() as progress:
        report = run_audit(
            named, cloud=cloud, policy=judged_by, policy_source=source, parallelism=parallelism, progress=progress
        )
    from pgflex.render import audit_view

    if junit is not None:
        write_atomically(junit, audit_view.to_junit(report))
    if sarif is not None:
        from pgflex.render.sarif import sarif_text

        write_atomically(sarif, sarif_text(report))
    display.report(
        report.to_dict(),
        table=lambda console: audit_view.render_audit(report, console),
        lines=lambda: audit_view.audit_lines(report),
        annotations=audit_view.audit_annotations(report),
        summary=audit_view.audit_summary_markdown(report),
    )
    raise typer.Exit(report.exit_code)
