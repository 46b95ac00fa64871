"""``tideway test DIR --server URL`` against the real stack served on loopback: the same test files
run offline and on the live Tideway give the same verdicts (automation cases through ``/test``,
webhook cases through the webhook, event cases through ``POST …/events``); cases with mocks or
other offline-only inputs are refused with a clear message; a failing case shows its diff."""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from cli.workspace_tests import run_test_command
from cli.workspace_tests.workspace import read_source
from tests.browser import live_server
from tests.stack import ADMIN_TOKEN, Stack

ROOT = Path(__file__).resolve().parents[2]
LISTENER = {"name": "thank", "when": {"events": ["hello.greeted"]},
            "do": [{"emit": {"event": "hello.thanked", "payload": {"to": "{{payload.who}}"}}}]}
CASES: list[dict[str, Any]] = [
    {"name": "webhook", "webhook": {"endpoint": "hello", "body": {"name": "Ada"}},
     "expect": {"outputMatches": {"message": "Hello, Ada!"}, "http": {"status": 200},
                "events": [{"type": "hello.greeted", "payload": {"who": "Ada"}},
                           {"type": "hello.thanked", "payload": {"to": "Ada"}}],
                "reached": ["do[2]", "thank:do[0]"], "notReached": ["do[1].conditions*"]}},
    {"name": "automation through /test", "automation": "hello", "payload": {"body": {}},
     "expect": {"outputMatches": {"message": "Hello, stranger!"},
                "events": [{"type": "runtime.interactions.triggered", "payload": {"trigger": {"type": "test"}}},
                           {"type": "hello.greeted", "payload": {"who": "stranger"}}],
                "reached": ["do[1].conditions['{{who}} not exists'][0]"]}},
    {"name": "event", "event": {"type": "hello.greeted", "payload": {"who": "Grace"}},
     "expect": {"events": [{"type": "hello.greeted"}, {"type": "hello.thanked", "payload": {"to": "Grace"}}],
                "reached": ["thank:do[0]"], "eventsAbsent": [{"type": "error"}]}},
    {"name": "an unknown endpoint", "webhook": {"endpoint": "nobody"},
     "expect": {"http": {"status": 404}, "error": {"error": "ObjectNotFoundError"}}},
    {"name": "deliberately failing", "webhook": {"endpoint": "hello", "body": {"name": "Bob"}},
     "expect": {"outputMatches": {"message": "Hello, Ada!"}}},
    {"name": "mocked", "automation": "codeJourney", "mocks": {"automations": {"Custom Code.run": {"output": "x"}}},
     "expect": {"outputMatches": {"content": "x"}}},
]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """examples/hello with a listener of its event and the cases above, under a slug of its own."""
    path = tmp_path / "hello"
    shutil.copytree(ROOT / "examples" / "hello", path, ignore=shutil.ignore_patterns("tests"))
    index = yaml.safe_load((path / "index.yml").read_text())
    (path / "index.yml").write_text(yaml.safe_dump({**index, "slug": f"wt-{uuid.uuid4().hex[:10]}"}))
    (path / "automations" / "thank.yml").write_text(yaml.safe_dump(LISTENER))
    (path / "tests").mkdir()
    (path / "tests" / "server.yml").write_text(yaml.safe_dump({"cases": CASES}, sort_keys=False))
    return path


def run(folder: Path, server: str | None, junit: Path | None = None) -> int:
    return run_test_command(folder, server=server, token=ADMIN_TOKEN, junit=junit, json_output=True, select=None,
                            color=False)


async def test_the_same_files_run_offline_and_on_a_live_tideway(
        sqlite_stack: Stack, folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert await asyncio.to_thread(run, folder, None) == 1
    offline = {c["name"]: c for c in json.loads(capsys.readouterr().out)["cases"]}
    assert {name: c["status"] for name, c in offline.items()} == {
        "webhook": "passed", "automation through /test": "passed", "event": "passed", "an unknown endpoint": "passed",
        "deliberately failing": "failed", "mocked": "passed"}

    await sqlite_stack.import_workspace(read_source(folder, "hello").to_document())
    async with live_server(sqlite_stack) as url:
        # The runner is synchronous (its own event loop): in a thread, while the server runs in this one.
        code = await asyncio.to_thread(run, folder, url, tmp_path / "junit.xml")
        report = json.loads(capsys.readouterr().out)
        assert code == 1, report
        cases = {c["name"]: c for c in report["cases"]}
        assert {name: c["status"] for name, c in cases.items()} == {
            **{name: c["status"] for name, c in offline.items()}, "mocked": "refused"}, report
        assert cases["deliberately failing"]["failures"] == offline["deliberately failing"]["failures"] == [
            'expect.outputMatches.message: expected "Hello, Ada!", got "Hello, Bob!"']
        assert cases["mocked"]["failures"] == [
            "case 'mocked' uses mocks: run it offline (without --server), or leave it out with -k (a live "
            "Tideway's /test route takes none of these)"]
        assert report["mode"] == f"server {url}"
        assert (tmp_path / "junit.xml").read_text().count("<testcase") == 6

        # Server-friendly cases only: exit 0; with the mocked one: exit 2 (refused); a wrong token: exit 2.
        passing = await asyncio.to_thread(run_test_command, folder, server=url, token=ADMIN_TOKEN, junit=None,
                                          json_output=False, select="event", color=False)
        text = capsys.readouterr().out
        assert passing == 0 and "✓ event (" in text and "1 case (server " in text, text
        refused = await asyncio.to_thread(run_test_command, folder, server=url, token=ADMIN_TOKEN, junit=None,
                                          json_output=False, select="not deliberately", color=False)
        text = capsys.readouterr().out
        assert refused == 2 and "4 passed, 1 refused" in text and "✗" not in text, text
        wrong = await asyncio.to_thread(run_test_command, folder, server=url, token="nope", junit=None,
                                        json_output=False, select="webhook", color=False)
        err = capsys.readouterr().err
        assert wrong == 2 and err.startswith("error: workspace 'wt-") and "HTTP 401" in err, err
        assert len(err.splitlines()) == 1
