"""docs/compatibility.md names, on every line, the test that proves the behaviour: each named
test function must exist, and each line be working or a written-down difference."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "compatibility.md"
TEST_REF = re.compile(r"(tests/[\w/]+\.py)::(?:\w+::)?(\w+)")  # a method: path::Class::name
FOLLOW_ON = re.compile(r";\s*::(\w+)")  # `path::a; ::b` names b in the same file


def rows() -> list[list[str]]:
    return [[cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in DOC.read_text().splitlines() if re.match(r"\| [WAC]\d+ \|", line)]


def test_every_named_test_exists() -> None:
    missing = []
    for path, name, text in _references():
        source = (ROOT / path).read_text() if (ROOT / path).exists() else ""
        if not re.search(rf"^\s*(async )?def {name}\(", source, re.MULTILINE):
            missing.append(f"{path}::{name} ({text[:40]}…)")
    assert not missing, "docs/compatibility.md names tests that do not exist:\n" + "\n".join(missing)


def test_every_line_works_or_is_a_decided_difference() -> None:
    found = rows()
    assert len(found) > 90
    for cells in found:
        status = cells[-1]
        if cells[0].startswith("C") and status.startswith("out of scope: "):
            continue  # a client tool that calls the reference's own products, or nothing
        assert status == "works" or status.startswith("differs on purpose: docs/decisions.md"), cells[0]
        assert "tests/" in cells[-2] or "conf-" in cells[-2], f"{cells[0]} names no test"


def _references() -> list[tuple[str, str, str]]:
    out = []
    for cells in rows():
        text = cells[-2]
        for match in TEST_REF.finditer(text):
            out.append((match.group(1), match.group(2), cells[1]))
            rest = text[match.end():]
            for follow in FOLLOW_ON.finditer(rest.split("tests/")[0]):
                out.append((match.group(1), follow.group(1), cells[1]))
    return out
