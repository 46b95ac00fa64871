"""A management write and its event are one transaction (issue 14, item 11): when the event cannot
be stored, the write is rolled back. The failure is real: a database trigger refuses events that
carry a marker (no mock), on both databases."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text

from api.app import create_app
from tests.api.helpers import make_user, unique_slug, workspace_doc
from tests.stack import Stack

MARKER = "tx-fail-marker"


def _trigger_statements(backend: str, name: str) -> tuple[list[str], str]:
    """(create, drop) of a trigger refusing events whose payload holds MARKER."""
    if backend == "sqlite":
        return [f"""CREATE TRIGGER {name} BEFORE INSERT ON events
WHEN CAST(NEW.payload AS TEXT) LIKE '%{MARKER}%'
BEGIN SELECT RAISE(ABORT, 'injected failure'); END"""], f"DROP TRIGGER IF EXISTS {name}"
    return [f"""CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$
BEGIN
  IF NEW.payload::text LIKE '%{MARKER}%' THEN RAISE EXCEPTION 'injected failure'; END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql""",
            f"CREATE TRIGGER {name} BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION {name}()"], \
        f"DROP TRIGGER IF EXISTS {name} ON events"


@pytest.fixture
async def failing_events(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """Events whose payload holds MARKER cannot be inserted while the test runs."""
    create, drop = _trigger_statements(stack.backend, f"fail_marked_{uuid.uuid4().hex[:8]}")
    async with stack.services.db.session() as session:
        for statement in create:
            await session.exec(text(statement))
        await session.commit()
    transport = httpx.ASGITransport(app=create_app(stack.services), raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://tideway.test", timeout=60) as http:
            yield http
    finally:
        async with stack.services.db.session() as session:
            await session.exec(text(drop))
            await session.commit()


async def _count(stack: Stack, sql: str, **params: str) -> int:
    async with stack.services.db.session() as session:
        return int((await session.exec(text(sql), params=params)).one()[0])


async def test_created_workspace_owner_and_event_commit_together(stack: Stack,
                                                                 failing_events: httpx.AsyncClient) -> None:
    user = await make_user(stack, "txowner")
    slug = unique_slug("tx")
    response = await failing_events.post("/v2/workspaces", json={"name": f"{MARKER} ws", "slug": slug},
                                         headers={"authorization": user["authorization"]})
    assert response.status_code >= 500  # the database refused: nothing of the workspace stays
    assert await _count(stack, "SELECT count(*) FROM workspaces WHERE slug = :slug", slug=slug) == 0
    assert await _count(stack, "SELECT count(*) FROM workspace_members WHERE user_id = :user", user=user["id"]) == 0
    # Without the marker the same request creates the workspace and makes its creator the owner.
    ok = await failing_events.post("/v2/workspaces", json={"name": "fine", "slug": slug},
                                   headers={"authorization": user["authorization"]})
    assert ok.status_code == 200, ok.text
    assert await _count(stack, "SELECT count(*) FROM workspace_members WHERE user_id = :user AND role = 'owner'",
                        user=user["id"]) == 1


async def test_new_revision_and_event_commit_together(stack: Stack, failing_events: httpx.AsyncClient) -> None:
    ws = (await stack.import_workspace(workspace_doc({})))["id"]
    revision = (await stack.http.get(f"/v2/workspaces/{ws}", headers=stack.auth)).json()["revision"]
    response = await failing_events.patch(f"/v2/workspaces/{ws}", json={"description": MARKER}, headers=stack.auth)
    assert response.status_code >= 500
    after = (await stack.http.get(f"/v2/workspaces/{ws}", headers=stack.auth)).json()
    assert after["revision"] == revision and after.get("description") != MARKER
    assert await _count(stack, "SELECT count(*) FROM workspace_revisions WHERE workspace_id = :ws", ws=ws) == revision


async def test_secrets_and_api_keys_commit_with_their_events(stack: Stack,
                                                             failing_events: httpx.AsyncClient) -> None:
    ws = (await stack.import_workspace(workspace_doc({})))["id"]
    base = f"/v2/workspaces/{ws}/security"
    response = await failing_events.put(f"{base}/secrets", json={MARKER: {"value": "v"}},
                                        headers=stack.auth)
    assert response.status_code >= 500
    assert (await stack.http.get(f"{base}/secrets", headers=stack.auth)).json() == {}
    response = await failing_events.post(f"{base}/apikeys", json={"name": MARKER, "rules": []}, headers=stack.auth)
    assert response.status_code >= 500
    assert (await stack.http.get(f"{base}/apikeys", headers=stack.auth)).json() == []
