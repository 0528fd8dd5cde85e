"""Apply in waves (``--canary``, ``--wave-size``) against the emulator's real PostgreSQL servers.

Five servers get a TLS change (minimum TLSv1.2 -> TLSv1.3). The third one's firewall rule, in the spec itself, does
not admit this client: apply converges it, but verify finds it "blocked", a failure apply cannot repair. With a
canary of 1 and waves of 2 the rollout applies server 1, verifies it, applies servers 2 and 3, fails to verify 3 and
stops: servers 4 and 5 must not see one request, which the emulator's own record proves.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from live.conftest import sdk
from pgflex import api
from pgflex.cli.main import app
from pgflex.engine.api import apply as engine_apply
from pgflex.engine.rollout import Rollout, RolloutError
from support.emulator import EmulatorHandle, unique
from support.outputs import assert_documented
from support.specs import environment, public_server, write

from .conftest import FAST_RETRY, LOCAL

pytestmark = pytest.mark.dataplane


def _spec(path: Path, group: str, names: list[str], minimum: str) -> Path:
    servers = [
        public_server(name, {"office": "203.0.113.0/24"} if index == 2 else LOCAL, tls={"minVersion": minimum})
        for index, name in enumerate(names)
    ]
    return write(path, environment(group, servers, version="15"))


def _writes(lines: list[str]) -> list[tuple[str, str]]:
    """(method, path) of every write the emulator acknowledged or refused: anything but a read."""
    entries = [json.loads(line) for line in lines]
    return [(entry["method"], entry["path"]) for entry in entries if entry["method"] not in ("GET", "HEAD")]


def _minimum(live: EmulatorHandle, group: str, server: str) -> str:
    with sdk(live) as clients:
        return str(clients.postgres.configurations.get(group, server, "ssl_min_protocol_version").value)


def test_a_failed_wave_stops_the_rollout_and_later_waves_see_no_request(live: EmulatorHandle, tmp_path: Path) -> None:
    group = unique("rg-waves")
    # Named so that the spec's order is not the alphabetical one: waves follow the spec.
    names = [unique(prefix) for prefix in ("w5", "w4", "w3", "w2", "w1")]
    first = engine_apply(_spec(tmp_path / "before.yaml", group, names, "TLSv1.2"), retry=FAST_RETRY)
    assert first.converged, first.failures
    raised = _spec(tmp_path / "env.yaml", group, names, "TLSv1.3")

    live.new_record_lines()  # count from here
    runner = CliRunner()
    ran = runner.invoke(
        app,
        ["apply", str(raised), "--canary", "1", "--wave-size", "2", "--accept-impact", "--auto-approve", "-o", "json"],
    )
    lines = live.new_record_lines()

    assert ran.exit_code == 1, ran.stderr  # not everything applied: 1, not 3 (README's exit-code table)
    assert ran.stdout, ran.stderr + repr(ran.exception)
    document: dict[str, Any] = json.loads(ran.stdout)
    assert_documented("apply", document)
    assert document["outcome"] == "stopped" and document["exitCode"] == 1
    assert [wave["servers"] for wave in document["waves"]] == [names[:1], names[1:3], names[3:]]
    verdicts = [(wave["applied"], wave["verification"]) for wave in document["waves"]]
    assert verdicts == [(True, "pass"), (True, "fail"), (False, "notRun")]
    assert document["changed"] == names[:3]
    assert document["untouched"] == names[3:]
    assert document["remaining"] is None  # the untouched servers are expected to differ: not "still differs"
    assert any("left untouched" in failure and names[3] in failure for failure in document["failures"])
    verified = {server["server"]: server["status"] for server in document["verify"]["servers"]}
    assert verified == {names[0]: "pass", names[1]: "pass", names[2]: "blocked"}  # waves 1 and 2

    # At the emulator: servers 4 and 5 got no write at all; their minimum is still the old one.
    writes = _writes(lines)
    assert writes, "the rollout wrote nothing"
    for name in names[3:]:
        assert not [write for write in writes if f"/flexibleServers/{name}".lower() in write[1].lower()], name
        assert _minimum(live, group, name) == "TLSv1.2"
    for name in names[:3]:
        assert _minimum(live, group, name) == "TLSv1.3"
    # One lease for the whole rollout: taken by the first write, released by the last (both on the group).
    group_path = f"/resourceGroups/{group}".lower()
    assert writes[0][1].lower().endswith(group_path) and writes[-1][1].lower().endswith(group_path)
    assert sum(1 for _, path in writes if path.lower().endswith(group_path)) == 2  # no second lease midway

    # Progress names the waves, in order.
    stderr = ran.stderr
    assert f"wave 1/3: {names[0]}" in stderr
    assert f"wave 2/3: {names[1]}, {names[2]}" in stderr
    assert stderr.index(f"wave 2/3: {names[1]}, {names[2]}: started") < stderr.index("verification failed")
    assert f"wave 3/3: {names[3]}, {names[4]}: started" not in stderr

    # The library, rerun: only servers 4 and 5 still differ, so they are the canary and the one wave after it;
    # once the rollout has run to its end the servers it did not change are verified too, and server 3 fails:
    # everything applied, verification failed, exit 3.
    report = api.apply(raised, canary=1, wave_size=2, accept_impact=True, retry=FAST_RETRY)
    assert report.result is not None and report.result.waves is not None
    assert [list(wave.servers) for wave in report.result.waves] == [names[3:4], names[4:]]
    assert [wave.verification for wave in report.result.waves] == ["pass", "pass"]
    assert (report.outcome, report.untouched, report.exit_code) == ("applied", [], api.ExitCode.VERIFY_FAILED)
    assert report.verify is not None and {server.server for server in report.verify.servers} == set(names)
    assert all(_minimum(live, group, name) == "TLSv1.3" for name in names)


def test_waves_follow_the_spec_order_with_the_canary_first() -> None:
    names = ["e", "d", "c", "b", "a"]
    everyone = Rollout(lambda servers: True, canary=1, wave_size=2)
    assert everyone.waves(names) == [("e",), ("d", "c"), ("b", "a")]
    assert Rollout(lambda servers: True, canary=2).waves(names) == [("e", "d"), ("c", "b", "a")]
    assert Rollout(lambda servers: True, wave_size=2).waves(names) == [("e", "d"), ("c", "b"), ("a",)]
    assert Rollout(lambda servers: True, canary=9, wave_size=2).waves(names) == [tuple(names)]
    assert Rollout(lambda servers: True, canary=1, wave_size=2).waves([]) == []
    for canary, wave_size in ((0, 2), (1, 0), (-1, None), (None, -3)):
        with pytest.raises(RolloutError, match="must be at least 1"):
            Rollout(lambda servers: True, canary=canary, wave_size=wave_size)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--canary", "0"], "--canary must be at least 1 server (got 0)"),
        (["--wave-size", "0"], "--wave-size must be at least 1 server (got 0)"),
        (["--canary", "1", "--wave-size", "-2"], "--wave-size must be at least 1 server (got -2)"),
        (["--canary", "1", "--no-verify"], "need verification on"),
    ],
)
def test_bad_rollout_options_are_one_line_and_exit_1(tmp_path: Path, arguments: list[str], message: str) -> None:
    spec = write(tmp_path / "env.yaml", environment(unique("rg"), [public_server(unique("pg"), LOCAL)]))
    ran = CliRunner().invoke(app, ["apply", str(spec), "--auto-approve", *arguments])
    assert ran.exit_code == 1, ran.output
    assert message in ran.stderr and len(ran.stderr.strip().splitlines()) == 1, ran.stderr
    with pytest.raises(api.PgflexError, match="at least 1"):
        api.apply(spec, canary=0)


def test_the_live_view_shows_each_servers_wave_and_the_rollout_first() -> None:
    from rich.console import Console

    from pgflex.engine.apply import Event, Phase
    from pgflex.render.progress import LiveView

    view = LiveView()
    view(Event("environment", "take lease", Phase.DONE))
    view(Event("srv-a", "set ssl_min_protocol_version", Phase.DONE))
    view(Event("rollout", "wave 2/3: srv-b, srv-c", Phase.STARTED))
    view(Event("srv-b", "set ssl_min_protocol_version", Phase.STARTED))
    console = Console(width=200, record=True)
    console.print(view.table())
    rows = [line for line in console.export_text().splitlines() if "│" in line and "scope" not in line]
    assert "rollout" in rows[0] and "wave 2/3: srv-b, srv-c" in rows[0]
    assert any("srv-b (wave 2/3)" in row for row in rows)
    assert any("srv-a " in row and "wave" not in row for row in rows)  # not in a wave this view has seen
