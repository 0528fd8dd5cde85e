"""Find where a key was written in a spec file, after loading, for problems found later (pre-flight).

The normalised `Environment` keeps the file name and each server's position, not the position of every
value; a check that needs Azure (is this SKU offered in the location?) finds the exact line here, by key
path, reading the file again only when there is something to report.
"""

from __future__ import annotations

import re
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from pgflex.spec.errors import SpecError, SpecIssue
from pgflex.spec.findings import Loc
from pgflex.spec.model import Server
from pgflex.spec.source_map import format_key_path
from pgflex.spec.yaml_reader import parse_yaml, read_spec_text

_SERVER_PATH = re.compile(r"servers\[(\d+)\]")


class SpecLocator:
    """Positions in one spec file, read on the first question."""

    def __init__(self, file: str) -> None:
        self.file = file
        self._root: Any = None
        self._read = False

    def _document(self) -> Any:
        if not self._read:
            self._read = True
            try:
                self._root = parse_yaml(read_spec_text(self.file), self.file)
            except SpecError:  # gone or changed since it was loaded: messages keep the file name
                self._root = None
        return self._root

    def issue(self, message: str, *paths: Loc) -> SpecIssue:
        """An issue at the first of ``paths`` written in the file (a server's own key, then the defaults')."""
        found = self._first(paths, message)
        return found or SpecIssue(self.file, 1, 1, format_key_path(paths[0]) if paths else "", message)

    def server_issue(self, server: Server, message: str, *keys: str | int) -> SpecIssue:
        """An issue at ``keys`` under ``server``, or under ``defaults`` when the server inherits them."""
        origin = server.origin
        match = _SERVER_PATH.fullmatch(origin.key_path)
        if match is not None:
            found = self._first((("servers", int(match.group(1)), *keys), ("defaults", *keys)), message)
            if found is not None:
                return found
        # An Environment built in code, or a key the file does not spell out: the server's own position.
        key_path = ".".join([origin.key_path, *(str(key) for key in keys)])
        return SpecIssue(origin.file, origin.line, origin.column, key_path, message)

    def _first(self, paths: tuple[Loc, ...], message: str = "") -> SpecIssue | None:
        for path in paths:
            position = self._position(path)
            if position is not None:
                return SpecIssue(self.file, position[0] + 1, position[1] + 1, format_key_path(path), message)
        return None

    def _position(self, path: Loc) -> tuple[int, int] | None:
        node = self._document()
        position: tuple[int, int] | None = None
        for part in path:
            if isinstance(node, CommentedMap) and isinstance(part, str) and part in node:
                try:
                    position = node.lc.value(part)
                except KeyError:  # inherited through a YAML merge key: no position of its own
                    return None
                node = node[part]
            elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
                position = node.lc.item(part)
                node = node[part]
            else:
                return None
        return position


__all__ = ["SpecLocator"]
