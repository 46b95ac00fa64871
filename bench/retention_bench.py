"""Bench: the retention pass over a large seeded events table (plain script, not a test).

Run: ``.venv/bin/python bench/retention_bench.py [--events 1000000] [--backend sqlite|postgres|both]
[--batch 5000] [--sizes 100000,1000000]``.

Seeds ``--events`` events (fast path: the database driver directly) spread as

* 60 % in 100 live, active workspaces, 40 % of those older than 3 years (rule 1 deletes them),
* 10 % in small workspaces (50 events each, 20 days old: rule 2 deletes them all),
* 10 % in workspaces deleted 200 days ago (rule 3 deletes them all),
* 20 % recent events in active workspaces (kept),

interleaved in ``seq`` order, then runs :func:`core.events.retention.run_retention` (the code the
RetentionWorkflow's activities run) once, then a second time (which must delete nothing).
Prints the time, the rows deleted per second and the peak resident memory above the level
before the run (sampled every 20 ms), for every size of ``--sizes`` so that memory can be
compared as the table grows: batches keep it flat.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.events.retention import RetentionPolicy, run_retention  # noqa: E402
from core.infra.db import Database, migrate_async  # noqa: E402

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * PAGE


class PeakMemory:
    """Samples the resident set size in a thread; ``peak - base`` is what the run added."""

    def __init__(self) -> None:
        self.base = rss_bytes()
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            time.sleep(0.02)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())


def plan(total: int, now: datetime) -> tuple[Iterator[tuple[str, str, datetime]], dict[str, datetime], dict[str, int]]:
    """(workspace id, type, created_at) rows in insertion order, deleted workspaces, expectations."""
    rng = random.Random(7)
    active = [f"act{i:04d}" for i in range(100)]
    small_count = max(1, total // 10 // 50)
    small = [f"sml{i:05d}" for i in range(small_count)]
    gone = [f"del{i:04d}" for i in range(100)]
    n_active_old = int(total * 0.6 * 0.4)
    n_active_new = int(total * 0.6) - n_active_old + int(total * 0.2)
    n_small = small_count * 50
    n_gone = total - n_active_old - n_active_new - n_small
    kinds = ["old"] * n_active_old + ["new"] * n_active_new + ["small"] * n_small + ["gone"] * n_gone
    rng.shuffle(kinds)
    expected = {"expired": n_active_old, "small": n_small, "gone": n_gone, "kept": n_active_new}

    def rows() -> Iterator[tuple[str, str, datetime]]:
        small_i = 0
        for kind in kinds:
            if kind == "old":
                yield rng.choice(active), "tick", now - timedelta(days=3 * 365 + 1 + rng.random() * 300)
            elif kind == "new":
                yield rng.choice(active), "tick", now - timedelta(days=rng.random() * 10)
            elif kind == "small":
                yield small[small_i // 50], "tick", now - timedelta(days=20, minutes=small_i % 50)
                small_i += 1
            else:
                yield rng.choice(gone), "tick", now - timedelta(days=250)

    return rows(), {g: now - timedelta(days=200) for g in gone}, expected


def seed_sqlite(path: str, rows: Iterator[tuple[str, str, datetime]], deleted: dict[str, datetime],
                total: int) -> None:
    conn = sqlite3.connect(path)
    fmt = "%Y-%m-%d %H:%M:%S.%f"
    conn.executemany("INSERT INTO workspaces (id, slug, name, revision, created_at, updated_at, deleted_at) "
                     "VALUES (?, ?, ?, 1, ?, ?, ?)",
                     [(w, w, w, at.strftime(fmt), at.strftime(fmt), at.strftime(fmt)) for w, at in deleted.items()])

    def values() -> Iterator[tuple[object, ...]]:
        for i, (ws, type_, created) in enumerate(rows):
            yield (uuid.uuid4().hex, ws, type_, None, created.strftime(fmt), 20,
                   json.dumps({"workspaceId": ws, "correlationId": "c"}), json.dumps({"i": i}), 0)

    conn.executemany("INSERT INTO events (id, workspace_id, type, correlation_id, created_at, size, source, payload, "
                     "ephemeral) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", values())
    conn.commit()
    conn.close()


def seed_postgres(url: str, schema: str, rows: Iterator[tuple[str, str, datetime]],
                  deleted: dict[str, datetime]) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=False) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO workspaces (id, slug, name, revision, created_at, updated_at, deleted_at) "
                            "VALUES (%s, %s, %s, 1, %s, %s, %s)",
                            [(w, w, w, at, at, at) for w, at in deleted.items()])
            with cur.copy("COPY events (id, workspace_id, type, created_at, size, source, payload, ephemeral) "
                          "FROM STDIN") as copy:
                for i, (ws, type_, created) in enumerate(rows):
                    copy.write_row((uuid.uuid4().hex, ws, type_, created, 20,
                                    json.dumps({"workspaceId": ws, "correlationId": "c"}), json.dumps({"i": i}),
                                    False))
        conn.commit()
        conn.execute("ANALYZE events")


async def bench_one(backend: str, total: int, batch: int) -> dict[str, object]:
    now = datetime.now(UTC)
    rows, deleted, expected = plan(total, now)
    tmp = tempfile.mkdtemp(prefix="retention-bench-")
    schema = None
    if backend == "sqlite":
        path = str(Path(tmp) / "bench.db")
        url = f"sqlite:///{path}"
        await migrate_async(url)
    else:
        import psycopg

        base = os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)
        schema = f"tw_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
        await migrate_async(url)
    started = time.monotonic()
    if backend == "sqlite":
        seed_sqlite(path, rows, deleted, total)
    else:
        seed_postgres(os.environ.get("TEST_DATABASE_URL", DEFAULT_PG), schema or "", rows, deleted)
    seeded = time.monotonic() - started
    db = Database(url)
    policy = RetentionPolicy(batch_size=batch)
    try:
        with PeakMemory() as memory:
            t0 = time.monotonic()
            first = await run_retention(db, policy, now=now, record=False)
            elapsed = time.monotonic() - t0
        t1 = time.monotonic()
        second = await run_retention(db, policy, now=now, record=False)
        second_elapsed = time.monotonic() - t1
    finally:
        await db.dispose()
        if schema is not None:
            import psycopg

            with psycopg.connect(os.environ.get("TEST_DATABASE_URL", DEFAULT_PG), autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    want = expected["expired"] + expected["small"] + expected["gone"]
    assert first["total"] == want, (first, expected)
    assert second["total"] == 0, second
    return {"backend": backend, "events": total, "batch": batch, "seed_s": round(seeded, 1),
            "deleted": first["total"], "retention_s": round(elapsed, 2),
            "deleted_per_s": int(first["total"] / elapsed) if elapsed else None,
            "peak_rss_added_mib": round((memory.peak - memory.base) / 2**20, 1),
            "second_run_s": round(second_elapsed, 2)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--sizes", default="", help="comma-separated sizes (default: 100000 and --events)")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--batch", type=int, default=5000)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s] or sorted({min(100_000, args.events), args.events})
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    for backend in backends:
        for size in sizes:
            print(json.dumps(await bench_one(backend, size, args.batch)), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
