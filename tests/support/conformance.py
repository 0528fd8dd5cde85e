"""Checking every recorded ARM response against the official OpenAPI specification."""

from __future__ import annotations

import json

from support.armspec import ArmSpec
from support.emulator import EmulatorHandle


def assert_conforming(handle: EmulatorHandle, spec: ArmSpec) -> None:
    """Fail when any response recorded since the handle's last read does not conform to the spec."""
    problems = []
    for line in handle.new_record_lines():
        entry = json.loads(line)
        checked = spec.for_api_version(str(entry.get("query", {}).get("api-version", "")))
        if checked is not spec and checked.match(entry["method"], entry["path"]) is None:
            checked = spec  # an operation the older version's vendored files lack: checked against the newest
        for problem in checked.validate_response(
            entry["method"],
            entry["path"],
            entry["status"],
            entry["response_body"],
            entry.get("response_headers"),
        ):
            problems.append(f"{entry['method']} {entry['path']} -> {entry['status']}: {problem}")
    assert not problems, "responses that do not conform to the specification:\n" + "\n".join(problems[:20])
