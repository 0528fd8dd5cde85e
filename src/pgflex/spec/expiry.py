"""Break-glass with an end: a policy exception may carry ``expires``, the date it lapses.

From that day on the exception is a policy error: `validate` refuses the file, and `plan` and `drift` report
it as a plan error (the loader defers it with the catalogue's findings, so that a drift job exits 2 naming it
rather than failing to load). Until then the exception waives its rule as any other does. ``today`` is a
parameter everywhere, so that tests can pin it; None means the local calendar's today.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pgflex.spec.document import ServerSpec
from pgflex.spec.findings import Finding
from pgflex.spec.shared import PolicyException

# An exception this close to its end is worth a warning: long enough to renew it through a review.
EXPIRING_SOON_DAYS = 14

ExpiryStatus = Literal["valid", "expiring", "no-expiry", "expired"]


def days_left(exception: PolicyException, today: date | None = None) -> int | None:
    """Days until ``expires`` (0 on the day itself, when it has already lapsed; negative after); None without one."""
    if exception.expires is None:
        return None
    return (exception.expires - (today or date.today())).days


def expiry_status(exception: PolicyException, today: date | None = None) -> ExpiryStatus:
    left = days_left(exception, today)
    if left is None:
        return "no-expiry"
    if left <= 0:
        return "expired"
    return "expiring" if left <= EXPIRING_SOON_DAYS else "valid"


def plural_days(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"


def expired_message(exception: PolicyException, today: date | None = None) -> str:
    left = days_left(exception, today) or 0
    ago = "today" if left == 0 else f"{plural_days(-left)} ago"
    return (
        f"exception {exception.rule} expired on {exception.expires} ({ago}): "
        "renew it with a new date and reason, or remove it"
    )


def expired_findings(index: int, server: ServerSpec, today: date | None = None) -> list[Finding]:
    """One finding per lapsed exception of servers[index], at its ``expires`` key."""
    return [
        Finding(("servers", index, "exceptions", position, "expires"), expired_message(exception, today), at_key=True)
        for position, exception in enumerate(server.exceptions)
        if expiry_status(exception, today) == "expired"
    ]
