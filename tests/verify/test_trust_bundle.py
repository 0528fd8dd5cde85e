"""Azure's roots as pgflex ships them: exactly the three roots, at the fingerprints their publishers list, checked
every time they are used; ``verify`` trusts them by default; connection strings never carry a password.

The fingerprints below are copied from DigiCert's and Microsoft's PKI pages, not from pgflex's code, so that a
change to the pins in the code cannot make these tests agree with it.
"""

from __future__ import annotations

import os
import shlex
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from typer.testing import CliRunner

from pgflex.cli.main import app
from pgflex.verify.connection_strings import ClientTarget, connection_string
from pgflex.verify.roots import VENDORED_ROOTS, RootBundleRefused, check_pinned_roots
from pgflex.verify.trust import trusted_roots

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED = {
    "DigiCert Global Root G2": (
        "CB:3C:CB:B7:60:31:E5:E0:13:8F:8D:D3:9A:23:F9:DE:47:FF:C3:5E:43:C1:14:4C:EA:27:D4:6A:5A:B1:CB:5F"
    ),
    "Microsoft RSA Root Certificate Authority 2017": (
        "C7:41:F7:0F:4B:2A:8D:88:BF:2E:71:C1:41:22:EF:53:EF:10:EB:A0:CF:A5:E6:4C:FA:20:F4:18:85:30:73:E0"
    ),
    "DigiCert Global Root CA": (
        "43:48:A0:E9:44:4C:78:CB:26:5E:05:8D:5E:89:44:B4:D8:4F:96:62:BD:26:DB:25:7F:89:34:A4:43:C7:01:61"
    ),
}
DOWNLOADS = (
    "https://cacerts.digicert.com/DigiCertGlobalRootG2.crt.pem",
    "https://cacerts.digicert.com/DigiCertGlobalRootCA.crt.pem",
    "https://www.microsoft.com/pkiops/certs/Microsoft%20RSA%20Root%20Certificate%20Authority%202017.crt",
)
BEGIN = "-----BEGIN CERTIFICATE-----"
END = "-----END CERTIFICATE-----"


def fingerprints(pem: bytes) -> dict[str, str]:
    """Common name -> SHA-256 of every certificate in ``pem``."""
    found = {}
    for certificate in x509.load_pem_x509_certificates(pem):
        (name,) = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        found[str(name.value)] = certificate.fingerprint(hashes.SHA256()).hex(":").upper()
    return found


def test_the_written_bundle_holds_the_three_roots_at_their_published_fingerprints(tmp_path: Path) -> None:
    out = tmp_path / "roots.pem"
    result = CliRunner().invoke(app, ["trust-bundle", "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert fingerprints(out.read_bytes()) == PUBLISHED
    text = out.read_text()
    assert all(url in text for url in DOWNLOADS)  # each root says where its publisher serves it
    assert all(f"SHA-256: {fingerprint}" in text for fingerprint in PUBLISHED.values())
    # Roots only: every certificate is self-signed and a CA.
    for certificate in x509.load_pem_x509_certificates(out.read_bytes()):
        assert certificate.issuer == certificate.subject
        assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_without_out_the_bundle_goes_to_standard_output() -> None:
    result = CliRunner().invoke(app, ["trust-bundle"], catch_exceptions=False)
    assert result.exit_code == 0
    assert fingerprints(result.stdout.encode()) == PUBLISHED


def _blocks(text: str) -> list[str]:
    """The file cut after each certificate, so that a block can be changed or dropped."""
    parts = text.split(END)
    return [part + END for part in parts[:-1]] + [parts[-1]]


def _flip_in_certificate(text: str, index: int, offset: int) -> str:
    """``text`` with one base64 character of certificate ``index`` changed, ``offset`` characters into its body
    (negative: from its end). Never a character next to the padding, whose low bits decoders may ignore."""
    blocks = _blocks(text)
    block = blocks[index]
    body_start = block.index(BEGIN) + len(BEGIN) + 1
    position = body_start + offset if offset >= 0 else block.index(END) + offset
    while not block[position].isalnum():
        position += 1
    replacement = "A" if block[position] != "A" else "B"
    blocks[index] = block[:position] + replacement + block[position + 1 :]
    return "".join(blocks)


@pytest.mark.parametrize(
    ("index", "offset", "reason"),
    [
        (1, -40, "not a pinned root"),  # inside the signature: still parses, but it is another certificate
        (0, 300, "not a pinned root|damaged"),  # inside the names and key: another certificate, or none
        (2, 10, "not a pinned root|damaged"),  # in the DER header
    ],
)
def test_a_bundle_with_one_byte_changed_is_refused(tmp_path: Path, index: int, offset: int, reason: str) -> None:
    original = VENDORED_ROOTS.read_text()
    changed = _flip_in_certificate(original, index, offset)
    assert changed != original and len(changed) == len(original)
    copy = tmp_path / "roots.pem"
    copy.write_text(changed)
    with pytest.raises(RootBundleRefused, match=reason):
        check_pinned_roots(copy)
    copy.write_text(original)
    assert len(check_pinned_roots(copy)) == 3  # the same copy, unchanged, passes


def test_a_bundle_missing_a_root_or_holding_another_certificate_is_refused(tmp_path: Path) -> None:
    blocks = _blocks(VENDORED_ROOTS.read_text())
    copy = tmp_path / "roots.pem"
    copy.write_text("".join(blocks[:2] + blocks[3:]))
    with pytest.raises(RootBundleRefused, match="lacks DigiCert Global Root CA"):
        check_pinned_roots(copy)
    other_root = Path("/etc/ssl/certs/ISRG_Root_X1.pem").read_text()
    copy.write_text(VENDORED_ROOTS.read_text() + "\n" + other_root)
    with pytest.raises(RootBundleRefused, match="ISRG Root X1"):
        check_pinned_roots(copy)
    copy.write_text(VENDORED_ROOTS.read_text() + "\n" + blocks[0])
    with pytest.raises(RootBundleRefused, match="twice"):
        check_pinned_roots(copy)


def test_verify_trusts_digicert_global_root_ca_by_default_outside_the_emulator() -> None:
    ca_file = trusted_roots(None, None)  # no --ca-bundle, not cloud: local
    assert fingerprints(Path(ca_file).read_bytes()) == PUBLISHED
    assert PUBLISHED["DigiCert Global Root CA"] in fingerprints(Path(ca_file).read_bytes()).values()
    # OpenSSL (what libpq and verify's handshake use) reads the commented file as three trusted CAs.
    assert ssl.create_default_context(cafile=ca_file).cert_store_stats()["x509_ca"] == 3


def test_a_given_ca_bundle_still_replaces_the_default(tmp_path: Path) -> None:
    own = tmp_path / "own.pem"
    own.write_text(Path("/etc/ssl/certs/ISRG_Root_X1.pem").read_text())
    assert trusted_roots(own, None) == str(own)


# --------------------------------------------------------------------------------------------------------------
# connection-string without an emulator (an Azure environment): the strings themselves, and bad input
# --------------------------------------------------------------------------------------------------------------

SECRET = "Never-Printed-Passw0rd!"


def pgflex(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "AZURE_SUBSCRIPTION_ID": "00000000-0000-0000-0000-0000000000aa",
        "PGFLEX_ADMIN_PASSWORD": SECRET,
        "PGPASSWORD": SECRET,
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    command = [sys.executable, "-c", "from pgflex.cli.main import main; main()", *args]
    return subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60)


def test_an_azure_connection_string_names_the_fqdn_verify_full_and_the_written_bundle(tmp_path: Path) -> None:
    done = pgflex(tmp_path, "connection-string", "infra/public.yaml", "pgflex-dev-public")
    assert done.returncode == 0, done.stderr
    bundle = tmp_path / "data" / "pgflex" / "trust" / "azure-postgres-roots.pem"
    assert done.stdout == (
        "host=pgflex-dev-public.postgres.database.azure.com port=5432 dbname=postgres user=pgadmin "
        f"sslmode=verify-full sslrootcert={bundle}\n"
    )
    assert fingerprints(bundle.read_bytes()) == PUBLISHED
    assert "PGPASSWORD" in done.stderr and ".pgpass" in done.stderr
    assert SECRET not in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["pgflex-nope"], "pgflex: infra/public.yaml has no server named pgflex-nope (its servers: pgflex-dev-public)"),
        (
            ["pgflex-dev-public", "--driver", "odbc"],
            "pgflex: unknown driver 'odbc': choose one of libpq, psql, psycopg, jdbc, npgsql, node",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_1(tmp_path: Path, args: list[str], message: str) -> None:
    done = pgflex(tmp_path, "connection-string", "infra/public.yaml", *args)
    assert (done.returncode, done.stdout, done.stderr) == (1, "", message + "\n")
    assert not (tmp_path / "data").exists()  # refused before any bundle was written


def test_each_driver_spells_verify_full_and_the_bundle_its_own_way() -> None:
    local = ClientTarget("pg-a.postgres.database.azure.com", 40123, "app db", "pgadmin", "/b/roots.pem", "127.0.0.1")
    strings = {driver: connection_string(local, driver) for driver in ("jdbc", "npgsql", "node", "psql", "libpq")}
    assert strings["jdbc"].text == (
        "jdbc:postgresql://pg-a.postgres.database.azure.com:40123/app%20db"
        "?user=pgadmin&sslmode=verify-full&sslrootcert=/b/roots.pem"
    )
    assert strings["npgsql"].text == (
        "Host=pg-a.postgres.database.azure.com;Port=40123;Database=app db;Username=pgadmin;"
        "SSL Mode=VerifyFull;Root Certificate=/b/roots.pem"
    )
    node = strings["node"].text
    assert 'host: "127.0.0.1"' in node and 'servername: "pg-a.postgres.database.azure.com"' in node
    assert "rejectUnauthorized: true" in node and 'fs.readFileSync("/b/roots.pem"' in node
    assert strings["libpq"].text == (
        "host=pg-a.postgres.database.azure.com hostaddr=127.0.0.1 port=40123 dbname='app db' user=pgadmin "
        "sslmode=verify-full sslrootcert=/b/roots.pem"
    )
    assert shlex.split(strings["psql"].text) == ["psql", strings["libpq"].text]
    # Drivers without hostaddr are told how the FQDN must resolve; nobody is given a password.
    assert any("/etc/hosts line '127.0.0.1 pg-a.postgres.database.azure.com'" in n for n in strings["jdbc"].notes)
    assert all(any("no password" in note for note in found.notes) for found in strings.values())


def test_an_entra_only_server_connects_as_its_first_entra_administrator_with_a_token(tmp_path: Path) -> None:
    spec = tmp_path / "entra.yaml"
    spec.write_text(
        (ROOT / "infra/public.yaml")
        .read_text()
        .replace(
            """    administrator:
      login: pgadmin
      password: {fromEnv: PGFLEX_ADMIN_PASSWORD}
    authentication: {password: true, entra: false}
""",
            """    authentication:
      password: false
      entra:
        tenantId: 00000000-0000-0000-0000-0000000000aa
        administrators:
          - {objectId: 00000000-0000-0000-0000-0000000000bb, principalName: app-deployer, principalType: User}
""",
        )
    )
    done = pgflex(tmp_path, "connection-string", str(spec), "pgflex-dev-public")
    assert done.returncode == 0, done.stderr
    assert " user=app-deployer " in done.stdout
    assert "Microsoft Entra access token for https://ossrdbms-aad.database.windows.net" in done.stderr
    assert "PGPASSWORD" in done.stderr and ".pgpass" not in done.stderr
