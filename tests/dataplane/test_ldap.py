"""The LDAP simple-bind responder: BER in and out, and what it does with a client that is not PostgreSQL."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from pgflex.emulator.dataplane import ldap
from pgflex.emulator.dataplane.ldap import BerError, BindRequest, LdapResponder, Unbind

GOOD = "t" * 3000  # longer than 127 bytes and than 255: lengths in long form


def bind(
    message_id: int, name: str, password: str, *, version: int = 3, tag: int = ldap.SIMPLE_AUTHENTICATION
) -> bytes:
    operation = ldap.encode(
        ldap.BIND_REQUEST,
        ldap.encode_integer(ldap.INTEGER, version)
        + ldap.encode(ldap.OCTET_STRING, name.encode())
        + ldap.encode(tag, password.encode()),
    )
    return ldap.encode(ldap.SEQUENCE, ldap.encode_integer(ldap.INTEGER, message_id) + operation)


UNBIND = bytes.fromhex("30050201024200")


def test_a_bind_request_decodes_and_the_response_is_rfc_4511s() -> None:
    assert ldap.decode_message(bind(1, "cn=alice,ou=srv", GOOD)) == BindRequest(1, 3, "cn=alice,ou=srv", GOOD)
    assert ldap.decode_message(UNBIND) == Unbind(2)
    # LDAPMessage { messageID 1, BindResponse { success, matchedDN "", diagnosticMessage "" } }
    assert ldap.bind_response(1, ldap.SUCCESS) == bytes.fromhex("300c02010161070a010004000400")
    assert ldap.bind_response(300, ldap.INVALID_CREDENTIALS)[2:6] == bytes.fromhex("0202012c")


@pytest.mark.parametrize(
    "data",
    [
        bytes.fromhex("3000"),  # no id, no operation
        bytes.fromhex("0401ff"),  # not a SEQUENCE
        bind(1, "cn=a", "x")[:-1],  # truncated
        bytes.fromhex("3080020101420000"),  # indefinite length
        bytes.fromhex("300702010163020400"),  # a search request
        bind(1, "cn=a", "x") + b"\x00",  # trailing bytes
    ],
)
def test_anything_but_a_bind_or_unbind_is_a_ber_error(data: bytes) -> None:
    with pytest.raises(BerError):
        ldap.decode_message(data)


@pytest.fixture
def responder() -> Iterator[tuple[LdapResponder, int, list[tuple[str, str]]]]:
    asked: list[tuple[str, str]] = []

    def check(name: str, password: str) -> bool:
        asked.append((name, password))
        return password == GOOD

    server = LdapResponder(check)
    listener = socket.create_server(("127.0.0.1", 0))
    server.serve(listener)
    try:
        yield server, listener.getsockname()[1], asked
    finally:
        server.close()


def _exchange(port: int, *messages: bytes) -> bytes:
    """Send the messages, then read until the responder closes (or 2 s pass)."""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as client:
        for message in messages:
            client.sendall(message)
        received = b""
        while chunk := client.recv(65536):
            received += chunk
        return received


def test_binds_are_answered_by_the_check_until_unbind(
    responder: tuple[LdapResponder, int, list[tuple[str, str]]],
) -> None:
    _, port, asked = responder
    answers = _exchange(port, bind(1, "cn=alice,ou=srv", GOOD), bind(2, "cn=bob,ou=srv", "wrong"), UNBIND)
    assert answers == ldap.bind_response(1, ldap.SUCCESS) + ldap.bind_response(2, ldap.INVALID_CREDENTIALS)
    assert asked == [("cn=alice,ou=srv", GOOD), ("cn=bob,ou=srv", "wrong")]


def test_what_is_not_a_simple_ldap_v3_bind_is_never_checked(
    responder: tuple[LdapResponder, int, list[tuple[str, str]]],
) -> None:
    _, port, asked = responder
    sasl = bind(1, "cn=a,ou=srv", GOOD, tag=0xA3)
    assert _exchange(port, sasl, UNBIND) == ldap.bind_response(
        1, ldap.AUTH_METHOD_NOT_SUPPORTED, "only simple binds are accepted"
    )
    version_2 = bind(2, "cn=a,ou=srv", GOOD, version=2)
    assert _exchange(port, version_2, UNBIND)[7:10] == bytes([0x0A, 0x01, ldap.PROTOCOL_ERROR])
    assert _exchange(port, b"GET / HTTP/1.1\r\n\r\n") == b""  # closed without an answer
    oversized = bytes([ldap.SEQUENCE, 0x83]) + (ldap.MAX_MESSAGE_BYTES + 1).to_bytes(3, "big")
    assert _exchange(port, oversized) == b""  # closed before the body is read
    assert asked == []
    assert _exchange(port, bind(3, "cn=a,ou=srv", GOOD), UNBIND) == ldap.bind_response(3, ldap.SUCCESS)  # still serving


def test_stopping_a_listener_closes_it(responder: tuple[LdapResponder, int, list[tuple[str, str]]]) -> None:
    server, _, _ = responder
    extra = socket.create_server(("127.0.0.1", 0))
    port = extra.getsockname()[1]
    server.serve(extra)
    assert _exchange(port, bind(1, "cn=a,ou=srv", GOOD), UNBIND) == ldap.bind_response(1, ldap.SUCCESS)
    server.stop_serving(extra)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2)
