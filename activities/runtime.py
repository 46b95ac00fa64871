"""Activities of AutomationWorkflow: events, definitions and blobs (local, short DB work)."""

from __future__ import annotations

from typing import Any

from temporalio import activity

from core.blobs import BlobStore
from core.db import Database
from core.eventstore import insert_events
from core.workspaces import WorkspaceService
from schemas.events import Event
from workflows import activity_names as names


class RuntimeActivities:
    def __init__(self, db: Database, workspaces: WorkspaceService):
        self.db = db
        self.workspaces = workspaces
        self.blobs = BlobStore(db)

    @activity.defn(name=names.PERSIST_EVENTS)
    async def persist_events(self, events: list[Event]) -> int:
        async with self.db.session() as session:
            return await insert_events(session, events)

    @activity.defn(name=names.LOAD_AUTOMATION)
    async def load_automation(self, workspace_id: str, revision: int, slug: str) -> dict[str, Any] | None:
        doc = await self.workspaces.document(workspace_id, revision)
        automation = (doc.get("automations") or {}).get(slug)
        return automation if isinstance(automation, dict) else None

    @activity.defn(name=names.LOAD_BLOB_CHUNK)
    async def load_blob_chunk(self, blob_id: str, index: int) -> str:
        return await self.blobs.load_chunk(blob_id, index)

    @activity.defn(name=names.STORE_BLOB_CHUNK)
    async def store_blob_chunk(self, blob_id: str, index: int, text: str) -> None:
        await self.blobs.store_chunk(blob_id, index, text)

    def all(self) -> list[Any]:
        return [self.persist_events, self.load_automation, self.load_blob_chunk, self.store_blob_chunk]
