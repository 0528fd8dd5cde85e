"""Emulator settings: fixed at start (where it listens, where state lives) and tunable while it runs
(latency, operation durations, fault rates, throttling), the latter through the admin endpoint."""

from __future__ import annotations

import os
import random
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

DEFAULT_PORT = 4590
PORT_ENV = "PGFLEX_EMULATOR_PORT"
STATE_DIR_ENV = "PGFLEX_EMULATOR_STATE_DIR"
DEFAULT_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
DEFAULT_TENANT = "00000000-0000-0000-0000-0000000000aa"
# The running emulator's address and CA, in its state dir. Here rather than in server.py, so that
# finding a running emulator (client.py) does not import the server.
RUNTIME_FILE = "emulator.json"


def default_state_dir() -> Path:
    override = os.environ.get(STATE_DIR_ENV)
    if override:
        return Path(override)
    if os.geteuid() == 0:
        # As root the data plane runs PostgreSQL as the postgres user, who cannot enter /root.
        return Path("/var/lib/pgflex/emulator")
    import platformdirs

    return Path(platformdirs.user_state_dir("pgflex")) / "emulator"


def default_port() -> int:
    """``$PGFLEX_EMULATOR_PORT``, else 4590. ValueError, naming the variable, when it is not a port."""
    raw = os.environ.get(PORT_ENV, "").strip()
    if not raw:
        return DEFAULT_PORT
    try:
        port = int(raw)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise ValueError(f"{PORT_ENV}={raw!r} is not a port number (0 to 65535; 0 picks a free one)")
    return port


_INVALID = object()


def _coerce_like(current: Any, value: Any, *, optional: bool) -> Any:
    """``value`` converted to the type of ``current``, or _INVALID. bool is not an int here."""
    if value is None:
        return None if optional else _INVALID
    if isinstance(value, bool) or isinstance(current, bool):
        return value if isinstance(value, bool) and isinstance(current, bool) else _INVALID
    if isinstance(current, float) and isinstance(value, int | float):
        return float(value)
    if (isinstance(current, int) or optional) and isinstance(value, int):
        return value
    return _INVALID


@dataclass
class Tuning:
    """What tests and benchmarks change while the emulator runs. Rates are probabilities per request."""

    latency_ms: float = 0.0
    operation_seconds: float = 0.2  # minimum duration of every long-running operation
    retry_after_seconds: int = 1  # Retry-After on 202 responses and status documents
    rate_throttled: float = 0.0  # 429 with Retry-After
    rate_server_error: float = 0.0  # 500
    rate_server_busy: float = 0.0  # 409 ServerBusy on server writes
    rate_dropped: float = 0.0  # connection closed before a complete response
    rate_operation_failed: float = 0.0  # long-running operation ends Failed
    throttling: bool = False  # Resource Manager's token buckets
    data_plane: bool = True  # new servers run a real PostgreSQL
    page_size: int = 100  # items per page in list responses
    seed: int | None = None
    rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.rng.seed(self.seed)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("rng")
        return data

    def update(self, changes: dict[str, Any]) -> list[str]:
        """Apply changes; returns problems instead of raising so the caller can answer 400."""
        known = {f.name for f in fields(self) if f.name != "rng"}
        problems = []
        for name, value in changes.items():
            if name not in known:
                problems.append(f"unknown setting '{name}'")
                continue
            coerced = _coerce_like(getattr(self, name), value, optional=name == "seed")
            if coerced is _INVALID:
                problems.append(f"setting '{name}' has the wrong type")
            elif name.startswith("rate_") and not 0.0 <= float(coerced) <= 1.0:
                problems.append(f"setting '{name}' must be between 0 and 1")
            else:
                setattr(self, name, coerced)
        if "seed" in changes:
            self.rng.seed(self.seed)
        return problems

    def chance(self, rate: float) -> bool:
        return rate > 0 and self.rng.random() < rate


@dataclass
class EmulatorSettings:
    state_dir: Path = field(default_factory=default_state_dir)
    host: str = "127.0.0.1"
    port: int = field(default_factory=default_port)
    record_path: Path | None = None  # append every request and response as JSON lines
    tuning: Tuning = field(default_factory=Tuning)

    @property
    def base_url(self) -> str:
        return f"https://{self.host}:{self.port}"
