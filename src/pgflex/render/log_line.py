"""The one shape of a result in a log: ``SCOPE CHECK STATUS detail`` on a single line.

Its own module, importing nothing, so that light commands (``pgflex exceptions``) share it without loading
the plan and verify models that ``render.lines`` needs.
"""

from __future__ import annotations


def one_line(text: str) -> str:
    return " | ".join(part.strip() for part in str(text).splitlines() if part.strip())


def result_line(scope: str, check: str, status: str, detail: str = "") -> str:
    line = f"{scope} {check} {status.upper()}"
    detail = one_line(detail)
    return f"{line} {detail}" if detail else line
