"""The bearer-token verifier itself, without HTTP: every refusal is an Unauthorized (a 401), whatever a
token holds; only a well-formed, signed, current token for one of the route's audiences passes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pgflex.emulator.arm.auth import ARM_AUDIENCES, KEY_VAULT_AUDIENCES, PRINCIPAL_ID, Identity
from pgflex.emulator.errors import Unauthorized
from pgflex.emulator.settings import DEFAULT_TENANT
from support.tokens import ARM, MALFORMED, VAULT, bad_claims_cases, claims, forged, malformed, signing_key

BAD_CLAIMS = [pytest.param(changes, code, id=name) for name, changes, code in bad_claims_cases()]


@pytest.mark.parametrize(("changes", "code"), BAD_CLAIMS)
def test_bad_claims_are_refused_with_unauthorized(tmp_path: Path, changes: dict[str, Any], code: str) -> None:
    identity = Identity(tmp_path)
    token = forged(signing_key(tmp_path), claims(ARM, **changes))
    with pytest.raises(Unauthorized) as refused:
        identity.authenticate(f"Bearer {token}", ARM_AUDIENCES)
    assert refused.value.status == 401 and refused.value.code == code


@pytest.mark.parametrize("kind", MALFORMED)
def test_malformed_tokens_are_refused_with_unauthorized(tmp_path: Path, kind: str) -> None:
    identity = Identity(tmp_path)
    with pytest.raises(Unauthorized) as refused:
        identity.authenticate(f"Bearer {malformed(signing_key(tmp_path))[kind]}", ARM_AUDIENCES)
    assert refused.value.code == "InvalidAuthenticationToken"


def test_issued_tokens_pass_for_their_own_audience_only(tmp_path: Path) -> None:
    identity = Identity(tmp_path)
    token = identity.issue(identity.header_secret, VAULT)["access_token"]
    principal = identity.authenticate(f"Bearer {token}", KEY_VAULT_AUDIENCES)
    assert principal.object_id == PRINCIPAL_ID and principal.tenant_id == DEFAULT_TENANT
    with pytest.raises(Unauthorized) as refused:
        identity.authenticate(f"Bearer {token}", ARM_AUDIENCES)
    assert refused.value.code == "InvalidAuthenticationTokenAudience"


def test_tokens_stay_valid_across_restarts_of_the_identity(tmp_path: Path) -> None:
    token = Identity(tmp_path).issue(Identity(tmp_path).header_secret, ARM)["access_token"]
    assert Identity(tmp_path).authenticate(f"Bearer {token}", ARM_AUDIENCES).object_id == PRINCIPAL_ID
