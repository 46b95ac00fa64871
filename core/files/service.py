"""Workspace files (docs/files.md): upload, list, read, delete; the bytes in the database's blob
store (core/files/content.py), the records in ``files``, an event for each upload and delete."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.events.changes import change_event
from core.files.content import FileContent
from core.files.lookup import live_file
from core.files.query import conditions, order_by
from core.files.records import record
from core.files.uploads import IncomingFile, QuotaExceededError, UploadOptions
from core.infra.db import Database
from core.infra.settings import Settings
from core.infra.tables import Workspace, WorkspaceFile, utcnow
from core.workspaces.service import WorkspaceService
from schemas.errors import ObjectNotFoundError, PayloadTooLargeError, ValidationError

UPLOADED = "workspaces.files.uploaded"
DELETED = "workspaces.files.deleted"
MAX_LIMIT = 500


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _not_found(workspace_id: str, file_id: str) -> ObjectNotFoundError:
    return ObjectNotFoundError(f"File '{file_id}' not found", {"workspaceId": workspace_id, "id": file_id})


def _live(now: Any) -> Any:
    return or_(col(WorkspaceFile.expires_at).is_(None), col(WorkspaceFile.expires_at) > now)


class FileService:
    def __init__(self, db: Database, settings: Settings, workspaces: WorkspaceService):
        self.db = db
        self.settings = settings
        self.workspaces = workspaces
        self.content = FileContent(db)

    @property
    def base_url(self) -> str:
        return self.settings.public_url

    # -- reads ----------------------------------------------------------------------------
    async def find(self, workspace_id: str, file_id: str) -> WorkspaceFile:
        """The live file (404 for an unknown, expired or other workspace's one, and for a file
        of a deleted workspace)."""
        await self.workspaces.get_row(workspace_id)
        row = await live_file(self.db, workspace_id, file_id)
        if row is None:
            raise _not_found(workspace_id, file_id)
        return row

    async def get(self, workspace_id: str, file_id: str) -> dict[str, Any]:
        return record(await self.find(workspace_id, file_id), self.base_url)

    async def list_files(self, workspace_id: str, *, page: int = 0, limit: int = 50, sort: str | None = None,
                   query: str | None = None) -> list[dict[str, Any]]:
        await self.workspaces.get_row(workspace_id)
        ordering = order_by(sort)
        where = conditions(query, self.db.engine.dialect.name)
        limit = max(1, min(limit, MAX_LIMIT))
        stmt = (select(WorkspaceFile).where(WorkspaceFile.workspace_id == workspace_id, _live(utcnow()), *where)
                .order_by(*ordering).offset(max(0, page) * limit).limit(limit))
        async with self.db.session() as session:
            rows = (await session.exec(stmt)).all()
        return [record(row, self.base_url) for row in rows]

    def shared_with(self, row: WorkspaceFile, token: str | None) -> bool:
        """Whether ``token`` is the file's share token (compared by digest, in constant time)."""
        return bool(token) and row.share_token_digest is not None and hmac.compare_digest(
            token_digest(token or ""), row.share_token_digest)

    def stream(self, row: WorkspaceFile) -> AsyncIterator[bytes]:
        return self.content.stream(row.blob_id, row.chunks)

    async def used_bytes(self, workspace_id: str, session: AsyncSession | None = None) -> int:
        stmt = select(func.coalesce(func.sum(WorkspaceFile.size), 0)).where(WorkspaceFile.workspace_id == workspace_id)
        if session is not None:
            return int((await session.exec(stmt)).one())
        async with self.db.session() as own:
            return int((await own.exec(stmt)).one())

    # -- writes ---------------------------------------------------------------------------
    async def _check_quota(self, workspace_id: str, adding: int, session: AsyncSession | None = None) -> None:
        """413 when ``adding`` bytes do not fit; in ``session``, they are already counted (flushed)."""
        quota = self.settings.files_workspace_quota_bytes
        if quota < 0:
            return
        used = await self.used_bytes(workspace_id, session) - (adding if session is not None else 0)
        if used + adding > quota:
            raise QuotaExceededError(
                f"Workspace file quota exceeded: {used} bytes used + {adding} uploaded > {quota} bytes "
                "(FILES_WORKSPACE_QUOTA_BYTES)", {"limit": quota, "used": used, "size": adding})

    async def upload(self, workspace_id: str, files: list[IncomingFile], options: UploadOptions,
                     actor: str | None) -> list[dict[str, Any]]:
        """Store the files and their records (all or none), record one ``workspaces.files.uploaded``
        each; the records answered carry the share token, the only time it is shown."""
        await self.workspaces.get_row(workspace_id)
        if not files:
            raise ValidationError("Invalid upload: body.file: required (a file, or a data URI)",
                                  [{"path": "body.file", "message": "required"}])
        limit = self.settings.files_max_size
        for incoming in files:  # multipart files were stopped while read; this covers the rest
            if incoming.size > limit:
                raise PayloadTooLargeError(f"File too large ({incoming.size} bytes > {limit} bytes, FILES_MAX_SIZE)",
                                           {"limit": limit, "size": incoming.size, "field": "file"})
        adding = sum(f.size for f in files)
        await self._check_quota(workspace_id, adding)  # before writing anything
        now = utcnow()
        expires = now + timedelta(seconds=options.expires_after) if options.expires_after else None
        written: list[tuple[str, int]] = []
        answered: list[dict[str, Any]] = []
        try:
            rows: list[tuple[WorkspaceFile, str | None]] = []
            for incoming in files:
                blob_id, chunks = await self.content.write(incoming.stream)
                written.append((blob_id, chunks))
                token = secrets.token_urlsafe(32) if options.share_token else None
                rows.append((WorkspaceFile(
                    id=uuid.uuid4().hex, workspace_id=workspace_id, name=options.name or incoming.name,
                    mimetype=incoming.mimetype, size=incoming.size, blob_id=blob_id, chunks=chunks,
                    public=options.public, share_token_digest=token_digest(token) if token else None,
                    file_metadata=options.metadata, expires_at=expires, created_at=now, created_by=actor), token))
            async with self.db.session() as session:
                # Uploads to one workspace take turns here (PostgreSQL; SQLite has one writer), so
                # two at once cannot both fit in what is left of the quota.
                await session.exec(select(Workspace.id).where(Workspace.id == workspace_id).with_for_update())
                for row, _token in rows:
                    session.add(row)
                await session.flush()
                await self._check_quota(workspace_id, adding, session)
                answered = [record(row, self.base_url, token) for row, token in rows]
                events = [change_event(workspace_id, UPLOADED, record(row, self.base_url), actor) for row, _ in rows]
                later = await self.workspaces.changes.stage(session, events)
                await session.commit()
        except BaseException:
            await self.content.delete(written)
            raise
        await self.workspaces.changes.deliver(workspace_id, later)
        return answered

    async def delete(self, workspace_id: str, file_id: str, actor: str | None) -> dict[str, Any]:
        """The record and its bytes go together, with a ``workspaces.files.deleted`` event."""
        row = await self.find(workspace_id, file_id)
        async with self.db.session() as session:
            current = await session.get(WorkspaceFile, file_id)
            if current is None:  # deleted in between
                raise _not_found(workspace_id, file_id)
            await self.content.delete([(current.blob_id, current.chunks)], session)
            await session.delete(current)
            later = await self.workspaces.changes.stage(
                session, [change_event(workspace_id, DELETED, record(row, self.base_url), actor)])
            await session.commit()
        await self.workspaces.changes.deliver(workspace_id, later)
        return {"id": file_id}
