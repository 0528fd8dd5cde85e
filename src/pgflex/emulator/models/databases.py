"""Databases of a flexible server (the ``databases`` subresource), real PostgreSQL databases when it has a data plane.

Every server lists the databases the service creates on it: azure_maintenance, azure_sys and postgres, in UTF8
with en_US.utf8. They, and PostgreSQL's templates, are neither created nor deleted through the API. A database's
charset and collation are fixed when it is created: a PUT repeating them succeeds and changes nothing, other ones
are refused. The service documents no error code for these refusals; InvalidParameterValue is assumed.
Database names are case-sensitive (the API says so), while ARM ids are not: two names differing only in case
cannot both exist here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ..errors import InvalidParameterValue
from ..store import Record
from .children import ServerChildren
from .context import ServerRuntime, optional_object
from .ids import SERVER_TYPE, child_id

DATABASE_TYPE = f"{SERVER_TYPE}/databases"
DEFAULT_CHARSET = "UTF8"
DEFAULT_COLLATION = "en_US.utf8"
SYSTEM_DATABASES = ("azure_maintenance", "azure_sys", "postgres")  # on every server, listed in this order
RESERVED_NAMES = frozenset({*SYSTEM_DATABASES, "template0", "template1"})
# The API's patterns for a database's name, charset and collation.
NAME = re.compile(r"^[a-zA-Z_][\w\-]{0,62}$", re.ASCII)
CHARSET = re.compile(r"^[a-zA-Z]+\w*$", re.ASCII)
COLLATION = re.compile(r"^[a-zA-Z\-]+([. ]|\w)*$", re.ASCII)
# PostgreSQL's server-side encodings (its docs' character set table) and UTF8's alias, compared as PostgreSQL
# compares encoding names: ignoring case and everything but letters and digits.
SERVER_ENCODINGS = frozenset(
    {
        "EUCCN",
        "EUCJP",
        "EUCJIS2004",
        "EUCKR",
        "EUCTW",
        "ISO88595",
        "ISO88596",
        "ISO88597",
        "ISO88598",
        "KOI8R",
        "KOI8U",
        *(f"LATIN{n}" for n in range(1, 11)),
        "MULEINTERNAL",
        "SQLASCII",
        "UNICODE",
        "UTF8",
        "WIN866",
        "WIN874",
        *(f"WIN{n}" for n in range(1250, 1259)),
    }
)
SYSTEM = "system"  # private fact: one of the databases every server has


class Databases(ServerChildren):
    segment = "databases"
    resource_type = DATABASE_TYPE
    names_are_case_sensitive = True

    def add_system_databases(self, server: Record) -> None:
        for name in SYSTEM_DATABASES:
            self.store(server, _body(server, name, DEFAULT_CHARSET, DEFAULT_COLLATION), {SYSTEM: True})

    def resource(self, server: Record, name: str, body: dict[str, Any], existing: Record | None) -> dict[str, Any]:
        if not NAME.match(name):
            raise InvalidParameterValue(
                f"The database name '{name}' is invalid: 1 to 63 letters, digits, '_' or '-', starting with a "
                "letter or '_'."
            )
        if name.lower() in RESERVED_NAMES:
            raise InvalidParameterValue(f"'{name}' is a system database: it cannot be created or changed.")
        properties = optional_object(body, "properties", "a database")
        charset = _charset(properties.get("charset", DEFAULT_CHARSET))
        collation = _collation(properties.get("collation", DEFAULT_COLLATION), charset)
        if existing is None:
            return _body(server, name, charset, collation)
        kept = existing.body["properties"]
        if _encoding_key(kept["charset"]) != _encoding_key(charset) or kept["collation"].lower() != collation.lower():
            raise InvalidParameterValue(
                f"The charset and collation of database '{name}' are fixed when it is created "
                f"({kept['charset']}, {kept['collation']}); create another database to change them."
            )
        return existing.body

    def check_deletable(self, server: Record, existing: Record) -> None:
        if existing.private.get(SYSTEM):
            raise InvalidParameterValue(f"'{existing.body['name']}' is a system database: it cannot be deleted.")

    def apply(
        self, runtime: ServerRuntime, server: Record, name: str, resource: dict[str, Any] | None
    ) -> Callable[[], None]:
        server_name = server.body["name"]
        if resource is None:
            return lambda: runtime.drop_database(server_name, name)
        properties = resource["properties"]
        return lambda: runtime.create_database(
            server_name, name, charset=properties["charset"], collation=properties["collation"]
        )


def _body(server: Record, name: str, charset: str, collation: str) -> dict[str, Any]:
    return {
        "id": child_id(server.body["id"], "databases", name),
        "name": name,
        "type": DATABASE_TYPE,
        "properties": {"charset": charset, "collation": collation},
    }


def _encoding_key(name: str) -> str:
    key = re.sub(r"[^A-Za-z0-9]", "", name).upper()
    return "UTF8" if key == "UNICODE" else key


def _charset(value: Any) -> str:
    if not isinstance(value, str) or not CHARSET.match(value) or _encoding_key(value) not in SERVER_ENCODINGS:
        raise InvalidParameterValue(
            f"The charset '{value}' is not a PostgreSQL server encoding (for example UTF8, LATIN1, WIN1252)."
        )
    return value


def _collation(value: Any, charset: str) -> str:
    if not isinstance(value, str) or not COLLATION.match(value):
        raise InvalidParameterValue(f"The collation '{value}' is invalid (for example en_US.utf8 or C).")
    # A locale names its encoding after the dot; PostgreSQL refuses one that is not the database's (C takes any).
    _, dot, named = value.rpartition(".")
    if dot and (_encoding_key(charset) == "UTF8") != (_encoding_key(named) == "UTF8"):
        raise InvalidParameterValue(f"The collation '{value}' is for another encoding than the charset '{charset}'.")
    return value
