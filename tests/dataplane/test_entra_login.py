"""Microsoft Entra logins on the real PostgreSQL: a token from the identity endpoint logs in as the administrator
it names, over TLS; every other token, and password login when it is off, is refused by PostgreSQL."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from pgflex.emulator import netns
from pgflex.emulator.arm.auth import PRINCIPAL_ID, Identity
from pgflex.emulator.dataplane import DataPlane, EntraAdministrator, PrivateNetwork
from pgflex.emulator.pki import CertificateAuthority
from pgflex.emulator.settings import DEFAULT_TENANT

from .conftest import ADMIN, PASSWORD, Server, new_server_name, provision, traversable_root
from .entra_support import (
    DEPLOYER,
    ENTRA_REFUSED,
    OTHER_ID,
    connect_as,
    identity_key,
    issued_token,
    provision_entra_only,
    signed_token,
    token_verifier,
)

pytestmark = pytest.mark.dataplane

NO_HBA_ENTRY = "no pg_hba.conf entry"
DBA = EntraAdministrator(OTHER_ID, "DBA Team", "Group", DEFAULT_TENANT)
NO_ISOLATION = netns.unavailable_reason()


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("state")


@pytest.fixture(scope="module")
def identity(state_dir: Path) -> Identity:
    return Identity(state_dir)


@pytest.fixture(scope="module")
def entra_plane(
    tmp_path_factory: pytest.TempPathFactory, ca: CertificateAuthority, identity: Identity
) -> Iterator[DataPlane]:
    with traversable_root(tmp_path_factory.mktemp("entra"), ca) as root:
        plane = DataPlane(root, ca, token_verifier=token_verifier(identity))
        yield plane
        plane.shutdown_all()


@pytest.fixture
def entra_server(entra_plane: DataPlane, ca: CertificateAuthority) -> Iterator[Server]:
    server = provision_entra_only(entra_plane, ca, DEPLOYER)
    yield server
    entra_plane.delete(server.name)


def test_entra_administrator_logs_in_by_token_over_tls_with_the_administrators_privileges(
    entra_server: Server, identity: Identity
) -> None:
    with connect_as(entra_server, DEPLOYER, issued_token(identity)) as conn:
        conn.execute("CREATE EXTENSION sslinfo")
        assert conn.execute("SELECT current_user, ssl_is_used()").fetchone() == (DEPLOYER.principal_name, True)
        privileges = conn.execute(
            "SELECT rolsuper, rolcreatedb, rolcreaterole, pg_has_role(current_user, 'azure_pg_admin', 'MEMBER')"
            " FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
    assert privileges == (False, True, True, True)


def test_password_login_is_refused_when_password_authentication_is_off(
    entra_plane: DataPlane, ca: CertificateAuthority, identity: Identity
) -> None:
    server = provision(entra_plane, ca, "pw-" + secrets.token_hex(4))
    try:
        with server.connect() as conn:  # on by default, as on Azure
            conn.execute("CREATE ROLE app LOGIN PASSWORD 'app-password-1'")
        entra_plane.set_entra_administrators(server.name, [DEPLOYER])
        entra_plane.set_authentication(server.name, password_enabled=False, entra_enabled=True, tenant_id=None)
        for user, password in [(ADMIN, PASSWORD), ("app", "app-password-1")]:
            with pytest.raises(psycopg.OperationalError, match=NO_HBA_ENTRY):
                server.connect(user=user, password=password)
        with connect_as(server, DEPLOYER, issued_token(identity)):
            pass
        assert entra_plane.pending_restart(server.name) == set()  # the emulator's own connections still work
        entra_plane.set_authentication(server.name, password_enabled=True, entra_enabled=False, tenant_id=None)
        with server.connect():
            pass
        with pytest.raises(psycopg.OperationalError):  # no token logs in now; the role has no password either
            connect_as(server, DEPLOYER, issued_token(identity))
    finally:
        entra_plane.delete(server.name)


@pytest.mark.parametrize(
    "kind",
    ["forged", "expired", "not-yet-valid", "wrong-audience", "other-principal", "other-tenant", "not-a-jwt"],
)
def test_tokens_that_are_not_the_administrators_are_refused(
    entra_server: Server, identity: Identity, state_dir: Path, kind: str
) -> None:
    real_key = identity_key(state_dir)
    now = int(time.time())
    token = {
        "forged": lambda: signed_token(secrets.token_bytes(32)),
        "expired": lambda: signed_token(real_key, iat=now - 7200, nbf=now - 7200, exp=now - 3600),
        "not-yet-valid": lambda: signed_token(real_key, nbf=now + 3600, exp=now + 7200),
        "wrong-audience": lambda: issued_token(identity, "https://management.azure.com/"),
        "other-principal": lambda: signed_token(real_key, oid=OTHER_ID, sub=OTHER_ID),
        "other-tenant": lambda: signed_token(real_key, tid=OTHER_ID),
        "not-a-jwt": lambda: "not-a-token",
    }[kind]()
    with pytest.raises(psycopg.OperationalError, match=ENTRA_REFUSED):
        connect_as(entra_server, DEPLOYER, token)
    with connect_as(entra_server, DEPLOYER, issued_token(identity)):
        pass  # the same server still admits the real token


def test_a_token_logs_in_only_as_its_own_administrator_and_never_without_tls(
    entra_server: Server, identity: Identity, state_dir: Path
) -> None:
    entra_server.dataplane.set_entra_administrators(entra_server.name, [DEPLOYER, DBA])
    deployer_token = issued_token(identity)
    with pytest.raises(psycopg.OperationalError, match=ENTRA_REFUSED):
        connect_as(entra_server, DBA, deployer_token)
    # A group's member logs in as the group with a token of its own that lists the group.
    member = signed_token(identity_key(state_dir), oid=PRINCIPAL_ID, groups=[OTHER_ID.upper()])
    with connect_as(entra_server, DBA, member) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("DBA Team",)
    with pytest.raises(psycopg.OperationalError, match="rejects connection"):  # a token is a bearer secret
        entra_server.connect(user=DEPLOYER.principal_name, password=deployer_token, sslmode="disable")


def test_removing_an_administrator_removes_its_login_and_hands_its_objects_on(
    entra_server: Server, identity: Identity, state_dir: Path
) -> None:
    plane, name = entra_server.dataplane, entra_server.name
    plane.set_entra_administrators(name, [DEPLOYER, DBA])
    member = signed_token(identity_key(state_dir), groups=[OTHER_ID])
    with connect_as(entra_server, DBA, member) as conn:
        conn.execute("CREATE TABLE team_notes (note text)")
    plane.set_entra_administrators(name, [DEPLOYER])
    with pytest.raises(psycopg.OperationalError, match=NO_HBA_ENTRY):
        connect_as(entra_server, DBA, member)
    with connect_as(entra_server, DEPLOYER, issued_token(identity)) as conn:
        assert conn.execute("SELECT count(*) FROM pg_roles WHERE rolname = 'DBA Team'").fetchone() == (0,)
        owner = conn.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'team_notes'").fetchone()
    assert owner == ("azure_pg_admin",)
    plane.set_entra_administrators(name, [DEPLOYER])  # idempotent


def test_administrators_no_role_can_be_made_for_are_refused_before_any_change(
    entra_server: Server, identity: Identity
) -> None:
    plane, name = entra_server.dataplane, entra_server.name
    for principal_name in ['say "hi"', "x" * 64, "azure_pg_admin", "pg_monitor", "/^regex$", "tab\there", ""]:
        with pytest.raises(ValueError, match=r"principal name|cannot be"):
            plane.set_entra_administrators(name, [EntraAdministrator(OTHER_ID, principal_name, "User", "")])
    with pytest.raises(ValueError, match="two administrators"):
        plane.set_entra_administrators(name, [DEPLOYER, DEPLOYER])
    with connect_as(entra_server, DEPLOYER, issued_token(identity)) as conn:
        conn.execute("CREATE ROLE app LOGIN")
    with pytest.raises(ValueError, match="'app' already exists"):
        plane.set_entra_administrators(name, [DEPLOYER, EntraAdministrator(OTHER_ID, "app", "User", "")])
    with connect_as(entra_server, DEPLOYER, issued_token(identity)) as conn:  # nothing changed
        assert conn.execute("SELECT rolname FROM pg_roles WHERE rolname IN ('app', 'DBA Team')").fetchall() == [
            ("app",)
        ]


@pytest.mark.skipif(NO_ISOLATION is not None, reason=f"no network isolation here: {NO_ISOLATION}")
def test_entra_login_to_a_private_server_inside_its_virtual_network(
    entra_plane: DataPlane, ca: CertificateAuthority, identity: Identity
) -> None:
    name = new_server_name()
    network = PrivateNetwork(
        f"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/{name}", "10.61.0.4"
    )
    entra_plane.provision(name, f"{name}.postgres.database.azure.com", "15", "", "", {}, network)
    try:
        entra_plane.apply_firewall(name, [], public_access=False)
        entra_plane.set_authentication(name, password_enabled=False, entra_enabled=True, tenant_id=DEFAULT_TENANT)
        entra_plane.set_entra_administrators(name, [DEPLOYER])
        server = Server(entra_plane, name, ca.root_cert_path)
        namespace = server.endpoint.namespace
        assert namespace is not None
        # PostgreSQL asks the emulator at 127.0.0.1 of its own namespace: the emulator listens there too.
        with netns.call_inside(namespace, lambda: connect_as(server, DEPLOYER, issued_token(identity))) as conn:
            assert conn.execute("SELECT current_user").fetchone() == (DEPLOYER.principal_name,)
        with pytest.raises(psycopg.OperationalError, match=ENTRA_REFUSED):
            netns.call_inside(namespace, lambda: connect_as(server, DEPLOYER, "forged"))
    finally:
        entra_plane.delete(name)
    assert not netns.exists(namespace)  # the emulator's listener there did not keep it alive
