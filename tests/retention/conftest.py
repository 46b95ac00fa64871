"""A fresh database per retention test (retention spans the whole events table, so it must not
share one with other tests): SQLite in a temporary folder, PostgreSQL in a private schema."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.infra.db import Database, migrate_async
from tests.conftest import DEFAULT_PG


@pytest.fixture(params=["sqlite", "postgres"])
async def retention_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[str, Database]]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'retention.db'}"
        schema = None
    else:
        import psycopg

        base = os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)
        schema = f"tw_ret_{uuid.uuid4().hex[:10]}"
        try:
            with psycopg.connect(base, connect_timeout=3, autocommit=True) as conn:
                conn.execute(f'CREATE SCHEMA "{schema}"')
        except Exception as exc:  # noqa: BLE001
            pytest.skip(f"PostgreSQL unreachable ({base}): {exc.__class__.__name__}")
        url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    await migrate_async(url)
    db = Database(url)
    try:
        yield url, db
    finally:
        await db.dispose()
        if schema is not None:
            import psycopg

            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
