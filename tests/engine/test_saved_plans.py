"""A saved plan is bound to its inputs and never trusted for values (pgflex.engine.saved).

`pgflex plan --out plan.json`, then: the spec edited, the plan edited by hand (a firewall rule widened to every
address, require_secure_transport off, a server the spec does not have, a malformed change), or the plan made by
another pgflex version. Each is refused by `pgflex apply plan.json` with one line, exit 1, no traceback and not
one write request (counted at the emulator); the library refuses the same with a PgflexError. An unedited plan
still applies, and what runs is the plan made again from the spec and the live state.
"""

from __future__ import annotations

import json
import traceback
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from pgflex import api as library
from pgflex.azure.retry import RetryPolicy
from pgflex.cli.main import app
from pgflex.engine import api as engine
from pgflex.engine.plan import EditedPlanError, Plan, PlanVersionError, SavedPlanError, StalePlanError
from pgflex.spec import PgflexError, load_spec
from support.emulator import Clients, EmulatorHandle, unique
from support.specs import environment, public_server, write

PASSWORD = "Saved-Plan-Passw0rd!"
FAST_RETRY = RetryPolicy(initial_seconds=0.05, max_seconds=0.5)


@pytest.fixture
def names() -> dict[str, str]:
    return {"group": unique("rg-saved"), "server": unique("pub")}


def _document(names: dict[str, str], *, office: str = "203.0.113.0/24", **defaults: Any) -> dict[str, Any]:
    server = public_server(names["server"], {"office": office}, tls={"minVersion": "TLSv1.3"})
    return environment(names["group"], [server], **defaults)


@pytest.fixture
def env_file(tmp_path: Path, names: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PGFLEX_ADMIN_PASSWORD", PASSWORD)
    return write(tmp_path / "env.yaml", _document(names))


def _cli(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def _describe(result: Result) -> str:
    crash = "".join(traceback.format_exception(result.exception)) if result.exception else ""
    return f"exit {result.exit_code}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}\n{crash}"


def _tls_minimum(clients: Clients, names: dict[str, str]) -> str:
    found = clients.postgres.configurations.get(names["group"], names["server"], "ssl_min_protocol_version")
    return str(found.value)


@pytest.fixture
def saved(emulator: EmulatorHandle, clients: Clients, env_file: Path, names: dict[str, str], tmp_path: Path) -> Path:
    """A converged environment whose TLS minimum was lowered since, and a plan saved to raise it again."""
    assert engine.apply(env_file, retry=FAST_RETRY).converged
    body = {"properties": {"value": "TLSv1.2", "source": "user-override"}}
    clients.postgres.configurations.begin_update(
        names["group"], names["server"], "ssl_min_protocol_version", body
    ).result()
    path = tmp_path / "plan.json"
    made = _cli("plan", str(env_file), "--out", str(path))
    assert made.exit_code == 0, _describe(made)
    document = json.loads(path.read_text())
    assert document["hasChanges"] and document["summary"]["update"] == 1
    emulator.reset_request_count()
    return path


def _refused(emulator: EmulatorHandle, path: Path, *, requests: bool = True) -> str:
    """Apply the saved plan; assert it was refused in one line, exit 1, without a write. Returns the line."""
    result = _cli("apply", str(path), "--auto-approve", "--no-verify")
    assert isinstance(result.exception, SystemExit), _describe(result)  # anything else is a crash
    assert result.exit_code == 1, _describe(result)
    assert "Traceback" not in result.output, _describe(result)
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"pgflex: {path}"), _describe(result)
    assert emulator.request_count("arm.writes") == 0
    assert emulator.request_count("arm.deletes") == 0
    if not requests:
        assert emulator.request_count("arm") == 0
    return line


def _edit(path: Path, edit: Any) -> None:
    """Edit a saved plan as someone would by hand, keeping its summary true so that only the change differs."""
    document = json.loads(path.read_text())
    edit(document)
    changes = [c for c in document["environmentChanges"] if c["action"] != "no-op"]
    changes += [c for server in document["servers"] for c in server["changes"] if c["action"] != "no-op"]
    document["summary"] = {
        action: sum(c["action"] == action for c in changes) for action in ("create", "update", "delete", "restart")
    }
    document["hasChanges"] = bool(changes)
    path.write_text(json.dumps(document, indent=2))


def _change(document: dict[str, Any], kind: str, name: str) -> dict[str, Any]:
    [change] = [c for s in document["servers"] for c in s["changes"] if (c["kind"], c["name"]) == (kind, name)]
    return change


# --------------------------------------------------------------------------------------------------------------
# The spec changed since the plan was made
# --------------------------------------------------------------------------------------------------------------


def test_a_plan_whose_spec_changed_is_refused_naming_the_file_and_the_changed_key(
    emulator: EmulatorHandle, clients: Clients, saved: Path, env_file: Path, names: dict[str, str]
) -> None:
    write(env_file, _document(names, office="198.51.100.0/24"))  # the firewall rule, under `servers`
    line = _refused(emulator, saved, requests=False)
    assert f"{env_file} has changed since the plan was made" in line
    assert "(top-level keys changed: servers); make a new plan" in line
    assert _tls_minimum(clients, names) == "TLSv1.2"  # the old plan's change was not written


def test_the_changed_keys_are_named_whichever_they_are(
    emulator: EmulatorHandle, saved: Path, env_file: Path, names: dict[str, str]
) -> None:
    write(env_file, _document(names, office="198.51.100.0/24", tags={"team": "db"}))
    assert "(top-level keys changed: defaults, servers)" in _refused(emulator, saved, requests=False)
    env_file.write_text(env_file.read_text().replace("servers:", "x-note: moved\nservers:", 1))
    assert "(top-level keys changed: defaults, x-note, servers)" in _refused(emulator, saved, requests=False)


def test_a_spec_edited_only_in_comments_is_still_another_file(
    emulator: EmulatorHandle, saved: Path, env_file: Path
) -> None:
    env_file.write_text("# reviewed\n" + env_file.read_text())
    line = _refused(emulator, saved, requests=False)
    assert "no top-level key changed: comments or formatting only" in line


def test_a_plan_applied_with_another_spec_is_refused(
    emulator: EmulatorHandle, saved: Path, tmp_path: Path, names: dict[str, str]
) -> None:
    other = write(tmp_path / "other.yaml", _document(names, office="198.51.100.0/24"))
    result = _cli("apply", str(saved), "--spec", str(other), "--auto-approve", "--no-verify")
    assert result.exit_code == 1, _describe(result)
    (line,) = result.stderr.splitlines()
    assert f"{other} is not the spec the plan was made from" in line and "servers" in line
    assert emulator.request_count("arm") == 0


# --------------------------------------------------------------------------------------------------------------
# The plan was edited by hand
# --------------------------------------------------------------------------------------------------------------


def _widen_the_firewall(document: dict[str, Any]) -> None:
    rule = _change(document, "firewallRule", "office")
    rule.update(action="update", after={"start": "0.0.0.0", "end": "255.255.255.255"}, reason="range differs")  # noqa: S104


def _transport_off(document: dict[str, Any]) -> None:
    document["servers"][0]["changes"].append(
        {
            "kind": "parameter",
            "name": "require_secure_transport",
            "action": "update",
            "before": "on",
            "after": "off",
            "reason": "value differs",
            "requiresRestart": False,
        }
    )


def _a_server_not_in_the_spec(document: dict[str, Any]) -> None:
    create = dict(document["servers"][0]["changes"][0], name="pg-intruder", action="create", before=None)
    document["servers"].append({"name": "pg-intruder", "changes": [create], "exceptions": []})


def _no_changes_at_all(document: dict[str, Any]) -> None:
    _change(document, "parameter", "ssl_min_protocol_version")["action"] = "no-op"


def _another_value(document: dict[str, Any]) -> None:
    _change(document, "parameter", "ssl_min_protocol_version")["after"] = "TLSv1.2"


EDITS = {
    "widened-firewall-rule": (_widen_the_firewall, "servers[0].changes[", "(firewallRule office)"),
    "require-secure-transport-off": (_transport_off, "servers[0].changes[", "(parameter require_secure_transport)"),
    "server-not-in-the-spec": (_a_server_not_in_the_spec, "servers[1] (server pg-intruder) is not in the plan", ""),
    "changes-removed": (_no_changes_at_all, ".action", "(parameter ssl_min_protocol_version)"),
    "value-changed": (_another_value, ".after", "(parameter ssl_min_protocol_version)"),
}


@pytest.mark.parametrize("case", EDITS.values(), ids=EDITS.keys())
def test_a_hand_edited_plan_is_refused_whatever_was_edited(
    emulator: EmulatorHandle, clients: Clients, saved: Path, names: dict[str, str], case: tuple[Any, str, str]
) -> None:
    edit, where, what = case
    _edit(saved, edit)
    line = _refused(emulator, saved)
    assert "is not the plan pgflex makes now from" in line and "it was changed after it was saved" in line
    assert where in line and what in line
    assert _tls_minimum(clients, names) == "TLSv1.2"
    rules = clients.postgres.firewall_rules.list_by_server(names["group"], names["server"])
    assert [(r.start_ip_address, r.end_ip_address) for r in rules] == [("203.0.113.0", "203.0.113.255")]


MALFORMED = {
    "unknown-action": (
        lambda d: _change(d, "firewallRule", "office").update(action="explode"),
        "action: unknown action 'explode'",
    ),
    "rule-without-its-end": (
        lambda d: _change(d, "firewallRule", "office").update(action="update", after={"start": "0.0.0.0"}),  # noqa: S104
        ".after.end: missing",
    ),
    "a-key-pgflex-does-not-write": (
        lambda d: _change(d, "firewallRule", "office").update(force=True),
        ".force: not a key of a pgflex plan",
    ),
}


@pytest.mark.parametrize("case", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_change_is_refused_before_any_request(
    emulator: EmulatorHandle, saved: Path, case: tuple[Any, str]
) -> None:
    edit, expected = case
    _edit(saved, edit)
    line = _refused(emulator, saved, requests=False)
    assert line.startswith(f"pgflex: {saved}: not a pgflex plan: servers[0].changes[") and expected in line


def test_a_plan_whose_summary_was_edited_is_refused(emulator: EmulatorHandle, saved: Path) -> None:
    document = json.loads(saved.read_text())
    document["hasChanges"] = False
    saved.write_text(json.dumps(document))
    line = _refused(emulator, saved, requests=False)
    assert line == f"pgflex: {saved}: not a pgflex plan: hasChanges: False does not match the plan's changes"


# --------------------------------------------------------------------------------------------------------------
# Another pgflex version
# --------------------------------------------------------------------------------------------------------------


def test_a_plan_made_by_another_pgflex_version_is_refused(emulator: EmulatorHandle, saved: Path) -> None:
    document = json.loads(saved.read_text())
    document["pgflexVersion"] = "0.0.1"
    saved.write_text(json.dumps(document))
    line = _refused(emulator, saved, requests=False)
    assert line.startswith(f"pgflex: {saved} was made by pgflex 0.0.1; this is pgflex ")
    assert line.endswith("make a new plan with `pgflex plan --out`")


def test_a_plan_of_another_format_is_refused_naming_both_versions(emulator: EmulatorHandle, saved: Path) -> None:
    document = json.loads(saved.read_text())
    document.update(formatVersion=1, pgflexVersion="0.0.1")
    saved.write_text(json.dumps(document))
    line = _refused(emulator, saved, requests=False)
    assert line.startswith(f"pgflex: {saved}: made by pgflex 0.0.1 in plan format 1; this is pgflex ")


# --------------------------------------------------------------------------------------------------------------
# An unedited plan still applies
# --------------------------------------------------------------------------------------------------------------


def test_an_unedited_saved_plan_applies(
    emulator: EmulatorHandle, clients: Clients, saved: Path, names: dict[str, str]
) -> None:
    # A control-plane server has no PostgreSQL to ask who the TLS change cuts off: accepted, as an operator would.
    result = _cli("apply", str(saved), "--auto-approve", "--no-verify", "--accept-impact")
    assert result.exit_code == 0, _describe(result)
    assert "ssl_min_protocol_version UPDATE TLSv1.2 → TLSv1.3" in result.stdout
    assert "the environment matches the spec" in result.stdout
    assert _tls_minimum(clients, names) == "TLSv1.3"
    assert emulator.request_count("arm.deletes") == 0


def test_an_unedited_saved_plan_applies_through_the_library(
    emulator: EmulatorHandle, clients: Clients, saved: Path, env_file: Path, names: dict[str, str]
) -> None:
    plan = Plan.from_dict(json.loads(saved.read_text()))
    report = library.apply(env_file, saved_plan=plan, verify=False, retry=FAST_RETRY, accept_impact=True)
    assert (report.outcome, report.exit_code) == ("applied", 0)
    assert _tls_minimum(clients, names) == "TLSv1.3"


# --------------------------------------------------------------------------------------------------------------
# The library refuses the same
# --------------------------------------------------------------------------------------------------------------


def test_the_library_refuses_an_edited_plan_without_a_write(
    emulator: EmulatorHandle, clients: Clients, saved: Path, env_file: Path, names: dict[str, str]
) -> None:
    _edit(saved, _widen_the_firewall)
    edited = Plan.from_dict(json.loads(saved.read_text()))
    with pytest.raises(EditedPlanError, match=r"^the saved plan is not the plan pgflex makes now") as refused:
        library.apply(env_file, saved_plan=edited, verify=False, retry=FAST_RETRY)
    assert isinstance(refused.value, PgflexError) and "\n" not in str(refused.value)
    # check_stale=False does not make a plan read from a file trusted.
    with pytest.raises(EditedPlanError):
        engine.apply(env_file, saved_plan=edited, check_stale=False, retry=FAST_RETRY)
    assert emulator.request_count("arm.writes") == 0 and emulator.request_count("arm.deletes") == 0
    assert _tls_minimum(clients, names) == "TLSv1.2"


def test_the_library_refuses_an_edited_plan_claiming_no_changes(
    emulator: EmulatorHandle, saved: Path, env_file: Path
) -> None:
    _edit(saved, _no_changes_at_all)
    edited = Plan.from_dict(json.loads(saved.read_text()))
    assert not edited.has_changes
    with pytest.raises(EditedPlanError):
        library.apply(env_file, saved_plan=edited, verify=False, retry=FAST_RETRY)
    assert emulator.request_count("arm.writes") == 0


def test_the_library_refuses_a_plan_object_once_its_spec_changed(
    emulator: EmulatorHandle, clients: Clients, saved: Path, env_file: Path, names: dict[str, str]
) -> None:
    made = engine.plan(env_file)  # in memory, never saved: bound to the spec all the same
    write(env_file, _document(names, office="198.51.100.0/24"))
    with pytest.raises(StalePlanError, match=r"env\.yaml has changed since the plan was made \(top-level keys"):
        library.apply(env_file, saved_plan=made, verify=False, retry=FAST_RETRY)
    with pytest.raises(StalePlanError):
        engine.apply(env_file, saved_plan=made, retry=FAST_RETRY)
    assert emulator.request_count("arm.writes") == 0
    assert _tls_minimum(clients, names) == "TLSv1.2"


def test_the_library_refuses_a_plan_of_another_version_before_any_request(
    emulator: EmulatorHandle, saved: Path, env_file: Path
) -> None:
    document = json.loads(saved.read_text())
    document["pgflexVersion"] = "9.9.9"
    other = Plan.from_dict(document)
    with pytest.raises(PlanVersionError, match=r"^the saved plan was made by pgflex 9\.9\.9; this is pgflex "):
        engine.apply(env_file, saved_plan=other, retry=FAST_RETRY)
    assert issubclass(PlanVersionError, SavedPlanError) and issubclass(SavedPlanError, PgflexError)
    assert emulator.request_count("arm") == 0


def test_a_saved_plan_records_what_binds_it(saved: Path, env_file: Path) -> None:
    document = json.loads(saved.read_text())
    env = load_spec(env_file)
    assert document["specDigest"] == env.source_digest and document["specDigest"].startswith("sha256:")
    assert set(document["specKeys"]) == {"apiVersion", "environment", "defaults", "servers"}
    assert document["verify"] is True and document["pgflexVersion"]
