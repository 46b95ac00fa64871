"""A file's bytes in the database's chunked blob store (the ``blobs`` table of
core/runs/blobs.py): chunks ``<blob_id>/<n>`` of ``CHUNK_BYTES``, written one transaction each
and read one at a time, so neither an upload nor a download holds a whole large file in memory,
and every api replica reads what another wrote."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import IO

from sqlalchemy import delete
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from core.infra.db import Database
from core.infra.tables import Blob, utcnow

CHUNK_BYTES = 512 * 1024


def chunk_ids(blob_id: str, chunks: int) -> list[str]:
    return [f"{blob_id}/{index}" for index in range(chunks)]


class FileContent:
    def __init__(self, db: Database):
        self.db = db

    async def write(self, stream: IO[bytes]) -> tuple[str, int]:
        """Store what ``stream`` holds from its start: ``(blob id, number of chunks)``. On a
        failure the chunks already written are removed."""
        blob_id = str(uuid.uuid4())
        stream.seek(0)
        index = 0
        try:
            while True:
                data = stream.read(CHUNK_BYTES)
                if not data and index:
                    break
                async with self.db.session() as session:
                    session.add(Blob(id=f"{blob_id}/{index}", data=data, created_at=utcnow()))
                    await session.commit()
                index += 1
                if len(data) < CHUNK_BYTES:
                    break
        except BaseException:
            await self.delete([(blob_id, index + 1)])
            raise
        return blob_id, index

    async def chunk(self, blob_id: str, index: int) -> bytes:
        async with self.db.session() as session:
            row = await session.get(Blob, f"{blob_id}/{index}")
        if row is None:  # deleted while it was being read
            raise FileNotFoundError(f"chunk {blob_id}/{index}")
        return bytes(row.data)

    async def stream(self, blob_id: str, chunks: int) -> AsyncIterator[bytes]:
        for index in range(chunks):
            yield await self.chunk(blob_id, index)

    async def read(self, blob_id: str, chunks: int) -> bytes:
        return b"".join([part async for part in self.stream(blob_id, chunks)])

    async def delete(self, blobs: list[tuple[str, int]], session: AsyncSession | None = None) -> None:
        """Remove the chunks of each ``(blob id, chunks)``, in ``session`` when given (the caller
        commits), else in a transaction of their own."""
        ids = [chunk for blob_id, chunks in blobs for chunk in chunk_ids(blob_id, chunks)]
        if not ids:
            return
        if session is not None:
            await delete_chunks(session, ids)
            return
        async with self.db.session() as own:
            await delete_chunks(own, ids)
            await own.commit()


async def delete_chunks(session: AsyncSession, ids: list[str], batch: int = 500) -> None:
    for start in range(0, len(ids), batch):
        await session.exec(delete(Blob).where(col(Blob.id).in_(ids[start:start + batch])))  # type: ignore[call-overload]
