"""Values too large for a Temporal payload, stored in chunks and passed by reference."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlmodel import col, select

from core.infra.db import Database, insert_for
from core.infra.tables import Blob, utcnow

CHUNK_CHARS = 200_000


class BlobStore:
    def __init__(self, db: Database):
        self.db = db

    async def store_chunk(self, blob_id: str, index: int, text: str) -> None:
        insert = insert_for(self.db.engine.dialect.name)
        stmt = insert(Blob).values(id=f"{blob_id}/{index}", data=text.encode(), created_at=utcnow()).on_conflict_do_nothing(
            index_elements=["id"])
        async with self.db.session() as session:
            await session.exec(stmt)  # type: ignore[call-overload]
            await session.commit()

    async def load_chunk(self, blob_id: str, index: int) -> str:
        async with self.db.session() as session:
            row = await session.get(Blob, f"{blob_id}/{index}")
        if row is None:
            raise KeyError(f"blob {blob_id}/{index} not found")
        return row.data.decode()

    async def store(self, value: Any) -> tuple[str, int]:
        text = json.dumps(value, ensure_ascii=False)
        blob_id = str(uuid.uuid4())
        chunks = [text[i:i + CHUNK_CHARS] for i in range(0, len(text), CHUNK_CHARS)] or [""]
        for index, chunk in enumerate(chunks):
            await self.store_chunk(blob_id, index, chunk)
        return blob_id, len(chunks)

    async def load(self, blob_id: str) -> Any:
        async with self.db.session() as session:
            rows = (await session.exec(select(Blob).where(col(Blob.id).startswith(f"{blob_id}/")))).all()
        parts = sorted(rows, key=lambda r: int(r.id.rsplit("/", 1)[1]))
        return json.loads("".join(r.data.decode() for r in parts))
