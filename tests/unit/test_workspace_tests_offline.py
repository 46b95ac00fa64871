"""The offline runner of ``tideway test`` (cli/workspace_tests/offline.py, effects.py, mocks.py): the
real interpreter over in-memory effects — mocks, Custom Code for real, waits, the fake clock,
listeners, contexts, permissions, app instances vendored in the folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from cli.workspace_tests import run_test_command
from cli.workspace_tests.command import run_offline
from cli.workspace_tests.loading import load_test_files
from cli.workspace_tests.offline import OfflineRunner
from cli.workspace_tests.report import CaseResult
from cli.workspace_tests.workspace import OfflineWorkspace
from tests.conformance.http_stub import HttpStub


def write(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(value, sort_keys=False))


def build(root: Path, automations: dict[str, Any], cases: list[dict[str, Any]], *, index: dict[str, Any] | None = None,
          imports: dict[str, Any] | None = None, apps: dict[str, dict[str, Any]] | None = None,
          mocks: dict[str, Any] | None = None) -> Path:
    """A workspace folder: index.yml, automations/, imports/, apps/<slug>/ and tests/t.yml."""
    write(root / "index.yml", index or {"name": "Shop", "slug": "shop"})
    for slug, automation in automations.items():
        write(root / "automations" / f"{slug}.yml", {"name": slug, **automation})
    for slug, instance in (imports or {}).items():
        write(root / "imports" / f"{slug}.yml", instance)
    for app, app_automations in (apps or {}).items():
        write(root / "apps" / app / "index.yml", {"name": app, "slug": app})
        for slug, automation in app_automations.items():
            write(root / "apps" / app / "automations" / f"{slug}.yml", {"name": slug, **automation})
    write(root / "tests" / "t.yml", {"cases": cases, **({"mocks": mocks} if mocks else {})})
    return root


async def results(root: Path) -> dict[str, CaseResult]:
    chosen = [(file, case) for file in load_test_files(root) for case in file.tests.cases]
    return {result.name: result for result in await run_offline(root, chosen)}


def failures(found: dict[str, CaseResult]) -> dict[str, list[str]]:
    return {name: result.failures for name, result in found.items() if result.status != "passed"}


HOOK = {"when": {"endpoint": True}}


async def test_fetch_mocks_by_method_and_url_pattern(tmp_path: Path) -> None:
    automations = {"prices": {**HOOK, "do": [
        {"fetch": {"url": "https://api.example.com/items/{{body.sku}}", "query": {"currency": "EUR"}, "output": "a"}},
        {"fetch": {"url": "https://api.example.com/items/{{body.sku}}", "output": "b"}},
        {"fetch": {"url": "https://search.example.com/q?text=x", "method": "POST", "body": {"q": "x"},
                   "outputMode": "detailed_response", "output": "c"}},
        {"try": {"do": [{"fetch": {"url": "https://down.example.com/"}}],
                 "catch": [{"set": {"name": "d", "value": "{{$error.error}}: {{$error.message}}"}}]}},
        {"fetch": {"url": "https://sse.example.com/", "output": "e"}},
    ], "output": {"a": "{{a}}", "b": "{{b}}", "c": "{{c.status}}", "d": "{{d}}", "items": "{{e.body}}"}}}
    mocks = {"fetch": [
        {"method": "GET", "url": "https://api.example.com/items/*", "body": {"n": 1}, "times": 1},
        {"url": "https://api.example.com/items/*", "body": {"n": 2}},
        {"method": "POST", "urlRegex": r"search\.example\.com/q\?text=", "status": 404, "body": "nope"},
        {"url": "https://down.example.com/*", "error": "connection refused"},
        {"url": "https://sse.example.com/", "sse": ["a", "b"]},
    ]}
    root = build(tmp_path, automations, [{"name": "mocked", "webhook": {"endpoint": "prices", "body": {"sku": "S1"}},
                                           "mocks": mocks, "expect": {
        "outputMatches": {"a": {"n": 1}, "b": {"n": 2}, "c": 404, "d": "FetchError: connection refused",
                          "items": [{"index": 0, "chunk": {"data": ["a"]}}, {"index": 1, "chunk": {"data": ["b"]}}]},
        "events": [{"type": "runtime.fetch.failed", "payload": {"response": {"status": 404}}}],
        "fetches": [{"method": "GET", "url": "https://api.example.com/items/S1?currency=EUR"},
                    {"url": "https://api.example.com/items/S1"},
                    {"method": "POST", "body": {"q": "x"}}]}}])
    assert failures(await results(root)) == {}


async def test_an_unmocked_fetch_fails_the_case_even_inside_try(tmp_path: Path) -> None:
    automations = {"mail": {"do": [{"try": {"do": [{"fetch": {"url": "https://mail.example.com/send", "method": "PUT",
                                                               "query": {"to": "ada"}}}], "catch": []}}],
                            "output": "sent"}}
    root = build(tmp_path, automations, [{"name": "unmocked", "automation": "mail", "expect": {"output": "sent"}}])
    assert failures(await results(root)) == {"unmocked": [
        "unmocked fetch: PUT https://mail.example.com/send?to=ada (add a mock under mocks.fetch, or set "
        "allowNetwork: true to send it for real)"]}


async def test_allow_network_sends_the_request_for_real(tmp_path: Path) -> None:
    async with HttpStub([{"request": {"method": "GET", "path": "/ping"},
                          "response": {"body": {"pong": True}, "headers": {"content-type": "application/json"}}}]) as stub:
        automations = {"ping": {"do": [{"fetch": {"url": f"{stub.url}/ping", "output": "answer"}}],
                                "output": "{{answer}}"}}
        root = build(tmp_path, automations, [{"name": "network", "automation": "ping", "allowNetwork": True,
                                               "expect": {"output": {"pong": True}}}])
        assert failures(await results(root)) == {}
        assert stub.requests[0]["path"] == "/ping"


async def test_automation_mocks_answer_or_fail_calls(tmp_path: Path) -> None:
    automations = {
        "order": {"do": [
            {"sendMail": {"to": "{{to}}", "output": "mail"}},
            {"try": {"do": [{"Toolbox.charge": {"amount": 3}}],
                     "catch": [{"set": {"name": "charge", "value": "{{$error}}"}}]}},
        ], "output": {"mail": "{{mail}}", "charge": "{{charge}}"}},
        "sendMail": {"do": [{"fetch": {"url": "https://mail.example.com/"}}]},
    }
    root = build(tmp_path, automations, [
        {"name": "mocked calls", "automation": "order", "payload": {"to": "ada"},
         "mocks": {"automations": {"sendMail": {"output": {"id": "{{not rendered}}"}},
                                   "Toolbox.charge": {"error": {"error": "PaymentError", "message": "declined",
                                                                "details": {"code": 51}}}}},
         "expect": {"output": {"mail": {"id": "{{not rendered}}"},
                               "charge": {"error": "PaymentError", "message": "declined", "details": {"code": 51}}},
                    "events": [{"type": "runtime.automations.executed", "payload": {"slug": "sendMail",
                                                                                   "payload": {"to": "ada"}}}],
                    "reached": ["sendMail:*", "Toolbox.charge:*"], "notReached": ["sendMail:do[0]"]}},
        {"name": "an app that is neither built in nor vendored", "automation": "order",
         "mocks": {"automations": {"sendMail": {"output": 1}}}, "expect": {"output": {}}},
    ], imports={"Toolbox": {"appSlug": "Toolbox"}})
    assert failures(await results(root)) == {"an app that is neither built in nor vendored": [
        "call to 'Toolbox.charge': app instance 'Toolbox' runs app 'Toolbox', which is neither built in nor "
        "vendored under apps/Toolbox/: mock the call under mocks.automations"]}


async def test_custom_code_runs_for_real(tmp_path: Path) -> None:
    automations = {"code": {"do": [
        {"Custom Code.run": {"function": "double", "parameters": {"n": "{{n}}"}, "output": "twice"}},
        {"try": {"do": [{"Custom Code.run": {"function": "boom"}}],
                 "catch": [{"set": {"name": "failed", "value": "{{$error.details.reason}}"}}]}},
    ], "output": {"twice": "{{twice}}", "failed": "{{failed}}"}}}
    functions = {"double": {"parameters": {"n": {"type": "number"}}, "code": "console.log('n', n); return n * 2;"},
                 "boom": {"code": "throw new Error('no')"}}
    root = build(tmp_path, automations, [{"name": "code", "automation": "code", "payload": {"n": 21},
                                           "expect": {"output": {"twice": 42, "failed": "thrown"},
                                                      "events": [{"type": "runtime.customcode.logged",
                                                                  "payload": {"lines": ["n 21"]}}]}}],
                 imports={"Custom Code": {"appSlug": "Custom Code", "config": {"functions": functions}}})
    assert failures(await results(root)) == {}


async def test_waits_listeners_and_the_fake_clock(tmp_path: Path) -> None:
    automations = {
        "ask": {"do": [
            {"emit": {"event": "question", "payload": {"q": "{{q}}"}}},
            {"wait": {"oneOf": [{"event": "answer", "filters": {"payload.q": "{{q}}"}}], "timeout": 30,
                      "output": "reply"}},
            {"wait": {"oneOf": [{"event": "approval", "filters": {"payload.by": "bob"}}], "output": "approval"}},
            {"wait": {"oneOf": [{"event": "never"}], "timeout": 60, "output": "nothing"}},
            {"wait": {"timeout": 3600}},
        ], "output": {"reply": "{{reply.payload.a}}", "approved": "{{approval.payload.by}}", "end": "{{run.date}}",
                      "nothing": "{% {{nothing}} == null %}"}},
        "answer": {"when": {"events": ["question"]}, "do": [
            {"set": {"name": "global.asked", "value": "{{payload.q}}"}},
            {"emit": {"event": "answer", "payload": {"q": "{{payload.q}}", "a": 42}}}]},
    }
    root = build(tmp_path, automations, [{
        "name": "waits", "automation": "ask", "payload": {"q": "life"}, "now": "2026-01-01T00:00:00Z",
        "events": [{"type": "approval", "payload": {"by": "eve"}}, {"type": "approval", "payload": {"by": "bob"}}],
        "expect": {"output": {"reply": 42, "approved": "bob", "end": "2026-01-01T01:01:00Z", "nothing": True},
                   "events": [{"type": "question"}, {"type": "answer", "payload": {"a": 42}},
                              {"type": "runtime.waits.timeout"}],
                   "reached": ["answer:do[1]"]}}])
    assert failures(await results(root)) == {}


async def test_event_cases_run_every_listener_in_the_workspace_and_its_apps(tmp_path: Path) -> None:
    automations = {"onOrder": {"when": {"events": ["order.placed"]}, "do": [
        {"emit": {"event": "order.seen", "payload": {"id": "{{payload.id}}", "user": "{{user.id}}"}}}]},
        "forward": {"when": {"events": ["order.placed"]}, "do": [{"emit": {"event": "Toolbox.stamp.request"}}]}}
    app = {"stamp": {"when": {"events": ["stamp.request"]}, "do": [
        {"emit": {"event": "stamped", "payload": {"by": "{{config.who}}"}}}]},
        "fail": {"when": {"events": ["stamp.request"]}, "do": [{"fetch": {"url": "https://x.example.com/"}}]}}
    root = build(tmp_path, automations, [
        {"name": "placed", "event": {"type": "order.placed", "payload": {"id": 7}}, "user": "ada",
         "mocks": {"fetch": [{"url": "https://x.example.com/", "error": "refused"}]},
         "expect": {"events": [{"type": "order.placed", "source": {"userId": "ada"}},
                               {"type": "order.seen", "payload": {"id": 7, "user": "ada"}},
                               {"type": "Toolbox.stamped", "payload": {"by": "Toolbox Inc"},
                                "source": {"appInstanceFullSlug": "Toolbox"}}],
                    "eventsInAnyOrder": True, "reached": ["onOrder:do[0]", "Toolbox.stamp:do[0]"],
                    "error": {"error": "FetchError", "message": "refused"}}}],
        imports={"Toolbox": {"appSlug": "Toolbox", "config": {"who": "Toolbox Inc"}}}, apps={"Toolbox": app})
    assert failures(await results(root)) == {}


async def test_contexts_config_secrets_and_permissions(tmp_path: Path) -> None:
    automations = {
        "visit": {**HOOK, "do": [
            {"set": {"name": "user.visits", "value": "{% {{user.visits}} + 1 %}"}},
            {"set": {"name": "session.seen", "value": True}}],
            "output": {"visits": "{{user.visits}}", "cart": "{{session.cart}}", "plan": "{{config.plan}}",
                       "key": "{{config.api.key}}", "region": "{{config.api.region}}", "global": "{{global.motd}}"}},
        "admin": {**HOOK, "authorizations": {"action": "manage-shop"}, "do": [], "output": "ok"},
    }
    index = {"name": "Shop", "slug": "shop", "config": {"value": {
        "plan": "free", "api": {"key": "{{secret.apiKey}}", "region": "eu"}}}}
    root = build(tmp_path, automations, [
        {"name": "contexts", "webhook": {"endpoint": "visit"}, "user": "ada", "config": {"plan": "pro"},
         "secrets": {"apiKey": "k-1"},
         "contexts": {"user": {"visits": 2}, "session": {"cart": [1]}, "global": {"motd": "hi"}},
         "expect": {"output": {"visits": 3, "cart": [1], "plan": "pro", "key": "k-1", "region": "eu", "global": "hi"}}},
        {"name": "anonymous callers may not", "webhook": {"endpoint": "admin"},
         "expect": {"error": {"error": "ForbiddenError"}, "http": {"status": 403}}},
        {"name": "the tester of an automation case is an owner", "automation": "admin", "expect": {"output": "ok"}},
        {"name": "an editor may", "webhook": {"endpoint": "admin"}, "user": "ed", "role": "editor",
         "expect": {"output": "ok", "http": {"status": 200}}},
    ], index=index)
    assert failures(await results(root)) == {}


async def test_runs_are_repeatable_and_listener_loops_end(tmp_path: Path) -> None:
    automations = {"ping": {"when": {"events": ["ping"]}, "do": [{"emit": {"event": "ping"}}]},
                   "start": {"do": [{"emit": {"event": "ping"}}, {"rateLimit": {"name": "r", "consumer": "c",
                                                                                "window": 60, "limit": 1}},
                                    {"rateLimit": {"name": "r", "consumer": "c", "window": 60, "limit": 1,
                                                   "output": "second"}}],
                             "output": "{{second.ok}}"}}
    root = build(tmp_path, automations, [{"name": "loop", "automation": "start", "expect": {"output": False}}])
    runner = OfflineRunner(OfflineWorkspace.load(root))
    case = load_test_files(root)[0].tests.cases[0]
    first = await runner.run_case(case, load_test_files(root)[0].tests.mocks)
    again = await runner.run_case(case, load_test_files(root)[0].tests.mocks)
    assert first.problem is None and first.output is False
    assert [e["id"] for e in first.events] == [e["id"] for e in again.events]  # ids from a seeded generator
    errors = [e for e in first.events if e["type"] == "error"]
    assert errors and errors[0]["payload"]["error"] == "TooManyCallError"  # the depth limit ends the loop


def test_skipped_cases_and_unreadable_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = build(tmp_path, {"a": {"do": [], "output": 1}}, [
        {"name": "runs", "automation": "a", "expect": {"output": 1}},
        {"name": "later", "automation": "a", "skip": "waiting for the new API", "expect": {"output": 2}}])
    options: dict[str, Any] = dict(server=None, token=None, junit=None, json_output=False, select=None, color=False)
    assert run_test_command(root, **options) == 0
    assert "○ later (skipped)\n      skipped: waiting for the new API" in capsys.readouterr().out
    (root / "automations" / "broken.yml").write_text("do: [\n")
    (root / "apps" / "Tools").mkdir(parents=True)
    (root / "apps" / "Tools" / "index.yml").write_text("- not a mapping\n")
    assert run_test_command(root, **options) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"error: {root.name}/automations/broken.yml: ") and "line 2" in err[0]
    assert err[1] == (f"error: {root.name}/apps/Tools/index.yml: the file must hold an object (mapping), got list")
