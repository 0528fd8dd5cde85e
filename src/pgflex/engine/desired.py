"""What pgflex manages on a server, derived from the spec (shared by observe, diff and apply)."""

from __future__ import annotations

from pgflex.spec import Server

from .managed import MANAGED_TAG, MANAGED_TAG_VALUE, is_managed

VERIFY_EXTENSION = "sslinfo"


def desired_parameters(server: Server, *, verify: bool) -> dict[str, str]:
    """What pgflex sets: the spec's parameters and TLS policy, plus sslinfo when verify reads it."""
    wanted = dict(server.desired_parameters())
    if verify:
        extensions = {e for e in wanted.get("azure.extensions", "").split(",") if e}
        extensions.add(VERIFY_EXTENSION)
        wanted["azure.extensions"] = ",".join(sorted(extensions))
    return wanted


def desired_tags(server: Server, current: dict[str, str] | None = None) -> dict[str, str]:
    """The tags a write of ``server``'s tags sends: the spec's, and pgflex's managed tag when the server has it
    (``current``: its tags now; None for a server pgflex creates, which always gets it). The managed tag is not
    the spec's to set or remove (engine/managed.py)."""
    tags = {key: value for key, value in server.tags.items() if key != MANAGED_TAG}
    if current is None or is_managed(current):
        tags[MANAGED_TAG] = MANAGED_TAG_VALUE
    return tags


def comparable_tags(tags: dict[str, str]) -> dict[str, str]:
    """Tags as a plan compares them: without pgflex's managed tag, which it neither adds nor removes."""
    return {key: value for key, value in tags.items() if key != MANAGED_TAG}
