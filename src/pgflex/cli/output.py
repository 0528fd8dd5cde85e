"""How a command shows its results: a table on a terminal, one greppable line per result in a log, JSON
for machines; plus annotations and a step summary when a pipeline runs it.

"Terminal" means standard output really is one: ``FORCE_COLOR`` (set by many CI systems) may colour a
terminal's tables, but never turns a log into a terminal with live redraws and hard wrapping.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from contextlib import AbstractContextManager

    from rich.console import Console

    from pgflex.engine.apply import Progress
    from pgflex.engine.plan import Plan
    from pgflex.render.ci import Annotation, Pipeline
    from pgflex.verify.checks import SessionsReport, VerifyReport


class Output(StrEnum):
    table = "table"
    json = "json"


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty() and os.environ.get("TERM") != "dumb"


@dataclass
class Display:
    """One command's view of its results."""

    output: Output = Output.table
    interactive: bool = field(default_factory=stdout_is_terminal)
    _console: Console | None = field(default=None, repr=False)
    _pipeline: Pipeline | None = field(default=None, repr=False)

    @property
    def json(self) -> bool:
        return self.output is Output.json

    @property
    def console(self) -> Console:
        """Rich, for a person at a terminal (to stderr when standard output carries JSON)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self.json, soft_wrap=not self.interactive)
        return self._console

    @property
    def pipeline(self) -> Pipeline:
        if self._pipeline is None:
            from pgflex.render.ci import Pipeline

            self._pipeline = Pipeline.detect(json_on_stdout=self.json)
        return self._pipeline

    def note(self, text: str, style: str = "") -> None:
        """A message for people: styled on a terminal, a plain line in a log, on stderr beside JSON."""
        if self.interactive and not self.json:
            from rich.text import Text

            self.console.print(Text(text, style=style))
        else:
            typer.echo(text, err=self.json)

    def progress(self) -> AbstractContextManager[Progress]:
        from pgflex.render.progress import progress_display

        return progress_display(self.console, interactive=self.interactive and not self.json)

    def lines(self, lines: list[str]) -> None:
        for line in lines:
            typer.echo(line, err=self.json)

    def document(self, data: dict[str, Any]) -> None:
        import json

        typer.echo(json.dumps(data, indent=2, default=str))

    # ----------------------------------------------------------------------------------------------
    # Results
    # ----------------------------------------------------------------------------------------------

    def report(
        self,
        document: dict[str, Any],
        *,
        table: Callable[[Console], None],
        lines: Callable[[], list[str]],
        annotations: Iterable[Annotation],
        summary: str,
    ) -> None:
        """A report as its JSON document, a table or log lines; told to the pipeline either way."""
        if self.json:
            self.document(document)
        elif self.interactive:
            table(self.console)
        else:
            self.lines(lines())
        self.pipeline.annotate(annotations)
        self.pipeline.summarize(summary)

    def plan(self, plan: Plan, *, drift: bool = False, document: bool = True) -> None:
        """The plan as a JSON document, a table or lines; told to the pipeline either way.

        ``document=False`` is for a plan that is part of a larger JSON document (apply's): its lines go to
        stderr, for the log.
        """
        from pgflex.render import ci_views

        if self.json and document:
            typer.echo(plan.to_json(), nl=False)
        elif self.interactive and not self.json:
            from pgflex.render.plan_view import render_plan

            render_plan(plan, self.console)
        else:
            from pgflex.render.lines import plan_lines

            self.lines(plan_lines(plan))
        self.pipeline.annotate(ci_views.plan_annotations(plan, drift=drift))
        self.pipeline.summarize(ci_views.plan_summary_markdown(plan, drift=drift))

    def verify(self, report: VerifyReport, *, explain: str | None = None, document: bool = True) -> None:
        from pgflex.render import ci_views, verify_view

        if self.json and document:
            typer.echo(verify_view.to_json(report), nl=False)
        elif self.interactive and not self.json:
            if explain:
                verify_view.render_explain(report.server(explain), self.console)
            verify_view.render_verify(report, self.console)
        else:
            from pgflex.render.lines import verify_lines

            if explain:
                self.lines(verify_view.explain_lines(report.server(explain)))
            self.lines(verify_lines(report))
        self.pipeline.annotate(ci_views.verify_annotations(report))
        self.pipeline.summarize(ci_views.verify_summary_markdown(report))

    def sessions(self, report: SessionsReport) -> None:
        from pgflex.render import ci_views, verify_view

        if self.json:
            typer.echo(verify_view.to_json(report), nl=False)
        elif self.interactive:
            verify_view.render_sessions(report, self.console)
        else:
            from pgflex.render.lines import sessions_lines

            self.lines(sessions_lines(report))
        self.pipeline.annotate(ci_views.sessions_annotations(report))
        self.pipeline.summarize(ci_views.sessions_summary_markdown(report))
