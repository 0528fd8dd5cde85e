"""The printed connection strings work: psql (the system's) and psycopg log in to an emulated server with them,
verifying its certificate against the written bundle; a wrong host name or a bundle without the emulator's
root fails, which proves verify-full is really on."""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from live.conftest import live_emulator  # noqa: F401 - the fixture, by name
from pgflex.cli.main import app
from pgflex.engine.api import apply
from support.emulator import EmulatorHandle, unique
from support.specs import environment, public_server, write

from .conftest import FAST_RETRY, LOCAL, PASSWORD, verify_environment

pytestmark = pytest.mark.dataplane

PSQL = "/usr/bin/psql"
OWN_SESSION = "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()"


@dataclass(frozen=True)
class Applied:
    env_file: Path
    server: str

    @property
    def fqdn(self) -> str:
        return f"{self.server}.postgres.database.azure.com"


@pytest.fixture(scope="module")
def applied(
    live_emulator: EmulatorHandle,  # noqa: F811 - the fixture, by name
    tmp_path_factory: pytest.TempPathFactory,
) -> Applied:
    name = unique("conn")
    document = environment(unique("rg-conn"), [public_server(name, LOCAL)], version="16")
    env_file = write(tmp_path_factory.mktemp("connection-string") / "env.yaml", document)
    with verify_environment(live_emulator):
        result = apply(env_file, retry=FAST_RETRY, verify=False)
    assert result.converged, result.failures
    return Applied(env_file, name)


@pytest.fixture
def data_home(
    live_emulator: EmulatorHandle,  # noqa: F811 - the fixture, by name
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Path]:
    """The emulator's variables and the password source, and a data directory of this test's own."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    with verify_environment(live_emulator):
        yield tmp_path / "data"


def printed(*args: str) -> str:
    result = CliRunner().invoke(app, ["connection-string", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.stdout + result.stderr
    return result.stdout.rstrip("\n")


def run_psql(command_line: str) -> subprocess.CompletedProcess[str]:
    """The printed command line, as a shell would split it, with the password where libpq looks for it."""
    program, *args = shlex.split(command_line)
    assert program == "psql"
    environment = {"PGPASSWORD": PASSWORD, "PATH": "/usr/bin:/bin", "PGCONNECT_TIMEOUT": "10"}
    return subprocess.run(
        [PSQL, *args, "-X", "-At", "-c", OWN_SESSION], env=environment, capture_output=True, text=True, timeout=60
    )


def test_psql_logs_in_with_the_printed_command_line_and_verify_full(applied: Applied, data_home: Path) -> None:
    command_line = printed(str(applied.env_file), applied.server, "--driver", "psql")
    assert "sslmode=verify-full" in command_line and f"host={applied.fqdn} hostaddr=" in command_line
    done = run_psql(command_line)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() in ("t|TLSv1.2", "t|TLSv1.3")
    # The bundle written for cloud: local: Azure's three roots, then the emulator's root, labelled.
    (bundle,) = (data_home / "pgflex" / "trust").glob("azure-postgres-roots+emulator-*.pem")
    text = bundle.read_text()
    assert text.count("BEGIN CERTIFICATE") == 4 and "pgflex emulator root CA: NOT an Azure root" in text


def test_psycopg_logs_in_with_the_printed_keyword_string(applied: Applied, data_home: Path) -> None:
    conninfo = printed(str(applied.env_file), applied.server, "--driver", "psycopg")
    with psycopg.connect(conninfo, password=PASSWORD) as conn:
        row = conn.execute(OWN_SESSION).fetchone()
        assert row is not None and row[0] is True
        assert conn.info.host == applied.fqdn and conn.info.dsn.count("sslmode=verify-full") == 1


def test_a_wrong_host_name_in_the_string_fails_verification(applied: Applied, data_home: Path) -> None:
    # Same address and port (hostaddr), so only the name checked against the certificate differs.
    wrong = f"other-{applied.fqdn}"
    conninfo = printed(str(applied.env_file), applied.server, "--driver", "libpq")
    with pytest.raises(psycopg.OperationalError, match="does not match host name"):
        psycopg.connect(conninfo.replace(f"host={applied.fqdn}", f"host={wrong}"), password=PASSWORD)
    command_line = printed(str(applied.env_file), applied.server, "--driver", "psql")
    done = run_psql(command_line.replace(f"host={applied.fqdn}", f"host={wrong}"))
    assert done.returncode != 0 and "does not match host name" in done.stderr


def test_azure_roots_alone_do_not_verify_an_emulated_server(applied: Applied, data_home: Path, tmp_path: Path) -> None:
    azure_only = tmp_path / "azure-only.pem"
    written = CliRunner().invoke(app, ["trust-bundle", "--out", str(azure_only)], catch_exceptions=False)
    assert written.exit_code == 0
    command_line = printed(str(applied.env_file), applied.server, "--driver", "psql", "--bundle", str(azure_only))
    done = run_psql(command_line)
    assert done.returncode != 0 and "certificate verify failed" in done.stderr


def test_trust_bundle_for_a_local_environment_appends_the_running_emulators_root(
    applied: Applied,
    data_home: Path,
    live_emulator: EmulatorHandle,  # noqa: F811 - the fixture, by name
) -> None:
    result = CliRunner().invoke(app, ["trust-bundle", str(applied.env_file)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert live_emulator.running is not None
    emulator_root = live_emulator.running.ca_root.read_text().strip()
    azure, _, local = result.stdout.partition("# pgflex emulator root CA")
    assert azure.count("BEGIN CERTIFICATE") == 3 and emulator_root in local


def test_a_server_the_emulator_does_not_run_is_one_line(data_home: Path, tmp_path: Path) -> None:
    document = environment(unique("rg-none"), [public_server("pg-never-applied", LOCAL)])
    env_file = write(tmp_path / "env.yaml", document)
    result = CliRunner().invoke(app, ["connection-string", str(env_file), "pg-never-applied"])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == (
        "pgflex: the emulator has no server pg-never-applied.postgres.database.azure.com (create it with "
        "`pgflex apply`)\n"
    )
