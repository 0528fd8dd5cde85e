"""Headers as Resource Manager sends them: a new GUID request id on every answer, the caller's correlation id
(or a new GUID), the routing id built from it, the client request id when asked for, and on a 401 the challenge
that names the tenant's authority. Seen through the SDK (raw_response_hook) and over raw HTTPS.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
import requests
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError, ResourceNotFoundError
from azure.mgmt.resource.resources import ResourceManagementClient

from pgflex.emulator.settings import DEFAULT_SUBSCRIPTION, DEFAULT_TENANT
from support.emulator import Clients, EmulatorHandle
from support.tokens import ARM, VAULT, minted

GROUPS = f"/subscriptions/{DEFAULT_SUBSCRIPTION}/resourcegroups"
ROUTING = re.compile(r"^[A-Z0-9]+:\d{8}T\d{6}Z:(?P<correlation>.+)$")
CHALLENGE = (
    'Bearer authorization_uri="https://login.windows.net/{tenant}", error="invalid_token", error_description="{reason}"'
)


def is_guid(value: str | None) -> bool:
    try:
        return value is not None and str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


class Recorded:
    """The headers of every response an SDK call received (its raw_response_hook)."""

    def __init__(self) -> None:
        self.responses: list[dict[str, str]] = []

    def __call__(self, pipeline_response: Any) -> None:
        self.responses.append(dict(pipeline_response.http_response.headers))


@pytest.fixture
def raw(emulator: EmulatorHandle) -> requests.Session:
    assert emulator.running is not None
    session = requests.Session()
    session.verify = str(emulator.running.ca_root)
    return session


def bearer(emulator: EmulatorHandle) -> dict[str, str]:
    return {"Authorization": f"Bearer {minted(emulator, ARM)}"}


def test_every_sdk_answer_carries_guid_request_and_correlation_ids(clients: Clients, resource_group: str) -> None:
    recorded = Recorded()
    clients.resources.resource_groups.get(resource_group, raw_response_hook=recorded)
    with pytest.raises(ResourceNotFoundError):
        clients.postgres.servers.get(resource_group, "absent", raw_response_hook=recorded)
    assert len(recorded.responses) == 2
    request_ids = []
    for headers in recorded.responses:
        assert is_guid(headers["x-ms-request-id"]), headers
        assert is_guid(headers["x-ms-correlation-request-id"]), headers
        routed = ROUTING.match(headers["x-ms-routing-request-id"])
        assert routed is not None and routed["correlation"] == headers["x-ms-correlation-request-id"]
        # Resource Manager's throttling headers are still there.
        assert int(headers["x-ms-ratelimit-remaining-subscription-reads"]) >= 0
        request_ids.append(headers["x-ms-request-id"])
    assert len(set(request_ids)) == len(request_ids)


def test_the_callers_correlation_id_comes_back_on_each_of_its_requests(clients: Clients, resource_group: str) -> None:
    correlation = str(uuid.uuid4())
    recorded = Recorded()
    for _ in range(2):
        clients.resources.resource_groups.get(
            resource_group, headers={"x-ms-correlation-request-id": correlation}, raw_response_hook=recorded
        )
    assert [h["x-ms-correlation-request-id"] for h in recorded.responses] == [correlation, correlation]
    assert all(h["x-ms-routing-request-id"].endswith(f":{correlation}") for h in recorded.responses)
    assert recorded.responses[0]["x-ms-request-id"] != recorded.responses[1]["x-ms-request-id"]


def test_the_client_request_id_comes_back_only_when_asked_for(
    emulator: EmulatorHandle, raw: requests.Session, clients: Clients
) -> None:
    client_id = str(uuid.uuid4())
    url = f"{emulator.base_url}{GROUPS}?api-version=2025-04-01"
    silent = raw.get(url, headers={**bearer(emulator), "x-ms-client-request-id": client_id}, timeout=30)
    assert "x-ms-client-request-id" not in silent.headers
    asked = raw.get(
        url,
        headers={**bearer(emulator), "x-ms-client-request-id": client_id, "x-ms-return-client-request-id": "true"},
        timeout=30,
    )
    assert asked.headers["x-ms-client-request-id"] == client_id


def test_refusals_and_failures_carry_the_ids_too(emulator: EmulatorHandle, raw: requests.Session) -> None:
    answers = [
        raw.get(f"{emulator.base_url}{GROUPS}?api-version=banana", headers=bearer(emulator), timeout=30),  # 400
        raw.get(f"{emulator.base_url}{GROUPS}/absent?api-version=2025-04-01", headers=bearer(emulator), timeout=30),
        raw.get(f"{emulator.base_url}{GROUPS}?api-version=2025-04-01", timeout=30),  # 401
    ]
    assert [answer.status_code for answer in answers] == [400, 404, 401]
    for answer in answers:
        assert is_guid(answer.headers["x-ms-request-id"]), answer.headers
        assert is_guid(answer.headers["x-ms-correlation-request-id"]), answer.headers


def test_a_401_challenges_as_resource_manager_does(emulator: EmulatorHandle, raw: requests.Session) -> None:
    url = f"{emulator.base_url}{GROUPS}?api-version=2025-04-01"
    missing = raw.get(url, timeout=30)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == CHALLENGE.format(
        tenant=DEFAULT_TENANT, reason="The authentication failed because of missing 'Authorization' header."
    )
    assert missing.json()["error"]["code"] == "AuthenticationFailed"
    # A Key Vault token is not one for Resource Manager: refused, with the same challenge for an invalid token.
    wrong = raw.get(url, headers={"Authorization": f"Bearer {minted(emulator, VAULT)}"}, timeout=30)
    assert wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"] == CHALLENGE.format(
        tenant=DEFAULT_TENANT, reason="The access token is invalid."
    )
    assert wrong.json()["error"]["code"] == "InvalidAuthenticationTokenAudience"


def test_the_sdk_still_reads_a_401_as_an_authentication_failure(emulator: EmulatorHandle) -> None:
    class VaultToken:
        """A credential that hands out tokens for the wrong audience (Key Vault's)."""

        def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
            return AccessToken(minted(emulator, VAULT), 2**31)

    wrong = ResourceManagementClient(
        VaultToken(), DEFAULT_SUBSCRIPTION, base_url=emulator.base_url, credential_scopes=[f"{ARM}.default"]
    )
    with pytest.raises(ClientAuthenticationError) as refused:
        next(iter(wrong.resource_groups.list()))
    assert refused.value.status_code == 401
    assert refused.value.response.headers["WWW-Authenticate"].startswith(
        'Bearer authorization_uri="https://login.windows.net/'
    )


def test_other_endpoints_answer_with_a_guid_request_id(emulator: EmulatorHandle, raw: requests.Session) -> None:
    assert emulator.running is not None
    metadata = raw.get(f"{emulator.base_url}/metadata/endpoints?api-version=2022-09-01", timeout=30)
    assert metadata.status_code == 200 and is_guid(metadata.headers["x-ms-request-id"])
    token = raw.get(
        f"{emulator.base_url}/msi/token?api-version=2019-08-01&resource={ARM}",
        headers={"X-IDENTITY-HEADER": emulator.running.identity_header},
        timeout=30,
    )
    assert token.status_code == 200 and is_guid(token.headers["x-ms-request-id"])
    assert "x-ms-correlation-request-id" not in token.headers  # the identity endpoint is not Resource Manager
