"""Which roots verify trusts, and refusing a CA bundle that could verify nothing.

A bundle that holds no certificate (an empty file, text that is not PEM) or one OpenSSL cannot parse is
refused before any connection: every check would fail or be inconclusive against it, and the reason would
be buried in libpq's and OpenSSL's messages instead of naming the file.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import certifi

from pgflex.emulator.client import RunningEmulator

from .locate import VerifyError

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
    """The PEM file verify trusts: ``--ca-bundle``, else the emulator's root (cloud: local), else certifi's."""
    if ca_bundle is not None:
        return check_ca_bundle(ca_bundle)
    if emulator is not None:
        return str(emulator.ca_root)  # the emulator's root stands in for Azure's roots
    # A maintained bundle with DigiCert Global Root G2 and Microsoft RSA Root Certificate Authority 2017.
    # certifi no longer carries DigiCert Global Root CA: servers still chaining to it need --ca-bundle.
    return certifi.where()
