"""A problem found by a rule, located by key path (YAML keys, list indexes); the loader turns the path into a
file position (pgflex.spec.source_map)."""

from __future__ import annotations

from dataclasses import dataclass

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Finding:
    """A problem at `loc`; `at_key` points at the key (or list item) rather than its value."""

    loc: Loc
    message: str
    at_key: bool = False
