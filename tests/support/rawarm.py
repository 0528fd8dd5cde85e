"""Raw HTTPS to the emulator's Resource Manager, as curl or a script calls it: a bearer token, the CA, a path."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests

from support.armspec import ArmSpec
from support.conformance import assert_conforming
from support.emulator import EmulatorHandle
from support.tokens import ARM, minted

# What today's SDK (azure-mgmt-postgresqlflexibleservers 3.x) sends.
SDK_VERSION = "2026-10-01"


def arm_session(handle: EmulatorHandle) -> requests.Session:
    assert handle.running is not None
    session = requests.Session()
    session.verify = str(handle.running.ca_root)
    session.headers["Authorization"] = f"Bearer {minted(handle, ARM)}"
    return session


def call(
    session: requests.Session,
    handle: EmulatorHandle,
    method: str,
    path: str,
    version: str = SDK_VERSION,
    **kwargs: Any,
) -> requests.Response:
    params = {"api-version": version, **kwargs.pop("params", {})}
    return session.request(method, f"{handle.base_url}{path}", params=params, timeout=30, **kwargs)


@contextmanager
def off_the_spec(handle: EmulatorHandle, spec: ArmSpec) -> Iterator[None]:
    """Requests the specification defines no operation for (a path no provider serves, a method a type lacks):
    what was recorded before is checked against the spec first; the refusals inside are checked here as Resource
    Manager's error envelope, and their exact codes by the test."""
    assert_conforming(handle, spec)
    yield
    for line in handle.new_record_lines():
        entry = json.loads(line)
        error = (entry["response_body"] or {}).get("error", {})
        assert entry["status"] >= 400, entry
        assert isinstance(error.get("code"), str) and isinstance(error.get("message"), str), entry
