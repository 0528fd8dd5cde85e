"""`validate` checks server parameters against the catalogue pgflex ships, with no Azure call."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pgflex.cli.main import app
from pgflex.spec import SpecError, parse_spec
from pgflex.spec.parameter_catalogue import shipped_catalogue

DOCUMENT = """\
apiVersion: pgflex/v1
environment:
  {name: dev, cloud: local, subscription: 00000000-0000-0000-0000-000000000001, resourceGroup: rg, location: westeurope}
defaults:
  version: "16"
  sku: {name: Standard_B1ms, tier: Burstable}
  storage: {sizeGb: 32}
  administrator: {login: pgadmin, password: {fromEnv: PGFLEX_ADMIN_PASSWORD}}
  parameters:
    work_mem: 1
servers:
  - name: pg-one
    parameters:
      not_a_param: 1
      shared_buffers: lots
      fsync: false
      log_connections: maybe
      azure.extensions: [sslinfo, not_an_extension]
      max_connections: 6000
    access: {public: {}}
  - name: pg-two
    sku: {name: Standard_D2ds_v5, tier: Burstable}
    access: {public: {}}
"""


def _run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def test_validate_lists_every_parameter_problem_at_once_where_it_is_written(tmp_path: Path) -> None:
    env_file = tmp_path / "env.yaml"
    env_file.write_text(DOCUMENT)
    result = _run("validate", str(env_file))
    assert result.exit_code == 1
    expected = {
        10: r"defaults\.parameters\.work_mem: work_mem must be between 4096 and 2097151, not 1",
        14: r"servers\[0\]\.parameters\.not_a_param: unknown server parameter 'not_a_param' \(not in pgflex's",
        15: r"servers\[0\]\.parameters\.shared_buffers: shared_buffers takes an integer",
        16: r"servers\[0\]\.parameters\.fsync: fsync is read-only",
        17: r"servers\[0\]\.parameters\.log_connections: log_connections is a boolean",
        18: r"servers\[0\]\.parameters\.azure\.extensions: azure\.extensions does not offer not_an_extension",
        19: r"servers\[0\]\.parameters\.max_connections: max_connections must be between 25 and 5000, not 6000",
        22: r"servers\[1\]\.sku: SKU Standard_D2ds_v5 does not belong to tier Burstable",
    }
    for line, pattern in expected.items():
        assert re.search(rf"env\.yaml:{line}:\d+: {pattern}", result.output), (line, result.output)
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("log_connections", "true"),
        ("log_connections", True),
        ("work_mem", 8192),
        ("random_page_cost", 1.5),
        ("azure.extensions", ["SSLINFO", "pg_trgm"]),
        ("shared_preload_libraries", ["pg_stat_statements", "auto_explain"]),
        ("log_min_duration_statement", -1),
        ("timezone", "UTC"),  # the service spells it TimeZone; PostgreSQL names are case-insensitive
        ("wal_level", "logical"),
    ],
)
def test_values_the_service_accepts_pass(name: str, value: object) -> None:
    text = DOCUMENT.split("servers:")[0].replace("    work_mem: 1", f"    {name}: {value!r}".replace("'", '"'))
    text = text.replace("True", "true") + "servers:\n  - name: pg-one\n    access: {public: {}}\n"
    assert parse_spec(text, env={"PGFLEX_ADMIN_PASSWORD": "x"}).servers[0].parameters


def test_the_catalogue_is_the_official_examples_list_and_says_so() -> None:
    catalogue = shipped_catalogue()
    assert len(catalogue) == 415
    assert catalogue.source == "ConfigurationsListByServer.json"
    rule = catalogue.get("max_connections")
    assert rule is not None and (rule.data_type, rule.allowed_values) == ("Integer", "25-5000")
    head = DOCUMENT.replace("work_mem: 1", "no_such_setting: 1").split("servers:")[0]
    with pytest.raises(SpecError, match="not in pgflex's parameter catalogue"):
        parse_spec(head + "servers:\n  - name: pg-one\n    access: {public: {}}\n", env={"PGFLEX_ADMIN_PASSWORD": "x"})
