"""Expectations of ``tideway test`` and their diffs (cli/workspace_tests/compare.py, expectations.py):
each difference names the field (``expect.output.items[2].price: expected 3, got 4``)."""

from __future__ import annotations

from typing import Any

from cli.workspace_tests.compare import differences
from cli.workspace_tests.expectations import check
from cli.workspace_tests.format import Case
from cli.workspace_tests.outcome import MISSING, CaseOutcome, RunTrace


def case(**fields: Any) -> Case:
    return Case.model_validate({"name": "c", "automation": "a", **fields})


def test_diffs_name_the_differing_field() -> None:
    expected = {"items": [{"price": 1}, {"price": 2}, {"price": 3}], "total": 6, "meta": {"currency": "EUR"}}
    actual = {"items": [{"price": 1}, {"price": 2}, {"price": 4}], "total": 7.0, "meta": {"currency": "EUR", "x": 1},
              "extra": True}
    assert differences(expected, actual, "expect.output", subset=False) == [
        "expect.output.items[2].price: expected 3, got 4",
        "expect.output.total: expected 6, got 7.0",
        'expect.output.meta.x: not expected, got 1',
        "expect.output.extra: not expected, got true",
    ]
    assert differences(expected, actual, "expect.outputMatches", subset=True) == [
        "expect.outputMatches.items[2].price: expected 3, got 4", "expect.outputMatches.total: expected 6, got 7.0"]


def test_scalars_lists_keys_and_matchers() -> None:
    assert differences(3, 3.0, "x", subset=False) == []
    assert differences(1, True, "x", subset=False) == ["x: expected 1, got true"]
    assert differences("1", 1, "x", subset=False) == ['x: expected "1", got 1']
    assert differences(None, MISSING, "x", subset=False) == ["x: expected null, got nothing"]
    assert differences([1, 2], [1, 2, 3], "x", subset=True) == ["x: expected 2 items, got 3 (first extra: 3)"]
    assert differences({"a b": 1, "ok": 2}, {"ok": 2}, "x", subset=True) == [
        'x["a b"]: expected 1, got nothing (no such field)']
    assert differences({"at": {"$regex": "^2026-"}, "n": {"$type": "number"}}, {"at": "2025-01-01", "n": "1"}, "x",
                       subset=True) == ['x.at: expected text matching /^2026-/, got "2025-01-01"',
                                        'x.n: expected a value of type number, got "1" (string)']
    assert differences({"a": 1}, [1], "x", subset=True) == ["x: expected an object, got [1]"]
    assert differences({"meta": {"$exact": {"a": 1}}}, {"meta": {"a": 1, "b": 2}, "c": 3}, "x", subset=True) == [
        "x.meta.b: not expected, got 2"]
    assert differences({"gone": {"$absent": True}, "here": {"$absent": False}}, {"here": None}, "x",
                       subset=False) == []
    assert differences({"gone": {"$absent": True}, "here": {"$absent": False}}, {"gone": 0}, "x", subset=True) == [
        "x.gone: expected no such field, got 0", "x.here: expected a value, got nothing"]


def outcome(**fields: Any) -> CaseOutcome:
    return CaseOutcome(runs=[RunTrace("a", steps=[{"path": "do[0]", "automation": "a", "instance": ""},
                                                  {"path": "do[1].conditions.default[0]", "automation": "a",
                                                   "instance": ""},
                                                  {"path": "do[0]", "automation": "b", "instance": "tools"}])],
                       **fields)


EVENTS = [{"type": "order.placed", "payload": {"id": 1, "total": 3}, "source": {"userId": "ada"}},
          {"type": "order.shipped", "payload": {"id": 1}},
          {"type": "runtime.automations.executed", "payload": {"slug": "mailer"}, "source": {}}]


def test_events_in_order_any_order_and_absent() -> None:
    done = outcome(output={}, events=EVENTS)
    assert check(case(expect={"events": [{"type": "order.placed", "payload": {"id": 1}, "source": {"userId": "ada"}},
                                         {"type": "order.shipped"}]}), done) == []
    assert check(case(expect={"events": [{"type": "order.shipped"}, {"type": "order.placed"}]}), done) == [
        'expect.events[1]: no event matched {"type": "order.placed"}; event #0 matches but comes before the event '
        "of expect.events[0] (set eventsInAnyOrder: true if the order does not matter)"]
    assert check(case(expect={"events": [{"type": "order.shipped"}, {"type": "order.placed"}],
                              "eventsInAnyOrder": True}), done) == []
    assert check(case(expect={"events": [{"type": "order.placed", "payload": {"total": 4}}]}), done) == [
        'expect.events[0]: no event matched {"type": "order.placed", "payload": {"total": 4}}; closest, event #0: '
        "expect.events[0].payload.total: expected 4, got 3"]
    assert check(case(expect={"events": [{"type": "order.lost"}]}), done) == [
        'expect.events[0]: no event matched {"type": "order.lost"}; events of the case: order.placed, '
        "order.shipped, runtime.automations.executed"]
    assert check(case(expect={"eventsAbsent": [{"type": "order.shipped"}, {"type": "order.lost"}]}), done) == [
        'expect.eventsAbsent[0]: event #1 {"type": "order.shipped", "payload": {"id": 1}} happened']


def test_reached_and_not_reached() -> None:
    done = outcome(output={}, events=EVENTS)
    assert check(case(expect={"reached": ["do[0]", "do[1]*", "tools.b:do[0]", "mailer:*", "a:*"],
                              "notReached": ["do[2]", "b:do[0]", "do[1].conditions['x'][0]"]}), done) == []
    assert check(case(expect={"reached": ["do[2]", "tools.b:do[1]"], "notReached": ["do[1]*"]}), done) == [
        "expect.reached[0]: 'do[2]' did not run (steps that ran in a: do[0], do[1].conditions.default[0])",
        "expect.reached[1]: 'tools.b:do[1]' did not run (steps that ran in tools.b: do[0])",
        "expect.notReached[0]: 'do[1]*' ran",
    ]


def test_errors_http_and_a_failed_run() -> None:
    failed = outcome(error={"error": "FetchError", "message": "Request to https://x failed",
                            "at": {"automation": "a", "instruction": "do[0]"}}, http_status=400,
                     http_headers={"Content-Type": "application/json"})
    assert check(case(expect={"error": {"error": "FetchError", "message": "https://x"}}), failed) == []
    assert check(case(expect={"error": {"error": "ForbiddenError", "message": "nope"}}), failed) == [
        'expect.error.error: expected "ForbiddenError", got "FetchError" (Request to https://x failed)',
        'expect.error.message: expected a message containing "nope", got "Request to https://x failed"']
    assert check(case(expect={"output": 1}), failed) == [
        "the run failed: FetchError: Request to https://x failed (at a do[0])"]
    hook = Case.model_validate({"name": "h", "webhook": {"endpoint": "e"},
                                "expect": {"http": {"status": 201, "headers": {"content-type": "text/plain",
                                                                                "x-id": "1"}},
                                           "error": {"error": "FetchError"}}})
    assert check(hook, failed) == ["expect.http.status: expected 201, got 400",
                                   'expect.http.headers.content-type: expected "text/plain", got "application/json"',
                                   'expect.http.headers.x-id: expected "1", got nothing (no such header)']
    assert check(case(expect={"error": {"error": "X"}}), outcome(output={"ok": 1})) == [
        'expect.error: expected X, the run succeeded with output {"ok": 1}']
    assert check(case(expect={"output": 1}), CaseOutcome(problem="unmocked fetch: GET https://x")) == [
        "unmocked fetch: GET https://x"]


def test_fetches_sent() -> None:
    sent = outcome(output={}, requests=[
        {"method": "GET", "url": "https://api.example.com/items", "query": {"page": 2}},
        {"method": "POST", "url": "https://api.example.com/orders", "body": {"sku": "A", "n": 2},
         "headers": {"Authorization": "Bearer k"}}])
    assert check(case(expect={"fetches": [{"url": "https://api.example.com/items?page=*"},
                                          {"method": "post", "body": {"sku": "A"},
                                           "headers": {"authorization": "Bearer k"}}]}), sent) == []
    assert check(case(expect={"fetches": [{"url": "https://api.example.com/orders", "body": {"sku": "B"}}]}), sent) == [
        'expect.fetches[0]: no request matched {"url": "https://api.example.com/orders", "body": {"sku": "B"}}; '
        'closest, request #1: expect.fetches[0].body.sku: expected "B", got "A"']
    assert check(case(expect={"fetches": [{"url": "https://other.example.com/*"}]}), sent) == [
        'expect.fetches[0]: no request matched {"url": "https://other.example.com/*"}; requests sent: '
        "GET https://api.example.com/items?page=2, POST https://api.example.com/orders"]
