"""Bench (a): events persisted per second through the batch writer (plain script, not a test).

Run: ``.venv/bin/python bench/events_bench.py [--events 100000] [--producers 50] [--batch 20]``.
``PRODUCERS`` coroutines each write batches of ``BATCH`` small events through one
:class:`core.events.writer.EventWriter` until ``EVENTS`` are durable, on

* SQLite: a file database in a temporary directory (WAL, the app's pragmas), and
* PostgreSQL: ``TEST_DATABASE_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``)
  in a private schema created for the run and dropped after it (skipped when unreachable).

Prints events/s per backend (measured from the first write to the last commit).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.events.writer import EventWriter  # noqa: E402
from core.infra.db import Database, migrate_async  # noqa: E402
from schemas.events import EMIT_TOPIC, Event, EventSource  # noqa: E402

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


def make_events(count: int, workspace_id: str) -> list[Event]:
    correlation = uuid.uuid4().hex
    now = datetime.now(UTC)
    return [Event(id=str(uuid.uuid4()), type="bench.tick", createdAt=now, size=40,
                  payload={"n": i, "ok": True, "text": "hello"},
                  source=EventSource(workspaceId=workspace_id, correlationId=correlation,
                                     serviceTopic=EMIT_TOPIC, automationSlug="bench"))
            for i in range(count)]


async def timed_writes(writer: EventWriter, work: list[list[list[Event]]]) -> tuple[float, int, int]:
    """Each list of ``work`` is one producer's write calls, all producers at once through
    ``writer`` (warmed up beforehand); returns (seconds, events written, transactions)."""
    warm_batches = writer.batches

    async def produce(calls: list[list[Event]]) -> int:
        written = 0
        for events in calls:
            written += len(await writer.write(events))
        return written

    started = time.perf_counter()
    counts = await asyncio.gather(*(produce(calls) for calls in work))
    return time.perf_counter() - started, sum(counts), writer.batches - warm_batches


async def run(url: str, *, total: int, producers: int, batch: int, max_batch: int, max_delay: float) -> tuple[float, int]:
    await migrate_async(url)
    db = Database(url)
    writer = EventWriter(db, max_batch=max_batch, max_delay=max_delay)
    per_producer = total // (producers * batch)
    # Build the events first: the bench measures persistence, not pydantic construction.
    work = [[make_events(batch, "wsbench") for _ in range(per_producer)] for _ in range(producers)]
    await writer.write(make_events(1, "wsbench"))  # warm up the pool and the statement cache
    elapsed, written, transactions = await timed_writes(writer, work)
    await writer.close()
    await db.dispose()
    assert written == per_producer * producers * batch, written
    return written / elapsed, transactions


def pg_schema_url(base: str) -> tuple[str, str] | None:
    import psycopg

    schema = f"twbench_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(base, connect_timeout=3, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    except Exception as exc:
        print(f"postgresql: NOT RUN ({base}: {exc.__class__.__name__}: {str(exc).strip()[:120]})")
        return None
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}", schema


def drop_schema(base: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--producers", type=int, default=50)
    parser.add_argument("--batch", type=int, default=20, help="events per write call")
    parser.add_argument("--max-batch", type=int, default=500, help="rows per writer transaction")
    parser.add_argument("--max-delay", type=float, default=0.002)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    opts = {"total": args.events, "producers": args.producers, "batch": args.batch,
            "max_batch": args.max_batch, "max_delay": args.max_delay}
    print(f"{args.events} events, {args.producers} producers x {args.batch} events/write, "
          f"writer max_batch={args.max_batch} max_delay={args.max_delay}s")
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            rate, tx = asyncio.run(run(f"sqlite:///{tmp}/bench.db", **opts))
        print(f"sqlite:     {rate:>10,.0f} events/s  ({tx} transactions)")
    if args.backend in ("postgresql", "both"):
        base = os.environ.get("TEST_DATABASE_URL", DEFAULT_PG).replace("postgresql+psycopg://", "postgresql://")
        made = pg_schema_url(base)
        if made is not None:
            url, schema = made
            try:
                rate, tx = asyncio.run(run(url, **opts))
                print(f"postgresql: {rate:>10,.0f} events/s  ({tx} transactions)")
            finally:
                drop_schema(base, schema)


if __name__ == "__main__":
    main()
