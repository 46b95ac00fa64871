"""The seed's nested apps example end to end through the REST API: Chatbot → nlu → french."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from tests.stack import Stack

PHOTO = "https://example.org/app.png"


async def _import(stack: Stack, doc: dict[str, Any]) -> str:
    response = await stack.http.post("/v2/workspaces/import", json=doc, headers=stack.auth)
    assert response.status_code == 200, response.text
    return str(response.json()["workspace"]["id"])


async def _publish(stack: Stack, ws: str, slug: str, name: str | None = None) -> dict[str, Any]:
    body = {"workspaceId": ws, "slug": slug, **({"name": name} if name else {})}
    response = await stack.http.post("/v2/apps", json=body, headers=stack.auth)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _french(greeting: str) -> dict[str, Any]:
    return {
        "name": "French", "description": "Says things in French", "photo": PHOTO,
        "config": {"value": {"greeting": greeting}},
        "automations": {
            "run": {"name": "run", "do": [], "output": {"said": "{{config.greeting}} {{text}}",
                                                        "chatbotToken": "{{config.token}}"}},
            "process": {"name": "process", "do": [{"emit": {"event": "processed", "payload": {"text": "{{text}}"}}}]},
        },
    }


async def test_chatbot_nlu_french(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    suffix = uuid.uuid4().hex[:6]
    french_slug, nlu_slug = f"french{suffix}", f"nlu{suffix}"
    french_ws = await _import(stack, {**_french("Bonjour"), "slug": f"french-{suffix}"})
    await _publish(stack, french_ws, french_slug, "v1")
    nlu_ws = await _import(stack, {
        "name": "NLU", "slug": f"nlu-{suffix}", "description": "Understands", "photo": PHOTO,
        "imports": {"french": {"appSlug": french_slug}},
        "automations": {
            "run": {"name": "run", "do": [{"french.run": {"text": "{{text}}", "output": "r"}}],
                    "output": {"nlu": "{{r.said}}"}},
            "internal": {"name": "internal", "private": True, "do": [], "output": "secret"},
        }})
    await _publish(stack, nlu_ws, nlu_slug)
    chatbot = await _import(stack, {
        "name": "Chatbot", "slug": f"chatbot-{suffix}", "config": {"value": {"token": "chatbot-only"}},
        "imports": {"nlu": {"appSlug": nlu_slug},
                    "pinned": {"appSlug": french_slug, "appVersion": "v1"},
                    "live": {"appSlug": french_slug}},
        "automations": {
            "hello": {"name": "hello", "when": {"endpoint": True}, "do": [
                {"nlu.run": {"text": "salut", "output": "a"}},
                {"nlu.french.run": {"text": "direct", "output": "b"}},
                {"nlu.french.process": {"text": "emitted"}}],
                "output": {"viaNlu": "{{a.nlu}}", "direct": "{{b.said}}", "leak": "{{b.chatbotToken}}"}},
            "onProcessed": {"name": "onProcessed", "when": {"events": ["nlu.french.processed"]}, "do": [],
                            "output": "heard {{payload.text}}"},
            "private": {"name": "private", "when": {"endpoint": True}, "do": [{"nlu.internal": {}}]},
            "versions": {"name": "versions", "when": {"endpoint": True}, "do": [
                {"pinned.run": {"text": "x", "output": "p"}}, {"live.run": {"text": "x", "output": "l"}}],
                "output": {"pinned": "{{p.said}}", "live": "{{l.said}}"}},
        }})
    response = await stack.http.post(f"/v2/workspaces/{chatbot}/webhooks/hello", json={})
    assert response.status_code == 200, response.text
    # french never sees Chatbot's config: `leak` is undefined, so it is absent.
    assert response.json() == {"viaNlu": "Bonjour salut", "direct": "Bonjour direct"}
    for _ in range(100):  # the listener runs as its own workflow
        heard = await stack.events(chatbot, types="runtime.automations.executed",
                                   **{"source.automationSlug": "onProcessed"})
        if heard:
            break
        await asyncio.sleep(0.05)
    assert heard and heard[0]["payload"]["output"] == "heard emitted"
    emitted = await stack.events(chatbot, types="nlu.french.processed", appInstanceDepth=2)
    assert emitted and emitted[0]["source"]["appInstanceFullSlug"] == "nlu.french"
    assert not await stack.events(chatbot, types="nlu.french.processed")  # depth 2 hidden by default
    refused = await stack.http.post(f"/v2/workspaces/{chatbot}/webhooks/private", json={})
    assert refused.status_code == 403 and refused.json()["error"] == "ForbiddenError"
    assert "private" in refused.json()["message"] and "nlu.internal" in refused.json()["message"]
    # A new publish changes the unpinned instance only.
    await stack.http.post(f"/v2/workspaces/{french_ws}/import", json={**_french("Salut"), "slug": f"french-{suffix}"},
                          headers=stack.auth)
    await _publish(stack, french_ws, french_slug, "v2")
    after = await stack.http.post(f"/v2/workspaces/{chatbot}/webhooks/versions", json={})
    assert after.json() == {"pinned": "Bonjour x", "live": "Salut x"}


async def test_instance_lifecycle_listeners_run_including_uninstall(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    suffix = uuid.uuid4().hex[:6]
    app_ws = await _import(stack, {
        "name": "Life", "slug": f"life-{suffix}", "description": "d", "photo": PHOTO,
        "config": {"value": {"who": "app"}},
        "automations": {f"on{kind}": {"name": f"on{kind}", "when": {"events": [f"workspaces.apps.{kind}"]},
                                      "do": [], "output": f"{kind} {{{{config.who}}}}"}
                        for kind in ("installed", "configured", "uninstalled")}})
    await _publish(stack, app_ws, f"life{suffix}")
    host = await _import(stack, {"name": "Host", "slug": f"host-{suffix}", "automations": {}})
    base = f"/v2/workspaces/{host}/apps"
    assert (await stack.http.post(base, json={"appSlug": f"life{suffix}", "slug": "life"},
                                  headers=stack.auth)).status_code == 200
    assert (await stack.http.patch(f"{base}/life/config", json={"who": "host"},
                                   headers=stack.auth)).status_code == 200
    assert (await stack.http.delete(f"{base}/life", headers=stack.auth)).status_code == 200
    outputs: set[str] = set()
    for _ in range(600):  # listener runs; generous for a loaded machine
        executed = await stack.events(host, types="runtime.automations.executed", limit=50)
        outputs = {e["payload"]["output"] for e in executed}
        if len(outputs) >= 3:
            break
        await asyncio.sleep(0.05)
    assert outputs == {"installed app", "configured host", "uninstalled host"}
