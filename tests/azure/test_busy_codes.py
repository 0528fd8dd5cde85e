"""pgflex's retry policy waits out the service's busy answers, including the Entra administrators' own code."""

from __future__ import annotations

from azure.core.exceptions import HttpResponseError

from pgflex.azure.retry import RetryPolicy, is_transient
from support.emulator import Clients, EmulatorHandle, server_body

USER_ID = "8a3b5c1d-0000-4000-8000-00000000b001"
ADMIN = {"properties": {"principalName": "alice@contoso.com", "principalType": "User"}}


def test_an_administrator_write_to_a_busy_server_is_retried_until_it_is_taken(
    clients: Clients, emulator: EmulatorHandle, resource_group: str, server_name: str
) -> None:
    postgres = clients.postgres
    body = server_body()
    body["properties"]["authConfig"] = {"activeDirectoryAuth": "Enabled", "passwordAuth": "Enabled"}
    postgres.servers.begin_create_or_update(resource_group, server_name, body).result()
    emulator.tune(operation_seconds=1.0)
    update = postgres.servers.begin_update(resource_group, server_name, {"tags": {"a": "1"}})
    refusals: list[BaseException] = []

    def add() -> object:
        return postgres.administrators_microsoft_entra.begin_create_or_update(
            resource_group, server_name, USER_ID, ADMIN
        ).result()

    added = RetryPolicy(initial_seconds=0.1, max_seconds=0.3).call(
        server_name, "add administrator", add, on_retry=lambda error, _wait: refusals.append(error)
    )
    update.result()
    assert added is not None
    assert refusals, "the write met the running update at least once"
    codes = {error.error.code for error in refusals if isinstance(error, HttpResponseError) and error.error}
    assert codes == {"AadAuthOperationCannotBePerformedWhenServerIsNotAccessible"}
    assert all(is_transient(error) for error in refusals)
