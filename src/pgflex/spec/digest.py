"""What a spec file was, as digests: of its bytes, and of each top-level key's value as written.

A saved plan records both (pgflex/engine/plan.py), so that apply can refuse it once the file has changed
and say which top-level keys changed. Values are digested before ``${VAR}`` interpolation: a digest never
depends on, or reveals, what a variable held.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def text_digest(text: str) -> str:
    """``sha256:<hex>`` of the text's UTF-8 bytes: for a file read whole, the digest of the file's bytes."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def top_level_digests(root: Any) -> tuple[tuple[str, str], ...]:
    """``(key, sha256:<hex>)`` for each top-level key of the parsed document, in the file's order."""
    if not isinstance(root, dict):
        return ()
    return tuple((str(key), _value_digest(value)) for key, value in root.items())


def _value_digest(value: Any) -> str:
    canonical = json.dumps(_plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def _plain(node: Any) -> Any:
    """ruamel.yaml's round-trip values as plain JSON values (mapping keys as strings)."""
    if isinstance(node, dict):
        return {str(key): _plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_plain(value) for value in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return repr(float(node))  # NaN and infinities included; the digest only needs a stable spelling
    return str(node)
