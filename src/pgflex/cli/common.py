"""What every command shares: turning failures into clear messages and exit codes.

Nothing heavy is imported until a failure needs it: ``except`` clauses are evaluated only when an
exception is on its way, so `pgflex validate` never pays for the Azure SDK or the emulator.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer

from pgflex.exit_codes import ExitCode

if TYPE_CHECKING:
    from pgflex.spec.errors import SpecError, SpecIssue

EXIT_OK = ExitCode.OK
EXIT_ERROR = ExitCode.ERROR
EXIT_CHANGES = ExitCode.CHANGES
EXIT_VERIFY_FAILED = ExitCode.VERIFY_FAILED


def fail(message: str, *, json_output: bool = False) -> typer.Exit:
    """Print ``pgflex: message`` on stderr (and annotate it in a pipeline); the caller raises the result."""
    typer.echo(f"pgflex: {message}", err=True)
    _annotate_error(message, json_output=json_output)
    return typer.Exit(EXIT_ERROR)


def _annotate_error(message: str, *, json_output: bool) -> None:
    from pgflex.render.ci import Annotation, Pipeline

    Pipeline.detect(json_on_stdout=json_output).annotate([Annotation("error", message, title="pgflex")])


def _spec_failure(error: SpecError, *, json_output: bool) -> NoReturn:
    """Every issue on its own line, and as an annotation on the file, line and column in a pipeline."""
    typer.echo(f"pgflex: {error}", err=True)
    from pgflex.render.ci import Annotation, Pipeline

    Pipeline.detect(json_on_stdout=json_output).annotate(
        Annotation("error", _issue_text(issue), "pgflex spec", issue.file, issue.line, issue.column)
        for issue in error.issues
    )
    raise typer.Exit(EXIT_ERROR)


def _issue_text(issue: SpecIssue) -> str:
    return f"{issue.key_path}: {issue.message}" if issue.key_path else issue.message


def describe_failure(error: BaseException) -> str | None:
    """The one-line message for a failure pgflex knows how to explain, or None for a real bug."""
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ServiceRequestError

    from pgflex.azure.credential_errors import describe_authentication_failure
    from pgflex.emulator.daemon import EmulatorStartFailed
    from pgflex.spec import PgflexError

    if isinstance(error, PgflexError):
        return str(error)
    if isinstance(error, ClientAuthenticationError):
        return describe_authentication_failure(error)
    if isinstance(error, HttpResponseError):
        code = error.error.code if error.error else error.status_code
        message = error.error.message if error.error else str(error)
        return f"Azure refused a request ({code}): {message}"
    if isinstance(error, ServiceRequestError):
        return f"cannot reach Azure Resource Manager: {error.message}"
    if isinstance(error, EmulatorStartFailed):
        return f"cannot start the local emulator: {error}"
    return None


@contextmanager
def reported_errors(*, json_output: bool = False) -> Iterator[None]:
    """Known failures become one clear message and exit 1; never a traceback."""
    try:
        yield
    except typer.Exit:
        raise
    except Exception as error:
        from pgflex.spec.errors import SpecError

        if isinstance(error, SpecError):
            _spec_failure(error, json_output=json_output)
        message = describe_failure(error)
        if message is None:
            raise
        raise fail(message, json_output=json_output) from None


def write_atomically(path: Path, text: str) -> None:
    """Write a file whole or not at all."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(path)
