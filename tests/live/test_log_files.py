"""A server with a data plane lists its real PostgreSQL log through the SDK (az postgres flexible-server
server-logs list): the file PostgreSQL writes, its size and dates as the file says, in one request."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from support.emulator import Clients, EmulatorHandle

from .conftest import LiveServer

pytestmark = pytest.mark.dataplane


def test_a_server_lists_the_log_file_its_postgresql_writes(
    emulator: EmulatorHandle, clients: Clients, new_server: LiveServer
) -> None:
    log_file = emulator.state_dir / "dataplane" / "servers" / new_server.name / "log" / "postgresql.log"
    assert "database system is ready to accept connections" in log_file.read_text()
    captured_logs = clients.postgres.captured_logs

    emulator.reset_request_count()
    before = log_file.stat()
    (listed,) = captured_logs.list_by_server(new_server.group, new_server.name)
    after = log_file.stat()  # PostgreSQL may log meanwhile
    assert emulator.request_count() == 1
    assert listed.properties is not None
    assert (listed.name, listed.type, listed.properties.type) == (
        "postgresql.log",
        "Microsoft.DBforPostgreSQL/flexibleServers/logFiles",
        "ServerLogs",
    )
    assert listed.id is not None and listed.id.endswith(f"/flexibleServers/{new_server.name}/logFiles/postgresql.log")
    assert listed.url == log_file.as_uri()
    assert math.ceil(before.st_size / 1024) <= (listed.size_in_kb or 0) <= math.ceil(after.st_size / 1024)
    assert listed.size_in_kb and listed.size_in_kb > 0
    modified = listed.last_modified_time
    assert listed.created_time is not None and modified is not None
    assert listed.created_time <= modified <= dt.datetime.now(dt.UTC)
    assert before.st_mtime - 1e-3 <= modified.timestamp() <= after.st_mtime + 1e-3  # microseconds on the wire

    # A restart appends to the same file: still one file, modified later.
    clients.postgres.servers.begin_restart(new_server.group, new_server.name).result()
    (after_restart,) = captured_logs.list_by_server(new_server.group, new_server.name)
    assert after_restart.name == "postgresql.log"
    assert after_restart.last_modified_time is not None and after_restart.last_modified_time > modified
    assert (after_restart.size_in_kb or 0) >= (listed.size_in_kb or 0)
