"""Finding a live file and the workspace a URL names, without the API's services (the fetch
activity reads its own workspace's files with these: activities/fetch_files.py)."""

from __future__ import annotations

from sqlmodel import col, select

from core.files.records import is_expired
from core.infra.db import Database
from core.infra.tables import Workspace, WorkspaceFile

SLUG_PREFIX = "slug:"


async def live_file(db: Database, workspace_id: str, file_id: str) -> WorkspaceFile | None:
    """The file, unless unknown, of another workspace or expired."""
    async with db.session() as session:
        row = await session.get(WorkspaceFile, file_id)
    if row is None or row.workspace_id != workspace_id or is_expired(row):
        return None
    return row


async def workspace_id_of(db: Database, reference: str) -> str | None:
    """The id a path segment names: the id itself, or ``slug:<slug>`` of a live workspace."""
    if not reference.startswith(SLUG_PREFIX):
        return reference
    async with db.session() as session:
        found = (await session.exec(select(Workspace.id).where(
            Workspace.slug == reference[len(SLUG_PREFIX):], col(Workspace.deleted_at).is_(None)))).first()
    return found
