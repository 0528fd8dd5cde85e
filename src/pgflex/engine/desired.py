"""What pgflex manages on a server, derived from the spec (shared by observe and diff)."""

from __future__ import annotations

from pgflex.spec import Server

VERIFY_EXTENSION = "sslinfo"


def desired_parameters(server: Server, *, verify: bool) -> dict[str, str]:
    """What pgflex sets: the spec's parameters and TLS policy, plus sslinfo when verify reads it."""
    wanted = dict(server.desired_parameters())
    if verify:
        extensions = {e for e in wanted.get("azure.extensions", "").split(",") if e}
        extensions.add(VERIFY_EXTENSION)
        wanted["azure.extensions"] = ",".join(sorted(extensions))
    return wanted
