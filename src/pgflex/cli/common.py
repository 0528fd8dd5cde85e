"""What every command shares: turning failures into clear messages and exit codes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2


def fail(message: str) -> typer.Exit:
    typer.echo(f"pgflex: {message}", err=True)
    return typer.Exit(EXIT_ERROR)


@contextmanager
def reported_errors() -> Iterator[None]:
    """Known failures become one clear message and exit 1; never a traceback."""
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ServiceRequestError

    from pgflex.emulator.daemon import EmulatorStartFailed
    from pgflex.spec import PgflexError

    try:
        yield
    except PgflexError as error:
        raise fail(str(error)) from None
    except ClientAuthenticationError as error:
        raise fail(
            f"cannot authenticate to Azure: {error.message.splitlines()[0]} Sign in with `az login`, or set "
            "AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or a federated token), or run with a "
            "managed identity; --verbose shows each credential tried."
        ) from None
    except HttpResponseError as error:
        code = error.error.code if error.error else error.status_code
        message = error.error.message if error.error else str(error)
        raise fail(f"Azure refused a request ({code}): {message}") from None
    except ServiceRequestError as error:
        raise fail(f"cannot reach Azure Resource Manager: {error.message}") from None
    except EmulatorStartFailed as error:
        raise fail(f"cannot start the local emulator: {error}") from None


def write_atomically(path: Path, text: str) -> None:
    """Write a file whole or not at all."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(path)
