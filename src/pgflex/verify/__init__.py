"""``pgflex verify``: prove on the live servers that TLS is what the spec says.

Results are data (`VerifyReport`, `SessionsReport`); rendering lives in ``pgflex.render.verify_view``.
The runner (psycopg, the emulator client) is imported on first use of ``verify``, ``sessions`` or
``VerifyError``: renderers and reports read ``pgflex.verify.checks`` without paying for it.
"""

from typing import TYPE_CHECKING, Any

from .checks import Check, Endpoint, ServerReport, ServerSessions, SessionsReport, Status, VerifyReport

if TYPE_CHECKING:
    from .locate import VerifyError
    from .runner import sessions, verify

_LAZY = {"VerifyError": "locate", "sessions": "runner", "verify": "runner"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Check",
    "Endpoint",
    "ServerReport",
    "ServerSessions",
    "SessionsReport",
    "Status",
    "VerifyError",
    "VerifyReport",
    "sessions",
    "verify",
]
