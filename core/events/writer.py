"""One batching event writer per process.

Concurrent :meth:`EventWriter.write` calls (API requests, worker activities: all on one event
loop) are queued and coalesced by a single background task into one transaction: multi-row
``INSERT … ON CONFLICT (id) DO NOTHING`` statements, then one ``SELECT id, seq … WHERE id IN``.
Each caller gets id → seq for its events once the transaction has committed; an error
reaches every caller of the failed batch (a data error is retried caller by caller, so one
bad event cannot fail its neighbours). Works on SQLite (one writer at a time, WAL) and
PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from core.events.store import event_row, insert_rows
from core.infra.db import Database
from core.runs.records import upsert_rows
from schemas.events import Event

log = logging.getLogger("tideway.eventwriter")


@dataclass
class _Pending:
    rows: list[dict[str, Any]]
    future: asyncio.Future[dict[str, int]]
    runs: list[dict[str, Any]]  # run records written in the same transaction (core/runs/records.py)


_STOP = object()
IN_FLIGHT_POSTGRESQL = 3


class EventWriterClosedError(RuntimeError):
    pass


class EventWriter:
    """Coalesces concurrent writes into batched transactions (see module docstring).

    ``max_batch`` bounds the rows gathered into one transaction (a single larger call is still
    written whole, in ``max_batch``-row statements); ``max_delay`` is how long the writer waits
    for more callers once it has something to write, the batch is not full and callers are
    coming together (this batch or the last one gathered several).
    """

    def __init__(self, db: Database, *, max_batch: int = 500, max_delay: float = 0.002,
                 max_in_flight: int | None = None):
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.db = db
        # Transactions committing at once. PostgreSQL takes concurrent writers: while one batch
        # commits the next is gathered and sent (1.6× the rate of one at a time on
        # bench/events_bench.py). SQLite has one writer: a second transaction would only wait.
        # Out-of-order commits are safe: readers follow the log by committed seq (EventTail).
        if max_in_flight is None:
            max_in_flight = 1 if db.url.startswith("sqlite") else IN_FLIGHT_POSTGRESQL
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self.max_in_flight = max_in_flight
        self.max_batch = max_batch
        self.max_delay = max(0.0, max_delay)
        self._queue: asyncio.Queue[Any] | None = None
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self.batches = 0  # transactions committed (for benches and tests)
        self._busy = False  # the last batch gathered several callers

    async def write(self, events: Sequence[Event], runs: Sequence[dict[str, Any]] = ()) -> dict[str, int]:
        """Persist events durably, and the run records given with them in the same transaction;
        return id → seq for each event (existing ids keep their seq)."""
        if self._closed:
            raise EventWriterClosedError("the event writer is closed")
        if not events and not runs:
            return {}
        rows = [event_row(e) for e in events]
        queue = self._ensure_running()
        future: asyncio.Future[dict[str, int]] = asyncio.get_running_loop().create_future()
        queue.put_nowait(_Pending(rows, future, list(runs)))
        return await future

    async def close(self) -> None:
        """Flush what is queued, then stop the background task. Further writes fail."""
        self._closed = True
        task, queue = self._task, self._queue
        self._task = self._queue = self._loop = None
        if task is None or queue is None or task.done():
            return
        queue.put_nowait(_STOP)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    def _ensure_running(self) -> asyncio.Queue[Any]:
        loop = asyncio.get_running_loop()
        if self._task is None or self._queue is None or self._loop is not loop or self._task.done():
            # First use, or a new event loop (tests): the old task, if any, died with its loop.
            self._loop = loop
            self._queue = asyncio.Queue()
            self._task = loop.create_task(self._run(self._queue), name="tideway-event-writer")
        return self._queue

    async def _run(self, queue: asyncio.Queue[Any]) -> None:
        slots = asyncio.Semaphore(self.max_in_flight)
        in_flight: set[asyncio.Task[None]] = set()

        async def flush(batch: list[_Pending]) -> None:
            try:
                await self._flush(batch)
            finally:
                slots.release()

        try:
            await self._gather_batches(queue, slots, in_flight, flush)
        finally:
            if in_flight:  # what was taken from the queue is written before the writer stops
                await asyncio.gather(*in_flight, return_exceptions=True)

    async def _gather_batches(self, queue: asyncio.Queue[Any], slots: asyncio.Semaphore,
                              in_flight: set[asyncio.Task[None]],
                              flush: Callable[[list[_Pending]], Coroutine[Any, Any, None]]) -> None:
        stopping = False
        while not stopping:
            item = await queue.get()
            if item is _STOP:
                return
            batch: list[_Pending] = [item]
            size = len(item.rows) + len(item.runs)
            stopping, size = self._drain(queue, batch, size)
            # Wait for more callers only under load (the previous batch had several): a lone
            # caller, as in sequential webhook calls, is written at once.
            if not stopping and size < self.max_batch and self.max_delay > 0 and (self._busy or len(batch) > 1):
                await asyncio.sleep(self.max_delay)
                stopping, size = self._drain(queue, batch, size)
            self._busy = len(batch) > 1
            await slots.acquire()
            if self.max_in_flight == 1:
                await flush(batch)
                continue
            task = asyncio.create_task(flush(batch))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)

    def _drain(self, queue: asyncio.Queue[Any], batch: list[_Pending], size: int) -> tuple[bool, int]:
        while size < self.max_batch:
            try:
                item = queue.get_nowait()
            except asyncio.QueueEmpty:
                break
            if item is _STOP:
                return True, size
            batch.append(item)
            size += len(item.rows) + len(item.runs)
        return False, size

    async def _flush(self, batch: list[_Pending]) -> None:
        try:
            seqs = await self._commit([row for p in batch for row in p.rows], [run for p in batch for run in p.runs])
            results = [{row["id"]: seqs[row["id"]] for row in p.rows} for p in batch]
        except Exception as exc:
            if len(batch) > 1 and _is_data_error(exc):
                for pending in batch:  # isolate the culprit: one transaction per caller
                    await self._flush([pending])
                return
            log.warning("event batch of %d callers failed: %s", len(batch), exc)
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(exc)
            return
        for pending, result in zip(batch, results, strict=True):
            if not pending.future.done():  # a cancelled caller's events are written all the same
                pending.future.set_result(result)

    async def _commit(self, rows: list[dict[str, Any]], runs: list[dict[str, Any]]) -> dict[str, int]:
        def commit(session: Any) -> dict[str, int]:
            conn = session.connection()
            seqs = insert_rows(conn, rows, chunk=self.max_batch)
            if runs:
                upsert_rows(conn, runs)
            return seqs

        seqs = await self.db.run_sync(commit)
        self.batches += 1
        return seqs


def _is_data_error(exc: Exception) -> bool:
    """A statement refused for its data (constraint, type, length), not an unreachable database."""
    return isinstance(exc, DBAPIError) and not isinstance(exc, OperationalError | InterfaceError) and not (
        exc.connection_invalidated)
