"""The files the emulator writes into each server's data directory, all derived from its server.json.

``azure.conf`` (the user's parameters), ``pg_hba.conf`` (firewall, TLS requirement, authentication),
``pg_ident.conf`` (the emulator's account as the superuser) and ``emulator.conf`` (port, socket, address,
TLS files). Each change rewrites the ones it affects; a failed start rewrites them all (:meth:`repair`), so
the next start begins from what the emulator knows rather than from whatever broke that one.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

from cryptography import x509

from pgflex.emulator.dataplane import config
from pgflex.emulator.dataplane.binaries import PostgresInstall, choose_install
from pgflex.emulator.dataplane.cluster import Cluster, RunAs, postmaster_pid, private_socket_dir
from pgflex.emulator.dataplane.placement import Placement
from pgflex.emulator.dataplane.records import RecordStore, ServerRecord
from pgflex.emulator.dataplane.templates import Templates
from pgflex.emulator.dataplane.watchdog import ServerHealth
from pgflex.emulator.pki import CertificateAuthority

log = logging.getLogger(__name__)

_CERT_RENEW_BEFORE = dt.timedelta(days=30)


class ServerFiles:
    """Clusters of a data plane root and the settings files the emulator owns in them."""

    def __init__(
        self,
        installs: list[PostgresInstall],
        records: RecordStore,
        templates: Templates,
        placement: Placement,
        run_as: RunAs,
        ca: CertificateAuthority,
        ldap_port: Callable[[], int | None],
    ) -> None:
        self._installs = installs
        self._records = records
        self._templates = templates
        self._placement = placement
        self._run_as = run_as
        self._ca = ca
        self._ldap_port = ldap_port  # the Microsoft Entra login responder's port, None without one

    def cluster(self, record: ServerRecord) -> Cluster:
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

    def repair(self, record: ServerRecord) -> None:
        """Rewrite every file the emulator owns (after a failed start: one of them may be what failed)."""
        self.write_settings(record)
        self.write_emulator_conf(record)

    def write_settings(self, record: ServerRecord) -> None:
        """azure.conf from the parameters, pg_hba.conf and pg_ident.conf."""
        install = choose_install(self._installs, str(record.major))
        catalogue = self._templates.settings(install.major)
        text, skipped = config.render_azure_conf(record.parameters, catalogue, install.bindir.parent / "lib")
        if skipped:
            log.info("server %s: parameters not written to postgresql: %s", record.name, ", ".join(skipped))
        cluster = self.cluster(record)
        cluster.write_file("azure.conf", text)
        self.write_hba(record)
        cluster.write_file("pg_ident.conf", config.render_ident([self._run_as.emulator_user]))

    def write_hba(self, record: ServerRecord) -> None:
        """pg_hba.conf from the firewall, require_secure_transport and the authentication settings; no TCP
        line at all for a server that listens on no TCP address."""
        networks = config.firewall_networks(
            record.firewall, record.public_access, isolated=self._placement.in_namespace(record)
        )
        if not self._placement.listening(record):
            networks = []
        entra = config.EntraHba(record.entra_roles(), record.name, self._ldap_port())
        text = config.render_hba(networks, _require_tls(record), password_auth=record.password_auth, entra=entra)
        self.cluster(record).write_file("pg_hba.conf", text)

    def write_emulator_conf(self, record: ServerRecord) -> None:
        folder = self._records.server_dir(record.name)
        text = config.render_emulator_conf(
            port=record.port,
            socket_dir=private_socket_dir(folder / "run", self._run_as),
            cert_file=folder / "tls" / "server.crt",
            key_file=folder / "tls" / "server.key",
            cluster_name=record.name,
            listen_address=self._placement.listen_address(record),
        )
        self.cluster(record).write_file("emulator.conf", text)

    def health(self, name: str) -> ServerHealth | None:
        record = self._records.load(name)
        if record is None or not record.provisioned:
            return None
        data = self._records.server_dir(name) / "data"
        if postmaster_pid(data) is None:
            return ServerHealth("down" if record.running else "stopped", self._placement.listening(record))
        return ServerHealth(_postmaster_status(data), self._placement.listening(record))

    def issue_certificate(self, record: ServerRecord) -> None:
        tls = self._run_as.make_dir(self._records.server_dir(record.name) / "tls")
        issued = self._ca.issue_server_certificate([record.fqdn], tls, "server")
        self._run_as.own(issued.cert_path)
        self._run_as.own(issued.key_path)  # PostgreSQL insists its key is 0600 and its own

    def certificate_needs_renewal(self, record: ServerRecord) -> bool:
        cert_path = self._records.server_dir(record.name) / "tls" / "server.crt"
        if not cert_path.exists() or not (cert_path.parent / "server.key").exists():
            return True
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        return cert.not_valid_after_utc - dt.datetime.now(dt.UTC) < _CERT_RENEW_BEFORE

    def wipe(self, name: str) -> None:
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


def _postmaster_status(data: Path) -> str:
    """ "running" once PostgreSQL accepts connections; "starting" (crash recovery too) or "stopping" before."""
    try:
        status = (data / "postmaster.pid").read_text().splitlines()[7].strip()  # line 8: PostgreSQL 10 onwards
    except (OSError, IndexError):
        return "starting"  # being written
    return "running" if status in ("ready", "standby") else status if status == "stopping" else "starting"


def _require_tls(record: ServerRecord) -> bool:
    lowered = {k.strip().lower(): v for k, v in record.parameters.items()}
    return config.is_on(lowered.get(config.REQUIRE_SECURE_TRANSPORT, "on"))
