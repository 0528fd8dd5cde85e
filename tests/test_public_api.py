"""The library's public surface is one module, ``pgflex.api``, and its exit codes are the README's table."""

from __future__ import annotations

import re
import types
from pathlib import Path

from pgflex import api
from pgflex.exit_codes import ExitCode

README = Path(__file__).resolve().parents[1] / "README.md"


def test_all_lists_every_public_name_and_only_names_that_exist() -> None:
    public = {
        name
        for name, value in vars(api).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name not in ("annotations", "TYPE_CHECKING")
    }
    assert set(api.__all__) == public
    assert all(hasattr(api, name) for name in api.__all__)


def test_the_readme_exit_code_table_is_the_one_the_code_uses() -> None:
    rows = re.findall(r"^\| `(\d)` \| (\w+) \|", README.read_text(), flags=re.MULTILINE)
    assert {int(code): name for code, name in rows} == {code.value: code.name for code in ExitCode}
