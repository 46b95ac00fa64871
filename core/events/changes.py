"""The native events of management writes (``workspaces.*``, ``apikeys.*``, ``apps.*``…), written
with the write they describe.

An event no listener reacts to is inserted in the write's own transaction (``stage`` before the
commit): the change and its event are stored together or not at all. An event that starts
listeners (``TRIGGERING_NATIVES``) is handed to a DispatchWorkflow once the write is committed
(``deliver``): Temporal cannot join a database transaction, and listeners must see the change.
When Temporal is out of reach it is stored without its listeners, as the change is made.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.events.store import event_row, insert_events, insert_rows
from core.infra.db import Database
from language.secrets import Redactor
from schemas.errors import ServiceUnavailableError
from schemas.events import TRIGGERING_NATIVES, Event, EventSource, json_size

log = logging.getLogger("tideway.workspaces")
Dispatcher = Callable[[str, list[Event]], Awaitable[None]]
# A hook a store calls with its session right before its commit (it stages its events there).
BeforeCommit = Callable[[AsyncSession, Any], Awaitable[None]]
# The secret values a workspace's events must not show (WorkspaceService.redactor).
RedactorOf = Callable[[str], Awaitable[Redactor]]


def change_event(workspace_id: str, type_: str, payload: dict[str, Any], actor: str | None,
                 source: dict[str, Any] | None = None) -> Event:
    return Event(id=str(uuid.uuid4()), type=type_, payload=payload, createdAt=datetime.now(UTC),
                 size=json_size(payload),
                 source=EventSource(workspaceId=workspace_id, correlationId=uuid.uuid4().hex, userId=actor,
                                    serviceTopic=type_, **(source or {})))


class ChangeEvents:
    def __init__(self, db: Database, dispatcher: Dispatcher | None = None, redactor: RedactorOf | None = None):
        self.db = db
        self.dispatcher = dispatcher
        self.redactor = redactor

    def _dispatched(self, event: Event) -> bool:
        return self.dispatcher is not None and event.type in TRIGGERING_NATIVES

    async def stage(self, session: AsyncSession, events: Sequence[Event]) -> list[Event]:
        """Insert the events that start no listener into ``session`` (committed with the write);
        return the others, for ``deliver`` after the commit. Every event passes here, and leaves
        with the string values holding its workspace's secrets ``REDACTED`` (issue 14)."""
        events = [await self._redacted(e) for e in events]
        now = [e for e in events if not self._dispatched(e)]
        if now:
            conn = await session.connection()
            await conn.run_sync(insert_rows, [event_row(e) for e in now])
        return [e for e in events if self._dispatched(e)]

    async def _redacted(self, event: Event) -> Event:
        if self.redactor is None:
            return event
        redactor = await self.redactor(event.source.workspaceId)
        payload = redactor(event.payload)
        return event if payload is event.payload else event.model_copy(update={"payload": payload})

    async def deliver(self, workspace_id: str, events: Sequence[Event]) -> None:
        """Hand committed changes' triggering events to their listeners (see the module docstring)."""
        for event in events:
            if self.dispatcher is not None:
                try:
                    await self.dispatcher(workspace_id, [event])
                    continue
                except ServiceUnavailableError as exc:  # the change is made: record it, listeners can't run now
                    log.warning("%s recorded without triggering listeners: %s", event.type, exc.message)
            async with self.db.session() as session:
                await insert_events(session, [event])

    async def record(self, event: Event) -> None:
        """An event on its own (a change already committed, or one that writes nothing else)."""
        async with self.db.session() as session:
            later = await self.stage(session, [event])
            await session.commit()
        await self.deliver(event.source.workspaceId, later)


class EventOnCommit:
    """A store's ``before_commit`` hook that stages the write's event (its payload built from
    what the store passes); ``deliver`` once the store has committed."""

    def __init__(self, changes: ChangeEvents, workspace_id: str, type_: str, actor: str | None,
                 payload: Callable[[Any], dict[str, Any]] = dict):
        self.changes = changes
        self.workspace_id = workspace_id
        self.type = type_
        self.actor = actor
        self.payload = payload
        self.later: list[Event] = []

    async def __call__(self, session: AsyncSession, value: Any) -> None:
        event = change_event(self.workspace_id, self.type, self.payload(value), self.actor)
        self.later += await self.changes.stage(session, [event])

    async def deliver(self) -> None:
        await self.changes.deliver(self.workspace_id, self.later)
