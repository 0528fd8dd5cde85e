"""A tiny LDAP server that answers simple binds only: how PostgreSQL hands a Microsoft Entra token to the emulator.

PostgreSQL's ``ldap`` method in simple-bind mode sends ``BindRequest(name=<prefix><user><suffix>,
simple=<password>)`` and logs the client in when the answer is ``success``. That is all this speaks
(RFC 4511, in the BER subset LDAP uses): bind requests get a bind response from ``check(dn, password)``,
an unbind request ends the connection, and anything else is a protocol error that ends it too.

Listening sockets may come from any network namespace (one per namespace of private servers); all are
served by one event loop in a daemon thread. Checks run in worker threads, as they read files.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

# A token is a few kilobytes; anything much larger is not a bind from PostgreSQL.
MAX_MESSAGE_BYTES = 64 * 1024
READ_TIMEOUT_S = 10.0

SEQUENCE = 0x30
INTEGER = 0x02
OCTET_STRING = 0x04
ENUMERATED = 0x0A
BIND_REQUEST = 0x60  # [APPLICATION 0], constructed
BIND_RESPONSE = 0x61  # [APPLICATION 1], constructed
UNBIND_REQUEST = 0x42  # [APPLICATION 2], primitive
SIMPLE_AUTHENTICATION = 0x80  # [0], primitive
SUCCESS = 0
PROTOCOL_ERROR = 2
AUTH_METHOD_NOT_SUPPORTED = 7
INVALID_CREDENTIALS = 49

BindCheck = Callable[[str, str], bool]


class BerError(ValueError):
    """Bytes that are not the BER this server understands."""


@dataclass(frozen=True)
class Element:
    tag: int
    content: bytes


@dataclass(frozen=True)
class BindRequest:
    message_id: int
    version: int
    name: str
    password: str | None  # None: not a simple bind (SASL)


@dataclass(frozen=True)
class Unbind:
    message_id: int


# --- BER ------------------------------------------------------------------------------------------------------


def encode(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def encode_integer(tag: int, value: int) -> bytes:
    return encode(tag, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))


def header_size(data: bytes) -> tuple[int, int] | None:
    """(header length, content length) of the element ``data`` starts with; None while more bytes are needed."""
    if len(data) < 2:
        return None
    if data[0] & 0x1F == 0x1F:
        raise BerError("multi-byte tags are not used by LDAP")
    first = data[1]
    if first < 0x80:
        return 2, first
    count = first & 0x7F
    if count == 0 or count > 4:
        raise BerError("indefinite or oversized length")
    if len(data) < 2 + count:
        return None
    return 2 + count, int.from_bytes(data[2 : 2 + count], "big")


def split(data: bytes) -> list[Element]:
    """The consecutive elements ``data`` consists of exactly."""
    elements = []
    while data:
        sizes = header_size(data)
        if sizes is None or sum(sizes) > len(data):
            raise BerError("truncated element")
        head, size = sizes
        elements.append(Element(data[0], data[head : head + size]))
        data = data[head + size :]
    return elements


def _integer(element: Element, tag: int = INTEGER) -> int:
    if element.tag != tag or not 1 <= len(element.content) <= 4:
        raise BerError("expected a small integer")
    return int.from_bytes(element.content, "big", signed=True)


def decode_message(data: bytes) -> BindRequest | Unbind:
    """One LDAPMessage; BerError unless it is a bind or an unbind request."""
    elements = split(data)
    if len(elements) != 1 or elements[0].tag != SEQUENCE:
        raise BerError("an LDAP message is one SEQUENCE")
    parts = split(elements[0].content)
    if len(parts) < 2:
        raise BerError("an LDAP message has an id and an operation")
    message_id, operation = _integer(parts[0]), parts[1]  # parts[2:]: controls, which a bind here ignores
    if operation.tag == UNBIND_REQUEST:
        return Unbind(message_id)
    if operation.tag != BIND_REQUEST:
        raise BerError(f"operation 0x{operation.tag:02x} is not supported")
    fields = split(operation.content)
    if len(fields) != 3 or fields[1].tag != OCTET_STRING:
        raise BerError("a bind request has a version, a name and an authentication")
    try:
        name = fields[1].content.decode()
        password = fields[2].content.decode() if fields[2].tag == SIMPLE_AUTHENTICATION else None
    except UnicodeDecodeError:
        raise BerError("a name or password is not UTF-8") from None
    return BindRequest(message_id, _integer(fields[0]), name, password)


def bind_response(message_id: int, result: int, diagnostic: str = "") -> bytes:
    operation = encode(
        BIND_RESPONSE,
        encode_integer(ENUMERATED, result) + encode(OCTET_STRING, b"") + encode(OCTET_STRING, diagnostic.encode()),
    )
    return encode(SEQUENCE, encode_integer(INTEGER, message_id) + operation)


async def read_message(reader: asyncio.StreamReader) -> bytes | None:
    """The next whole message's bytes; None at a clean end of stream."""
    try:
        data = await reader.readexactly(2)
    except asyncio.IncompleteReadError as end:
        if end.partial:
            raise
        return None
    if data[0] != SEQUENCE:
        raise BerError("an LDAP message is a SEQUENCE")
    if data[1] & 0x80 and 1 <= data[1] & 0x7F <= 4:
        data += await reader.readexactly(data[1] & 0x7F)
    sizes = header_size(data)  # raises for indefinite or oversized lengths
    if sizes is None:
        raise BerError("truncated length")
    total = sum(sizes)
    if total > MAX_MESSAGE_BYTES:
        raise BerError(f"a message of {total} bytes is larger than any bind")
    return data + await reader.readexactly(total - len(data))


# --- the server -----------------------------------------------------------------------------------------------


class LdapResponder:
    """Answers simple binds on any number of listening sockets with ``check(dn, password)``."""

    def __init__(self, check: BindCheck) -> None:
        self._check = check
        self._loop = asyncio.new_event_loop()
        self._servers: dict[socket.socket, asyncio.AbstractServer] = {}
        self._thread = threading.Thread(target=self._loop.run_forever, name="entra-ldap", daemon=True)
        self._thread.start()

    def serve(self, listener: socket.socket) -> None:
        """Answer connections on ``listener`` (bound and listening, in whichever namespace) from now on."""
        listener.setblocking(False)
        server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, sock=listener), self._loop
        ).result()
        self._servers[listener] = server

    def stop_serving(self, listener: socket.socket) -> None:
        server = self._servers.pop(listener, None)
        if server is None:
            listener.close()  # never served, yet it holds its namespace alive
            return
        asyncio.run_coroutine_threadsafe(_closed(server), self._loop).result(timeout=READ_TIMEOUT_S)

    def close(self) -> None:
        for listener in list(self._servers):
            self.stop_serving(listener)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=READ_TIMEOUT_S)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                data = await asyncio.wait_for(read_message(reader), READ_TIMEOUT_S)
                if data is None:
                    return
                message = decode_message(data)
                if isinstance(message, Unbind):
                    return
                writer.write(await self._answer(message))
                await writer.drain()
        except (BerError, TimeoutError, asyncio.IncompleteReadError, ConnectionError) as problem:
            log.info("LDAP connection ended: %s", problem or type(problem).__name__)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _answer(self, request: BindRequest) -> bytes:
        if request.version != 3:
            return bind_response(request.message_id, PROTOCOL_ERROR, "only LDAP version 3 is spoken here")
        if request.password is None:
            return bind_response(request.message_id, AUTH_METHOD_NOT_SUPPORTED, "only simple binds are accepted")
        accepted = await asyncio.to_thread(self._check, request.name, request.password)
        return bind_response(request.message_id, SUCCESS if accepted else INVALID_CREDENTIALS)


async def _closed(server: asyncio.AbstractServer) -> None:
    # Closes the listening socket now; not waiting for open connections (Python 3.12 waits for them there).
    server.close()
