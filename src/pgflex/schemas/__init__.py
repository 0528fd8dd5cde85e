"""JSON Schemas (draft 2020-12) of the JSON documents pgflex prints, shipped with the package.

Each document names itself with ``kind`` (``pgflex.<name>``) and ``formatVersion``; its schema is
``<name>.schema.json`` here, with ``$id`` ``urn:pgflex:output:<name>:<formatVersion>``. A schema that nests
another document (apply holds a plan and a verify report) refers to it by that ``$id``; ``output_schema``
returns it bundled, the referenced schemas embedded under ``$defs``, so that it stands alone.

Imported by the CLI on every run of ``pgflex schema``: keep it to the standard library.
"""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

OUTPUTS = ("plan", "verify", "sessions", "apply", "destroy", "drift", "exceptions", "audit")
ID_PREFIX = "urn:pgflex:output:"


def output_schema(name: str) -> dict[str, Any]:
    """The JSON Schema of the ``name`` document (one of ``OUTPUTS``), self-contained; a fresh copy each call."""
    schema = _read(name)
    embedded: dict[str, dict[str, Any]] = {}
    pending = _references(schema)
    while pending:
        other = pending.pop()
        if other != name and other not in embedded:
            embedded[other] = _read(other)
            pending |= _references(embedded[other])
    if embedded:
        # A compound document (JSON Schema 2020-12, section 9.3): each embedded resource keeps its $id,
        # which is what the references name, so they resolve inside this one document.
        definitions = schema.setdefault("$defs", {})
        for other in sorted(embedded):
            definitions[f"pgflex.{other}"] = embedded[other]
    return schema


def _read(name: str) -> dict[str, Any]:
    if name not in OUTPUTS:
        raise ValueError(f"pgflex has no output named {name!r}; the documented outputs are {', '.join(OUTPUTS)}")
    text = files(__name__).joinpath(f"{name}.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _references(node: Any) -> set[str]:
    """The names of the other output schemas ``node`` refers to."""
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(ID_PREFIX):
            found.add(ref.removeprefix(ID_PREFIX).split(":", 1)[0])
        for value in node.values():
            found |= _references(value)
    elif isinstance(node, list):
        for value in node:
            found |= _references(value)
    return found
