"""Errors raised while loading an environment spec.

`PgflexError` is the root of every error pgflex raises on purpose; the CLI catches it and prints
`str(error)` without a traceback. `SpecError` carries every problem found in one pass, each with the
file, line, column and key path a user needs to fix it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class PgflexError(Exception):
    """Base class of the errors pgflex raises deliberately (the CLI reports them without a traceback)."""


@dataclass(frozen=True, order=True)
class SpecIssue:
    """One problem in a spec file. `line` and `column` are 1-based, like an editor shows them."""

    file: str
    line: int
    column: int
    key_path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {self.key_path}: {self.message}" if self.key_path else f"{where}: {self.message}"


class SpecError(PgflexError):
    """The spec is invalid. `issues` is sorted by position; `str()` prints one issue per line."""

    def __init__(self, issues: Iterable[SpecIssue]) -> None:
        self.issues: tuple[SpecIssue, ...] = tuple(sorted(set(issues)))
        if not self.issues:
            raise ValueError("SpecError needs at least one issue")
        super().__init__("\n".join(str(issue) for issue in self.issues))

    def __str__(self) -> str:
        return "\n".join(str(issue) for issue in self.issues)
