"""Bounds on what the spec layer reads, so that a hostile or broken file costs a clear error, not a machine.

A spec file is refused, with its file, line and column, when it is larger than `MAX_FILE_BYTES` (checked
before reading, and never more than that plus one byte is read), nests collections deeper than
`MAX_DEPTH`, makes YAML aliases (including `<<:` merge keys) produce more nodes than `MAX_ALIAS_NODES`
(or, in a larger file, than the file has nodes of its own: a "billion laughs" document is a few hundred
bytes that expand to billions of values), or writes an integer longer than `MAX_INT_DIGITS` digits.
A real env.yaml is a few kilobytes, nests about eight levels deep and shares a few dozen nodes
through anchors.
"""

from __future__ import annotations

MAX_FILE_BYTES = 1024 * 1024  # 1 MiB
MAX_DEPTH = 64
MAX_ALIAS_NODES = 10_000
MAX_INT_DIGITS = 32


__all__ = ["MAX_ALIAS_NODES", "MAX_DEPTH", "MAX_FILE_BYTES", "MAX_INT_DIGITS"]
