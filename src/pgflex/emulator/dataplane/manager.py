"""The data plane: one real PostgreSQL per emulated Flexible Server.

Layout under ``root`` (``<state>/dataplane``): directories 0700 and owned by PostgreSQL's account (``postgres``
when the emulator is root), files 0600 (the emulator's own, such as server.json, stay the emulator's): nothing
there is readable by any other account, and nothing outside the state directory needs a permission changed::

    pg-<major>/              shadow install (copied postgres binary, trusted extension control files)
    template-<major>/data    a stopped, bootstrapped cluster that new servers copy (reflink where possible)
    settings-<major>.json    pg_settings of that major, to check parameters while servers are stopped
    servers/<name>/
        server.json          what the data plane knows (no secrets); "provisioned" marks a finished create
        data/                PGDATA; azure.conf and emulator.conf are the managed settings
        tls/                 server.crt (leaf + intermediate) and server.key (0600, PostgreSQL's owner)
        run/                 private socket directory (under /tmp when this path is too long for a socket)
        log/postgresql.log

Private servers (``provision(..., network=...)``) run in a network namespace per virtual network when the
emulator is root and ``ip netns`` works: ``lo`` there carries each server's private address, on which its
PostgreSQL listens (port 5432), so nothing outside the namespace reaches it. The emulator still manages it
through the Unix socket, which network namespaces do not affect. Elsewhere they listen on loopback like
public servers, and :meth:`DataPlane.network_isolation` says why.

Every public method is synchronous and serialised per server name, so calls for different servers
may run in parallel threads. PostgreSQL processes outlive the emulator process: a new ``DataPlane``
on the same root adopts running servers and restarts dead ones (stale lock files are cleared).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import shutil
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cryptography import x509
from psycopg import sql

from pgflex.emulator import netns
from pgflex.emulator.dataplane import config
from pgflex.emulator.dataplane.binaries import (
    PostgresInstall,
    ShadowInstall,
    choose_install,
    discover_installs,
    ensure_shadow_install,
)
from pgflex.emulator.dataplane.bootstrap import bootstrap
from pgflex.emulator.dataplane.cluster import (
    TEMPLATE_SOCKET_PORT,
    Cluster,
    DataPlaneError,
    RunAs,
    copy_data_dir,
    free_port,
    load_settings,
    port_is_free,
    private_socket_dir,
)
from pgflex.emulator.dataplane.databases import Database
from pgflex.emulator.dataplane.entra import EntraAdministrator
from pgflex.emulator.dataplane.scram import scram_verifier
from pgflex.emulator.pki import CertificateAuthority

log = logging.getLogger(__name__)

_SERVER_NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_RESERVED_LOGINS = frozenset({config.SUPERUSER, config.ADMIN_GROUP, "public"})
_CERT_RENEW_BEFORE = dt.timedelta(days=30)
_START_ATTEMPTS = 3
LOOPBACK = "127.0.0.1"
PRIVATE_PORT = 5432  # a private server has an address of its own, so it takes PostgreSQL's usual port
ISOLATED = "network namespaces (private servers listen only inside their virtual network's namespace)"


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    namespace: str | None = None  # the network namespace to connect from; None: this machine's own


@dataclass(frozen=True)
class PrivateNetwork:
    """Where a private server lives: its virtual network (resource id) and its address in the delegated subnet."""

    network_id: str
    address: str


def namespace_prefix(root: Path) -> str:
    """Namespaces of one data plane root share this prefix: two emulators (two state directories) on one
    machine may hold virtual networks with the same resource id, and must not share or delete each other's."""
    return f"pgflex-{hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:6]}-"


@dataclass
class ServerRecord:
    """What the data plane keeps about one server in ``server.json`` (never a password)."""

    name: str
    fqdn: str
    requested_version: str
    major: int
    port: int
    admin_login: str = ""
    parameters: dict[str, str] = field(default_factory=dict)
    firewall: list[tuple[str, str]] = field(default_factory=list)
    public_access: bool = True
    provisioned: bool = False
    namespace: str = ""  # set for a private server placed in its virtual network's namespace
    private_address: str = ""


class DataPlane:
    """Creates, runs and configures the PostgreSQL clusters behind emulated servers."""

    def __init__(
        self,
        root: Path,
        ca: CertificateAuthority,
        *,
        postgres_bin: Path | None = None,
        use_template: bool = True,
    ) -> None:
        self.root = root.resolve()
        self.ca = ca
        self.use_template = use_template  # False only to compare against initdb (see the benchmark)
        self._installs = discover_installs(postgres_bin)
        self._run_as = RunAs.detect()
        # PostgreSQL's account owns the whole tree (0700); the emulator, root or that same account, reaches it anyway.
        self._run_as.make_dir(self.root)
        self._run_as.make_dir(self.root / "servers")
        self._run_as.require_reachable(self.root)
        self._guard = threading.Lock()
        self._server_locks: dict[str, threading.RLock] = {}
        self._major_locks: dict[int, threading.Lock] = {}
        # Ports of servers that exist (running or not), so that a new server never takes one of them.
        self._reserved_ports: set[int] = {record.port for record in self._all_records()}
        self._no_isolation = netns.unavailable_reason()  # probed once: root, iproute2, a throwaway namespace
        self._namespace_lock = threading.Lock()  # servers of one virtual network share its namespace

    # --- public API -----------------------------------------------------------------------------------------

    def binaries_info(self) -> str:
        return "; ".join(f"PostgreSQL {i.version} at {i.bindir}" for i in self._installs)

    def network_isolation(self) -> str:
        """How private servers are kept apart from this machine's network, for ``status``."""
        if self._no_isolation is None:
            return ISOLATED
        return f"not enforced: private servers listen on loopback like public ones ({self._no_isolation})"

    def provision(
        self,
        name: str,
        fqdn: str,
        version: str,
        admin_login: str,
        admin_password: str,
        parameters: Mapping[str, str],
        network: PrivateNetwork | None = None,
    ) -> Endpoint:
        """Create and start a server; a finished one is just started, a half-made one is wiped and redone.

        ``network`` makes it a private server: in its virtual network's namespace when isolation works here.
        """
        with self._lock(name):
            record = self._load(name)
            if record is not None and record.provisioned:
                self._start(record)
                self.set_admin_password(name, admin_login, admin_password)
                self.apply_parameters(name, parameters)
                return self._endpoint(self._require(name))
            self._wipe(name)
            return self._create(name, fqdn, version, admin_login, admin_password, parameters, network)

    def start(self, name: str) -> Endpoint:
        with self._lock(name):
            record = self._require(name)
            self._start(record)
            return self._endpoint(record)

    def stop(self, name: str) -> None:
        with self._lock(name):
            record = self._load(name)
            if record is not None:
                self._cluster(record).stop()

    def restart(self, name: str) -> None:
        with self._lock(name):
            record = self._require(name)
            self._cluster(record).stop()
            self._start(record)

    def delete(self, name: str) -> None:
        with self._lock(name):
            folder = self._server_dir(name)
            record = self._load(name)
            if record is not None:
                self._cluster(record).stop(mode="immediate")
                self._release_port(record.port)
            self._wipe(name)
            if record is not None:
                self._leave_namespace(record)
            log.info("deleted server %s (%s)", name, folder)

    def set_admin_password(self, name: str, login: str, password: str) -> None:
        """Create the administrator or change its password (the server is started briefly if stopped)."""
        _check_login(login)
        with self._lock(name):
            record = self._require_created(name)
            cluster = self._cluster(record)
            was_running = cluster.is_running()
            if not was_running:
                self._start(record)
            try:
                _upsert_admin(cluster, login, password)
            finally:
                if not was_running:
                    cluster.stop()
            record.admin_login = login
            self._save(record)

    def apply_parameters(self, name: str, parameters: Mapping[str, str]) -> None:
        """Write the full set of user overrides; dynamic ones apply now (reload), static ones on restart."""
        with self._lock(name):
            record = self._require_created(name)
            record.parameters = {str(k): str(v) for k, v in parameters.items()}
            self._save(record)
            self._write_settings(record)
            self._reload_if_running(record)

    def pending_restart(self, name: str) -> set[str]:
        with self._lock(name):
            cluster = self._cluster(self._require(name))
            if not cluster.is_running():
                return set()
            return set(cluster.query_column("SELECT name FROM pg_settings WHERE pending_restart"))

    def apply_firewall(self, name: str, rules: Sequence[tuple[str, str]], public_access: bool) -> None:
        config.firewall_networks(rules, public_access)  # validate before writing anything
        with self._lock(name):
            record = self._require_created(name)
            networks = config.firewall_networks(rules, public_access, isolated=self._in_namespace(record))
            record.firewall = [(start, end) for start, end in rules]
            record.public_access = public_access
            self._save(record)
            self._cluster(record).write_file("pg_hba.conf", config.render_hba(networks, self._require_tls(record)))
            self._reload_if_running(record)

    # Being built (issue 14): the interface first, so the control plane can code against it.
    def set_authentication(
        self, name: str, *, password_enabled: bool, entra_enabled: bool, tenant_id: str | None
    ) -> None:
        raise NotImplementedError

    def set_entra_administrators(self, name: str, administrators: Sequence[EntraAdministrator]) -> None:
        raise NotImplementedError

    def create_database(self, name: str, database: str, *, charset: str, collation: str) -> None:
        raise NotImplementedError

    def drop_database(self, name: str, database: str) -> None:
        raise NotImplementedError

    def list_databases(self, name: str) -> list[Database]:
        raise NotImplementedError

    def endpoint(self, name: str) -> Endpoint | None:
        """Where the server listens (or listened last, when stopped); None for an unknown server."""
        with self._lock(name):
            record = self._load(name)
            if record is None or not record.provisioned:
                return None
            return self._endpoint(record)

    def is_running(self, name: str) -> bool:
        with self._lock(name):
            record = self._load(name)
            return record is not None and self._cluster(record).is_running()

    def version_used(self, name: str) -> str:
        with self._lock(name):
            return str(self._require(name).major)

    def shutdown_all(self) -> None:
        names = [record.name for record in self._all_records()]
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(self.stop, names))

    # --- creation -------------------------------------------------------------------------------------------

    def _create(
        self,
        name: str,
        fqdn: str,
        version: str,
        admin_login: str,
        admin_password: str,
        parameters: Mapping[str, str],
        network: PrivateNetwork | None,
    ) -> Endpoint:
        _check_login(admin_login)
        install = choose_install(self._installs, version)
        if str(install.major) != version.strip():
            log.info("PostgreSQL %s is not installed; server %s uses %s", version, name, install.major)
        shadow = self._shadow(install)
        folder = self._run_as.make_dir(self._server_dir(name))
        placed = network if self._no_isolation is None else None  # without isolation: loopback, as public ones
        record = ServerRecord(
            name=name,
            fqdn=fqdn,
            requested_version=version,
            major=install.major,
            port=PRIVATE_PORT if placed else self._reserve_port(),
            parameters={str(k): str(v) for k, v in parameters.items()},
            namespace=self._namespace_name(placed.network_id) if placed else "",
            private_address=placed.address if placed else "",
        )
        # Saved before the namespace is made: deleting a sibling keeps a namespace that a record still names.
        self._save(record)
        if self.use_template:
            copy_data_dir(self._ensure_template(install, shadow) / "data", folder / "data")
        else:
            self._build_cluster(folder, install, shadow)
        self._issue_certificate(record)
        self._write_settings(record)
        self._start(record)
        _upsert_admin(self._cluster(record), admin_login, admin_password)
        record.admin_login = admin_login
        record.provisioned = True
        self._save(record)
        return self._endpoint(record)

    def _ensure_template(self, install: PostgresInstall, shadow: ShadowInstall) -> Path:
        target = self.root / f"template-{install.major}"
        with self._major_lock(install.major):
            if (target / ".complete").exists():
                return target
            scratch = self.root / f".template-{install.major}.building"
            shutil.rmtree(scratch, ignore_errors=True)
            self._run_as.make_dir(scratch)
            self._build_cluster(scratch, install, shadow)
            (scratch / ".complete").touch()
            shutil.rmtree(target, ignore_errors=True)
            scratch.rename(target)
            return target

    def _build_cluster(self, folder: Path, install: PostgresInstall, shadow: ShadowInstall) -> None:
        """initdb, then start once on a private socket (no TCP) to create roles and the allow-list trigger."""
        socket_dir = private_socket_dir(folder / "run", self._run_as)
        cluster = Cluster(
            folder / "data",
            socket_dir=socket_dir,
            port=TEMPLATE_SOCKET_PORT,
            postgres=shadow.postgres,
            install=install,
            run_as=self._run_as,
        )
        cluster.initdb()
        cluster.write_file("emulator.conf", config.render_template_conf(socket_dir))
        cluster.write_file("pg_hba.conf", config.render_hba([], require_tls=True))
        cluster.write_file("pg_ident.conf", config.render_ident([self._run_as.emulator_user]))
        cluster.start()
        try:
            bootstrap(cluster)
            if not self._settings_path(install.major).exists():
                cluster.dump_settings(self._settings_path(install.major))
        finally:
            cluster.stop()
            shutil.rmtree(cluster.log_file.parent, ignore_errors=True)
            shutil.rmtree(socket_dir, ignore_errors=True)

    def _issue_certificate(self, record: ServerRecord) -> None:
        tls = self._run_as.make_dir(self._server_dir(record.name) / "tls")
        issued = self.ca.issue_server_certificate([record.fqdn], tls, "server")
        self._run_as.own(issued.cert_path)
        self._run_as.own(issued.key_path)  # PostgreSQL insists its key is 0600 and its own

    def _certificate_needs_renewal(self, record: ServerRecord) -> bool:
        cert_path = self._server_dir(record.name) / "tls" / "server.crt"
        if not cert_path.exists() or not (cert_path.parent / "server.key").exists():
            return True
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        return cert.not_valid_after_utc - dt.datetime.now(dt.UTC) < _CERT_RENEW_BEFORE

    # --- running --------------------------------------------------------------------------------------------

    def _start(self, record: ServerRecord) -> None:
        """Start unless running; choose a new port when ours was taken meanwhile (the record keeps it)."""
        cluster = self._cluster(record)
        if cluster.is_running():
            return
        if self._certificate_needs_renewal(record):
            self._issue_certificate(record)
        if self._in_namespace(record):
            self._start_in_namespace(record)
            return
        for attempt in range(1, _START_ATTEMPTS + 1):
            if not port_is_free(record.port):
                self._release_port(record.port)
                record.port = self._reserve_port()
                self._save(record)
            self._write_emulator_conf(record)
            try:
                self._cluster(record).start()
                return
            except DataPlaneError as exc:
                if "could not bind" not in str(exc) or attempt == _START_ATTEMPTS:
                    raise
                log.info("port %s of %s was taken; trying another", record.port, record.name)

    def _start_in_namespace(self, record: ServerRecord) -> None:
        """pg_ctl runs from a thread inside the namespace, so the postmaster and its backends live there."""
        with self._namespace_lock:
            netns.ensure(record.namespace, [record.private_address])  # recreated after a reboot
        self._write_emulator_conf(record)
        netns.call_inside(record.namespace, self._cluster(record).start)

    def _leave_namespace(self, record: ServerRecord) -> None:
        """Take a deleted server's address out of its namespace; remove the namespace with its last server."""
        if not self._in_namespace(record):
            return
        with self._namespace_lock:
            siblings = [r for r in self._all_records() if r.namespace == record.namespace and r.name != record.name]
            if siblings:
                netns.remove_address(record.namespace, record.private_address)
            else:
                netns.delete(record.namespace)

    def _in_namespace(self, record: ServerRecord) -> bool:
        # A record from a root emulator read by one that cannot isolate falls back to loopback.
        return bool(record.namespace) and self._no_isolation is None

    def _endpoint(self, record: ServerRecord) -> Endpoint:
        if self._in_namespace(record):
            return Endpoint(record.private_address, record.port, record.namespace)
        return Endpoint(LOOPBACK, record.port)

    def _namespace_name(self, network_id: str) -> str:
        # Resource ids compare case-insensitively in Azure; namespace names are file names, so keep them short.
        return namespace_prefix(self.root) + hashlib.sha256(network_id.lower().encode()).hexdigest()[:8]

    def _reload_if_running(self, record: ServerRecord) -> None:
        cluster = self._cluster(record)
        if cluster.is_running():
            cluster.reload()

    # --- configuration files --------------------------------------------------------------------------------

    def _write_settings(self, record: ServerRecord) -> None:
        """azure.conf from the parameters, and pg_hba.conf (require_secure_transport decides TLS-only)."""
        install = choose_install(self._installs, str(record.major))
        pkglibdir = self._pkglibdir(install)
        text, skipped = config.render_azure_conf(record.parameters, self._settings(install.major), pkglibdir)
        if skipped:
            log.info("server %s: parameters not written to postgresql: %s", record.name, ", ".join(skipped))
        cluster = self._cluster(record)
        cluster.write_file("azure.conf", text)
        networks = config.firewall_networks(record.firewall, record.public_access, isolated=self._in_namespace(record))
        cluster.write_file("pg_hba.conf", config.render_hba(networks, self._require_tls(record)))
        cluster.write_file("pg_ident.conf", config.render_ident([self._run_as.emulator_user]))

    def _write_emulator_conf(self, record: ServerRecord) -> None:
        folder = self._server_dir(record.name)
        text = config.render_emulator_conf(
            port=record.port,
            socket_dir=private_socket_dir(folder / "run", self._run_as),
            cert_file=folder / "tls" / "server.crt",
            key_file=folder / "tls" / "server.key",
            cluster_name=record.name,
            listen_address=record.private_address if self._in_namespace(record) else LOOPBACK,
        )
        self._cluster(record).write_file("emulator.conf", text)

    @staticmethod
    def _require_tls(record: ServerRecord) -> bool:
        lowered = {k.strip().lower(): v for k, v in record.parameters.items()}
        return config.is_on(lowered.get(config.REQUIRE_SECURE_TRANSPORT, "on"))

    def _settings(self, major: int) -> dict[str, config.SettingSpec]:
        path = self._settings_path(major)
        if not path.exists():
            raise DataPlaneError(f"{path} is missing; it is written when the first cluster of {major} is built")
        return load_settings(path)

    def _settings_path(self, major: int) -> Path:
        return self.root / f"settings-{major}.json"

    @staticmethod
    def _pkglibdir(install: PostgresInstall) -> Path:
        return install.bindir.parent / "lib"

    # --- bookkeeping ----------------------------------------------------------------------------------------

    def _cluster(self, record: ServerRecord) -> Cluster:
        install = choose_install(self._installs, str(record.major))
        folder = self._server_dir(record.name)
        return Cluster(
            folder / "data",
            socket_dir=private_socket_dir(folder / "run", self._run_as),
            port=record.port,
            postgres=self._shadow(install).postgres,
            install=install,
            run_as=self._run_as,
        )

    def _shadow(self, install: PostgresInstall) -> ShadowInstall:
        return ensure_shadow_install(install, self.root, self._run_as.own_tree)

    def _server_dir(self, name: str) -> Path:
        if not _SERVER_NAME_RE.match(name):
            raise ValueError(f"invalid server name {name!r}")
        return self.root / "servers" / name

    def _load(self, name: str) -> ServerRecord | None:
        path = self._server_dir(name) / "server.json"
        try:
            raw = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        raw["firewall"] = [tuple(rule) for rule in raw.get("firewall", [])]
        return ServerRecord(**raw)

    def _save(self, record: ServerRecord) -> None:
        path = self._server_dir(record.name) / "server.json"
        config.write_atomically(path, json.dumps(asdict(record), indent=2), mode=0o600)

    def _all_records(self) -> list[ServerRecord]:
        folders = sorted((self.root / "servers").iterdir())
        records = [self._load(folder.name) for folder in folders if _SERVER_NAME_RE.match(folder.name)]
        return [record for record in records if record is not None]

    def _require_created(self, name: str) -> ServerRecord:
        record = self._load(name)
        if record is None:
            raise DataPlaneError(f"server {name!r} does not exist in the data plane")
        return record

    def _require(self, name: str) -> ServerRecord:
        record = self._require_created(name)
        if not record.provisioned:
            raise DataPlaneError(f"server {name!r} was never fully provisioned; provision it again")
        return record

    def _wipe(self, name: str) -> None:
        """Remove a server's files, stopping whatever PostgreSQL still runs there (e.g. after a crash)."""
        folder = self._server_dir(name)
        if (folder / "data" / "postmaster.pid").exists():
            install = self._installs[0]
            Cluster(
                folder / "data",
                socket_dir=private_socket_dir(folder / "run", self._run_as),
                port=0,
                postgres=install.program("postgres"),
                install=install,
                run_as=self._run_as,
            ).stop(mode="immediate")
        socket_dir = private_socket_dir(folder / "run", self._run_as) if folder.exists() else None
        if socket_dir is not None and folder not in socket_dir.parents:
            shutil.rmtree(socket_dir, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)

    def _lock(self, name: str) -> threading.RLock:
        with self._guard:
            return self._server_locks.setdefault(name, threading.RLock())

    def _major_lock(self, major: int) -> threading.Lock:
        with self._guard:
            return self._major_locks.setdefault(major, threading.Lock())

    def _reserve_port(self) -> int:
        with self._guard:
            while True:
                port = free_port()
                if port not in self._reserved_ports:
                    self._reserved_ports.add(port)
                    return port

    def _release_port(self, port: int) -> None:
        with self._guard:
            self._reserved_ports.discard(port)


def _check_login(login: str) -> None:
    if not login or login.lower() in _RESERVED_LOGINS or login.lower().startswith(("pg_", "azure_")):
        raise ValueError(f"{login!r} cannot be the administrator login")


def _upsert_admin(cluster: Cluster, login: str, password: str) -> None:
    """The Azure administrator: LOGIN, CREATEDB, CREATEROLE, member of azure_pg_admin, never superuser."""
    # The control plane hands over a verifier already (it never stores passwords); PostgreSQL takes one as is.
    verifier = password if password.startswith("SCRAM-SHA-256$") else scram_verifier(password)
    secret = sql.Literal(verifier)
    role = sql.Identifier(login)
    exists = login in cluster.query_column("SELECT rolname FROM pg_roles")
    verb = sql.SQL("ALTER") if exists else sql.SQL("CREATE")
    cluster.execute(
        [
            sql.SQL("{} ROLE {} WITH LOGIN NOSUPERUSER INHERIT CREATEDB CREATEROLE PASSWORD {}").format(
                verb, role, secret
            ),
            sql.SQL("GRANT {} TO {}").format(sql.Identifier(config.ADMIN_GROUP), role),
        ]
    )
