"""SCRAM-SHA-256 verifiers computed in Python, so a plaintext password never reaches PostgreSQL's logs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

ITERATIONS = 4096  # PostgreSQL's default scram_iterations


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def scram_verifier(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str | None:
    """The ``SCRAM-SHA-256$...`` string PostgreSQL stores, or None when SASLprep could change the password.

    PostgreSQL normalizes non-ASCII passwords with SASLprep before hashing; only printable ASCII is
    left unchanged, so only then is a client-side verifier guaranteed to match.
    """
    if not password or not all(" " <= char <= "~" for char in password):
        return None
    salt = salt if salt is not None else os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("ascii"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    return f"SCRAM-SHA-256${iterations}:{_b64(salt)}${_b64(stored_key)}:{_b64(server_key)}"
