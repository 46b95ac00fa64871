"""Live event streams share one poller per process (core/events/hub.py): many streams cost one
database read per tick, each stream keeps its own filters and read check, and the caps
EVENTS_STREAM_MAX_PER_CALLER / EVENTS_STREAM_MAX_PER_PROCESS answer 429 with Retry-After; a
closed stream frees its slot. Anonymous sessions count by client address (TRUSTED_PROXIES)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event as sa_event
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from tests.api.helpers import anonymous_session, make_user, workspace_doc
from tests.api.test_events_read import StreamingASGITransport, collect, sse
from tests.stack import Stack, open_stack

Queue = asyncio.Queue[tuple[int, dict[str, Any]]]


async def _send(stack: Stack, ws: str, authorization: str, event_type: str, text: str) -> None:
    sent = await stack.http.post(f"/v2/workspaces/{ws}/events", json={"events": [
        {"type": event_type, "payload": {"text": text}}]}, headers={"authorization": authorization})
    assert sent.status_code == 200, sent.text


async def test_streams_share_one_poller_and_keep_their_own_checks(stack: Stack) -> None:
    ws = (await stack.import_workspace(workspace_doc({})))["id"]
    alice, bob = await anonymous_session(stack), await anonymous_session(stack)
    admin = stack.auth["authorization"]
    streams: list[tuple[str, dict[str, str], str]] = [
        *[("all", {}, admin)] * 3, *[("chat", {"types": "chat.message"}, admin)] * 3,
        ("alice", {}, alice["authorization"]), ("bob", {}, bob["authorization"])]
    async with contextlib.AsyncExitStack() as opened:
        queues: list[tuple[str, Queue]] = []
        for name, params, authorization in streams:
            queue, _ = await opened.enter_async_context(sse(stack, ws, params, {"authorization": authorization}))
            queues.append((name, queue))
        await _send(stack, ws, alice["authorization"], "chat.message", "alice")
        await _send(stack, ws, bob["authorization"], "chat.message", "bob")
        await _send(stack, ws, admin, "other.thing", "admin")
        expected = {"all": ["alice", "bob", "admin"], "chat": ["alice", "bob"], "alice": ["alice"], "bob": ["bob"]}
        for name, queue in queues:
            got = await collect(queue, len(expected[name]), timeout=15)
            assert sorted(e["payload"]["text"] for _, e in got) == sorted(expected[name]), name
        await asyncio.sleep(0.5)
        assert all(queue.empty() for _, queue in queues)  # alice never sees bob's event, and so on

        # Eight idle streams: the database sees the hub's reads only, one per tick.
        hub = stack.services.event_hub
        reads: list[str] = []

        def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if "FROM events" in statement and "seq >" in statement:
                reads.append(statement)

        engine = stack.services.db.engine.sync_engine
        sa_event.listen(engine, "before_cursor_execute", count)
        try:
            polls = hub.polls
            while hub.polls < polls + 5:
                await asyncio.sleep(0.05)
            counted, ticks = len(reads), hub.polls - polls
        finally:
            sa_event.remove(engine, "before_cursor_execute", count)
        assert counted <= ticks + 1, (counted, ticks)  # +1: a read in flight when counting began
    for _ in range(100):  # every stream closed: their slots are free
        if hub.count == 0:
            break
        await asyncio.sleep(0.05)
    assert hub.count == 0


@pytest.fixture(scope="module")
async def capped(temporal_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    path = Path(tmp_path_factory.mktemp("caps")) / "caps.db"
    async with open_stack(temporal_env.client, f"sqlite:///{path}", "sqlite", events_stream_max_per_caller=2,
                          events_stream_max_per_process=5, trusted_proxies="10.9.9.0/24") as stack:
        yield stack


async def _refused(stack: Stack, ws: str, authorization: str, client: tuple[str, int],
                   headers: dict[str, str] | None = None) -> dict[str, Any]:
    transport = StreamingASGITransport(create_app(stack.services), client)
    async with httpx.AsyncClient(transport=transport, base_url="http://tideway.test") as http:
        response = await http.get(f"/v2/workspaces/{ws}/events/stream",
                                  headers={"authorization": authorization, **(headers or {})})
    assert response.status_code == 429, response.text
    assert int(response.headers["retry-after"]) >= 1
    body: dict[str, Any] = response.json()
    assert body["error"] == "TooManyRequestsError"
    return body


async def test_caps_answer_429_and_a_closed_stream_frees_its_slot(capped: Stack) -> None:
    stack = capped
    hub = stack.services.event_hub
    ws = (await stack.import_workspace(workspace_doc({})))["id"]
    alice = (await make_user(stack, "alice"))["authorization"]
    anon = [(await anonymous_session(stack))["authorization"] for _ in range(6)]
    async with contextlib.AsyncExitStack() as opened:
        first_alice = contextlib.AsyncExitStack()
        await first_alice.enter_async_context(sse(stack, ws, headers={"authorization": alice}))
        await opened.enter_async_context(sse(stack, ws, headers={"authorization": alice}))
        body = await _refused(stack, ws, alice, ("10.0.0.1", 1))
        assert body["details"] == {"limit": 2, "scope": "caller"} and "EVENTS_STREAM_MAX_PER_CALLER" in body["message"]

        # Anonymous sessions are free to mint: they count by client address.
        for authorization in anon[:2]:
            await opened.enter_async_context(sse(stack, ws, headers={"authorization": authorization},
                                                 client=("10.0.0.1", 1)))
        await _refused(stack, ws, anon[2], ("10.0.0.1", 2))
        # Through a trusted proxy the forwarded address counts; from anyone else it is ignored.
        await _refused(stack, ws, anon[2], ("10.9.9.9", 3), {"x-forwarded-for": "10.0.0.1"})
        await opened.enter_async_context(sse(stack, ws, headers={"authorization": anon[3], "x-forwarded-for": "10.0.0.1"},
                                             client=("10.0.0.3", 1)))
        assert hub.count == 5
        body = await _refused(stack, ws, anon[4], ("10.0.0.2", 1))
        assert body["details"] == {"limit": 5, "scope": "process"}

        await first_alice.aclose()  # the client goes away: its slot is free again
        for _ in range(100):
            if hub.count == 4:
                break
            await asyncio.sleep(0.05)
        assert hub.count == 4
        await opened.enter_async_context(sse(stack, ws, headers={"authorization": anon[4]}, client=("10.0.0.2", 1)))
