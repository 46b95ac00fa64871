"""Apps and events as the reference documents them (issue 16), each on a real stack.

Publishing reuses the workspace's description and photo only when it has them; the app slug is
fixed at the first publish (a re-publish after a delete revives it); ``apps.published`` and
``apps.deleted`` reach instances when their own app or the workspace installing them is
published or deleted; an instance reads its own events by their local name; ``when.events``
names only native events that can start automations (``error`` included, with a loop guard);
``*`` wildcards filter event types; a failed run records ``runtime.automations.executed`` and
an ``error`` naming its workflow; ``$http.chunk`` values always reach the caller as SSE.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx

from api.app import create_app
from tests.api.helpers import unique_slug, workspace_doc
from tests.stack import Stack

PHOTO = "https://example.test/photo.png"


async def publish(stack: Stack, workspace_id: str, **body: Any) -> httpx.Response:
    return await stack.http.post("/v2/apps", json={"workspaceId": workspace_id, **body}, headers=stack.auth)


async def install(stack: Stack, workspace_id: str, app: str, slug: str) -> None:
    response = await stack.http.post(f"/v2/workspaces/{workspace_id}/apps", json={"appSlug": app, "slug": slug},
                                     headers=stack.auth)
    assert response.status_code == 200, response.text


async def events_until(stack: Stack, ws: str, done: Callable[[list[dict[str, Any]]], bool],
                       timeout: float = 20.0, **params: Any) -> list[dict[str, Any]]:
    """The workspace's events (nested instances' included) once ``done`` holds (listener runs are
    workflows of their own)."""
    params.setdefault("appInstanceDepth", 5)
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = await stack.events(ws, limit=500, **params)
        if done(found) or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.05)


def executed_by(events: list[dict[str, Any]], automation: str, instance: str | None = None) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == "runtime.automations.executed"
            and e["source"].get("automationSlug") == automation
            and e["source"].get("appInstanceFullSlug") == instance]


# -- 1. and 4. publishing ------------------------------------------------------------------

async def test_publish_without_description_or_photo_gives_an_app_without_them(stack: Stack) -> None:
    ws = await stack.import_workspace(workspace_doc({}))
    slug = unique_slug("bare")
    published = await publish(stack, ws["id"], slug=slug)
    assert published.status_code == 200, published.text
    app = (await stack.http.get(f"/v2/apps/{slug}", headers=stack.auth)).json()
    assert app["slug"] == slug and "description" not in app and "photo" not in app
    # Once the workspace has them, the next publish takes them.
    patched = await stack.http.patch(f"/v2/workspaces/{ws['id']}", json={"description": "Now described",
                                                                          "photo": PHOTO}, headers=stack.auth)
    assert patched.status_code == 200, patched.text
    again = (await publish(stack, ws["id"])).json()
    assert again["description"] == "Now described" and again["photo"] == PHOTO


async def test_a_republish_after_delete_revives_the_app_under_its_slug(stack: Stack) -> None:
    ws = await stack.import_workspace(workspace_doc({"run": {"name": "run", "do": [], "output": 1}}))
    slug = unique_slug("phoenix")
    assert (await publish(stack, ws["id"], slug=slug, name="v1")).status_code == 200
    assert (await stack.http.delete(f"/v2/apps/{slug}", headers=stack.auth)).status_code == 200
    assert (await stack.http.get(f"/v2/apps/{slug}", headers=stack.auth)).status_code == 404

    revived = await publish(stack, ws["id"], name="v2")  # no slug: the one fixed at the first publish
    assert revived.status_code == 200, revived.text
    assert revived.json()["slug"] == slug and "deleted" not in revived.json()
    app = (await stack.http.get(f"/v2/apps/{slug}", headers=stack.auth)).json()
    assert [v["name"] for v in app["versions"]] == ["v2", "v1"]
    # The slug still cannot change, deleted or not.
    other = await publish(stack, ws["id"], slug=unique_slug("other"))
    assert other.status_code == 400 and other.json()["error"] == "InvalidSlugError"


# -- 2. lifecycle events reach instances of the parent -------------------------------------

LIFECYCLE_LISTENERS = {
    "onPublished": {"name": "onPublished", "when": {"events": ["apps.published"]}, "do": [],
                    "output": "published {{payload.app.slug}}"},
    "onDeleted": {"name": "onDeleted", "when": {"events": ["apps.deleted"]}, "do": [],
                  "output": "deleted {{payload.appSlug}}"},
    # Only the documented natives reach an instance: never its parent's configuration.
    "onConfigured": {"name": "onConfigured", "when": {"events": ["workspaces.configured"]}, "do": [],
                     "output": "configured"},
}


async def test_parent_publish_and_delete_reach_the_instances_it_installs(stack: Stack) -> None:
    leaf_ws = await stack.import_workspace(workspace_doc(LIFECYCLE_LISTENERS))
    leaf = unique_slug("leaf")
    assert (await publish(stack, leaf_ws["id"], slug=leaf)).status_code == 200
    # The parent: a workspace installing the leaf, itself published as an app.
    parent_ws = (await stack.import_workspace(workspace_doc(LIFECYCLE_LISTENERS)))["id"]
    await install(stack, parent_ws, leaf, "inner")
    parent = unique_slug("parent")
    assert (await publish(stack, parent_ws, slug=parent)).status_code == 200
    # A root installing the parent: the leaf runs there as `outer.inner`.
    root = (await stack.import_workspace(workspace_doc({})))["id"]
    await install(stack, root, parent, "outer")

    # The parent's own publish reaches the instance it installs.
    seen = await events_until(stack, parent_ws, lambda ev: bool(executed_by(ev, "onPublished", "inner")))
    assert [e["payload"]["output"] for e in executed_by(seen, "onPublished", "inner")] == [f"published {parent}"]

    # Publishing the parent again reaches every instance of it (`outer` in root) and the instance
    # that one imports (`outer.inner`).
    assert (await publish(stack, parent_ws)).status_code == 200
    seen = await events_until(stack, root, lambda ev: bool(executed_by(ev, "onPublished", "outer.inner"))
                              and bool(executed_by(ev, "onPublished", "outer")))
    for instance in ("outer", "outer.inner"):
        assert [e["payload"]["output"] for e in executed_by(seen, "onPublished", instance)] == [
            f"published {parent}"], instance

    # The root's own configuration reaches none of its instances.
    configured = await stack.http.patch(f"/v2/workspaces/{root}", json={"config": {"value": {"x": 1}}},
                                        headers=stack.auth)
    assert configured.status_code == 200, configured.text
    await events_until(stack, root, lambda ev: any(e["type"] == "workspaces.configured" for e in ev))

    # Deleting the parent app reaches the instance it installs, every instance of it, and theirs.
    assert (await stack.http.delete(f"/v2/apps/{parent}", headers=stack.auth)).status_code == 200
    for ws, instance in ((parent_ws, "inner"), (root, "outer"), (root, "outer.inner")):
        seen = await events_until(stack, ws, lambda ev, i=instance: bool(executed_by(ev, "onDeleted", i)))
        assert [e["payload"]["output"] for e in executed_by(seen, "onDeleted", instance)] == [f"deleted {parent}"]
    everything = await stack.events(root, limit=500, appInstanceDepth=5)
    assert not [e for e in everything if e["type"] == "runtime.automations.executed"
                and e["source"].get("automationSlug") == "onConfigured" and e["source"].get("appInstanceFullSlug")]


# -- 3. the instance's view of its own events ------------------------------------------------

async def test_an_instance_reads_its_own_events_by_their_local_name(stack: Stack) -> None:
    app_ws = await stack.import_workspace(workspace_doc({
        "ping": {"name": "ping", "when": {"endpoint": True}, "do": [{"emit": {"event": "pinged"}}], "output": "ok"},
        "onPinged": {"name": "onPinged", "when": {"events": ["pinged"]}, "do": [],
                     "output": {"value": "{{run.trigger.value}}"}},
    }))
    app = unique_slug("toolbox")
    assert (await publish(stack, app_ws["id"], slug=app)).status_code == 200
    root = (await stack.import_workspace(workspace_doc({
        "onToolboxPinged": {"name": "onToolboxPinged", "when": {"events": ["toolbox.pinged"]}, "do": [],
                            "output": {"value": "{{run.trigger.value}}"}},
    })))["id"]
    await install(stack, root, app, "toolbox")
    called = await stack.http.post(f"/v2/workspaces/{root}/webhooks/toolbox.ping", json={})
    assert called.status_code == 200, called.text

    seen = await events_until(stack, root, lambda ev: bool(executed_by(ev, "onPinged", "toolbox"))
                              and bool(executed_by(ev, "onToolboxPinged")))
    inside = executed_by(seen, "onPinged", "toolbox")[0]["payload"]
    # The instance's automation reads the local name; its executed event keeps the full one.
    assert inside["output"] == {"value": "pinged"}
    assert inside["trigger"] == {"type": "event", "value": "toolbox.pinged", "id": inside["trigger"]["id"]}
    # The root (admin feed and listeners) sees the full name.
    assert executed_by(seen, "onToolboxPinged")[0]["payload"]["output"] == {"value": "toolbox.pinged"}
    assert any(e["type"] == "toolbox.pinged" for e in seen)
    assert not any(e["type"] == "pinged" for e in seen)


# -- 5. listening to native events -------------------------------------------------------------

async def test_listeners_name_only_native_events_that_can_start_them(stack: Stack) -> None:
    doc = workspace_doc({
        "selfish": {"name": "selfish", "when": {"events": ["runtime.automations.executed"]}, "do": []},
        "deaf": {"name": "deaf", "when": {"events": ["custom.thing", "workspaces.automations.created"]}, "do": []},
    })
    response = await stack.http.post("/v2/workspaces/import", json=doc, headers=stack.auth)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "InvalidWorkspaceError"
    by_path = {d["path"]: d["message"] for d in body["details"]}
    # Every problem at once, each placed (a JSON import names paths in its document).
    selfish, deaf = "document: automations.selfish.when.events[0]", "document: automations.deaf.when.events[1]"
    assert set(by_path) == {selfish, deaf}
    assert "wait for it with `wait`" in by_path[selfish]
    assert "'error'" not in by_path[deaf] and "error, " in by_path[deaf]
    assert "workspaces.apps.installed" in by_path[deaf]
    # The single-automation route checks the same.
    ws = (await stack.import_workspace(workspace_doc({})))["id"]
    created = await stack.http.post(f"/v2/workspaces/{ws}/automations", headers=stack.auth, json={
        "slug": "selfish", "name": "selfish", "when": {"events": ["runtime.automations.executed"]}, "do": []})
    assert created.status_code == 400 and "when.events[0]" in created.text


async def test_error_listeners_run_once_per_error_and_never_loop(stack: Stack) -> None:
    ws = (await stack.import_workspace(workspace_doc({
        "broken": {"name": "broken", "when": {"endpoint": True}, "do": [{"noSuchAutomation": {}}]},
        # The listener fails too: its own error must not start it again.
        "onError": {"name": "onError", "when": {"events": ["error"]},
                    "do": [{"set": {"name": "seen", "value": "{{payload.error}}"}}, {"alsoMissing": {}}]},
    })))["id"]
    failed = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/broken", json={})
    assert failed.status_code == 404 and failed.json()["error"] == "ObjectNotFoundError"
    seen = await events_until(stack, ws, lambda ev: len([e for e in ev if e["type"] == "error"]) >= 2)
    await asyncio.sleep(1.0)  # room for a loop, were there one
    seen = await stack.events(ws, limit=500)
    errors = [e for e in seen if e["type"] == "error"]
    assert sorted(e["source"]["automationSlug"] for e in errors) == ["broken", "onError"]
    runs = executed_by(seen, "onError")
    assert len(runs) == 1 and runs[0]["payload"]["error"]["error"] == "ObjectNotFoundError"
    assert runs[0]["payload"]["trigger"]["value"] == "error"


# -- 6. wildcards in type filters -------------------------------------------------------------

async def test_type_filters_take_wildcards(stack: Stack) -> None:
    ws = (await stack.import_workspace(workspace_doc({
        "hello": {"name": "hello", "when": {"endpoint": True}, "do": [{"emit": {"event": "order.created"}},
                                                                       {"emit": {"event": "order.paid"}}]}})))["id"]
    assert (await stack.http.post(f"/v2/workspaces/{ws}/webhooks/hello", json={})).status_code == 200
    everything = await events_until(stack, ws, lambda ev: any(e["type"] == "order.paid" for e in ev))
    types = {e["type"] for e in everything}
    assert {"order.created", "order.paid", "runtime.automations.executed"} <= types

    runtime = {e["type"] for e in await stack.events(ws, types="runtime.*")}
    assert runtime == {t for t in types if t.startswith("runtime.")} and runtime
    assert {e["type"] for e in await stack.events(ws, types="*.paid,order.created")} == {"order.paid",
                                                                                        "order.created"}
    assert await stack.events(ws, types="order.c*ted") != []
    # `*` is the only wildcard: `_` and `%` are plain characters.
    assert await stack.events(ws, types="order_*") == [] and await stack.events(ws, types="%") == []


# -- 7. a failed run is an execution and names its workflow -------------------------------------

async def test_a_failed_run_records_its_execution_and_its_workflow(stack: Stack) -> None:
    ws = (await stack.import_workspace(workspace_doc({
        "outer": {"name": "outer", "when": {"endpoint": True}, "do": [{"inner": {"n": 1}}]},
        "inner": {"name": "inner", "do": [{"fetch": {"url": "http://169.254.169.254/latest"}}]},
    })))["id"]
    failed = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/outer", json={"x": 1})
    assert failed.status_code >= 400, failed.text
    seen = await events_until(stack, ws, lambda ev: any(e["type"] == "error" for e in ev)
                              and len(executed_by(ev, "inner")) == 1 and len(executed_by(ev, "outer")) == 1)
    error = next(e for e in seen if e["type"] == "error")
    workflow_id, run_id = error["source"]["workflowId"], error["source"]["runId"]
    assert workflow_id.startswith(f"{ws}/outer/") and run_id
    for slug in ("inner", "outer"):
        executed = executed_by(seen, slug)[0]
        assert executed["source"]["workflowId"] == workflow_id and executed["source"]["runId"] == run_id
        assert executed["payload"]["error"]["error"] == error["payload"]["error"]
        assert "output" not in executed["payload"]
    assert executed_by(seen, "outer")[0]["payload"]["payload"]["body"] == {"x": 1}


# -- 8. $http.chunk always reaches the caller ----------------------------------------------------

def sse_values(text: str) -> list[Any]:
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]


async def test_chunks_set_twice_without_a_yield_are_all_answered_as_sse(stack: Stack) -> None:
    # The run sets both chunks and ends within one workflow task, before the API's first poll
    # can reach it: it waits (bounded) until the API has taken them (docs/decisions.md).
    chunks = [{"set": {"name": "$http.chunk", "value": {"n": 1}}}, {"set": {"name": "$http.chunk", "value": {"n": 2}}}]
    ws = (await stack.import_workspace(workspace_doc({
        "twice": {"name": "twice", "when": {"endpoint": True}, "do": chunks, "output": "done"}})))["id"]
    app = create_app(stack.services)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tideway.test",
                                 timeout=60) as client:
        for _ in range(5):  # whatever the timing
            response = await client.post(f"/v2/workspaces/{ws}/webhooks/twice", json={})
            assert response.status_code == 200, response.text
            assert response.headers["content-type"].startswith("text/event-stream"), response.text
            assert sse_values(response.text) == [{"n": 1}, {"n": 2}, "done"]
