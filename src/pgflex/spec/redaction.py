"""Values read from environment variables never appear in a message.

`${VAR}` may hold anything, a password included (someone writes `location: ${PGFLEX_ADMIN_PASSWORD}`, or
`fromEnv: "${PGFLEX_ADMIN_PASSWORD}"` where the variable's name belongs). Validators and rules quote the
values they refuse, and a value can surface in a message about another key (a duplicate server name, an
overlapping firewall rule). So the loader records every interpolation, and every issue that leaves
`parse_spec` passes through `redact_issues`: each interpolated value, and each variable's value, in the
forms messages use (as written, quoted by repr, stripped, lower- or upper-cased), is replaced by what
produced it, such as ``the value of ${PGFLEX_ADMIN_PASSWORD}``. Short values (under eight characters) are
replaced only as whole words, so that a variable holding "16" does not rewrite "16384".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from pgflex.spec.errors import SpecIssue

# Below this length a value is matched only as a whole word. Azure's passwords have at least 8 characters.
_WHOLE_WORD_BELOW = 8
_ONE_VARIABLE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")


@dataclass(frozen=True)
class Interpolation:
    """One string value that read environment variables: as written, as it became, and each variable's value."""

    written: str
    value: str
    variables: tuple[tuple[str, str], ...]

    @property
    def placeholder(self) -> str:
        if _ONE_VARIABLE.fullmatch(self.written):
            return f"the value of {self.written}"
        return f"the value of {self.written!r}"


def redact_issues(issues: Iterable[SpecIssue], interpolations: Iterable[Interpolation]) -> list[SpecIssue]:
    """`issues` with every interpolated value taken out of their messages."""
    redactor = _Redactor(interpolations)
    return [replace(issue, message=redactor.redact(issue.message)) for issue in issues]


class _Redactor:
    def __init__(self, interpolations: Iterable[Interpolation]) -> None:
        known = list(interpolations)
        self._replacements: dict[str, str] = {}
        for item in known:  # whole values first: "pg-<secret>" reads better as the value of 'pg-${VAR}'
            self._add(item.value, item.placeholder)
        for item in known:
            for name, value in item.variables:
                self._add(value, f"the value of ${{{name}}}")
        needles = sorted(self._replacements, key=len, reverse=True)  # longest first: a repr before its inside
        self._pattern = re.compile("|".join(_needle_pattern(needle) for needle in needles)) if needles else None

    def _add(self, value: str, placeholder: str) -> None:
        for form in (repr(value), ascii(value), value, value.strip(), value.lower(), value.upper()):
            if form.strip():
                self._replacements.setdefault(form, placeholder)

    def redact(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda match: self._replacements[match.group(0)], text)


def _needle_pattern(needle: str) -> str:
    pattern = re.escape(needle)
    if len(needle) < _WHOLE_WORD_BELOW:
        if re.match(r"\w", needle):
            pattern = r"(?<!\w)" + pattern
        if re.search(r"\w$", needle):
            pattern += r"(?!\w)"
    return pattern


__all__ = ["Interpolation", "redact_issues"]
