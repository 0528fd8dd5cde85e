"""Raw TLS on PostgreSQL's wire: version probes and the certificate handshake.

PostgreSQL does not start with TLS: the client sends an 8-byte SSLRequest, the server answers one
byte, ``S`` or ``N``, and the TLS ClientHello follows on the same socket. Exactly one byte is read
before TLS starts, so that nothing an attacker injects ahead of the handshake is taken for TLS data
(CVE-2021-23222).
"""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from .checks import Endpoint

SSL_REQUEST = bytes.fromhex("0000000804d2162f")  # length 8, code 80877103
TLS_VERSIONS: dict[str, ssl.TLSVersion] = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}
ProbeOutcome = Literal["accepted", "refused", "inconclusive"]
DEFAULT_TIMEOUT = 10.0


class TlsNotOffered(Exception):
    """The server answered the SSLRequest with ``N``: it speaks no TLS at all on this port."""


@dataclass(frozen=True)
class ProbeResult:
    version: str
    outcome: ProbeOutcome
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"outcome": self.outcome, "detail": self.detail}


@contextmanager
def postgres_socket(endpoint: Endpoint, timeout: float) -> Iterator[socket.socket]:
    """A TCP connection on which the server has just said ``S`` to an SSLRequest."""
    with socket.create_connection((endpoint.address, endpoint.port), timeout=timeout) as raw:
        raw.sendall(SSL_REQUEST)
        answer = raw.recv(1)  # exactly one byte: see the module docstring
        if answer == b"N":
            raise TlsNotOffered(f"{endpoint.address}:{endpoint.port} answered N to the SSLRequest (no TLS)")
        if answer != b"S":
            raise ConnectionError(f"{endpoint.address}:{endpoint.port} did not answer the SSLRequest ({answer!r})")
        yield raw


# --------------------------------------------------------------------------------------------------------------
# Version probes
# --------------------------------------------------------------------------------------------------------------


def _capped_context(version: ssl.TLSVersion) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # only the version is in question; the certificate check is separate
    # Without SECLEVEL=0, OpenSSL 3 builds no TLS 1.0/1.1 ClientHello at all (NO_CIPHERS_AVAILABLE).
    context.set_ciphers("ALL:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # offering TLS 1.0/1.1 is the point of the probe
        context.minimum_version = version
        context.maximum_version = version
    return context


def probe_version(endpoint: Endpoint, version: str, *, timeout: float = DEFAULT_TIMEOUT) -> ProbeResult:
    """Offer exactly ``version`` in a real ClientHello and report what the server did with it.

    ``refused`` needs evidence from the server: a fatal alert after our ClientHello left the client
    (any alert: a server whose minimum is above the version answers protocol_version, but with other
    settings OpenSSL answers internal_error). ``inconclusive`` covers everything that proves nothing,
    above all a ClientHello this client could not even build.
    """
    try:
        context = _capped_context(TLS_VERSIONS[version])
    except (ssl.SSLError, ValueError) as failure:
        return ProbeResult(version, "inconclusive", f"this client cannot offer {version}: {failure}")
    try:
        with postgres_socket(endpoint, timeout) as raw:
            return _handshake_over_bio(raw, context, endpoint.host_name, version)
    except TlsNotOffered as failure:
        return ProbeResult(version, "refused", str(failure))
    except OSError as failure:
        return ProbeResult(version, "inconclusive", f"could not connect: {failure}")


def _handshake_over_bio(raw: socket.socket, context: ssl.SSLContext, server_name: str, version: str) -> ProbeResult:
    # Memory BIOs show exactly what left the client, so "the server refused" and "we never asked" differ.
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname=server_name)
    hello_sent = False
    while True:
        try:
            tls.do_handshake()
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLError as failure:
            reason = failure.reason or str(failure)
            if hello_sent and "ALERT" in reason:
                return ProbeResult(version, "refused", f"fatal alert from the server: {reason}")
            sent = "after" if hello_sent else "before"
            return ProbeResult(version, "inconclusive", f"handshake stopped {sent} the ClientHello left: {reason}")
        else:
            negotiated = tls.version() or "?"
            if negotiated == version:
                suite = tls.cipher()
                return ProbeResult(version, "accepted", f"handshake completed with {suite[0] if suite else '?'}")
            return ProbeResult(version, "inconclusive", f"handshake completed at {negotiated}, not {version}")
        pending = outgoing.read()
        if pending:
            raw.sendall(pending)
            hello_sent = True
        elif not hello_sent:
            return ProbeResult(version, "inconclusive", f"this client built no ClientHello for {version}")
        try:
            received = raw.recv(65536)
        except (TimeoutError, ConnectionResetError) as failure:
            return ProbeResult(version, "inconclusive", f"no TLS answer: {failure!r}")
        if not received:
            return ProbeResult(version, "inconclusive", "the server closed the connection without a TLS alert")
        incoming.write(received)


# --------------------------------------------------------------------------------------------------------------
# The certificate handshake
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CertificateInfo:
    subject: str
    issuer: str
    not_before: dt.datetime
    not_after: dt.datetime
    serial: str
    sha256: str
    dns_names: tuple[str, ...]
    is_ca: bool

    @classmethod
    def from_der(cls, der: bytes) -> CertificateInfo:
        cert = x509.load_der_x509_certificate(der)
        try:
            names = tuple(
                cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
                    x509.DNSName
                )
            )
        except x509.ExtensionNotFound:
            names = ()
        try:
            is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            is_ca = False
        return cls(
            subject=cert.subject.rfc4514_string(),
            issuer=cert.issuer.rfc4514_string(),
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
            serial=format(cert.serial_number, "x"),
            sha256=cert.fingerprint(hashes.SHA256()).hex(),
            dns_names=names,
            is_ca=is_ca,
        )

    def days_left(self, now: dt.datetime | None = None) -> int:
        return (self.not_after - (now or dt.datetime.now(dt.UTC))).days

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "issuer": self.issuer,
            "notBefore": self.not_before.isoformat(),
            "notAfter": self.not_after.isoformat(),
            "daysLeft": self.days_left(),
            "serial": self.serial,
            "sha256": self.sha256,
            "dnsNames": list(self.dns_names),
            "isCa": self.is_ca,
        }


@dataclass(frozen=True)
class Handshake:
    """One TLS handshake as a person would draw it: what was offered, what was chosen, what came back."""

    server_name: str
    address: str
    port: int
    offered_versions: tuple[str, ...]
    offered_suites: tuple[str, ...]
    version: str | None
    cipher: str | None
    chain: tuple[CertificateInfo, ...]  # as the server sent it, leaf first
    trust_anchor: CertificateInfo | None  # the trusted root the chain ended in, when verified
    verified: bool
    verify_error: str | None

    @property
    def leaf(self) -> CertificateInfo | None:
        return self.chain[0] if self.chain else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "serverName": self.server_name,
            "address": self.address,
            "port": self.port,
            "offeredVersions": list(self.offered_versions),
            "offeredSuites": list(self.offered_suites),
            "version": self.version,
            "cipher": self.cipher,
            "chain": [cert.to_dict() for cert in self.chain],
            "trustAnchor": self.trust_anchor.to_dict() if self.trust_anchor else None,
            "verified": self.verified,
            "verifyError": self.verify_error,
        }


def _offered_versions(context: ssl.SSLContext) -> tuple[str, ...]:
    low = context.minimum_version if context.minimum_version != ssl.TLSVersion.MINIMUM_SUPPORTED else None
    high = context.maximum_version if context.maximum_version != ssl.TLSVersion.MAXIMUM_SUPPORTED else None
    return tuple(
        name
        for name, value in TLS_VERSIONS.items()
        if (low is None or value >= low) and (high is None or value <= high)
    )


def _der_chain(tls: ssl.SSLSocket, verified: bool) -> list[bytes]:
    """The peer's chain in DER: public API on Python 3.13+, the same call on ``_sslobj`` on 3.10-3.12."""
    name = "get_verified_chain" if verified else "get_unverified_chain"
    public = getattr(tls, name, None)
    if public is not None:
        return [bytes(cert) for cert in public()]
    private = getattr(getattr(tls, "_sslobj", None), name, None)
    if private is not None:
        certs: list[Any] = private() or []
        return [bytes(cert.public_bytes(ssl._ssl.ENCODING_DER)) for cert in certs]  # type: ignore[attr-defined]
    leaf = tls.getpeercert(binary_form=True)  # an interpreter without either: the leaf at least
    return [leaf] if leaf else []


def _describe(tls: ssl.SSLSocket, context: ssl.SSLContext, endpoint: Endpoint, error: str | None) -> Handshake:
    sent = tuple(CertificateInfo.from_der(der) for der in _der_chain(tls, verified=False))
    anchor = None
    if error is None:
        verified_chain = _der_chain(tls, verified=True)
        anchor = CertificateInfo.from_der(verified_chain[-1]) if verified_chain else None
    cipher = tls.cipher()
    return Handshake(
        server_name=endpoint.host_name,
        address=endpoint.address,
        port=endpoint.port,
        offered_versions=_offered_versions(context),
        offered_suites=tuple(str(suite["name"]) for suite in context.get_ciphers()),
        version=tls.version(),
        cipher=cipher[0] if cipher else None,
        chain=sent,
        trust_anchor=anchor,
        verified=error is None,
        verify_error=error,
    )


def certificate_handshake(endpoint: Endpoint, ca_file: str, *, timeout: float = DEFAULT_TIMEOUT) -> Handshake:
    """A default client handshake that verifies chain and host name against ``ca_file``.

    The verification is OpenSSL's own (the same one libpq does with verify-full). When it fails, a second
    handshake without verification fetches what the server sent, so the report can show the chain.
    """
    context = ssl.create_default_context(cafile=ca_file)
    try:
        with (
            postgres_socket(endpoint, timeout) as raw,
            context.wrap_socket(raw, server_hostname=endpoint.host_name) as tls,
        ):
            return _describe(tls, context, endpoint, None)
    except ssl.SSLCertVerificationError as failure:
        error = str(failure.verify_message or failure.reason or failure)
    look = ssl.create_default_context()
    look.check_hostname = False
    look.verify_mode = ssl.CERT_NONE  # only to show the chain; the verdict above stands
    with postgres_socket(endpoint, timeout) as raw, look.wrap_socket(raw, server_hostname=endpoint.host_name) as tls:
        return _describe(tls, context, endpoint, error)
