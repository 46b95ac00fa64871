"""The event log: idempotent batch inserts, the public event shape, simple reads.

Writes go through :func:`insert_rows` (one multi-row ``INSERT … ON CONFLICT (id) DO NOTHING``
per chunk, then one ``SELECT id, seq … WHERE id IN (…)``), used both by
:func:`insert_events` (inside a caller's session) and by the batching
:class:`core.events.writer.EventWriter`. Searches live in :mod:`core.events.search`.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, text
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.infra.db import insert_for, postgres_json
from core.infra.tables import Event as EventRow
from core.infra.tables import app_depth_of
from schemas.events import Event

EVENTS = EventRow.__table__  # type: ignore[attr-defined]
# Rows per INSERT statement: 11 bound values a row stays far below SQLite's 32,766 and
# PostgreSQL's 65,535 parameters.
CHUNK_ROWS = 500


def event_row(event: Event) -> dict[str, Any]:
    """The table row of an event; ``options.persist: false`` events are stored ephemeral."""
    public = event.to_public()
    return {
        "id": event.id,
        "workspace_id": event.source.workspaceId,
        "type": event.type,
        "correlation_id": event.source.correlationId,
        "created_at": event.createdAt,
        "size": event.size,
        "source": public["source"],
        "payload": public.get("payload"),
        "target": public.get("target"),
        "options": public.get("options"),
        "ephemeral": not event.persist,
    }


def insert_rows(conn: Connection, rows: Sequence[dict[str, Any]], *,
                      chunk: int = CHUNK_ROWS) -> dict[str, int]:
    """Insert rows (idempotent on ``id``) in the connection's transaction; return id → seq for
    every given row, existing ids included. The caller commits. Synchronous, for
    :meth:`core.infra.db.Database.run_sync` (or ``AsyncConnection.run_sync`` in a caller's session).

    One cached Core statement ``INSERT … ON CONFLICT (id) DO NOTHING`` run over the rows in
    chunks of ``chunk`` (measured, bench/events_bench.py):

    * SQLite: with ``RETURNING id, seq``, which SQLAlchemy sends as multi-row ``VALUES``
      batches ("insertmanyvalues") compiled once; only ids that already existed are
      looked up afterwards.
    * PostgreSQL: one ``INSERT … SELECT … FROM json_to_recordset(:rows) … RETURNING id, seq``
      a chunk, its rows sent as one JSON document: one ``json.dumps`` and one parameter,
      where an executemany paid psycopg's per-row protocol work and per-value adaptation
      (2× the rate on bench/events_bench.py).

    Ids that already existed (a retried write) are looked up afterwards.
    """
    if not rows:
        return {}
    dialect = conn.dialect.name
    unique: dict[str, dict[str, Any]] = {}
    for row in rows:
        unique.setdefault(row["id"], row)
    values = list(unique.values())
    stmt = insert_for(dialect)(EVENTS).on_conflict_do_nothing(index_elements=["id"])
    seqs: dict[str, int] = {}
    if dialect == "sqlite":
        stmt = stmt.returning(EVENTS.c.id, EVENTS.c.seq)
        for start in range(0, len(values), chunk):
            result = conn.execute(stmt, values[start:start + chunk])
            seqs.update({row_id: int(seq) for row_id, seq in result.all()})
    else:
        for start in range(0, len(values), chunk):
            result = conn.execute(_PG_RECORDSET_INSERT, _pg_rows(values[start:start + chunk]))
            seqs.update({row_id: int(seq) for row_id, seq in result.all()})
    missing = [row_id for row_id in unique if row_id not in seqs]
    for start in range(0, len(missing), chunk * 4):
        part = missing[start:start + chunk * 4]
        result = conn.execute(sa_select(EVENTS.c.id, EVENTS.c.seq).where(EVENTS.c.id.in_(part)))
        seqs.update({row_id: int(seq) for row_id, seq in result.all()})
    return seqs


# The columns of an event row with their PostgreSQL types, read from the table (seq is assigned).
_PG_COLUMNS = tuple((column.name, str(column.type.compile(dialect=postgresql.dialect())))
                    for column in EVENTS.columns if column.name != "seq")
# A missing JSON value is stored as JSON ``null`` (what the JSON column type writes for None).
_PG_SELECTED = ", ".join(f"COALESCE(r.{name}, CAST('null' AS jsonb))" if kind == "JSONB" and name != "source"
                         else f"r.{name}" for name, kind in _PG_COLUMNS)
_PG_RECORDSET_INSERT = text(
    f"INSERT INTO events ({', '.join(name for name, _ in _PG_COLUMNS)}) SELECT {_PG_SELECTED} "
    f"FROM json_to_recordset(CAST(:rows AS json)) AS r({', '.join(f'{n} {k}' for n, k in _PG_COLUMNS)}) "
    "ON CONFLICT (id) DO NOTHING RETURNING id, seq")


def _pg_rows(rows: Sequence[dict[str, Any]]) -> dict[str, str]:
    """A chunk of rows as the one JSON parameter of :data:`_PG_RECORDSET_INSERT` (one
    ``json.dumps`` for the chunk; ``app_depth`` as the column's default computes it)."""
    chunk = [{**row, "created_at": row["created_at"].isoformat(), "app_depth": app_depth_of(row["source"])}
             for row in rows]
    return {"rows": postgres_json(chunk)}


async def insert_events(session: AsyncSession, events: Sequence[Event]) -> int:
    """Insert events and commit; a repeated id is ignored (retries apply once). Events with
    ``options.persist: false`` are stored ephemeral (live delivery only). Returns the number
    of events given."""
    rows = [event_row(e) for e in events]
    if not rows:
        return 0
    conn = await session.connection()
    await conn.run_sync(insert_rows, rows)
    await session.commit()
    return len(rows)


def format_created(value: datetime) -> str:
    if value.tzinfo is not None:
        return value.isoformat().replace("+00:00", "Z")
    return value.isoformat() + "Z"  # SQLite returns naive UTC datetimes


def row_to_public(row: Any) -> dict[str, Any]:
    """The public JSON of a stored event (an ORM ``Event`` row or a Core row with its columns)."""
    data: dict[str, Any] = {"id": row.id, "type": row.type, "source": row.source,
                            "payload": row.payload if row.payload is not None else {},
                            "createdAt": format_created(row.created_at), "size": row.size}
    if row.target:
        data["target"] = row.target
    if row.options:
        data["options"] = row.options
    return data


async def max_seq(session: AsyncSession, workspace_id: str | None = None) -> int:
    """The newest sequence number (of a workspace, or of the whole log); 0 when empty."""
    stmt = sa_select(func.max(EVENTS.c.seq))
    if workspace_id is not None:
        stmt = stmt.where(EVENTS.c.workspace_id == workspace_id)
    value = (await session.execute(stmt)).scalar()
    return int(value or 0)


async def delete_ephemeral(session: AsyncSession, *, before: datetime) -> int:
    """Drop ephemeral (``persist: false``) events created before ``before``; returns the count."""
    result = await session.execute(delete(EVENTS).where(EVENTS.c.ephemeral.is_(True),
                                                        EVENTS.c.created_at < before))
    await session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


async def query_events(session: AsyncSession, workspace_id: str, *, types: list[str] | None = None,
                       correlation_id: str | None = None, page: int = 0, limit: int = 50) -> list[dict[str, Any]]:
    """Newest first (by log sequence); ephemeral events excluded. Kept for simple callers;
    the API uses :func:`core.events.search.search_events`."""
    stmt = select(EventRow).where(EventRow.workspace_id == workspace_id, col(EventRow.ephemeral).is_(False))
    if types:
        stmt = stmt.where(col(EventRow.type).in_(types))
    if correlation_id:
        stmt = stmt.where(EventRow.correlation_id == correlation_id)
    stmt = stmt.order_by(col(EventRow.seq).desc()).offset(page * limit).limit(limit)
    rows = (await session.exec(stmt)).all()  # type: ignore[call-overload]
    return [row_to_public(r) for r in rows]


class EventTail:
    """Follows the log of one or several workspaces by ``seq`` (ephemeral events included), for
    live delivery across processes: each :meth:`poll` returns the events committed since the
    last one, in ``seq`` order. ``workspace_ids`` may be changed between polls (the process's
    stream hub follows the workspaces its subscribers watch, ``core.events.hub``).

    On SQLite writers are serialized, so ``seq`` order is commit order and the cursor is the
    last seq returned. On PostgreSQL a transaction may commit after one holding a higher seq;
    the tail keeps re-reading the seqs above a floor that only advances to a seq observed at
    least ``settle`` seconds earlier (a transaction allocates its seq before a later one
    commits, and commits within ``settle``), skipping the ones already returned. Every seq at or
    below ``floor`` is committed, whatever its workspace.
    """

    def __init__(self, db: Any, workspace_ids: str | Sequence[str], after_seq: int, *,
                 settle: float | None = None, batch: int = 500):
        self.db = db
        self.workspace_ids = [workspace_ids] if isinstance(workspace_ids, str) else list(workspace_ids)
        self.floor = after_seq
        self.batch = batch
        dialect = db.engine.dialect.name
        self.settle = settle if settle is not None else (0.0 if dialect == "sqlite" else 2.0)
        self._seen: set[int] = set()
        self._marks: collections.deque[tuple[float, int]] = collections.deque()

    def _in_workspaces(self) -> Any:
        ids = self.workspace_ids
        return EVENTS.c.workspace_id == ids[0] if len(ids) == 1 else EVENTS.c.workspace_id.in_(ids)

    async def poll(self) -> list[tuple[int, dict[str, Any]]]:
        if not self.workspace_ids:
            return []
        started = time.monotonic()
        scope = self._in_workspaces()
        base = sa_select(EVENTS).where(scope)
        async with self.db.session() as session:
            if self.settle <= 0:
                rows = (await session.execute(base.where(EVENTS.c.seq > self.floor)
                                              .order_by(EVENTS.c.seq).limit(self.batch))).all()
                if rows:
                    self.floor = int(rows[-1].seq)
                return [(int(r.seq), row_to_public(r)) for r in rows]
            seqs = (await session.execute(
                sa_select(EVENTS.c.seq).where(scope, EVENTS.c.seq > self.floor)
                .order_by(EVENTS.c.seq).limit(self.batch * 10))).scalars().all()
            unseen = [int(s) for s in seqs if int(s) not in self._seen]
            fresh = unseen[:self.batch]
            # Only seqs up to the last one returned may count as observed.
            mark = (int(seqs[-1]) if len(unseen) <= self.batch else fresh[-1]) if seqs else self.floor
            rows = []
            if fresh:
                rows = list((await session.execute(base.where(EVENTS.c.seq.in_(fresh))
                                                   .order_by(EVENTS.c.seq))).all())
        if seqs:
            self._marks.append((started, mark))
        self._seen.update(int(r.seq) for r in rows)
        # Everything at or below a seq seen `settle` seconds before this read was visible to it.
        while self._marks and started - self._marks[0][0] >= self.settle:
            self.floor = max(self.floor, self._marks.popleft()[1])
        self._seen = {s for s in self._seen if s > self.floor}
        return [(int(r.seq), row_to_public(r)) for r in rows]
