"""Speaking the pipeline's language: annotations and a step summary on GitHub Actions, log issues on
Azure Pipelines, nothing elsewhere.

Annotations are workflow commands on standard output (on standard error when standard output carries
JSON: the runners read commands from both). The GitHub step summary is Markdown appended to the file
``$GITHUB_STEP_SUMMARY`` names.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TextIO

Level = Literal["error", "warning", "notice"]


@dataclass(frozen=True)
class Annotation:
    level: Level
    message: str
    title: str = ""
    file: str = ""
    line: int = 0
    column: int = 0


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_command(annotation: Annotation) -> str:
    properties = {
        "file": annotation.file,
        "line": str(annotation.line) if annotation.line else "",
        "col": str(annotation.column) if annotation.column else "",
        "title": annotation.title,
    }
    listed = ",".join(f"{key}={_escape_property(value)}" for key, value in properties.items() if value)
    return f"::{annotation.level}{' ' + listed if listed else ''}::{_escape_data(annotation.message)}"


def azure_command(annotation: Annotation) -> str:
    # Azure Pipelines knows error and warning only; a notice is a warning there.
    properties = {
        "type": "error" if annotation.level == "error" else "warning",
        "sourcepath": annotation.file,
        "linenumber": str(annotation.line) if annotation.line else "",
        "columnnumber": str(annotation.column) if annotation.column else "",
    }
    listed = ";".join(f"{key}={value}" for key, value in properties.items() if value)
    message = f"{annotation.title}: {annotation.message}" if annotation.title else annotation.message
    return f"##vso[task.logissue {listed}]{' | '.join(message.splitlines())}"


def _markdown_cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|") or " "


def markdown_table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_markdown_cell(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


@dataclass
class Pipeline:
    """Where this run is (GitHub Actions, Azure Pipelines or neither), and what it should be told."""

    github: bool = False
    azure: bool = False
    summary_path: Path | None = None
    stream: TextIO = field(default_factory=lambda: sys.stdout)

    @classmethod
    def detect(cls, environ: Mapping[str, str] | None = None, *, json_on_stdout: bool = False) -> Pipeline:
        env = os.environ if environ is None else environ
        github = env.get("GITHUB_ACTIONS") == "true"
        summary = env.get("GITHUB_STEP_SUMMARY") if github else None
        return cls(
            github=github,
            azure=env.get("TF_BUILD", "").lower() == "true",
            summary_path=Path(summary) if summary else None,
            stream=sys.stderr if json_on_stdout else sys.stdout,
        )

    def annotate(self, annotations: Iterable[Annotation]) -> None:
        for annotation in annotations:
            if self.github:
                print(github_command(annotation), file=self.stream, flush=True)
            if self.azure:
                print(azure_command(annotation), file=self.stream, flush=True)

    def summarize(self, markdown: str) -> None:
        """Append to the job's step summary (GitHub renders it on the run's page)."""
        if self.summary_path is None:
            return
        try:
            with self.summary_path.open("a", encoding="utf-8") as summary:
                summary.write(markdown.rstrip("\n") + "\n\n")
        except OSError as error:
            print(f"pgflex: cannot append to the step summary {self.summary_path}: {error}", file=sys.stderr)
