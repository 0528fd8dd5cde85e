"""``pgflex trust-bundle`` and ``pgflex connection-string``: what a client needs to verify the server as verify does.

The string goes to standard output alone (so that ``$(pgflex connection-string ...)`` works); everything for the
person (where the bundle was written, where the password comes from) goes to standard error.
"""

from __future__ import annotations

import hashlib
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from .common import fail, reported_errors, write_atomically

if TYPE_CHECKING:
    from pgflex.emulator.client import RunningEmulator
    from pgflex.spec import Environment

DRIVER_NAMES = "libpq, psql, psycopg, jdbc, npgsql, node"
BUNDLE_NAME = "azure-postgres-roots"


def _emulator_for(env: Environment | None) -> RunningEmulator | None:
    """The running emulator when ``env`` says ``cloud: local``; None for Azure or no env file."""
    if env is None or not env.is_local:
        return None
    from pgflex.verify.locate import running_emulator

    return running_emulator(None)


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, text)
    except OSError as failure:
        raise fail(f"cannot write the trust bundle to {path}: {failure.strerror or failure}") from None


def default_bundle_path(emulator: RunningEmulator | None) -> Path:
    """Where connection-string writes the bundle: one file per emulator root, so emulators never overwrite
    each other's, and one for Azure alone."""
    from platformdirs import user_data_path

    folder = user_data_path("pgflex") / "trust"
    if emulator is None:
        return folder / f"{BUNDLE_NAME}.pem"
    root_digest = hashlib.sha256(emulator.ca_root.read_bytes()).hexdigest()[:16]
    return folder / f"{BUNDLE_NAME}+emulator-{root_digest}.pem"


def trust_bundle(
    spec: Path | None = typer.Argument(
        None,
        help="An environment file: with cloud: local, the running emulator's root CA is appended (labelled).",
        show_default=False,
    ),
    out: Path | None = typer.Option(None, "--out", help="Write the bundle here (default: standard output)."),
) -> None:
    """Write the root certificates Azure Database for PostgreSQL chains to (DigiCert Global Root G2, Microsoft RSA
    Root Certificate Authority 2017, DigiCert Global Root CA), each checked against its published fingerprint."""
    from pgflex.spec import load_spec
    from pgflex.verify.trust import client_trust_bundle

    with reported_errors():
        text = client_trust_bundle(_emulator_for(load_spec(spec) if spec is not None else None))
    if out is None:
        typer.echo(text, nl=False)
        return
    _write(out, text)
    typer.echo(f"pgflex: wrote {out}", err=True)


def connection_string(
    spec: Path = typer.Argument(..., help="The environment file (env.yaml).", show_default=False),
    server: str = typer.Argument(..., help="The server's name in the environment file.", show_default=False),
    driver: str = typer.Option("libpq", "--driver", help=f"One of: {DRIVER_NAMES}."),
    database: str = typer.Option("postgres", "--database", help="The database to connect to."),
    user: str | None = typer.Option(
        None, "--user", help="The login (default: the server's administrator login from the spec)."
    ),
    bundle: str | None = typer.Option(
        None,
        "--bundle",
        metavar="PATH",
        help="Name this trust bundle (written with `pgflex trust-bundle --out PATH`) instead of writing one to "
        "pgflex's data directory.",
    ),
) -> None:
    """Print a connection string for SERVER with verify-full (or the driver's equivalent) and Azure's roots;
    never a password."""
    from pgflex.spec import load_spec
    from pgflex.verify.connection_strings import DRIVERS, client_target
    from pgflex.verify.connection_strings import connection_string as build
    from pgflex.verify.trust import client_trust_bundle

    if driver not in DRIVERS:  # before anything else: a typo should not cost an emulator lookup
        raise fail(f"unknown driver {driver!r}: choose one of {DRIVER_NAMES}")
    with reported_errors():
        env = load_spec(spec)
        emulator = _emulator_for(env)
        path = Path(bundle) if bundle is not None else default_bundle_path(emulator)
        # The target first: an unknown server or one the emulator does not run is refused before any write.
        target = client_target(env, server, bundle=str(path), emulator=emulator, database=database, user=user)
        result = build(target, driver)
        if bundle is None:
            _write(path, client_trust_bundle(emulator))
            typer.echo(f"pgflex: trust bundle written to {path}", err=True)
        elif not path.is_file():
            typer.echo(
                f"pgflex: note: {path} does not exist here; write it with "
                f"`pgflex trust-bundle {shlex.quote(str(spec))} --out {shlex.quote(str(path))}` "
                "where the client runs",
                err=True,
            )
    typer.echo(result.text)
    for note in result.notes:
        typer.echo(f"pgflex: note: {note}", err=True)
