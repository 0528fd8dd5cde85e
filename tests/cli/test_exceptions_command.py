"""Break-glass with an end, from the outside: ``pgflex exceptions`` (table, log lines, JSON), ``validate`` and the
drift job against the control-plane emulator.

Dates are relative to the real today (the CLI reads the calendar); the library takes ``today`` and is pinned.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from pgflex.azure.retry import RetryPolicy
from pgflex.cli.main import app
from pgflex.engine.api import apply
from pgflex.policy_exceptions import exceptions_report, load_exceptions_report
from pgflex.render.exceptions_view import render_exceptions
from pgflex.spec import load_spec
from support.emulator import EmulatorHandle, unique
from support.outputs import assert_documented
from support.specs import environment, public_server, write

PASSWORD = "Exceptions-Passw0rd!"
FAST_RETRY = RetryPolicy(initial_seconds=0.05, max_seconds=0.5)
ROOT = Path(__file__).resolve().parents[2]
TODAY = date.today()


def _cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def _legacy_server(name: str, expires: date | None) -> dict[str, Any]:
    """A server that needs its exception: TLS 1.1 allowed (possible only with cloud: local)."""
    exception: dict[str, Any] = {"rule": "tls-below-1.2", "reason": "a legacy client, until it is replaced"}
    if expires is not None:
        exception["expires"] = expires.isoformat()
    return public_server(name, {"office": "203.0.113.0/24"}, tls={"minVersion": "TLSv1.1"}, exceptions=[exception])


def _plaintext_server(name: str, expires: date) -> dict[str, Any]:
    """A server that lets clients connect without TLS, until ``expires``."""
    exception = {"rule": "insecure-transport", "reason": "a batch job without TLS", "expires": expires.isoformat()}
    rules = {"office": "203.0.113.0/24"}
    return public_server(name, rules, tls={"requireSecureTransport": False}, exceptions=[exception])


def _three(tmp_path: Path, *, expired: bool) -> Path:
    """pg-future ends in 30 days, pg-past 3 days ago (or in 5 when not ``expired``), pg-forever never."""
    past = TODAY + timedelta(days=-3 if expired else 5)
    servers = [
        _legacy_server("pg-future", TODAY + timedelta(days=30)),
        _legacy_server("pg-past", past),
        _legacy_server("pg-forever", None),
    ]
    return write(tmp_path / "env.yaml", environment("rg-exceptions", servers))


# --------------------------------------------------------------------------------------------------------------
# The library: today is a parameter
# --------------------------------------------------------------------------------------------------------------


def test_days_left_status_and_exit_code_are_counted_from_the_day_given(tmp_path: Path) -> None:
    spec = _three(tmp_path, expired=False)
    report = load_exceptions_report(spec, today=TODAY)
    left = {entry.server: (entry.days_left, entry.status) for entry in report.exceptions}
    assert left == {"pg-future": (30, "valid"), "pg-past": (5, "expiring"), "pg-forever": (None, "no-expiry")}
    assert report.exit_code == 0
    assert {entry.waived for entry in report.exceptions} == {"minVersion TLSv1.1"}

    later = exceptions_report(load_spec(spec, defer_catalogue=True, today=TODAY), today=TODAY + timedelta(days=16))
    left = {entry.server: (entry.days_left, entry.status) for entry in later.exceptions}
    assert left == {"pg-future": (14, "expiring"), "pg-past": (-11, "expired"), "pg-forever": (None, "no-expiry")}
    assert later.exit_code == 1
    assert later.verdict == "3 exception(s): 1 expired, 1 expiring within 14 days, 1 without expiry"


# --------------------------------------------------------------------------------------------------------------
# pgflex exceptions: log lines, JSON, table
# --------------------------------------------------------------------------------------------------------------


def test_in_a_log_one_line_per_exception_with_days_left_and_exit_1_when_one_has_expired(tmp_path: Path) -> None:
    result = _cli("exceptions", str(_three(tmp_path, expired=True)))
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    expires_in_30 = (TODAY + timedelta(days=30)).isoformat()
    expired_on = (TODAY - timedelta(days=3)).isoformat()
    assert lines[0].startswith(
        f"pg-future exception/tls-below-1.2 VALID expires {expires_in_30} (30 days left); waives minVersion TLSv1.1; "
        "reason: a legacy client, until it is replaced"
    )
    assert lines[1].startswith(f"pg-past exception/tls-below-1.2 EXPIRED expired on {expired_on} (3 days ago); ")
    assert lines[1].endswith("renew it with a new date and reason, or remove it")
    assert lines[2].startswith("pg-forever exception/tls-below-1.2 NO-EXPIRY no expiry; ")
    assert lines[3] == "exceptions test: 3 exception(s): 1 expired, 1 without expiry"
    assert len(lines) == 4


def test_nothing_expired_exits_0_and_warnings_do_not_change_that(tmp_path: Path) -> None:
    result = _cli("exceptions", str(_three(tmp_path, expired=False)))
    assert result.exit_code == 0, result.output
    assert " EXPIRING expires " in result.stdout and "(5 days left)" in result.stdout


def test_json_lists_every_exception_by_its_schema(tmp_path: Path) -> None:
    result = _cli("exceptions", str(_three(tmp_path, expired=True)), "-o", "json")
    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    assert_documented("exceptions", document)
    assert (document["today"], document["exitCode"]) == (TODAY.isoformat(), 1)
    listed = [(e["server"], e["expires"], e["daysLeft"], e["status"]) for e in document["exceptions"]]
    assert listed == [
        ("pg-future", (TODAY + timedelta(days=30)).isoformat(), 30, "valid"),
        ("pg-past", (TODAY - timedelta(days=3)).isoformat(), -3, "expired"),
        ("pg-forever", None, None, "no-expiry"),
    ]


def test_on_a_terminal_a_table_with_days_left_expired_and_no_expiry(tmp_path: Path) -> None:
    report = load_exceptions_report(_three(tmp_path, expired=True))
    out = io.StringIO()
    render_exceptions(report, Console(file=out, width=160, color_system=None))
    rows = {line.split("│")[1].strip(): line for line in out.getvalue().splitlines() if line.startswith("│ pg-")}
    assert "30 days" in rows["pg-future"]
    assert "expired" in rows["pg-past"] and (TODAY - timedelta(days=3)).isoformat() in rows["pg-past"]
    assert "no expiry" in rows["pg-forever"]
    assert "pg-past tls-below-1.2: renew it with a new date and reason, or remove it" in out.getvalue()


def test_a_file_that_is_not_a_spec_is_one_line_and_exit_1(tmp_path: Path) -> None:
    broken = tmp_path / "env.yaml"
    broken.write_text("apiVersion: pgflex/v1\nservers: 3\n")
    result = _cli("exceptions", str(broken))
    assert result.exit_code == 1
    assert "Traceback" not in result.output and f"{broken}:" in result.output


def test_exceptions_imports_no_azure_sdk_psycopg_or_emulator_server(tmp_path: Path) -> None:
    code = (
        "import json, sys\nsys.argv = ['pgflex', 'exceptions', sys.argv[1]]\nfrom pgflex.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\nprint(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    )
    spec = str(_three(tmp_path, expired=False))
    done = subprocess.run([sys.executable, "-c", code, spec], capture_output=True, text=True, timeout=60, cwd=ROOT)
    modules = json.loads(done.stderr.splitlines()[-1])
    assert "pgflex.policy_exceptions" in modules
    heavy = ("psycopg", "azure", "pgflex.azure", "pgflex.engine", "uvicorn", "pgflex.emulator.server")
    assert [name for name in modules if name.split(".")[0] in heavy or name.startswith(heavy)] == []


# --------------------------------------------------------------------------------------------------------------
# validate and the drift job
# --------------------------------------------------------------------------------------------------------------


def test_validate_refuses_an_expired_exception_at_its_expires_key(tmp_path: Path) -> None:
    spec = write(tmp_path / "env.yaml", environment("rg-x", [_legacy_server("pg-past", TODAY - timedelta(days=1))]))
    result = _cli("validate", str(spec))
    assert result.exit_code == 1
    line = next(number for number, text in enumerate(spec.read_text().splitlines(), 1) if "expires:" in text)
    assert f"{spec}:{line}:" in result.output
    assert "servers[0].exceptions[0].expires: exception tls-below-1.2 expired on" in result.output
    assert "(1 day ago): renew it with a new date and reason, or remove it" in result.output


def test_drift_names_an_expired_exception_as_unrepairable_and_writes_nothing(
    emulator: EmulatorHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGFLEX_ADMIN_PASSWORD", PASSWORD)
    group, server = unique("rg-expiry"), unique("pg-expiry")
    valid = write(tmp_path / "env.yaml", environment(group, [_plaintext_server(server, TODAY + timedelta(days=7))]))
    assert apply(valid, retry=FAST_RETRY, verify=False).converged
    lapsed = write(tmp_path / "lapsed.yaml", environment(group, [_plaintext_server(server, TODAY - timedelta(days=2))]))

    emulator.reset_request_count()
    report = tmp_path / "drift.json"
    for repair in ((), ("--repair",)):
        result = _cli("drift", str(lapsed), "--no-verify", "--report", str(report), *repair)
        assert result.exit_code == 2, result.output
        assert "exception insecure-transport expired on" in result.output
        assert "(2 days ago)" in result.output
    assert emulator.request_count("arm.writes") == 0
    document = json.loads(report.read_text())
    assert_documented("drift", document)
    assert document["outcome"] == "unrepairable"
    (error,) = document["unrepairable"]
    assert error.startswith(f"{lapsed}:") and "servers[0].exceptions[0].expires" in error
