"""Databases of a server in its real PostgreSQL: created with Azure's charset and collation names.

``CREATE DATABASE ... TEMPLATE template0`` takes any encoding and locale; the allow-list trigger that
template1 carries (bootstrap.DATABASE_SQL) is then added, so the new database is like any other.
Databases belong to ``azure_pg_admin``, so every administrator (password or Entra) may use them.

Azure names collations after glibc locales (``en_US.utf8``). When this machine's operating system
lacks the locale (a container often has only ``C.utf8``), the database takes ICU's locale of the same
language and territory (``en-US``), which sorts the same way; when neither exists, ValueError says so.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass

import psycopg
from psycopg import sql

from pgflex.emulator.dataplane import config
from pgflex.emulator.dataplane.bootstrap import prepare_database
from pgflex.emulator.dataplane.cluster import Cluster

log = logging.getLogger(__name__)

# The official API's patterns for a database's name, charset and collation.
DATABASE_NAME_RE = re.compile(r"^[a-zA-Z_][\w\-]{0,62}$", re.ASCII)
CHARSET_RE = re.compile(r"^[a-zA-Z]+\w*$", re.ASCII)
COLLATION_RE = re.compile(r"^[a-zA-Z\-]+([. ]|\w)*$", re.ASCII)
SYSTEM_DATABASES = frozenset({"postgres", "template0", "template1", "azure_maintenance", "azure_sys"})
_GLIBC_LOCALE_RE = re.compile(r"^(?P<language>[a-z]{2,3})_(?P<territory>[A-Z]{2})(?:\.[\w-]+)?$", re.ASCII)
ICU_PROVIDER_SINCE = 15  # CREATE DATABASE ... LOCALE_PROVIDER icu


@dataclass(frozen=True)
class Database:
    """A database as ``list_databases`` reports it: Azure's charset and collation names."""

    name: str
    charset: str
    collation: str


def check_database_name(database: str) -> None:
    if not DATABASE_NAME_RE.match(database):
        raise ValueError(f"database name {database!r} must match {DATABASE_NAME_RE.pattern}")
    if database.lower() in SYSTEM_DATABASES:
        raise ValueError(f"{database!r} is a system database")


def exists(cluster: Cluster, database: str) -> bool:
    query = sql.SQL("SELECT 1 FROM pg_database WHERE datname = {}").format(sql.Literal(database))
    return bool(cluster.query_rows(query))


def create(cluster: Cluster, database: str, *, charset: str, collation: str) -> None:
    """Create ``database`` unless it exists (then nothing changes); ValueError when charset or collation cannot be."""
    check_database_name(database)
    if not CHARSET_RE.match(charset):
        raise ValueError(f"charset {charset!r} must match {CHARSET_RE.pattern}")
    if not COLLATION_RE.match(collation):
        raise ValueError(f"collation {collation!r} must match {COLLATION_RE.pattern}")
    if not exists(cluster, database):
        encoding = _encoding(cluster, charset)
        try:
            _create(cluster, database, encoding, libc=collation)
        except psycopg.errors.WrongObjectType:  # "invalid locale name": the operating system has no such locale
            icu = _icu_locale(cluster, collation)
            if icu is None:
                raise ValueError(
                    f"collation {collation!r} is not available: this machine has neither that locale nor ICU's for it"
                ) from None
            log.info("database %s: no locale %s here; ICU's %s collates instead", database, collation, icu)
            _create(cluster, database, encoding, icu=icu)
    if not cluster.query_rows("SELECT 1 FROM pg_namespace WHERE nspname = 'azure_emulator'", dbname=database):
        prepare_database(cluster, database)  # also after a crash right after CREATE DATABASE


def drop(cluster: Cluster, database: str) -> None:
    """Drop ``database`` if it exists, ending the sessions connected to it."""
    check_database_name(database)
    cluster.execute([sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))])


def listed(cluster: Cluster, azure_names: Mapping[str, Mapping[str, str]]) -> list[Database]:
    """Every database but the templates; collations by the names they were created with, where known."""
    rows = cluster.query_rows(
        "SELECT datname, pg_encoding_to_char(encoding), datcollate FROM pg_database WHERE NOT datistemplate"
        " ORDER BY datname"
    )
    return [
        Database(name, charset, azure_names.get(name, {}).get("collation", collate)) for name, charset, collate in rows
    ]


def _encoding(cluster: Cluster, charset: str) -> str:
    query = sql.SQL("SELECT pg_encoding_to_char(pg_char_to_encoding({}))").format(sql.Literal(charset))
    name = str(cluster.query_column(query)[0])
    if not name:
        raise ValueError(f"charset {charset!r} is not one PostgreSQL knows")
    return name


def _create(cluster: Cluster, database: str, encoding: str, *, libc: str = "", icu: str = "") -> None:
    parts = [
        sql.SQL("CREATE DATABASE {} OWNER {} TEMPLATE template0 ENCODING {}").format(
            sql.Identifier(database), sql.Identifier(config.ADMIN_GROUP), sql.Literal(encoding)
        )
    ]
    if icu:
        # ICU collates; the C locale (UTF-8 where the encoding is) only classifies characters.
        ctype = "C.UTF-8" if encoding == "UTF8" else "C"
        parts.append(sql.SQL("LOCALE_PROVIDER icu ICU_LOCALE {}").format(sql.Literal(icu)))
        parts.append(sql.SQL("LC_COLLATE {0} LC_CTYPE {0}").format(sql.Literal(ctype)))
    else:
        parts.append(sql.SQL("LC_COLLATE {0} LC_CTYPE {0}").format(sql.Literal(libc)))
    try:
        cluster.execute([sql.SQL(" ").join(parts)])
    except psycopg.errors.InvalidParameterValue as mismatch:  # e.g. encoding "LATIN1" does not match locale
        raise ValueError(str(mismatch.diag.message_primary or mismatch)) from None


def _icu_locale(cluster: Cluster, collation: str) -> str | None:
    """ICU's locale for a glibc locale name (``en_US.utf8`` -> ``en-US``), when this PostgreSQL has it."""
    match = _GLIBC_LOCALE_RE.match(collation.strip())
    if match is None or cluster.install.major < ICU_PROVIDER_SINCE:
        return None
    column = sql.Identifier("colllocale" if cluster.install.major >= 17 else "colliculocale")
    tag = f"{match['language']}-{match['territory']}"
    query = sql.SQL("SELECT {0} FROM pg_collation WHERE collprovider = 'i' AND lower({0}) = lower({1})").format(
        column, sql.Literal(tag)
    )
    found = cluster.query_column(query)
    return str(found[0]) if found else None
