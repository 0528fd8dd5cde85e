"""Where every key and value of a spec file was written, by key path, and the issues located there.

`SourceMap` is filled while the loader converts ruamel.yaml's round-trip nodes (which carry line and
column) to plain values; pydantic's error locations and the rules' findings are key paths, mapped back to
positions here. It also records which values read environment variables, so that no message shows them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pgflex.spec.errors import SpecIssue
from pgflex.spec.findings import Loc
from pgflex.spec.model import SourceLocation
from pgflex.spec.redaction import Interpolation


@dataclass
class SourceMap:
    """Positions (0-based line and column) of every key and value, by key path."""

    file: str
    key_positions: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    value_positions: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    # A merged server's settings that came from `defaults`: server path -> defaults path.
    aliases: dict[Loc, Loc] = field(default_factory=dict)
    # Values whose interpolation failed (already reported), so that validation stays quiet about them.
    broken: set[Loc] = field(default_factory=set)
    # Values that read environment variables: never quoted in a message.
    interpolations: dict[Loc, Interpolation] = field(default_factory=dict)

    def issue(self, loc: Loc, message: str, *, at_key: bool = False) -> SpecIssue:
        physical = self.unalias(loc)
        known = physical
        while known and known not in self.key_positions:
            known = known[:-1]  # a missing key: point at its parent
        if not known:
            line, column = 0, 0
        elif known == physical and not at_key:
            line, column = self.value_positions.get(known, self.key_positions[known])
        else:
            line, column = self.key_positions[known]
        return SpecIssue(self.file, line + 1, column + 1, format_key_path(physical), message)

    def location(self, loc: Loc) -> SourceLocation:
        issue = self.issue(loc, "", at_key=True)
        return SourceLocation(file=issue.file, line=issue.line, column=issue.column, key_path=issue.key_path)

    def unalias(self, loc: Loc) -> Loc:
        for length in range(len(loc), 0, -1):
            target = self.aliases.get(loc[:length])
            if target is not None:
                return target + loc[length:]
        return loc


def format_key_path(loc: Loc) -> str:
    """('servers', 0, 'tls', 'minVersion') -> 'servers[0].tls.minVersion'."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


__all__ = ["SourceMap", "format_key_path"]
