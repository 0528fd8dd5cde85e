"""pgflex installed for use: the wheel, built as users build it, installed alone into a fresh virtual environment.

The wheel is built offline from a copy of the sources (``python -m build --wheel --no-isolation`` with this
venv's setuptools), so that the work tree gets no ``build/`` and concurrent runs do not share one. It is then
installed without the ``dev`` extra into a new venv, once per test session (pytest-xdist workers share it), and
every command below runs from that venv, with none of this checkout on its path.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
# What setuptools reads to build the wheel; nothing else of the checkout goes into the copy.
BUILD_INPUTS = ("pyproject.toml", "README.md", "LICENSE", "src")
EMULATOR_DATA = ROOT / "src" / "pgflex" / "emulator" / "data"


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path
    build_output: str
    install_output: str

    @property
    def pgflex(self) -> str:
        return str(self.venv / "bin" / "pgflex")

    @property
    def python(self) -> str:
        return str(self.venv / "bin" / "python")


def _user_environment() -> dict[str, str]:
    """This environment without anything that would point the installed pgflex back at the checkout."""
    dropped = ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
    return {k: v for k, v in os.environ.items() if k not in dropped and not k.startswith("PGFLEX_EMULATOR_")}


def _run(args: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=_user_environment(), capture_output=True, text=True, timeout=timeout)


def _build_and_install(folder: Path) -> Installed:
    shutil.rmtree(folder, ignore_errors=True)  # what a failed attempt of another worker left
    source = folder / "source"
    source.mkdir(parents=True)
    for name in BUILD_INPUTS:
        origin = ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(origin, source / name)
    built = _run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(folder / "dist"), str(source)],
        folder,
        timeout=300,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (folder / "dist").glob("pgflex-*.whl")
    venv = folder / "venv"
    # No pip inside: this venv's pip installs into it (--python), which saves creating one per run. Runtime
    # dependencies come from pip's cache after the first run. --no-compile: start-up speed is not tested here.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    install = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--no-compile"]
    installed = _run([*install, str(wheel)], folder, timeout=900)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return Installed(wheel, venv, built.stdout + built.stderr, installed.stdout + installed.stderr)


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    """One build and one venv for the whole session, shared by the pytest-xdist workers through a lock."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # xdist: the session's own folder
    folder = shared / "pgflex-installed"
    folder.mkdir(exist_ok=True)
    record = folder / "installed.json"
    with (folder / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not record.exists():
            done = _build_and_install(folder / "work")
            record.write_text(json.dumps({key: str(value) for key, value in done.__dict__.items()}))
        raw = json.loads(record.read_text())
    yield Installed(Path(raw["wheel"]), Path(raw["venv"]), raw["build_output"], raw["install_output"])


def test_the_wheel_holds_the_emulator_data_and_the_licences(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
        dist_info = next(name.split("/")[0] for name in names if name.endswith(".dist-info/METADATA"))
        metadata = wheel.read(f"{dist_info}/METADATA").decode()
        entry_points = wheel.read(f"{dist_info}/entry_points.txt").decode()
    data_files = sorted(EMULATOR_DATA.glob("*.json")) + sorted(EMULATOR_DATA.glob("LICENSE-*"))
    assert any(path.suffix == ".json" for path in data_files) and any("LICENSE" in p.name for p in data_files)
    for path in data_files:
        assert f"pgflex/emulator/data/{path.name}" in names, path.name
    assert f"{dist_info}/licenses/LICENSE" in names
    notice = next(path for path in data_files if path.name.startswith("LICENSE-"))
    assert any(name.startswith(f"{dist_info}/licenses/") and name.endswith(notice.name) for name in names)
    assert "License-Expression: MIT" in metadata
    assert "pgflex = pgflex.cli.main:main" in entry_points


def test_building_and_installing_print_no_deprecation_warning(installed: Installed) -> None:
    for output in (installed.build_output, installed.install_output):
        assert "deprecat" not in output.lower(), output


def test_the_venv_has_pgflex_without_the_development_tools(installed: Installed, tmp_path: Path) -> None:
    probe = (
        "import importlib.util, json, pgflex\n"
        "tools = ['pytest', 'ruff', 'mypy', 'build', 'xdist']\n"
        "print(json.dumps({'pgflex': pgflex.__file__, 'tools': [t for t in tools if importlib.util.find_spec(t)]}))"
    )
    done = _run([installed.python, "-c", probe], tmp_path)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert Path(found["pgflex"]).is_relative_to(installed.venv)
    assert found["tools"] == []
    assert not (installed.venv / "bin" / "pytest").exists() and not (installed.venv / "bin" / "ruff").exists()


def test_version(installed: Installed, tmp_path: Path) -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    done = _run([installed.pgflex, "--version"], tmp_path)
    assert (done.returncode, done.stdout.strip()) == (0, f"pgflex {version}")


def test_validate(installed: Installed) -> None:
    done = _run([installed.pgflex, "validate", "infra/local.yaml"], ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("infra/local.yaml: valid")


def test_the_emulator_reads_its_parameter_catalogue_from_the_installed_package(
    installed: Installed, tmp_path: Path
) -> None:
    probe = "from pgflex.emulator.models.parameters import catalogue\nprint(len(catalogue()))"
    done = _run([installed.python, "-c", probe], tmp_path)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 400  # the official catalogue has 415 parameters


def test_emulator_start_status_stop(installed: Installed, tmp_path: Path) -> None:
    state = tmp_path / "state"
    emulator = [installed.pgflex, "emulator"]
    started = _run([*emulator, "start", "--no-data-plane", "--port", "0", "--state-dir", str(state)], tmp_path)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        status = _run([*emulator, "status", "-o", "json", "--state-dir", str(state)], tmp_path)
        assert status.returncode == 0, status.stderr
        report = json.loads(status.stdout)
        assert report["running"] is True and report["endpoint"].startswith("https://127.0.0.1:")
        assert report["stateDir"] == str(state)
    finally:
        stopped = _run([*emulator, "stop", "--state-dir", str(state)], tmp_path)
    assert (stopped.returncode, stopped.stdout.strip()) == (0, "emulator stopped")
    after = _run([*emulator, "status", "--state-dir", str(state)], tmp_path)
    assert (after.returncode, after.stdout.strip()) == (1, "emulator is not running")


def test_the_installed_package_ships_azures_pinned_roots(installed: Installed, tmp_path: Path) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
    assert {"pgflex/verify/data/azure-postgres-roots.pem", "pgflex/verify/data/SOURCE.md"} <= names
    # trust-bundle checks the installed file against the pinned fingerprints before printing it.
    done = _run([installed.pgflex, "trust-bundle"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("-----BEGIN CERTIFICATE-----") == 3 and "DigiCert Global Root CA" in done.stdout
