"""Pending waits (spec §3.8, DESIGN "Waiting for an event").

No reply is lost to a race: registration commits the wait, then scans the events persisted
after the run's watermark; persisting events commits them, then scans the pending waits.
Whichever side finds the match fulfils the wait with a conditional update, so exactly one
does, and the other sees it already fulfilled.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import bindparam, delete, union_all, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from core.events.store import row_to_public
from core.infra.tables import Event as EventRow
from core.infra.tables import PendingWaitType, Wait
from language.wait_filters import filters_match
from schemas.events import MAX_EVENT_TYPE  # longer types are never persisted, so never waited for

SCAN_LIMIT = 500


class WaitEntries(Protocol):
    """A wait's ``oneOf`` entries: a ``Wait`` or a row of the waits table."""

    event_types: list[str]
    filters: list[Any]


def entry_for(wait: WaitEntries, event: dict[str, Any]) -> int | None:
    """Index of the first ``oneOf`` entry the event satisfies, or None."""
    for index, (event_type, filters) in enumerate(zip(wait.event_types, wait.filters, strict=True)):
        if event_type == event.get("type") and filters_match(filters or None, event):
            return index
    return None


def _ended(session: Session, wait_id: str) -> None:
    """Forget the event types of a wait that is no longer pending (same transaction)."""
    session.exec(delete(PendingWaitType).where(col(PendingWaitType.wait_id) == wait_id))  # type: ignore[call-overload]


def _fulfil(session: Session, wait_id: str, event_id: str) -> bool:
    result = session.exec(update(Wait).where(col(Wait.id) == wait_id, col(Wait.status) == "pending")  # type: ignore[call-overload]
                          .values(status="fulfilled", event_id=event_id))
    _ended(session, wait_id)
    session.commit()
    return bool(result.rowcount == 1)


# The functions below are synchronous units of work for core.infra.db.Database.run_sync, which may
# run one twice (after meeting a locked SQLite file): each is safe to repeat.


def register(session: Session, wait: Wait) -> dict[str, Any] | None:
    """Store a pending wait and return an event already persisted after its watermark, if any."""
    existing = session.get(Wait, wait.id)
    if existing is None:
        session.add(wait)
        # Committed with the wait: a flush that commits after this sees the wait by its types.
        session.add_all([PendingWaitType(workspace_id=wait.workspace_id, event_type=event_type, wait_id=wait.id)
                         for event_type in sorted(set(wait.event_types)) if len(event_type) <= MAX_EVENT_TYPE])
        session.commit()
    elif existing.status == "fulfilled" and existing.event_id:  # a retried registration
        row = session.exec(select(EventRow).where(EventRow.id == existing.event_id)).first()
        return row_to_public(row) if row is not None else None
    else:
        wait = existing
    stmt = (select(EventRow).where(EventRow.workspace_id == wait.workspace_id,
                                   col(EventRow.type).in_(set(wait.event_types)),
                                   col(EventRow.seq) > wait.after_seq)
            .order_by(col(EventRow.seq)).limit(SCAN_LIMIT))
    for row in session.exec(stmt).all():
        event = row_to_public(row)
        if entry_for(wait, event) is not None and _fulfil(session, wait.id, row.id):
            return event
    return None


_WAITS = Wait.__table__  # type: ignore[attr-defined]
_TYPES = PendingWaitType.__table__  # type: ignore[attr-defined]
# One cached Core statement (this runs at every flush that persists events, so no ORM loading),
# bounded by what the flush can match, not by the runs parked in the workspace: the pending waits
# of the events' types, and the waits these very events fulfilled on an earlier attempt (a
# retried flush).
_WAITS_FOR_EVENTS = union_all(
    sa_select(_WAITS).where(
        _WAITS.c.id.in_(sa_select(_TYPES.c.wait_id).where(
            _TYPES.c.workspace_id == bindparam("ws"), _TYPES.c.event_type.in_(bindparam("types", expanding=True)))),
        _WAITS.c.status == "pending"),
    sa_select(_WAITS).where(_WAITS.c.event_id.in_(bindparam("ids", expanding=True)),
                            _WAITS.c.workspace_id == bindparam("ws"), _WAITS.c.status == "fulfilled"))


def match(session: Session, workspace_id: str,
                events: Sequence[tuple[int, dict[str, Any]]]) -> tuple[list[tuple[str, str, dict[str, Any]]], set[str]]:
    """Fulfil pending waits with freshly persisted ``(seq, event)``s.

    Returns the signals to send ``(workflow_id, wait_id, event)`` and the ids of events whose
    regular triggers are cancelled (``cancelTriggers``), this time or on an earlier attempt."""
    if not events:
        return [], set()
    types = {e["type"] for _, e in events}
    ids = [e["id"] for _, e in events]
    waits = session.connection().execute(_WAITS_FOR_EVENTS,
                                         {"ws": workspace_id, "types": sorted(types), "ids": ids}).all()
    signals: list[tuple[str, str, dict[str, Any]]] = []
    cancelled: set[str] = set()
    by_id = {e["id"]: e for _, e in events}
    for wait in sorted(waits, key=lambda w: w.created_at):
        if not types & set(wait.event_types):
            continue
        if wait.status == "fulfilled":
            # Fulfilled by one of these events on an earlier attempt (a retried flush): signal
            # again, since that attempt may have stopped before its signal (the run ignores a
            # repeat), and keep its cancelTriggers.
            event = by_id.get(wait.event_id or "")
            if event is not None:
                index = entry_for(wait, event)
                if index is not None:
                    signals.append((wait.workflow_id, wait.id, event))
                    if wait.cancel_triggers[index]:
                        cancelled.add(event["id"])
            continue
        for seq, event in events:
            if seq <= wait.after_seq:
                continue
            index = entry_for(wait, event)
            if index is not None and _fulfil(session, wait.id, event["id"]):
                signals.append((wait.workflow_id, wait.id, event))
                if wait.cancel_triggers[index]:
                    cancelled.add(event["id"])
                break
    return signals, cancelled


def cancel(session: Session, wait_id: str) -> None:
    session.exec(update(Wait).where(col(Wait.id) == wait_id, col(Wait.status) == "pending")  # type: ignore[call-overload]
                 .values(status="timeout"))
    _ended(session, wait_id)


def expiry(timeout: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=timeout)
