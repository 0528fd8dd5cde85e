"""``pgflex``: the command-line entry point.

Imports stay lazy so that ``pgflex --help`` and ``--version`` start fast; each command imports
what it needs when it runs.
"""

from __future__ import annotations

import typer

from pgflex.exit_codes import ExitCode

from . import apply as apply_commands
from . import audit as audit_commands
from . import client_setup as client_setup_commands
from . import drift as drift_commands
from . import exceptions as exceptions_commands
from . import import_cmd as import_commands
from . import plan as plan_commands
from . import verify as verify_commands
from .emulator import emulator_app

app = typer.Typer(
    name="pgflex",
    help="Deploy Azure Database for PostgreSQL Flexible Servers and prove their TLS posture.",
    no_args_is_help=True,
    # --install-completion / --show-completion for bash, zsh, fish and PowerShell.
    add_completion=True,
    pretty_exceptions_enable=False,
    # Plain help text: rich markup parsing alone doubled the start-up time of --help.
    rich_markup_mode=None,
)
app.add_typer(emulator_app, name="emulator")
app.command("plan")(plan_commands.plan)
app.command("drift")(drift_commands.drift)
app.command("apply")(apply_commands.apply)
app.command("destroy")(apply_commands.destroy)
app.command("validate")(plan_commands.validate)
app.command("schema")(plan_commands.schema)
app.command("verify")(verify_commands.verify)
app.command("sessions")(verify_commands.sessions)
app.command("exceptions")(exceptions_commands.exceptions)
app.command("trust-bundle")(client_setup_commands.trust_bundle)
app.command("connection-string")(client_setup_commands.connection_string)
app.command("import")(import_commands.import_environment)
app.command("audit")(audit_commands.audit)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"pgflex {version('pgflex')}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log what the Azure SDK does (stderr)."),
) -> None:
    """pgflex: declarative, verified, drift-free Flexible Servers."""
    import logging

    # The SDK's own warnings (each credential DefaultAzureCredential tried, retries) would bury
    # pgflex's one-line message; --verbose shows them.
    if verbose:
        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("azure").setLevel(logging.INFO if verbose else logging.CRITICAL)


EXIT_OK, EXIT_ERROR = ExitCode.OK, ExitCode.ERROR

# Options of `pgflex` itself that users also write after the subcommand (`pgflex plan env.yaml -v`).
GLOBAL_FLAGS = frozenset({"--verbose", "-v"})


def hoist_global_flags(argv: list[str]) -> list[str]:
    """Move global flags in front of the subcommand; arguments after ``--`` stay as they are."""
    end = argv.index("--") if "--" in argv else len(argv)
    head, tail = argv[:end], argv[end:]
    return [a for a in head if a in GLOBAL_FLAGS] + [a for a in head if a not in GLOBAL_FLAGS] + tail


def _terminate(signum: int, frame: object) -> None:
    # A cancelled pipeline sends SIGTERM: unwind as Ctrl-C does, so that a lease is released and files
    # are left whole, instead of dying where we stand.
    raise KeyboardInterrupt


def main() -> None:
    import signal
    import sys

    signal.signal(signal.SIGTERM, _terminate)
    try:
        code = app(args=hoist_global_flags(sys.argv[1:]), prog_name="pgflex", standalone_mode=False)
    except typer.TyperException as error:
        # A usage error (unknown option, missing argument) is an error, exit 1: Click's own 2 means
        # "changes present" in pgflex's table, and a typo in a pipeline must not read as drift.
        show = getattr(error, "show", None)
        if callable(show):
            show()
        else:
            typer.echo(f"Error: {error.format_message()}", err=True)
        sys.exit(EXIT_ERROR)
    except typer.Abort:
        typer.echo("Aborted!", err=True)
        sys.exit(EXIT_ERROR)
    except PermissionError as error:
        # Another account's files (say, root's emulator state dir read by a user): one line, not a traceback.
        typer.echo(f"pgflex: permission denied: {error.filename or error} (run as the account that owns it)", err=True)
        sys.exit(EXIT_ERROR)
    sys.exit(code if isinstance(code, int) else EXIT_OK)


if __name__ == "__main__":
    main()
