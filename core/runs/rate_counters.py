"""The counters of the ``rateLimit`` instruction: fixed windows shared by every worker and api
process through the database (SQLite and PostgreSQL).

A window opens with the first take of a consumer (per workspace, scope, name, consumer) when it
has no open window, and lasts ``window`` seconds; ``limit`` points may be taken in it. A take of
``n`` points is one statement, atomic on both databases::

    INSERT … VALUES (key, window [now, now + window), count n) ON CONFLICT (key) DO UPDATE
        SET count = CASE WHEN the stored window is open THEN count + n ELSE n END,
            window = CASE WHEN open THEN the stored one ELSE [now, now + window) END
        WHERE the stored window has ended OR count + n <= limit
    RETURNING count, window end

PostgreSQL re-checks the ``WHERE`` on the newest version of a row another transaction just
updated, SQLite runs one writer at a time: concurrent takes never let more than ``limit`` points
through. A take the ``WHERE`` refuses changes nothing: **a refused take consumes no points**
(a consumer that keeps knocking is not pushed further back, and exactly ``limit`` takes pass per
window). The take's answer is recorded under its ``take_id`` in the same transaction, written
first, so a retried local activity answers what the committed attempt answered and counts once.

Windows that have ended are deleted lazily (:func:`sweep`, at most once a minute per process):
a missing row and an ended window mean the same, so nothing depends on when that happens.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from sqlalchemy import case, delete, not_, or_, select
from sqlalchemy.engine import Connection
from sqlmodel import Session

from core.infra.db import insert_for
from core.infra.tables import RateCounter, RateTake
from schemas.runs import RateLimitRequest, RateLimitResult

COUNTERS = RateCounter.__table__  # type: ignore[attr-defined]
TAKES = RateTake.__table__  # type: ignore[attr-defined]
# A take's answer is kept this long after its window ends: retries of a local activity come
# within minutes (a worker lost mid-task included).
TAKE_MEMORY_MS = 3600 * 1000
SWEEP_BATCH = 5000


def counter_key(workspace_id: str, scope: str, name: str, consumer: str) -> str:
    """The row key: a digest, so the four parts may be any length (and contain any character)."""
    parts = "\x00".join((workspace_id, scope, name, consumer))
    return hashlib.sha256(parts.encode("utf-8", "surrogatepass")).hexdigest()


def window_ms(window: float) -> int:
    return max(1, round(window * 1000))


def _seconds_until(end_ms: int, now_ms: int) -> float:
    return max(0.001, (end_ms - now_ms) / 1000)


def _refused(remaining: int, end_ms: int, now_ms: int) -> RateLimitResult:
    return RateLimitResult(ok=False, remaining=max(0, remaining), retry_after=_seconds_until(end_ms, now_ms))


def take(session: Session, request: RateLimitRequest, now: float | None = None) -> RateLimitResult:
    """Take ``request.consume`` points (a unit of work for ``Database.run_sync``: safe to run
    again after a rollback)."""
    now_ms = int((time.time() if now is None else now) * 1000)
    end = now_ms + window_ms(request.window)
    conn = session.connection()
    insert = insert_for(conn.dialect.name)
    # First the take's own row: a write, so SQLite takes its lock before anything is read.
    fresh = conn.execute(insert(TAKES).values(
        take_id=request.take_id, ok=False, remaining=0, window_end=end, expires_at=end + TAKE_MEMORY_MS,
    ).on_conflict_do_nothing(index_elements=["take_id"]).returning(TAKES.c.take_id)).first()
    if fresh is None:  # an attempt that committed already: answer what it answered
        done = conn.execute(select(TAKES.c.ok, TAKES.c.remaining, TAKES.c.window_end)
                            .where(TAKES.c.take_id == request.take_id)).one()
        return RateLimitResult(ok=bool(done.ok), remaining=int(done.remaining),
                               retry_after=0.0 if done.ok else _seconds_until(int(done.window_end), now_ms))
    answer, end = _count(conn, request, now_ms, insert)
    conn.execute(TAKES.update().where(TAKES.c.take_id == request.take_id).values(
        ok=answer.ok, remaining=answer.remaining, window_end=end, expires_at=end + TAKE_MEMORY_MS))
    return answer


def _count(conn: Connection, request: RateLimitRequest, now_ms: int, insert: Any) -> tuple[RateLimitResult, int]:
    """Count the take in the consumer's current window (a new one when there is none); returns
    the answer and the end of the window it was counted in (or refused by)."""
    key = counter_key(request.workspace_id, request.scope, request.name, request.consumer)
    size = window_ms(request.window)
    if request.consume > request.limit:  # can never pass: nothing to count
        stored = _stored(conn, key)
        if stored is None or stored[1] <= now_ms:
            return _refused(request.limit, now_ms + size, now_ms), now_ms + size
        return _refused(request.limit - stored[0], stored[1], now_ms), stored[1]
    stmt = insert(COUNTERS).values(key=key, workspace_id=request.workspace_id, scope=request.scope,
                                   name=request.name, consumer=request.consumer, window_start=now_ms,
                                   window_end=now_ms + size, count=request.consume)
    # The stored window is still open at this take's time (excluded.window_start is "now").
    current = COUNTERS.c.window_end > stmt.excluded.window_start
    stmt = stmt.on_conflict_do_update(
        index_elements=["key"],
        set_={"count": case((current, COUNTERS.c.count + stmt.excluded.count), else_=stmt.excluded.count),
              "window_start": case((current, COUNTERS.c.window_start), else_=stmt.excluded.window_start),
              "window_end": case((current, COUNTERS.c.window_end), else_=stmt.excluded.window_end)},
        where=or_(not_(current), COUNTERS.c.count + stmt.excluded.count <= request.limit),
    ).returning(COUNTERS.c.count, COUNTERS.c.window_end)
    counted = conn.execute(stmt).first()
    if counted is not None:
        used, end = int(counted[0]), int(counted[1])
        return RateLimitResult(ok=True, remaining=max(0, request.limit - used), retry_after=0.0), end
    # Refused: the current window is full (an ended one would have been replaced).
    stored = _stored(conn, key)
    assert stored is not None  # the conflict that refused the take is this row
    return _refused(request.limit - stored[0], stored[1], now_ms), stored[1]


def _stored(conn: Connection, key: str) -> tuple[int, int] | None:
    """The counter's (count, window end), if it has a row."""
    row = conn.execute(select(COUNTERS.c.count, COUNTERS.c.window_end).where(COUNTERS.c.key == key)).first()
    return None if row is None else (int(row[0]), int(row[1]))


def sweep(session: Session, now: float | None = None, batch: int = SWEEP_BATCH) -> int:
    """Delete ended windows and forgotten takes (at most ``batch`` of each); returns the count."""
    now_ms = int((time.time() if now is None else now) * 1000)
    conn = session.connection()
    # The condition is repeated outside the sub-select: PostgreSQL re-checks it on a row a
    # concurrent take has just moved to a new window, which must stay.
    ended = COUNTERS.c.window_end <= now_ms
    gone = conn.execute(delete(COUNTERS).where(
        ended, COUNTERS.c.key.in_(select(COUNTERS.c.key).where(ended).limit(batch).scalar_subquery()))).rowcount
    old = TAKES.c.expires_at <= now_ms
    gone += conn.execute(delete(TAKES).where(
        old, TAKES.c.take_id.in_(select(TAKES.c.take_id).where(old).limit(batch).scalar_subquery()))).rowcount
    return int(gone or 0)


class Sweeper:
    """Runs :func:`sweep` at most once per ``every`` seconds in a process (lazy clean-up)."""

    def __init__(self, every: float = 60.0):
        self.every = every
        self.last = 0.0

    def due(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        if now - self.last < self.every:
            return False
        self.last = now
        return True
