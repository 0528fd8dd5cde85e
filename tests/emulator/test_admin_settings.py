"""The admin endpoint's settings over real HTTPS: a refused change is a 400 in ARM's error envelope, and
changes nothing; no value makes it answer 500."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from typing import Any

import pytest

from support.emulator import EmulatorHandle
from support.tokens import ARM, minted

SETTINGS = "/_emulator/settings"


def _patch(handle: EmulatorHandle, raw: bytes) -> tuple[int, Any]:
    assert handle.running is not None
    request = urllib.request.Request(
        handle.base_url + SETTINGS,
        data=raw,
        method="PATCH",
        headers={"Authorization": f"Bearer {minted(handle, ARM)}", "Content-Type": "application/json"},
    )
    context = ssl.create_default_context(cafile=str(handle.running.ca_root))
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as failure:
        return failure.code, json.loads(failure.read())


@pytest.mark.parametrize(
    "changes",
    [
        {"page_size": 0},
        {"page_size": -1},
        {"latency_ms": 5, "page_size": 0},  # one bad value: nothing applied
        {"latency_ms": 10**400},
        {"rate_throttled": 2},
        {"throttling": "yes"},
        {"no_such_setting": 1},
    ],
    ids=[
        "page-size-0",
        "page-size-negative",
        "one-bad-of-two",
        "huge-integer",
        "rate-above-1",
        "not-a-bool",
        "unknown",
    ],
)
def test_a_refused_setting_is_a_400_in_arms_envelope_and_changes_nothing(
    emulator: EmulatorHandle, changes: dict[str, Any]
) -> None:
    before = emulator.admin().settings()
    status, body = _patch(emulator, json.dumps(changes).encode())
    assert status == 400, body
    assert set(body) == {"error"} and body["error"]["code"] == "InvalidSetting" and body["error"]["message"]
    assert emulator.admin().settings() == before


@pytest.mark.parametrize(
    ("raw", "code"),
    [(b"[1, 2]", "InvalidRequestContent"), (b"{not json", "InvalidRequestContent")],
    ids=["not-an-object", "not-json"],
)
def test_a_settings_body_that_is_no_object_is_a_400(emulator: EmulatorHandle, raw: bytes, code: str) -> None:
    status, body = _patch(emulator, raw)
    assert status == 400 and body["error"]["code"] == code


def test_a_good_setting_is_applied(emulator: EmulatorHandle) -> None:
    status, body = _patch(emulator, json.dumps({"page_size": 7}).encode())
    assert status == 200 and body["page_size"] == 7
    assert emulator.admin().settings()["page_size"] == 7
