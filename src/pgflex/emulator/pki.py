"""The emulator's local certificate authority.

Azure's chain has three links: a public root (DigiCert Global Root G2 or Microsoft RSA Root
2017), a rotating issuing intermediate, and the server's leaf certificate for its FQDN. The
emulator mirrors that shape so that clients exercise real chain building: the root is the only
thing a client trusts, servers present leaf plus intermediate.

Files live in ``<state>/pki`` (0700), written 0600; private keys never leave that folder.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

import certifi
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT_NAME = "pgflex emulator Root CA"
INTERMEDIATE_NAME = "pgflex emulator TLS Issuing CA 01"
ROOT_VALIDITY = dt.timedelta(days=3650)
INTERMEDIATE_VALIDITY = dt.timedelta(days=1825)
# Public CAs may not issue leaves valid for more than 397 days (CA/Browser Forum baseline).
LEAF_VALIDITY = dt.timedelta(days=365)
CLOCK_SKEW = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class IssuedCertificate:
    """A leaf certificate with its key and the chain a server presents."""

    cert_path: Path  # leaf followed by the intermediate, as a TLS server sends them
    key_path: Path


def _write_private(path: Path, data: bytes) -> None:
    """0600 from the first byte. Certificates too: they live in the emulator's private state directory, and a
    server's in a folder PostgreSQL's account owns, where a planted link must not redirect the write (O_EXCL)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    tmp.replace(path)


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem_key(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "pgflex emulator"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _ca_certificate(
    subject_key: rsa.RSAPrivateKey,
    subject: x509.Name,
    issuer_key: rsa.RSAPrivateKey,
    issuer: x509.Name,
    validity: dt.timedelta,
    path_length: int,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + validity)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(subject_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
        .sign(issuer_key, hashes.SHA256())
    )


class CertificateAuthority:
    """A root and an intermediate CA kept in a folder, created on first use."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.root_cert_path = folder / "root-ca.pem"
        self.intermediate_cert_path = folder / "intermediate-ca.pem"
        self._intermediate_key_path = folder / "intermediate-ca.key"
        self.trust_bundle_path = folder / "trust-bundle.pem"
        self._ensure()
        self._intermediate_cert = x509.load_pem_x509_certificate(self.intermediate_cert_path.read_bytes())
        loaded_key = serialization.load_pem_private_key(self._intermediate_key_path.read_bytes(), None)
        assert isinstance(loaded_key, rsa.RSAPrivateKey)
        self._intermediate_key = loaded_key

    def _ensure(self) -> None:
        if self.root_cert_path.exists() and self._intermediate_key_path.exists():
            return
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        root_key = _new_key()
        root_name = _name(ROOT_NAME)
        root = _ca_certificate(root_key, root_name, root_key, root_name, ROOT_VALIDITY, path_length=1)
        intermediate_key = _new_key()
        intermediate = _ca_certificate(
            intermediate_key,
            _name(INTERMEDIATE_NAME),
            root_key,
            root_name,
            INTERMEDIATE_VALIDITY,
            path_length=0,
        )
        # The root key is only needed to sign the intermediate; like a real offline root it is not kept.
        _write_private(self._intermediate_key_path, _pem_key(intermediate_key))
        _write_private(self.intermediate_cert_path, intermediate.public_bytes(serialization.Encoding.PEM))
        root_pem = root.public_bytes(serialization.Encoding.PEM)
        # certifi's roots plus ours: one bundle that trusts both real Azure and the emulator.
        _write_private(self.trust_bundle_path, Path(certifi.where()).read_bytes() + b"\n" + root_pem)
        _write_private(self.root_cert_path, root_pem)

    def issue_server_certificate(self, host_names: list[str], folder: Path, stem: str) -> IssuedCertificate:
        """Issue a TLS server certificate for ``host_names`` (DNS names or IP addresses)."""
        key = _new_key()
        now = dt.datetime.now(dt.UTC)
        alt_names: list[x509.GeneralName] = []
        for host in host_names:
            try:
                alt_names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                alt_names.append(x509.DNSName(host))
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(host_names[0]))
            .issuer_name(self._intermediate_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - CLOCK_SKEW)
            .not_valid_after(now + LEAF_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=True,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            # Non-critical, as public CAs issue it: strict checkers (sslyze) reject a critical SAN.
            .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._intermediate_key.public_key()),
                critical=False,
            )
            .sign(self._intermediate_key, hashes.SHA256())
        )
        folder.mkdir(parents=True, exist_ok=True)
        cert_path = folder / f"{stem}.crt"
        key_path = folder / f"{stem}.key"
        chain = cert.public_bytes(serialization.Encoding.PEM) + self._intermediate_cert.public_bytes(
            serialization.Encoding.PEM
        )
        _write_private(key_path, _pem_key(key))
        _write_private(cert_path, chain)
        return IssuedCertificate(cert_path=cert_path, key_path=key_path)
