"""Workspace versions (spec §10): publish, list, pull, export, delete, the kept maximum, bad input."""

from __future__ import annotations

import asyncio
import io
import time
import zipfile
from typing import Any

import yaml

from tests.api.helpers import ECHO, workspace_doc
from tests.stack import Stack


async def events_of(stack: Stack, ws: str, types: str, n: int) -> list[dict[str, Any]]:
    """Triggering natives are persisted by a DispatchWorkflow: wait for them."""
    deadline = time.monotonic() + 10
    while True:
        found = await stack.events(ws, types=types, limit=100)
        if len(found) >= n or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.05)


async def test_publish_list_pull_export_delete(stack: Stack) -> None:
    ws = (await stack.import_workspace(workspace_doc({"echo": ECHO}, description="first")))["id"]
    base = f"/v2/workspaces/{ws}/versions"
    published = await stack.http.post(base, json={"name": "v-one", "description": "first cut"}, headers=stack.auth)
    assert published.status_code == 200, published.text
    assert published.json()["name"] == "v-one" and published.json()["description"] == "first cut"
    generated = await stack.http.post(base, json={"description": "auto"}, headers=stack.auth)
    assert generated.json()["name"] == "v2"
    listed = (await stack.http.get(base, headers=stack.auth)).json()
    assert [v["name"] for v in listed] == ["v-one", "v2"] and all("createdAt" in v for v in listed)

    other = {"name": "other", "do": [{"set": {"name": "a", "value": 1}}]}
    changed = await stack.http.post(f"/v2/workspaces/{ws}/automations", json=other, headers=stack.auth)
    assert changed.status_code == 200, changed.text
    assert "other" in (await stack.http.get(f"/v2/workspaces/{ws}", headers=stack.auth)).json()["automations"]

    pulled = await stack.http.post(f"{base}/v-one/pull", headers=stack.auth)
    assert pulled.status_code == 200, pulled.text
    assert pulled.json()["changed"] is True and pulled.json()["version"]["name"] == "v-one"
    detail = (await stack.http.get(f"/v2/workspaces/{ws}", headers=stack.auth)).json()
    assert set(detail["automations"]) == {"echo"}
    assert detail["revision"] == pulled.json()["revision"]
    hook = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/echo", json={"x": 1})
    assert hook.status_code == 200 and hook.json()["body"] == {"x": 1}
    for name, n in (("workspaces.versions.published", 2), ("workspaces.imported", 1),
                    ("workspaces.versions.rollback", 1)):
        assert len(await events_of(stack, ws, name, n)) == n, name

    exported = await stack.http.get(f"{base}/v-one/export", headers=stack.auth)
    assert exported.status_code == 200 and exported.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(exported.content))
    # The reference's layout: the files under a folder named after the version.
    assert {"v-one/index.yml", "v-one/automations/echo.yml"} <= set(archive.namelist())
    assert yaml.safe_load(archive.read("v-one/index.yml"))["description"] == "first"
    assert (await stack.http.post(f"{base}/latest/export", headers=stack.auth)).status_code == 200

    deleted = await stack.http.delete(f"{base}/v2", headers=stack.auth)
    assert deleted.status_code == 200 and deleted.json() == {"id": "v2"}
    assert [v["name"] for v in (await stack.http.get(base, headers=stack.auth)).json()] == ["v-one"]
    assert (await stack.http.delete(f"{base}/v2", headers=stack.auth)).status_code == 404
    assert [e["payload"] for e in await events_of(stack, ws, "workspaces.versions.deleted", 1)] == [{"version": "v2"}]


async def test_bad_input(stack: Stack) -> None:
    ws = (await stack.import_workspace(workspace_doc({"echo": ECHO})))["id"]
    base = f"/v2/workspaces/{ws}/versions"
    cases = [
        ({"name": "bad name!", "description": "d"}, "InvalidVersionError"),
        ({"name": "latest", "description": "d"}, "InvalidVersionError"),
        ({"name": "x" * 65, "description": "d"}, "InvalidVersionError"),
        ({"description": 5}, "InvalidVersionError"),
        ({"description": "d", "repository": {"id": "git"}}, "InvalidVersionError"),
        ({"description": "d", "unknown": 1}, "InvalidVersionError"),
        ([1, 2], "InvalidVersionError"),
    ]
    for body, error in cases:
        response = await stack.http.post(base, json=body, headers=stack.auth)
        assert response.status_code == 400 and response.json()["error"] == error, (body, response.text)
    bad_json = await stack.http.post(base, content=b"{nope", headers={**stack.auth, "content-type": "application/json"})
    assert bad_json.status_code == 400
    assert (await stack.http.post(base, json={"name": "a", "description": "d"}, headers=stack.auth)).status_code == 200
    again = await stack.http.post(base, json={"name": "a", "description": "d"}, headers=stack.auth)
    assert again.status_code == 400 and again.json()["error"] == "AlreadyUsedError"
    for method, path in (("post", "/nope/pull"), ("get", "/nope/export"), ("delete", "/nope")):
        response = await stack.http.request(method.upper(), f"{base}{path}", headers=stack.auth)
        assert response.status_code == 404 and response.json()["error"] == "ObjectNotFoundError"
    for path in ("/current", "/latest"):
        assert (await stack.http.delete(f"{base}{path}", headers=stack.auth)).status_code == 400
    assert (await stack.http.post(f"{base}/current/pull", headers=stack.auth)).status_code == 400
    assert (await stack.http.get(base)).status_code == 401
    assert (await stack.http.get("/v2/workspaces/unknown/versions", headers=stack.auth)).status_code == 404


async def test_at_most_the_maximum_is_kept(stack: Stack) -> None:
    ws = (await stack.import_workspace(workspace_doc({"echo": ECHO})))["id"]
    base = f"/v2/workspaces/{ws}/versions"
    service = stack.services.versions
    saved, service.max_versions = service.max_versions, 3
    try:
        for i in range(5):
            response = await stack.http.post(base, json={"name": f"n{i}", "description": "d"}, headers=stack.auth)
            assert response.status_code == 200, response.text
    finally:
        service.max_versions = saved
    assert [v["name"] for v in (await stack.http.get(base, headers=stack.auth)).json()] == ["n2", "n3", "n4"]
    deleted = [e["payload"]["version"] for e in await events_of(stack, ws, "workspaces.versions.deleted", 2)]
    assert sorted(deleted) == ["n0", "n1"]
    assert stack.services.settings.maximum_workspace_version == 20
