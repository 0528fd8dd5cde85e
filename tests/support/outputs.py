"""Checking a JSON document pgflex printed against what the package documents about it.

A document must validate against its shipped schema (``pgflex.schemas.output_schema``) and use camelCase for
every key pgflex chose. Keys that are data rather than pgflex's vocabulary are exempt: those of the maps the
schemas document with ``propertyNames`` (TLS versions, server names), and a server's tags, whose names come
from the spec.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

from pgflex.schemas import OUTPUTS, output_schema

CAMEL_CASE = re.compile(r"^[a-z][a-zA-Z0-9]*$")
USER_NAMED = frozenset({"tags"})  # in a change's before/after: the spec's tag names


@cache
def validator(name: str) -> Draft202012Validator:
    schema = output_schema(name)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _maps(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.get("properties", {}).items():
            if isinstance(value, dict) and "propertyNames" in value:
                found.add(key)
        for value in node.values():
            found |= _maps(value)
    elif isinstance(node, list):
        for value in node:
            found |= _maps(value)
    return found


@cache
def data_keyed() -> frozenset[str]:
    """Properties whose keys are data: the maps the schemas declare with propertyNames, and tags."""
    return frozenset(set().union(*(_maps(output_schema(name)) for name in OUTPUTS)) | USER_NAMED)


def non_camel_keys(node: Any, path: str = "$", exempt: frozenset[str] | None = None) -> list[str]:
    """The path of every key that is not camelCase, skipping the keys (not the values) of data-keyed maps."""
    exempt = data_keyed() if exempt is None else exempt
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if not CAMEL_CASE.match(key):
                found.append(f"{path}.{key}")
            if key in exempt and isinstance(value, dict):
                for name, inner in value.items():
                    found += non_camel_keys(inner, f"{path}.{key}[{name!r}]", exempt)
            else:
                found += non_camel_keys(value, f"{path}.{key}", exempt)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += non_camel_keys(value, f"{path}[{index}]", exempt)
    return found


def assert_documented(name: str, document: dict[str, Any]) -> None:
    """``document`` is a valid ``name`` document by its schema, with camelCase keys throughout."""
    assert document.get("kind") == f"pgflex.{name}", document.get("kind")
    errors = sorted(validator(name).iter_errors(document), key=lambda error: list(error.absolute_path))
    assert not errors, "\n".join(f"{list(error.absolute_path)}: {error.message}" for error in errors[:20])
    assert non_camel_keys(document) == []
