"""The data plane: one real PostgreSQL per emulated Flexible Server.

Layout under ``root`` (``<state>/dataplane``): directories 0700 and owned by PostgreSQL's account (``postgres``
when the emulator is root), files 0600 (the emulator's own, such as server.json, stay the emulator's): nothing
there is readable by any other account, and nothing outside the state directory needs a permission changed::

    pg-<major>/, template-<major>/, settings-<major>.json: built once per major (templates.py)
    entra-ldap.json          the port of the Microsoft Entra login responder (see gate.py)
    servers/<name>/
        server.json          what the data plane knows (records.py; no secrets); "provisioned" marks a finished create
        data/                PGDATA; azure.conf and emulator.conf are the managed settings
        tls/                 server.crt (leaf + intermediate) and server.key (0600, PostgreSQL's owner)
        run/                 private socket directory (under /tmp when this path is too long for a socket)
        log/postgresql.log

Private servers live in network namespaces when this machine can isolate them (placement.py).

Microsoft Entra logins (with a ``token_verifier``): pg_hba.conf sends each Entra administrator's role to
the emulator's LDAP responder, which checks the token sent as the password (gate.py). Without a verifier
those roles are refused.

Every public method is synchronous and serialised per server name, so calls for different servers
may run in parallel threads. PostgreSQL processes outlive the emulator process: a new ``DataPlane``
on the same root adopts running servers and restarts dead ones (stale lock files are cleared).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import shutil
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cryptography import x509

from pgflex.emulator import netns
from pgflex.emulator.dataplane import config, databases, roles
from pgflex.emulator.dataplane.binaries import PostgresInstall, choose_install, discover_installs
from pgflex.emulator.dataplane.cluster import (
    Cluster,
    DataPlaneError,
    RunAs,
    copy_data_dir,
    port_is_free,
    private_socket_dir,
)
from pgflex.emulator.dataplane.databases import Database
from pgflex.emulator.dataplane.entra import PRINCIPAL_TYPES, EntraAdministrator, EntraSettings, TokenVerifier
from pgflex.emulator.dataplane.gate import EntraGate
from pgflex.emulator.dataplane.placement import Endpoint, Placement, PrivateNetwork
from pgflex.emulator.dataplane.records import RecordStore, ServerRecord, is_server_name
from pgflex.emulator.dataplane.templates import Templates
from pgflex.emulator.pki import CertificateAuthority

log = logging.getLogger(__name__)

_CERT_RENEW_BEFORE = dt.timedelta(days=30)
_START_ATTEMPTS = 3


class DataPlane:
    """Creates, runs and configures the PostgreSQL clusters behind emulated servers."""

    def __init__(
        self,
        root: Path,
        ca: CertificateAuthority,
        *,
        postgres_bin: Path | None = None,
        use_template: bool = True,
        token_verifier: TokenVerifier | None = None,
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
        self._records = RecordStore(self.root)
        self._templates = Templates(self.root, self._run_as)
        self._guard = threading.Lock()
        self._server_locks: dict[str, threading.RLock] = {}
        self._placement = Placement(self.root, [record.port for record in self._records.all()])
        self._gate: EntraGate | None = None
        if token_verifier is not None:
            self._gate = EntraGate(self.root / "entra-ldap.json", token_verifier, self._entra_settings, is_server_name)
            self._adopt_entra_logins()

    # --- public API -----------------------------------------------------------------------------------------

    def binaries_info(self) -> str:
        return "; ".join(f"PostgreSQL {i.version} at {i.bindir}" for i in self._installs)

    def network_isolation(self) -> str:
        """How private servers are kept apart from this machine's network, for ``status``."""
        return self._placement.isolation()

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
        An empty ``admin_login`` creates no password administrator (a server for Microsoft Entra logins only).
        """
        with self._lock(name):
            record = self._records.load(name)
            if record is not None and record.provisioned:
                self._start(record)
                if admin_login:
                    self.set_admin_password(name, admin_login, admin_password)
                self.apply_parameters(name, parameters)
                return self._placement.endpoint(self._require(name))
            self._wipe(name)
            return self._create(name, fqdn, version, admin_login, admin_password, parameters, network)

    def start(self, name: str) -> Endpoint:
        with self._lock(name):
            record = self._require(name)
            self._start(record)
            return self._placement.endpoint(record)

    def stop(self, name: str) -> None:
        with self._lock(name):
            record = self._records.load(name)
            if record is not None:
                self._cluster(record).stop()

    def restart(self, name: str) -> None:
        with self._lock(name):
            record = self._require(name)
            self._cluster(record).stop()
            self._start(record)

    def delete(self, name: str) -> None:
        with self._lock(name):
            folder = self._records.server_dir(name)
            record = self._records.load(name)
            if record is not None:
                self._cluster(record).stop(mode="immediate")
                self._placement.release_port(record.port)
            self._wipe(name)
            if record is not None:
                self._placement.leave_namespace(record, self._records.all, self._gate)
            log.info("deleted server %s (%s)", name, folder)

    def set_admin_password(self, name: str, login: str, password: str) -> None:
        """Create the administrator or change its password (the server is started briefly if stopped)."""
        roles.check_login(login)
        with self._lock(name):
            record = self._require_created(name)
            with self._running(record) as cluster:
                roles.upsert_admin(cluster, login, password)
            record.admin_login = login
            self._records.save(record)

    def apply_parameters(self, name: str, parameters: Mapping[str, str]) -> None:
        """Write the full set of user overrides; dynamic ones apply now (reload), static ones on restart."""
        with self._lock(name):
            record = self._require_created(name)
            record.parameters = {str(k): str(v) for k, v in parameters.items()}
            self._records.save(record)
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
            record.firewall = [(start, end) for start, end in rules]
            record.public_access = public_access
            self._records.save(record)
            self._write_hba(record)
            self._reload_if_running(record)

    def set_authentication(
        self, name: str, *, password_enabled: bool, entra_enabled: bool, tenant_id: str | None
    ) -> None:
        """Which logins PostgreSQL accepts: by password (every role but Entra administrators'), by Entra token, or both.

        The emulator's own connections (the superuser on the private socket) are not affected.
        """
        with self._lock(name):
            record = self._require_created(name)
            record.password_auth, record.entra_auth, record.tenant_id = password_enabled, entra_enabled, tenant_id or ""
            self._records.save(record)
            self._write_hba(record)
            self._reload_if_running(record)

    def set_entra_administrators(self, name: str, administrators: Sequence[EntraAdministrator]) -> None:
        """The full set: each has a login role with the administrator's privileges; removed ones lose theirs."""
        _check_administrators(administrators)
        with self._lock(name):
            record = self._require_created(name)
            with self._running(record) as cluster:
                roles.reconcile_entra_roles(cluster, administrators, record.admin_login)
            record.entra_administrators = list(administrators)
            self._records.save(record)
            self._write_hba(record)
            self._reload_if_running(record)

    def create_database(self, name: str, database: str, *, charset: str, collation: str) -> None:
        """Create it unless it exists (then nothing changes); ValueError when charset or collation cannot be had."""
        databases.check_database_name(database)
        with self._lock(name):
            record = self._require_created(name)
            with self._running(record) as cluster:
                databases.create(cluster, database, charset=charset, collation=collation)
            record.databases.setdefault(database, {"charset": charset, "collation": collation})
            self._records.save(record)

    def drop_database(self, name: str, database: str) -> None:
        databases.check_database_name(database)
        with self._lock(name):
            record = self._require_created(name)
            with self._running(record) as cluster:
                databases.drop(cluster, database)
            record.databases.pop(database, None)
            self._records.save(record)

    def list_databases(self, name: str) -> list[Database]:
        with self._lock(name):
            record = self._require_created(name)
            with self._running(record) as cluster:
                return databases.listed(cluster, record.databases)

    def endpoint(self, name: str) -> Endpoint | None:
        """Where the server listens (or listened last, when stopped); None for an unknown server."""
        with self._lock(name):
            record = self._records.load(name)
            if record is None or not record.provisioned:
                return None
            return self._placement.endpoint(record)

    def is_running(self, name: str) -> bool:
        with self._lock(name):
            record = self._records.load(name)
            return record is not None and self._cluster(record).is_running()

    def version_used(self, name: str) -> str:
        with self._lock(name):
            return str(self._require(name).major)

    def shutdown_all(self) -> None:
        """Stop every server and the Entra login responder: the data plane's last call."""
        names = [record.name for record in self._records.all()]
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(self.stop, names))
        if self._gate is not None:
            self._gate.close()
            self._gate = None

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
        if admin_login:
            roles.check_login(admin_login)
        install = choose_install(self._installs, version)
        if str(install.major) != version.strip():
            log.info("PostgreSQL %s is not installed; server %s uses %s", version, name, install.major)
        folder = self._run_as.make_dir(self._records.server_dir(name))
        parameters = {str(k): str(v) for k, v in parameters.items()}
        record = ServerRecord(name, fqdn, version, install.major, port=0, parameters=parameters)
        self._placement.place(record, network)
        # Saved before the namespace is made: deleting a sibling keeps a namespace that a record still names.
        self._records.save(record)
        if self.use_template:
            copy_data_dir(self._templates.template_data(install), folder / "data")
        else:
            self._templates.build_cluster(folder, install)
        self._issue_certificate(record)
        self._write_settings(record)
        self._start(record)
        if admin_login:
            roles.upsert_admin(self._cluster(record), admin_login, admin_password)
        record.admin_login = admin_login
        record.provisioned = True
        self._records.save(record)
        return self._placement.endpoint(record)

    def _issue_certificate(self, record: ServerRecord) -> None:
        tls = self._run_as.make_dir(self._records.server_dir(record.name) / "tls")
        issued = self.ca.issue_server_certificate([record.fqdn], tls, "server")
        self._run_as.own(issued.cert_path)
        self._run_as.own(issued.key_path)  # PostgreSQL insists its key is 0600 and its own

    def _certificate_needs_renewal(self, record: ServerRecord) -> bool:
        cert_path = self._records.server_dir(record.name) / "tls" / "server.crt"
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
        if self._placement.in_namespace(record):
            self._start_in_namespace(record)
            return
        for attempt in range(1, _START_ATTEMPTS + 1):
            if not port_is_free(record.port):
                self._placement.release_port(record.port)
                record.port = self._placement.reserve_port()
                self._records.save(record)
            self._write_emulator_conf(record)
            try:
                self._cluster(record).start()
                return
            except DataPlaneError as exc:
                if "could not bind" not in str(exc) or attempt == _START_ATTEMPTS:
                    raise
                log.info("port %s of %s was taken; trying another", record.port, record.name)

    @contextlib.contextmanager
    def _running(self, record: ServerRecord) -> Iterator[Cluster]:
        """The server's cluster, started for the block if it was stopped (and stopped again after)."""
        cluster = self._cluster(record)
        was_running = cluster.is_running()
        if not was_running:
            self._start(record)
        try:
            yield cluster
        finally:
            if not was_running:
                cluster.stop()

    def _start_in_namespace(self, record: ServerRecord) -> None:
        """pg_ctl runs from a thread inside the namespace, so the postmaster and its backends live there."""
        self._placement.enter_namespace(record, self._gate)
        self._write_emulator_conf(record)
        netns.call_inside(record.namespace, self._cluster(record).start)

    def _reload_if_running(self, record: ServerRecord) -> None:
        cluster = self._cluster(record)
        if cluster.is_running():
            cluster.reload()

    # --- Microsoft Entra logins -----------------------------------------------------------------------------

    def _entra_settings(self, name: str) -> EntraSettings | None:
        """For the gate, from any thread: server.json is replaced atomically, so no lock is needed to read it."""
        record = self._records.load(name)
        return record.entra_settings() if record is not None and record.provisioned else None

    def _adopt_entra_logins(self) -> None:
        """Servers from an earlier emulator process: their namespaces get listeners, and their pg_hba.conf the
        gate's port when it had to change (another program took the old one meanwhile)."""
        assert self._gate is not None
        for record in self._records.all():
            if self._placement.in_namespace(record) and netns.exists(record.namespace):
                self._gate.serve_namespace(record.namespace)
            if self._gate.port_changed and record.entra_roles():
                with self._lock(record.name):
                    self._write_hba(record)
                    self._reload_if_running(record)

    # --- configuration files --------------------------------------------------------------------------------

    def _write_settings(self, record: ServerRecord) -> None:
        """azure.conf from the parameters, pg_hba.conf (require_secure_transport decides TLS-only) and pg_ident.conf."""
        install = choose_install(self._installs, str(record.major))
        pkglibdir = self._pkglibdir(install)
        catalogue = self._templates.settings(install.major)
        text, skipped = config.render_azure_conf(record.parameters, catalogue, pkglibdir)
        if skipped:
            log.info("server %s: parameters not written to postgresql: %s", record.name, ", ".join(skipped))
        cluster = self._cluster(record)
        cluster.write_file("azure.conf", text)
        self._write_hba(record)
        cluster.write_file("pg_ident.conf", config.render_ident([self._run_as.emulator_user]))

    def _write_hba(self, record: ServerRecord) -> None:
        """pg_hba.conf from the firewall, require_secure_transport and the authentication settings."""
        networks = config.firewall_networks(
            record.firewall, record.public_access, isolated=self._placement.in_namespace(record)
        )
        entra = config.EntraHba(record.entra_roles(), record.name, self._gate.port if self._gate else None)
        text = config.render_hba(networks, self._require_tls(record), password_auth=record.password_auth, entra=entra)
        self._cluster(record).write_file("pg_hba.conf", text)

    def _write_emulator_conf(self, record: ServerRecord) -> None:
        folder = self._records.server_dir(record.name)
        text = config.render_emulator_conf(
            port=record.port,
            socket_dir=private_socket_dir(folder / "run", self._run_as),
            cert_file=folder / "tls" / "server.crt",
            key_file=folder / "tls" / "server.key",
            cluster_name=record.name,
            listen_address=self._placement.listen_address(record),
        )
        self._cluster(record).write_file("emulator.conf", text)

    @staticmethod
    def _require_tls(record: ServerRecord) -> bool:
        lowered = {k.strip().lower(): v for k, v in record.parameters.items()}
        return config.is_on(lowered.get(config.REQUIRE_SECURE_TRANSPORT, "on"))

    @staticmethod
    def _pkglibdir(install: PostgresInstall) -> Path:
        return install.bindir.parent / "lib"

    # --- bookkeeping ----------------------------------------------------------------------------------------

    def _cluster(self, record: ServerRecord) -> Cluster:
        install = choose_install(self._installs, str(record.major))
        folder = self._records.server_dir(record.name)
        return Cluster(
            folder / "data",
            socket_dir=private_socket_dir(folder / "run", self._run_as),
            port=record.port,
            postgres=self._templates.shadow(install).postgres,
            install=install,
            run_as=self._run_as,
        )

    def _require_created(self, name: str) -> ServerRecord:
        record = self._records.load(name)
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
        folder = self._records.server_dir(name)
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


def _check_administrators(administrators: Sequence[EntraAdministrator]) -> None:
    """ValueError, before anything changes, for an administrator no login role can be made for."""
    names = [administrator.principal_name for administrator in administrators]
    for administrator in administrators:
        roles.check_principal_name(administrator.principal_name)
        if administrator.principal_type not in PRINCIPAL_TYPES:
            raise ValueError(f"principal type {administrator.principal_type!r} is not one of {sorted(PRINCIPAL_TYPES)}")
        if names.count(administrator.principal_name) > 1:
            raise ValueError(f"two administrators have the principal name {administrator.principal_name!r}")
