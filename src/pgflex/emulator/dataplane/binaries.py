"""Finding the system PostgreSQL and building the emulator's "shadow install" of it.

Azure lets the non-superuser administrator create allow-listed extensions such as ``sslinfo``.
PostgreSQL only lets a non-superuser create *trusted* extensions, and the system's
``sslinfo.control`` is not trusted. We never touch system files; instead each major version gets a
shadow install under ``<root>/pg-<major>/`` whose ``postgres`` binary is a real copy (PostgreSQL
resolves symlinks when it locates itself) and whose share directory is a farm of symlinks to the
system's, except for extension control files that we rewrite with ``trusted = true``. PostgreSQL
computes its share and library directories relative to the binary's real location, so the copy
finds our share directory and, through a symlink, the system's library directory.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SYSTEM_GLOB_ROOT = Path("/usr/lib/postgresql")
_VERSION_RE = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")
# Extensions that would hand a database user access to the operating system stay untrusted.
NEVER_TRUSTED = frozenset({"adminpack", "file_fdw", "plperlu", "plpython3u", "plpythonu", "pltclu"})
_REQUIRED_PROGRAMS = ("postgres", "initdb", "pg_ctl")


class DataPlaneUnavailable(RuntimeError):
    """No usable PostgreSQL server binaries were found."""


@dataclass(frozen=True)
class PostgresInstall:
    """One installed PostgreSQL major version."""

    major: int
    version: str  # e.g. "15.18"
    bindir: Path

    def program(self, name: str) -> Path:
        return self.bindir / name


@dataclass(frozen=True)
class ShadowInstall:
    """Where the emulator's copy of ``postgres`` lives (with trusted extensions), or the system one."""

    postgres: Path
    trusted_extensions: bool


def _has_server_programs(bindir: Path) -> bool:
    return all(os.access(bindir / program, os.X_OK) for program in _REQUIRED_PROGRAMS)


def _pg_config_bindir() -> Path | None:
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        return None
    try:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(out.strip())


def candidate_bindirs() -> list[Path]:
    """Where we look, in order: PATH, ``pg_config --bindir``, ``/usr/lib/postgresql/*/bin``."""
    found: list[Path] = []
    on_path = shutil.which("postgres")
    if on_path is not None:
        found.append(Path(on_path).resolve().parent)
    from_pg_config = _pg_config_bindir()
    if from_pg_config is not None:
        found.append(from_pg_config)
    found.extend(sorted(SYSTEM_GLOB_ROOT.glob("*/bin")))
    return found


def _read_version(bindir: Path) -> tuple[int, str] | None:
    try:
        out = subprocess.run(
            [str(bindir / "postgres"), "--version"], capture_output=True, text=True, check=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = _VERSION_RE.search(out)
    if match is None:
        return None
    return int(match.group(1)), f"{match.group(1)}.{match.group(2) or '0'}"


def discover_installs(postgres_bin: Path | None = None) -> list[PostgresInstall]:
    """Installed PostgreSQL versions, newest first; ``postgres_bin`` (a bin directory) overrides search."""
    bindirs = [postgres_bin] if postgres_bin is not None else candidate_bindirs()
    installs: dict[int, PostgresInstall] = {}
    for bindir in bindirs:
        if not _has_server_programs(bindir):
            continue
        version = _read_version(bindir)
        if version is None:
            continue
        major, full = version
        installs.setdefault(major, PostgresInstall(major=major, version=full, bindir=bindir.resolve()))
    if not installs:
        where = str(postgres_bin) if postgres_bin is not None else "PATH, pg_config --bindir, "
        if postgres_bin is None:
            where += f"{SYSTEM_GLOB_ROOT}/*/bin"
        raise DataPlaneUnavailable(
            f"No PostgreSQL server binaries (postgres, initdb, pg_ctl) found; looked in {where}. "
            "Install the Debian package 'postgresql' or pass postgres_bin."
        )
    return sorted(installs.values(), key=lambda install: install.major, reverse=True)


def choose_install(installs: list[PostgresInstall], requested_major: str) -> PostgresInstall:
    """The requested major when installed, else the newest one (Azure majors we lack fall back)."""
    for install in installs:
        if str(install.major) == requested_major.strip():
            return install
    return installs[0]


def _compiled_dirs(install: PostgresInstall) -> tuple[Path, Path, Path] | None:
    """(bindir, sharedir, pkglibdir) as the binaries compute them, from the matching pg_config."""
    pg_config = install.program("pg_config")
    if not os.access(pg_config, os.X_OK):
        return None
    try:
        out = subprocess.run(
            [str(pg_config), "--bindir", "--sharedir", "--pkglibdir"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return None
    if len(out) != 3:
        return None
    return Path(out[0]), Path(out[1]), Path(out[2])


def _trusted_control(text: str) -> str:
    kept = [line for line in text.splitlines() if not line.strip().startswith("trusted")]
    return "\n".join([*kept, "trusted = true", ""])


def _write_new(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _build_extension_dir(system_dir: Path, shadow_dir: Path) -> None:
    shadow_dir.mkdir(mode=0o700, parents=True)
    for entry in system_dir.iterdir():
        stem = entry.name.removesuffix(".control")
        if entry.name.endswith(".control") and stem not in NEVER_TRUSTED:
            _write_new(shadow_dir / entry.name, _trusted_control(entry.read_text()).encode(), 0o600)
        else:
            (shadow_dir / entry.name).symlink_to(entry)


def _private_dirs(base: Path, folder: Path) -> None:
    """``folder`` and whatever is missing between ``base`` and it, each 0700 (mkdir's parents ignore the mode)."""
    current = base
    for part in folder.relative_to(base).parts:
        current = current / part
        current.mkdir(mode=0o700, exist_ok=True)


def _build_shadow(install: PostgresInstall, dirs: tuple[Path, Path, Path], target: Path) -> None:
    bindir, sharedir, pkglibdir = dirs
    # PostgreSQL maps sharedir/pkglibdir relative to the common prefix of its compiled bindir and sharedir.
    prefix = Path(os.path.commonpath([bindir, sharedir]))
    shadow_bin = target / bindir.relative_to(prefix)
    shadow_share = target / sharedir.relative_to(prefix)
    shadow_pkglib = target / pkglibdir.relative_to(prefix)
    target.mkdir(mode=0o700)
    _private_dirs(target, shadow_bin)
    _private_dirs(target, shadow_share)
    for entry in install.bindir.iterdir():
        if entry.name == "postgres":
            # A copy (PostgreSQL resolves symlinks to find itself), executable by its owner only.
            _write_new(shadow_bin / "postgres", entry.resolve().read_bytes(), 0o700)
        else:
            (shadow_bin / entry.name).symlink_to(entry)
    for entry in sharedir.iterdir():
        if entry.name == "extension":
            _build_extension_dir(entry, shadow_share / "extension")
        else:
            (shadow_share / entry.name).symlink_to(entry)
    if not shadow_pkglib.exists():
        _private_dirs(target, shadow_pkglib.parent)
        shadow_pkglib.symlink_to(pkglibdir)


_shadow_lock = threading.Lock()


def ensure_shadow_install(
    install: PostgresInstall, root: Path, give_away: Callable[[Path], None] = lambda _path: None
) -> ShadowInstall:
    """Build (once) and return the shadow install for ``install`` under ``root/pg-<major>``.

    Private (0700 directories, 0600 files, the binary 0700); ``give_away`` hands the built tree to the account that
    runs PostgreSQL.
    """
    dirs = _compiled_dirs(install)
    if dirs is None:
        log.warning("pg_config missing for %s: extensions stay untrusted for the admin", install.bindir)
        return ShadowInstall(postgres=install.program("postgres"), trusted_extensions=False)
    target = root / f"pg-{install.major}"
    postgres = target / dirs[0].relative_to(Path(os.path.commonpath([dirs[0], dirs[1]]))) / "postgres"
    with _shadow_lock:
        if not postgres.exists():
            scratch = root / f".pg-{install.major}.building-{os.getpid()}"
            shutil.rmtree(scratch, ignore_errors=True)
            _build_shadow(install, dirs, scratch)
            give_away(scratch)
            shutil.rmtree(target, ignore_errors=True)
            scratch.rename(target)
    return ShadowInstall(postgres=postgres, trusted_extensions=True)
