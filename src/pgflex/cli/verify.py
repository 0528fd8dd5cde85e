"""``pgflex verify`` and ``pgflex sessions``."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import EXIT_ERROR, EXIT_OK, fail, reported_errors, write_atomically
from .plan import Output, OutputOption, ParallelismOption, SpecArgument

CaBundleOption = typer.Option(
    None,
    "--ca-bundle",
    help="PEM file of trusted roots (default: certifi's bundle, which lacks the older DigiCert Global Root CA; "
    "the emulator's root for cloud: local).",
    exists=True,
    dir_okay=False,
)
ServerOption = typer.Option(None, "--server", "-s", metavar="NAME", help="Only this server (repeatable).")
HostNameOption = typer.Option(
    None,
    "--host-name",
    metavar="SERVER=HOST",
    help="SERVER=HOST: verify the certificate against HOST, the name clients use instead of the FQDN (repeatable).",
)


def _host_names(values: list[str] | None) -> dict[str, str]:
    found: dict[str, str] = {}
    for value in values or []:
        server, sep, host = value.partition("=")
        if not sep or not server or not host:
            raise fail(f"--host-name {value!r}: write SERVER=HOST")
        found[server] = host
    return found


def verify(
    spec: Path = SpecArgument,
    output: Output = OutputOption,
    junit: Path | None = typer.Option(
        None, "--junit", help="Also write a JUnit XML report here (one testcase per check)."
    ),
    ca_bundle: Path | None = CaBundleOption,
    servers: list[str] | None = ServerOption,
    host_names: list[str] | None = HostNameOption,
    explain: str | None = typer.Option(
        None,
        "--explain",
        metavar="SERVER",
        help="Draw SERVER's handshake, chain and refusal probes (verifies only it).",
    ),
    parallelism: int = ParallelismOption,
) -> None:
    """Prove on the live servers that TLS is what the spec says: exit 0 when every check passes (warnings
    allowed), 1 on any failure, block, inconclusive check or error."""
    from pgflex.render import verify_view
    from pgflex.verify import verify as run_verify

    overrides = _host_names(host_names)
    selected = [explain] if explain else servers
    with reported_errors():
        report = run_verify(spec, ca_bundle=ca_bundle, host_names=overrides, servers=selected, parallelism=parallelism)
    if junit is not None:
        write_atomically(junit, verify_view.to_junit(report))
    if output is Output.json:
        typer.echo(verify_view.to_json(report), nl=False)
    else:
        from rich.console import Console

        console = Console()
        if explain:
            verify_view.render_explain(report.server(explain), console)
        verify_view.render_verify(report, console)
    raise typer.Exit(EXIT_OK if report.passed else EXIT_ERROR)


def sessions(
    spec: Path = SpecArgument,
    output: Output = OutputOption,
    ca_bundle: Path | None = CaBundleOption,
    servers: list[str] | None = ServerOption,
    host_names: list[str] | None = HostNameOption,
    parallelism: int = ParallelismOption,
) -> None:
    """List each server's sessions (Azure's pg_stat_ssl audit query): which clients connect without TLS."""
    from pgflex.render import verify_view
    from pgflex.verify import sessions as list_sessions

    with reported_errors():
        report = list_sessions(
            spec, ca_bundle=ca_bundle, host_names=_host_names(host_names), servers=servers, parallelism=parallelism
        )
    if output is Output.json:
        typer.echo(verify_view.to_json(report), nl=False)
    else:
        from rich.console import Console

        verify_view.render_sessions(report, Console())
    raise typer.Exit(EXIT_OK if report.passed else EXIT_ERROR)
