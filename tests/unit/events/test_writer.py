"""The batching event writer on a file SQLite database (PostgreSQL: tests/api/test_events_read.py)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

import core.events.writer as eventwriter
from core.events.store import EVENTS, EventTail, delete_ephemeral, insert_events, max_seq
from core.events.writer import EventWriter, EventWriterClosedError
from core.infra.db import Database
from schemas.events import Event, EventSource


def make(n: int, *, ws: str = "wsw", **extra: Any) -> list[Event]:
    return [Event(id=str(uuid.uuid4()), type="t", createdAt=datetime.now(UTC), payload={"i": i},
                  source=EventSource(workspaceId=ws, correlationId="c"), **extra) for i in range(n)]


async def test_concurrent_writes_are_coalesced(db: Database) -> None:
    writer = EventWriter(db, max_batch=500, max_delay=0.01)
    batches = [make(5) for _ in range(40)]
    results = await asyncio.gather(*(writer.write(b) for b in batches))
    assert writer.batches < 10  # 40 callers, a handful of transactions
    seqs = [s for r in results for s in r.values()]
    assert len(set(seqs)) == 200
    for events, result in zip(batches, results, strict=True):
        assert list(result) == [e.id for e in events]
        assert sorted(result.values()) == list(result.values())  # one caller's events keep their order
    await writer.close()


async def test_writes_are_idempotent_and_durable(db: Database) -> None:
    writer = EventWriter(db, max_delay=0)
    events = make(3)
    first = await writer.write(events)
    again, more = await asyncio.gather(writer.write(events), writer.write([*events[:1], *make(1)]))
    assert again == first and more[events[0].id] == first[events[0].id]
    await writer.close()
    other = Database(db.url)  # a separate engine sees the committed rows
    async with other.session() as session:
        count = len((await session.execute(select(EVENTS.c.id).where(EVENTS.c.workspace_id == "wsw"))).all())
    await other.dispose()
    assert count == 4


async def test_persist_false_is_stored_ephemeral(db: Database) -> None:
    writer = EventWriter(db)
    kept, ephemeral = make(1)[0], make(1, options={"persist": False})[0]
    await writer.write([kept, ephemeral])
    await writer.close()
    async with db.session() as session:
        rows = dict((await session.execute(select(EVENTS.c.id, EVENTS.c.ephemeral))).all())
        assert rows == {kept.id: False, ephemeral.id: True}
        assert await delete_ephemeral(session, before=datetime.now(UTC)) == 1


async def test_insert_events_shares_the_sql(db: Database) -> None:
    events = make(2, options={"persist": False})
    async with db.session() as session:
        assert await insert_events(session, events) == 2
        assert await insert_events(session, events) == 2  # repeated ids are ignored
        assert await max_seq(session, "wsw") == 2


async def test_errors_reach_every_caller_and_close_stops(tmp_path: Path) -> None:
    bare = Database(f"sqlite:///{tmp_path}/empty.db")  # no tables
    writer = EventWriter(bare, max_delay=0.01)
    results = await asyncio.gather(*(writer.write(make(1)) for _ in range(3)), return_exceptions=True)
    assert all(isinstance(r, Exception) and "no such table" in str(r) for r in results)
    await writer.close()
    with pytest.raises(EventWriterClosedError):
        await writer.write(make(1))
    await bare.dispose()


async def test_a_data_error_fails_only_its_caller(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    real = eventwriter.insert_rows
    bad = make(1)[0]

    def picky(conn: Any, rows: Any, **kw: Any) -> dict[str, int]:
        if any(r["id"] == bad.id for r in rows):
            raise IntegrityError("INSERT", {}, Exception("refused"))
        return real(conn, rows, **kw)

    monkeypatch.setattr(eventwriter, "insert_rows", picky)
    writer = EventWriter(db, max_delay=0.01)
    good, failed = await asyncio.gather(writer.write(make(2)), writer.write([bad]), return_exceptions=True)
    assert isinstance(good, dict) and len(good) == 2
    assert isinstance(failed, IntegrityError)
    await writer.close()


async def test_close_flushes_queued_writes(db: Database) -> None:
    writer = EventWriter(db, max_delay=0.05)
    pending = asyncio.ensure_future(writer.write(make(3)))
    await asyncio.sleep(0)
    await writer.close()
    assert len(await pending) == 3


async def test_tail_follows_the_log(db: Database) -> None:
    writer = EventWriter(db)
    await writer.write(make(2))
    async with db.session() as session:
        start = await max_seq(session)
    tail = EventTail(db, "wsw", start, batch=2)
    assert await tail.poll() == []
    written = await writer.write(make(3) + make(1, ws="elsewhere"))
    first, second = await tail.poll(), await tail.poll()
    assert [s for s, _ in first + second] == sorted(written.values())[:3]
    assert all(e["source"]["workspaceId"] == "wsw" for _, e in first + second)
    # The PostgreSQL strategy (settle window) gives the same answer on any backend.
    settled = EventTail(db, "wsw", start, settle=0.05, batch=2)
    assert await EventTail(db, "wsw", 10_000, settle=0.05).poll() == []
    got = [s for s, _ in await settled.poll()] + [s for s, _ in await settled.poll()]
    assert got == [s for s, _ in first + second] and await settled.poll() == []
    await asyncio.sleep(0.06)
    assert await settled.poll() == [] and settled.floor == max(got)
    await writer.close()
