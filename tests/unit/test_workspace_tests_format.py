"""The test file format of ``tideway test`` (cli/workspace_tests/format.py, loading.py): a bad file is
an error naming its file, line, case and field, every problem of every file at once, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.workspace_tests import run_test_command
from cli.workspace_tests.format import Case
from cli.workspace_tests.loading import TestFilesError, load_test_files, parse_file

BROKEN = """\
cases:
  - name: one
    webhook: {endpoint: hello}
    expect:
      http: {status: "abc"}
      outptu: 3
  - name: two
    automation: hello
    webhook: {endpoint: hello}
  - name: one
    event: {type: order.placed}
    expect:
      output: 1
  - name: four
    automation: hello
    mocks:
      fetch:
        - url: https://x.example.com/*
          urlRegex: x
        - urlRegex: "("
"""


def folder(tmp_path: Path, **files: str) -> Path:
    (tmp_path / "automations").mkdir(parents=True, exist_ok=True)
    (tmp_path / "tests").mkdir(exist_ok=True)
    (tmp_path / "index.yml").write_text("name: Shop\nslug: shop\n")
    (tmp_path / "automations" / "hello.yml").write_text("name: hello\nwhen: {endpoint: true}\ndo: []\noutput: hi\n")
    for name, text in files.items():
        (tmp_path / "tests" / f"{name}.yml").write_text(text)
    return tmp_path


def messages(path: Path) -> list[str]:
    with pytest.raises(TestFilesError) as raised:
        load_test_files(path)
    return [str(problem) for problem in raised.value.problems]


def test_every_problem_names_file_line_case_and_field(tmp_path: Path) -> None:
    found = messages(folder(tmp_path, cart=BROKEN))
    assert found == [
        "tests/cart.yml:5: case 'one' (cases[0]): expect.http.status: Input should be a valid integer, unable to "
        "parse string as an integer",
        "tests/cart.yml:6: case 'one' (cases[0]): expect.outptu: Extra inputs are not permitted",
        "tests/cart.yml:7: case 'two' (cases[1]): a case has exactly one trigger: automation, webhook or event "
        "(given: automation, webhook)",
        "tests/cart.yml:10: case 'one' (cases[2]): name: another case of this file has this name (cases[0])",
        "tests/cart.yml:13: case 'one' (cases[2]): expect.output: an event case has no single output or HTTP "
        "answer: expect events, reached or error",
        "tests/cart.yml:18: case 'four' (cases[3]): mocks.fetch[0]: a fetch mock has one of url (with * "
        "wildcards) or urlRegex",
        "tests/cart.yml:20: case 'four' (cases[3]): mocks.fetch[1].urlRegex: not a regular expression: missing ), "
        "unterminated subpattern at position 0",
    ]


def test_problems_of_all_files_come_together(tmp_path: Path) -> None:
    found = messages(folder(tmp_path, a="cases:\n  - name: x\n     bad: indentation\n", b="cases: []\n",
                            c="- just a list\n", d="cases:\n  - name: ok\n    automation: hello\n"))
    assert found == [
        "tests/a.yml: invalid YAML at line 3, column 9: mapping values are not allowed in this context",
        "tests/b.yml:1: cases: List should have at least 1 item after validation, not 0",
        "tests/c.yml:1: a test file is a mapping with `cases:` (a list of cases)",
    ]


def test_yaml_reads_as_workspace_files_do(tmp_path: Path) -> None:
    """YAML 1.2 booleans (``on``/``yes`` stay text), timestamps as text, duplicate keys refused."""
    path = tmp_path / "t.yml"
    path.write_text("cases:\n  - name: x\n    automation: hello\n    payload: {on: yes, at: 2026-01-01T00:00:00Z, 1: a}\n")
    tests, problems = parse_file(path, "t.yml")
    assert problems == [] and tests is not None
    assert tests.cases[0].payload == {"on": "yes", "at": "2026-01-01T00:00:00Z", "1": "a"}
    path.write_text("cases:\n  - name: x\n    name: y\n    automation: hello\n")
    _, problems = parse_file(path, "t.yml")
    assert [p.message for p in problems] == [
        "invalid YAML at line 3, column 5: duplicate key 'name' (first at line 2)"]


def test_a_valid_file_is_typed_once(tmp_path: Path) -> None:
    path = tmp_path / "t.yml"
    path.write_text("""\
mocks:
  fetch: [{url: "https://api.example.com/*", body: {ok: true}}]
cases:
  - name: webhook
    webhook: {endpoint: hello, method: get, query: {page: 2}}
    allowNetwork: true
    expect:
      output: null
      http: {status: 200, headers: {content-type: application/json}}
      eventsInAnyOrder: true
  - name: event
    event: {type: order.placed, payload: {id: 1}}
    events: [{type: order.confirmed}]
    expect: {reached: ["confirm:do[0]"], error: {error: ForbiddenError}}
""")
    tests, problems = parse_file(path, "t.yml")
    assert problems == [] and tests is not None
    webhook, event = tests.cases
    assert isinstance(webhook, Case) and webhook.trigger_kind == "webhook" and event.trigger_kind == "event"
    assert webhook.webhook is not None and webhook.webhook.method == "GET"
    assert webhook.expect.wants_output and webhook.expect.output is None and webhook.allow_network
    assert tests.mocks.fetch[0].body == {"ok": True}
    assert event.offline_only(tests.mocks) == ["mocks", "events delivered to waits"]


def test_bad_files_exit_2_with_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = folder(tmp_path, cart=BROKEN)
    assert run_test_command(path, server=None, token=None, junit=None, json_output=False, select=None,
                            color=False) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "error: tests/cart.yml:5: case 'one' (cases[0]): expect.http.status:" in captured.err
    assert "7 problems in the test files: no case was run" in captured.err
    assert run_test_command(path, server=None, token=None, junit=None, json_output=True, select=None,
                            color=False) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and len(report["problems"]) == 7
    assert report["problems"][0] == {"file": "tests/cart.yml", "line": 5, "case": "'one' (cases[0])",
                                     "field": "expect.http.status",
                                     "message": "Input should be a valid integer, unable to parse string as an integer"}


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    options = dict(server=None, token=None, junit=None, json_output=False, color=False)
    assert run_test_command(tmp_path / "nowhere", select=None, **options) == 2  # type: ignore[arg-type]
    path = folder(tmp_path)
    assert run_test_command(path, select=None, **options) == 2  # type: ignore[arg-type]
    assert "no test files in" in capsys.readouterr().err
    (path / "tests" / "t.yml").write_text("cases:\n  - {name: x, automation: hello}\n")
    assert run_test_command(path, select="nothing like it", **options) == 2  # type: ignore[arg-type]
    assert "no case matches -k 'nothing like it'" in capsys.readouterr().err
