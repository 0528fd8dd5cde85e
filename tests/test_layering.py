"""The emulator could ship on its own: nothing under pgflex.emulator imports the rest of pgflex."""

from __future__ import annotations

import ast
from pathlib import Path

EMULATOR = Path(__file__).resolve().parents[1] / "src" / "pgflex" / "emulator"


def outside_imports(source: str, relative: Path) -> list[str]:
    """Imports in ``source`` (a module at ``relative`` inside the emulator) that leave the emulator."""
    # A module at depth d (a/b.py has d=2) reaches outside the emulator with more than d dots.
    depth = len(relative.parts)
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 0 and module.startswith("pgflex") and not module.startswith("pgflex.emulator"):
                found.append(f"{relative}: from {module}")
            if node.level > depth:
                found.append(f"{relative}: from {'.' * node.level}{module}")
        elif isinstance(node, ast.Import):
            found += [
                f"{relative}: import {alias.name}"
                for alias in node.names
                if alias.name.startswith("pgflex") and not alias.name.startswith("pgflex.emulator")
            ]
    return found


def test_emulator_never_imports_the_rest_of_pgflex() -> None:
    files = sorted(EMULATOR.rglob("*.py"))
    assert len(files) > 20
    offending = [hit for path in files for hit in outside_imports(path.read_text(), path.relative_to(EMULATOR))]
    assert not offending, offending


def test_the_check_sees_imports_that_leave_the_emulator() -> None:
    relative = Path("models/servers.py")
    assert outside_imports("from ..errors import ArmError\nfrom .ids import now_iso\n", relative) == []
    assert outside_imports("from ...spec import load_spec\n", relative) == ["models/servers.py: from ...spec"]
    assert outside_imports("import pgflex.engine\n", relative) == ["models/servers.py: import pgflex.engine"]
    assert outside_imports("from pgflex.cli import main\n", Path("server.py")) == ["server.py: from pgflex.cli"]
