"""The tag pgflex writes on the servers it creates, so that an audit can tell managed servers from others.

It is not part of a server's desired tags: a plan neither adds it to a server that lacks it (an imported
server stays as it is until pgflex writes to it) nor removes it; a PATCH of tags keeps it.
"""

from __future__ import annotations

MANAGED_TAG = "managed-by"
MANAGED_TAG_VALUE = "pgflex"


def is_managed(tags: dict[str, str] | None) -> bool:
    return (tags or {}).get(MANAGED_TAG) == MANAGED_TAG_VALUE
