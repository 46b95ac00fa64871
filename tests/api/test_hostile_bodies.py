"""Hostile bodies on every route that takes one (issue 14, items 11-13), on both databases.

Each route that declares a body reader (``api.bodies.BodyReader``) gets the same hostile JSON
(NaN, Infinity, 1e400, lone surrogates in values and keys, NUL, nesting 300 / 1,000 / 10,000
deep, malformed text), wrong top-level types (null, list, string, number) and wrong field
types of its own. Every answer must be a 4xx with the documented error body, and the database
must not change (row counts, this module's rows, events). A route with a body and no case here
fails ``test_every_body_route_is_covered``; after the hostile requests, a valid body on each
route proves the cases reached the route (right URL, allowed caller).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from api.app import create_app
from tests.api.helpers import make_user, unique_slug, workspace_doc
from tests.api.hostile_catalogue import ECHO, FORM, JSON, Case, RouteCases, body_routes, catalogue  # noqa: F401
from tests.stack import Stack


@dataclass
class World:
    """What the routes act on: one workspace with an automation, an app instance, an API key,
    a version and a secret, plus a user with a session."""

    ws: str
    app: str
    instance: str
    key_id: str
    user_token: str
    background: set[str]  # workspaces of other tests: their late events are not ours to count
    http: httpx.AsyncClient


SCHEMA = {"apiUrl": {"type": "string"}, "extra": {"type": "object"}}


@pytest.fixture(scope="module")
async def world(stack: Stack) -> AsyncIterator[World]:
    async with stack.services.db.session() as session:
        background = {row[0] for row in (await session.exec(text("SELECT id FROM workspaces"))).all()}
    source = await stack.import_workspace(workspace_doc(
        {"noop": {"name": "noop", "do": []}}, description="Hostile app", photo="https://example.test/p.png",
        config={"schema": SCHEMA, "value": {}}))
    app = unique_slug("hostileapp")
    published = await stack.http.post("/v2/apps", json={"workspaceId": source["id"], "slug": app}, headers=stack.auth)
    assert published.status_code == 200, published.text
    ws = (await stack.import_workspace(workspace_doc({"echo": ECHO}, description="Hostile",
                                                     photo="https://example.test/p.png")))["id"]
    installed = await stack.http.post(f"/v2/workspaces/{ws}/apps", json={"appSlug": app, "slug": "inst"},
                                      headers=stack.auth)
    assert installed.status_code == 200, installed.text
    key = await stack.http.post(f"/v2/workspaces/{ws}/security/apikeys", json={"name": "k", "rules": []},
                                headers=stack.auth)
    assert key.status_code == 200, key.text
    version = await stack.http.post(f"/v2/workspaces/{ws}/versions", json={"description": "v"}, headers=stack.auth)
    assert version.status_code == 200, version.text
    secret = await stack.http.put(f"/v2/workspaces/{ws}/security/secrets", json={"token": {"value": "s3cret"}},
                                  headers=stack.auth)
    assert secret.status_code == 200, secret.text
    user = await make_user(stack, "hostile")
    # Like a real server: an exception escaping the app is a 500 answer, not raised in the test.
    transport = httpx.ASGITransport(app=create_app(stack.services), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://tideway.test", timeout=60) as http:
        yield World(ws, app, "inst", key.json()["id"], user["token"], background, http)


# -- the database, before and after ------------------------------------------------------------
COUNTED = ("workspaces", "workspace_revisions", "users", "access_tokens", "apps", "app_versions", "api_keys",
           "workspace_members", "workspace_secrets", "workspace_versions", "blobs", "schedules")


async def snapshot(stack: Stack, world: World) -> dict[str, Any]:
    """Row counts of every management table, this module's workspace rows, and the events of
    every workspace but other tests' (a hostile request must not create one either)."""
    state: dict[str, Any] = {}
    async with stack.services.db.session() as session:
        for table in COUNTED:
            state[table] = (await session.exec(text(f"SELECT count(*) FROM {table}"))).one()[0]
        params = {"ws": world.ws}
        state["workspace"] = [tuple(r) for r in (await session.exec(text(
            "SELECT slug, name, revision, updated_at, deleted_at FROM workspaces WHERE id = :ws"), params=params)).all()]
        state["secrets"] = sorted(tuple(map(str, r)) for r in (await session.exec(text(
            "SELECT name, value, type, description, updated_at FROM workspace_secrets WHERE workspace_id = :ws"),
            params=params)).all())
        state["keys"] = sorted(tuple(map(str, r)) for r in (await session.exec(text(
            "SELECT id, name, rules, disabled, updated_at FROM api_keys WHERE workspace_id = :ws"),
            params=params)).all())
        state["members"] = sorted(tuple(r) for r in (await session.exec(text(
            "SELECT user_id, role FROM workspace_members WHERE workspace_id = :ws"), params=params)).all())
        events = (await session.exec(text("SELECT workspace_id, count(*) FROM events GROUP BY workspace_id"))).all()
        state["events"] = {w: n for w, n in events if w not in world.background}
    return state


def assert_error_body(response: httpx.Response, html: bool) -> None:
    if html:
        assert response.headers["content-type"].startswith("text/html"), response.text[:300]
        assert "Traceback" not in response.text
        return
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and isinstance(body.get("message"), str), body
    assert set(body) <= {"error", "message", "details"}, body
    if "details" in body and isinstance(body["details"], list):
        for detail in body["details"]:
            assert not isinstance(detail, dict) or set(detail) >= {"path", "message"} or set(detail) == {"fields"}, body


# -- the tests ---------------------------------------------------------------------------------
def test_every_body_route_is_covered() -> None:
    """A new route with a body fails here until it has hostile cases in ``catalogue``."""
    fake = World("w", "a", "i", "k", "t", set(), None)  # type: ignore[arg-type]
    assert body_routes() == set(catalogue(fake, {})), "add the new body route to catalogue()"


def test_only_api_bodies_reads_bodies() -> None:
    """Routes get bodies from the readers, never from the request: one strict parser for all."""
    api = Path(__file__).resolve().parents[2] / "api"
    readers = re.compile(r"request\.(stream|body|json|form)\(|\bread_limited\(|\bparse_multipart\(|(?<![\w.])json\.loads\(")
    offenders = [f"{path.relative_to(api)}:{n}" for path in api.rglob("*.py")
                 if path.name not in ("bodies.py", "multipart.py")
                 for n, line in enumerate(path.read_text().splitlines(), 1) if readers.search(line)]
    assert offenders == []


async def test_hostile_bodies_change_nothing(stack: Stack, world: World) -> None:
    table = catalogue(world, stack.auth)
    failures: list[str] = []
    baseline = await snapshot(stack, world)
    sent = 0
    done: set[int] = set()
    for (method, path), route in table.items():
        if id(route) in done and route.methods:
            continue
        done.add(id(route))
        for each in route.methods or (method,):
            for case in route.cases:
                response = await world.http.request(each, route.url, content=case.body,
                                                     headers={**route.headers, **case.headers})
                sent += 1
                where = f"{each} {path} [{case.label}]"
                if response.status_code != case.status:
                    failures.append(f"{where}: {response.status_code} {response.text[:200]}")
                else:
                    try:
                        assert_error_body(response, route.html)
                    except AssertionError as exc:
                        failures.append(f"{where}: error body {exc}")
                after = await snapshot(stack, world)
                if after != baseline:
                    changed = {k: (baseline[k], after[k]) for k in after if after[k] != baseline[k]}
                    failures.append(f"{where}: the database changed: {str(changed)[:400]}")
                    baseline = after  # report the next case's own changes only
    assert not failures, f"{len(failures)} of {sent} hostile requests:\n" + "\n".join(failures)
    # The same URLs and callers accept a valid body: the cases above reached their routes.
    for (method, path), route in table.items():
        response = await world.http.request(method, route.url, content=route.valid.body,
                                            headers={**route.headers, **route.valid.headers})
        assert response.status_code == route.valid.status, f"{method} {path}: {response.text[:300]}"

