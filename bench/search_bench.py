"""Bench: ``POST …/search`` (docs/search.md) over a large event log, and the event store as it
grows (plain script, not a test).

Run: ``.venv/bin/python bench/search_bench.py [--events 1000000] [--runs 7] [--keep PATH]``, or
``… --backend postgresql --checkpoints 1000000,3000000 --json bench/results/eventstore-scale.json``.

Seeds ``EVENTS`` events of one workspace (plus 2% in another) through
:func:`core.events.store.insert_rows` in big transactions (the app's migrations and pragmas): 50
event types (one of them rare), a correlation id per 10 events, 30 days of dates, a few app events
nested 2 deep. Then times ``core.events.es_search.search_events`` (translation + SQL, the count and
the first page of 10) for a superadmin and for a workspace owner (whose read rule and the app-depth
rule are SQL too): a ``term`` on ``type`` (common and rare), a ``term`` on
``source.correlationId``, and aggregations. Prints the median and the worst of ``RUNS`` warm runs,
in milliseconds. The store is a temporary SQLite file by default; ``--backend postgresql`` and
``--checkpoints`` (the log grown to several sizes, with the write rate at each) are in
bench/eventstore_scale.py.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import eventstore_scale as scale  # noqa: E402
from core.access.permissions.checks import member_permissions  # noqa: E402
from core.events.es_search import Reader, search_events  # noqa: E402
from core.events.store import insert_rows  # noqa: E402
from core.infra.db import Database  # noqa: E402
from schemas.api.search import parse_search_body  # noqa: E402
from schemas.events import EMIT_TOPIC, Event, EventSource  # noqa: E402

WORKSPACE, OTHER = "wsbench", "wsother"
TYPES = [f"orders.step{i:02d}" for i in range(49)] + ["orders.rare"]
START = datetime(2024, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=30)


def row_at(i: int, total: int) -> dict[str, Any]:
    """The ``i``-th event row, in the shape of ``core.events.store.event_row``; the dates of
    ``total`` events span :data:`SPAN`."""
    workspace = OTHER if i % 50 == 49 else WORKSPACE
    correlation = f"corr-{i // 10:08d}"
    source: dict[str, Any] = {"workspaceId": workspace, "correlationId": correlation, "serviceTopic": EMIT_TOPIC,
                              "userId": f"user-{i % 1000}", "automationSlug": "bench"}
    if i % 100 == 3:
        source["appInstanceDepth"] = 2
    return {"id": f"ev-{i:09d}", "workspace_id": workspace,
            "type": TYPES[-1] if i % 10_000 == 7 else TYPES[i % 49], "correlation_id": correlation,
            "created_at": START + SPAN * (i / total), "size": 60, "source": source,
            "payload": {"n": i % 997, "user": f"user-{i % 1000}", "ok": i % 2 == 0}, "target": None,
            "options": None, "ephemeral": False}


def event_at(i: int, total: int) -> Event:
    """:func:`row_at` as an event, for the batching writer."""
    row = row_at(i, total)
    return Event(id=row["id"], type=row["type"], source=EventSource(**row["source"]), payload=row["payload"],
                 createdAt=row["created_at"], size=row["size"])


async def seed(db: Database, start: int, stop: int, total: int) -> float:
    """Insert rows ``start`` to ``stop`` (excluded) in transactions of 50,000; return seconds."""
    started = time.perf_counter()
    chunk = 50_000
    for first in range(start, stop, chunk):
        batch = [row_at(i, total) for i in range(first, min(first + chunk, stop))]
        async with db.session() as session:
            conn = await session.connection()
            await conn.run_sync(insert_rows, batch)
            await session.commit()
    return time.perf_counter() - started


QUERIES: dict[str, dict[str, Any]] = {
    "term type (common, ~20k hits)": {"query": {"term": {"type": TYPES[5]}}},
    "term type (rare, ~100 hits)": {"query": {"term": {"type": "orders.rare"}}},
    "term type (rare), sort @timestamp desc": {"query": {"term": {"type": "orders.rare"}},
                                               "sort": [{"@timestamp": "desc"}]},
    "term source.correlationId": {"query": {"term": {"source.correlationId": "corr-00043210"}}},
    "bool: term type + range @timestamp": {"query": {"bool": {"filter": [
        {"term": {"type": TYPES[5]}}, {"range": {"@timestamp": {"gte": "2024-01-10", "lt": "2024-01-12"}}}]}}},
    "agg: date_histogram 1d of a type": {"query": {"term": {"type": TYPES[5]}}, "limit": 0,
                                         "aggs": {"per_day": {"date_histogram": {"field": "@timestamp",
                                                                                 "fixed_interval": "1d"}}}},
    "agg: terms type, whole workspace": {"query": {"match_all": {}}, "limit": 0,
                                         "aggs": {"types": {"terms": {"field": "type", "size": 5}}}},
}


async def measure(db: Database, body: dict[str, Any], reader: Reader, runs: int) -> tuple[float, float, int]:
    parsed, problems = parse_search_body(body)
    times, size = [], 0
    for _ in range(runs + 1):  # the first run warms the cache and is not counted
        async with db.session() as session:
            started = time.perf_counter()
            answer = await search_events(session, WORKSPACE, parsed, reader, problems=problems)
            times.append((time.perf_counter() - started) * 1000)
        size = answer["size"]
    return statistics.median(times[1:]), max(times[1:]), size


async def searches(db: Database, runs: int) -> dict[str, dict[str, Any]]:
    """Time every query for each caller; print a line each and return them by ``query [caller]``."""
    owner = member_permissions(WORKSPACE, None, user_id="owner-1", role="owner")
    readers = {"superadmin": Reader(), "owner": Reader(perms=owner, max_depth=1)}
    print(f"{'query':42} {'caller':10} {'size':>8} {'median ms':>10} {'worst ms':>9}")
    results: dict[str, dict[str, Any]] = {}
    for label, body in QUERIES.items():
        for who, reader in readers.items():
            median, worst, size = await measure(db, body, reader, runs)
            print(f"{label:42} {who:10} {size:>8} {median:>10.1f} {worst:>9.1f}")
            results[f"{label} [{who}]"] = {"median_ms": round(median, 3), "worst_ms": round(worst, 3), "hits": size}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="the size, without --checkpoints")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", help="reuse (or create) this SQLite file instead of a temporary one")
    scale.add_arguments(parser)
    args = parser.parse_args()
    scale.check_arguments(parser, args)
    asyncio.run(scale.run(args, scale.Workload(event_at=event_at, seed=seed, searches=searches)))


if __name__ == "__main__":
    main()
