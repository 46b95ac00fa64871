"""What ``tideway test`` prints and writes (cli/workspace_tests/report.py, junit.py): the summary with
✓/✗ and durations, colours only when asked, ``--json``, JUnit XML a CI system parses (escaped, no
control characters), the exit codes."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

from cli.workspace_tests.command import selects
from cli.workspace_tests.junit import write_junit
from cli.workspace_tests.report import CaseResult, exit_code, write_json, write_text

RESULTS = [
    CaseResult("tests/cart.yml", "adds an item", "webhook", "passed", 0.0123),
    CaseResult("tests/cart.yml", 'prices <"quoted"> & more', "automation", "failed", 0.002,
               ["expect.output.items[2].price: expected 3, got 4", "a control character: \x1b[31m\x00"]),
    CaseResult("tests/events.yml", "later", "event", "skipped", failures=["skipped: not ready"]),
]


class Terminal(io.StringIO):
    encoding = "utf-8"


def test_text_summary_one_line_per_case() -> None:
    out = Terminal()
    write_text(RESULTS, 0.5, out, color=False, mode="offline")
    assert out.getvalue() == (
        "tests/cart.yml\n"
        "  ✓ adds an item (12 ms)\n"
        '  ✗ prices <"quoted"> & more (2 ms)\n'
        "      expect.output.items[2].price: expected 3, got 4\n"
        "      a control character: \x1b[31m\x00\n"
        "tests/events.yml\n"
        "  ○ later (skipped)\n"
        "      skipped: not ready\n"
        "3 cases (offline): 1 passed, 1 failed, 1 skipped in 0.50 s\n")
    assert "\x1b[32m" not in out.getvalue()
    coloured = Terminal()
    write_text(RESULTS, 0.5, coloured, color=True, mode="offline")
    assert "\x1b[32m✓\x1b[0m adds an item" in coloured.getvalue() and "\x1b[31m✗" in coloured.getvalue()


def test_ascii_marks_where_the_output_cannot_show_them() -> None:
    class Ascii(io.StringIO):
        encoding = "ascii"

    out = Ascii()
    write_text(RESULTS[:2], 0.1, out, color=False, mode="offline")
    assert "  ok adds an item" in out.getvalue() and "  FAIL prices" in out.getvalue()


def test_json_report() -> None:
    out = io.StringIO()
    write_json(RESULTS, 0.5, out, mode="offline")
    report = json.loads(out.getvalue())
    assert report["ok"] is False and report["counts"] == {"passed": 1, "failed": 1, "skipped": 1, "refused": 0}
    assert report["cases"][1] == {"file": "tests/cart.yml", "name": 'prices <"quoted"> & more', "trigger": "automation",
                                  "status": "failed", "durationMs": 2.0, "failures": RESULTS[1].failures}


def test_junit_xml_parses_and_escapes(tmp_path: Path) -> None:
    path = tmp_path / "reports" / "junit.xml"
    write_junit(RESULTS, 0.5, path, name="tideway test shop")
    root = ET.parse(path).getroot()  # the control characters were replaced: the file parses
    assert root.tag == "testsuites" and root.attrib["tests"] == "3" and root.attrib["failures"] == "1"
    suites = root.findall("testsuite")
    assert [s.attrib["name"] for s in suites] == ["tests/cart.yml", "tests/events.yml"]
    cases = suites[0].findall("testcase")
    assert cases[0].attrib == {"name": "adds an item", "classname": "tests/cart.yml", "time": "0.012"}
    failure = cases[1].find("failure")
    assert cases[1].attrib["name"] == 'prices <"quoted"> & more' and failure is not None
    assert failure.attrib["message"] == "expect.output.items[2].price: expected 3, got 4"
    assert failure.text == "expect.output.items[2].price: expected 3, got 4\na control character: \ufffd[31m\ufffd"
    skipped = suites[1].find("testcase/skipped")
    assert skipped is not None and skipped.attrib["message"] == "skipped: not ready"
    assert b"&lt;&quot;quoted&quot;&gt; &amp; more" in path.read_bytes()


def test_exit_codes() -> None:
    assert exit_code([RESULTS[0], RESULTS[2]]) == 0
    assert exit_code(RESULTS) == 1
    refused = CaseResult("t.yml", "mocked", "automation", "refused", failures=["uses mocks"])
    assert exit_code([RESULTS[0], refused]) == 2
    assert exit_code([RESULTS[1], refused]) == 1


def test_k_selects_by_file_and_name() -> None:
    assert selects("cart", "tests/cart.yml", "adds an item")
    assert selects("ADDS AN", "tests/cart.yml", "adds an item")
    assert selects("cart.yml::adds*item", "tests/cart.yml", "adds an item")
    assert not selects("not adds", "tests/cart.yml", "adds an item")
    assert selects("not removes", "tests/cart.yml", "adds an item")
    assert not selects("events", "tests/cart.yml", "adds an item")
