"""Each file in invalid/ has exactly one defect, announced by its first line:

    # expect: LINE:COLUMN key.path: message fragment

(`<root>` stands for an issue with no key path, such as a YAML syntax error.)
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pgflex.spec import SpecError, load_spec

INVALID = Path(__file__).resolve().parent / "invalid"
FIXTURES = sorted(INVALID.glob("*.yaml"))
EXPECT = re.compile(r"# expect: (?P<line>\d+):(?P<column>\d+) (?P<path>\S+): (?P<fragment>.+)")


def test_there_are_enough_fixtures() -> None:
    assert len(FIXTURES) >= 25


@pytest.mark.parametrize("path", FIXTURES, ids=[path.stem for path in FIXTURES])
def test_invalid_file_reports_exactly_its_defect(path: Path) -> None:
    expect = EXPECT.fullmatch(path.read_text(encoding="utf-8").splitlines()[0])
    assert expect, f"{path.name} must start with '# expect: LINE:COL key.path: fragment'"

    with pytest.raises(SpecError) as caught:
        load_spec(path, env={})

    issues = caught.value.issues
    assert len(issues) == 1, "\n".join(map(str, issues))
    (issue,) = issues
    assert issue.file == str(path)
    assert (issue.line, issue.column) == (int(expect["line"]), int(expect["column"])), str(issue)
    assert issue.key_path == ("" if expect["path"] == "<root>" else expect["path"]), str(issue)
    assert expect["fragment"] in issue.message, str(issue)
