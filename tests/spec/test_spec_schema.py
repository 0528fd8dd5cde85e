"""The committed JSON Schema is current, documented, and agrees with the examples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

from pgflex.spec import json_schema, render_schema

INFRA = Path(__file__).resolve().parents[2] / "infra"
SCHEMA_FILE = INFRA / "env.schema.json"
EXAMPLES = ["local.yaml", "public.yaml", "private.yaml", "settings.yaml"]


def load_yaml(name: str) -> Any:
    return YAML(typ="safe").load(INFRA / name)


def validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


def test_committed_schema_is_up_to_date() -> None:
    hint = "regenerate with: python -m pgflex.spec.schema > infra/env.schema.json"
    assert json.loads(SCHEMA_FILE.read_text(encoding="utf-8")) == json_schema(), hint
    assert SCHEMA_FILE.read_text(encoding="utf-8") == render_schema(), hint


def test_schema_is_self_describing() -> None:
    schema = json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "pgflex environment"
    jsonschema.Draft202012Validator.check_schema(schema)
    undocumented = [
        f"{model}.{key}"
        for model, definition in schema["$defs"].items()
        if model.endswith(("Spec", "Defaults", "Ref", "Create", "Source")) or model in ("Sku", "Storage")
        for key, prop in definition.get("properties", {}).items()
        if "description" not in prop
    ]
    assert undocumented == []


@pytest.mark.parametrize("name", EXAMPLES)
def test_examples_satisfy_the_schema(name: str) -> None:
    validator().validate(load_yaml(name))


def test_schema_rejects_an_unknown_key() -> None:
    document = load_yaml("local.yaml")
    document["servers"][0]["storage"] = {"sizeGb": 32, "iops": 3000}
    errors = list(validator().iter_errors(document))
    assert any("iops" in error.message for error in errors)


def test_schema_rejects_a_literal_password() -> None:
    document = load_yaml("public.yaml")
    document["servers"][0]["administrator"]["password"] = "hunter2"
    assert not validator().is_valid(document)
