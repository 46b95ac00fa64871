"""The event store as it grows, for bench/search_bench.py (its entry point and its data).

``--backend sqlite`` (default): a temporary SQLite file, or ``--keep PATH`` (continued from the
rows it holds). ``--backend postgresql``: ``TEST_DATABASE_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``) in a private schema made for the run, dropped at the
end unless ``--keep-schema``; the table is ``VACUUM ANALYZE``d before each round of searches (what
autovacuum does to an insert-only table), so plans and index-only scans do not depend on when
autovacuum last ran.

``--checkpoints N1,N2,…`` grows the log to each size in turn (the fast path: big transactions;
dates then advance at 1,000,000 events per 30 days, whatever the sizes) and at each records:

* the size on disk: ``pg_total_relation_size('events')``, or the SQLite file (after a WAL
  checkpoint);
* the searches of bench/search_bench.py (median and worst of the warm runs, hits);
* the write rate of ``--probe-events`` more events of the same shape through the real batching
  writer, :class:`core.events.writer.EventWriter` with its defaults: 50 producers each writing
  batches of 20 events, as bench/events_bench.py does (events built beforehand; measured from the
  first write to the last commit, after one warm-up write). They count toward the next checkpoint.

``--json PATH`` writes it all (``{"backend", "checkpoints": [{"events", "write_events_per_s",
"bytes", "searches"}], "machine", "command"}``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shlex
import sqlite3
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import make_url, text

from bench.events_bench import DEFAULT_PG, drop_schema, pg_schema_url, timed_writes
from core.events.writer import EventWriter
from core.infra.db import Database, migrate_async
from schemas.events import Event

GROWTH_SPAN = 1_000_000  # with --checkpoints, the events whose dates span the 30 days
PRODUCERS, BATCH = 50, 20  # the write probe: concurrent producers × events a write call
DEFAULT_PROBE = 100_000


@dataclass(frozen=True)
class Workload:
    """What bench/search_bench.py writes and reads (``total``: the events spanning the dates)."""

    event_at: Callable[[int, int], Event]  # (index, total) → the index-th event
    seed: Callable[[Database, int, int, int], Awaitable[float]]  # (db, start, stop, total) → seconds
    searches: Callable[[Database, int], Awaitable[dict[str, dict[str, Any]]]]  # (db, runs) → results


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--keep-schema", action="store_true", help="postgresql: keep the schema (its name is printed)")
    parser.add_argument("--checkpoints", type=sizes, help="grow the log to these sizes in turn, e.g. 1000000,3000000")
    parser.add_argument("--probe-events", type=int, default=None,
                        help=f"events written through EventWriter at each checkpoint (default {DEFAULT_PROBE:,} "
                             "with --checkpoints, none without)")
    parser.add_argument("--json", type=Path, help="write the results to this JSON file")


def sizes(value: str) -> list[int]:
    numbers = [int(part.strip().replace("_", "")) for part in value.split(",") if part.strip()]
    if not numbers or numbers[0] < 1 or any(a >= b for a, b in zip(numbers, numbers[1:], strict=False)):
        raise argparse.ArgumentTypeError("positive sizes in ascending order, comma-separated")
    return numbers


def check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.keep and args.backend != "sqlite":
        parser.error("--keep is for --backend sqlite (see --keep-schema)")
    if args.keep_schema and args.backend != "postgresql":
        parser.error("--keep-schema is for --backend postgresql")
    if args.probe_events is None:
        args.probe_events = DEFAULT_PROBE if args.checkpoints else 0
    if args.probe_events < 0:
        parser.error("--probe-events must be 0 or more")


async def run(args: argparse.Namespace, work: Workload) -> None:
    growth = bool(args.checkpoints)
    total = GROWTH_SPAN if growth else args.events
    points: list[dict[str, Any]] = []
    async with open_store(args) as (db, where):
        have = await count_events(db)
        for target in args.checkpoints or [args.events]:
            if target > have:
                seconds = await work.seed(db, have, target, total)
                print(f"seeded {target - have:,} events in {seconds:.1f} s ({where})")
                have = target
            size = await settle(db)
            print(f"== {have:,} events: {size / 1e6:,.1f} MB on disk")
            point: dict[str, Any] = {"events": have, "write_events_per_s": None, "bytes": size,
                                     "searches": await work.searches(db, args.runs)}
            if args.probe_events:
                events = [work.event_at(i, total) for i in range(have, have + args.probe_events)]
                rate, transactions = await write_probe(db, events)
                have += len(events)
                point["write_events_per_s"] = round(rate, 1)
                print(f"write: {len(events):,} more events through EventWriter ({PRODUCERS} producers x {BATCH}): "
                      f"{rate:,.0f} events/s ({transactions} transactions)")
            points.append(point)
        database = await database_version(db)
    if args.json:
        report = {"backend": args.backend, "checkpoints": points,
                  "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                              "python": platform.python_version(), "database": database},
                  "command": shlex.join(sys.orig_argv)}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.json}")


@contextlib.asynccontextmanager
async def open_store(args: argparse.Namespace) -> AsyncIterator[tuple[Database, str]]:
    """The migrated database of the run and where it is; removed afterwards unless kept."""
    if args.backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(args.keep) if args.keep else Path(tmp) / "search.db"
            async with _database(f"sqlite:///{path}") as db:
                yield db, str(path)
        return
    base = os.environ.get("TEST_DATABASE_URL", DEFAULT_PG).replace("postgresql+psycopg://", "postgresql://")
    made = pg_schema_url(base)
    if made is None:
        raise SystemExit(1)
    url, schema = made
    try:
        async with _database(url) as db:
            yield db, f"schema {schema}"
    finally:
        if args.keep_schema:
            print(f"kept schema {schema} (drop it with: DROP SCHEMA \"{schema}\" CASCADE)")
        else:
            drop_schema(base, schema)


@contextlib.asynccontextmanager
async def _database(url: str) -> AsyncIterator[Database]:
    await migrate_async(url)
    db = Database(url)
    try:
        yield db
    finally:
        await db.dispose()


async def count_events(db: Database) -> int:
    async with db.session() as session:
        return int((await session.execute(text("SELECT COUNT(*) FROM events"))).scalar_one())


async def settle(db: Database) -> int:
    """``VACUUM ANALYZE`` the table and return its size with its indexes (PostgreSQL), or
    checkpoint the WAL and return the file's size (SQLite)."""
    async with db.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        if db.url.startswith("sqlite"):
            await conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            path = Path(str(make_url(db.url).database))
            return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
        await conn.execute(text("VACUUM ANALYZE events"))
        return int((await conn.execute(text("SELECT pg_total_relation_size('events')"))).scalar_one())


async def write_probe(db: Database, events: list[Event]) -> tuple[float, int]:
    """Write ``events`` through ``EventWriter(db)``, :data:`PRODUCERS` callers at once each with
    calls of :data:`BATCH` events; return events/s (after one warm-up write) and transactions."""
    writer = EventWriter(db)
    await writer.write(events[:1])  # warm up the pool and the statement cache
    calls = [events[i:i + BATCH] for i in range(1, len(events), BATCH)]
    elapsed, written, transactions = await timed_writes(writer, [calls[p::PRODUCERS] for p in range(PRODUCERS)])
    await writer.close()
    assert written == len(events) - 1, (written, len(events))
    return written / elapsed, transactions


async def database_version(db: Database) -> str:
    if db.url.startswith("sqlite"):
        return f"SQLite {sqlite3.sqlite_version}"
    async with db.session() as session:
        return "PostgreSQL " + str((await session.execute(text("SHOW server_version"))).scalar_one())
