"""``pgflex verify``: prove on the live servers that TLS is what the spec says.

Results are data (`VerifyReport`, `SessionsReport`); rendering lives in ``pgflex.render.verify_view``.
"""

from .checks import Check, Endpoint, ServerReport, ServerSessions, SessionsReport, Status, VerifyReport
from .locate import VerifyError
from .runner import sessions, verify

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
