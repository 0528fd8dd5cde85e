"""``pgflex verify`` and ``pgflex sessions``."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import fail, reported_errors, write_atomically
from .output import Display, Output
from .plan import OutputOption, ParallelismOption, SpecArgument

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
    from pgflex.outcomes import report_exit_code
    from pgflex.verify import verify as run_verify

    display = Display(output)
    overrides = _host_names(host_names)
    selected = [explain] if explain else servers
    with reported_errors(json_output=display.json):
        report = run_verify(spec, ca_bundle=ca_bundle, host_names=overrides, servers=selected, parallelism=parallelism)
    if junit is not None:
        from pgflex.render.verify_view import to_junit

        write_atomically(junit, to_junit(report))
    display.verify(report, explain=explain)
    raise typer.Exit(report_exit_code(report))


def sessions(
    spec: Path = SpecArgument,
    output: Output = OutputOption,
    ca_bundle: Path | None = CaBundleOption,
    servers: list[str] | None = ServerOption,
    host_names: list[str] | None = HostNameOption,
    parallelism: int = ParallelismOption,
) -> None:
    """List each server's sessions (Azure's pg_stat_ssl audit query): which clients connect without TLS."""
    from pgflex.outcomes import report_exit_code
    from pgflex.verify import sessions as list_sessions

    display = Display(output)
    with reported_errors(json_output=display.json):
        report = list_sessions(
            spec, ca_bundle=ca_bundle, host_names=_host_names(host_names), servers=servers, parallelism=parallelism
        )
    display.sessions(report)
    raise typer.Exit(report_exit_code(report))
