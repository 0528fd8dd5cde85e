"""What each PostgreSQL major needs once per data plane root, before any server of it is created.

Under ``root``: ``pg-<major>/`` (the shadow install), ``template-<major>/data`` (a stopped, bootstrapped
cluster that new servers copy) and ``settings-<major>.json`` (its pg_settings, to check parameters while
servers are stopped).
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

from pgflex.emulator.dataplane import config
from pgflex.emulator.dataplane.binaries import PostgresInstall, ShadowInstall, ensure_shadow_install
from pgflex.emulator.dataplane.bootstrap import bootstrap
from pgflex.emulator.dataplane.cluster import (
    TEMPLATE_SOCKET_PORT,
    Cluster,
    DataPlaneError,
    RunAs,
    load_settings,
    private_socket_dir,
)


class Templates:
    """Shadow installs, template clusters and settings catalogues, each built once per major."""

    def __init__(self, root: Path, run_as: RunAs) -> None:
        self.root = root
        self._run_as = run_as
        self._guard = threading.Lock()
        self._major_locks: dict[int, threading.Lock] = {}

    def shadow(self, install: PostgresInstall) -> ShadowInstall:
        return ensure_shadow_install(install, self.root, self._run_as.own_tree)

    def template_data(self, install: PostgresInstall) -> Path:
        """The template cluster's data directory, built on first use."""
        target = self.root / f"template-{install.major}"
        with self._major_lock(install.major):
            if not (target / ".complete").exists():
                scratch = self.root / f".template-{install.major}.building"
                shutil.rmtree(scratch, ignore_errors=True)
                self._run_as.make_dir(scratch)
                self.build_cluster(scratch, install)
                (scratch / ".complete").touch()
                shutil.rmtree(target, ignore_errors=True)
                scratch.rename(target)
        return target / "data"

    def build_cluster(self, folder: Path, install: PostgresInstall) -> None:
        """initdb, then start once on a private socket (no TCP) to create roles and the allow-list trigger."""
        socket_dir = private_socket_dir(folder / "run", self._run_as)
        cluster = Cluster(
            folder / "data",
            socket_dir=socket_dir,
            port=TEMPLATE_SOCKET_PORT,
            postgres=self.shadow(install).postgres,
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

    def settings(self, major: int) -> dict[str, config.SettingSpec]:
        path = self._settings_path(major)
        if not path.exists():
            raise DataPlaneError(f"{path} is missing; it is written when the first cluster of {major} is built")
        return load_settings(path)

    def _settings_path(self, major: int) -> Path:
        return self.root / f"settings-{major}.json"

    def _major_lock(self, major: int) -> threading.Lock:
        with self._guard:
            return self._major_locks.setdefault(major, threading.Lock())
