"""How verify and sessions log in: the administrator's password, or a Microsoft Entra access token.

The spec decides (`Authentication.login`): the password administrator while password authentication is on,
else a Microsoft Entra administrator. An Entra login's password is an access token for Azure Database for
PostgreSQL (`OSSRDBMS_SCOPE`) from the same credential as the management calls (`AzureClients.credential`:
DefaultAzureCredential, or for cloud: local the emulator's identity); its role is the administrator's
principal name. Which administrator: the one whose object id is the `oid` of the identity's own token; when
no listed administrator has it (the identity logs in as a member of a Group administrator, say, or the token
is not a JWT), the first one the spec lists.

A token is asked for once per run and reused until RENEW_BEFORE_SECONDS before it expires (azure-core's bearer
policy renews as early), so a server logged in to late in a long run (`sessions --watch` over more servers
than --parallelism) gets a valid one. Secrets go to libpq and nowhere else: `Logins.scrub` takes every
password and token handed out of the failure messages that reach a report.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from pgflex.spec import PgflexError, Server
from pgflex.token_claims import unverified_claims

from .checks import Login

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken, TokenCredential

OSSRDBMS_RESOURCE = "https://ossrdbms-aad.database.windows.net"
OSSRDBMS_SCOPE = f"{OSSRDBMS_RESOURCE}/.default"
RENEW_BEFORE_SECONDS = 300
REDACTED = "[redacted]"
_SHORTEST_SECRET = 8  # Azure's passwords have at least 8 characters; shorter text is not taken for one


class LoginUnavailable(PgflexError):
    """pgflex has nothing to log in to a server with: no token for its identity, no administrator to log in as."""


class TokenUnavailable(Exception):
    """The identity got no access token; the message says why in one line (never a token)."""


class TokenSource:
    """Access tokens for Azure Database for PostgreSQL from one credential, renewed when close to expiry.

    ``credential`` is called on the first request only: a run that logs in by password never builds one.
    """

    def __init__(self, credential: Callable[[], TokenCredential], clock: Callable[[], float] = time.time) -> None:
        self._credential = credential
        self._clock = clock
        self._lock = threading.Lock()  # servers are logged in to from many threads
        self._token: AccessToken | None = None

    def token(self) -> str:
        with self._lock:
            if self._token is None or self._token.expires_on - self._clock() < RENEW_BEFORE_SECONDS:
                try:
                    self._token = self._credential().get_token(OSSRDBMS_SCOPE)
                except Exception as failure:  # any credential, any failure: one line for the report
                    raise TokenUnavailable(_why(failure)) from None
            return self._token.token


def _why(failure: Exception) -> str:
    from azure.core.exceptions import ClientAuthenticationError

    from pgflex.azure.credential_errors import describe_authentication_failure

    if isinstance(failure, ClientAuthenticationError) and getattr(failure, "response", None) is None:
        return describe_authentication_failure(failure)  # DefaultAzureCredential's chain, read for its cause
    lines = str(getattr(failure, "message", None) or failure).strip().splitlines()
    return f"{type(failure).__name__}: {lines[0] if lines else 'no reason given'}"


def token_object_id(token: str) -> str | None:
    """The ``oid`` claim of a JWT access token, read without checking the token (PostgreSQL checks it): only to
    choose whom to log in as. None when the token is no JWT or names no object id."""
    oid = unverified_claims(token).get("oid")
    return oid if isinstance(oid, str) else None


class Logins:
    """How to log in to each server of one run: passwords read when needed, one token source for all servers."""

    def __init__(self, password: Callable[[Server], str], credential: Callable[[], TokenCredential]) -> None:
        self._password = password
        self.tokens = TokenSource(credential)
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def login(self, server: Server) -> tuple[Login, str]:
        """Who to log in to ``server`` as, and the secret to do it with (a password or a token).

        Raises LoginUnavailable, or what reading the password raises (SpecError, SecretUnavailable)."""
        if server.authentication.login == "entra":
            login, secret = self._entra(server)
        else:
            secret = self._password(server)  # refuses a server without an administrator
            assert server.administrator is not None
            login = Login("password", server.administrator.login)
        with self._lock:
            self._secrets.add(secret)
        return login, secret

    def _entra(self, server: Server) -> tuple[Login, str]:
        administrators = server.authentication.entra_administrators or ()
        if not administrators:
            raise LoginUnavailable(
                f"cannot log in to server {server.name}: password authentication is off and the spec names no "
                "Microsoft Entra administrator to log in as"
            )
        try:
            token = self.tokens.token()
        except TokenUnavailable as failure:
            raise LoginUnavailable(
                f"cannot log in to server {server.name} as {administrators[0].principal_name}: the identity pgflex "
                f"runs as got no Microsoft Entra access token for {OSSRDBMS_RESOURCE}: {failure}"
            ) from None
        identity = token_object_id(token)
        chosen = next(
            (admin for admin in administrators if identity and admin.object_id.lower() == identity.lower()),
            administrators[0],
        )
        login = Login("entra", chosen.principal_name, chosen.object_id, chosen.principal_type, identity)
        return login, token

    def scrub(self, text: str) -> str:
        """``text`` without any password or token this run handed out."""
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            if len(secret) >= _SHORTEST_SECRET:
                text = text.replace(secret, REDACTED)
        return text
