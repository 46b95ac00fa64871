"""Attacks on access control (issue 6), each tried and refused, and the caller's identity reaching
runs and events."""

from __future__ import annotations

import json
from typing import Any

from tests.api.helpers import anonymous_session, make_user, workspace_doc
from tests.stack import Stack


async def _all_events(stack: Stack, ws: str) -> list[dict[str, Any]]:
    return await stack.events(ws, limit=500)


async def _visible(stack: Stack, ws: str, headers: dict[str, str], count: int, **params: Any) -> list[dict[str, Any]]:
    """The events ``headers`` may read, once ``count`` user-sent events have been persisted
    (they are accepted by a dispatch workflow, then written)."""
    import asyncio

    for _ in range(100):
        if len(await stack.events(ws, types="chat.message")) >= count:
            break
        await asyncio.sleep(0.1)
    response = await stack.http.get(f"/v2/workspaces/{ws}/events", params=params, headers=headers)
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["result"]["events"]
    return events


async def test_native_event_types_cannot_be_forged(stack: Stack) -> None:
    owner = await make_user(stack, "owner")
    created = await stack.http.post("/v2/workspaces/import", json=workspace_doc({}),
                                    headers={"authorization": owner["authorization"]})
    ws = created.json()["workspace"]["id"]
    for forged in ("runtime.automations.executed", "workspaces.deleted", "apps.published", "error",
                   "apikeys.created", "runtime.webhooks.triggered"):
        response = await stack.http.post(f"/v2/workspaces/{ws}/events", json={"events": [{"type": forged}]},
                                         headers={"authorization": owner["authorization"]})
        assert response.status_code == 403, (forged, response.text)
        assert response.json()["error"] == "ForbiddenError"
        assert await stack.events(ws, types=forged) == [], forged
    # One forged type in a batch refuses the whole batch: nothing half-sent.
    mixed = await stack.http.post(f"/v2/workspaces/{ws}/events", json={"events": [
        {"type": "chat.message"}, {"type": "workspaces.updated"}]}, headers={"authorization": owner["authorization"]})
    assert mixed.status_code == 403 and await stack.events(ws, types="chat.message") == []


async def test_a_session_reads_its_own_events_only(stack: Stack) -> None:
    ws = (await stack.import_workspace(workspace_doc({})))["id"]
    alice, bob = await anonymous_session(stack), await anonymous_session(stack)
    for who, text in ((alice, "alice's secret"), (bob, "bob's note")):
        sent = await stack.http.post(f"/v2/workspaces/{ws}/events", json={"events": [
            {"type": "chat.message", "payload": {"text": text}}]}, headers={"authorization": who["authorization"]})
        assert sent.status_code == 200, sent.text
        assert sent.json()["events"][0]["source"]["sessionId"] == who["sessionId"]
        assert sent.json()["events"][0]["source"]["userId"] == who["id"]
    seen_by_bob = await _visible(stack, ws, {"authorization": bob["authorization"]}, 2)
    assert [e["payload"]["text"] for e in seen_by_bob] == ["bob's note"]
    # Filters cannot widen what one may read.
    widened = await _visible(stack, ws, {"authorization": bob["authorization"]}, 2,
                             **{"source.sessionId": alice["sessionId"]})
    assert widened == []
    # The owner's side (superadmin here) sees both, and the native events bob may not.
    assert {e["payload"].get("text") for e in await stack.events(ws, types="chat.message")} == {
        "alice's secret", "bob's note"}
    assert all(e["type"] == "chat.message" for e in seen_by_bob)


async def test_the_live_stream_is_filtered_too(stack: Stack) -> None:
    from tests.api.test_events_read import collect, sse

    ws = (await stack.import_workspace(workspace_doc({})))["id"]
    alice, bob = await anonymous_session(stack), await anonymous_session(stack)
    async with sse(stack, ws, headers={"authorization": bob["authorization"]}) as (received, _):
        for who, text in ((alice, "alice"), (bob, "bob")):
            sent = await stack.http.post(f"/v2/workspaces/{ws}/events", json={"events": [
                {"type": "chat.message", "payload": {"text": text}}]}, headers={"authorization": who["authorization"]})
            assert sent.status_code == 200
        (_, first), = await collect(received, 1, timeout=15)
        assert first["payload"]["text"] == "bob"
        assert received.empty()  # alice's event (sent first) was never delivered to bob


async def test_a_restricted_automation_cannot_be_reached_through_a_public_one(stack: Stack) -> None:
    owner = await make_user(stack, "owner")
    doc = workspace_doc({
        "front": {"name": "front", "when": {"endpoint": True}, "do": [{"vault": {}}], "output": "done"},
        "vault": {"name": "vault", "authorizations": {"action": "open-vault"},
                  "do": [{"emit": {"event": "vault.opened"}}], "output": "opened"},
        "relay": {"name": "relay", "when": {"endpoint": True}, "do": [{"emit": {"event": "go.vault"}}]},
        "listener": {"name": "listener", "when": {"events": ["go.vault"]}, "do": [{"vault": {}}]},
    })
    created = await stack.http.post("/v2/workspaces/import", json=doc, headers={"authorization": owner["authorization"]})
    ws = created.json()["workspace"]["id"]
    anonymous = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/front", json={})
    assert anonymous.status_code == 403 and anonymous.json()["error"] == "ForbiddenError"
    assert "vault" in anonymous.json()["message"]
    relayed = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/relay", json={})
    assert relayed.status_code == 200
    assert await stack.events(ws, types="vault.opened") == []
    # The owner's token on the same public webhook opens it: the caller is the run's user.
    allowed = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/front", json={},
                                    headers={"authorization": owner["authorization"]})
    assert allowed.status_code == 200, allowed.text
    assert len(await stack.events(ws, types="vault.opened")) == 1


async def test_secrets_never_reach_events(stack: Stack) -> None:
    secret = "tok-9f8e7d6c5b4a"
    doc = workspace_doc({
        "use": {"name": "use", "when": {"endpoint": True}, "arguments": {
            "body": {"type": "object", "properties": {"password": {"type": "string", "secret": True}}}},
                "do": [{"emit": {"event": "used", "payload": {"key": "{{config.key}}"}}}],
                "output": {"key": "{{config.key}}", "password": "{{body.password}}"}},
        "boom": {"name": "boom", "when": {"endpoint": True},
                 "do": [{"fetch": {"url": "http://127.0.0.1:9/{{config.key}}"}}]},
    }, config={"value": {"key": "{{secret.apiKey}}"}})
    ws = (await stack.import_workspace(doc))["id"]
    put = await stack.http.put(f"/v2/workspaces/{ws}/security/secrets", json={"apiKey": {"value": secret}},
                               headers=stack.auth)
    assert put.status_code == 200
    used = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/use", json={"password": "hunter2-pw"})
    assert used.status_code == 200 and used.json()["key"] == secret  # the automation itself may use it
    failed = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/boom", json={})
    assert failed.status_code == 400 and failed.json()["error"] == "FetchError"
    events = await _all_events(stack, ws)
    native = [e for e in events if e["type"] != "used"]
    assert {"runtime.automations.executed", "error"} <= {e["type"] for e in native}
    dumped = json.dumps(native)
    assert secret not in dumped and "hunter2-pw" not in dumped
    assert "REDACTED" in dumped


async def test_template_text_in_a_webhook_body_is_data(stack: Stack) -> None:
    doc = workspace_doc({
        "echo": {"name": "echo", "when": {"endpoint": True},
                 "do": [{"set": {"name": "greeting", "value": "Hello {{body.name}}"}}],
                 "output": {"greeting": "{{greeting}}", "name": "{{body.name}}"}},
    }, config={"value": {"internal": "{{secret.db}}", "plain": "config-value-xyz"}})
    ws = (await stack.import_workspace(doc))["id"]
    await stack.http.put(f"/v2/workspaces/{ws}/security/secrets", json={"db": {"value": "db-pass-123"}},
                         headers=stack.auth)
    for attempt in ("{{config.plain}}", "{{secret.db}}", "{{config.internal}}", "{% set x = config %}{{x}}",
                    "{{run}}", "{{$workspace}}"):
        response = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/echo", json={"name": attempt})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["name"] == attempt and body["greeting"] == f"Hello {attempt}"
        assert "config-value-xyz" not in response.text and "db-pass-123" not in response.text


async def test_callers_identity_reaches_runs_and_events(stack: Stack) -> None:
    user = await make_user(stack, "caller")
    doc = workspace_doc({
        "whoami": {"name": "whoami", "when": {"endpoint": True},
                   "do": [{"emit": {"event": "seen"}}],
                   "output": {"user": "{{user.id}}", "session": "{{session.id}}"}},
    })
    ws = (await stack.import_workspace(doc))["id"]
    response = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/whoami", json={},
                                     headers={"authorization": user["authorization"]})
    assert response.json() == {"user": user["id"], "session": user["sessionId"]}
    # Spec §6.1: every event of the run carries the session; the user id is on
    # runtime.automations.executed (and on user-sent events).
    executed = (await stack.events(ws, types="runtime.automations.executed"))[0]
    assert executed["source"]["userId"] == user["id"]
    assert executed["source"]["sessionId"] == user["sessionId"]
    seen = (await stack.events(ws, types="seen"))[0]
    assert seen["source"]["sessionId"] == user["sessionId"]
    # ... so the caller reads back what their run emitted in their session.
    mine = (await stack.http.get(f"/v2/workspaces/{ws}/events", params={"types": "seen"},
                                 headers={"authorization": user["authorization"]})).json()["result"]["events"]
    assert [e["id"] for e in mine] == [seen["id"]]
    # A token that does not verify is just data on a public webhook: the run has no user.
    anonymous = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/whoami", json={},
                                      headers={"authorization": "Bearer not-a-token"})
    assert anonymous.status_code == 200 and anonymous.json().get("user") is None
