"""Database.run_sync: units of work on the calling thread for an SQLite file, never waiting for
a lock on the event loop (a locked database sends the unit to aiosqlite, whose thread waits)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from core.infra.db import Database
from core.infra.tables import Workspace


def add_workspace(session: Session, workspace_id: str) -> str:
    session.add(Workspace(id=workspace_id, slug=workspace_id, name=workspace_id))
    return workspace_id


def count_workspaces(session: Session) -> int:
    return int(session.connection().execute(text("SELECT count(*) FROM workspaces")).scalar_one())


async def test_a_unit_is_committed_and_its_result_returned(db: Database) -> None:
    assert db.inline_engine is not None  # an SQLite file: the calling-thread path
    assert await db.run_sync(add_workspace, "w1") == "w1"
    assert await db.run_sync(count_workspaces) == 1
    async with db.session() as session:  # visible to the async engine too
        assert (await session.get(Workspace, "w1")) is not None


async def test_a_failing_unit_is_rolled_back(db: Database) -> None:
    def add_then_fail(session: Session) -> None:
        add_workspace(session, "w2")
        session.flush()
        raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"):
        await db.run_sync(add_then_fail)
    assert await db.run_sync(count_workspaces) == 0


async def test_other_database_errors_are_not_retried(db: Database) -> None:
    calls = 0

    def bad_sql(session: Session) -> None:
        nonlocal calls
        calls += 1
        session.connection().execute(text("SELECT * FROM no_such_table"))

    with pytest.raises(OperationalError, match="no_such_table"):
        await db.run_sync(bad_sql)
    assert calls == 1


async def test_a_locked_database_waits_off_the_event_loop(db: Database, tmp_path: Path) -> None:
    assert await db.run_sync(count_workspaces) == 0  # the first connection puts the file in WAL mode
    # Another connection (another process, say) holds the write lock.
    blocker = sqlite3.connect(tmp_path / "unit.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    attempts = 0

    def write(session: Session) -> str:
        nonlocal attempts
        attempts += 1
        return add_workspace(session, "w3")

    task = asyncio.create_task(db.run_sync(write))
    ticks = 0
    for _ in range(20):  # the loop keeps running while the unit waits for the lock
        await asyncio.sleep(0.01)
        ticks += 1
    assert not task.done() and ticks == 20
    blocker.execute("COMMIT")
    blocker.close()
    assert await asyncio.wait_for(task, 10) == "w3"
    assert attempts == 2  # refused at once on the loop's thread, then done by aiosqlite
    assert await db.run_sync(count_workspaces) == 1


async def test_memory_databases_use_the_async_engine(tmp_path: Path) -> None:
    database = Database("sqlite:///:memory:")
    try:
        assert database.inline_engine is None
        assert await database.run_sync(lambda session: session.connection().execute(text("SELECT 1")).scalar()) == 1
    finally:
        await database.dispose()
