"""Emulator settings: fixed at start (where it listens, where state lives) and tunable while it runs
(latency, operation durations, fault rates, throttling), the latter through the admin endpoint."""

from __future__ import annotations

import math
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
LOCK_FILE = "emulator.lock"  # held by the emulator process while it runs (instance.py)
# The environment the emulator process gets from whoever starts it, by name, and nothing else: pipeline secrets
# (PGFLEX_ADMIN_PASSWORD, DB_PASSWORD, AZURE_CLIENT_SECRET, ...) must not sit in /proc/<pid>/environ of a
# long-lived process. Also LC_*. PYTHONPATH lets it import pgflex as its parent did; the PGFLEX_ ones are the
# settings it reads itself. PostgreSQL gets less still (dataplane/cluster.py).
EMULATOR_ENVIRONMENT = ("PATH", "LANG", "LANGUAGE", "TZ", "TMPDIR", "PYTHONPATH", PORT_ENV, STATE_DIR_ENV)


def allowed_environment(names: tuple[str, ...] = EMULATOR_ENVIRONMENT) -> dict[str, str]:
    """The variables of this process's environment named in ``names``, plus the locale's LC_*."""
    return {key: value for key, value in os.environ.items() if key in names or key.startswith("LC_")}


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


# Bounds of every numeric tuning value (inclusive). Zero or a negative page size would make list loops spin
# forever; NaN or an hour of latency per request would hang every client.
LIMITS: dict[str, tuple[float, float]] = {
    "latency_ms": (0, 60_000),
    "operation_seconds": (0, 3_600),
    "retry_after_seconds": (0, 3_600),
    "page_size": (1, 10_000),
    # Up to the 5 days a dropped server can be restored in, the longest the service was seen to hold a name.
    "deleted_name_hold_seconds": (0, 432_000),
    "rate_throttled": (0, 1),
    "rate_server_error": (0, 1),
    "rate_server_busy": (0, 1),
    "rate_dropped": (0, 1),
    "rate_operation_failed": (0, 1),
    # Token buckets: a refill of 0 would refuse forever; above these, throttling could never happen anyway.
    "throttle_reads_burst": (1, 1_000_000),
    "throttle_reads_per_second": (0.01, 100_000),
    "throttle_writes_burst": (1, 1_000_000),
    "throttle_writes_per_second": (0.01, 100_000),
    "throttle_deletes_burst": (1, 1_000_000),
    "throttle_deletes_per_second": (0.01, 100_000),
}
# Settings that shape the token buckets: changing one starts every bucket afresh (full).
THROTTLE_SETTINGS = frozenset({"throttling", *(name for name in LIMITS if name.startswith("throttle_"))})


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _checked(name: str, current: Any, value: Any) -> tuple[Any, str | None]:
    """``value`` as the type of ``current`` and within LIMITS, or a problem. bool is never a number here."""
    if name == "seed":
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value, None
        return None, f"setting 'seed' must be a whole number or null, not {_shown(value)}"
    if isinstance(current, bool):
        if isinstance(value, bool):
            return value, None
        return None, f"setting '{name}' must be true or false, not {_shown(value)}"
    whole = isinstance(current, int)
    if isinstance(value, bool) or not isinstance(value, int | float) or (whole and not isinstance(value, int)):
        kind = "a whole number" if whole else "a number"
        return None, f"setting '{name}' must be {kind}, not {_shown(value)}"
    low, high = LIMITS[name]
    if (isinstance(value, float) and not math.isfinite(value)) or not low <= value <= high:
        kind = "a whole number" if whole else "a number"
        return None, f"setting '{name}' must be {kind} from {low:g} to {high:g}, not {_shown(value)}"
    return (int(value) if whole else float(value)), None


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
    throttling: bool = False  # Resource Manager's token buckets (arm/throttle.py); off, headers report them full
    # A principal's bucket per subscription (Resource Manager's 2024 limits); the subscription's global one is
    # 15 times larger. Lower them to throttle within a test.
    throttle_reads_burst: int = 250
    throttle_reads_per_second: float = 25.0
    throttle_writes_burst: int = 200
    throttle_writes_per_second: float = 10.0
    throttle_deletes_burst: int = 200
    throttle_deletes_per_second: float = 10.0
    data_plane: bool = True  # new servers run a real PostgreSQL
    page_size: int = 100  # items per page in list responses
    # A deleted server's name stays taken this long (the service holds it: minutes to days, see README).
    deleted_name_hold_seconds: float = 60.0
    seed: int | None = None
    rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.rng.seed(self.seed)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("rng")
        return data

    def update(self, changes: dict[str, Any]) -> list[str]:
        """Apply changes, all or none; returns problems instead of raising so the caller can answer 400."""
        known = {f.name for f in fields(self) if f.name != "rng"}
        problems = []
        accepted: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in known:
                problems.append(f"unknown setting '{name}' (known: {', '.join(sorted(known))})")
                continue
            checked, problem = _checked(name, getattr(self, name), value)
            if problem is not None:
                problems.append(problem)
            else:
                accepted[name] = checked
        if problems:
            return problems
        for name, value in accepted.items():
            setattr(self, name, value)
        if "seed" in accepted:
            self.rng.seed(self.seed)
        return []

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
