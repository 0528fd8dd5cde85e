"""Read a spec file and parse its YAML within the bounds of `pgflex.spec.limits`.

Size is checked before reading. Depth, alias expansion and integer length are checked while ruamel.yaml
composes its node graph, before anything is constructed from it: composing is linear in the file (an
alias is a reference to a node already composed), so the checks cost nothing on an ordinary file and stop
a hostile one at the node where it crosses a limit, with that node's line and column.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent
from ruamel.yaml.nodes import MappingNode, SequenceNode
from ruamel.yaml.scanner import RoundTripScanner

from pgflex.spec.errors import SpecError, SpecIssue
from pgflex.spec.limits import MAX_ALIAS_NODES, MAX_DEPTH, MAX_FILE_BYTES, MAX_INT_DIGITS

_INT_TAG = "tag:yaml.org,2002:int"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_STR_TAG = "tag:yaml.org,2002:str"


def read_spec_text(path: str | Path) -> str:
    """The file's text, refusing a file over `MAX_FILE_BYTES` before reading it (and reading no more than that)."""
    file = str(path)
    try:
        with Path(path).open("rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            if size > MAX_FILE_BYTES:
                raise _too_large(file, size)
            data = stream.read(MAX_FILE_BYTES + 1)  # a pipe or a growing file has no reliable size
    except OSError as exc:
        raise SpecError([SpecIssue(file, 1, 1, "", f"cannot read the file: {exc}")]) from None
    if len(data) > MAX_FILE_BYTES:
        raise _too_large(file, None)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        reason = f"byte 0x{data[exc.start]:02x} is not UTF-8 ({exc.reason})"
        raise SpecError([SpecIssue(file, line, column, "", f"cannot read the file: {reason}")]) from None


def _too_large(file: str, size: int | None) -> SpecError:
    actual = f"{size:,} bytes" if size is not None else f"more than {MAX_FILE_BYTES:,} bytes"
    message = f"the file is {actual}; pgflex reads spec files of at most 1 MiB ({MAX_FILE_BYTES:,} bytes)"
    return SpecError([SpecIssue(file, 1, 1, "", message)])


def parse_yaml(text: str, file: str) -> Any:
    """The one YAML document in `text` as ruamel.yaml round-trip objects (which keep every position)."""
    # More characters than the limit is more bytes too; only a shorter text needs encoding to tell.
    if len(text) > MAX_FILE_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise _too_large(file, None)
    yaml = YAML(typ="rt")
    yaml.Scanner = _BoundedScanner
    yaml.Composer = _BoundedComposer
    try:
        documents = list(yaml.load_all(text))
    except _LimitExceeded as exc:
        raise SpecError([SpecIssue(file, exc.line, exc.column, "", exc.message)]) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = " ".join(part for part in (exc.context, exc.problem) if part)
        raise SpecError([SpecIssue(file, line, column, "", f"YAML syntax error: {problem}")]) from None
    except YAMLError as exc:
        raise SpecError([SpecIssue(file, 1, 1, "", f"YAML error: {exc}")]) from None
    if len(documents) > 1:
        raise SpecError([SpecIssue(file, 1, 1, "", "the file must hold one YAML document, not several")])
    return documents[0] if documents else None


class _LimitExceeded(Exception):
    def __init__(self, mark: Any, message: str) -> None:
        super().__init__(message)
        self.line = mark.line + 1 if mark is not None else 1
        self.column = mark.column + 1 if mark is not None else 1
        self.message = message


class _BoundedScanner(RoundTripScanner):
    """Refuses flow collections (`[`, `{`) nested deeper than `MAX_DEPTH` as soon as it reads one.

    The composer below checks every kind of nesting, but only once the scanner has read ahead; on a line
    of thousands of `[` that read-ahead alone takes ruamel.yaml half a second.
    """

    def fetch_flow_collection_start(self, *args: Any, **kwargs: Any) -> None:
        if self.flow_level >= MAX_DEPTH:
            raise _LimitExceeded(self.reader.get_mark(), _too_deep())
        super().fetch_flow_collection_start(*args, **kwargs)


def _too_deep() -> str:
    return f"the YAML nests deeper than {MAX_DEPTH} levels; pgflex reads at most {MAX_DEPTH}"


class _BoundedComposer(Composer):
    """ruamel.yaml's composer, counting depth, nodes reached through aliases and integer digits as it goes."""

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        self._nesting = 0
        self._own_nodes = 0
        self._through_aliases = 0
        # Collections composed so far -> how many nodes each stands for once its aliases are expanded.
        self._expanded: dict[int, int] = {}

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        if isinstance(event, AliasEvent):
            node = super().compose_node(parent, index)
            # An alias of an unfinished ancestor (a recursive structure) is constructed as null: one node.
            self._through_aliases += self._expanded.get(id(node), 1)
            allowed = max(MAX_ALIAS_NODES, self._own_nodes)
            if self._through_aliases > allowed:
                raise _LimitExceeded(
                    event.start_mark,
                    f"YAML aliases expand to more than {allowed:,} nodes here (alias *{event.anchor}); pgflex "
                    f"expands at most {MAX_ALIAS_NODES:,}, or as many as the file has of its own",
                )
            return node
        self._nesting += 1
        if self._nesting > MAX_DEPTH:
            raise _LimitExceeded(event.start_mark, _too_deep())
        node = super().compose_node(parent, index)
        self._nesting -= 1
        self._own_nodes += 1
        if isinstance(node, SequenceNode):
            self._expanded[id(node)] = 1 + sum(self._expanded.get(id(item), 1) for item in node.value)
        elif isinstance(node, MappingNode):
            self._expanded[id(node)] = 1 + sum(
                self._expanded.get(id(key), 1) + self._expanded.get(id(value), 1) for key, value in node.value
            )
        return node

    def compose_scalar_node(self, anchor: Any) -> Any:
        node = super().compose_scalar_node(anchor)
        if str(node.tag) == _TIMESTAMP_TAG:
            # Dates stay text, checked by the model that expects one (exceptions' expires) with the key's
            # position: ruamel.yaml would turn 2027-02-30 into a bare ValueError, and a date into a tag value
            # or a name is a string anyway.
            node.tag = _STR_TAG
        if str(node.tag) == _INT_TAG:
            digits = len(node.value.lstrip("+-").replace("_", ""))
            if digits > MAX_INT_DIGITS:
                # Python refuses to read integers of more than 4300 digits at all; no setting needs 33.
                limit = f"pgflex reads integers of at most {MAX_INT_DIGITS} digits"
                raise _LimitExceeded(node.start_mark, f"an integer of {digits:,} digits is too long; {limit}")
        return node


__all__ = ["parse_yaml", "read_spec_text"]
