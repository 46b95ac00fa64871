"""Migration 0015 indexes the waits already pending when it runs (a run parked before the
upgrade still wakes up) and nothing else."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from alembic import command
from alembic.config import Config

from core.infra.db import migrate

ROOT = Path(__file__).resolve().parents[2]


def test_the_upgrade_indexes_the_pending_waits(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url)
    command.upgrade(cfg, "0014")
    rows = [("p1", "w1", ["a.b", "c.d", "a.b"], "pending"), ("p2", "w2", ["x" * 400, "e.f"], "pending"),
            ("f1", "w1", ["a.b"], "fulfilled"), ("t1", "w1", ["a.b"], "timeout")]
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO waits (id, workspace_id, event_types, filters, cancel_triggers, workflow_id, after_seq,"
            " status, created_at) VALUES (?, ?, ?, '[]', '[]', 'run', 0, ?, '2026-01-01 00:00:00')",
            [(wid, ws, json.dumps(types), status) for wid, ws, types, status in rows])
    migrate(f"sqlite+aiosqlite:///{path}")
    with sqlite3.connect(path) as conn:
        indexed = conn.execute("SELECT workspace_id, event_type, wait_id FROM pending_wait_types"
                               " ORDER BY wait_id, event_type").fetchall()
        indexes = {row[1] for row in conn.execute("PRAGMA index_list('waits')")}
    assert indexed == [("w1", "a.b", "p1"), ("w1", "c.d", "p1"), ("w2", "e.f", "p2")]
    assert "ix_waits_event_id" in indexes
