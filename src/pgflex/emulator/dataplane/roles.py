"""The login roles Azure gives a server: the password administrator and the Microsoft Entra administrators.

Both have the same privileges: LOGIN, CREATEDB, CREATEROLE, member of ``azure_pg_admin``, never superuser.
An Entra administrator's role has no password (its login is a token, checked outside PostgreSQL) and is
marked by a comment, as Azure marks its ``pgaadauth`` roles with a security label: the roles reconciled
are the ones PostgreSQL holds with that mark, so a half-finished earlier call is finished, not repeated.
"""

from __future__ import annotations

from collections.abc import Sequence

from psycopg import sql

from pgflex.emulator.dataplane import config
from pgflex.emulator.dataplane.cluster import Cluster
from pgflex.emulator.dataplane.entra import PRINCIPAL_TYPES, EntraAdministrator
from pgflex.emulator.dataplane.scram import scram_verifier

_RESERVED_LOGINS = frozenset({config.SUPERUSER, config.ADMIN_GROUP, "public"})
MAX_ROLE_BYTES = 63  # NAMEDATALEN - 1: PostgreSQL would cut a longer name short
ENTRA_MARK = "Microsoft Entra administrator "  # + object id: the comment on each Entra role
_PRIVILEGES = sql.SQL("LOGIN NOSUPERUSER INHERIT CREATEDB CREATEROLE")


def check_login(login: str) -> None:
    if not login or login.lower() in _RESERVED_LOGINS or login.lower().startswith(("pg_", "azure_")):
        raise ValueError(f"{login!r} cannot be the administrator login")


def check_principal_name(name: str) -> None:
    """ValueError unless ``name`` can be a role that pg_hba.conf names (quoted) and PostgreSQL keeps whole."""
    check_login(name)
    if len(name.encode()) > MAX_ROLE_BYTES:
        raise ValueError(f"principal name {name!r} is longer than PostgreSQL's {MAX_ROLE_BYTES} bytes for a role")
    if '"' in name or name.startswith("/") or any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        raise ValueError(f"principal name {name!r} has characters a login role here cannot have")


def upsert_admin(cluster: Cluster, login: str, password: str) -> None:
    """The Azure administrator: created, or its password changed."""
    # The control plane hands over a verifier already (it never stores passwords); PostgreSQL takes one as is.
    verifier = password if password.startswith("SCRAM-SHA-256$") else scram_verifier(password)
    role = sql.Identifier(login)
    exists = login in cluster.query_column("SELECT rolname FROM pg_roles")
    verb = sql.SQL("ALTER") if exists else sql.SQL("CREATE")
    cluster.execute(
        [
            sql.SQL("{} ROLE {} WITH {} PASSWORD {}").format(verb, role, _PRIVILEGES, sql.Literal(verifier)),
            sql.SQL("GRANT {} TO {}").format(sql.Identifier(config.ADMIN_GROUP), role),
        ]
    )


def entra_roles(cluster: Cluster) -> dict[str, str]:
    """The Entra administrators' roles PostgreSQL holds: role name -> its comment."""
    rows = cluster.query_rows("SELECT rolname, shobj_description(oid, 'pg_authid') FROM pg_roles")
    return {name: comment for name, comment in rows if comment and comment.startswith(ENTRA_MARK)}


def reconcile_entra_roles(cluster: Cluster, administrators: Sequence[EntraAdministrator], admin_login: str) -> None:
    """Exactly these administrators have login roles; others' roles go, what they owned passing to azure_pg_admin.

    ValueError (before any change) when a name is taken by a role that is not an Entra administrator's.
    """
    marked = entra_roles(cluster)
    wanted = {administrator.principal_name: administrator for administrator in administrators}
    others = set(cluster.query_column("SELECT rolname FROM pg_roles")) - set(marked)
    for name in wanted:
        if name in others or name == admin_login:
            raise ValueError(f"a role named {name!r} already exists and is not a Microsoft Entra administrator's")
    for name in sorted(set(marked) - set(wanted)):
        _drop_role(cluster, name)
    for name, administrator in wanted.items():
        role = sql.Identifier(name)
        verb = sql.SQL("ALTER") if name in marked else sql.SQL("CREATE")
        cluster.execute(
            [
                sql.SQL("{} ROLE {} WITH {} PASSWORD NULL").format(verb, role, _PRIVILEGES),
                sql.SQL("GRANT {} TO {}").format(sql.Identifier(config.ADMIN_GROUP), role),
                sql.SQL("COMMENT ON ROLE {} IS {}").format(role, sql.Literal(ENTRA_MARK + administrator.object_id)),
            ]
        )


def _drop_role(cluster: Cluster, name: str) -> None:
    """End its sessions, hand what it owns in every database to azure_pg_admin, then drop it."""
    role = sql.Identifier(name)
    group = sql.Identifier(config.ADMIN_GROUP)
    cluster.execute(
        [sql.SQL("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = {}").format(sql.Literal(name))]
    )
    for database in cluster.query_column("SELECT datname FROM pg_database WHERE datallowconn"):
        cluster.execute(
            [sql.SQL("REASSIGN OWNED BY {} TO {}").format(role, group), sql.SQL("DROP OWNED BY {}").format(role)],
            dbname=database,
        )
    cluster.execute([sql.SQL("DROP ROLE {}").format(role)])


def check_administrators(administrators: Sequence[EntraAdministrator]) -> None:
    """ValueError, before anything changes, for an administrator no login role can be made for."""
    names = [administrator.principal_name for administrator in administrators]
    for administrator in administrators:
        check_principal_name(administrator.principal_name)
        if administrator.principal_type not in PRINCIPAL_TYPES:
            raise ValueError(f"principal type {administrator.principal_type!r} is not one of {sorted(PRINCIPAL_TYPES)}")
        if names.count(administrator.principal_name) > 1:
            raise ValueError(f"two administrators have the principal name {administrator.principal_name!r}")
