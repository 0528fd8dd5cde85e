"""Bearer tokens over real HTTPS: audience, issuer, lifetime and signature checked on every route.

Resource Manager routes and the admin endpoint take Resource Manager's audiences, Key Vault routes Key
Vault's. Tokens for other audiences come from the emulator's own identity endpoint (it issues tokens for
any resource); malformed ones are forged with its signing key (see support.tokens). A refusal is a 401 in
the route's error shape, never a 500, and leaves no traceback in the emulator's log.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from support.emulator import EmulatorHandle
from support.tokens import (
    ARM,
    MALFORMED,
    VAULT,
    bad_claims_cases,
    claims,
    forged,
    get,
    malformed,
    minted,
    signing_key,
)

SERVERS = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/providers/"
    "Microsoft.DBforPostgreSQL/flexibleServers?api-version=2026-10-01"
)
ROUTES = {
    "arm": SERVERS,
    "admin": "/_emulator/status",
    "keyvault": "/keyvault/kv-token-test/secrets/absent?api-version=7.4",
}
ALL_ROUTES = sorted(ROUTES)
BAD_CLAIMS = [pytest.param(changes, code, id=name) for name, changes, code in bad_claims_cases()]


def _refused(handle: EmulatorHandle, route: str, token: str) -> dict[str, Any]:
    """Assert a 401 in the route's error shape; return the error."""
    status, headers, body = get(handle, ROUTES[route], {"Authorization": f"Bearer {token}"})
    assert status == 401, (status, body)
    error = body["error"]
    assert set(error) == {"code", "message"} and error["code"] and error["message"]
    if route == "keyvault":  # Key Vault's own answer: its challenge, so that the SDK can get a token again
        assert error["code"] == "Unauthorized"
        assert 'resource="https://vault.azure.net"' in headers["WWW-Authenticate"]
    return dict(error)


def _accepted(handle: EmulatorHandle, route: str, token: str) -> None:
    status, _, body = get(handle, ROUTES[route], {"Authorization": f"Bearer {token}"})
    # The vault's absent secret: a 404 from the vault itself, past authentication.
    assert status == (404 if route == "keyvault" else 200), (status, body)


@pytest.fixture
def no_traceback(emulator: EmulatorHandle) -> Iterator[None]:
    """The emulator's log gains no traceback during the test."""
    log = emulator.state_dir / "emulator.log"
    start = log.stat().st_size
    yield
    with log.open("rb") as handle:
        handle.seek(start)
        added = handle.read().decode(errors="replace")
    assert "Traceback" not in added and "Exception in ASGI application" not in added, added[-3000:]


def _audience(route: str) -> str:
    return VAULT if route == "keyvault" else ARM


@pytest.mark.parametrize("route", ["arm", "admin"])
@pytest.mark.parametrize("audience", ["https://evil.example/", VAULT, "https://vault.azure.net/"])
@pytest.mark.usefixtures("no_traceback")
def test_arm_and_admin_refuse_tokens_for_another_audience(emulator: EmulatorHandle, route: str, audience: str) -> None:
    error = _refused(emulator, route, minted(emulator, audience))
    assert error["code"] == "InvalidAuthenticationTokenAudience"
    assert audience in error["message"]


@pytest.mark.parametrize("audience", ["https://evil.example/", ARM, "https://management.azure.com"])
def test_key_vault_refuses_tokens_for_another_audience(emulator: EmulatorHandle, audience: str) -> None:
    assert "audience" in _refused(emulator, "keyvault", minted(emulator, audience))["message"]


@pytest.mark.parametrize("route", ["arm", "admin"])
@pytest.mark.parametrize(
    "audience",
    [
        ARM,
        "https://management.azure.com",  # what azure-identity asks for, from the scope '<ARM>/.default'
        "https://management.core.windows.net/",  # az's: the first audience of /metadata/endpoints
        "https://management.core.windows.net",
    ],
)
def test_resource_manager_audiences_are_accepted(emulator: EmulatorHandle, route: str, audience: str) -> None:
    _accepted(emulator, route, minted(emulator, audience))


@pytest.mark.parametrize("audience", [VAULT, "https://vault.azure.net/"])
def test_key_vault_audience_is_accepted_by_the_vault(emulator: EmulatorHandle, audience: str) -> None:
    _accepted(emulator, "keyvault", minted(emulator, audience))


@pytest.mark.parametrize("route", ALL_ROUTES)
@pytest.mark.parametrize(("changes", "code"), BAD_CLAIMS)
@pytest.mark.usefixtures("no_traceback")
def test_tokens_with_bad_claims_get_401_never_500(
    emulator: EmulatorHandle, route: str, changes: dict[str, Any], code: str
) -> None:
    error = _refused(emulator, route, forged(signing_key(emulator.state_dir), claims(_audience(route), **changes)))
    if route != "keyvault":
        assert error["code"] == code


@pytest.mark.parametrize("route", ALL_ROUTES)
@pytest.mark.parametrize("kind", MALFORMED)
@pytest.mark.usefixtures("no_traceback")
def test_malformed_tokens_get_401_never_500(emulator: EmulatorHandle, route: str, kind: str) -> None:
    error = _refused(emulator, route, malformed(signing_key(emulator.state_dir))[kind])
    if route != "keyvault":
        assert error["code"] == "InvalidAuthenticationToken"


@pytest.mark.parametrize("route", ALL_ROUTES)
def test_a_few_minutes_of_clock_skew_are_allowed_not_more(emulator: EmulatorHandle, route: str) -> None:
    key, audience = signing_key(emulator.state_dir), _audience(route)
    _accepted(emulator, route, forged(key, claims(audience, nbf=120, iat=120)))
    _accepted(emulator, route, forged(key, claims(audience, exp=-120, nbf=-3600, iat=-3600)))
    _refused(emulator, route, forged(key, claims(audience, nbf=600, iat=600)))
    _refused(emulator, route, forged(key, claims(audience, exp=-600, nbf=-3600, iat=-3600)))


def test_identity_and_cloud_metadata_endpoints_stay_public(emulator: EmulatorHandle) -> None:
    status, _, body = get(emulator, "/metadata/endpoints?api-version=2022-09-01", {})
    assert status == 200 and body["resourceManager"] == f"{emulator.base_url}/"
    assert minted(emulator, ARM)
