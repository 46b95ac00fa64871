"""The PostgreSQL insert of the event log (one JSON document a chunk) and the writer's
concurrent transactions there: rows stored exactly as the column types would store them."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from core.events.writer import IN_FLIGHT_POSTGRESQL, EventWriter
from schemas.events import Event, EventSource
from tests.stack import Stack


def _event(ws: str, i: int, **source: object) -> Event:
    return Event(id=str(uuid.uuid4()), type="pg.insert", payload={"i": i, "nested": {"list": [1, "two", None]}},
                 createdAt=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC) + timedelta(seconds=i),
                 source=EventSource(workspaceId=ws, correlationId=f"c{i}", **source))  # type: ignore[arg-type]


async def test_rows_keep_every_column_on_postgresql(postgres_stack: Stack) -> None:
    db = postgres_stack.services.db
    ws = f"pgins{uuid.uuid4().hex[:8]}"
    plain = _event(ws, 0)
    nul = Event(id=str(uuid.uuid4()), type="pg.nul", payload={"text": "a\u0000b", "quote": "\"'\\"},
                createdAt=datetime.now(UTC), source=EventSource(workspaceId=ws, correlationId="n"))
    deep = _event(ws, 2, appInstanceDepth=2)
    hidden = Event(id=str(uuid.uuid4()), type="pg.hidden", payload={}, createdAt=datetime.now(UTC),
                   options={"persist": False}, target={"userTopic": "t"},
                   source=EventSource(workspaceId=ws, correlationId="h"))
    writer = EventWriter(db)
    assert writer.max_in_flight == IN_FLIGHT_POSTGRESQL
    seqs = await writer.write([plain, nul, deep, hidden])
    assert list(seqs) == [plain.id, nul.id, deep.id, hidden.id]
    assert sorted(seqs.values()) == list(seqs.values())  # the given order is the log's order
    again = await writer.write([plain, _event(ws, 9)])  # a retried id keeps its seq
    assert again[plain.id] == seqs[plain.id] and len(set(again.values())) == 2
    await writer.close()

    async with db.session() as session:
        rows = {row.id: row for row in (await session.execute(text(
            "SELECT id, type, correlation_id, created_at, size, source, payload, ephemeral, app_depth, "
            "jsonb_typeof(target) AS target_kind, target, options FROM events WHERE workspace_id = :ws"),
            {"ws": ws})).all()}
    assert len(rows) == 5
    stored = rows[plain.id]
    assert stored.created_at == plain.createdAt and stored.correlation_id == "c0"
    assert stored.payload == {"i": 0, "nested": {"list": [1, "two", None]}}
    assert stored.source == {"workspaceId": ws, "correlationId": "c0"}
    assert stored.target_kind == "null" and stored.ephemeral is False and stored.app_depth is None
    assert rows[nul.id].payload == {"text": "a\ufffdb", "quote": "\"'\\"}  # jsonb cannot hold NUL
    assert rows[deep.id].app_depth == 2  # as the column's default computes it
    assert rows[hidden.id].ephemeral is True and rows[hidden.id].target == {"userTopic": "t"}
    assert rows[hidden.id].options == {"persist": False}


async def test_concurrent_callers_get_their_own_seqs_on_postgresql(postgres_stack: Stack) -> None:
    writer = EventWriter(postgres_stack.services.db, max_batch=50, max_delay=0.001)
    ws = f"pgcon{uuid.uuid4().hex[:8]}"
    batches = [[_event(ws, i * 10 + j) for j in range(10)] for i in range(60)]
    results = await asyncio.gather(*(writer.write(batch) for batch in batches))
    await writer.close()
    assert writer.batches > IN_FLIGHT_POSTGRESQL  # several transactions, some of them at once
    every = [seq for result in results for seq in result.values()]
    assert len(set(every)) == 600
    for batch, result in zip(batches, results, strict=True):
        assert list(result) == [event.id for event in batch]
        assert sorted(result.values()) == list(result.values())
