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
    help="PEM file of trusted roots (default: Azure's roots as pgflex ships them, see `pgflex trust-bundle`; "
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


def _seconds(value: str, option: str) -> float:
    """``5s``, ``2m``, ``1h`` or a number of seconds; one clear line for anything else."""
    units = {"s": 1, "m": 60, "h": 3600}
    text = value.strip().lower()
    factor = units.get(text[-1:]) if text else None
    number = text[:-1] if factor else text
    try:
        seconds = float(number) * (factor or 1)
    except ValueError:
        raise fail(f"{option} {value!r}: write a duration such as 30s, 5m or 1h") from None
    if not 0 <= seconds <= 7 * 86400:
        raise fail(f"{option} {value!r}: between 0s and 7 days")
    return seconds


def sessions(
    spec: Path = SpecArgument,
    output: Output = OutputOption,
    ca_bundle: Path | None = CaBundleOption,
    servers: list[str] | None = ServerOption,
    host_names: list[str] | None = HostNameOption,
    parallelism: int = ParallelismOption,
    watch: str | None = typer.Option(
        None, "--watch", metavar="DURATION", help="Sample for DURATION (30s, 5m, 1h) and report every client seen."
    ),
    interval: str = typer.Option("5s", "--interval", metavar="SECONDS", help="Time between samples (--watch)."),
    policy: str | None = typer.Option(
        None, "--policy", metavar="TLSVERSION", help="Exit 2 naming every client seen that this minimum would refuse."
    ),
    require_tls: bool = typer.Option(False, "--require-tls", help="Exit 2 naming every client seen without TLS."),
) -> None:
    """List each server's sessions (Azure's pg_stat_ssl audit query): which clients connect without TLS. With
    --watch, every client seen over a window; with --policy/--require-tls, exit 2 when a client seen would be
    refused."""
    from pgflex.outcomes import report_exit_code

    display = Display(output)
    if watch is not None or policy is not None or require_tls:
        _watch_sessions(
            spec, display, ca_bundle, servers, host_names, parallelism, watch, interval, policy, require_tls
        )
    from pgflex.verify import sessions as list_sessions

    with reported_errors(json_output=display.json):
        report = list_sessions(
            spec, ca_bundle=ca_bundle, host_names=_host_names(host_names), servers=servers, parallelism=parallelism
        )
    display.sessions(report)
    raise typer.Exit(report_exit_code(report))


def _watch_sessions(
    spec: Path,
    display: Display,
    ca_bundle: Path | None,
    servers: list[str] | None,
    host_names: list[str] | None,
    parallelism: int,
    watch: str | None,
    interval: str,
    policy: str | None,
    require_tls: bool,
) -> None:
    from pgflex.exit_codes import ExitCode
    from pgflex.spec.model import TLS_VERSIONS
    from pgflex.verify.watch import Policy
    from pgflex.verify.watch import watch as run_watch

    if policy is not None and policy not in TLS_VERSIONS:
        raise fail(f"--policy {policy!r}: choose one of {', '.join(TLS_VERSIONS)}", json_output=display.json)
    duration = _seconds(watch, "--watch") if watch is not None else 0.0
    every = _seconds(interval, "--interval")
    if every <= 0:
        raise fail(f"--interval {interval!r}: more than 0s", json_output=display.json)
    judged = Policy(policy, require_tls) if policy is not None or require_tls else None
    with reported_errors(json_output=display.json):
        report = run_watch(
            spec,
            duration=duration,
            interval=every,
            policy=judged,
            ca_bundle=ca_bundle,
            host_names=_host_names(host_names),
            servers=servers,
            parallelism=parallelism,
        )
    if display.json:
        display.document(report.to_dict())
    else:
        from pgflex.render.watch_view import watch_lines

        display.lines(watch_lines(report))
    if not report.passed:
        raise typer.Exit(ExitCode.ERROR)
    raise typer.Exit(ExitCode.CHANGES if report.refused() else ExitCode.OK)
