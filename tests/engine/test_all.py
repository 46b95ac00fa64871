"""``all`` (spec §3.5, docs/decisions.md): branches run concurrently on the same locals, each is
interpolated when it starts, the first failing branch stops the others, at most 1,000 branches."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.conformance.http_stub import HttpStub
from tests.engine.helpers import Workspace, automation, hook, of_type
from tests.stack import Stack


class Barrier:
    """An HTTP endpoint that answers only once ``parties`` requests are in flight together."""

    def __init__(self, parties: int):
        self.parties = parties
        self.arrived = 0
        self.all_in = asyncio.Event()

    async def handle(self, request: Request) -> JSONResponse:
        self.arrived += 1
        if self.arrived >= self.parties:
            self.all_in.set()
        await asyncio.wait_for(self.all_in.wait(), 15)
        return JSONResponse({"branch": request.query_params["b"], "together": self.arrived})


def s(name: str, value: Any) -> dict[str, Any]:
    return {"set": {"name": name, "value": value}}


AUTOMATIONS: dict[str, dict[str, Any]] = {
    "every-branch-runs": hook([{"all": [s("a", 1), s("o.x", "X"), {"get-two": {"output": "two"}},
                                        {"conditions": {"true": [s("o.y", "Y")]}}]}],
                              {"a": "{{a}}", "o": "{{o}}", "two": "{{two}}"}),
    "get-two": automation([], 2),
    "branch-interpolated-when-it-starts": hook([{"all": [s("a", "first"), s("b", "{{a}}")]}], "{{b}}"),
    "nested-all": hook([{"all": [{"all": [s("l.a", 1), s("l.b", 2)]}, {"repeat": {"on": 3, "do": [
        {"set": {"name": "l.r[]", "value": "{{item}}"}}]}}]}], "{{l}}"),
    "empty-all": hook([{"all": []}, s("after", True)], "{{after}}"),
    "failing-branch-stops-the-others": hook([{"all": [
        {"slow-then-emit": {}},
        {"set": {"name": "{{body.missing}}", "value": 1}},
    ]}, s("after", True)]),
    "slow-then-emit": automation([{"wait": {"oneOf": [{"event": "never.sent"}], "timeout": 30}},
                                  {"emit": {"event": "slow.finished"}}]),
    "break-in-a-branch": hook([{"all": [{"wait": {"oneOf": [{"event": "never.sent"}], "timeout": 30}},
                                        {"break": {}}]}, s("after", True)],
                              {"after": "{{after}}", "stopped": True}),
    "too-many-branches": hook([{"all": [{"comment": "x"}] * 1001}]),
    "thousand-branches": hook([{"all": [{"set": {"name": "n[]", "value": 1}}] * 1000}], "{% {{n.length}} %}"),
}


@pytest.fixture(scope="module")
async def ws(sqlite_stack: Stack) -> Workspace:
    return await Workspace.create(sqlite_stack, {slug: {**a, "name": slug} for slug, a in AUTOMATIONS.items()})


async def test_every_branch_runs_on_the_shared_locals(ws: Workspace) -> None:
    assert await ws.run("every-branch-runs") == {"a": 1, "o": {"x": "X", "y": "Y"}, "two": 2}


async def test_each_branch_is_interpolated_when_it_starts(ws: Workspace) -> None:
    # The reference interpolated the whole list first, so `b` would have been "".
    assert await ws.run("branch-interpolated-when-it-starts") == "first"


async def test_nested_and_empty_all(ws: Workspace) -> None:
    assert await ws.run("nested-all") == {"a": 1, "b": 2, "r": [0, 1, 2]}
    assert await ws.run("empty-all") is True


async def test_branches_run_concurrently(sqlite_stack: Stack) -> None:
    """Three fetches that can only complete while all three are in flight."""
    barrier = Barrier(3)
    async with HttpStub([], app=Starlette(routes=[Route("/barrier", barrier.handle)])) as server:
        ws = await Workspace.create(sqlite_stack, {"fan-out": hook([{"all": [
            {"fetch": {"url": f"{server.url}/barrier", "query": {"b": str(i)}, "output": f"r{i}"}} for i in range(3)
        ]}], ["{{r0.branch}}", "{{r1.branch}}", "{{r2.branch}}", "{{r2.together}}"])})
        assert await ws.run("fan-out") == ["0", "1", "2", 3]


async def test_a_failing_branch_stops_its_siblings(ws: Workspace) -> None:
    started = time.monotonic()
    call = await ws.call("failing-branch-stops-the-others")
    body = call.error("InvalidInstructionError")
    assert time.monotonic() - started < 20, "the waiting sibling was not stopped"
    assert body["at"] == {"automation": "failing-branch-stops-the-others", "instruction": "do[0].all[1]"}
    await asyncio.sleep(0.5)
    events = await call.events()
    assert of_type(events, "slow.finished") == []  # the sibling never went past its wait
    assert [e["payload"]["error"] for e in of_type(events, "error")] == ["InvalidInstructionError"]


async def test_break_in_a_branch_stops_the_automation(ws: Workspace) -> None:
    started = time.monotonic()
    assert await ws.run("break-in-a-branch") == {"stopped": True}
    assert time.monotonic() - started < 20


async def test_branch_limit(ws: Workspace) -> None:
    assert await ws.run("thousand-branches") == 1000
    body = (await ws.call("too-many-branches")).error("TooManyBranchesError")
    assert body["details"]["limit"] == 1000
