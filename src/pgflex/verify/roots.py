"""The roots Azure Database for PostgreSQL chains to, shipped with pgflex and pinned to their published fingerprints.

The PEM file in ``data/`` is what clients trust (``pgflex trust-bundle``, ``pgflex connection-string``) and what
``pgflex verify`` trusts by default. It is checked every time it is used, not only when it was vendored: a file
changed in place (a bad merge, an edited site-packages, a tampered wheel) must not quietly widen or break trust.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from pgflex.spec import PgflexError

VENDORED_ROOTS = Path(__file__).with_name("data") / "azure-postgres-roots.pem"


@dataclass(frozen=True)
class PinnedRoot:
    name: str
    sha256: str  # colon-separated upper-case hex, as DigiCert and Microsoft publish it
    download_url: str


# Fingerprints as published on DigiCert's and Microsoft's PKI pages (not computed from the file they protect).
AZURE_POSTGRES_ROOTS = (
    PinnedRoot(
        "DigiCert Global Root G2",
        "CB:3C:CB:B7:60:31:E5:E0:13:8F:8D:D3:9A:23:F9:DE:47:FF:C3:5E:43:C1:14:4C:EA:27:D4:6A:5A:B1:CB:5F",
        "https://cacerts.digicert.com/DigiCertGlobalRootG2.crt.pem",
    ),
    PinnedRoot(
        "Microsoft RSA Root Certificate Authority 2017",
        "C7:41:F7:0F:4B:2A:8D:88:BF:2E:71:C1:41:22:EF:53:EF:10:EB:A0:CF:A5:E6:4C:FA:20:F4:18:85:30:73:E0",
        "https://www.microsoft.com/pkiops/certs/Microsoft%20RSA%20Root%20Certificate%20Authority%202017.crt",
    ),
    PinnedRoot(
        "DigiCert Global Root CA",
        "43:48:A0:E9:44:4C:78:CB:26:5E:05:8D:5E:89:44:B4:D8:4F:96:62:BD:26:DB:25:7F:89:34:A4:43:C7:01:61",
        "https://cacerts.digicert.com/DigiCertGlobalRootCA.crt.pem",
    ),
)


class RootBundleRefused(PgflexError):
    """The roots file is not exactly the pinned roots: unreadable, changed, missing one, or holding another."""


def sha256_fingerprint(certificate: x509.Certificate) -> str:
    return certificate.fingerprint(hashes.SHA256()).hex(":").upper()


def check_pinned_roots(path: Path = VENDORED_ROOTS) -> list[x509.Certificate]:
    """The certificates in ``path`` when they are exactly the pinned roots, each once; RootBundleRefused otherwise."""
    return pinned_certificates(_read(path), path)


def azure_roots_pem(path: Path = VENDORED_ROOTS) -> str:
    """The text of the roots file (its comments say what each root is and where it comes from), once checked."""
    data = _read(path)  # read once: the text handed out is the text that was checked
    pinned_certificates(data, path)
    return data.decode()


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as failure:
        raise RootBundleRefused(f"cannot read Azure's root bundle {path}: {failure.strerror or failure}") from None


def pinned_certificates(data: bytes, source: Path) -> list[x509.Certificate]:
    reinstall = "reinstall pgflex (verify also takes a bundle of your own, --ca-bundle)"
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError as failure:  # a changed byte inside a PEM block usually breaks the DER itself
        raise RootBundleRefused(f"Azure's root bundle {source} is damaged ({failure}); {reinstall}") from None
    pinned = {root.sha256: root for root in AZURE_POSTGRES_ROOTS}
    seen: list[str] = []
    for certificate in certificates:
        fingerprint = sha256_fingerprint(certificate)
        if fingerprint not in pinned:
            raise RootBundleRefused(
                f"Azure's root bundle {source} holds {certificate.subject.rfc4514_string()} with SHA-256 "
                f"{fingerprint}, which is not a pinned root's published fingerprint; {reinstall}"
            )
        if fingerprint in seen:
            raise RootBundleRefused(f"Azure's root bundle {source} holds {pinned[fingerprint].name} twice; {reinstall}")
        seen.append(fingerprint)
    missing = [root.name for root in AZURE_POSTGRES_ROOTS if root.sha256 not in seen]
    if missing:
        raise RootBundleRefused(f"Azure's root bundle {source} lacks {', '.join(missing)}; {reinstall}")
    return certificates
