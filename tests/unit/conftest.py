"""Fixtures shared by the unit tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.infra.db import Database, migrate_async


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated SQLite file database (``tmp_path / "unit.db"``)."""
    url = f"sqlite:///{tmp_path / 'unit.db'}"
    await migrate_async(url)
    database = Database(url)
    yield database
    await database.dispose()
