"""``pgflex exceptions``: the spec's policy exceptions with the days each has left (no Azure call).

Exit 1 when any has expired (``validate`` refuses such a file, plan reports it as a plan error), else 0;
ending within 14 days, or having no end, is a warning.
"""

from __future__ import annotations

from pathlib import Path

import typer

from .common import reported_errors
from .output import Display, Output
from .plan import OutputOption, SpecArgument


def exceptions(spec: Path = SpecArgument, output: Output = OutputOption) -> None:
    """List every policy exception with its server, rule, reason, expiry and days left. Exit 1 when any has
    expired, else 0 (an exception ending within 14 days, or without expires, is a warning)."""
    from pgflex.policy_exceptions import load_exceptions_report
    from pgflex.render import exceptions_view

    display = Display(output)
    with reported_errors(json_output=display.json):
        report = load_exceptions_report(spec)
    display.report(
        report.to_dict(),
        table=lambda console: exceptions_view.render_exceptions(report, console),
        lines=lambda: exceptions_view.exception_lines(report),
        annotations=exceptions_view.exception_annotations(report),
        summary=exceptions_view.exceptions_summary_markdown(report),
    )
    raise typer.Exit(report.exit_code)
