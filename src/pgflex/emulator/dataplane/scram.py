"""SCRAM-SHA-256 verifiers computed in Python, so a plaintext password never reaches disk or PostgreSQL.

PostgreSQL prepares a password with SASLprep (RFC 4013) before hashing it, and libpq does the same when it
logs in; :func:`saslprep` follows PostgreSQL's ``pg_saslprep`` (src/common/saslprep.c) step by step, including
its fallback: a password SASLprep refuses (prohibited or unassigned characters, bad bidirectional text) is used
as given, byte for byte. So the verifier computed here is the one ``CREATE ROLE ... PASSWORD 'plaintext'`` stores,
for every password, ASCII or not.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import stringprep
import unicodedata

ITERATIONS = 4096  # PostgreSQL's default scram_iterations
_PROHIBITED = (
    stringprep.in_table_c12,
    stringprep.in_table_c21_c22,
    stringprep.in_table_c3,
    stringprep.in_table_c4,
    stringprep.in_table_c5,
    stringprep.in_table_c6,
    stringprep.in_table_c7,
    stringprep.in_table_c8,
    stringprep.in_table_c9,
    stringprep.in_table_a1,  # unassigned in Unicode 3.2
)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def saslprep(password: str) -> bytes:
    """The bytes PostgreSQL hashes for ``password``: SASLprep's output, or the password itself when it refuses."""
    given = password.encode("utf-8")
    if password.isascii():
        return given
    # 1) Map: non-ASCII spaces to a space, "commonly mapped to nothing" removed (in PostgreSQL's order).
    mapped = "".join(
        " " if stringprep.in_table_c12(char) else char for char in password if not _mapped_to_nothing(char)
    )
    if not mapped:
        return given
    # 3) and 4) PostgreSQL checks the mapped string, before normalisation (2), and so do we.
    if any(check(char) for char in mapped for check in _PROHIBITED):
        return given
    if any(stringprep.in_table_d1(char) for char in mapped) and (
        any(stringprep.in_table_d2(char) for char in mapped)
        or not stringprep.in_table_d1(mapped[0])
        or not stringprep.in_table_d1(mapped[-1])
    ):
        return given
    return unicodedata.normalize("NFKC", mapped).encode("utf-8")


def _mapped_to_nothing(char: str) -> bool:
    # U+200B is in both tables; PostgreSQL maps it to a space first.
    return stringprep.in_table_b1(char) and not stringprep.in_table_c12(char)


def scram_verifier(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """The ``SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`` string PostgreSQL stores for ``password``."""
    salt = salt if salt is not None else os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", saslprep(password), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    return f"SCRAM-SHA-256${iterations}:{_b64(salt)}${_b64(stored_key)}:{_b64(server_key)}"
