"""The reference platform's REST conventions its real clients rely on (issue 20): ``GET /v2/me``,
``slug:<workspaceSlug>`` in place of an id, the listing parameters, the install slug default,
``prune=false`` imports that lose nothing, the write lock, and the versions' export layout."""

from __future__ import annotations

import asyncio
import io
import zipfile
from typing import Any

import yaml

from tests.api.helpers import ECHO, make_user, make_zip, unique_slug, workspace_doc
from tests.stack import Stack


async def test_me_names_the_caller_whatever_the_credential(stack: Stack) -> None:
    user = await make_user(stack, "me")
    me = await stack.http.get("/v2/me", headers={"authorization": user["authorization"]})
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["id"] == user["id"] and body["sessionId"] == user["sessionId"]
    assert body["email"].startswith("me-") and body["authData"] == {"prismeai": {"id": user["id"],
                                                                                 "email": body["email"]}}
    assert body["superadmin"] is False and "platformRole" not in body
    admin = (await stack.http.get("/v2/me", headers=stack.auth)).json()
    assert admin["superadmin"] is True and admin["platformRole"] == "superadmin" and admin["id"] == "admin"
    anonymous = (await stack.http.post("/v2/login/anonymous")).json()
    anon = (await stack.http.get("/v2/me", headers={"authorization": f"Bearer {anonymous['token']}"})).json()
    assert anon["id"] == anonymous["id"] and anon["authData"] == {"anonymous": {}} and "email" not in anon
    ws = (await stack.import_workspace(workspace_doc({"echo": ECHO})))["id"]
    created = await stack.http.post(f"/v2/workspaces/{ws}/security/apikeys", headers=stack.auth,
                                    json={"name": "ci key", "rules": []})
    assert created.status_code == 200, created.text
    key = created.json()
    by_key = await stack.http.get("/v2/me", headers={"x-prismeai-api-key": key["apiKey"]})
    assert by_key.status_code == 200, by_key.text
    assert by_key.json()["apiKey"] == {"id": key["id"], "name": "ci key", "workspaceId": ws}
    for headers in ({}, {"authorization": "Bearer not-a-token"}, {"x-prismeai-api-key": "nope"}):
        refused = await stack.http.get("/v2/me", headers=headers)
        assert refused.status_code == 401, (headers, refused.text)
        assert refused.json()["error"] == "UnauthorizedError"


async def test_a_workspace_slug_works_wherever_its_id_does(stack: Stack) -> None:
    slug = unique_slug("agent-factory")
    ws = (await stack.import_workspace(workspace_doc({"echo": ECHO}, slug=slug)))["id"]
    by_slug = await stack.http.get(f"/v2/workspaces/slug:{slug}", headers=stack.auth)
    assert by_slug.status_code == 200 and by_slug.json()["id"] == ws
    hook = await stack.http.post(f"/v2/workspaces/slug:{slug}/webhooks/echo?x=1", json={"a": 1})
    assert hook.status_code == 200 and hook.json()["body"] == {"a": 1}, hook.text
    events = await stack.http.get(f"/v2/workspaces/slug:{slug}/events", headers=stack.auth)
    assert events.status_code == 200
    stranger = await make_user(stack, "slugstranger")
    refused = await stack.http.get(f"/v2/workspaces/slug:{slug}", headers={"authorization": stranger["authorization"]})
    assert refused.status_code == 403  # the id's rules, unchanged
    missing = await stack.http.get("/v2/workspaces/slug:no-such-workspace/webhooks/echo")
    assert missing.status_code == 404 and missing.json()["error"] == "ObjectNotFoundError"
    assert "no-such-workspace" in missing.json()["message"]


async def test_workspace_listing_searches_filters_sorts_and_pages(stack: Stack) -> None:
    owner = await make_user(stack, "lister")
    auth = {"authorization": owner["authorization"]}
    tag = unique_slug("lbl")
    made = []
    for name, description, labels in (("Alpha shop", "sells apples", [tag, "shop"]),
                                      ("Beta desk", "helpdesk for apples", [tag]),
                                      ("Gamma", "nothing to see", ["other"])):
        created = await stack.http.post("/v2/workspaces", headers=auth, json={
            "name": name, "description": description, "labels": labels, "slug": unique_slug(name.split()[0].lower())})
        assert created.status_code == 200, created.text
        made.append(created.json())

    async def names(**params: Any) -> list[str]:
        listed = await stack.http.get("/v2/workspaces", params=params, headers=auth)
        assert listed.status_code == 200, listed.text
        return [w["name"] for w in listed.json()]

    assert await names() == ["Alpha shop", "Beta desk", "Gamma"]  # only the caller's, oldest first
    assert await names(search="apples") == ["Alpha shop", "Beta desk"]
    assert await names(search="APPLES shop") == ["Alpha shop"]
    assert await names(labels=tag) == ["Alpha shop", "Beta desk"]
    assert await names(labels=f"{tag},shop") == ["Alpha shop"]
    assert await names(name="desk") == ["Beta desk"]
    assert await names(slug=made[2]["slug"]) == ["Gamma"]
    assert await names(ids=f"{made[0]['id']},{made[2]['id']}") == ["Alpha shop", "Gamma"]
    assert await names(sort="-name") == ["Gamma", "Beta desk", "Alpha shop"]
    assert await names(sort="name", page=1, limit=2) == ["Gamma"]
    assert await names(page=0, limit=1) == ["Alpha shop"]
    bad = await stack.http.get("/v2/workspaces", params={"page": "x", "limit": 0, "sort": "colour"}, headers=auth)
    assert bad.status_code == 400
    assert [p["path"] for p in bad.json()["details"]] == ["query.page", "query.limit", "query.sort"]


async def test_an_install_without_slug_takes_the_apps(stack: Stack) -> None:
    app_ws = (await stack.import_workspace(workspace_doc({"hello": {"name": "hello", "do": [], "output": "hi"}})))["id"]
    app_slug = unique_slug("greeter")
    published = await stack.http.post("/v2/apps", json={"workspaceId": app_ws, "slug": app_slug}, headers=stack.auth)
    assert published.status_code == 200, published.text
    ws = (await stack.import_workspace(workspace_doc({})))["id"]
    installed = await stack.http.post(f"/v2/workspaces/{ws}/apps", json={"appSlug": app_slug}, headers=stack.auth)
    assert installed.status_code == 200, installed.text
    assert installed.json()["slug"] == app_slug
    again = await stack.http.post(f"/v2/workspaces/{ws}/apps", json={"appSlug": app_slug}, headers=stack.auth)
    assert again.status_code == 400 and again.json()["error"] == "AlreadyUsedError", again.text  # nothing written
    empty = await stack.http.post(f"/v2/workspaces/{ws}/apps", json={"appSlug": app_slug, "slug": ""},
                                  headers=stack.auth)
    assert empty.status_code == 400


def _automation(name: str) -> dict[str, Any]:
    return {"name": name, "do": [], "output": name}


async def test_prune_false_keeps_what_the_archive_does_not_mention(stack: Stack) -> None:
    doc = workspace_doc({"kept": _automation("kept"), "changed": _automation("changed")},
                        description="before", labels=["x"])
    doc["pages"] = {"home": {"name": "Home", "slug": "home", "template": "<p>hi</p>"}}
    ws = (await stack.import_workspace(doc))["id"]
    archive = make_zip({"automations/changed.yml": {**_automation("changed"), "output": "new"},
                        "automations/added.yml": _automation("added")}, folder="current")

    async def reimport(prune: str | None) -> dict[str, Any]:
        url = f"/v2/workspaces/{ws}/import" + (f"?prune={prune}" if prune is not None else "")
        response = await stack.http.post(url, files={"archive": ("workspace.zip", archive, "application/zip")},
                                         headers=stack.auth)
        assert response.status_code == 200, response.text
        detail: dict[str, Any] = (await stack.http.get(f"/v2/workspaces/{ws}", headers=stack.auth)).json()
        return detail

    kept = await reimport("false")
    assert set(kept["automations"]) == {"kept", "changed", "added"}
    assert kept["description"] == "before" and kept["labels"] == ["x"]
    exported = await stack.http.get(f"/v2/workspaces/{ws}/export", headers=stack.auth)
    assert "pages/home.yml" in zipfile.ZipFile(io.BytesIO(exported.content)).namelist()
    changed = await stack.http.get(f"/v2/workspaces/{ws}/automations/changed", headers=stack.auth)
    assert changed.json()["output"] == "new"
    pruned = await reimport(None)  # the reference's default: prune=true
    assert set(pruned["automations"]) == {"changed", "added"}
    bad = await stack.http.post(f"/v2/workspaces/{ws}/import?prune=maybe",
                                files={"archive": ("w.zip", archive, "application/zip")}, headers=stack.auth)
    assert bad.status_code == 400 and "prune" in bad.json()["message"]


async def test_one_import_at_a_time_and_the_write_lock(stack: Stack) -> None:
    ws = (await stack.import_workspace(workspace_doc({"a0": _automation("a0")})))["id"]
    locks = stack.services.workspaces.write_locks
    holder = await locks.acquire(ws)  # an import in progress (in this or another process)
    archive = make_zip({"automations/b.yml": _automation("b")})
    locked = await stack.http.post(f"/v2/workspaces/{ws}/import?prune=false",
                                   files={"archive": ("w.zip", archive, "application/zip")}, headers=stack.auth)
    assert locked.status_code == 409 and locked.json()["error"] == "WorkspaceLockedError", locked.text
    assert "b" not in (await stack.http.get(f"/v2/workspaces/{ws}", headers=stack.auth)).json()["automations"]
    released = await stack.http.delete(f"/v2/workspaces/{ws}/writeLock", headers=stack.auth)
    assert released.json() == {"id": ws, "released": True}
    assert not await locks.release(ws, holder)  # it is gone
    again = await stack.http.delete(f"/v2/workspaces/{ws}/writeLock", headers=stack.auth)
    assert again.json() == {"id": ws, "released": False}
    # Many imports at once, each adding its own automation with prune=false: each one is either
    # applied whole or refused with 409, and nothing an applied one wrote is lost.
    archives = {f"c{i}": make_zip({f"automations/c{i}.yml": _automation(f"c{i}")}) for i in range(6)}
    answers = await asyncio.gather(*(stack.http.post(
        f"/v2/workspaces/{ws}/import?prune=false", files={"archive": ("w.zip", data, "application/zip")},
        headers=stack.auth) for data in archives.values()))
    assert {a.status_code for a in answers} <= {200, 409}
    applied = {name for name, a in zip(archives, answers, strict=True) if a.status_code == 200}
    assert applied
    final = set((await stack.http.get(f"/v2/workspaces/{ws}", headers=stack.auth)).json()["automations"])
    assert final == {"a0", *applied}


def pull_like_the_client(data: bytes) -> dict[str, bytes]:
    """What the reference client's pull_workspace writes: the entries under ``current/``, prefix cut."""
    out = {}
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            if info.filename.startswith("current/") and not info.is_dir() and info.filename != "current/":
                out[info.filename[len("current/"):]] = zf.read(info)
    return out


async def test_the_current_export_has_the_reference_layout_and_imports_back(stack: Stack) -> None:
    ws = (await stack.import_workspace(workspace_doc({"echo": ECHO, "other": _automation("other")})))["id"]
    exported = await stack.http.post(f"/v2/workspaces/{ws}/versions/current/export", json={}, headers=stack.auth)
    assert exported.status_code == 200
    files = pull_like_the_client(exported.content)
    assert {"index.yml", "automations/echo.yml", "automations/other.yml"} <= set(files)
    assert yaml.safe_load(files["automations/echo.yml"])["name"] == "echo"
    # push_workspace: the folder zipped back under current/, imported with prune=true.
    pushed = await stack.http.post(f"/v2/workspaces/{ws}/import?prune=true", files={
        "archive": ("workspace.zip", make_zip({k: yaml.safe_load(v) for k, v in files.items()}, folder="current"),
                    "application/zip")}, headers=stack.auth)
    assert pushed.status_code == 200 and pushed.json()["changed"] is False, pushed.text
    version = await stack.http.post(f"/v2/workspaces/{ws}/versions", json={"name": "v1", "description": "first"},
                                    headers=stack.auth)
    assert version.status_code == 200, version.text
    named = await stack.http.post(f"/v2/workspaces/{ws}/versions/v1/export", json={}, headers=stack.auth)
    names = zipfile.ZipFile(io.BytesIO(named.content)).namelist()
    assert "v1/index.yml" in names and "v1/automations/echo.yml" in names
    flat = await stack.http.get(f"/v2/workspaces/{ws}/export", headers=stack.auth)
    assert "index.yml" in zipfile.ZipFile(io.BytesIO(flat.content)).namelist()  # Tideway's own: at the root
    for data in (named.content, flat.content):
        back = await stack.http.post(f"/v2/workspaces/{ws}/import", files={
            "archive": ("w.zip", data, "application/zip")}, headers=stack.auth)
        assert back.status_code == 200 and back.json()["changed"] is False, back.text
