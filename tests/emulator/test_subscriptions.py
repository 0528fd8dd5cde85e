"""Several subscriptions: registered through the admin endpoint, listed and used through the unmodified SDK."""

from __future__ import annotations

import uuid

import pytest

from pgflex.emulator.client import EmulatorRequestFailed
from pgflex.emulator.settings import DEFAULT_SUBSCRIPTION
from support.emulator import Clients, EmulatorHandle, server_body, unique


def test_added_subscriptions_are_listed_and_hold_their_own_servers(emulator: EmulatorHandle, clients: Clients) -> None:
    second = str(uuid.uuid4())
    emulator.add_subscription(second, "team b")
    listed = {s.subscription_id: s.display_name for s in clients.subscriptions.subscriptions.list()}
    assert listed[second] == "team b"
    assert DEFAULT_SUBSCRIPTION in listed
    got = clients.subscriptions.subscriptions.get(second)
    assert got.state == "Enabled" and got.display_name == "team b"

    other = emulator.clients(second)
    group = unique("rg")
    other.resources.resource_groups.create_or_update(group, {"location": "westeurope"})
    server = unique("pg")
    created = other.postgres.servers.begin_create_or_update(group, server, server_body()).result()
    assert created.id is not None and created.id.lower().startswith(f"/subscriptions/{second}/")
    assert [s.name for s in other.postgres.servers.list_by_subscription()] == [server]
    assert server not in [s.name for s in clients.postgres.servers.list_by_subscription()]

    emulator.add_subscription(second, "team b (renamed)")  # again: a rename, not a second entry
    names = [s.display_name for s in clients.subscriptions.subscriptions.list() if s.subscription_id == second]
    assert names == ["team b (renamed)"]


UNUSED = "5ab0c0de-0000-4000-8000-000000000001"  # never added: a refused PUT must not add it


@pytest.mark.parametrize(
    ("subscription", "body", "message"),
    [
        ("not-a-guid", {"displayName": "x"}, "is not a GUID"),
        (UNUSED, {}, "'displayName' must be a string"),
        (UNUSED, {"displayName": "x" * 65}, "'displayName' must be a string"),
        (UNUSED, ["x"], "must be a JSON object"),
    ],
    ids=["not-a-guid", "no-name", "name-too-long", "not-an-object"],
)
def test_adding_a_subscription_refuses_bad_input(
    emulator: EmulatorHandle, subscription: str, body: object, message: str
) -> None:
    with pytest.raises(EmulatorRequestFailed) as raised:
        emulator.admin().call("PUT", f"/_emulator/subscriptions/{subscription}", body)
    assert raised.value.status == 400 and message in raised.value.body
    listed = [
        s["subscriptionId"] for s in emulator.admin().call("GET", "/subscriptions?api-version=2022-12-01")["value"]
    ]
    assert UNUSED not in listed
