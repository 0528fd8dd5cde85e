"""Turning Azure server parameters and firewall rules into PostgreSQL configuration files.

Everything here is pure (text in, text out) apart from :func:`write_atomically`.

Files the emulator owns inside each data directory, included at the end of ``postgresql.conf``:

* ``azure.conf``    - the user's Azure parameter overrides that PostgreSQL knows (rewritten on every change);
* ``emulator.conf`` - settings the emulator fixes (port, sockets, TLS files, ciphers); included last so
  that no user parameter can override them.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# Azure's fixed cipher list for Flexible Server (read-only there as well).
AZURE_SSL_CIPHERS = (
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:"
    "ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"
)
SUPERUSER = "azuresu"  # Azure's own superuser name; reachable only over the private Unix socket
ADMIN_GROUP = "azure_pg_admin"
IDENT_MAP = "emulator"
EXTENSIONS_GUC = "azure.extensions"
REQUIRE_SECURE_TRANSPORT = "require_secure_transport"
INCLUDE_LINES = "include_if_exists = 'azure.conf'\ninclude_if_exists = 'emulator.conf'\n"

# Settings the emulator owns: a user override of these would break TLS, ports or file layout.
FIXED_SETTINGS = frozenset(
    {
        "ssl",
        "ssl_ciphers",
        "ssl_cert_file",
        "ssl_key_file",
        "ssl_ca_file",
        "ssl_crl_file",
        "ssl_crl_dir",
        "ssl_passphrase_command",
        "ssl_passphrase_command_supports_reload",
        "ssl_dh_params_file",
        "port",
        "listen_addresses",
        "unix_socket_directories",
        "unix_socket_group",
        "unix_socket_permissions",
        "data_directory",
        "config_file",
        "hba_file",
        "ident_file",
        "external_pid_file",
        "cluster_name",
        "logging_collector",
        "dynamic_library_path",
        "password_encryption",
    }
)
# Azure accepts fewer values than PostgreSQL for these (TLS 1.0 and 1.1 are never allowed, RFC 8996).
AZURE_ALLOWED_VALUES: dict[str, frozenset[str]] = {
    "ssl_min_protocol_version": frozenset({"tlsv1.2", "tlsv1.3"}),
    "ssl_max_protocol_version": frozenset({"", "tlsv1.2", "tlsv1.3"}),
}
_LIBRARY_LISTS = frozenset({"shared_preload_libraries", "session_preload_libraries", "local_preload_libraries"})
_BOOL_WORDS = frozenset({"on", "off", "true", "false", "yes", "no", "1", "0"})
_INTEGER_RE = re.compile(r"^[+-]?\d+(\.\d+)?\s*(B|kB|MB|GB|TB|us|ms|s|min|h|d)?$")
_TRUE_WORDS = frozenset({"on", "true", "yes", "1"})


@dataclass(frozen=True)
class SettingSpec:
    """What PostgreSQL's ``pg_settings`` says about one parameter (captured once per major)."""

    name: str
    vartype: str  # bool, integer, real, string, enum
    context: str  # postmaster = static (restart), sighup/user/... = dynamic
    enumvals: tuple[str, ...] = ()
    min_val: float | None = None
    max_val: float | None = None


def is_on(value: str) -> bool:
    return value.strip().lower() in _TRUE_WORDS


def _quote(value: str) -> str:
    # postgresql.conf strings: backslash escapes are interpreted, a quote is doubled.
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _valid_number(value: str, spec: SettingSpec, integer: bool) -> bool:
    text = value.strip()
    if integer and _INTEGER_RE.match(text) and not text[-1].isdigit():
        return True  # with a unit: PostgreSQL converts it; range errors only log on reload
    try:
        number = float(text) if not integer else int(text)
    except ValueError:
        return False
    low_ok = spec.min_val is None or number >= spec.min_val
    high_ok = spec.max_val is None or number <= spec.max_val
    return low_ok and high_ok


def valid_value(value: str, spec: SettingSpec) -> bool:
    """A cheap check so that no user value can stop the server from (re)starting."""
    if "\n" in value or "\r" in value or "\0" in value:
        return False
    allowed = AZURE_ALLOWED_VALUES.get(spec.name)
    if allowed is not None and value.strip().lower() not in allowed:
        return False
    if spec.vartype == "bool":
        return value.strip().lower() in _BOOL_WORDS
    if spec.vartype == "enum":
        return value.strip().lower() in {v.lower() for v in spec.enumvals}
    if spec.vartype in ("integer", "real"):
        return _valid_number(value, spec, integer=spec.vartype == "integer")
    return True


def normalize_extensions(value: str) -> str:
    """``"SSLINFO, pg_trgm"`` -> ``"sslinfo,pg_trgm"``."""
    names = [part.strip().lower() for part in value.split(",")]
    return ",".join(name for name in names if name)


def available_libraries(value: str, pkglibdir: Path) -> list[str]:
    """The libraries of a preload list installed here; Azure-only ones (pg_cron, azure, pg_qs) drop out."""
    names = [part.strip().strip('"') for part in value.split(",")]
    return [name for name in names if name and (pkglibdir / f"{name}.so").exists()]


def _extension_setting(name: str, loaded: Iterable[str]) -> bool:
    """``pg_stat_statements.track`` is settable when its library is loaded."""
    prefix = name.split(".", 1)[0]
    return "." in name and prefix in set(loaded)


def render_azure_conf(
    parameters: Mapping[str, str], catalogue: Mapping[str, SettingSpec], pkglibdir: Path
) -> tuple[str, list[str]]:
    """The ``azure.conf`` text for the user's overrides, and the names left out (with why)."""
    lines = ["# Azure server parameters overridden by the user; written by the pgflex emulator.\n"]
    skipped: list[str] = []
    items = {name.strip().lower(): value for name, value in parameters.items()}
    loaded = available_libraries(items.get("shared_preload_libraries", ""), pkglibdir)
    # Always present, as on Azure (default empty), so that SHOW azure.extensions works.
    lines.append(f"{EXTENSIONS_GUC} = {_quote(normalize_extensions(items.pop(EXTENSIONS_GUC, '')))}\n")
    for name in sorted(items):
        value = items[name]
        if name in _LIBRARY_LISTS and name in catalogue:
            lines.append(f"{name} = {_quote(','.join(available_libraries(value, pkglibdir)))}\n")
        elif name in FIXED_SETTINGS:
            skipped.append(f"{name} (fixed by the emulator)")
        elif name in catalogue and valid_value(value, catalogue[name]):
            lines.append(f"{name} = {_quote(value.strip())}\n")
        elif name in catalogue:
            skipped.append(f"{name} (invalid value)")
        elif _extension_setting(name, loaded) and valid_value(value, SettingSpec(name, "string", "user")):
            lines.append(f"{name} = {_quote(value.strip())}\n")
        else:
            skipped.append(f"{name} (not a PostgreSQL parameter)")
    return "".join(lines), skipped


def render_emulator_conf(
    *,
    port: int,
    socket_dir: Path,
    cert_file: Path,
    key_file: Path,
    cluster_name: str,
    listen_address: str = "127.0.0.1",
) -> str:
    return (
        "# Fixed by the pgflex emulator; included last so nothing overrides it.\n"
        f"listen_addresses = {_quote(listen_address)}\n"
        f"port = {port}\n"
        f"unix_socket_directories = {_quote(str(socket_dir))}\n"
        "unix_socket_permissions = 0700\n"
        f"cluster_name = {_quote(cluster_name)}\n"
        "password_encryption = 'scram-sha-256'\n"
        "ssl = on\n"
        f"ssl_cert_file = {_quote(str(cert_file))}\n"
        f"ssl_key_file = {_quote(str(key_file))}\n"
        f"ssl_ciphers = {_quote(AZURE_SSL_CIPHERS)}\n"
        "ssl_prefer_server_ciphers = on\n"
    )


def render_template_conf(socket_dir: Path) -> str:
    """Settings while the template is built: no TCP at all."""
    return f"listen_addresses = ''\nunix_socket_directories = {_quote(str(socket_dir))}\n"


def firewall_networks(
    rules: Sequence[tuple[str, str]], public_access: bool, *, isolated: bool = False
) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The client networks admitted: the rules' ranges as CIDRs; for private access, its virtual network."""
    if not public_access and isolated:
        # The server listens only inside its virtual network's namespace, so the network itself is the
        # boundary, as on Azure (firewall rules do not apply to private access): every client that can
        # reach it is admitted, from whichever address of the network it comes.
        return [ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")]
    if not public_access:
        # No VNet isolation without namespaces: "private" means the local machine.
        return [ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128")]
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for start, end in rules:
        first, last = ipaddress.IPv4Address(start.strip()), ipaddress.IPv4Address(end.strip())
        if first > last:
            raise ValueError(f"firewall range {start}-{end} ends before it starts")
        networks.extend(ipaddress.summarize_address_range(first, last))
    return list(dict.fromkeys(networks))


@dataclass(frozen=True)
class EntraHba:
    """Microsoft Entra logins in pg_hba.conf: these roles send a token as their password, which PostgreSQL
    hands to the emulator's LDAP responder (``ldap_port``; None: no responder, so they are refused)."""

    roles: Sequence[str]
    server: str
    ldap_port: int | None


def hba_role(role: str) -> str:
    """A role name as pg_hba.conf writes it: quoted, so that no keyword, ``+group`` or ``@file`` applies."""
    return '"' + role + '"'  # roles.check_principal_name refuses names pg_hba.conf cannot quote


def render_hba(
    networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network],
    require_tls: bool,
    *,
    password_auth: bool = True,
    entra: EntraHba | None = None,
) -> str:
    """pg_hba.conf: superuser on the private socket only; Entra roles by token over TLS; everyone else by password
    (unless password authentication is off), TLS if required; all of it from the firewall's networks only."""
    connection_type = "hostssl" if require_tls else "host"
    lines = [
        "# Written by the pgflex emulator on every parameter, firewall or authentication change.\n",
        f"local   all   {SUPERUSER}   peer map={IDENT_MAP}\n",
        "local   all   all   reject\n",
        f"host    all   {SUPERUSER}   0.0.0.0/0   reject\n",
        f"host    all   {SUPERUSER}   ::/0   reject\n",
    ]
    if entra is not None:
        lines.extend(_entra_lines(entra, networks))
    if password_auth:
        lines.extend(f"{connection_type}   all   all   {network}   scram-sha-256\n" for network in networks)
    return "".join(lines)


def _entra_lines(entra: EntraHba, networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> list[str]:
    method = "reject"
    if entra.ldap_port is not None:
        method = (
            f'ldap ldapserver=127.0.0.1 ldapport={entra.ldap_port} ldapprefix="cn=" ldapsuffix=",ou={entra.server}"'
        )
    lines: list[str] = []
    for role in entra.roles:
        # A token is a bearer secret: only over TLS, whatever require_secure_transport says; never a password.
        lines.extend(f"hostssl   all   {hba_role(role)}   {network}   {method}\n" for network in networks)
        lines.extend(f"host   all   {hba_role(role)}   {everyone}   reject\n" for everyone in ("0.0.0.0/0", "::/0"))
    return lines


def render_ident(os_users: Iterable[str]) -> str:
    """Which operating-system users may act as the superuser over the socket (the emulator's own)."""
    return "".join(f"{IDENT_MAP}   {user}   {SUPERUSER}\n" for user in dict.fromkeys(os_users))


def write_atomically(path: Path, text: str, *, mode: int = 0o600, owner: tuple[int, int] | None = None) -> None:
    """Write via a temporary file and rename, so PostgreSQL never reads half a file.

    The folder may belong to PostgreSQL's account: a link planted at the temporary name is refused, not followed.
    """
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    if owner is not None:
        os.chown(tmp, *owner)
    tmp.replace(path)
