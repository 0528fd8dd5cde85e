"""Shared fixtures: one CA and one data plane (one template) per test process, a fresh server per test."""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pgflex.emulator.dataplane import DataPlane, Endpoint
from pgflex.emulator.pki import CertificateAuthority

SSL_REQUEST = bytes.fromhex("0000000804d2162f")
ADMIN = "pgadmin"
PASSWORD = "Correct-Horse-42!"
_counter = itertools.count()


@dataclass
class Server:
    """A provisioned server and the client-side facts needed to reach it."""

    dataplane: DataPlane
    name: str
    root_ca: Path

    @property
    def fqdn(self) -> str:
        return f"{self.name}.postgres.database.azure.com"

    @property
    def endpoint(self) -> Endpoint:
        endpoint = self.dataplane.endpoint(self.name)
        assert endpoint is not None
        return endpoint

    def conninfo(self, **overrides: Any) -> dict[str, Any]:
        params: dict[str, Any] = {
            "host": self.fqdn,
            "hostaddr": self.endpoint.host,
            "port": self.endpoint.port,
            "user": ADMIN,
            "password": PASSWORD,
            "dbname": "postgres",
            "sslmode": "verify-full",
            "sslrootcert": str(self.root_ca),
            "connect_timeout": 10,
        }
        params.update(overrides)
        return params

    def connect(self, **overrides: Any) -> psycopg.Connection[tuple[Any, ...]]:
        return psycopg.connect(autocommit=True, **self.conninfo(**overrides))

    def psql(self, query: str, **overrides: Any) -> subprocess.CompletedProcess[str]:
        """Run the psql binary; the password travels in PGPASSWORD, the rest as a conninfo string."""
        params = self.conninfo(**overrides)
        env = {**os.environ, "PGPASSWORD": str(params.pop("password"))}
        conninfo = " ".join(f"{key}={value}" for key, value in params.items())
        return subprocess.run(
            [psql_binary(), "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", conninfo, "-c", query],
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
            check=False,
        )

    def tls_handshake(
        self,
        minimum: ssl.TLSVersion | None = None,
        maximum: ssl.TLSVersion | None = None,
        legacy: bool = False,
    ) -> str:
        """PostgreSQL's SSLRequest, then a TLS handshake from Python's ssl; returns the version agreed."""
        context = ssl.create_default_context(cafile=str(self.root_ca))
        if legacy:
            context.set_ciphers("ALL:@SECLEVEL=0")  # otherwise OpenSSL 3 sends no TLS 1.0/1.1 ClientHello
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.0/1.1 are deprecated: that is the point
            if minimum is not None:
                context.minimum_version = minimum
            if maximum is not None:
                context.maximum_version = maximum
        with socket.create_connection((self.endpoint.host, self.endpoint.port), timeout=10) as raw:
            raw.sendall(SSL_REQUEST)
            assert raw.recv(1) == b"S"  # exactly one byte (CVE-2021-23222)
            with context.wrap_socket(raw, server_hostname=self.fqdn) as tls:
                version = tls.version()
                assert version is not None
                return version


def psql_binary() -> str:
    found = shutil.which("psql")
    if found is None:
        pytest.skip("psql is not installed")
    return found


@pytest.fixture(scope="session")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    return CertificateAuthority(tmp_path_factory.mktemp("pki"))


@contextlib.contextmanager
def traversable_root(base: Path, ca: CertificateAuthority) -> Iterator[Path]:
    """``base/root``, a symlink to a fresh /tmp directory that the postgres account can always reach.

    pytest chmods /tmp/pytest-of-<user> to 0700 whenever any pytest session starts, including
    concurrent ones, which would lock the postgres account (we run as root) out of a data directory
    under tmp_path mid-test. DataPlane resolves the symlink, so PostgreSQL only sees the real path.
    """
    real = Path(tempfile.mkdtemp(prefix="pgflex-dataplane-"))
    real.chmod(0o755)
    link = base / "root"
    link.symlink_to(real, target_is_directory=True)
    try:
        yield link
    finally:
        DataPlane(link, ca).shutdown_all()
        shutil.rmtree(real, ignore_errors=True)


@pytest.fixture(scope="session")
def dataplane(tmp_path_factory: pytest.TempPathFactory, ca: CertificateAuthority) -> Iterator[DataPlane]:
    with traversable_root(tmp_path_factory.mktemp("dataplane"), ca) as root:
        yield DataPlane(root, ca)


@pytest.fixture
def fresh_root(tmp_path: Path, ca: CertificateAuthority) -> Iterator[Path]:
    """A root of its own, for tests that need a new DataPlane object on it."""
    with traversable_root(tmp_path, ca) as root:
        yield root


def new_server_name() -> str:
    return f"srv-{os.getpid()}-{next(_counter)}"


def provision(plane: DataPlane, ca: CertificateAuthority, name: str, **parameters: str) -> Server:
    plane.provision(name, f"{name}.postgres.database.azure.com", "15", ADMIN, PASSWORD, parameters)
    plane.apply_firewall(name, [("127.0.0.1", "127.0.0.1")], public_access=True)
    return Server(plane, name, ca.root_cert_path)


@pytest.fixture
def server(dataplane: DataPlane, ca: CertificateAuthority) -> Iterator[Server]:
    provisioned = provision(dataplane, ca, new_server_name())
    yield provisioned
    dataplane.delete(provisioned.name)
