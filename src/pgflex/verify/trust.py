"""Which roots verify and clients trust, and refusing a CA bundle that could verify nothing.

By default, Azure's roots as pgflex ships them (pinned, see roots.py): DigiCert Global Root G2, Microsoft RSA
Root Certificate Authority 2017 and DigiCert Global Root CA, which certifi no longer carries but servers not yet
rotated still chain to. For ``cloud: local`` the emulator's own root stands in for them.

A bundle that holds no certificate (an empty file, text that is not PEM) or one OpenSSL cannot parse is
refused before any connection: every check would fail or be inconclusive against it, and the reason would
be buried in libpq's and OpenSSL's messages instead of naming the file.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from pgflex.emulator.client import RunningEmulator

from .locate import VerifyError
from .roots import VENDORED_ROOTS, azure_roots_pem, check_pinned_roots, sha256_fingerprint

# OpenSSL's reason when a file holds no PEM certificate at all (empty, blank, or text without PEM blocks).
_NO_CERTIFICATE = "NO_CERTIFICATE_OR_CRL_FOUND"


def check_ca_bundle(ca_bundle: str | Path) -> str:
    """The bundle's path when it holds at least one certificate OpenSSL can load; VerifyError otherwise."""
    path = Path(ca_bundle)
    if not path.is_file():
        raise VerifyError(f"CA bundle {path} does not exist (--ca-bundle takes a PEM file of trusted roots)")
    try:
        context = ssl.create_default_context(cafile=str(path))
    except ssl.SSLError as failure:
        if failure.reason == _NO_CERTIFICATE:
            raise VerifyError(
                f"CA bundle {path} holds no certificate: --ca-bundle takes a PEM file of the trusted roots "
                "(-----BEGIN CERTIFICATE----- blocks)"
            ) from None
        raise VerifyError(
            f"CA bundle {path} cannot be read as PEM certificates ({failure.reason or failure}): --ca-bundle takes "
            "a PEM file of the trusted roots"
        ) from None
    except OSError as failure:
        raise VerifyError(f"CA bundle {path} cannot be read: {failure.strerror or failure} (--ca-bundle)") from None
    if not context.cert_store_stats().get("x509", 0):  # a file of CRLs only
        raise VerifyError(f"CA bundle {path} holds no certificate: --ca-bundle takes a PEM file of the trusted roots")
    return str(path)


def trusted_roots(ca_bundle: str | Path | None, emulator: RunningEmulator | None) -> str:
    """The PEM file verify trusts: ``--ca-bundle``, else the emulator's root (cloud: local), else Azure's roots
    as pgflex ships them, checked against their pinned fingerprints first."""
    if ca_bundle is not None:
        return check_ca_bundle(ca_bundle)
    if emulator is not None:
        return str(emulator.ca_root)  # the emulator's root stands in for Azure's roots
    check_pinned_roots(VENDORED_ROOTS)
    return str(VENDORED_ROOTS)


def client_trust_bundle(emulator: RunningEmulator | None) -> str:
    """What clients should trust: Azure's roots, then (cloud: local) the running emulator's root, labelled as such.

    The emulator's root is added rather than substituted so that one file serves a client that talks to both.
    """
    header = "# Written by `pgflex trust-bundle`; each root below matched its published SHA-256 fingerprint.\n"
    text = header + azure_roots_pem()
    if emulator is None:
        return text
    return text.rstrip("\n") + "\n\n" + emulator_root_pem(emulator)


def emulator_root_pem(emulator: RunningEmulator) -> str:
    try:
        data = emulator.ca_root.read_bytes()
        certificates = x509.load_pem_x509_certificates(data)
    except (OSError, ValueError) as failure:
        raise VerifyError(f"cannot read the emulator's root CA {emulator.ca_root}: {failure}") from None
    blocks = []
    for certificate in certificates:
        blocks.append(
            "\n".join(
                [
                    "# pgflex emulator root CA: NOT an Azure root; it signs only the local emulator's servers",
                    "#   (cloud: local). Drop it from bundles used against Azure.",
                    f"#   Subject: {certificate.subject.rfc4514_string()}",
                    f"#   SHA-256: {sha256_fingerprint(certificate)}",
                    f"#   From: {emulator.ca_root} (emulator state {emulator.state_dir})",
                    certificate.public_bytes(serialization.Encoding.PEM).decode().rstrip("\n"),
                    "",
                ]
            )
        )
    return "\n".join(blocks)
