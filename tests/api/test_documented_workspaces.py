"""Workspace behaviours of the reference's Workspaces page that no other test pinned (issue 16's
checklist, docs/compatibility.md): secrets from environment variables for workspaces and apps,
`secret` only inside config, an optional version message, a pulled version restoring config,
apps and pages along with automations."""

from __future__ import annotations

import io
import zipfile

import pytest

from tests.api.helpers import unique_slug, workspace_doc
from tests.stack import Stack

SHOW = {"name": "show", "when": {"endpoint": True}, "do": [],
        "output": {"token": "{{config.token}}", "direct": "{{secret.apiKey}}"}}


async def test_workspace_secrets_from_the_environment_and_only_in_config(stack: Stack,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    slug = unique_slug("envsecret")
    monkeypatch.setenv(f"WORKSPACE_SECRET_{slug}_apiKey", "from-env")
    ws = (await stack.import_workspace(workspace_doc({"show": SHOW}, slug=slug,
                                                     config={"value": {"token": "{{secret.apiKey}}"}})))["id"]
    shown = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/show", json={})
    assert shown.status_code == 200, shown.text
    # In config, `secret` resolves; written in an automation it does not (the reference's rule).
    assert shown.json() == {"token": "from-env"}
    executed = await stack.events(ws, types="runtime.automations.executed", limit=1)
    assert "from-env" not in str(executed[0]["payload"])  # redacted like a stored secret

    # A secret stored in the workspace wins over the environment.
    stored = await stack.http.put(f"/v2/workspaces/{ws}/security/secrets", json={"apiKey": {"value": "stored"}},
                                  headers=stack.auth)
    assert stored.status_code == 200, stored.text
    again = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/show", json={})
    assert again.json() == {"token": "stored"}


async def test_app_secrets_come_from_the_environment_never_from_the_publisher(
        stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    source = (await stack.import_workspace(workspace_doc(
        {"show": {**SHOW, "when": {"endpoint": True}}}, config={"value": {"token": "{{secret.apiKey}}"}})))["id"]
    # The publisher's own stored secret must never reach the instances.
    await stack.http.put(f"/v2/workspaces/{source}/security/secrets", json={"apiKey": {"value": "publisher"}},
                         headers=stack.auth)
    app = unique_slug("secretapp")
    assert (await stack.http.post("/v2/apps", json={"workspaceId": source, "slug": app},
                                  headers=stack.auth)).status_code == 200
    monkeypatch.setenv(f"APP_SECRET_{app}_apiKey", "app-env")
    host = (await stack.import_workspace(workspace_doc({}, imports={"tool": {"appSlug": app}})))["id"]
    shown = await stack.http.post(f"/v2/workspaces/{host}/webhooks/tool.show", json={})
    assert shown.status_code == 200, shown.text
    assert shown.json() == {"token": "app-env"}
    executed = await stack.events(host, types="runtime.automations.executed", limit=5)
    assert executed and all("app-env" not in str(e["payload"]) for e in executed)


async def test_a_version_message_is_optional(stack: Stack) -> None:
    ws = (await stack.import_workspace(workspace_doc({})))["id"]
    for body in ({}, {"name": "blank", "description": ""}):
        published = await stack.http.post(f"/v2/workspaces/{ws}/versions", json=body, headers=stack.auth)
        assert published.status_code == 200, published.text
        assert "description" not in published.json()
    listed = (await stack.http.get(f"/v2/workspaces/{ws}/versions", headers=stack.auth)).json()
    assert [v["name"] for v in listed] == ["v1", "blank"]


async def test_pulling_a_version_restores_config_apps_and_pages(stack: Stack) -> None:
    app_ws = (await stack.import_workspace(workspace_doc({"run": {"name": "run", "do": [], "output": 1}})))["id"]
    app = unique_slug("restorable")
    assert (await stack.http.post("/v2/apps", json={"workspaceId": app_ws, "slug": app},
                                  headers=stack.auth)).status_code == 200
    doc = {**workspace_doc({}, config={"value": {"mode": "first"}}), "pages": {"home": {"name": "Home", "blocks": []}}}
    ws = (await stack.import_workspace(doc))["id"]
    base = f"/v2/workspaces/{ws}"
    assert (await stack.http.post(f"{base}/versions", json={"name": "v-first"},
                                  headers=stack.auth)).status_code == 200

    changed = {**doc, "config": {"value": {"mode": "second"}}, "pages": {"other": {"name": "Other", "blocks": []}},
               "imports": {"tool": {"appSlug": app}}}
    imported = await stack.http.post(f"{base}/import", json=changed, headers=stack.auth)
    assert imported.status_code == 200, imported.text
    now = (await stack.http.get(base, headers=stack.auth)).json()
    assert now["config"]["value"] == {"mode": "second"} and "tool" in now["imports"]
    assert await page_files(stack, ws) == {"pages/other.yml"}

    pulled = await stack.http.post(f"{base}/versions/v-first/pull", headers=stack.auth)
    assert pulled.status_code == 200, pulled.text
    restored = (await stack.http.get(base, headers=stack.auth)).json()
    assert restored["config"]["value"] == {"mode": "first"}
    assert not restored.get("imports")
    assert await page_files(stack, ws) == {"pages/home.yml"}


async def page_files(stack: Stack, ws: str) -> set[str]:
    exported = await stack.http.get(f"/v2/workspaces/{ws}/export", headers=stack.auth)
    assert exported.status_code == 200, exported.text
    return {n for n in zipfile.ZipFile(io.BytesIO(exported.content)).namelist() if n.startswith("pages/")}
