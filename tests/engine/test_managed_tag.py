"""The managed tag: pgflex sets it on what it creates; plans neither add it nor remove it; a tags PATCH keeps it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgflex.azure.retry import RetryPolicy
from pgflex.engine.api import apply, plan
from pgflex.engine.managed import MANAGED_TAG, MANAGED_TAG_VALUE
from pgflex.engine.plan import Action, Kind
from pgflex.spec import load_spec
from support.emulator import Clients, EmulatorHandle, server_body, unique
from support.specs import environment, public_server, write

PASSWORD = "Managed-Passw0rd!x"
FAST_RETRY = RetryPolicy(initial_seconds=0.05, max_seconds=0.5)
MANAGED = {MANAGED_TAG: MANAGED_TAG_VALUE}


def _spec(path: Path, group: str, name: str, tags: dict[str, str]) -> Path:
    return write(path, environment(group, [public_server(name, {"office": "203.0.113.0/24"}, tags=tags)]))


def _tags(clients: Clients, group: str, name: str) -> dict[str, str]:
    return dict(clients.postgres.servers.get(group, name).tags or {})


def _tag_changes(spec: Path) -> list[Action]:
    return [
        change.action
        for server in plan(load_spec(spec), retry=FAST_RETRY).servers
        for change in server.changes
        if change.kind is Kind.SERVER and change.name.endswith(".tags")
    ]


@pytest.fixture(autouse=True)
def password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGFLEX_ADMIN_PASSWORD", PASSWORD)


def test_a_server_pgflex_creates_carries_the_tag_and_keeps_it_through_a_tags_patch(
    emulator: EmulatorHandle, clients: Clients, tmp_path: Path
) -> None:
    group, name = unique("rg-tag"), unique("made")
    spec = _spec(tmp_path / "env.yaml", group, name, {"team": "db"})
    created = next(c for c in plan(load_spec(spec)).servers[0].changes if c.kind is Kind.SERVER)
    assert created.action is Action.CREATE and created.after["tags"] == {"team": "db", **MANAGED}  # the plan says so
    assert apply(spec, retry=FAST_RETRY).converged
    assert _tags(clients, group, name) == {"team": "db", **MANAGED}
    assert _tag_changes(spec) == []  # the tag pgflex set is no difference from the spec

    _spec(spec, group, name, {"team": "data"})
    change = next(c for c in plan(load_spec(spec)).servers[0].changes if c.name.endswith(".tags"))
    assert change.after == {"team": "data", **MANAGED}  # what the PATCH sends
    assert apply(spec, retry=FAST_RETRY).converged
    assert _tags(clients, group, name) == {"team": "data", **MANAGED}

    # Removed out of band: a plan does not put it back (only pgflex's next tags write would keep it, and the
    # server no longer has it).
    body = {"tags": {"team": "data"}}
    clients.postgres.servers.begin_update(group, name, body).result()  # type: ignore[call-overload]
    assert _tag_changes(spec) == []


def test_a_server_pgflex_did_not_create_is_not_tagged_by_a_plan_nor_by_a_tags_patch(
    emulator: EmulatorHandle, clients: Clients, tmp_path: Path
) -> None:
    group, name = unique("rg-tag"), unique("found")
    clients.resources.resource_groups.create_or_update(group, {"location": "westeurope"})
    body = {**server_body(), "tags": {"team": "db"}}
    clients.postgres.servers.begin_create_or_update(group, name, body).result()  # type: ignore[call-overload]
    spec = _spec(tmp_path / "env.yaml", group, name, {"team": "db"})
    assert _tag_changes(spec) == []  # lacking the managed tag is no difference

    _spec(spec, group, name, {"team": "data"})
    assert _tag_changes(spec) == [Action.UPDATE]
    assert apply(spec, retry=FAST_RETRY).converged
    assert _tags(clients, group, name) == {"team": "data"}
