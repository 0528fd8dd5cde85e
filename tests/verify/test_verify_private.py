"""``pgflex verify`` and ``pgflex sessions`` on a private server: they connect from inside its virtual network
(the emulator's network namespace, where the machine allows it) and every check passes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pgflex.cli.main import app
from pgflex.engine.api import apply
from support.emulator import EmulatorHandle, unique
from support.specs import environment, private_server, write

from .conftest import FAST_RETRY

pytestmark = pytest.mark.dataplane


def test_verify_passes_on_a_private_server_from_inside_its_virtual_network(
    live: EmulatorHandle, tmp_path: Path
) -> None:
    name = unique("vpriv")
    zone = f"{unique('z')}.private.postgres.database.azure.com"
    servers = [private_server(name, "vnet-verify", zone, tls={"minVersion": "TLSv1.3"})]
    env_file = write(tmp_path / "env.yaml", environment(unique("rg-vpriv"), servers, version="15"))
    assert apply(env_file, retry=FAST_RETRY).converged

    result = CliRunner().invoke(app, ["verify", str(env_file), "-o", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.stdout)["servers"]
    assert {check["status"] for check in report["checks"]} == {"pass"}, report["checks"]
    where = report["endpoint"]
    if live.admin().status()["privateNetworkIsolation"].startswith("network namespaces"):
        # Isolated: the private address, reached from inside the namespace.
        assert where["address"].startswith("10.40.1.") and where["port"] == 5432 and where["namespace"]
    else:
        assert where["address"] == "127.0.0.1" and "namespace" not in where

    sessions = CliRunner().invoke(app, ["sessions", str(env_file), "-o", "json"], catch_exceptions=False)
    assert sessions.exit_code == 0, sessions.output
