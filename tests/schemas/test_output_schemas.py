"""The JSON Schemas shipped in ``pgflex.schemas`` document every JSON document the CLI prints.

The schemas themselves are checked here (valid draft 2020-12, every property titled and described, no
undocumented key admitted), then real documents made against the control-plane emulator must validate:
plans from ``pgflex plan`` and ``pgflex drift``, and the apply and destroy documents. Verify and sessions
reports need servers with a data plane: tests/verify/test_verify_schemas.py checks those.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from typer.testing import CliRunner

from pgflex.azure.retry import RetryPolicy
from pgflex.cli.main import app
from pgflex.engine.api import apply, plan
from pgflex.engine.plan import PLAN_FORMAT_VERSION, Plan, PlanVersionError
from pgflex.schemas import ID_PREFIX, OUTPUTS, output_schema
from pgflex.spec import load_spec
from pgflex.verify.checks import FORMAT_VERSION as VERIFY_FORMAT_VERSION
from support.emulator import Clients, EmulatorHandle, unique
from support.outputs import assert_documented, data_keyed, non_camel_keys
from support.specs import environment, private_server, public_server, write

PASSWORD = "Schema-Secret-Passw0rd!"
FAST_RETRY = RetryPolicy(initial_seconds=0.05, max_seconds=0.5)
CODE_FORMAT_VERSIONS = {"plan": PLAN_FORMAT_VERSION, "verify": VERIFY_FORMAT_VERSION, "sessions": VERIFY_FORMAT_VERSION}


def _raw(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(files("pgflex.schemas").joinpath(f"{name}.schema.json").read_text())
    return data


def _walk(node: Any, path: str = "$") -> list[tuple[str, dict[str, Any]]]:
    """Every subschema of ``node`` with its path."""
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        found.append((path, node))
        for key, value in node.items():
            if key in ("const", "enum"):
                continue  # values, not subschemas
            found += _walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _walk(value, f"{path}[{index}]")
    return found


# --------------------------------------------------------------------------------------------------------------
# The schemas
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", OUTPUTS)
def test_each_schema_is_a_valid_draft_2020_12_schema_named_after_its_document(name: str) -> None:
    raw = _raw(name)
    Draft202012Validator.check_schema(raw)
    Draft202012Validator.check_schema(output_schema(name))
    assert raw["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    version = raw["properties"]["formatVersion"]["const"]
    assert raw["$id"] == f"{ID_PREFIX}{name}:{version}"
    assert raw["properties"]["kind"]["const"] == f"pgflex.{name}"
    assert {"kind", "formatVersion"} <= set(raw["required"])
    assert raw["title"] and raw["description"]
    if name in CODE_FORMAT_VERSIONS:
        assert version == CODE_FORMAT_VERSIONS[name]


def _property_schemas(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every property of every object, with a local ``$ref`` merged with the definition it names."""
    found = []
    for path, node in _walk(schema):
        for key, value in node.get("properties", {}).items():
            ref = value.get("$ref", "")
            if ref.startswith("#/$defs/"):
                value = {**schema["$defs"][ref.removeprefix("#/$defs/")], **value}
            found.append((f"{path}.{key}", value))
    return found


@pytest.mark.parametrize("name", OUTPUTS)
def test_every_property_has_a_title_and_a_description(name: str) -> None:
    raw = _raw(name)
    properties = _property_schemas(raw)
    assert properties
    bare = [path for path, value in properties if not (value.get("title") and value.get("description"))]
    assert bare == []
    undescribed = [
        path for path, node in _walk(raw.get("$defs", {})) if "properties" in node and not node.get("description")
    ]
    assert undescribed == []


@pytest.mark.parametrize("name", OUTPUTS)
def test_pgflex_objects_admit_no_undocumented_key(name: str) -> None:
    raw = _raw(name)
    open_objects = [
        path for path, node in _walk(raw) if "properties" in node and node.get("additionalProperties") is not False
    ]
    assert open_objects == []
    # Required keys are documented keys (a typo in either list would go unnoticed otherwise).
    for path, node in _walk(raw):
        if "required" in node and isinstance(node["required"], list):
            assert set(node["required"]) <= set(node.get("properties", {})), path


def test_the_endpoint_reads_the_same_in_verify_and_sessions() -> None:
    assert _raw("verify")["$defs"]["endpoint"] == _raw("sessions")["$defs"]["endpoint"]


# --------------------------------------------------------------------------------------------------------------
# The loader
# --------------------------------------------------------------------------------------------------------------


def test_the_loader_returns_each_shipped_schema_and_nothing_else_is_shipped() -> None:
    shipped = sorted(
        entry.name.removesuffix(".schema.json")
        for entry in files("pgflex.schemas").iterdir()
        if entry.name.endswith(".schema.json")
    )
    assert shipped == sorted(OUTPUTS)
    for name in OUTPUTS:
        schema = output_schema(name)
        raw = _raw(name)
        assert {key: value for key, value in schema.items() if key != "$defs"} == {
            key: value for key, value in raw.items() if key != "$defs"
        }
        assert schema.get("$defs", {}).items() >= raw.get("$defs", {}).items()


def test_a_schema_that_nests_other_documents_is_returned_self_contained() -> None:
    schema = output_schema("apply")
    assert schema["$defs"]["pgflex.plan"] == _raw("plan")
    assert schema["$defs"]["pgflex.verify"] == _raw("verify")
    references = {node["$ref"] for _, node in _walk(_raw("apply")) if "$ref" in node}
    assert references == {_raw("plan")["$id"], _raw("verify")["$id"]}
    # Without a registry, every reference resolves inside the document (the plan's own #/$defs too).
    errors = list(Draft202012Validator(schema).iter_errors({"plan": {"servers": [{"changes": [{"kind": "?"}]}]}}))
    assert any(list(error.absolute_path) == ["plan", "servers", 0, "changes", 0, "kind"] for error in errors)
    for name in ("plan", "verify", "sessions", "destroy"):
        assert not any(key.startswith("pgflex.") for key in output_schema(name).get("$defs", {}))


def test_each_call_returns_a_fresh_copy() -> None:
    first = output_schema("plan")
    first["properties"].clear()
    assert output_schema("plan")["properties"]


def test_an_unknown_output_name_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"no output named 'drifts'.*plan, verify, sessions, apply, destroy, drift"):
        output_schema("drifts")
    with pytest.raises(ValueError, match=re.escape("no output named '../plan'")):
        output_schema("../plan")


def test_loading_a_schema_imports_nothing_heavy() -> None:
    code = (
        "import sys; from pgflex.schemas import output_schema; output_schema('apply'); "
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('pgflex', 'jsonschema', 'pydantic', 'azure', 'rich', 'typer', 'psycopg', 'cryptography'))))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert loaded == ["pgflex", "pgflex.schemas"]


# --------------------------------------------------------------------------------------------------------------
# The camelCase check itself
# --------------------------------------------------------------------------------------------------------------


def test_the_camel_case_check_finds_other_keys_and_skips_only_the_names_of_data_keyed_maps() -> None:
    assert {"versions", "pendingRestart", "tags"} <= data_keyed()
    document = {
        "fineKey": 1,
        "snake_key": 2,
        "Capital": 3,
        "dash-key": [{"inner_key": 4}],
        "versions": {"TLSv1.2": {"outcome": "refused", "bad_key": 5}},
        "pendingRestart": {"pg-1": ["max_connections"]},
    }
    assert non_camel_keys(document) == [
        "$.snake_key",
        "$.Capital",
        "$.dash-key",
        "$.dash-key[0].inner_key",
        "$.versions['TLSv1.2'].bad_key",
    ]


# --------------------------------------------------------------------------------------------------------------
# Real documents from the emulator
# --------------------------------------------------------------------------------------------------------------


def _cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def _json_output(*args: str) -> tuple[int, dict[str, Any]]:
    result = _cli(*args)
    try:
        document: dict[str, Any] = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"pgflex {' '.join(args)} printed no JSON document (exit {result.exit_code}): {result.output}")
    return result.exit_code, document


@pytest.fixture
def names() -> dict[str, str]:
    return {"group": unique("rg-schema"), "public": unique("pub"), "private": unique("priv")}


def _document(names: dict[str, str], version: str = "16") -> dict[str, Any]:
    open_rule = {"name": "anywhere", "cidr": "0.0.0.0/0"}
    public = public_server(
        names["public"],
        {"office": "203.0.113.0/24"},
        tls={"minVersion": "TLSv1.3"},
        tags={"cost-center": "db", "Owner": "platform"},  # the spec's tag names, kept as written
        parameters={"log_connections": True},
        exceptions=[{"rule": "open-to-internet", "reason": "a public demo database"}],
    )
    public["access"]["public"]["firewallRules"].append(open_rule)
    zone = f"{unique('z')}.private.postgres.database.azure.com"
    return environment(names["group"], [public, private_server(names["private"], "vnet-db", zone)], version=version)


@pytest.fixture
def env_file(tmp_path: Path, names: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PGFLEX_ADMIN_PASSWORD", PASSWORD)
    return write(tmp_path / "env.yaml", _document(names))


def test_plans_for_an_empty_subscription_are_documented(
    emulator: EmulatorHandle, env_file: Path, tmp_path: Path
) -> None:
    saved = tmp_path / "plan.json"
    code, printed = _json_output("plan", str(env_file), "-o", "json", "--out", str(saved))
    assert code == 0
    assert_documented("plan", printed)
    assert json.loads(saved.read_text()) == printed
    assert printed["hasChanges"] and printed["servers"][0]["exceptions"]  # the exception waived the open rule
    code, drifted = _json_output("drift", str(env_file), "-o", "json")
    assert code == 2
    assert_documented("plan", drifted)


def test_a_plan_against_a_changed_world_is_documented(
    emulator: EmulatorHandle, clients: Clients, env_file: Path, names: dict[str, str], tmp_path: Path
) -> None:
    assert apply(env_file, retry=FAST_RETRY, verify=False).converged
    group, server, postgres = names["group"], names["public"], clients.postgres
    body = {"properties": {"value": "250", "source": "user-override"}}
    postgres.configurations.begin_update(group, server, "max_connections", body).result()
    body = {"properties": {"value": "TLSv1.2", "source": "user-override"}}
    postgres.configurations.begin_update(group, server, "ssl_min_protocol_version", body).result()
    stray = {"properties": {"startIpAddress": "192.0.2.1", "endIpAddress": "192.0.2.1"}}
    postgres.firewall_rules.begin_create_or_update(group, server, "stray", stray).result()
    downgraded = write(tmp_path / "downgraded.yaml", _document(names, version="15"))

    code, document = _json_output("plan", str(downgraded), "-o", "json")
    assert code == 1  # the version downgrade is an error
    assert_documented("plan", document)
    changes = [change for entry in document["servers"] for change in entry["changes"]]
    actions = {change["action"] for change in changes}
    assert {"update", "delete", "no-op"} <= actions
    assert document["errors"] and any(change["before"] is not None for change in changes)
    assert Plan.from_dict(document).to_dict() == document


def test_a_plan_of_another_format_or_kind_is_refused(emulator: EmulatorHandle, env_file: Path) -> None:
    made = plan(load_spec(env_file))
    document = made.to_dict()
    assert (document["kind"], document["formatVersion"]) == ("pgflex.plan", PLAN_FORMAT_VERSION)
    assert Plan.from_dict(document) == made
    with pytest.raises(PlanVersionError, match=r"made by pgflex 0\.0\.1 in plan format 1; this is pgflex .*format 2"):
        Plan.from_dict({**document, "formatVersion": 1, "pgflexVersion": "0.0.1"})
    without_kind = {key: value for key, value in document.items() if key != "kind"}
    with pytest.raises(ValueError, match=r"^kind: missing$"):
        Plan.from_dict(without_kind)
    with pytest.raises(ValueError, match=r"a 'pgflex\.verify' document is not a plan \(expected kind 'pgflex\.plan'\)"):
        Plan.from_dict({**document, "kind": "pgflex.verify"})


# --------------------------------------------------------------------------------------------------------------
# apply and destroy (`-o json`): the documents of the contract in pgflex/schemas/{apply,destroy}.schema.json
# --------------------------------------------------------------------------------------------------------------


def test_apply_and_destroy_documents_without_verification(
    emulator: EmulatorHandle, env_file: Path, names: dict[str, str], tmp_path: Path
) -> None:
    code, applied = _json_output("apply", str(env_file), "-o", "json", "--auto-approve", "--no-verify")
    assert_documented("apply", applied)
    assert (code, applied["outcome"], applied["exitCode"]) == (0, "applied", 0)
    assert applied["writes"] > 0 and applied["remaining"] is None and applied["verify"] is None
    assert applied["plan"]["hasChanges"] and applied["source"] == applied["plan"]["source"]

    code, again = _json_output("apply", str(env_file), "-o", "json", "--auto-approve", "--no-verify")
    assert_documented("apply", again)
    assert (code, again["outcome"], again["writes"], again["plan"]["hasChanges"]) == (0, "unchanged", 0, False)

    downgraded = write(tmp_path / "downgraded.yaml", _document(names, version="15"))
    code, refused = _json_output("apply", str(downgraded), "-o", "json", "--auto-approve", "--no-verify")
    assert_documented("apply", refused)
    assert (code, refused["outcome"], refused["exitCode"], refused["writes"]) == (1, "refused", 1, 0)
    assert refused["plan"]["errors"]

    code, destroyed = _json_output("destroy", str(env_file), "-o", "json", "--auto-approve")
    assert_documented("destroy", destroyed)
    assert (code, destroyed["exitCode"]) == (0, 0)
    assert {f"server {names['public']}", f"server {names['private']}"} <= set(destroyed["deleted"])


def test_schema_help_names_every_output() -> None:
    result = CliRunner().invoke(app, ["schema", "--help"], env={"COLUMNS": "300"})
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert all(re.search(rf"\b{name}\b", text) for name in OUTPUTS), text
