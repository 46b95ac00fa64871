"""``python -m cli.workspace_tests DIR`` end to end, as CI runs it: the example workspaces' tests
pass (exit 0); a folder with a deliberately failing case exits 1 and prints the diff naming the
field; ``--junit`` and ``--json`` are written."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p for p in (ROOT / "examples").iterdir() if p.is_dir())


def tideway_test(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TIDEWAY_TOKEN")}
    return subprocess.run([sys.executable, "-m", "cli.workspace_tests", *argv], cwd=ROOT, capture_output=True,
                          text=True, encoding="utf-8", env={**env, "PYTHONIOENCODING": "utf-8"}, timeout=300,
                          check=False)


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_every_example_ships_tests_that_pass(example: Path, tmp_path: Path) -> None:
    assert list((example / "tests").glob("*.yml")), f"{example.name} has no tests/ folder"
    done = tideway_test(str(example.relative_to(ROOT)), "--junit", str(tmp_path / "junit.xml"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "✓" in done.stdout and "✗" not in done.stdout and "\x1b[" not in done.stdout  # no colours in a pipe
    assert " 0 failed" not in done.stdout and "passed in" in done.stdout
    suites = ET.parse(tmp_path / "junit.xml").getroot()
    assert suites.attrib["failures"] == "0" and int(suites.attrib["tests"]) >= 4


FAILING = """\
cases:
  - name: greets Ada
    webhook: {endpoint: hello, body: {name: Ada}}
    expect:
      outputMatches: {message: "Hello, Ada!"}
  - name: deliberately failing
    webhook: {endpoint: hello, body: {name: Bob}}
    expect:
      outputMatches: {message: "Hello, Ada!"}
      events:
        - {type: hello.greeted, payload: {who: Ada}}
"""


def test_a_failing_case_exits_1_with_the_diff(tmp_path: Path) -> None:
    folder = tmp_path / "hello"
    shutil.copytree(ROOT / "examples" / "hello", folder, ignore=shutil.ignore_patterns("tests"))
    (folder / "tests").mkdir()
    (folder / "tests" / "greetings.yml").write_text(FAILING)
    done = tideway_test(str(folder))
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "tests/greetings.yml"
    assert lines[1].startswith("  ✓ greets Ada (") and lines[2].startswith("  ✗ deliberately failing (")
    assert lines[3] == '      expect.outputMatches.message: expected "Hello, Ada!", got "Hello, Bob!"'
    assert lines[4].startswith('      expect.events[0]: no event matched {"type": "hello.greeted", "payload": '
                               '{"who": "Ada"}}; closest, event #')
    assert lines[4].endswith('expect.events[0].payload.who: expected "Ada", got "Bob"')
    assert lines[-1].startswith("2 cases (offline): 1 passed, 1 failed in ")
    done = tideway_test(str(folder), "--json", "-k", "deliberately")
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert [c["name"] for c in report["cases"]] == ["deliberately failing"]
    assert report["cases"][0]["failures"][0] == 'expect.outputMatches.message: expected "Hello, Ada!", got "Hello, Bob!"'
    assert tideway_test(str(folder), "-k", "greets").returncode == 0
