"""One PostgreSQL cluster on disk: create it, start and stop it, talk to it as the superuser.

PostgreSQL refuses to run as root, so when the emulator is root every PostgreSQL program runs as
the ``postgres`` account and every file PostgreSQL touches is owned by it (:class:`RunAs`).
The emulator reaches each cluster only through a Unix socket in a private (0700) directory, with
``peer`` authentication mapped to the superuser; the superuser is refused over TCP.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from pgflex.emulator.dataplane import config
from pgflex.emulator.dataplane.binaries import PostgresInstall
from pgflex.emulator.statedir import unreachable_reason

log = logging.getLogger(__name__)

START_TIMEOUT_S = 60
LOG_FOLDER = "log"  # beside data/: PostgreSQL's log, which the server's logFiles list
_SOCKET_NAME_RESERVE = len("/.s.PGSQL.65535.lock")
_MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes; keep a margin
_FATAL = re.compile(r"\b(FATAL|PANIC):")
TEMPLATE_SOCKET_PORT = 5432  # the template listens on no TCP port; this only names its socket
# The whole environment of initdb, pg_ctl and postgres, with LC_ALL=C.UTF-8 (TZ: initdb's default time zone).
POSTGRES_ENVIRONMENT = ("PATH", "TZ")


class DataPlaneError(RuntimeError):
    """A PostgreSQL program failed. The message is one line, fit for an API error: it names the log to read,
    never the program's output or the server's log (those go to the emulator's log and the server's folder)."""


class PortTaken(DataPlaneError):
    """PostgreSQL could not bind its TCP port: another program took it since the port was chosen."""


@dataclass(frozen=True)
class RunAs:
    """The operating-system account PostgreSQL runs as, and the account the emulator runs as."""

    uid: int
    gid: int
    user: str
    switch: bool  # True when we are root and must drop to ``user`` for PostgreSQL programs
    emulator_user: str

    @classmethod
    def detect(cls) -> RunAs:
        me = pwd.getpwuid(os.geteuid()).pw_name
        if os.geteuid() != 0:
            return cls(uid=os.geteuid(), gid=os.getegid(), user=me, switch=False, emulator_user=me)
        try:
            account = pwd.getpwnam("postgres")
        except KeyError as exc:
            raise DataPlaneError("running as root needs a 'postgres' account to run PostgreSQL") from exc
        return cls(account.pw_uid, account.pw_gid, account.pw_name, switch=True, emulator_user=me)

    def own(self, path: Path) -> None:
        if self.switch:
            os.chown(path, self.uid, self.gid, follow_symlinks=False)

    def own_tree(self, path: Path) -> None:
        if not self.switch:
            return
        self.own(path)
        for folder, subdirs, files in os.walk(path):
            for entry in [*subdirs, *files]:
                os.chown(Path(folder) / entry, self.uid, self.gid, follow_symlinks=False)

    def make_dir(self, path: Path, mode: int = 0o700) -> Path:
        path.mkdir(mode=mode, parents=True, exist_ok=True)
        path.chmod(mode)  # an existing one too
        self.own(path)
        return path

    def require_reachable(self, path: Path) -> None:
        """DataPlaneError unless the PostgreSQL account can reach ``path``; no permission is changed to get there."""
        if not self.switch:
            return
        reason = unreachable_reason(path, pwd.getpwuid(self.uid))
        if reason is not None:
            raise DataPlaneError(reason)

    def run(self, args: Sequence[str | Path], *, cwd: Path, timeout: float = 120) -> str:
        """Run a PostgreSQL program as the PostgreSQL account; raise with its output on failure."""
        # Named variables only: nothing the emulator's caller exported (passwords, tokens) reaches PostgreSQL.
        env = {key: os.environ[key] for key in POSTGRES_ENVIRONMENT if key in os.environ}
        env["LC_ALL"] = "C.UTF-8"
        result = subprocess.run(
            [str(arg) for arg in args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            user=self.uid if self.switch else None,
            group=self.gid if self.switch else None,
            extra_groups=[] if self.switch else None,
            stdin=subprocess.DEVNULL,
        )
        if result.returncode != 0:
            program = Path(str(args[0])).name
            output = " | ".join(line for line in (result.stdout + result.stderr).splitlines() if line.strip())
            log.warning("%s %s failed (exit status %s): %s", program, args[1], result.returncode, output[-2000:])
            raise DataPlaneError(f"{program} {args[1]} failed (exit status {result.returncode})")
        return result.stdout


def private_socket_dir(preferred: Path, run_as: RunAs) -> Path:
    """A 0700 directory for the cluster's socket; under /tmp when ``preferred`` is too long for sun_path."""
    folder = preferred
    if len(str(preferred)) + _SOCKET_NAME_RESERVE > _MAX_SOCKET_PATH:
        digest = hashlib.sha256(str(preferred).encode()).hexdigest()[:16]
        folder = Path(tempfile.gettempdir()) / f"pgflex-{digest}"
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
    info = folder.lstat()
    if info.st_uid not in (run_as.uid, os.geteuid()) or not stat.S_ISDIR(info.st_mode):
        raise DataPlaneError(f"socket directory {folder} exists but is not ours")
    folder.chmod(0o700)
    run_as.own(folder)
    return folder


def free_port() -> int:
    """A TCP port on loopback that nobody listens on right now (PostgreSQL binds it moments later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _process_is_postgres(pid: int) -> bool:
    """A live (not zombie) process named postgres: the pid in a stale lock file may be reused or dead."""
    try:
        stat_fields = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    name, _, rest = stat_fields.partition("(")[2].rpartition(")")
    state = rest.split()[0] if rest.split() else "X"
    return name.startswith(("postgres", "postmaster")) and state not in ("Z", "X")


def postmaster_pid(data: Path) -> int | None:
    """The postmaster's pid when it is alive (a pid file alone proves nothing after a crash); reads files only."""
    try:
        pid = int((data / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None
    return pid if _process_is_postgres(pid) else None


class Cluster:
    """A data directory plus the socket, port and binaries needed to run it."""

    def __init__(
        self,
        data: Path,
        *,
        socket_dir: Path,
        port: int,
        postgres: Path,
        install: PostgresInstall,
        run_as: RunAs,
    ) -> None:
        self.data = data
        self.socket_dir = socket_dir
        self.port = port
        self.postgres = postgres
        self.install = install
        self.run_as = run_as
        self.log_file = data.parent / LOG_FOLDER / "postgresql.log"  # pg_ctl -l: appended to at every start

    # --- creation -------------------------------------------------------------------------------------------

    def initdb(self) -> None:
        self.run_as.make_dir(self.data)
        self.run_as.run(
            [
                self.install.program("initdb"),
                "-D",
                self.data,
                "-U",
                config.SUPERUSER,
                "--auth=reject",  # pg_hba.conf is replaced before the first start anyway
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-instructions",
                "--no-sync",  # the emulator favours speed; a machine crash may cost emulated data
            ],
            cwd=self.data.parent,
        )
        with (self.data / "postgresql.conf").open("a") as handle:
            handle.write("\n# pgflex emulator: managed settings, the emulator's last.\n" + config.INCLUDE_LINES)

    def write_file(self, name: str, text: str) -> None:
        owner = (self.run_as.uid, self.run_as.gid) if self.run_as.switch else None
        config.write_atomically(self.data / name, text, owner=owner)

    # --- process control ------------------------------------------------------------------------------------

    def running_pid(self) -> int | None:
        return postmaster_pid(self.data)

    def is_running(self) -> bool:
        return self.running_pid() is not None

    def _clear_stale_lock_files(self) -> None:
        """After a crash the pid may belong to an unrelated process, and PostgreSQL would refuse to start."""
        if self.running_pid() is not None:
            return
        for lock in [self.data / "postmaster.pid", *self.socket_dir.glob(".s.PGSQL.*")]:
            lock.unlink(missing_ok=True)

    def start(self) -> None:
        """Start and wait until it accepts connections; a failure is one line naming the log (see DataPlaneError)."""
        if self.is_running():
            return
        self._clear_stale_lock_files()
        self.run_as.make_dir(self.log_file.parent)
        log_offset = self._log_size()
        try:
            self.run_as.run(
                [
                    self.install.program("pg_ctl"),
                    "start",
                    "-w",
                    "-s",
                    "-t",
                    str(START_TIMEOUT_S),
                    "-D",
                    self.data,
                    "-l",
                    self.log_file,
                    "-p",
                    self.postgres,  # the shadow copy, whose share directory has the trusted extensions
                ],
                cwd=self.data.parent,
                timeout=START_TIMEOUT_S + 10,
            )
        except (DataPlaneError, subprocess.TimeoutExpired) as exc:
            written = self._log_since(log_offset)
            reasons = [line for line in written if _FATAL.search(line)] or written[-1:] or ["(nothing logged)"]
            log.warning("PostgreSQL in %s did not start: %s", self.data, reasons[-1].strip())
            error = PortTaken if any("could not bind" in line for line in written) else DataPlaneError
            server = self.data.parent.name
            raise error(f"PostgreSQL of server {server!r} did not start; its log: {self.log_file}") from exc

    def stop(self, mode: str = "fast") -> None:
        if not self.is_running():
            return
        args: list[str | Path] = [self.install.program("pg_ctl"), "stop", "-w", "-s", "-D", self.data]
        try:
            self.run_as.run([*args, "-m", mode], cwd=self.data.parent, timeout=START_TIMEOUT_S + 10)
        except (DataPlaneError, subprocess.TimeoutExpired):
            log.warning("pg_ctl stop -m %s failed for %s; stopping immediately", mode, self.data)
            self.run_as.run([*args, "-m", "immediate"], cwd=self.data.parent)

    def _log_size(self) -> int:
        try:
            return self.log_file.stat().st_size
        except OSError:
            return 0

    def _log_since(self, offset: int) -> list[str]:
        """The lines PostgreSQL logged since ``offset`` (the log grows with every start)."""
        try:
            with self.log_file.open("rb") as handle:
                handle.seek(offset)
                return handle.read().decode(errors="replace").splitlines()
        except OSError:
            return []

    # --- SQL as the superuser over the private socket -------------------------------------------------------

    def connect(self, dbname: str = "postgres") -> psycopg.Connection[tuple[Any, ...]]:
        return psycopg.connect(
            host=str(self.socket_dir),
            port=self.port,
            user=config.SUPERUSER,
            dbname=dbname,
            autocommit=True,
            connect_timeout=10,
        )

    def execute(self, statements: Sequence[sql.SQL | sql.Composed | str], dbname: str = "postgres") -> None:
        with self.connect(dbname) as conn:
            # Statements may carry password verifiers: keep them out of the log, whatever the user set.
            conn.execute("SET log_statement = 'none'")
            conn.execute("SET log_min_duration_statement = -1")
            conn.execute("SET log_min_error_statement = panic")
            for statement in statements:
                conn.execute(statement)

    def query_column(self, query: str | sql.Composed) -> list[Any]:
        return [row[0] for row in self.query_rows(query)]

    def query_rows(self, query: str | sql.Composed, dbname: str = "postgres") -> list[tuple[Any, ...]]:
        with self.connect(dbname) as conn:
            return conn.execute(query.encode() if isinstance(query, str) else query).fetchall()

    def reload(self, timeout: float = 10) -> None:
        """Reload the configuration and wait until new connections see it (pg_reload_conf only signals)."""
        with self.connect() as conn:
            before = conn.execute("SELECT pg_conf_load_time()").fetchone()
            conn.execute("SELECT pg_reload_conf()")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.connect() as conn:
                # A new backend inherits the postmaster's load time, so a newer one means the reload finished.
                if conn.execute("SELECT pg_conf_load_time()").fetchone() != before:
                    return
            time.sleep(0.01)
        raise DataPlaneError(f"configuration reload of {self.data} not seen within {timeout} s")

    def dump_settings(self, path: Path) -> None:
        """Record pg_settings so parameters can be checked while no server is running."""
        query = "SELECT name, vartype, context, enumvals, min_val, max_val FROM pg_settings"
        with self.connect() as conn:
            rows = conn.execute(query).fetchall()
        specs = [
            config.SettingSpec(
                name=name,
                vartype=vartype,
                context=context,
                enumvals=tuple(enumvals or ()),
                min_val=float(min_val) if min_val is not None else None,
                max_val=float(max_val) if max_val is not None else None,
            )
            for name, vartype, context, enumvals, min_val, max_val in rows
        ]
        config.write_atomically(path, json.dumps([asdict(spec) for spec in specs]))


def load_settings(path: Path) -> dict[str, config.SettingSpec]:
    raw: list[dict[str, Any]] = json.loads(path.read_text())
    return {
        item["name"]: config.SettingSpec(
            name=item["name"],
            vartype=item["vartype"],
            context=item["context"],
            enumvals=tuple(item["enumvals"]),
            min_val=item["min_val"],
            max_val=item["max_val"],
        )
        for item in raw
    }


def copy_data_dir(source: Path, target: Path) -> None:
    """Copy a stopped cluster, sharing blocks where the filesystem can (reflink), keeping owners and modes."""
    if shutil.which("cp") is None:
        shutil.copytree(source, target, symlinks=True)
        return
    subprocess.run(["cp", "-a", "--reflink=auto", str(source), str(target)], check=True, capture_output=True)
