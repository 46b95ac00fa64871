"""The process's event hub (core/events/hub.py) on a real SQLite database: one poll per tick for
any number of subscribers, each with its own filter; backlog then live without a gap or a
repeat; caps; a subscriber that does not read is dropped; no polling when nobody listens."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event as sa_event

from core.events.hub import EventHub, Subscription
from core.events.store import max_seq
from core.events.writer import EventWriter
from core.infra.db import Database
from schemas.errors import TooManyRequestsError
from schemas.events import Event, EventSource


def make(n: int, ws: str, event_type: str = "t") -> list[Event]:
    return [Event(id=str(uuid.uuid4()), type=event_type, createdAt=datetime.now(UTC), payload={"i": i},
                  source=EventSource(workspaceId=ws, correlationId="c")) for i in range(n)]


def of_type(event_type: str) -> Callable[[dict[str, Any]], bool]:
    return lambda event: event["type"] == event_type


class Reader:
    """Consumes one subscriber's deliveries in the background."""

    def __init__(self, hub: EventHub, sub: Subscription, start: int):
        self.got: list[tuple[int, dict[str, Any]]] = []
        self.task = asyncio.create_task(self._read(hub, sub, start))

    async def _read(self, hub: EventHub, sub: Subscription, start: int) -> None:
        async for batch in hub.deliveries(sub, start, idle_seconds=0.05):
            self.got.extend(batch)

    async def until(self, count: int, timeout: float = 10.0) -> list[int]:
        async def wait() -> None:
            while len(self.got) < count:
                await asyncio.sleep(0.01)
        await asyncio.wait_for(wait(), timeout)
        return [seq for seq, _ in self.got]

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


@pytest.fixture
async def hub(db: Database) -> AsyncIterator[EventHub]:
    yield EventHub(db, max_per_process=100, max_per_caller=100, poll_seconds=0.02, queue_limit=50)


async def _now(db: Database) -> int:
    async with db.session() as session:
        return await max_seq(session)


async def test_many_subscribers_share_one_poll_per_tick(db: Database, hub: EventHub) -> None:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM events" in statement:
            statements.append(statement)

    start = await _now(db)
    subs = [(hub.subscribe(ws, f"caller-{i}", of_type(kind)), ws, kind)
            for i, (ws, kind) in enumerate([(ws, kind) for ws in ("wa", "wb") for kind in ("x", "y")] * 5)]
    readers = [Reader(hub, sub, start) for sub, _, _ in subs]
    writer = EventWriter(db)
    written = {(ws, kind): await writer.write(make(3, ws, kind)) for ws in ("wa", "wb") for kind in ("x", "y")}
    for reader, (_, ws, kind) in zip(readers, subs, strict=True):
        assert await reader.until(3) == sorted(written[(ws, kind)].values())  # its own events only

    # 20 subscribers in live mode: the database sees the hub's polls, not one read per subscriber.
    sa_event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        polls = hub.polls
        while hub.polls < polls + 10:
            await asyncio.sleep(0.01)
        counted = len(statements)
        done = hub.polls - polls
    finally:
        sa_event.remove(db.engine.sync_engine, "before_cursor_execute", count)
    assert counted <= done + 1, (counted, done)  # +1: a poll in flight when counting began
    assert all(len(r.got) == 3 for r in readers)
    for reader in readers:
        await reader.stop()
    await writer.close()


async def test_backlog_then_live_without_a_gap_or_a_repeat(db: Database, hub: EventHub) -> None:
    writer = EventWriter(db)
    start = await _now(db)
    before = await writer.write(make(120, "wc"))  # the backlog: more than the hub's batch
    hub.batch = 40
    other = hub.subscribe("wc", "other", of_type("t"))  # the hub already follows the workspace
    first = Reader(hub, other, await _now(db))
    sub = hub.subscribe("wc", "late", of_type("t"))
    reader = Reader(hub, sub, start)
    during = {}
    for _ in range(10):  # written while the late subscriber catches up
        during.update(await writer.write(make(7, "wc")))
        await asyncio.sleep(0.005)
    expected = sorted([*before.values(), *during.values()])
    assert await reader.until(len(expected)) == expected
    assert await first.until(len(during)) == sorted(during.values())
    await asyncio.sleep(0.1)
    assert len(reader.got) == len(expected)  # nothing twice
    await reader.stop()
    await first.stop()
    await writer.close()


async def test_caps_and_released_slots(db: Database) -> None:
    hub = EventHub(db, max_per_process=3, max_per_caller=2)
    a1, _ = hub.subscribe("w", "alice", of_type("t")), hub.subscribe("w", "alice", of_type("t"))
    with pytest.raises(TooManyRequestsError) as caller_cap:
        hub.subscribe("w", "alice", of_type("t"))
    assert caller_cap.value.details == {"limit": 2, "scope": "caller"}
    assert caller_cap.value.headers["retry-after"].isdigit()
    hub.subscribe("w", "bob", of_type("t"))
    with pytest.raises(TooManyRequestsError) as process_cap:
        hub.subscribe("w", "carol", of_type("t"))
    assert process_cap.value.details == {"limit": 3, "scope": "process"}
    hub.unsubscribe(a1)
    hub.unsubscribe(a1)  # idempotent: frees one slot, once
    assert hub.count == 2 and hub.streams_of("alice") == 1
    hub.subscribe("w", "alice", of_type("t"))
    with pytest.raises(TooManyRequestsError):
        hub.subscribe("w", "dave", of_type("t"))


async def test_a_subscriber_that_does_not_read_is_dropped(db: Database, hub: EventHub) -> None:
    start = await _now(db)
    hub.batch = 10  # one poll never fills a queue on its own
    idle = hub.subscribe("wd", "idle", of_type("t"))
    reading = hub.subscribe("wd", "reading", of_type("t"))
    reader = Reader(hub, reading, start)
    while not idle.ready.is_set():
        await asyncio.sleep(0.01)
    writer = EventWriter(db)
    written = await writer.write(make(hub.queue_limit + 10, "wd"))
    assert await reader.until(len(written)) == sorted(written.values())  # the other one is unaffected
    assert idle.lagging and not idle.queue
    batches = [batch async for batch in hub.deliveries(idle, start, idle_seconds=0.05)]
    assert sum(len(b) for b in batches) == len(written)  # its backlog, then the end of the feed
    await reader.stop()
    await writer.close()


async def test_no_polling_when_nobody_listens(db: Database, hub: EventHub) -> None:
    sub = hub.subscribe("we", "x", of_type("t"))
    assert hub.running
    while hub.polls < 2:
        await asyncio.sleep(0.01)
    hub.unsubscribe(sub)
    for _ in range(100):
        if not hub.running:
            break
        await asyncio.sleep(0.01)
    assert not hub.running
    polls = hub.polls
    await asyncio.sleep(0.1)
    assert hub.polls == polls
