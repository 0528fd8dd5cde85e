"""Safe TLS rollout: a plan that tightens TLS names the clients it would cut off (real clients connected to the
emulator's PostgreSQL), and apply refuses it, with no write at the emulator, until the impact is accepted."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from jsonschema import Draft202012Validator
from typer.testing import CliRunner

from live.conftest import conninfo
from pgflex.cli.main import app
from pgflex.engine.api import apply
from pgflex.schemas import output_schema
from support.emulator import EmulatorHandle, unique
from support.specs import environment, public_server, write

from .conftest import FAST_RETRY, LOCAL, PASSWORD, verify_environment

pytestmark = pytest.mark.dataplane

INSECURE = [{"rule": "insecure-transport", "reason": "legacy clients still move to TLS"}]


def cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


@dataclass(frozen=True)
class Loose:
    """A server that admits TLS 1.2 and plaintext, and env files that tighten it one way each."""

    name: str
    loose: Path  # what the server is: minVersion TLSv1.2, requireSecureTransport false
    min13: Path  # raises the minimum to TLSv1.3
    secure: Path  # turns require_secure_transport on
    blocked_min13: Path  # raises the minimum on a server whose firewall does not admit 127.0.0.1

    @property
    def fqdn(self) -> str:
        return f"{self.name}.postgres.database.azure.com"


def _env(directory: Path, file: str, group: str, name: str, rules: dict[str, str], **tls: Any) -> Path:
    settings: dict[str, Any] = {"tls": {"minVersion": "TLSv1.2", "requireSecureTransport": False, **tls}}
    if not settings["tls"]["requireSecureTransport"]:
        settings["exceptions"] = INSECURE
    return write(directory / file, environment(group, [public_server(name, rules, **settings)], version="15"))


@pytest.fixture(scope="module")
def loose(live_emulator: EmulatorHandle, tmp_path_factory: pytest.TempPathFactory) -> Loose:
    directory = tmp_path_factory.mktemp("impact")
    name, blocked, group, blocked_group = unique("loose"), unique("farway"), unique("rg-imp"), unique("rg-impb")
    loose_file = _env(directory, "loose.yaml", group, name, LOCAL)
    blocked_loose = _env(directory, "blocked-loose.yaml", blocked_group, blocked, {"office": "203.0.113.0/24"})
    with verify_environment(live_emulator):
        for env_file in (loose_file, blocked_loose):
            result = apply(env_file, retry=FAST_RETRY)
            assert result.converged, result.failures
    return Loose(
        name=name,
        loose=loose_file,
        min13=_env(directory, "min13.yaml", group, name, LOCAL, minVersion="TLSv1.3"),
        secure=_env(directory, "secure.yaml", group, name, LOCAL, requireSecureTransport=True),
        blocked_min13=_env(
            directory, "blocked-min13.yaml", blocked_group, blocked, {"office": "203.0.113.0/24"}, minVersion="TLSv1.3"
        ),
    )


def _client(handle: EmulatorHandle, fqdn: str, application: str, **tls: Any) -> psycopg.Connection[Any]:
    return psycopg.connect(
        autocommit=True, **conninfo(handle, fqdn, password=PASSWORD, application_name=application, **tls)
    )


@pytest.fixture
def clients(live: EmulatorHandle, loose: Loose) -> Iterator[None]:
    """A TLS 1.2 client, a plaintext client and a TLS 1.3 client, connected for the test's length."""
    with ExitStack() as stack:
        stack.enter_context(_client(live, loose.fqdn, "legacy-tls12", ssl_max_protocol_version="TLSv1.2"))
        stack.enter_context(_client(live, loose.fqdn, "legacy-plain", sslmode="disable"))
        stack.enter_context(_client(live, loose.fqdn, "modern-tls13"))
        yield


def _impact(document: dict[str, Any], server: str, parameter: str) -> dict[str, Any]:
    (entry,) = [s for s in document["servers"] if s["name"] == server]
    (change,) = [c for c in entry["changes"] if c["name"] == parameter]
    assert change["action"] == "update", change
    impact: dict[str, Any] = change["impact"]
    return impact


def test_raising_the_minimum_lists_the_tls12_client_only(loose: Loose, live: EmulatorHandle, clients: None) -> None:
    result = cli("plan", str(loose.min13), "-o", "json")
    assert result.exit_code == 0, result.output
    impact = _impact(json.loads(result.stdout), loose.name, "ssl_min_protocol_version")
    assert impact["status"] == "affected"
    assert [(c["application"], c["tls"], c["sessions"]) for c in impact["clients"]] == [("legacy-tls12", "TLSv1.2", 1)]
    assert impact["clients"][0]["clientAddress"] == "127.0.0.1" and impact["clients"][0]["user"] == "pgadmin"

    lines = cli("plan", str(loose.min13)).stdout.splitlines()
    refused = [line for line in lines if line.startswith(f"{loose.name} impact/ssl_min_protocol_version REFUSES ")]
    assert len(refused) == 1 and "application=legacy-tls12" in refused[0] and "tls=TLSv1.2" in refused[0], lines


def test_requiring_tls_lists_the_plaintext_client_only(loose: Loose, live: EmulatorHandle, clients: None) -> None:
    result = cli("plan", str(loose.secure), "-o", "json")
    assert result.exit_code == 0, result.output
    impact = _impact(json.loads(result.stdout), loose.name, "require_secure_transport")
    assert [(c["application"], c["tls"]) for c in impact["clients"]] == [("legacy-plain", "no TLS")]


def test_apply_refuses_both_with_no_write_until_accepted(loose: Loose, live: EmulatorHandle, clients: None) -> None:
    for env_file, client in ((loose.min13, "legacy-tls12"), (loose.secure, "legacy-plain")):
        writes = live.request_count("arm.writes")
        refused = cli("apply", str(env_file), "--auto-approve")
        assert refused.exit_code == 1, refused.output
        assert client in refused.stderr, refused.stderr
        assert "--accept-impact" in refused.stderr and "Traceback" not in refused.output
        assert live.request_count("arm.writes") == writes, "a refused apply wrote"

    accepted = cli("apply", str(loose.min13), "--auto-approve", "--accept-impact")
    assert accepted.exit_code == 0, accepted.output
    restored = cli("apply", str(loose.loose), "--auto-approve")  # loosening cuts nobody off: no gate
    assert restored.exit_code == 0, restored.output


def test_a_saved_plan_is_not_stale_because_the_sessions_changed(
    loose: Loose, live: EmulatorHandle, tmp_path: Path
) -> None:
    saved = tmp_path / "plan.json"
    with _client(live, loose.fqdn, "legacy-tls12", ssl_max_protocol_version="TLSv1.2"):
        made = cli("plan", str(loose.min13), "--out", str(saved), "-o", "json")
        assert made.exit_code == 0, made.output
    assert _impact(json.loads(saved.read_text()), loose.name, "ssl_min_protocol_version")["status"] == "affected"
    # The client has gone: apply assesses the impact again (none now) and the plan still compares equal.
    ran = cli("apply", str(saved), "--auto-approve")
    assert ran.exit_code == 0, ran.output
    assert cli("apply", str(loose.loose), "--auto-approve").exit_code == 0


def test_an_unreachable_server_is_impact_unknown_and_refused(loose: Loose, live: EmulatorHandle) -> None:
    result = cli("plan", str(loose.blocked_min13), "-o", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    impact = _impact(document, document["servers"][0]["name"], "ssl_min_protocol_version")
    assert impact["status"] == "unknown" and "no pg_hba.conf entry" in impact["reason"], impact
    lines = cli("plan", str(loose.blocked_min13)).stdout
    assert "impact/ssl_min_protocol_version UNKNOWN impact unknown: " in lines and " OK " not in lines

    writes = live.request_count("arm.writes")
    refused = cli("apply", str(loose.blocked_min13), "--auto-approve")
    assert refused.exit_code == 1 and "impact unknown" in refused.stderr, refused.output
    assert live.request_count("arm.writes") == writes


def _brief_client(handle: EmulatorHandle, fqdn: str, application: str, **tls: Any) -> threading.Thread:
    """A client that connects a second after the watch starts, stays two seconds, and leaves inside the window."""

    def visit() -> None:
        time.sleep(1.0)
        with _client(handle, fqdn, application, **tls):
            time.sleep(2.0)

    thread = threading.Thread(target=visit)
    thread.start()
    return thread


def test_watch_reports_a_client_that_came_and_went_and_the_policy_names_it(
    loose: Loose, live: EmulatorHandle, tmp_path: Path
) -> None:
    visitor = _brief_client(live, loose.fqdn, "nightly-tls12", ssl_max_protocol_version="TLSv1.2")
    result = cli("sessions", str(loose.loose), "--watch", "5s", "--interval", "1s", "--policy", "TLSv1.3", "-o", "json")
    visitor.join()
    assert result.exit_code == 2, result.output
    document = json.loads(result.stdout)
    Draft202012Validator(output_schema("sessions")).validate(document)
    (server,) = document["servers"]
    (seen,) = [c for c in server["clients"] if c["application"] == "nightly-tls12"]
    assert seen["versions"] == ["TLSv1.2"] and seen["clientAddress"] == "127.0.0.1" and server["samples"] >= 4
    assert not any(c["application"].startswith("pgflex") for c in server["clients"])
    assert [(r["application"], r["refusedVersions"]) for r in document["watch"]["refused"]] == [
        ("nightly-tls12", ["TLSv1.2"])
    ]
    # No client is connected now: the live plan sees no impact, the recorded watch does.
    recorded = tmp_path / "watch.json"
    recorded.write_text(result.stdout)
    live_plan = json.loads(cli("plan", str(loose.min13), "-o", "json").stdout)
    assert _impact(live_plan, loose.name, "ssl_min_protocol_version")["status"] == "none"
    from_watch = cli("plan", str(loose.min13), "-o", "json", "--impact-from", str(recorded))
    impact = _impact(json.loads(from_watch.stdout), loose.name, "ssl_min_protocol_version")
    assert [c["application"] for c in impact["clients"]] == ["nightly-tls12"] and "watch.json" in impact["source"]
    writes = live.request_count("arm.writes")
    refused = cli("apply", str(loose.min13), "--auto-approve", "--impact-from", str(recorded))
    assert refused.exit_code == 1 and "nightly-tls12" in refused.stderr, refused.output
    assert live.request_count("arm.writes") == writes


def test_watch_log_lines_and_require_tls(loose: Loose, live: EmulatorHandle) -> None:
    visitor = _brief_client(live, loose.fqdn, "batch-plain", sslmode="disable")
    result = cli("sessions", str(loose.loose), "--watch", "4s", "--interval", "1s", "--require-tls")
    visitor.join()
    assert result.exit_code == 2, result.output
    lines = result.stdout.splitlines()
    assert any(line.startswith(f"{loose.name} client WARN ") and "application=batch-plain" in line for line in lines)
    assert any(line.startswith(f"{loose.name} policy REFUSES ") and "refused=no TLS" in line for line in lines)
    assert "would refuse 1 client(s)" in lines[-1]
    assert cli("sessions", str(loose.loose), "--watch", "soon").exit_code == 1
