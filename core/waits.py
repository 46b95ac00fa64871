"""Pending waits (spec §3.8, DESIGN "Waiting for an event").

No reply is lost to a race: registration commits the wait, then scans the events persisted
after the run's watermark; persisting events commits them, then scans the pending waits.
Whichever side finds the match fulfils the wait with a conditional update, so exactly one
does, and the other sees it already fulfilled.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.eventstore import row_to_public
from core.models import Event as EventRow
from core.models import Wait
from workflows.interpreter.waits import filters_match

SCAN_LIMIT = 500


def entry_for(wait: Wait, event: dict[str, Any]) -> int | None:
    """Index of the first ``oneOf`` entry the event satisfies, or None."""
    for index, (event_type, filters) in enumerate(zip(wait.event_types, wait.filters, strict=True)):
        if event_type == event.get("type") and filters_match(filters or None, event):
            return index
    return None


async def _fulfil(session: AsyncSession, wait_id: str, event_id: str) -> bool:
    result = await session.exec(update(Wait).where(col(Wait.id) == wait_id, col(Wait.status) == "pending")  # type: ignore[call-overload]
                                .values(status="fulfilled", event_id=event_id))
    await session.commit()
    return bool(result.rowcount == 1)


async def register(session: AsyncSession, wait: Wait) -> dict[str, Any] | None:
    """Store a pending wait and return an event already persisted after its watermark, if any."""
    existing = await session.get(Wait, wait.id)
    if existing is None:
        session.add(wait)
        await session.commit()
    elif existing.status == "fulfilled" and existing.event_id:  # a retried registration
        row = (await session.exec(select(EventRow).where(EventRow.id == existing.event_id))).first()
        return row_to_public(row) if row is not None else None
    else:
        wait = existing
    stmt = (select(EventRow).where(EventRow.workspace_id == wait.workspace_id,
                                   col(EventRow.type).in_(set(wait.event_types)),
                                   col(EventRow.seq) > wait.after_seq)
            .order_by(col(EventRow.seq)).limit(SCAN_LIMIT))
    for row in (await session.exec(stmt)).all():
        event = row_to_public(row)
        if entry_for(wait, event) is not None and await _fulfil(session, wait.id, row.id):
            return event
    return None


async def match(session: AsyncSession, workspace_id: str,
                events: Sequence[tuple[int, dict[str, Any]]]) -> tuple[list[tuple[str, str, dict[str, Any]]], set[str]]:
    """Fulfil pending waits with freshly persisted ``(seq, event)``s.

    Returns the signals to send ``(workflow_id, wait_id, event)`` and the ids of events whose
    regular triggers are cancelled (``cancelTriggers``), this time or on an earlier attempt."""
    if not events:
        return [], set()
    types = {e["type"] for _, e in events}
    ids = [e["id"] for _, e in events]
    waits = (await session.exec(select(Wait).where(
        Wait.workspace_id == workspace_id,
        (col(Wait.status) == "pending") | ((col(Wait.status) == "fulfilled") & col(Wait.event_id).in_(ids)))
    )).all()
    signals: list[tuple[str, str, dict[str, Any]]] = []
    cancelled: set[str] = set()
    by_id = {e["id"]: e for _, e in events}
    for wait in sorted(waits, key=lambda w: w.created_at):
        if not types & set(wait.event_types):
            continue
        if wait.status == "fulfilled":
            event = by_id.get(wait.event_id or "")
            if event is not None:
                index = entry_for(wait, event)
                if index is not None and wait.cancel_triggers[index]:
                    cancelled.add(event["id"])
            continue
        for seq, event in events:
            if seq <= wait.after_seq:
                continue
            index = entry_for(wait, event)
            if index is not None and await _fulfil(session, wait.id, event["id"]):
                signals.append((wait.workflow_id, wait.id, event))
                if wait.cancel_triggers[index]:
                    cancelled.add(event["id"])
                break
    return signals, cancelled


async def cancel(session: AsyncSession, wait_id: str) -> None:
    await session.exec(update(Wait).where(col(Wait.id) == wait_id, col(Wait.status) == "pending")  # type: ignore[call-overload]
                       .values(status="timeout"))
    await session.commit()


def expiry(timeout: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=timeout)
