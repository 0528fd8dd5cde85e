"""JSON Schema of env.yaml, generated from the document models.

Regenerate the committed copy with:

    python -m pgflex.spec.schema > infra/env.schema.json
"""

from __future__ import annotations

import json
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from pgflex.spec.document import SpecDocument

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


class _SchemaGenerator(GenerateJsonSchema):
    """Tuned for people editing YAML rather than for pydantic round trips."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        # Pydantic titles every field after its Python name ("Sizegb"); the descriptions say more.
        return False

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        # Optional keys are modelled as `X | None`; in the file one omits them rather than writing null.
        return self.generate_inner(schema["schema"])


def json_schema() -> dict[str, Any]:
    """The JSON Schema of an environment file, as editors and `jsonschema` consume it."""
    body = SpecDocument.model_json_schema(by_alias=True, mode="validation", schema_generator=_SchemaGenerator)
    _drop_null_defaults(body)
    return {"$schema": SCHEMA_DIALECT, **body}


def _drop_null_defaults(node: Any) -> None:
    """Remove `"default": null` where null is not even allowed (optional keys pydantic models as None)."""
    if isinstance(node, dict):
        if "default" in node and node["default"] is None and not _allows_null(node):
            del node["default"]
        for value in node.values():
            _drop_null_defaults(value)
    elif isinstance(node, list):
        for value in node:
            _drop_null_defaults(value)


def _allows_null(node: dict[str, Any]) -> bool:
    return node.get("type") == "null" or any(_allows_null(option) for option in node.get("anyOf", []))


def render_schema() -> str:
    """The schema as committed in infra/env.schema.json (stable key order, trailing newline)."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    print(render_schema(), end="")


if __name__ == "__main__":
    main()
