"""Databases of a server in its real PostgreSQL: created with Azure's charset and collation names."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Database:
    """A database as ``list_databases`` reports it: Azure's charset and collation names."""

    name: str
    charset: str
    collation: str
