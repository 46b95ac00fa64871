"""Drill: hostile input. Hypothesis over the expression language and over workspace YAML
(random instruction trees through the import API, then run); a 10 MB webhook body,
10,000-deep JSON, a ``repeat`` over 1,000,000 items and an automation calling itself: only
clear errors (never a 500, never a hang), and the worker runs the next automation fine."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from temporalio.testing import WorkflowEnvironment

from language import ExpressionError, evaluate, render
from tests.drills.helpers import answering_stack, figure, scale
from tests.stack import Stack

HELLO = {"name": "hello", "when": {"endpoint": True}, "do": [{"set": {"name": "a", "value": "{{body.x}}"}}],
         "output": "{{a}}"}


@pytest.fixture(scope="module")
async def hostile(temporal_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    path = Path(tmp_path_factory.mktemp("hostile")) / "hostile.db"
    async with answering_stack(temporal_env.client, path, rate_limit_disabled=True) as stack:
        yield stack


async def healthy(stack: Stack, ws: str) -> bool:
    """The worker still runs a plain automation right away."""
    response = await asyncio.wait_for(stack.http.post(f"/v2/workspaces/{ws}/webhooks/hello", json={"x": 7}), 20)
    return response.status_code == 200 and response.json() == 7


# -- the expression language ---------------------------------------------------------------
TOKENS = st.sampled_from([
    "a", "b.c", "d[0]", "e['x']", "1", "0", "-1", "1e308", "'s'", '"t"', "true", "null", "undefined", "+", "-",
    "*", "/", "%", "==", "!=", ">=", "<", "&&", "||", "!", "and", "or", "not", "(", ")", "[", "]", "{", "}", ",",
    ":", ".", "?", "matches", "in", "rand()", "date(", "round(", "split(", "join(", "json(", "sum(", "{{", "}}",
    "{%", "%}", "$", "\\", " ", "'", '"', "\u0000", "é", "\U0001f600", "[[[[[[[[", "((((((((", "9" * 40])
SCOPE = {"a": 1, "b": {"c": [1, 2, {"x": "y"}]}, "d": [0, "1"], "e": {"x": None}, "s": "text" * 10}


@given(st.lists(TOKENS, max_size=40).map("".join))
@settings(max_examples=scale(300, 3000), deadline=None, suppress_health_check=list(HealthCheck), database=None)
def _fuzz_expression(text: str) -> None:
    for fn in (lambda: evaluate(text, SCOPE), lambda: render(text, SCOPE), lambda: render(f"{{% {text} %}}", SCOPE),
               lambda: render(f"{{{{{text}}}}}", SCOPE)):
        started = time.perf_counter()
        try:
            fn()
        except ExpressionError:
            pass
        took = time.perf_counter() - started
        assert took < 1.0, f"{text!r} took {took:.2f} s"


def test_expression_language_fuzz() -> None:
    started = time.perf_counter()
    _fuzz_expression()
    figure("hostile expressions", f"{scale(300, 3000)} random expressions x 4 modes: only ExpressionError, "
           f"none over 1 s ({time.perf_counter() - started:.1f} s)")


# -- random workspaces through the import API ------------------------------------------------
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.sampled_from(
    ["x", "{{body}}", "{{a.b}}", "{% 1 + %}", "{{", "hello", "{{body.x}}", "{% rand() %}", "item"]))


def _instruction(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    do = st.lists(children, max_size=3)
    return st.one_of(
        st.fixed_dictionaries({"set": st.fixed_dictionaries({"name": st.sampled_from(["a", "a.b", "", "..", "x[0]"]),
                                                             "value": SCALARS})}),
        st.fixed_dictionaries({"delete": st.fixed_dictionaries({"name": st.sampled_from(["a", "zz"])})}),
        st.fixed_dictionaries({"conditions": st.dictionaries(st.sampled_from(["{{a}} == 1", "default", "%%", "1"]),
                                                             do, max_size=2)}),
        st.fixed_dictionaries({"repeat": st.fixed_dictionaries({"on": st.one_of(st.integers(-2, 50), SCALARS),
                                                                "do": do})}),
        st.fixed_dictionaries({"all": do}),
        st.just({"break": {}}),
        st.fixed_dictionaries({"emit": st.fixed_dictionaries({"event": st.sampled_from(["x.y", "", "runtime.x"]),
                                                              "payload": SCALARS})}),
        st.fixed_dictionaries({"hello": st.dictionaries(st.sampled_from(["x", "output"]), SCALARS, max_size=2)}),
        st.fixed_dictionaries({"self": st.just({})}),
        st.dictionaries(st.sampled_from(["unknown", "fetch", "wait", "set"]), SCALARS, min_size=1, max_size=2)
        .filter(lambda _: False) | st.just({"set": {"name": "a", "value": "{{a}}"}}),
    )


INSTRUCTIONS = st.recursive(st.just({"set": {"name": "a", "value": 1}}), _instruction, max_leaves=12)
AUTOMATION = st.fixed_dictionaries({
    "name": st.just("self"), "when": st.just({"endpoint": True}), "do": st.lists(INSTRUCTIONS, max_size=6),
    "output": SCALARS})


async def test_random_workspaces_import_and_run(hostile: Stack) -> None:
    loop = asyncio.get_running_loop()
    statuses: Counter[str] = Counter()
    failures: list[str] = []
    examples = scale(25, 300)

    async def one(automation: dict[str, Any]) -> None:
        doc = {"name": "Fuzz", "slug": f"fz-{uuid.uuid4().hex[:8]}", "automations": {"self": automation,
                                                                                    "hello": HELLO}}
        response = await hostile.http.post("/v2/workspaces/import", content=yaml.safe_dump(doc),
                                           headers={**hostile.auth, "content-type": "application/yaml"})
        statuses[f"import {response.status_code}"] += 1
        assert response.status_code < 500, response.text
        if response.status_code != 200:
            return
        ws = response.json()["workspace"]["id"]
        run = await asyncio.wait_for(hostile.http.post(f"/v2/workspaces/{ws}/webhooks/self", json={"x": 1}), 30)
        statuses[f"run {run.status_code}"] += 1
        assert run.status_code < 500, f"{run.status_code} {run.text[:300]} for {json.dumps(automation)[:500]}"
        assert await healthy(hostile, ws)

    @given(AUTOMATION)
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def fuzz(automation: dict[str, Any]) -> None:
        asyncio.run_coroutine_threadsafe(one(automation), loop).result(90)

    garbage = [b"\xff\xfe\x00", b"{{{{", b"- - - [", b"a: &x [*x]", b"automations: !!python/object:os.system {}",
               b"a: " + b"[" * 5000]
    for raw in garbage:
        response = await hostile.http.post("/v2/workspaces/import", content=raw,
                                           headers={**hostile.auth, "content-type": "application/yaml"})
        statuses[f"garbage {response.status_code}"] += 1
        if response.status_code >= 500:
            failures.append(f"garbage YAML {raw[:24]!r}... -> {response.status_code}")
    await asyncio.to_thread(fuzz)
    figure("hostile workspaces", f"{examples} random instruction trees imported as YAML and run + "
           f"{len(garbage)} garbage documents: {len(failures)} 5xx {failures} ({dict(sorted(statuses.items()))})")
    assert not failures


# -- oversized and pathological requests ------------------------------------------------------
async def test_pathological_requests(hostile: Stack) -> None:
    doc = {"name": "Limits", "slug": f"lim-{uuid.uuid4().hex[:6]}", "automations": {
        "hello": HELLO,
        "echo": {"name": "echo", "when": {"endpoint": True}, "do": [], "output": "{{body}}"},
        "big": {"name": "big", "when": {"endpoint": True},
                "do": [{"repeat": {"on": 1_000_000, "do": [{"set": {"name": "n", "value": "{{item}}"}}]}}]},
        "self": {"name": "self", "when": {"endpoint": True}, "do": [{"self": {}}]}}}
    ws = (await hostile.import_workspace(doc))["id"]
    hook = f"/v2/workspaces/{ws}/webhooks"
    lines: list[str] = []
    results: dict[str, tuple[int, str]] = {}

    async def timed(name: str, call: Any, limit: float) -> tuple[int, str, float]:
        started = time.perf_counter()
        try:
            response = await asyncio.wait_for(call, limit)
            status, error = response.status_code, (response.json().get("error", "") if response.headers.get(
                "content-type", "").startswith("application/json") and isinstance(response.json(), dict) else "")
        except TimeoutError:
            status, error = 0, f"no answer within {limit:.0f} s"
        took = time.perf_counter() - started
        results[name] = (status, error)
        ok = await healthy(hostile, ws)
        lines.append(f"{name} -> {status} {error} in {took:.1f} s, worker healthy {ok}")
        return status, error, took

    big_body = b'{"x": "' + b"a" * (10 * 1024 * 1024) + b'"}'
    await timed("10 MB body", hostile.http.post(f"{hook}/echo", content=big_body,
                                                headers={"content-type": "application/json"}), 30)
    deep = "[" * 10_000 + "]" * 10_000
    await timed("10,000-deep JSON", hostile.http.post(f"{hook}/echo", content=deep,
                                                      headers={"content-type": "application/json"}), 30)
    deep_obj = '{"a":' * 10_000 + "1" + "}" * 10_000
    await timed("10,000-deep JSON object", hostile.http.post(f"{hook}/echo", content=deep_obj,
                                                             headers={"content-type": "application/json"}), 30)
    await timed("repeat 1,000,000", hostile.http.post(f"{hook}/big", json={}), 120)
    await timed("self-call", hostile.http.post(f"{hook}/self", json={}), 60)
    history = await _history_length(hostile, ws, "big")
    figure("hostile requests", "; ".join(lines) + f"; repeat run history {history} events")
    assert results["10 MB body"][0] == 413
    assert all(0 < status < 500 for status, _ in results.values()), results
    assert results["repeat 1,000,000"] == (400, "StepBudgetExceededError")
    assert results["self-call"][1] == "TooManyCallError"


async def _history_length(stack: Stack, ws: str, slug: str) -> int | str:
    client = stack.services.client
    try:
        async for execution in client.list_workflows(f'WorkflowId STARTS_WITH "{ws}/{slug}/"'):
            history = await client.get_workflow_handle(execution.id, run_id=execution.run_id).fetch_history()
            return len(history.events)
    except Exception as exc:  # visibility lag: report, don't fail
        return f"unknown ({type(exc).__name__})"
    return "unknown"
