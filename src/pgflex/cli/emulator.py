"""``pgflex emulator``: run the local Azure Resource Manager for Flexible Server."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

import typer

# Constants only: settings imports nothing of the emulator's server.
from ..emulator.settings import DEFAULT_PORT, PORT_ENV, STATE_DIR_ENV

emulator_app = typer.Typer(
    help="A local Azure Resource Manager for Flexible Server; every server is a real PostgreSQL with TLS.",
    no_args_is_help=True,
)

STATE_DIR_HELP = "Where the emulator keeps its state (default: $PGFLEX_EMULATOR_STATE_DIR or the user state dir)."


def _state_dir(value: Path | None) -> Path:
    from ..emulator.settings import default_state_dir

    return value if value is not None else default_state_dir()


def _parse_settings(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs, values read as JSON where they parse (numbers, true/false, null)."""
    changes: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"'{pair}' is not key=value", param_hint="--set")
        try:
            changes[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            changes[key.strip()] = raw
    return changes


def _settings(
    state_dir: Path | None,
    port: int,
    data_plane: bool,
    record: Path | None,
    pairs: list[str],
) -> Any:
    from ..emulator.settings import EmulatorSettings

    settings = EmulatorSettings(state_dir=_state_dir(state_dir), port=port, record_path=record)
    problems = settings.tuning.update({"data_plane": data_plane, **_parse_settings(pairs)})
    if problems:
        raise typer.BadParameter("; ".join(problems), param_hint="--set")
    return settings


StateDirOption = typer.Option(None, "--state-dir", help=STATE_DIR_HELP, envvar=STATE_DIR_ENV)
PortOption = typer.Option(
    DEFAULT_PORT,
    "--port",
    envvar=PORT_ENV,
    min=0,
    max=65535,
    help="HTTPS port on 127.0.0.1 (0 picks a free one).",
)
DataPlaneOption = typer.Option(
    True, "--data-plane/--no-data-plane", help="Run a real PostgreSQL for each server, or control plane only."
)
RecordOption = typer.Option(None, "--record", help="Append every request and response (secrets masked) to FILE.")
SetOption = typer.Option(
    [],
    "--set",
    help="Tuning as key=value: latency_ms, operation_seconds, retry_after_seconds, rate_throttled, "
    "rate_server_error, rate_server_busy, rate_dropped, rate_operation_failed, throttling, "
    "throttle_{reads,writes,deletes}_{burst,per_second}, page_size, seed.",
)


@emulator_app.command()
def start(
    state_dir: Path | None = StateDirOption,
    port: int = PortOption,
    data_plane: bool = DataPlaneOption,
    record: Path | None = RecordOption,
    set_: list[str] = SetOption,
) -> None:
    """Start the emulator in the background (no-op when it already runs)."""
    from ..emulator import daemon

    settings = _settings(state_dir, port, data_plane, record, set_)
    try:
        running = daemon.start(settings)
    except (daemon.EmulatorStartFailed, OSError) as failure:
        typer.echo(f"pgflex: cannot start the emulator: {failure}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"emulator running at {running.base_url} (pid {running.pid}, state {running.state_dir})")
    typer.echo('use it from a shell with: eval "$(pgflex emulator env)"')


@emulator_app.command()
def serve(
    state_dir: Path | None = StateDirOption,
    port: int = PortOption,
    data_plane: bool = DataPlaneOption,
    record: Path | None = RecordOption,
    set_: list[str] = SetOption,
) -> None:
    """Run the emulator in the foreground until interrupted."""
    import logging

    from ..emulator.ports import PortInUse
    from ..emulator.server import serve as serve_forever
    from ..emulator.statedir import StateDirRefused

    settings = _settings(state_dir, port, data_plane, record, set_)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        serve_forever(settings)
    except (PortInUse, StateDirRefused) as failure:
        typer.echo(f"pgflex: cannot start the emulator: {failure}", err=True)
        raise typer.Exit(1) from None


@emulator_app.command()
def stop(state_dir: Path | None = StateDirOption) -> None:
    """Stop the emulator; its servers and state are kept for the next start."""
    from ..emulator import daemon

    if daemon.stop(_state_dir(state_dir)):
        typer.echo("emulator stopped")
    else:
        typer.echo("emulator was not running")


@emulator_app.command()
def reset(
    state_dir: Path | None = StateDirOption,
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
) -> None:
    """Stop the emulator and delete all its state: every emulated server and its data, and the
    network namespaces of private servers."""
    from ..emulator import daemon

    folder = _state_dir(state_dir)
    if not yes:
        if not sys.stdin.isatty():
            typer.echo("pgflex: no terminal to confirm on: pass --yes to reset without asking", err=True)
            raise typer.Exit(1)
        if not typer.confirm(f"Delete every emulated server and all state in {folder}?", default=False):
            raise typer.Exit(0)
    removed = daemon.reset(folder)
    namespaces = f" and {len(removed)} network namespace(s)" if removed else ""
    typer.echo(f"emulator reset: removed {folder}{namespaces}")


@emulator_app.command()
def status(
    state_dir: Path | None = StateDirOption,
    output: str = typer.Option("table", "--output", "-o", help="table or json"),
) -> None:
    """Show whether the emulator runs, where, and what it holds. Exit 1 when it is not running."""
    from ..emulator.client import AdminClient, find

    running = find(_state_dir(state_dir))
    if running is None:
        if output == "json":
            typer.echo(json.dumps({"running": False}))
        else:
            typer.echo("emulator is not running")
        raise typer.Exit(1)
    admin = AdminClient(running)
    report: dict[str, Any] = {
        "running": True,
        "pid": running.pid,
        "endpoint": running.base_url,
        "stateDir": str(running.state_dir),
    }
    report.update(admin.status())
    report["serversReachableAt"] = admin.endpoints()
    health = report.pop("dataPlaneHealth", None) or {}
    for entry in report["serversReachableAt"].values():
        # What the server's PostgreSQL does now, beside what Resource Manager says of the server.
        entry.update({f"postgres{key.title()}": value for key, value in health.get(entry["server"], {}).items()})
    if output == "json":
        typer.echo(json.dumps(report, indent=2))
        return
    rows = []
    for fqdn, entry in sorted(report["serversReachableAt"].items()):
        rows.append((fqdn, _shown_state(entry), *_shown_address(entry), str(entry["publicNetworkAccess"])))
    heading = [
        f"emulator {running.base_url}  pid {running.pid}  state {running.state_dir}",
        f"data plane: {report.get('dataPlane')}",
        f"private networks: {report.get('privateNetworkIsolation')}",
    ]
    from .output import stdout_is_terminal

    if not stdout_is_terminal():
        # A log: whole lines, one per server, never folded at the terminal's width.
        for line in heading:
            typer.echo(line)
        for fqdn, state, address, port, public in rows:
            typer.echo(f"{fqdn} {state} {address}:{port} publicNetworkAccess={public}")
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for line in heading:
        console.print(line, markup=False, highlight=False)
    table = Table("host name", "state", "address", "port", "public access")
    for row in rows:
        table.add_row(*row)
    console.print(table)


def _shown_state(entry: dict[str, Any]) -> str:
    """Resource Manager's state, unless PostgreSQL is down (died or failed to start) while it says Ready."""
    if entry.get("postgresState") != "down":
        return str(entry["state"])
    return "down" if entry["state"] == "Ready" else f"{entry['state']}, PostgreSQL down"


def _shown_address(entry: dict[str, Any]) -> tuple[str, str]:
    if entry.get("postgresListening") is False:
        return "none (public access disabled, no virtual network)", "-"
    # A private server's address exists only inside its virtual network's namespace: say which.
    address = str(entry["host"]) + (f" (netns {entry['namespace']})" if entry.get("namespace") else "")
    return address, str(entry["port"])


@emulator_app.command()
def env(state_dir: Path | None = StateDirOption) -> None:
    """Print the environment a client needs: eval "$(pgflex emulator env)"."""
    from ..emulator.client import find

    running = find(_state_dir(state_dir))
    if running is None:
        typer.echo("pgflex: the emulator is not running; start it with: pgflex emulator start", err=True)
        raise typer.Exit(1)
    for name, value in running.client_environment().items():
        typer.echo(f"export {name}={shlex.quote(value)}")


@emulator_app.command("set")
def set_tuning(
    pairs: list[str] = typer.Argument(..., help="key=value pairs, as for --set"),
    state_dir: Path | None = StateDirOption,
) -> None:
    """Change latency, durations and fault rates of the running emulator."""
    from ..emulator.client import AdminClient, EmulatorRequestFailed, find

    running = find(_state_dir(state_dir))
    if running is None:
        typer.echo("pgflex: the emulator is not running", err=True)
        raise typer.Exit(1)
    try:
        typer.echo(json.dumps(AdminClient(running).settings(_parse_settings(pairs)), indent=2))
    except EmulatorRequestFailed as failure:
        message = _error_message(failure.body)
        typer.echo(f"pgflex: the emulator refused the settings (none changed): {message}", err=True)
        raise typer.Exit(1) from None


def _error_message(body: str) -> str:
    """The message of an ARM error envelope, else the body as it came."""
    try:
        return str(json.loads(body)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return body
