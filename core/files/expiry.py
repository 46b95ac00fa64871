"""The retention sweep of files (the RetentionWorkflow's ``retention_files`` step, and
``tideway retention``): files past their ``expiresAt``, and every file of a workspace deleted more
than ``EVENTS_SCHEDULED_DELETION_DAYS`` ago, go with their bytes. Batches of ``batch_size`` files,
one committed transaction each (record and chunks together), ``progress`` after each: a retried
step starts again from the condition, which no longer matches what is gone. Expired files answer
404 from the moment they expire (core/files/service.py); the sweep only frees their space."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_
from sqlmodel import col, select

from core.files.content import chunk_ids, delete_chunks
from core.infra.db import Database
from core.infra.tables import Workspace, WorkspaceFile

Progress = Callable[[dict[str, Any]], None]


def _gone(now: datetime, deleted_days: int) -> ColumnElement[bool]:
    expired = col(WorkspaceFile.expires_at) <= now
    if deleted_days < 0:
        return expired
    deleted_workspaces = select(Workspace.id).where(col(Workspace.deleted_at).is_not(None),
                                                    col(Workspace.deleted_at) < now - timedelta(days=deleted_days))
    return or_(expired, col(WorkspaceFile.workspace_id).in_(deleted_workspaces))


async def count_expired_files(db: Database, now: datetime, *, deleted_days: int = -1) -> int:
    async with db.session() as session:
        return int((await session.exec(select(func.count()).select_from(WorkspaceFile)
                                       .where(_gone(now, deleted_days)))).one())


async def delete_expired_files(db: Database, now: datetime, *, deleted_days: int = -1, batch_size: int = 200,
                               progress: Progress | None = None) -> int:
    done = 0
    while True:
        async with db.session() as session:
            rows = (await session.exec(select(WorkspaceFile.id, WorkspaceFile.blob_id, WorkspaceFile.chunks)
                                       .where(_gone(now, deleted_days)).order_by(col(WorkspaceFile.id))
                                       .limit(batch_size))).all()
            if not rows:
                return done
            await delete_chunks(session, [chunk for _, blob_id, chunks in rows for chunk in chunk_ids(blob_id, chunks)])
            await session.exec(delete(WorkspaceFile).where(col(WorkspaceFile.id).in_([r[0] for r in rows])))  # type: ignore[call-overload]
            await session.commit()
        done += len(rows)
        if progress is not None:
            progress({"files": done})
