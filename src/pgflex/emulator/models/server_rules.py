"""What a flexible server's name, version, compute size, tags and administrator must be, as the service checks them.

Pure functions over request bodies: each returns the value to store or raises the service's error.
"""

from __future__ import annotations

import re
from typing import Any

from ..dataplane.scram import scram_verifier
from ..errors import ArmError, InvalidParameterValue, InvalidRequest
from .capabilities import offered_sku
from .context import require_object
from .values import canonical

DNS_SUFFIX = "postgres.database.azure.com"
SERVER_NAME = re.compile(r"^(?!-)[a-z0-9-]{3,63}(?<!-)$")
VERSIONS = ("11", "12", "13", "14", "15", "16", "17", "18")
DEFAULT_VERSION = "17"
TIERS = ("Burstable", "GeneralPurpose", "MemoryOptimized")
RESERVED_LOGINS = {
    "azure_superuser",
    "azure_pg_admin",
    "admin",
    "administrator",
    "root",
    "guest",
    "public",
    "postgres",
}


class MissingRequiredParameter(ArmError):
    """The service's error for a required value left out (its text, seen for AdministratorLoginPassword)."""

    code = "MissingRequiredParameter"

    def __init__(self, parameter: str) -> None:
        super().__init__(f"Parameter '{parameter}' must be specified. This parameter cannot be NULL or empty.")


def require_server_name(name: str) -> None:
    """The service's refusal, in its words (azure-docs #106980): InvalidParameterValue naming serverName."""
    if not SERVER_NAME.fullmatch(name):
        raise InvalidParameterValue.of(
            "serverName",
            "Specify a valid parameter value: 3 to 63 lowercase letters, digits and hyphens, not starting or "
            "ending with a hyphen.",
        )


def version(raw: Any) -> str:
    """The major version as the API spells it, a string ("16" for 16), among those the capabilities offer."""
    chosen = DEFAULT_VERSION if raw is None or raw == "" else raw
    if isinstance(chosen, bool) or not isinstance(chosen, str | int):
        chosen = repr(chosen)
    return canonical(str(chosen), VERSIONS, "Version")


def check_login(login: Any) -> str:
    if login is None or login == "":
        raise MissingRequiredParameter("AdministratorLogin")
    if not isinstance(login, str) or not 1 <= len(login) <= 63 or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", login):
        raise InvalidParameterValue(
            "administratorLogin must be 1 to 63 letters, digits or underscores, starting with a letter or underscore."
        )
    if login.lower() in RESERVED_LOGINS or login.lower().startswith("pg_"):
        raise InvalidParameterValue(f"The administrator login '{login}' is reserved and cannot be used.")
    return login


def check_password(password: Any, login: str) -> str:
    """Azure's rule: 8 to 128 characters from three of upper case, lower case, digits, symbols; no login inside."""
    if password is None or password == "":
        raise MissingRequiredParameter("AdministratorLoginPassword")
    if not isinstance(password, str) or not 8 <= len(password) <= 128:
        raise InvalidParameterValue(
            "administratorLoginPassword must be 8 to 128 characters long.", code="PasswordTooWeak"
        )
    classes = [
        any(c.isupper() for c in password),
        any(c.islower() for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() for c in password),
    ]
    if sum(classes) < 3:
        raise InvalidParameterValue(
            "administratorLoginPassword must contain characters from three of these categories: upper case, "
            "lower case, digits, non-alphanumeric.",
            code="PasswordTooWeak",
        )
    if login and login.lower() in password.lower():
        raise InvalidParameterValue("administratorLoginPassword must not contain the login.", code="PasswordTooWeak")
    return password


def sealed(password: str) -> str:
    """What the state file keeps until the data plane has set the password: its SCRAM verifier, as
    PostgreSQL stores it, never the password, whatever its characters (SASLprep is done as PostgreSQL does)."""
    return scram_verifier(password)


def sku(raw: Any) -> dict[str, str]:
    """The compute size and its tier, spelt as the capabilities spell them, or the service's refusal: a size
    the capabilities do not offer, or a tier that is not the size's (the service names parameter Tier,
    azure-sdk-for-python #44200; for an unknown size, SkuName is assumed)."""
    requested = require_object(raw, "sku") if raw is not None else {}
    name, tier = requested.get("name"), requested.get("tier")
    if not isinstance(name, str) or not isinstance(tier, str):
        raise InvalidRequest("sku.name and sku.tier are required.")
    tier = canonical(tier, TIERS, "Tier")
    offered = offered_sku(name)
    if offered is None:
        raise InvalidParameterValue.of("SkuName", f"The compute size '{name}' is not offered.")
    name, offered_tier = offered
    if offered_tier != tier:
        raise InvalidParameterValue.of(
            "Tier", f"The compute size '{name}' belongs to the {offered_tier} tier, not {tier}."
        )
    return {"name": name, "tier": tier}


def tags(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    requested = require_object(raw, "tags")
    if len(requested) > 50:
        raise InvalidParameterValue("A resource can have at most 50 tags.")
    return {str(k): str(v) for k, v in requested.items()}


def first_administrator(properties: dict[str, Any], auth: dict[str, str]) -> tuple[str | None, str | None]:
    """The password administrator a new server is created with; none when password authentication is off."""
    login = properties.get("administratorLogin")
    password = properties.get("administratorLoginPassword")
    if auth["passwordAuth"] == "Disabled":
        if password not in (None, ""):
            # Assumed (Terraform azurerm refuses it before calling): a password nobody may use is refused.
            raise InvalidParameterValue(
                "administratorLoginPassword cannot be set when a server is created with password authentication "
                "off (passwordAuth: Disabled)."
            )
        # A login alone is ignored: az sends a generated one with --password-auth Disabled, as in its documented
        # Entra-only example, and the API sets the login "the first time that you enable password based
        # authentication" (administrator_change).
        return None, None
    login = check_login(login)
    return login, check_password(password, login)


def administrator_change(login: str, properties: dict[str, Any], auth: dict[str, str]) -> tuple[str, dict[str, str]]:
    """The login after an update and the sealed password it sets, if any.

    The login is set once, for good; a server created without one (Entra only) gets it, with its password,
    the first time password authentication is turned on. A password changes only while password
    authentication is on ("as long as password authentication is enabled", the API says).
    """
    password_on = auth["passwordAuth"] == "Enabled"
    requested = properties.get("administratorLogin")
    password = properties.get("administratorLoginPassword")
    if requested not in (None, "") and requested != login:
        if login:
            raise InvalidParameterValue("The administrator login of a server cannot be changed.")
        if not password_on:
            raise InvalidParameterValue(
                "administratorLogin is set together with turning password authentication on (passwordAuth: Enabled)."
            )
        login = check_login(requested)
        if password in (None, ""):
            raise MissingRequiredParameter("AdministratorLoginPassword")
    if password_on and not login:
        raise MissingRequiredParameter("AdministratorLogin")
    if password in (None, ""):
        return login, {}
    if not password_on:
        raise InvalidParameterValue(
            "The administrator password can be changed only while password authentication is on."
        )
    return login, {"password": sealed(check_password(password, login))}


def show_login(properties: dict[str, Any], login: str | None) -> None:
    """GET shows administratorLogin only while password authentication is on, as the service does."""
    if login and properties["authConfig"]["passwordAuth"] == "Enabled":
        properties["administratorLogin"] = login
    else:
        properties.pop("administratorLogin", None)
