"""The Azure CLI, unmodified, drives the emulator: playbooks/az-cli-against-emulator.sh runs green against an
emulator with a data plane, and what it changed is there when read back through the SDK and the real PostgreSQL.

Skipped only when azure-cli is not installed (on PATH or in .venv-az, which scripts/az-setup makes and .ci/run
runs). az polls every long-running operation at the emulator's Retry-After (0 would make it wait its own 30 s), so
the test sets 1 s while it runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from live.conftest import connect, emulator, live_emulator  # noqa: F401 - fixtures, used by name
from support.emulator import Clients, EmulatorHandle, unique

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "playbooks" / "az-cli-against-emulator.sh"
AZ = shutil.which("az") or next((str(p) for p in [ROOT / ".venv-az" / "bin" / "az"] if p.exists()), None)
PASSWORD = "Az-Demo-Passw0rd!"  # the playbook's administrator password
DBA = "5b0c7d1e-9f3a-4c2b-8e6d-1a2b3c4d5e6f"  # the playbook's Microsoft Entra administrator it keeps
DEPLOYER = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"  # the one it adds and removes
PROVIDER = "/providers/Microsoft.DBforPostgreSQL/"

pytestmark = [
    pytest.mark.dataplane,
    pytest.mark.slow,
    pytest.mark.skipif(AZ is None, reason="azure-cli is not installed (scripts/az-setup puts it in .venv-az)"),
]


@dataclass
class AzRun:
    """az against one emulator, with its own configuration folder, for one resource group and server."""

    handle: EmulatorHandle
    env: dict[str, str]
    group: str
    server: str
    record_start: int

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, capture_output=True, text=True, env=self.env, timeout=600, check=False)

    def az(self, *args: str) -> subprocess.CompletedProcess[str]:
        assert AZ is not None
        return self.run(AZ, *args)

    def exchanges(self) -> list[dict[str, Any]]:
        """Every request the emulator recorded since this run began (read without moving the record's offset,
        which the emulator fixture's conformance check reads from)."""
        if not self.handle.record_path.exists():
            return []
        with self.handle.record_path.open() as record:
            record.seek(self.record_start)
            return [json.loads(line) for line in record if line.strip()]


@pytest.fixture
def az_run(emulator: EmulatorHandle, tmp_path: Path) -> Iterator[AzRun]:  # noqa: F811 - the fixture, by name
    assert AZ is not None
    env = {
        **os.environ,
        # pgflex (for `pgflex emulator env`) and az, whichever folders they are in.
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), str(Path(AZ).parent), os.environ["PATH"]]),
        "PGFLEX_EMULATOR_STATE_DIR": str(emulator.state_dir),
        "AZURE_CONFIG_DIR_EMULATOR": str(tmp_path / "az"),  # the playbook's az configuration
        "AZURE_CONFIG_DIR": str(tmp_path / "az"),  # the same for the test's own az calls
        "AZURE_CORE_COLLECT_TELEMETRY": "false",  # no background upload process left behind
        "AZ_DEMO_GROUP": unique("rg-az"),
        "AZ_DEMO_SERVER": unique("pg-az"),
    }
    emulator.tune(retry_after_seconds=1)
    try:
        yield AzRun(emulator, env, env["AZ_DEMO_GROUP"], env["AZ_DEMO_SERVER"], _record_size(emulator))
    finally:
        emulator.tune(retry_after_seconds=0)


def _record_size(handle: EmulatorHandle) -> int:
    return handle.record_path.stat().st_size if handle.record_path.exists() else 0


def _rows(output: str) -> list[list[str]]:
    """The rows of az's tables (-o table), each split at its columns' whitespace."""
    return [line.split() for line in output.splitlines() if line.strip() and not set(line) <= {"-", " "}]


def test_the_az_playbook_runs_green_and_its_changes_are_there(az_run: AzRun, clients: Clients) -> None:
    group, server = az_run.group, az_run.server
    ran = az_run.run("bash", str(PLAYBOOK))
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert "ERROR" not in ran.stderr, ran.stderr[-3000:]
    rows = _rows(ran.stdout)
    exchanges = az_run.exchanges()

    # What the playbook printed: each list and show as az shows it.
    assert ["203.0.113.9", "office", group, "203.0.113.1"] in rows  # firewall-rule list
    assert ["ssl_min_protocol_version", "TLSv1.3", "False"] in rows  # parameter show
    assert ["appdb", "utf8"] in rows  # db show
    assert ["utf8", "en_US.utf8", "appdb", group] in rows  # db list: appdb beside the service's three
    assert ["UTF8", "en_US.utf8", "postgres", group] in rows
    assert not [row for row in rows if "scratch" in row]  # created, then deleted before the list
    assert ["ci-deployer", "ServicePrincipal"] in rows  # microsoft-entra-admin show
    tenant = clients.subscriptions.subscriptions.get(clients.subscription_id).tenant_id
    # microsoft-entra-admin list, of the first server and of the Entra-only one
    assert rows.count(["dba@contoso.com", DBA, "dba@contoso.com", "User", group, tenant]) == 2
    assert not [row for row in rows if DEPLOYER in row]  # deleted before the list
    (log_row,) = [row for row in rows if "postgresql.log" in row]  # server-logs list: the real PostgreSQL's log
    assert log_row[-1] == (az_run.handle.state_dir / "dataplane/servers" / server / "log/postgresql.log").as_uri()
    assert [row[-1] for row in rows if row[0] == "Full" and row[-2] == group] == ["Automatic"]  # backup list
    assert [server, "data", "ci", "64", "0", "23", "30", "Enabled"] in rows  # the show after the updates

    # What az sent: each update read the server's capabilities first; nothing it asked for was refused.
    assert {e["query"].get("api-version") for e in exchanges if PROVIDER in e["path"]} == {"2026-04-01-preview"}
    capability_reads = [e for e in exchanges if e["path"].endswith(f"/flexibleServers/{server}/capabilities")]
    assert len(capability_reads) == 4 and all(e["status"] == 200 for e in capability_reads)
    assert [(e["method"], e["path"], e["status"]) for e in exchanges if e["status"] >= 400] == []

    # Read back independently: the server through the SDK, the database in its real PostgreSQL.
    shown = clients.postgres.servers.get(group, server)
    assert shown.tags == {"team": "data", "env": "ci"}
    assert shown.storage is not None and shown.storage.storage_size_gb == 64
    assert shown.auth_config is not None and shown.auth_config.active_directory_auth == "Enabled"
    assert shown.maintenance_window is not None
    assert shown.maintenance_window.as_dict() == {
        "customWindow": "Enabled",
        "dayOfWeek": 0,
        "startHour": 23,
        "startMinute": 30,
    }
    assert [a.object_id for a in clients.postgres.administrators_microsoft_entra.list_by_server(group, server)] == [DBA]
    databases = {d.name for d in clients.postgres.databases.list_by_server(group, server)}
    assert databases == {"azure_maintenance", "azure_sys", "postgres", "appdb"}
    fqdn = f"{server}.postgres.database.azure.com"
    with connect(az_run.handle, fqdn, user="pgadmin", password=PASSWORD) as conn:
        present = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
    assert "appdb" in present and "scratch" not in present
    assert list(clients.postgres.replicas.list_by_server(group, server)) == []
    # The Entra-only server: no password administrator, its Entra administrator the one az named.
    entra_only = clients.postgres.servers.get(group, f"{server}-entra")
    assert entra_only.auth_config is not None
    assert (entra_only.auth_config.password_auth, entra_only.administrator_login) == ("Disabled", None)
    entra_admins = clients.postgres.administrators_microsoft_entra.list_by_server(group, f"{server}-entra")
    assert [(a.object_id, a.principal_name, a.principal_type) for a in entra_admins] == [
        (DBA, "dba@contoso.com", "User")
    ]

    # A database that is not there: Resource Manager's contract answers its DELETE 204 No Content, so az, as
    # against Azure, exits 0 and says nothing; its show is az's not-found exit (3) with the service's code.
    on_server = ["-g", group, "-s", server]
    az_run.record_start = _record_size(az_run.handle)
    deleted = az_run.az("postgres", "flexible-server", "db", "delete", *on_server, "-n", "nosuch", "--yes")
    assert (deleted.returncode, deleted.stdout, "ERROR" in deleted.stderr) == (0, "", False), deleted.stderr
    assert [(e["method"], e["status"]) for e in az_run.exchanges() if e["path"].endswith("/databases/nosuch")] == [
        ("DELETE", 204)
    ]
    shown_missing = az_run.az("postgres", "flexible-server", "db", "show", *on_server, "-n", "scratch")
    assert shown_missing.returncode == 3 and "(ResourceNotFound)" in shown_missing.stderr
    # On a server that is not there, az's own read of the server fails first: exit 3, nothing deleted.
    no_server = az_run.az(
        "postgres", "flexible-server", "db", "delete", "-g", group, "-s", unique("pg"), "-n", "appdb", "--yes"
    )
    assert no_server.returncode == 3 and "(ResourceNotFound)" in no_server.stderr
    assert "appdb" in {d.name for d in clients.postgres.databases.list_by_server(group, server)}
