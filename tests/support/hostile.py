"""Hostile env.yaml files, each with where pgflex must refuse it (see pgflex.spec.limits)."""

from __future__ import annotations

from dataclasses import dataclass

from pgflex.spec.limits import MAX_FILE_BYTES

HEADER = "apiVersion: pgflex/v1\n"


@dataclass(frozen=True)
class Hostile:
    name: str
    text: str
    line: int  # 1-based, where the refusal must point
    column: int
    fragment: str  # part of the message


def alias_bomb() -> Hostile:
    """The "billion laughs": nine lists of nine aliases of the list before, 9**9 strings once expanded."""
    lines = [HEADER.rstrip("\n"), "x-a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    previous = "a"
    for name in "bcdefghi":
        lines.append(f"x-{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
        previous = name
    lines.append("environment: *i")
    # a, b, c and d expand to 8,289 nodes through aliases; the first *d in x-e crosses 10,000.
    line = 6
    return Hostile("alias-bomb", "\n".join(lines) + "\n", line, lines[line - 1].index("*d") + 1, "YAML aliases expand")


def merge_bomb() -> Hostile:
    """Merge keys copying one large mapping into many: quadratic rather than exponential, as hard to read."""
    keys = ", ".join(f"k{index}: v" for index in range(2000))
    lines = [HEADER.rstrip("\n"), f"x-big: &big {{{keys}}}", "x-copies:"]
    lines += ["  - {<<: *big}"] * 2000
    # x-big is 4,001 nodes of its own; the third copy brings aliases past 10,000.
    line = 6
    return Hostile(
        "merge-bomb", "\n".join(lines) + "\n", line, lines[line - 1].index("*big") + 1, "YAML aliases expand"
    )


def huge_integer() -> Hostile:
    text = HEADER + "environment:\n  name: " + "9" * 5000 + "\n"
    return Hostile("huge-integer", text, 3, 9, "an integer of 5,000 digits is too long")


def deep_flow() -> Hostile:
    """20,000 `[`: refused at the 65th."""
    prefix = "environment: "
    return Hostile("deep-flow", HEADER + prefix + "[" * 20_000 + "\n", 2, len(prefix) + 65, "nests deeper than 64")


def deep_block() -> Hostile:
    """Block mappings nested by indentation alone, one level a line."""
    lines = [HEADER.rstrip("\n"), "environment:"] + [" " * (level + 1) + f"k{level}:" for level in range(200)]
    # The mapping on line 65 is 64 levels deep; its first key is the 65th level.
    return Hostile("deep-block", "\n".join(lines) + "\n", 65, 64, "nests deeper than 64")


def oversized() -> Hostile:
    """Valid YAML of 5 MiB: a list that ruamel.yaml would take many seconds to read."""
    item = "  - " + "p" * 75 + "\n"
    text = HEADER + "x-padding:\n" + item * (5 * MAX_FILE_BYTES // len(item))
    return Hostile("oversized", text, 1, 1, "pgflex reads spec files of at most 1 MiB")


def every() -> list[Hostile]:
    return [alias_bomb(), merge_bomb(), huge_integer(), deep_flow(), deep_block(), oversized()]
