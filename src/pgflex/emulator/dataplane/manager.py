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

A server that should run (started, restarted or provisioned, not stopped since) and whose PostgreSQL died is
started again by the watchdog (watchdog.py, once :meth:`DataPlane.start_watchdog` is called); :meth:`health`
tells, without waiting on any lock, whether each server runs, is down or is stopped. A failed start raises a
one-line :class:`DataPlaneError` naming the server's log; the next change, start or restart tries again.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pgflex.emulator import netns
from pgflex.emulator.dataplane import config, databases, roles
from pgflex.emulator.dataplane.binaries import choose_install, discover_installs
from pgflex.emulator.dataplane.cluster import (
    LOG_FOLDER,
    Cluster,
    DataPlaneError,
    PortTaken,
    RunAs,
    copy_data_dir,
    port_is_free,
)
from pgflex.emulator.dataplane.databases import Database
from pgflex.emulator.dataplane.entra import EntraAdministrator, EntraSettings, TokenVerifier
from pgflex.emulator.dataplane.files import ServerFiles
from pgflex.emulator.dataplane.gate import EntraGate
from pgflex.emulator.dataplane.placement import Endpoint, Placement, PrivateNetwork
from pgflex.emulator.dataplane.records import RecordStore, ServerRecord, is_server_name
from pgflex.emulator.dataplane.templates import Templates
from pgflex.emulator.dataplane.watchdog import WATCHDOG_INTERVAL_S, ServerHealth, Watchdog
from pgflex.emulator.pki import CertificateAuthority

log = logging.getLogger(__name__)

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
        self._files = ServerFiles(
            self._installs,
            self._records,
            self._templates,
            self._placement,
            self._run_as,
            ca,
            lambda: self._gate.port if self._gate else None,
        )
        self._watchdog: Watchdog | None = None
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
                self._bring_up(record)
                if admin_login:
                    self.set_admin_password(name, admin_login, admin_password)
                self.apply_parameters(name, parameters)
                return self._placement.endpoint(self._require(name))
            self._files.wipe(name)
            return self._create(name, fqdn, version, admin_login, admin_password, parameters, network)

    def start(self, name: str) -> Endpoint:
        with self._lock(name):
            record = self._require(name)
            self._bring_up(record)
            return self._placement.endpoint(record)

    def stop(self, name: str) -> None:
        """Stop it until the next start (the watchdog leaves a stopped server alone)."""
        with self._lock(name):
            record = self._records.load(name)
            if record is not None:
                record.running = False
                self._records.save(record)
                self._cluster(record).stop()

    def restart(self, name: str) -> None:
        with self._lock(name):
            record = self._require(name)
            self._cluster(record).stop()
            self._bring_up(record)

    def delete(self, name: str) -> None:
        with self._lock(name):
            folder = self._records.server_dir(name)
            record = self._records.load(name)
            if record is not None:
                self._cluster(record).stop(mode="immediate")
                self._placement.release_port(record.port)
            self._files.wipe(name)
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
            self._files.write_settings(record)
            self._follow(record)

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
            address = self._placement.listen_address(record)
            record.firewall = [(start, end) for start, end in rules]
            record.public_access = public_access
            self._records.save(record)
            self._files.write_hba(record)
            if self._placement.listen_address(record) != address:
                # Public access turned on or off without a virtual network: listen_addresses changes at a start.
                self._files.write_emulator_conf(record)
                self._cluster(record).stop()
            self._follow(record)

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
            self._files.write_hba(record)
            self._follow(record)

    def set_entra_administrators(self, name: str, administrators: Sequence[EntraAdministrator]) -> None:
        """The full set: each has a login role with the administrator's privileges; removed ones lose theirs."""
        roles.check_administrators(administrators)
        with self._lock(name):
            record = self._require_created(name)
            with self._running(record) as cluster:
                roles.reconcile_entra_roles(cluster, administrators, record.admin_login)
            record.entra_administrators = list(administrators)
            self._records.save(record)
            self._files.write_hba(record)
            self._follow(record)

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

    def log_folder(self, name: str) -> Path:
        """The folder the server's PostgreSQL logs to (postgresql.log); it exists once the server first started."""
        return self._records.server_dir(name) / LOG_FOLDER

    def is_running(self, name: str) -> bool:
        with self._lock(name):
            record = self._records.load(name)
            return record is not None and self._cluster(record).is_running()

    def version_used(self, name: str) -> str:
        with self._lock(name):
            return str(self._require(name).major)

    def minor_version(self, name: str) -> str:
        """The minor version of the PostgreSQL the server runs, as Azure's minorVersion says it ("14" for 15.14)."""
        with self._lock(name):
            version = choose_install(self._installs, str(self._require(name).major)).version
        minor = version.partition(".")[2].split(".")[0]
        return minor if minor.isdigit() else "0"

    def health(self, name: str) -> ServerHealth | None:
        """Whether PostgreSQL runs (accepts connections), starts, stops, is down (should run and does not) or is
        stopped, and whether it listens on TCP at all. Reads files only, never waits on a server's lock: fit for
        status reads. None: unknown."""
        return self._files.health(name)

    def health_report(self) -> dict[str, dict[str, object]]:
        """:meth:`health` of every server, by name."""
        report = {record.name: self.health(record.name) for record in self._records.all()}
        return {name: health.as_dict() for name, health in report.items() if health is not None}

    def start_watchdog(self, interval: float = WATCHDOG_INTERVAL_S) -> None:
        """Bring back servers whose PostgreSQL died (see watchdog.py); one watchdog per root, so only the
        emulator's own data plane calls this, never a second DataPlane opened on the same root."""
        if self._watchdog is None:
            self._watchdog = Watchdog(self._healable, self._is_dead, self._heal, interval)

    def shutdown_all(self) -> None:
        """Stop every server and the Entra login responder: the data plane's last call. The next emulator
        process starts the servers its state says are running."""
        if self._watchdog is not None:
            self._watchdog.close()
            self._watchdog = None
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
        self._files.issue_certificate(record)
        self._files.write_settings(record)
        self._bring_up(record)
        if admin_login:
            roles.upsert_admin(self._cluster(record), admin_login, admin_password)
        record.admin_login = admin_login
        record.provisioned = True
        self._records.save(record)
        return self._placement.endpoint(record)

    # --- running --------------------------------------------------------------------------------------------

    def _start(self, record: ServerRecord) -> None:
        """Start unless running; choose a new port when ours was taken meanwhile (the record keeps it).

        A failure rewrites the emulator's files (:meth:`ServerFiles.repair`) before it is raised."""
        cluster = self._cluster(record)
        if cluster.is_running():
            return
        try:
            if self._files.certificate_needs_renewal(record):
                self._files.issue_certificate(record)
            if self._placement.in_namespace(record):
                self._start_in_namespace(record)
                return
            for attempt in range(1, _START_ATTEMPTS + 1):
                if not port_is_free(record.port):
                    self._placement.release_port(record.port)
                    record.port = self._placement.reserve_port()
                    self._records.save(record)
                self._files.write_emulator_conf(record)
                try:
                    self._cluster(record).start()
                    return
                except PortTaken:
                    if attempt == _START_ATTEMPTS:
                        raise
                    log.info("port %s of %s was taken; trying another", record.port, record.name)
        except DataPlaneError:
            try:
                self._files.repair(record)
            except Exception:  # the start's own error is the one to report
                log.exception("server %s: its settings files could not be rewritten", record.name)
            raise

    def _bring_up(self, record: ServerRecord) -> None:
        """Start it because an operation asks: it should run from now on, and whether that start failed is
        kept (the watchdog leaves a failed one to the next operation)."""
        record.running = True
        try:
            self._start(record)
        except Exception:
            record.start_failed = True
            self._records.save(record)
            raise
        record.start_failed = False
        self._records.save(record)

    @contextlib.contextmanager
    def _running(self, record: ServerRecord) -> Iterator[Cluster]:
        """The server's cluster, started for the block if it was not running (and stopped again after, unless
        it should run: a server that died or failed to start is brought back)."""
        cluster = self._cluster(record)
        was_running = cluster.is_running()
        if not was_running:
            self._bring_up(record) if record.running else self._start(record)
        try:
            yield cluster
        finally:
            if not was_running and not record.running:
                cluster.stop()

    def _start_in_namespace(self, record: ServerRecord) -> None:
        """pg_ctl runs from a thread inside the namespace, so the postmaster and its backends live there."""
        self._placement.enter_namespace(record, self._gate)
        self._files.write_emulator_conf(record)
        netns.call_inside(record.namespace, self._cluster(record).start)

    def _reload_if_running(self, record: ServerRecord) -> None:
        cluster = self._cluster(record)
        if cluster.is_running():
            cluster.reload()

    def _follow(self, record: ServerRecord) -> None:
        """After a change of its files: a running server reloads them; one that should run and does not (it
        died, or its last start failed) is started with them, so the next valid change brings it back."""
        cluster = self._cluster(record)
        if cluster.is_running():
            cluster.reload()
        elif record.running:
            self._bring_up(record)

    # --- the watchdog ---------------------------------------------------------------------------------------

    def _healable(self) -> list[str]:
        return [r.name for r in self._records.all() if r.provisioned and r.running and not r.start_failed]

    def _is_dead(self, name: str) -> bool:
        health = self.health(name)
        return health is not None and health.state == "down"

    def _heal(self, name: str) -> None:
        with self._lock(name):
            record = self._records.load(name)
            if record is None or not (record.provisioned and record.running) or record.start_failed:
                return
            if not self._cluster(record).is_running():
                log.warning("server %s: PostgreSQL was not running; starting it again", name)
                self._start(record)

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
                    self._files.write_hba(record)
                    self._reload_if_running(record)

    # --- bookkeeping ----------------------------------------------------------------------------------------

    def _cluster(self, record: ServerRecord) -> Cluster:
        return self._files.cluster(record)

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

    def _lock(self, name: str) -> threading.RLock:
        with self._guard:
            return self._server_locks.setdefault(name, threading.RLock())
