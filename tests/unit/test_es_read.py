"""Read rules as SQL (core/events/es_read.py): for each kind of caller, the events the SQL condition
selects are exactly those the per-event check of ``GET …/events`` lets through
(``event_readable`` or a topic of the caller; the app-depth rule), on a varied event set. Callers
whose rules cannot be written in SQL get None."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from core.access.permissions import Permissions
from core.access.permissions.checks import event_readable, member_permissions
from core.events.es_read import depth_condition, read_condition
from core.events.es_sql import ROW_COLUMNS, Sql
from core.events.filters import depth_allows
from core.events.store import EVENTS, event_row, insert_rows, row_to_public
from core.events.user_topics import Audience
from core.infra.db import Database
from schemas.events import EMIT_TOPIC, Event, EventSource

WS, OTHER = "wsread", "wsother"
USER, SESSION = "u-reader", "s-reader"


def events() -> list[Event]:
    """Events of every shape the rules look at: emitted or native, by the reader or others, in its
    session or not, targeted to it, its session or a topic (also as lists), apikeys.*, contexts,
    app depths."""
    specs: list[dict[str, Any]] = [
        {"type": "order.created"},
        {"type": "order.created", "source": {"serviceTopic": EMIT_TOPIC, "userId": USER}},
        {"type": "order.created", "source": {"serviceTopic": EMIT_TOPIC, "sessionId": SESSION}},
        {"type": "order.created", "source": {"serviceTopic": EMIT_TOPIC, "userId": "someone"}},
        {"type": "order.paid", "source": {"serviceTopic": "runtime.automations.executed", "userId": USER}},
        {"type": "order.paid", "target": {"userId": USER}},
        {"type": "order.paid", "target": {"userId": [USER, "x"]}},
        {"type": "order.paid", "target": {"sessionId": SESSION}},
        {"type": "order.paid", "target": {"userTopic": "team"}},
        {"type": "order.paid", "target": {"userTopic": ["team"]}},
        {"type": "order.paid", "target": {"userTopic": "other-team"}},
        {"type": "apikeys.created", "source": {"serviceTopic": EMIT_TOPIC, "sessionId": SESSION}},
        {"type": "apikeys.created"},
        {"type": "runtime.contexts.updated", "target": {"userId": USER}},
        {"type": "runtime.contexts.updated"},
        {"type": "agent.message", "source": {"userId": "u2"}},
        {"type": "agent.message", "source": {"userId": USER, "serviceTopic": EMIT_TOPIC}, "depth": 2},
        {"type": "agent.reply", "depth": 1},
        {"type": "agent.reply", "depth": 3},
        {"type": "agent.reply", "depth": 0},
        {"type": "agent.reply", "target": {"userTopic": "team"}, "depth": 5},
    ]
    out = []
    for i, spec in enumerate(specs):
        source = {"workspaceId": WS, "correlationId": uuid.uuid4().hex, **spec.get("source", {})}
        if "depth" in spec:
            source["appInstanceDepth"] = spec["depth"]
        out.append(Event(id=f"r{i:02d}-{uuid.uuid4().hex[:6]}", type=spec["type"], source=EventSource(**source),
                         target=spec.get("target"), createdAt=datetime(2024, 1, 1, tzinfo=UTC)))
    other = EventSource(workspaceId=OTHER, correlationId="c", userId=USER, serviceTopic=EMIT_TOPIC)
    out.append(Event(id="other-ws", type="order.created", source=other, createdAt=datetime(2024, 1, 1, tzinfo=UTC)))
    return out


@pytest.fixture
async def seeded(db: Database) -> Database:
    async with db.session() as session:
        conn = await session.connection()
        await conn.run_sync(insert_rows, [event_row(e) for e in events()])
        await session.commit()
    return db


AGENT_SECURITY = {"authorizations": {"roles": {"agent": {}}, "rules": [
    {"role": "agent", "action": "read", "subject": "events", "conditions": {"type": {"$in": ["agent.message", "agent.reply"]}}},
    {"role": "agent", "action": "read", "subject": "events", "inverted": True, "conditions": {"source.userId": "u2"}},
    {"role": "agent", "action": "read", "subject": "events", "conditions": {"target.userTopic": {"$exists": True}}},
    {"action": "read", "subject": "events", "conditions": {"$or": [{"type": "order.paid"}, {"id": {"$ne": "x"}}],
                                                           "source.serviceTopic": {"$nin": ["nothing"]}},
     "inverted": True},
]}}
CALLERS: dict[str, dict[str, Any]] = {
    "owner": {"role": "owner"},
    "editor": {"role": "editor"},
    "member without a role": {},
    "member in a topic": {"topics": {"team"}},
    "custom role": {"role": "agent", "security": AGENT_SECURITY},
    "anonymous with an API key": {"user_id": None, "api_keys": [[
        {"action": "read", "subject": "events", "conditions": {"type": {"$regex": "^order\\."}}}]]},
}


def permissions(spec: dict[str, Any]) -> Permissions:
    return member_permissions(WS, spec.get("security"), user_id=spec.get("user_id", USER), session_id=SESSION,
                              role=spec.get("role"), api_keys=spec.get("api_keys", ()))


async def selected(db: Database, condition: str, sql: Sql) -> set[str]:
    async with db.session() as session:
        rows = (await session.execute(sql.statement(
            f"SELECT events.id FROM events WHERE events.workspace_id = {sql.bind(WS)} AND {condition}"))).all()
    return {r[0] for r in rows}


async def all_events(db: Database) -> list[dict[str, Any]]:
    async with db.session() as session:
        statement = Sql("sqlite").statement(f"SELECT {ROW_COLUMNS} FROM events").columns(*EVENTS.columns)
        return [row_to_public(r) for r in (await session.execute(statement)).all() if r.workspace_id == WS]


@pytest.mark.parametrize("caller", list(CALLERS))
async def test_the_sql_reads_what_the_per_event_check_reads(seeded: Database, caller: str) -> None:
    spec = CALLERS[caller]
    perms = permissions(spec)
    audience = Audience(WS, spec.get("user_id", USER), SESSION, set(spec.get("topics", ())))
    sql = Sql("sqlite")
    condition = read_condition(sql, perms, WS, audience.topics)
    assert condition is not None, caller
    expected = {e["id"] for e in await all_events(seeded)
                if depth_allows(1, e) and (event_readable(perms, e) or audience.reads_by_topic(e))}
    got = await selected(seeded, f"{condition} AND {depth_condition(sql, 1)}", sql)
    assert got == expected
    assert "other-ws" not in got


async def test_owners_read_all_but_the_context_events(seeded: Database) -> None:
    sql = Sql("sqlite")
    condition = read_condition(sql, permissions({"role": "owner"}), WS)
    assert condition is not None
    types = {e["type"] for e in await all_events(seeded) if e["id"] in await selected(seeded, condition, sql)}
    assert "runtime.contexts.updated" not in types and "apikeys.created" in types


@pytest.mark.parametrize("rule", [
    {"action": "read", "subject": "events", "conditions": {"payload.kind": "public"}},
    {"action": "read", "subject": "events", "conditions": {"type": {"$regex": "order"}}},
    {"action": "read", "subject": "events", "conditions": {"type": {"$regex": "^order", "$options": "i"}}},
    {"action": "read", "subject": "events", "conditions": {"source.automationDepth": 2}},
    {"action": "read", "subject": "events", "conditions": {"source.http.method": "GET"}},
    {"action": "read", "subject": "events", "inverted": True, "conditions": {"target.userTopic": {"$size": 1}}},
])
def test_rules_sql_cannot_say_leave_the_search_to_python(rule: dict[str, Any]) -> None:
    security = {"authorizations": {"roles": {}, "rules": [rule]}}
    perms = member_permissions(WS, security, user_id=USER, session_id=SESSION)
    assert read_condition(Sql("sqlite"), perms, WS) is None


async def test_a_superadmins_rules_read_all_but_the_context_events(seeded: Database) -> None:
    """(The search itself filters nothing for superadmins, as ``GET …/events``.)"""
    sql = Sql("sqlite")
    condition = read_condition(sql, member_permissions(WS, None, user_id=USER, superadmin=True), WS)
    assert condition is not None
    everything = await all_events(seeded)
    assert await selected(seeded, condition, sql) == {e["id"] for e in everything
                                                      if e["type"] != "runtime.contexts.updated"}


async def test_app_depth_column_follows_the_source(seeded: Database) -> None:
    async with seeded.session() as session:
        rows = (await session.execute(Sql("sqlite").statement(
            "SELECT json_extract(source, '$.appInstanceDepth'), app_depth FROM events"))).all()
    assert {(r[0], r[1]) for r in rows} == {(None, None), (0, 0), (1, 1), (2, 2), (3, 3), (5, 5)}
