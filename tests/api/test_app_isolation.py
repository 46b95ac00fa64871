"""The isolation rules of the reference documentation (issue 14 items 8-10): events of nested app
instances stay hidden from the root workspace, private app automations are callable only from
their app, native event types cannot be forged by changing their case or padding them."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from core.events.writer import EventWriter
from tests.api.helpers import workspace_doc, workspace_with_editor
from tests.api.test_events_read import collect, make_event, sse
from tests.stack import Stack


async def test_nested_app_events_are_hidden_from_the_root_on_every_read_path(stack: Stack) -> None:
    ws, owner, editor = await workspace_with_editor(stack)
    now = datetime.now(UTC)
    specs = {"own": {"type": "app.done", "source": {"appInstanceDepth": 1, "appInstanceFullSlug": "a"}},
             "nested": {"type": "a.b.done", "source": {"appInstanceDepth": 2, "appInstanceFullSlug": "a.b"}},
             "deeper": {"type": "a.b.c.done", "source": {"appInstanceDepth": 4, "appInstanceFullSlug": "a.b.c.d"}}}
    events = {key: make_event(ws, key, spec, now) for key, spec in specs.items()}
    async with sse(stack, ws, {"appInstanceDepth": "5"}, headers=editor) as (received, _):
        writer = EventWriter(stack.services.db)
        await writer.write(list(events.values()))
        await writer.close()
        got = await collect(received, 1)
        assert [e["id"] for _, e in got] == [events["own"].id]
        await asyncio.sleep(0.5)
        assert received.empty()  # the nested ones never arrive
    for headers in (owner, editor):
        for params in ({"appInstanceDepth": "5"}, {"source.appInstanceDepth": "2"}, {}):
            listed = await stack.http.get(f"/v2/workspaces/{ws}/events", params=params, headers=headers)
            assert listed.status_code == 200, listed.text
            ids = {e["id"] for e in listed.json()["result"]["events"]}
            assert events["nested"].id not in ids and events["deeper"].id not in ids, params
    assert events["own"].id in {e["id"] for e in (await stack.http.get(
        f"/v2/workspaces/{ws}/events", headers=editor)).json()["result"]["events"]}
    # The platform's operators still see everything when they ask for it.
    deep = await stack.events(ws, appInstanceDepth=5)
    assert {events["nested"].id, events["deeper"].id} <= {e["id"] for e in deep}


async def _app_with_private_automation(stack: Stack) -> tuple[str, str]:
    suffix = uuid.uuid4().hex[:6]
    source = await stack.import_workspace(workspace_doc({
        "pub": {"name": "pub", "do": [{"priv": {"output": "r"}}], "output": "public got {{r}}"},
        "priv": {"name": "priv", "private": True, "do": [], "output": "private result"},
        "privhook": {"name": "privhook", "private": True, "when": {"endpoint": True}, "do": [], "output": "hook"},
    }, description="Toolbox", photo="https://example.org/p.png"))
    app = f"toolbox-{suffix}"
    published = await stack.http.post("/v2/apps", json={"workspaceId": source["id"], "slug": app}, headers=stack.auth)
    assert published.status_code == 200, published.text
    ws = (await stack.import_workspace({**workspace_doc({}), "imports": {"toolbox": {"appSlug": app}}}))["id"]
    return ws, app


async def test_private_app_automations_are_not_runnable_from_outside(stack: Stack) -> None:
    ws, _ = await _app_with_private_automation(stack)
    refused = await stack.http.post(f"/v2/workspaces/{ws}/test/toolbox.priv", json={"payload": {}},
                                    headers=stack.auth)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"] == "ForbiddenError" and "private" in refused.json()["message"]
    hook = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/toolbox.privhook", json={})
    assert hook.status_code == 403, hook.text
    # From inside its app it still runs.
    allowed = await stack.http.post(f"/v2/workspaces/{ws}/test/toolbox.pub", json={"payload": {}},
                                    headers=stack.auth)
    assert allowed.status_code == 200 and allowed.json() == "public got private result", allowed.text
    assert await stack.events(ws, types="runtime.interactions.triggered",
                              **{"payload.automation": "priv"}) == []


async def test_native_event_types_cannot_be_forged_by_case_or_padding(stack: Stack) -> None:
    ws, owner, _ = await workspace_with_editor(stack)
    for forged, status in (("Workspaces.deleted", 400), ("RUNTIME.automations.executed", 400),
                           ("Error", 400), (" workspaces.deleted", 403), ("workspaces.deleted ", 403),
                           ("\tapps.published", 403)):
        response = await stack.http.post(f"/v2/workspaces/{ws}/events", json={"events": [{"type": forged}]},
                                         headers=owner)
        assert response.status_code == status, (forged, response.text)
        if status == 400:
            assert response.json()["error"] == "InvalidEventError"
            assert forged.strip().lower() in response.json()["message"]
    sent = await stack.http.post(f"/v2/workspaces/{ws}/events", json={"events": [{"type": "  chat.message "}]},
                                 headers=owner)
    assert sent.status_code == 200 and sent.json()["events"][0]["type"] == "chat.message"
    for _ in range(100):
        stored = await stack.events(ws, limit=100)
        if any(e["type"] == "chat.message" for e in stored):
            break
        await asyncio.sleep(0.05)
    types = {e["type"] for e in stored}
    assert "chat.message" in types
    assert not {t for t in types if t.strip().lower() in ("workspaces.deleted", "runtime.automations.executed",
                                                          "error", "apps.published")}
