"""`pgflex emulator reset` removes everything an emulator made, and asks first."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from pgflex.cli.main import app
from pgflex.emulator.client import find
from support.emulator import make_handle


def test_reset_stops_the_emulator_and_removes_its_state(tmp_path: Path) -> None:
    state = tmp_path / "state"
    handle = make_handle(state, data_plane=False)
    handle.start()
    assert find(state) is not None
    refused = CliRunner().invoke(app, ["emulator", "reset", "--state-dir", str(state)])
    assert refused.exit_code == 1 and "--yes" in refused.stderr  # no terminal here: never without --yes
    assert find(state) is not None and (state / "state.db").exists()
    done = CliRunner().invoke(app, ["emulator", "reset", "--state-dir", str(state), "--yes"])
    assert done.exit_code == 0, done.output
    assert find(state) is None
    assert not state.exists()
