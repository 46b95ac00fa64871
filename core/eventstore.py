"""The event log: idempotent batch inserts and filtered reads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.models import Event as EventRow
from schemas.events import Event


def _row(event: Event) -> dict[str, Any]:
    public = event.to_public()
    return {
        "id": event.id,
        "workspace_id": event.source.workspaceId,
        "type": event.type,
        "correlation_id": event.source.correlationId,
        "created_at": event.createdAt,
        "size": event.size,
        "source": public["source"],
        "payload": public.get("payload"),
        "target": public.get("target"),
        "options": public.get("options"),
    }


async def insert_events(session: AsyncSession, events: Sequence[Event]) -> int:
    """Insert persistable events; a repeated id is ignored (retries apply once)."""
    rows = [_row(e) for e in events if e.persist]
    if not rows:
        return 0
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(EventRow).values(rows).on_conflict_do_nothing(index_elements=["id"])
    await session.exec(stmt)  # type: ignore[call-overload]
    await session.commit()
    return len(rows)


def row_to_public(row: EventRow) -> dict[str, Any]:
    created = row.created_at.isoformat().replace("+00:00", "Z") if row.created_at.tzinfo else (
        row.created_at.isoformat() + "Z")
    data: dict[str, Any] = {"id": row.id, "type": row.type, "source": row.source,
                            "payload": row.payload if row.payload is not None else {},
                            "createdAt": created, "size": row.size}
    if row.target:
        data["target"] = row.target
    if row.options:
        data["options"] = row.options
    return data


async def query_events(session: AsyncSession, workspace_id: str, *, types: list[str] | None = None,
                       correlation_id: str | None = None, page: int = 0, limit: int = 50) -> list[dict[str, Any]]:
    """Newest first (by log sequence)."""
    stmt = select(EventRow).where(EventRow.workspace_id == workspace_id)
    if types:
        stmt = stmt.where(col(EventRow.type).in_(types))
    if correlation_id:
        stmt = stmt.where(EventRow.correlation_id == correlation_id)
    stmt = stmt.order_by(col(EventRow.seq).desc()).offset(page * limit).limit(limit)
    rows = (await session.exec(stmt)).all()  # type: ignore[call-overload]
    return [row_to_public(r) for r in rows]
