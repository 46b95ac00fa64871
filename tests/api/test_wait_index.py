"""Matching persisted events against pending waits reads only the waits of the events' types
(pending_wait_types) and the waits those events fulfilled before: a flush costs the same with
many runs parked on other events, and the index follows each wait out of ``pending``."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from core.events import waits
from core.infra.tables import Wait
from tests.stack import Stack


def _wait(ws: str, types: list[str], filters: list[Any] | None = None, cancel: list[bool] | None = None,
          after_seq: int = 0) -> Wait:
    return Wait(id=uuid.uuid4().hex, workspace_id=ws, event_types=types, filters=filters or [None] * len(types),
                cancel_triggers=cancel or [False] * len(types), workflow_id=f"run-{uuid.uuid4().hex[:6]}",
                after_seq=after_seq)


def _event(ws: str, event_type: str, **payload: Any) -> dict[str, Any]:
    return {"id": uuid.uuid4().hex, "type": event_type, "payload": payload, "source": {"workspaceId": ws}}


def _indexed(session: Session, ws: str) -> list[tuple[str, str]]:
    rows = session.connection().execute(text(
        "SELECT event_type, wait_id FROM pending_wait_types WHERE workspace_id = :ws ORDER BY event_type, wait_id"),
        {"ws": ws}).all()
    return [(row.event_type, row.wait_id) for row in rows]


def _status(session: Session, wait_id: str) -> str:
    return str(session.connection().execute(text("SELECT status FROM waits WHERE id = :id"), {"id": wait_id})
               .scalar_one())


async def test_only_the_events_types_are_read_and_the_index_follows_the_wait(stack: Stack) -> None:
    db = stack.services.db
    ws = f"wix{uuid.uuid4().hex[:8]}"
    parked = [_wait(ws, ["order.never"]) for _ in range(30)]
    reply = _wait(ws, ["order.paid", "order.cancelled"], cancel=[True, False])
    filtered = _wait(ws, ["order.paid"], filters=[{"payload.order": "B"}])
    other_ws = _wait(f"wiy{uuid.uuid4().hex[:8]}", ["order.paid"])
    for wait in [*parked, reply, filtered, other_ws]:
        assert await db.run_sync(waits.register, wait) is None
    indexed = await db.run_sync(_indexed, ws)
    assert len(indexed) == 30 + 2 + 1
    assert ("order.cancelled", reply.id) in indexed and ("order.paid", reply.id) in indexed

    paid_a = _event(ws, "order.paid", order="A")
    signals, cancelled = await db.run_sync(waits.match, ws, [(10, paid_a)])
    # The reply wait takes it (cancelTriggers on that entry); the filtered one wants order B; the
    # other workspace's wait never sees it.
    assert signals == [(reply.workflow_id, reply.id, paid_a)]
    assert cancelled == {paid_a["id"]}
    assert await db.run_sync(_status, reply.id) == "fulfilled"
    assert await db.run_sync(_status, other_ws.id) == "pending"
    indexed = await db.run_sync(_indexed, ws)
    assert all(wait_id != reply.id for _, wait_id in indexed)  # both of its types left the index

    # A retried flush of the same event signals the fulfilled wait again and keeps its cancel.
    again = await db.run_sync(waits.match, ws, [(10, paid_a)])
    assert again == ([(reply.workflow_id, reply.id, paid_a)], {paid_a["id"]})

    paid_b = _event(ws, "order.paid", order="B")
    assert (await db.run_sync(waits.match, ws, [(11, paid_b)]))[0] == [(filtered.workflow_id, filtered.id, paid_b)]
    assert len(await db.run_sync(_indexed, ws)) == 30


async def test_a_wait_ignores_events_at_or_before_its_watermark(stack: Stack) -> None:
    db = stack.services.db
    ws = f"wix{uuid.uuid4().hex[:8]}"
    wait = _wait(ws, ["late.reply"], after_seq=50)
    await db.run_sync(waits.register, wait)
    early, late = _event(ws, "late.reply"), _event(ws, "late.reply")
    assert await db.run_sync(waits.match, ws, [(50, early)]) == ([], set())
    assert (await db.run_sync(waits.match, ws, [(50, early), (51, late)]))[0] == [(wait.workflow_id, wait.id, late)]


async def test_a_timed_out_wait_leaves_the_index_and_a_retried_registration_adds_nothing(stack: Stack) -> None:
    db = stack.services.db
    ws = f"wix{uuid.uuid4().hex[:8]}"
    wait = _wait(ws, ["slow.reply", "slow.reply"])  # one type twice: one index row
    await db.run_sync(waits.register, wait)
    await db.run_sync(waits.register, Wait(**{**wait.model_dump(), "id": wait.id}))  # a retried activity
    assert await db.run_sync(_indexed, ws) == [("slow.reply", wait.id)]
    await db.run_sync(waits.cancel, wait.id)
    assert await db.run_sync(_status, wait.id) == "timeout"
    assert await db.run_sync(_indexed, ws) == []
    assert await db.run_sync(waits.match, ws, [(99, _event(ws, "slow.reply"))]) == ([], set())


async def test_a_type_longer_than_any_stored_event_is_not_indexed(stack: Stack) -> None:
    db = stack.services.db
    ws = f"wix{uuid.uuid4().hex[:8]}"
    wait = _wait(ws, ["x" * 400, "short.one"])
    await db.run_sync(waits.register, wait)
    assert await db.run_sync(_indexed, ws) == [("short.one", wait.id)]
