"""A workspace's write lock while an import runs (issue 20): a second import, from this process
or another, gets 409 ``WorkspaceLockedError`` and writes nothing; ``DELETE …/writeLock`` releases
it; a lock whose holder died (a crashed process) expires and is taken over."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from core.infra.db import Database, insert_for
from core.infra.tables import WorkspaceLock
from schemas.errors import WorkspaceLockedError

LOCKS = WorkspaceLock.__table__  # type: ignore[attr-defined]
LOCK_TTL = timedelta(minutes=10)  # far above an import's duration; bounds a dead holder's lock


class WriteLocks:
    def __init__(self, db: Database, ttl: timedelta = LOCK_TTL):
        self.db = db
        self.ttl = ttl

    async def acquire(self, workspace_id: str) -> str:
        """Take the lock (or an expired one); its holder id. 409 while another holds it."""
        holder = uuid.uuid4().hex
        now = datetime.now(UTC)

        def take(session: Any) -> tuple[str, datetime] | None:
            conn = session.connection()
            stmt = insert_for(conn.dialect.name)(LOCKS).values(
                workspace_id=workspace_id, holder=holder, acquired_at=now, expires_at=now + self.ttl)
            conn.execute(stmt.on_conflict_do_update(
                index_elements=["workspace_id"], where=LOCKS.c.expires_at < now,
                set_={"holder": holder, "acquired_at": now, "expires_at": now + self.ttl}))
            row = conn.execute(select(LOCKS.c.holder, LOCKS.c.acquired_at).where(
                LOCKS.c.workspace_id == workspace_id)).first()
            return (row.holder, row.acquired_at) if row is not None else None

        found = await self.db.run_sync(take)
        if found is None or found[0] != holder:
            since = found[1].isoformat() if found is not None else None
            raise WorkspaceLockedError(
                f"Workspace '{workspace_id}' is locked by an import in progress (since {since}); retry when it "
                "ends, or release a stale lock with DELETE /v2/workspaces/{id}/writeLock",
                {"workspaceId": workspace_id, "since": since})
        return holder

    async def release(self, workspace_id: str, holder: str | None = None) -> bool:
        """Drop the lock (only ``holder``'s when given); whether there was one."""
        def drop(session: Any) -> int:
            condition = LOCKS.c.workspace_id == workspace_id
            if holder is not None:
                condition = condition & (LOCKS.c.holder == holder)
            return int(session.connection().execute(delete(LOCKS).where(condition)).rowcount or 0)

        return await self.db.run_sync(drop) > 0

    @contextlib.asynccontextmanager
    async def held(self, workspace_id: str) -> AsyncIterator[None]:
        holder = await self.acquire(workspace_id)
        try:
            yield
        finally:
            await self.release(workspace_id, holder)
