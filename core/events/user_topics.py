"""User topics (``createUserTopic`` / ``joinUserTopic``) and who an event is addressed to.

A topic belongs to a workspace and has members (user ids). An event whose ``target`` names a
``userId``, a ``sessionId`` or a ``userTopic`` is addressed to that user, that session, or the
topic's members: the live stream (``GET …/events/stream``) delivers it to them only
(:class:`Audience`), and reading it is granted to them (spec §8.4, ``DEFAULT`` rules of
core/access/permissions/defaults.py; the topic part is :meth:`Audience.reads_by_topic`, since the
permission engine is not told a caller's topics).

A change and its native events are written in one transaction (:func:`change_topic`): the
membership rows are inserted ``ON CONFLICT DO NOTHING`` and only what is new makes an event, so a
local activity retried after its commit changes nothing and records nothing twice.

* ``createUserTopic`` on a new topic: the topic, its members, ``events.userTopics.created
  {topic, userIds}``; on an existing topic nothing happens (as in the reference: the given users
  are not added; ``joinUserTopic`` adds members).
* ``joinUserTopic``: the topic is created first when it does not exist (the reference's default
  ``create: true``; that also records ``events.userTopics.created``), then one
  ``events.userTopics.joined {topic, user: {id}}`` per user who was not a member yet.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from core.events.store import event_row, insert_rows
from core.infra.db import insert_for
from core.infra.tables import UserTopic, UserTopicMember
from schemas.events import Event, EventSource, json_size
from schemas.runs import UserTopicRequest

TOPICS = UserTopic.__table__  # type: ignore[attr-defined]
MEMBERS = UserTopicMember.__table__  # type: ignore[attr-defined]
CREATED = "events.userTopics.created"
JOINED = "events.userTopics.joined"
TOPIC_MAX_CHARS = 200
USER_ID_MAX_CHARS = 200
MAX_USERS_PER_CHANGE = 1000
TARGET_FIELDS = ("userId", "sessionId", "userTopic")


def request_problem(request: UserTopicRequest) -> str | None:
    """Why the change cannot be stored (None: it can): the sizes the tables hold."""
    keyword = "createUserTopic" if request.create else "joinUserTopic"
    if not request.topic or len(request.topic) > TOPIC_MAX_CHARS:
        return f"{keyword}.topic must be 1 to {TOPIC_MAX_CHARS} characters, got {len(request.topic)}"
    if len(request.user_ids) > MAX_USERS_PER_CHANGE:
        return f"{keyword}.userIds holds {len(request.user_ids)} ids, at most {MAX_USERS_PER_CHANGE} per instruction"
    long = next((u for u in request.user_ids if not u or len(u) > USER_ID_MAX_CHARS), None)
    if long is not None:
        return f"{keyword}.userIds: every id must be 1 to {USER_ID_MAX_CHARS} characters, got {len(long)}"
    return None


def _event(type_: str, payload: dict[str, Any], source: EventSource) -> Event:
    return Event(id=str(uuid.uuid4()), type=type_, source=source.model_copy(update={"serviceTopic": type_}),
                 payload=payload, createdAt=datetime.now(UTC), size=json_size(payload))


def change_topic(session: Session, request: UserTopicRequest, source: EventSource,
                 redact: Callable[[Any], Any] = lambda value: value) -> list[Event]:
    """Apply the change and insert its native events in the caller's transaction (a unit of work
    for ``Database.run_sync``: safe to run again after a rollback). Returns the events written;
    their payloads pass through ``redact`` (the workspace's secret values)."""
    conn = session.connection()
    insert = insert_for(conn.dialect.name)
    ws, topic = request.workspace_id, request.topic
    users = list(dict.fromkeys(request.user_ids))  # in order, once each
    created = conn.execute(insert(TOPICS).values(
        workspace_id=ws, topic=topic, created_by=request.actor, created_at=datetime.now(UTC),
    ).on_conflict_do_nothing(index_elements=["workspace_id", "topic"]).returning(TOPICS.c.topic)).first() is not None
    if request.create and not created:
        return []  # an existing topic: createUserTopic changes nothing
    joined: set[str] = set()
    if users:
        now = datetime.now(UTC)
        rows = conn.execute(insert(MEMBERS).values(
            [{"workspace_id": ws, "topic": topic, "user_id": user, "joined_at": now} for user in users],
        ).on_conflict_do_nothing(index_elements=["workspace_id", "topic", "user_id"]).returning(MEMBERS.c.user_id))
        joined = {row.user_id for row in rows}
    events = []
    if created:
        events.append(_event(CREATED, redact({"topic": topic, "userIds": users}), source))
    if not request.create:
        events += [_event(JOINED, redact({"topic": topic, "user": {"id": user}}), source)
                   for user in users if user in joined]
    insert_rows(conn, [event_row(e) for e in events])
    return events


async def topics_of(session: AsyncSession, workspace_id: str, user_id: str | None) -> set[str]:
    """The topics ``user_id`` is a member of in the workspace."""
    if not user_id:
        return set()
    rows = await session.execute(select(MEMBERS.c.topic).where(MEMBERS.c.workspace_id == workspace_id,
                                                                MEMBERS.c.user_id == user_id))
    return {str(topic) for topic in rows.scalars()}


async def members_of(session: AsyncSession, workspace_id: str, topic: str) -> list[str]:
    rows = await session.execute(select(MEMBERS.c.user_id).where(MEMBERS.c.workspace_id == workspace_id,
                                                                  MEMBERS.c.topic == topic)
                                 .order_by(MEMBERS.c.user_id))
    return [str(user) for user in rows.scalars()]


def event_target(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """The addressing part of an event's ``target`` (``userId``, ``sessionId``, ``userTopic``
    that are set), or None for an event addressed to every reader."""
    target = event.get("target")
    if not isinstance(target, Mapping):
        return None
    named = {key: target[key] for key in TARGET_FIELDS if target.get(key) not in (None, "")}
    return named or None


@dataclass
class Audience:
    """Who reads a stream: the caller's user, session and topics in one workspace. The topics
    follow the stream: the native ``events.userTopics.*`` events that add the caller to a topic
    pass through :meth:`observe` before the events addressed to that topic (they are committed
    first), so a topic joined while the stream is open is honoured from then on."""

    workspace_id: str
    user_id: str | None = None
    session_id: str | None = None
    topics: set[str] = field(default_factory=set)

    def addressed(self, target: Mapping[str, Any]) -> bool:
        """Is the caller one of the target's addressees (its user, its session, or a member of
        its topic; any one of those set suffices)?"""
        return bool((self.user_id and target.get("userId") == self.user_id)
                    or (self.session_id and target.get("sessionId") == self.session_id)
                    or self._member(target.get("userTopic")))

    def _member(self, topic: Any) -> bool:
        return isinstance(topic, str) and topic in self.topics

    def reads_by_topic(self, event: Mapping[str, Any]) -> bool:
        """The read grant of a topic member (the permission rule "events targeted to a topic of
        the user"): an event of this workspace whose ``target.userTopic`` is one of the topics."""
        source = event.get("source")
        target = event.get("target")
        return (isinstance(source, Mapping) and source.get("workspaceId") == self.workspace_id
                and isinstance(target, Mapping) and self._member(target.get("userTopic"))
                and event.get("type") != "runtime.contexts.updated")

    def observe(self, event: Mapping[str, Any]) -> None:
        """Learn the topics the caller joins from the native membership events (never from an
        emitted event of the same name: natives carry their own type as ``serviceTopic``)."""
        kind = event.get("type")
        if kind not in (CREATED, JOINED) or not self.user_id:
            return
        source, payload = event.get("source"), event.get("payload")
        if not (isinstance(source, Mapping) and source.get("serviceTopic") == kind
                and source.get("workspaceId") == self.workspace_id and isinstance(payload, Mapping)):
            return
        topic = payload.get("topic")
        if not isinstance(topic, str):
            return
        if kind == CREATED:
            ids = payload.get("userIds")
            members: Iterable[Any] = ids if isinstance(ids, list) else ()
        else:
            user = payload.get("user")
            members = [user.get("id")] if isinstance(user, Mapping) else ()
        if self.user_id in members:
            self.topics.add(topic)
