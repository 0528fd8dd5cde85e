"""Hostile files cost one clear issue at their file, line and column, in well under a second.

Before these limits, an alias bomb ran for minutes into a MemoryError, a 5000-digit integer and 20,000
nested `[` ended in tracebacks, and a 50 MB file was read whole. See pgflex.spec.limits.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pgflex.spec import SpecError, load_spec, parse_spec
from pgflex.spec.limits import MAX_FILE_BYTES
from support import hostile

CASES = hostile.every()


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_file_is_refused_fast_at_its_position(case: hostile.Hostile, tmp_path: Path) -> None:
    path = tmp_path / f"{case.name}.yaml"
    path.write_text(case.text, encoding="utf-8")

    # CPU time, not wall time: the bound is about the work pgflex does, which a loaded test machine
    # (other workers, other suites) must not make look slower.
    started = time.process_time()
    with pytest.raises(SpecError) as caught:
        load_spec(path, env={})
    elapsed = time.process_time() - started

    assert elapsed < 1.0, f"{case.name} took {elapsed:.2f}s of CPU"
    (issue,) = caught.value.issues
    assert (issue.file, issue.line, issue.column) == (str(path), case.line, case.column), str(issue)
    assert case.fragment in issue.message, str(issue)
    assert len(str(caught.value)) < 300  # one line, not the file


def test_an_endless_file_is_read_no_further_than_the_limit() -> None:
    # A character device reports size 0 and never ends: only reading at most limit + 1 bytes stops.
    started = time.process_time()
    with pytest.raises(SpecError) as caught:
        load_spec("/dev/zero", env={})
    assert time.process_time() - started < 1.0
    (issue,) = caught.value.issues
    assert (issue.line, issue.column) == (1, 1)
    assert f"more than {MAX_FILE_BYTES:,} bytes" in issue.message


def test_a_large_file_is_refused_by_its_size_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "sparse.yaml"
    with path.open("wb") as sparse:
        sparse.truncate(50 * 1024 * 1024)  # 50 MB on record, nothing on disk
    with pytest.raises(SpecError) as caught:
        load_spec(path, env={})
    assert "the file is 52,428,800 bytes" in str(caught.value)


def test_text_given_directly_is_bounded_too() -> None:
    with pytest.raises(SpecError, match="at most 1 MiB"):
        parse_spec(hostile.oversized().text, "big.yaml", {})


def test_a_file_just_under_every_limit_loads(infra: Path) -> None:
    """The positive control: the limits leave room for any real file."""
    shared = "x-shared: &shared {" + ", ".join(f"k{index}: v" for index in range(100)) + "}\n"
    text = shared + (infra / "local.yaml").read_text(encoding="utf-8")
    text += "x-copies: [" + ", ".join(["*shared"] * 40) + "]\n"  # 8,040 nodes through aliases
    text += "x-deep: " + "[" * 63 + "]" * 63 + "\n"  # 64 levels, with the root mapping: the most allowed
    text += "x-big: " + "9" * 32 + "\n"
    padding = "# " + "p" * 77 + "\n"
    text += padding * ((MAX_FILE_BYTES - len(text.encode())) // len(padding))
    assert MAX_FILE_BYTES - len(padding) < len(text.encode()) <= MAX_FILE_BYTES

    environment = parse_spec(text, "full.yaml", {})
    assert [server.name for server in environment.servers] == ["pgflex-local-public", "pgflex-local-private"]


def test_an_unreadable_encoding_names_the_byte_and_its_position(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"apiVersion: pgflex/v1\nenvironment:\n  name: caf\xe9\n")
    with pytest.raises(SpecError) as caught:
        load_spec(path, env={})
    (issue,) = caught.value.issues
    assert (issue.line, issue.column) == (3, 12)
    assert "byte 0xe9 is not UTF-8" in issue.message
