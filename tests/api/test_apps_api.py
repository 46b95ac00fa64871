"""Publishing apps and installing app instances through the REST API (both databases)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from schemas.errors import ObjectNotFoundError
from tests.api.helpers import unique_slug, workspace_doc
from tests.stack import Stack

SCHEMA = {"apiUrl": {"type": "string", "title": "API", "ui:widget": "textarea"},
          "retries": {"type": "number", "secret": False}}
APP_AUTOMATIONS = {
    "run": {"name": "run", "description": "Runs", "arguments": {"text": {"type": "string"}},
            "when": {"endpoint": True}, "do": [{"emit": {"event": "ran"}}], "output": "{{config.apiUrl}}"},
    "hidden": {"name": "hidden", "private": True, "when": {"events": ["poke"]}, "do": []},
    "off": {"name": "off", "disabled": True, "do": []},
}


async def wait_events(stack: Stack, ws: str, predicate: Any, timeout: float = 10.0) -> list[dict[str, Any]]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        events = await stack.events(ws, limit=500)
        if predicate(events) or asyncio.get_running_loop().time() > deadline:
            return events
        await asyncio.sleep(0.05)


def of_type(events: list[dict[str, Any]], type_: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == type_]


async def source_workspace(stack: Stack, automations: dict[str, Any] | None = None, **index: Any) -> dict[str, Any]:
    index.setdefault("description", "An app source")
    index.setdefault("photo", "https://example.test/photo.png")
    index.setdefault("config", {"schema": SCHEMA, "value": {"apiUrl": "https://default.test"}})
    return await stack.import_workspace(workspace_doc(APP_AUTOMATIONS if automations is None else automations,
                                                      **index))


async def publish(stack: Stack, workspace_id: str, **body: Any) -> Any:
    return await stack.http.post("/v2/apps", json={"workspaceId": workspace_id, **body}, headers=stack.auth)


async def published_app(stack: Stack, **index: Any) -> tuple[str, str]:
    ws = await source_workspace(stack, **index)
    slug = unique_slug("app")
    response = await publish(stack, ws["id"], slug=slug)
    assert response.status_code == 200, response.text
    return ws["id"], slug


def assert_error(response: Any, status: int, name: str, text: str = "") -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == name, body
    assert text in body["message"], body


async def test_publish_read_list_versions_and_delete(stack: Stack) -> None:
    ws = await source_workspace(stack, name="Source one", labels=["tools", "nlp"])
    slug = unique_slug("app")
    first = await publish(stack, ws["id"], slug=slug)
    assert first.status_code == 200, first.text
    app = first.json()
    assert app["slug"] == slug and app["name"] == "Source one" and app["photo"].endswith("photo.png")
    assert app["workspaceId"] == ws["id"] and app["labels"] == ["tools", "nlp"]
    assert len(app["versions"]) == 1 and app["versions"][0]["description"] == "App release"
    generated = app["versions"][0]["name"]
    second = await publish(stack, ws["id"], name="v2.0", description="second")
    assert second.status_code == 200, second.text

    versions = (await stack.http.get(f"/v2/apps/{slug}/versions", headers=stack.auth)).json()
    assert [v["name"] for v in versions] == ["v2.0", generated]
    assert versions[0]["description"] == "second" and all(set(v) == {"name", "description", "createdAt"}
                                                          for v in versions)

    detail = (await stack.http.get(f"/v2/apps/{slug}", headers=stack.auth)).json()
    assert detail["config"] == {"schema": SCHEMA}  # never the value
    assert detail["automations"] == [{"slug": "run", "name": "run", "description": "Runs",
                                      "arguments": {"text": {"type": "string"}}}]
    assert detail["version"] == "v2.0" and [v["name"] for v in detail["versions"]] == ["v2.0", generated]
    assert detail["events"]["emit"] == ["ran"] and detail["events"]["listen"] == ["poke"]
    older = await stack.http.get(f"/v2/apps/{slug}", params={"version": generated}, headers=stack.auth)
    assert older.status_code == 200 and older.json()["version"] == generated
    missing = await stack.http.get(f"/v2/apps/{slug}", params={"version": "nope"}, headers=stack.auth)
    assert_error(missing, 404, "ObjectNotFoundError")

    async def listed(**params: Any) -> list[str]:
        response = await stack.http.get("/v2/apps", params=params, headers=stack.auth)
        assert response.status_code == 200, response.text
        return [a["slug"] for a in response.json()]

    assert slug in await listed(text=slug.upper())
    assert slug in await listed(labels="nlp,other") and slug not in await listed(labels="other")
    assert await listed(workspaceId=ws["id"]) == [slug]
    assert slug not in await listed(text="no-such-app-text")

    events = await wait_events(stack, ws["id"], lambda ev: len(of_type(ev, "apps.published")) == 2)
    published = of_type(events, "apps.published")
    assert len(published) == 2 and published[0]["payload"]["app"]["slug"] == slug
    assert published[0]["source"]["workspaceId"] == ws["id"]

    deleted = await stack.http.delete(f"/v2/apps/{slug}", headers=stack.auth)
    assert deleted.status_code == 200 and deleted.json() == {"id": slug}
    assert_error(await stack.http.get(f"/v2/apps/{slug}", headers=stack.auth), 404, "ObjectNotFoundError")
    assert_error(await stack.http.delete(f"/v2/apps/{slug}", headers=stack.auth), 404, "ObjectNotFoundError")
    assert slug not in await listed(workspaceId=ws["id"])
    events = await wait_events(stack, ws["id"], lambda ev: bool(of_type(ev, "apps.deleted")))
    assert of_type(events, "apps.deleted")[0]["payload"] == {"appSlug": slug}
    # Deleted apps keep resolving for the runtime (DECISIONS 22).
    name, doc = await stack.services.apps.version_document(slug, None)
    assert name == "v2.0" and "run" in doc["automations"]


async def test_publish_rules(stack: Stack) -> None:
    ws = await source_workspace(stack)
    assert_error(await publish(stack, ws["id"]), 400, "MissingFieldError", "slug")
    assert_error(await publish(stack, ws["id"], slug="bad.slug"), 400, "InvalidSlugError")
    assert_error(await publish(stack, "nope-ws"), 404, "ObjectNotFoundError")
    slug = unique_slug("app")
    assert (await publish(stack, ws["id"], slug=slug)).status_code == 200
    assert_error(await publish(stack, ws["id"], slug=unique_slug("other")), 400, "InvalidSlugError",
                 "Once published, an app slug cannot be updated.")
    assert (await publish(stack, ws["id"], slug=slug)).status_code == 200
    other = await source_workspace(stack)
    assert_error(await publish(stack, other["id"], slug=slug), 400, "AlreadyUsedError")
    for bad in ("bad name!", "current", "x" * 16):
        assert_error(await publish(stack, ws["id"], name=bad), 400, "InvalidVersionError")
    assert (await publish(stack, ws["id"], name="v1")).status_code == 200
    assert_error(await publish(stack, ws["id"], name="v1"), 400, "AlreadyUsedError")
    # name, description and photo follow the workspace at every publish (DECISIONS 17)
    patched = await stack.http.patch(f"/v2/workspaces/{ws['id']}", json={"name": "Renamed source",
                                                                          "photo": "https://example.test/2.png"},
                                     headers=stack.auth)
    assert patched.status_code == 200, patched.text
    again = (await publish(stack, ws["id"])).json()
    assert again["slug"] == slug and again["name"] == "Renamed source" and again["photo"].endswith("2.png")
    assert_error(await stack.http.post("/v2/apps", json=[1], headers=stack.auth), 400, "InvalidWorkspaceError")
    assert (await stack.http.post("/v2/apps", json={"workspaceId": ws["id"]})).status_code == 401


async def test_install_read_configure_rename_and_uninstall(stack: Stack) -> None:
    _, app = await published_app(stack)
    ws = (await stack.import_workspace(workspace_doc({})))["id"]
    base = f"/v2/workspaces/{ws}/apps"
    installed = await stack.http.post(base, json={"appSlug": app, "slug": "tools",
                                                  "config": {"apiUrl": "https://mine.test"}}, headers=stack.auth)
    assert installed.status_code == 200, installed.text
    assert installed.json() == {"appSlug": app, "slug": "tools", "config": {"apiUrl": "https://mine.test"}}

    one = (await stack.http.get(f"{base}/tools", headers=stack.auth)).json()
    assert one["config"] == {"schema": SCHEMA, "value": {"apiUrl": "https://mine.test"}}
    assert one["createdBy"] == "admin" and "appDeleted" not in one
    listed = (await stack.http.get(base, headers=stack.auth)).json()
    assert [i["slug"] for i in listed] == ["tools"]
    assert listed[0]["automations"][0]["slug"] == "run" and listed[0]["photo"].endswith("photo.png")
    assert listed[0]["events"] == {"emit": ["tools.ran"], "listen": ["poke"]}
    workspace = (await stack.http.get(f"/v2/workspaces/{ws}", headers=stack.auth)).json()
    assert workspace["imports"]["tools"]["appSlug"] == app

    renamed = await stack.http.patch(f"{base}/tools", json={"slug": "tools2", "disabled": True}, headers=stack.auth)
    assert renamed.status_code == 200, renamed.text
    assert renamed.json() == {"appSlug": app, "slug": "tools2", "disabled": True,
                              "config": {"value": {"apiUrl": "https://mine.test"}}}
    assert_error(await stack.http.get(f"{base}/tools", headers=stack.auth), 404, "ObjectNotFoundError")
    assert (await stack.http.get(f"{base}/tools2/config", headers=stack.auth)).json() == {
        "apiUrl": "https://mine.test"}
    merged = await stack.http.patch(f"{base}/tools2/config", json={"retries": 3}, headers=stack.auth)
    assert merged.status_code == 200, merged.text
    assert merged.json()["config"] == {"value": {"apiUrl": "https://mine.test", "retries": 3}}

    removed = await stack.http.delete(f"{base}/tools2", headers=stack.auth)
    assert removed.status_code == 200 and removed.json() == {"id": "tools2"}
    assert (await stack.http.get(base, headers=stack.auth)).json() == []

    events = await wait_events(stack, ws, lambda ev: bool(of_type(ev, "workspaces.apps.uninstalled")))
    installed_ev = of_type(events, "workspaces.apps.installed")[0]
    assert installed_ev["source"]["appSlug"] == app and installed_ev["source"]["appInstanceFullSlug"] == "tools"
    assert installed_ev["payload"]["events"] == {"emit": ["tools.ran"], "listen": ["poke"]}
    configured = sorted(of_type(events, "workspaces.apps.configured"), key=lambda e: e["createdAt"])
    assert len(configured) == 2
    renamed_ev = next(e for e in configured if e["payload"].get("oldSlug"))
    assert renamed_ev["payload"]["oldSlug"] == "tools" and renamed_ev["payload"]["slug"] == "tools2"
    assert renamed_ev["source"]["appInstanceFullSlug"] == "tools2"
    uninstalled = of_type(events, "workspaces.apps.uninstalled")[0]
    assert uninstalled["payload"]["slug"] == "tools2" and uninstalled["source"]["appSlug"] == app


async def test_install_bad_input(stack: Stack) -> None:
    _, app = await published_app(stack)
    ws = (await stack.import_workspace(workspace_doc({})))["id"]
    base = f"/v2/workspaces/{ws}/apps"

    async def install(**body: Any) -> Any:
        return await stack.http.post(base, json=body, headers=stack.auth)

    assert_error(await install(appSlug=unique_slug("ghost"), slug="x"), 404, "ObjectNotFoundError")
    assert_error(await install(appSlug=app, slug="x", appVersion="nope"), 404, "ObjectNotFoundError", "nope")
    assert_error(await install(appSlug=app, slug="a.b"), 400, "InvalidSlugError", "a.b")
    assert_error(await install(appSlug=app, slug="bad!"), 400, "InvalidSlugError")
    assert_error(await install(appSlug=app, slug=""), 400, "MissingFieldError", "slug")
    assert_error(await install(appSlug=app, slug="x", unknown=1), 400, "InvalidWorkspaceError", "unknown")
    bad_config = await install(appSlug=app, slug="x", config={"retries": "three"})
    assert_error(bad_config, 400, "InvalidArgumentsError", "config.retries")
    assert bad_config.json()["details"][0]["path"] == "config.retries"
    assert_error(await install(appSlug=app, slug="x", config=[1]), 400, "InvalidArgumentsError")
    # a templated value resolves at run time in the parent's config: not checked against the schema
    assert (await install(appSlug=app, slug="x", config={"retries": "{{config.n}}"})).status_code == 200
    assert_error(await install(appSlug=app, slug="x"), 400, "AlreadyUsedError")
    assert_error(await stack.http.patch(f"{base}/x", json={"config": {"retries": "z"}}, headers=stack.auth),
                 400, "InvalidArgumentsError", "config.retries")
    assert_error(await stack.http.patch(f"{base}/x", json={"appVersion": "nope"}, headers=stack.auth),
                 404, "ObjectNotFoundError")
    assert_error(await stack.http.patch(f"{base}/x", json={"slug": "y.z"}, headers=stack.auth),
                 400, "InvalidSlugError")
    assert_error(await stack.http.patch(f"{base}/missing", json={}, headers=stack.auth), 404, "ObjectNotFoundError")
    assert_error(await stack.http.delete(f"{base}/missing", headers=stack.auth), 404, "ObjectNotFoundError")
    assert_error(await stack.http.post("/v2/workspaces/nope-ws/apps", json={"appSlug": app, "slug": "q"},
                                       headers=stack.auth), 404, "ObjectNotFoundError")


async def test_pinned_versions_and_deleted_app_instances(stack: Stack) -> None:
    src, app = await published_app(stack)
    first = (await stack.http.get(f"/v2/apps/{app}/versions", headers=stack.auth)).json()[0]["name"]
    assert (await publish(stack, src, name="second")).status_code == 200
    ws = (await stack.import_workspace(workspace_doc({})))["id"]
    base = f"/v2/workspaces/{ws}/apps"
    pinned = await stack.http.post(base, json={"appSlug": app, "slug": "pinned", "appVersion": first},
                                   headers=stack.auth)
    assert pinned.status_code == 200, pinned.text
    assert (await stack.http.post(base, json={"appSlug": app, "slug": "live"}, headers=stack.auth)).status_code == 200
    assert (await stack.http.get(f"{base}/pinned", headers=stack.auth)).json()["resolvedVersion"] == first
    assert (await stack.http.get(f"{base}/live", headers=stack.auth)).json()["resolvedVersion"] == "second"
    assert await stack.services.apps.latest_versions([app, "nope"]) == {app: "second"}

    assert (await stack.http.delete(f"/v2/apps/{app}", headers=stack.auth)).status_code == 200
    kept = (await stack.http.get(f"{base}/live", headers=stack.auth)).json()
    assert kept["appDeleted"] is True and kept["config"]["schema"] == SCHEMA
    listed = (await stack.http.get(base, headers=stack.auth)).json()
    assert sorted(i["slug"] for i in listed) == ["live", "pinned"] and all(i["appDeleted"] for i in listed)
    assert_error(await stack.http.post(base, json={"appSlug": app, "slug": "again"}, headers=stack.auth),
                 404, "ObjectNotFoundError")


async def test_import_cycles_are_refused(stack: Stack) -> None:
    src_a, app_a = await published_app(stack)
    own = await stack.http.post(f"/v2/workspaces/{src_a}/apps", json={"appSlug": app_a, "slug": "me"},
                                headers=stack.auth)
    assert_error(own, 400, "ImportCycleError", app_a)
    src_b = (await source_workspace(stack))["id"]
    assert (await stack.http.post(f"/v2/workspaces/{src_b}/apps", json={"appSlug": app_a, "slug": "a"},
                                  headers=stack.auth)).status_code == 200
    app_b = unique_slug("app")
    assert (await publish(stack, src_b, slug=app_b)).status_code == 200
    cycle = await stack.http.post(f"/v2/workspaces/{src_a}/apps", json={"appSlug": app_b, "slug": "b"},
                                  headers=stack.auth)
    assert_error(cycle, 400, "ImportCycleError", f"{app_b} → {app_a}")
    # through an import of the workspace definition too
    doc = workspace_doc({}, slug=unique_slug())
    reimport = await stack.http.post(f"/v2/workspaces/{src_a}/import",
                                     json={**doc, "name": "Cyclic", "imports": {"b": {"appSlug": app_b}}},
                                     headers=stack.auth)
    assert_error(reimport, 400, "InvalidWorkspaceError", "imports")


async def test_workspace_import_checks_its_app_instances(stack: Stack) -> None:
    _, app = await published_app(stack)
    ghost = unique_slug("ghost")
    unknown = await stack.http.post("/v2/workspaces/import", json={
        **workspace_doc({}), "imports": {"x": {"appSlug": ghost}}}, headers=stack.auth)
    assert_error(unknown, 400, "InvalidWorkspaceError", "imports.x")
    assert ghost in unknown.json()["details"][0]["message"]
    bad = await stack.http.post("/v2/workspaces/import", json={
        **workspace_doc({}), "imports": {"x": {"appSlug": app, "config": {"retries": "z"}}}}, headers=stack.auth)
    assert_error(bad, 400, "InvalidWorkspaceError", "imports.x.config.retries")
    good = await stack.http.post("/v2/workspaces/import", json={
        **workspace_doc({}), "imports": {"x": {"appSlug": app, "config": {"retries": 2}}}}, headers=stack.auth)
    assert good.status_code == 200, good.text
    ws = good.json()["workspace"]["id"]
    listed = (await stack.http.get(f"/v2/workspaces/{ws}/apps", headers=stack.auth)).json()
    assert [i["slug"] for i in listed] == ["x"]


async def test_duplicate_workspace(stack: Stack) -> None:
    _, app = await published_app(stack)
    original = await stack.import_workspace({**workspace_doc({"a": {"name": "a", "do": []}}, name="Original one"),
                                             "imports": {"t": {"appSlug": app}}})
    copy = await stack.http.post(f"/v2/workspaces/{original['id']}/duplicate", headers=stack.auth)
    assert copy.status_code == 200, copy.text
    body = copy.json()
    assert body["id"] != original["id"] and body["slug"] != original["slug"] and body["name"] == "Original one copy"
    assert set(body["automations"]) == {"a"} and set(body["imports"]) == {"t"}
    events = await wait_events(stack, body["id"], lambda ev: bool(of_type(ev, "workspaces.duplicated")))
    duplicated = of_type(events, "workspaces.duplicated")[0]["payload"]
    assert duplicated["fromWorkspace"] == {"name": "Original one", "slug": original["slug"], "id": original["id"]}
    assert duplicated["workspace"]["id"] == body["id"]
    old = await stack.http.post(f"/v2/workspaces/{original['id']}/versions/1/duplicate", headers=stack.auth)
    assert old.status_code == 200 and old.json()["slug"] not in (original["slug"], body["slug"])
    missing = await stack.http.post(f"/v2/workspaces/{original['id']}/versions/zz/duplicate", headers=stack.auth)
    assert_error(missing, 404, "ObjectNotFoundError")
    snap = await stack.http.post(f"/v2/workspaces/{original['id']}/versions", json={"name": "snap1",
                                                                                  "description": "d"},
                                 headers=stack.auth)
    assert snap.status_code == 200, snap.text
    named = await stack.http.post(f"/v2/workspaces/{original['id']}/versions/snap1/duplicate", headers=stack.auth)
    assert named.status_code == 200 and set(named.json()["automations"]) == {"a"}


async def test_publish_document_and_version_lookup(sqlite_stack: Stack) -> None:
    apps = sqlite_stack.services.apps
    slug = unique_slug("internal")
    published = await apps.publish_document(slug, {"name": "Internal", "automations": {}}, version="one")
    assert "workspaceId" not in published and published["versions"][0]["name"] == "one"
    await apps.publish_document(slug, {"name": "Internal", "automations": {"x": {"name": "x", "do": []}}})
    name, doc = await apps.version_document(slug, "latest")
    assert name != "one" and "x" in doc["automations"]
    assert (await apps.version_document(slug, "one"))[1]["automations"] == {}
    assert (await apps.version_document(slug, "current"))[0] == name
    with pytest.raises(ObjectNotFoundError):
        await apps.version_document(slug, "two")
    with pytest.raises(ObjectNotFoundError):
        await apps.version_document(unique_slug("none"), None)
    assert await apps.latest_versions([]) == {}
