"""``pgflex import``: write an env file from live servers (a resource group, named servers, or a subscription).

The file goes to ``--output`` (``-``: standard output); what a person should review, and the summary, go to
standard error. A subscription whose servers span resource groups needs ``--output DIR``: one file per group.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from .common import EXIT_ERROR, EXIT_OK, fail, reported_errors, write_atomically

if TYPE_CHECKING:
    from pgflex.importer import ImportedEnvironment

STDOUT = "-"


def import_environment(
    resource_group: str | None = typer.Option(
        None, "--resource-group", "-g", help="Import this resource group's servers (default: the whole subscription)."
    ),
    server: list[str] = typer.Option(
        [], "--server", "-s", help="Import only this server (repeat for more); without -g, found in the subscription."
    ),
    subscription: str | None = typer.Option(
        None,
        "--subscription",
        help="Subscription id (default: the emulator's for --cloud local, else $AZURE_SUBSCRIPTION_ID).",
    ),
    cloud: str = typer.Option(
        "local", "--cloud", help="local (the embedded emulator), AzureCloud, AzureUSGovernment or AzureChinaCloud."
    ),
    output: str = typer.Option(
        STDOUT,
        "--output",
        help="The env file to write; - for standard output; a directory for one file per resource group.",
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing output file."),
    name: str | None = typer.Option(None, "--name", help="Environment name (default: from the resource group's)."),
    password_env: str = typer.Option(
        "PGFLEX_ADMIN_PASSWORD",
        "--password-env",
        help="The variable each administrator password is read from (fromEnv); passwords are never imported.",
    ),
    databases: bool = typer.Option(
        True,
        "--databases/--no-databases",
        help="Import each server's own databases (one read per server); --no-databases leaves them out of the file, "
        "and plans then leave them alone.",
    ),
    parallelism: int = typer.Option(8, "--parallelism", min=1, max=64, help="Servers read at once."),
) -> None:
    """Write an env file from live servers: settings (zones, high availability, storage tier, backup, maintenance
    window), authentication with its Microsoft Entra administrators, databases, access, network references,
    firewall rules, TLS, parameters set on the server; never a password. A plan of the file against the same
    servers shows no change."""
    import os

    from pgflex.importer import import_environment as run_import

    folder = _output_folder(output)
    if folder is None and output != STDOUT:
        _check_writable(Path(output), force=force)  # before any Azure call
    if subscription is None and cloud != "local":
        subscription = os.environ.get("AZURE_SUBSCRIPTION_ID") or None
    with reported_errors():
        result = run_import(
            resource_group=resource_group,
            servers=server,
            subscription=subscription,
            cloud=cloud,
            name=name,
            password_env=password_env,
            databases=databases,
            parallelism=parallelism,
        )
    for skipped in result.skipped:
        typer.echo(f"pgflex: warning: not imported: {skipped}", err=True)
    environments = result.environments
    if not environments:
        raise fail("no server could be imported (see the warnings above)")
    if folder is None and len(environments) > 1:
        groups = ", ".join(environment.resource_group for environment in environments)
        raise fail(
            f"the servers are in {len(environments)} resource groups ({groups}); an env file holds one: "
            "give --output a directory (one file per group) or --resource-group"
        )
    targets: list[Path | None] = [None if output == STDOUT else Path(output)]
    if folder is not None:
        paths = [folder / f"{environment.resource_group}.yaml" for environment in environments]
        for path in paths:
            _check_writable(path, force=force)
        targets = list(paths)
    failed = False
    for environment, target in zip(environments, targets, strict=True):
        failed |= not _write(environment, target)
    count = sum(len(environment.servers) for environment in environments)
    where = "standard output" if output == STDOUT else ", ".join(map(str, targets))
    typer.echo(f"pgflex: imported {count} server(s) into {where} ({result.requests} requests)", err=True)
    raise typer.Exit(EXIT_ERROR if failed else EXIT_OK)


def _output_folder(output: str) -> Path | None:
    """The folder for one file per resource group, when ``output`` names one (an existing directory, or a/)."""
    if output == STDOUT:
        return None
    path = Path(output)
    if output.endswith("/") or path.is_dir():
        if not path.is_dir():
            raise fail(f"--output {output}: no such directory")
        return path
    return None


def _check_writable(path: Path, *, force: bool) -> None:
    if path.exists() and not force:
        raise fail(f"{path} exists; pass --force to overwrite it")
    if not path.parent.is_dir():
        raise fail(f"cannot write {path}: no folder {path.parent}")


def _write(environment: ImportedEnvironment, target: Path | None) -> bool:
    """Write the file (or print it) and its notes; False when it does not validate as written."""
    if target is None:
        typer.echo(environment.text, nl=False)
    else:
        try:
            write_atomically(target, environment.text)
        except OSError as failure:
            raise fail(f"cannot write {target}: {failure.strerror or failure}") from None
    for note in environment.notes:
        typer.echo(f"pgflex: note: {note}", err=True)
    issues = environment.issues(str(target) if target is not None else "<stdout>")
    for issue in issues:
        typer.echo(f"pgflex: {issue}", err=True)
    if issues:
        label = target or "the imported file"
        typer.echo(f"pgflex: {label} does not validate yet: the spec cannot express the issues above", err=True)
    return not issues
