"""Microsoft Entra logins in data plane tests: a data plane that checks tokens, tokens good and bad."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from pgflex.emulator.arm.auth import ISSUER, OSSRDBMS_AUDIENCES, PRINCIPAL_ID, Identity, Principal
from pgflex.emulator.dataplane import DataPlane, EntraAdministrator
from pgflex.emulator.pki import CertificateAuthority
from pgflex.emulator.settings import DEFAULT_TENANT

from .conftest import Server, new_server_name

OSSRDBMS = "https://ossrdbms-aad.database.windows.net"
# The emulator's managed identity, as an Entra administrator of the servers under test.
DEPLOYER = EntraAdministrator(PRINCIPAL_ID, "ci-deployer@contoso.com", "ServicePrincipal", DEFAULT_TENANT)
OTHER_ID = "11111111-2222-3333-4444-555555555555"
ENTRA_REFUSED = "LDAP authentication failed"  # PostgreSQL's own message when the responder says no


def token_verifier(identity: Identity) -> Callable[[str], Principal]:
    """What the emulator hands its data plane (server.load_runtime)."""
    return lambda token: identity.verify_access_token(token, OSSRDBMS_AUDIENCES)


def issued_token(identity: Identity, resource: str = OSSRDBMS) -> str:
    """A token from the identity endpoint, exactly as a client of the emulator gets one."""
    return str(identity.issue(identity.header_secret, resource)["access_token"])


def signed_token(key: bytes, **changes: Any) -> str:
    """A token signed by the test (with ``key``): the identity endpoint's claims, with ``changes``."""
    now = int(time.time())
    claims = {"aud": OSSRDBMS, "iss": ISSUER, "iat": now, "nbf": now, "exp": now + 3600, "oid": PRINCIPAL_ID}
    claims |= {"sub": PRINCIPAL_ID, "tid": DEFAULT_TENANT, "idtyp": "app", **changes}

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    signed = f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}"
    signature = hmac.new(key, signed.encode(), hashlib.sha256).digest()
    return f"{signed}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def identity_key(state_dir: Path) -> bytes:
    """The emulator's signing key, from the test's own state directory."""
    return (state_dir / "identity" / "signing.key").read_text().strip().encode()


def connect_as(
    server: Server, administrator: EntraAdministrator, token: str, **overrides: Any
) -> psycopg.Connection[tuple[Any, ...]]:
    """A connection as Azure's clients make one: the role is the principal's name, the password its token."""
    return server.connect(user=administrator.principal_name, password=token, **overrides)


def provision_entra_only(plane: DataPlane, ca: CertificateAuthority, *administrators: EntraAdministrator) -> Server:
    """A server with no password administrator, password authentication off, these Entra administrators."""
    name = new_server_name()
    plane.provision(name, f"{name}.postgres.database.azure.com", "15", "", "", {"azure.extensions": "sslinfo"})
    plane.apply_firewall(name, [("127.0.0.1", "127.0.0.1")], public_access=True)
    plane.set_authentication(name, password_enabled=False, entra_enabled=True, tenant_id=DEFAULT_TENANT)
    plane.set_entra_administrators(name, administrators)
    return Server(plane, name, ca.root_cert_path)
