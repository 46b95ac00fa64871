"""The ``rateLimit`` instruction (issue 17 item 2): fixed windows counted in the database, exact
under concurrency, per (workspace, scope, name, consumer); a refused take consumes nothing and a
retried take counts once (core/runs/rate_counters.py)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy import func, select

from core.runs import rate_counters
from core.runs.rate_counters import COUNTERS, TAKES
from schemas.runs import RateLimitRequest
from tests.api.helpers import workspace_doc
from tests.stack import Stack

LIMITED = {"name": "limited", "when": {"endpoint": True}, "do": [
    {"rateLimit": {"name": "{{body.name}}", "window": 60, "limit": "{{body.limit}}", "consumer": "{{body.consumer}}",
                   "output": "answer"}}], "output": "{{answer}}"}


async def _take(stack: Stack, ws: str, consumer: str, name: str = "api", limit: int = 10,
                endpoint: str = "limited") -> dict[str, Any]:
    response = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/{endpoint}",
                                     json={"name": name, "consumer": consumer, "limit": limit})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_fifty_concurrent_runs_let_exactly_the_limit_through(stack: Stack) -> None:
    ws = (await stack.import_workspace(workspace_doc({"limited": LIMITED})))["id"]
    answers = await asyncio.gather(*(_take(stack, ws, "x") for _ in range(50)))
    passed = [a for a in answers if a["ok"] is True]
    refused = [a for a in answers if a["ok"] is False]
    assert len(passed) == 10 and len(refused) == 40, answers
    # Each take that passed saw its own count: remaining 9, 8, …, 0, once each.
    assert sorted(a["remaining"] for a in passed) == list(range(10))
    assert all(a["remaining"] == 0 and 0 < a["retryAfter"] <= 60 for a in refused), refused
    assert all(set(a) == {"ok", "retryAfter", "remaining", "limit", "window", "consumer"} for a in answers)
    assert all(a["limit"] == 10 and a["window"] == 60 and a["consumer"] == "x" for a in answers)
    assert all(a["retryAfter"] == 0 for a in passed)
    # Another consumer, another name: counted apart.
    assert await _take(stack, ws, "y") == {"ok": True, "retryAfter": 0, "remaining": 9, "limit": 10, "window": 60,
                                           "consumer": "y"}
    assert (await _take(stack, ws, "x", name="other"))["remaining"] == 9
    # A consumer string of any length (an email, a token hash…) has its own counter.
    long_consumer = "z" * 5000
    assert (await _take(stack, ws, long_consumer))["ok"] is True
    # Another workspace with the same name and consumer: its own counter.
    other_ws = (await stack.import_workspace(workspace_doc({"limited": LIMITED})))["id"]
    assert (await _take(stack, other_ws, "x"))["remaining"] == 9


async def test_an_app_instance_counts_apart_from_the_root(stack: Stack) -> None:
    source = await stack.import_workspace(workspace_doc({"limited": LIMITED}, description="Limiter"))
    app = f"limiter-{uuid.uuid4().hex[:6]}"
    published = await stack.http.post("/v2/apps", json={"workspaceId": source["id"], "slug": app}, headers=stack.auth)
    assert published.status_code == 200, published.text
    ws = (await stack.import_workspace({**workspace_doc({"limited": LIMITED}),
                                        "imports": {"limiter": {"appSlug": app}}}))["id"]
    root = [await _take(stack, ws, "x", limit=2) for _ in range(3)]
    assert [a["ok"] for a in root] == [True, True, False]
    instance = await _take(stack, ws, "x", limit=2, endpoint="limiter.limited")
    assert instance["ok"] is True and instance["remaining"] == 1
    # The app's own workspace is a third place.
    assert (await _take(stack, source["id"], "x", limit=2))["remaining"] == 1


async def test_refused_takes_consume_nothing_and_a_retried_take_counts_once(stack: Stack) -> None:
    db = stack.services.db
    ws, name = uuid.uuid4().hex[:24], f"n-{uuid.uuid4().hex[:6]}"

    def request(take: str, consume: int = 1) -> RateLimitRequest:
        return RateLimitRequest(take_id=f"{name}-{take}", workspace_id=ws, scope=ws, name=name, consumer="c", window=10,
                                limit=3, consume=consume)

    start = 1_000_000.0
    first = await db.run_sync(rate_counters.take, request("t1", consume=2), start)
    assert (first.ok, first.remaining, first.retry_after) == (True, 1, 0.0)
    # The local activity retried after its commit: the same answer, nothing counted again.
    again = await db.run_sync(rate_counters.take, request("t1", consume=2), start + 1)
    assert (again.ok, again.remaining) == (True, 1)
    too_many = await db.run_sync(rate_counters.take, request("t2", consume=2), start + 2)
    assert (too_many.ok, too_many.remaining, too_many.retry_after) == (False, 1, 8.0)
    # The refusal took nothing: one point is still there.
    last = await db.run_sync(rate_counters.take, request("t3"), start + 3)
    assert (last.ok, last.remaining) == (True, 0)
    assert (await db.run_sync(rate_counters.take, request("t2", consume=2), start + 4)).ok is False  # recorded
    # More than the limit can never pass, and says so without counting.
    never = await db.run_sync(rate_counters.take, request("t4", consume=4), start + 5)
    assert (never.ok, never.remaining) == (False, 0)
    # The window opened by the first take ends 10 s later: a new one starts full.
    fresh = await db.run_sync(rate_counters.take, request("t5"), start + 10)
    assert (fresh.ok, fresh.remaining) == (True, 2)

    def rows(session: Any) -> tuple[int, int]:
        conn = session.connection()
        counters = conn.execute(select(func.count()).select_from(COUNTERS).where(COUNTERS.c.workspace_id == ws))
        takes = conn.execute(select(func.count()).select_from(TAKES).where(TAKES.c.take_id.startswith(name)))
        return int(counters.scalar_one()), int(takes.scalar_one())

    assert await db.run_sync(rows) == (1, 5)
    # Once its window has ended (and its takes' memory too) the sweep deletes them.
    await db.run_sync(rate_counters.sweep, start + 10 + 10 + rate_counters.TAKE_MEMORY_MS / 1000 + 1)
    assert await db.run_sync(rows) == (0, 0)


async def test_invalid_rate_limits_are_refused_with_the_field_named(stack: Stack) -> None:
    ws = (await stack.import_workspace(workspace_doc({"limited": LIMITED})))["id"]
    for body, field in (({"name": "api", "consumer": "x", "limit": "ten"}, "limit"),
                        ({"name": "", "consumer": "x", "limit": 1}, "name"),
                        ({"name": "api", "consumer": "", "limit": 1}, "consumer")):
        response = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/limited", json=body)
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "InvalidInstructionError" and f"rateLimit.{field}" in response.json()["message"]
