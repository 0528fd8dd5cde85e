"""Request limits over real HTTPS: a body is read only after authentication and never beyond Resource
Manager's 4 MB; request heads and connections are bounded too.

Memory is measured on the emulator process itself (VmRSS in /proc), on an emulator of this module's own, so
that nothing else the worker ran moves the numbers.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import ssl
import time
from collections.abc import Iterator
from contextlib import ExitStack, closing
from pathlib import Path
from typing import Any

import pytest

from support.emulator import Clients, EmulatorHandle, make_handle, server_body
from support.tokens import ARM, minted

MB = 1024 * 1024
LIMIT = 4 * MB  # Resource Manager's request content limit
RSS_GROWTH_ALLOWED = 20 * MB
TOO_LARGE = {
    "code": "RequestContentTooLarge",
    "message": "The request content size exceeds the maximum size of 4 MB.",
}
GROUP_PATH = "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/{}?api-version=2025-04-01"
MAX_CONNECTIONS = 256  # the emulator's limit_concurrency


@pytest.fixture(scope="module")
def own_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorHandle]:
    handle = make_handle(tmp_path_factory.mktemp("limits-emulator"), data_plane=False)
    handle.start()
    yield handle
    handle.stop()


def _rss(handle: EmulatorHandle) -> int:
    assert handle.running is not None
    status = Path(f"/proc/{handle.running.pid}/status").read_text()
    found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    assert found is not None
    return int(found[1]) * 1024


def _address(handle: EmulatorHandle) -> tuple[str, int]:
    host, port = handle.base_url.removeprefix("https://").rsplit(":", 1)
    return host, int(port)


def _connect(handle: EmulatorHandle, timeout: float = 30) -> ssl.SSLSocket:
    assert handle.running is not None
    host, port = _address(handle)
    context = ssl.create_default_context(cafile=str(handle.running.ca_root))
    return context.wrap_socket(socket.create_connection((host, port), timeout=timeout), server_hostname=host)


def _head(handle: EmulatorHandle, method: str, path: str, headers: dict[str, str]) -> bytes:
    host, port = _address(handle)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _response(sock: ssl.SSLSocket, wait: float | None = None) -> tuple[int, Any] | None:
    """Read one answer (status and JSON or text body); None if none began within ``wait`` seconds, or the
    connection was closed without one.

    Reads application data only: select() would also wake for TLS 1.3's session tickets.
    """
    saved = sock.gettimeout()
    if wait is not None:
        sock.settimeout(wait)
    try:
        data = sock.recv(65536)
    except TimeoutError:
        return None
    finally:
        sock.settimeout(saved)
    if not data:
        return None  # closed without an answer
    while b"\r\n\r\n" not in data:
        more = sock.recv(65536)
        assert more, f"connection closed in an answer's head: {data!r}"
        data += more
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    while len(body) < int(headers.get("content-length", "0")):
        more = sock.recv(65536)
        assert more, "connection closed in an answer's body"
        body += more
    return int(lines[0].split()[1]), json.loads(body) if body.startswith(b"{") else body.decode(errors="replace")


def _answer(sock: ssl.SSLSocket) -> tuple[int, Any]:
    answer = _response(sock)
    assert answer is not None
    return answer


def _stream_body(handle: EmulatorHandle, headers: dict[str, str], *, total: int, chunked: bool) -> tuple[int, Any, int]:
    """PUT ``total`` bytes in 1 MB pieces over one TLS connection, sampling the emulator's memory.

    Returns the status, the body and the largest growth of the emulator's RSS. The answer may come before the
    body is sent (refused on its headers) or while it streams (past the limit); the emulator may then cut the
    connection while the body still streams.
    """
    framing = {"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": str(total)}
    head = _head(handle, "PUT", GROUP_PATH.format("rg-big"), {"Content-Type": "application/json", **framing, **headers})
    piece = b" " * MB
    with closing(_connect(handle)) as sock:
        before = peak = _rss(handle)
        sock.sendall(head)
        answer = _response(sock, wait=3)
        sent = 0
        try:
            while sent < total:
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                sent += len(piece)
                peak = max(peak, _rss(handle))
                if answer is None:  # refused as it streams: read the answer before the connection is cut
                    answer = _response(sock, wait=0.001)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError:  # reset or broken pipe: the emulator stopped taking what it refused
            assert answer is not None, f"connection lost after {sent} bytes without an answer"
        if answer is None:
            answer = _answer(sock)
        peak = max(peak, _rss(handle))
    return answer[0], answer[1], peak - before


def _warm(handle: EmulatorHandle) -> None:
    """One refused request first, so that lazily built state does not count as growth."""
    _stream_body(handle, {}, total=MB, chunked=True)


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
def test_an_unauthenticated_100_mb_body_is_refused_unread(own_emulator: EmulatorHandle, chunked: bool) -> None:
    _warm(own_emulator)
    status, body, growth = _stream_body(own_emulator, {}, total=100 * MB, chunked=chunked)
    assert status == 401
    assert body["error"]["code"] == "AuthenticationFailed"
    assert growth < RSS_GROWTH_ALLOWED, f"the emulator grew by {growth // MB} MB"


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
def test_an_authenticated_100_mb_body_is_refused_at_4_mb(own_emulator: EmulatorHandle, chunked: bool) -> None:
    _warm(own_emulator)
    token = minted(own_emulator, ARM)
    status, body, growth = _stream_body(
        own_emulator, {"Authorization": f"Bearer {token}"}, total=100 * MB, chunked=chunked
    )
    assert status == 413
    assert body["error"] == TOO_LARGE
    assert growth < RSS_GROWTH_ALLOWED, f"the emulator grew by {growth // MB} MB"


def _client_put(handle: EmulatorHandle, path: str, body: Any, headers: dict[str, str]) -> tuple[int, Any]:
    """A PUT as an ordinary client makes it: the whole body sent, then the answer read."""
    assert handle.running is not None
    host, port = _address(handle)
    context = ssl.create_default_context(cafile=str(handle.running.ca_root))
    connection = http.client.HTTPSConnection(host, port, context=context, timeout=30)
    try:
        connection.request("PUT", path, body=body, headers={"Content-Type": "application/json", **headers})
        response = connection.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None
    finally:
        connection.close()


def _padded(document: dict[str, Any], size: int) -> bytes:
    """``document`` as JSON of exactly ``size`` bytes (leading whitespace is valid JSON)."""
    text = json.dumps(document).encode()
    return b" " * (size - len(text)) + text


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
def test_an_authenticated_body_over_4_mb_gets_413_request_content_too_large(
    emulator: EmulatorHandle, chunked: bool
) -> None:
    token = minted(emulator, ARM)
    content = _padded({"location": "westeurope"}, LIMIT + 1)
    body: Any = iter([content[:MB], content[MB:]]) if chunked else content  # an iterable goes chunked
    status, answer = _client_put(emulator, GROUP_PATH.format("rg-over"), body, {"Authorization": f"Bearer {token}"})
    assert status == 413
    assert answer == {"error": TOO_LARGE}


def test_a_body_of_exactly_4_mb_is_read(emulator: EmulatorHandle) -> None:
    token = minted(emulator, ARM)
    content = _padded({"location": "westeurope"}, LIMIT)
    status, answer = _client_put(
        emulator, GROUP_PATH.format("rg-at-limit"), content, {"Authorization": f"Bearer {token}"}
    )
    assert status in (200, 201), answer
    assert answer["location"] == "westeurope"


def test_key_vault_bodies_have_the_same_limit(emulator: EmulatorHandle) -> None:
    token = minted(emulator, "https://vault.azure.net")
    content = _padded({"value": "x"}, LIMIT + 1)
    path = "/keyvault/kv-limits/secrets/big?api-version=7.4"
    status, answer = _client_put(emulator, path, content, {"Authorization": f"Bearer {token}"})
    assert status == 413
    assert answer == {"error": TOO_LARGE}


def test_a_normal_create_still_works(clients: Clients, resource_group: str, server_name: str) -> None:
    created = clients.postgres.servers.begin_create_or_update(resource_group, server_name, server_body()).result()  # type: ignore[call-overload]
    assert created.name == server_name and created.state == "Ready"


@pytest.mark.parametrize("pieces", [1, 16], ids=["at-once", "in-pieces"])
def test_an_oversized_request_head_is_refused(own_emulator: EmulatorHandle, pieces: int) -> None:
    head = _head(own_emulator, "GET", "/metadata/endpoints", {"X-Padding": "a" * (64 * 1024)})
    step = len(head) // pieces + 1
    answer = None
    with closing(_connect(own_emulator)) as sock:
        try:
            for start in range(0, len(head), step):
                sock.sendall(head[start : start + step])
                answer = _response(sock, wait=0.05)
                if answer is not None:  # refused once past the limit, before the rest was sent
                    break
            else:
                answer = _response(sock)
        except OSError:  # cut off while it still sent: refused, its answer lost to the reset
            pass
    # Past the limit as the head streams in: the server's 400; whole at once: the app's 431, in ARM's envelope.
    assert answer is None or answer[0] in (400, 431), answer
    if answer is not None and answer[0] == 431:
        assert answer[1]["error"]["code"] == "RequestHeaderFieldsTooLarge"


def test_a_head_just_under_the_limit_is_served(own_emulator: EmulatorHandle) -> None:
    with closing(_connect(own_emulator)) as sock:
        sock.sendall(_head(own_emulator, "GET", "/metadata/endpoints", {"X-Padding": "a" * (15 * 1024)}))
        assert _answer(sock)[0] == 200


def test_a_connection_idle_before_its_first_request_is_closed(own_emulator: EmulatorHandle) -> None:
    with closing(_connect(own_emulator, timeout=20)) as sock:
        started = time.monotonic()
        assert sock.recv(1) == b""  # closed by the emulator, not by our timeout
    assert time.monotonic() - started < 15


def test_connections_beyond_the_limit_get_503(own_emulator: EmulatorHandle) -> None:
    with ExitStack() as stack:
        # Connections with a request head begun and never finished: a slow or stuck client holds each.
        for _ in range(MAX_CONNECTIONS - 1):
            sock = stack.enter_context(closing(_connect(own_emulator)))
            sock.sendall(b"GET /metadata/endpoints HTTP/1.1\r\n")
        with closing(_connect(own_emulator)) as sock:
            sock.sendall(_head(own_emulator, "GET", "/metadata/endpoints", {}))
            status, _ = _answer(sock)
        assert status == 503
    time.sleep(0.5)  # the emulator sees the closes
    with closing(_connect(own_emulator)) as sock:
        sock.sendall(_head(own_emulator, "GET", "/metadata/endpoints", {}))
        assert _answer(sock)[0] == 200
