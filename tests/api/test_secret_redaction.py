"""Secrets stay out of events and client errors (issue 14 items 4-6)."""

from __future__ import annotations

import json

from tests.api.helpers import workspace_doc
from tests.api.test_apps_api import of_type, publish, source_workspace, wait_events
from tests.stack import Stack

SECRET_SCHEMA = {"apiUrl": {"type": "string"}, "apiKey": {"type": "string", "secret": True},
                 "auth": {"type": "object", "properties": {"token": {"type": "string", "secret": True}}}}
def _keys(value: object) -> list[str]:
    if isinstance(value, dict):
        return [*value, *(k for item in value.values() for k in _keys(item))]
    if isinstance(value, list):
        return [k for item in value for k in _keys(item)]
    return []


HELLO = {"name": "hello", "when": {"endpoint": True}, "do": [], "output": "{{config.apiUrl}}"}


async def test_app_config_secrets_are_redacted_in_install_events(stack: Stack) -> None:
    source = await source_workspace(stack, {"hello": HELLO},
                                    config={"schema": SECRET_SCHEMA, "value": {"apiUrl": "https://a.test"}})
    app = f"app-{source['slug']}"
    assert (await publish(stack, source["id"], slug=app)).status_code == 200
    ws = (await stack.import_workspace(workspace_doc({})))["id"]
    base = f"/v2/workspaces/{ws}/apps"
    first, second, third = "app-key-first-7f3a", "app-key-second-91bc", "k"
    installed = await stack.http.post(base, json={"appSlug": app, "slug": "tools", "config": {
        "apiUrl": "https://mine.test", "apiKey": first, "auth": {"token": "nested-tok-55aa"}}}, headers=stack.auth)
    assert installed.status_code == 200, installed.text
    configured = await stack.http.patch(f"{base}/tools", json={"config": {"apiUrl": "https://mine.test",
                                                                         "apiKey": second}}, headers=stack.auth)
    assert configured.status_code == 200, configured.text
    patched = await stack.http.patch(f"{base}/tools/config", json={"apiKey": third}, headers=stack.auth)
    assert patched.status_code == 200, patched.text
    assert (await stack.http.delete(f"{base}/tools", headers=stack.auth)).status_code == 200
    events = await wait_events(stack, ws, lambda evs: bool(of_type(evs, "workspaces.apps.uninstalled")))
    app_events = [e for e in events if e["type"].startswith("workspaces.apps.")]
    assert {e["type"] for e in app_events} == {"workspaces.apps.installed", "workspaces.apps.configured",
                                                "workspaces.apps.uninstalled"}
    dumped = json.dumps(events)
    for secret in (first, second, "nested-tok-55aa"):
        assert secret not in dumped
    install = of_type(events, "workspaces.apps.installed")[0]["payload"]["appInstance"]
    assert install["config"] == {"apiUrl": "https://mine.test", "apiKey": "REDACTED", "auth": {"token": "REDACTED"}}
    for event in of_type(events, "workspaces.apps.configured"):
        shown = event["payload"]["appInstance"]
        assert shown["config"]["apiKey"] == "REDACTED" and shown["oldConfig"]["apiKey"] == "REDACTED"
        assert shown["config"]["apiUrl"] == "https://mine.test"  # what is not secret stays readable
    removed = of_type(events, "workspaces.apps.uninstalled")[0]["payload"]["appInstance"]
    assert removed["config"]["apiKey"] == "REDACTED"
    # The instance itself still has its real config.
    # (Reading it back is the installer's right: GET .../config is a workspace read.)


async def test_workspace_config_secrets_are_redacted_in_update_events(stack: Stack) -> None:
    schema = {"password": {"type": "string", "secret": True}, "url": {"type": "string"}}
    ws = (await stack.import_workspace(workspace_doc({}, config={"schema": schema, "value": {"url": "u"}})))["id"]
    patched = await stack.http.patch(f"/v2/workspaces/{ws}", json={"config": {"schema": schema, "value": {
        "url": "https://x.test", "password": "ws-literal-pass-42"}}}, headers=stack.auth)
    assert patched.status_code == 200, patched.text
    events = await wait_events(stack, ws, lambda evs: bool(of_type(evs, "workspaces.configured")))
    assert "ws-literal-pass-42" not in json.dumps(events)
    configured = of_type(events, "workspaces.configured")[0]["payload"]
    assert configured["config"]["value"] == {"url": "https://x.test", "password": "REDACTED"}
    updated = of_type(events, "workspaces.updated")[0]["payload"]
    assert updated["workspace"]["config"]["value"]["password"] == "REDACTED"


async def test_a_short_secret_does_not_mangle_events(stack: Stack) -> None:
    doc = workspace_doc({"hello": {**HELLO, "output": "{{config.key}}"}}, config={"value": {"key": "{{secret.k}}"}})
    ws = (await stack.import_workspace(doc))["id"]
    put = await stack.http.put(f"/v2/workspaces/{ws}/security/secrets", json={"k": {"value": "k"}},
                               headers=stack.auth)
    assert put.status_code == 200, put.text
    ran = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/hello", json={})
    assert ran.status_code == 200 and ran.json() == "k"
    events = await wait_events(stack, ws, lambda evs: bool(of_type(evs, "runtime.automations.executed")))
    triggered = of_type(events, "runtime.interactions.triggered")[0]["payload"]
    assert triggered["workspaceId"] == ws and triggered["automation"] == "hello"
    assert "REDACTED" not in json.dumps(triggered)
    executed = of_type(events, "runtime.automations.executed")[0]["payload"]
    assert executed["output"] == "REDACTED"  # exactly the secret: redacted
    assert executed["slug"] == "hello" and not [k for k in _keys(executed) if "REDACTED" in k]


async def test_a_failed_fetch_does_not_hand_its_secret_url_to_the_caller(stack: Stack) -> None:
    secret = "s3cr3t-path-token-8d1e"
    doc = workspace_doc({"boom": {"name": "boom", "when": {"endpoint": True},
                                  "do": [{"fetch": {"url": "http://127.0.0.1:9/{{config.key}}/x"}}]}},
                        config={"value": {"key": "{{secret.token}}"}})
    ws = (await stack.import_workspace(doc))["id"]
    put = await stack.http.put(f"/v2/workspaces/{ws}/security/secrets", json={"token": {"value": secret}},
                               headers=stack.auth)
    assert put.status_code == 200, put.text
    failed = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/boom", json={})
    assert failed.status_code == 400 and failed.json()["error"] == "FetchError", failed.text
    assert secret not in failed.text
    error = (await wait_events(stack, ws, lambda evs: bool(of_type(evs, "error"))))
    assert secret not in json.dumps(error)
