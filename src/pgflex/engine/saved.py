"""A saved plan is bound to its inputs, and never trusted for values.

`pgflex plan --out plan.json` records, with the changes, what they were computed from: the spec file's
digest (and each top-level key's), the pgflex version and plan format, and the fingerprint of the observed
state. Before anything runs, apply checks the recorded version and spec against this pgflex and the spec
as it is now (no request sent: `check_inputs`), then computes the plan again from the spec and the live
state and runs only when that plan equals the saved one (`recheck`): equal changes, not merely an equal
fingerprint. What then runs is the plan just computed, never a value read from the saved file: an edited
plan (a rule widened, TLS relaxed, a server added, anything) is refused, whatever was edited.

Every refusal is a `SavedPlanError` (a PgflexError) with a one-line message naming ``label``: the file the
plan came from, or "the saved plan".
"""

from __future__ import annotations

from typing import Any

from pgflex.azure.clients import AzureClients
from pgflex.azure.retry import RetryPolicy
from pgflex.spec import Environment

from .plan import (
    EditedPlanError,
    Plan,
    PlanVersionError,
    StalePlanError,
    first_difference,
    key_path,
    pgflex_version,
)
from .planning import plan_now

SAVED_PLAN = "the saved plan"
NEW_PLAN = "make a new plan with `pgflex plan --out`"


def check_version(saved: Plan, *, label: str = SAVED_PLAN) -> None:
    """Refuse a plan another pgflex version made: it may plan, or apply, differently."""
    current = pgflex_version()
    if saved.pgflex_version != current:
        made_by = " ".join(saved.pgflex_version.split())[:40] or "(none recorded)"
        raise PlanVersionError(f"{label} was made by pgflex {made_by}; this is pgflex {current}: {NEW_PLAN}")


def check_spec(saved: Plan, env: Environment, *, label: str = SAVED_PLAN) -> None:
    """Refuse a plan made from another spec, or from this one before it changed; name the keys that changed."""
    if saved.spec_digest == env.source_digest:
        return
    recorded, now = dict(saved.spec_keys), dict(env.source_keys)
    changed = [key for key in now if recorded.get(key) != now[key]]
    changed += [key for key in recorded if key not in now]
    shown = [" ".join(key.split())[:40] for key in changed[:8]] + (["..."] if len(changed) > 8 else [])
    what = (
        f"top-level keys changed: {', '.join(shown)}"
        if changed
        else "no top-level key changed: comments or formatting only"
    )
    made_from = " ".join(saved.source.split())[:120]
    if env.source == saved.source:
        spec = f"{env.source} has changed since the plan was made"
    else:
        spec = f"{env.source} is not the spec the plan was made from ({made_from}) as it was then"
    raise StalePlanError(f"{label}: {spec} ({what}); {NEW_PLAN}")


def check_inputs(saved: Plan, env: Environment, *, label: str = SAVED_PLAN) -> None:
    """The checks that need no request: the pgflex version first, then the spec file."""
    check_version(saved, label=label)
    check_spec(saved, env, label=label)


def check_same(saved: Plan, current: Plan, *, label: str = SAVED_PLAN) -> None:
    """Refuse ``saved`` unless it is ``current``, the plan computed just now from the same spec and the live state."""
    if saved.fingerprint != current.fingerprint:
        raise StalePlanError(
            f"{label} is stale: what it observed has changed since it was made ({saved.fingerprint[:19]} → "
            f"{current.fingerprint[:19]}); {NEW_PLAN}"
        )
    ours, theirs = _comparable(current), _comparable(saved)
    at = first_difference(theirs, ours)
    if at is None:
        return
    where = key_path(at)
    change = _change_at(theirs, at) or _change_at(ours, at)
    what = f" ({change})" if change else ""
    if _missing(theirs, at):
        found = "is missing from it"
    elif _missing(ours, at):
        found = "is not in the plan made now"
    else:
        found = "differs"
    raise EditedPlanError(
        f"{label} is not the plan pgflex makes now from {current.source} and the environment: {where}{what} "
        f"{found}; it was changed after it was saved: {NEW_PLAN}"
    )


def recheck(
    env: Environment,
    clients: AzureClients,
    saved: Plan,
    *,
    label: str = SAVED_PLAN,
    parallelism: int = 8,
    retry: RetryPolicy | None = None,
) -> Plan:
    """The plan to run for ``saved``: computed again from ``env`` and the live state (reads only), and
    returned only when it equals ``saved``; a `SavedPlanError` otherwise. Run what this returns."""
    check_inputs(saved, env, label=label)
    current = plan_now(env, clients, parallelism=parallelism, verify=saved.verify, retry=retry)
    check_same(saved, current, label=label)
    return current


def _comparable(plan: Plan) -> dict[str, Any]:
    """The plan as a document, less the path it was given (a name, not what the plan does), what is derived
    from the changes (summary, hasChanges: compared through the changes themselves) and the changes' impact."""
    document = plan.to_dict()
    for derived in ("source", "summary", "hasChanges"):
        document.pop(derived)
    # Who a TLS change would cut off is an observation of sessions, which come and go; apply assesses it again.
    for server in document["servers"]:
        for change in server["changes"]:
            change.pop("impact", None)
    return document


def _child(node: Any, part: str | int) -> tuple[bool, Any]:
    """``node[part]`` in a JSON document: (found, value)."""
    if isinstance(node, list) and isinstance(part, int) and part < len(node):
        return True, node[part]
    if isinstance(node, dict) and isinstance(part, str) and part in node:
        return True, node[part]
    return False, None


def _missing(document: Any, at: tuple[str | int, ...]) -> bool:
    node = document
    for part in at:
        found, node = _child(node, part)
        if not found:
            return True
    return False


def _change_at(document: dict[str, Any], at: tuple[str | int, ...]) -> str:
    """The change (kind and name) or server the path runs through, for the message; "" when none."""
    node: Any = document
    named = ""
    for part in at:
        found, node = _child(node, part)
        if not found:
            break
        if isinstance(node, dict) and isinstance(node.get("name"), str):
            kind = node.get("kind")
            name = " ".join(node["name"].split())[:80]
            named = f"{kind} {name}" if isinstance(kind, str) else f"server {name}"
    return named
