"""A small client for a running emulator: where it listens, its identity, and its admin endpoint.

Standard library only, and never the server's modules (uvicorn, the ARM app, the data plane), so that
``pgflex emulator status`` and the commands that only talk to a running emulator start fast.
"""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import instance
from .settings import DEFAULT_SUBSCRIPTION, RUNTIME_FILE

ARM_RESOURCE = "https://management.azure.com/"


class EmulatorRequestFailed(RuntimeError):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"emulator answered {status}: {body}")
        self.status = status
        self.body = body


@dataclass(frozen=True)
class RunningEmulator:
    state_dir: Path
    pid: int
    base_url: str
    ca_root: Path
    trust_bundle: Path
    identity: str = ""  # boot and start time of the process (instance.process_identity)

    @property
    def identity_endpoint(self) -> str:
        return f"{self.base_url}/msi/token"

    @property
    def identity_header(self) -> str:
        return (self.state_dir / "identity" / "header.secret").read_text().strip()

    def client_environment(self) -> dict[str, str]:
        """The variables an unmodified Azure SDK client (and psql) needs to use this emulator."""
        return {
            "PGFLEX_ARM_ENDPOINT": self.base_url,
            "PGFLEX_EMULATOR_STATE_DIR": str(self.state_dir),
            "IDENTITY_ENDPOINT": self.identity_endpoint,
            "IDENTITY_HEADER": self.identity_header,
            # certifi's roots plus the emulator's: azure-core (requests) verifies both.
            "REQUESTS_CA_BUNDLE": str(self.trust_bundle),
            "PGFLEX_EMULATOR_CA": str(self.ca_root),
            "AZURE_SUBSCRIPTION_ID": DEFAULT_SUBSCRIPTION,
        }


def find(state_dir: Path) -> RunningEmulator | None:
    """The emulator serving ``state_dir``: the live process holding its lock, as ``emulator.json`` names it.

    A pid alone proves nothing (a zombie, or another process that got the pid after a crash); see instance.py.
    """
    try:
        info = json.loads((state_dir / RUNTIME_FILE).read_text())
        pid, identity = int(info["pid"]), str(info["process"])
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError, KeyError, TypeError, ValueError):
        return None
    if not instance.lock_is_held(state_dir) or instance.process_identity(pid) != identity:
        return None
    return RunningEmulator(
        state_dir=state_dir,
        pid=pid,
        base_url=str(info["base_url"]),
        ca_root=Path(info["ca_root"]),
        trust_bundle=Path(info["trust_bundle"]),
        identity=identity,
    )


TOKEN_RENEWAL_SECONDS = 300.0


class AdminClient:
    def __init__(self, emulator: RunningEmulator, timeout: float = 10.0) -> None:
        self.emulator = emulator
        self._timeout = timeout
        self._context = ssl.create_default_context(cafile=str(emulator.ca_root))
        self._tokens: dict[str, tuple[str, float]] = {}  # resource -> (token, expires_on)

    def token(self, resource: str = ARM_RESOURCE) -> str:
        """A token from the emulator's identity endpoint for ``resource`` (Resource Manager's by default),
        renewed five minutes before it expires, as azure-identity does."""
        return self.token_and_expiry(resource)[0]

    def token_and_expiry(self, resource: str = ARM_RESOURCE) -> tuple[str, float]:
        cached = self._tokens.get(resource)
        if cached is None or cached[1] - time.time() < TOKEN_RENEWAL_SECONDS:
            query = urllib.parse.urlencode({"api-version": "2019-08-01", "resource": resource})
            request = urllib.request.Request(
                f"{self.emulator.identity_endpoint}?{query}",
                headers={"X-IDENTITY-HEADER": self.emulator.identity_header},
            )
            answer = self._open(request)
            cached = (str(answer["access_token"]), float(answer["expires_on"]))
            self._tokens[resource] = cached
        return cached

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.emulator.base_url}{path}",
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token()}", "Content-Type": "application/json"},
        )
        return self._open(request)

    def health(self) -> bool:
        try:
            return bool(self.call("GET", "/_emulator/health").get("status") == "ok")
        except (OSError, EmulatorRequestFailed):
            return False

    def status(self) -> dict[str, Any]:
        return dict(self.call("GET", "/_emulator/status"))

    def settings(self, changes: dict[str, Any] | None = None) -> dict[str, Any]:
        if changes is None:
            return dict(self.call("GET", "/_emulator/settings"))
        return dict(self.call("PATCH", "/_emulator/settings", changes))

    def stats(self) -> dict[str, int]:
        return dict(self.call("GET", "/_emulator/stats"))

    def reset_stats(self) -> None:
        self.call("DELETE", "/_emulator/stats")

    def add_subscription(self, subscription_id: str, display_name: str) -> dict[str, Any]:
        """Register a subscription (or rename one): the emulator starts with the default one only."""
        return dict(self.call("PUT", f"/_emulator/subscriptions/{subscription_id}", {"displayName": display_name}))

    def endpoints(self) -> dict[str, dict[str, Any]]:
        return dict(self.call("GET", "/_emulator/endpoints"))

    def _open(self, request: urllib.request.Request) -> Any:
        try:
            with urllib.request.urlopen(request, timeout=self._timeout, context=self._context) as response:
                raw = response.read()
        except urllib.error.HTTPError as failure:
            raise EmulatorRequestFailed(failure.code, failure.read().decode(errors="replace")) from None
        return json.loads(raw) if raw else {}
