"""The management contract: auth, import/export, CRUD and validation errors (both databases)."""

from __future__ import annotations

import io
import zipfile

import yaml

from tests.api.helpers import ECHO, make_zip, unique_slug, workspace_doc
from tests.stack import Stack


async def test_healthz_needs_no_token(stack: Stack) -> None:
    response = await stack.http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_management_routes_need_the_admin_token(stack: Stack) -> None:
    assert (await stack.http.get("/v2/workspaces")).status_code == 401
    wrong = await stack.http.get("/v2/workspaces", headers={"authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "UnauthorizedError"
    assert (await stack.http.get("/v2/workspaces", headers=stack.auth)).status_code == 200


async def test_import_document_then_read_list_patch_delete(stack: Stack) -> None:
    doc = workspace_doc({"echo": ECHO}, name="Imported one", description="d")
    ws = await stack.import_workspace(doc)
    assert ws["slug"] == doc["slug"] and ws["name"] == "Imported one" and ws["id"]
    listed = (await stack.http.get("/v2/workspaces", params={"slug": doc["slug"]}, headers=stack.auth)).json()
    assert isinstance(listed, list) and [w["id"] for w in listed] == [ws["id"]]
    detail = (await stack.http.get(f"/v2/workspaces/{ws['id']}", headers=stack.auth)).json()
    assert detail["automations"]["echo"]["when"] == {"endpoint": True}
    patched = await stack.http.patch(f"/v2/workspaces/{ws['id']}", json={"name": "Renamed"}, headers=stack.auth)
    assert patched.status_code == 200 and patched.json()["name"] == "Renamed"
    assert patched.json()["revision"] == 2
    by_name = (await stack.http.get("/v2/workspaces", params={"name": "Renamed"}, headers=stack.auth)).json()
    assert ws["id"] in [w["id"] for w in by_name]
    deleted = await stack.http.delete(f"/v2/workspaces/{ws['id']}", headers=stack.auth)
    assert deleted.json() == {"id": ws["id"]}
    gone = await stack.http.get(f"/v2/workspaces/{ws['id']}", headers=stack.auth)
    assert gone.status_code == 404 and gone.json()["error"] == "ObjectNotFoundError"
    hook = await stack.http.post(f"/v2/workspaces/{ws['id']}/webhooks/echo", json={})
    assert hook.status_code == 404


async def test_import_zip_root_or_folder_and_multipart(stack: Stack) -> None:
    files = {"index.yml": {"name": "Zipped", "slug": unique_slug("zip")}, "automations/echo.yml": ECHO}
    r1 = await stack.http.post("/v2/workspaces/import", content=make_zip(files),
                               headers={**stack.auth, "content-type": "application/zip"})
    assert r1.status_code == 200, r1.text
    files["index.yml"] = {"name": "Zipped two", "slug": unique_slug("zip")}
    r2 = await stack.http.post("/v2/workspaces/import", files={"archive": ("ws.zip", make_zip(files, "myws"))},
                               headers=stack.auth)
    assert r2.status_code == 200, r2.text
    assert r2.json()["workspace"]["automations"]["echo"]["name"] == "echo"


async def test_export_import_round_trip(stack: Stack) -> None:
    doc = workspace_doc({"echo": ECHO, "other": {"name": "other", "do": [{"set": {"name": "a", "value": 1}}]}},
                        config={"value": {"k": "v"}})
    ws = await stack.import_workspace(doc)
    exported = await stack.http.get(f"/v2/workspaces/{ws['id']}/export", headers=stack.auth)
    assert exported.status_code == 200 and exported.headers["content-type"] == "application/zip"
    names = set(zipfile.ZipFile(io.BytesIO(exported.content)).namelist())
    assert {"index.yml", "automations/echo.yml", "automations/other.yml"} <= names
    # Re-importing the export into the same workspace changes nothing (same revision).
    again = await stack.http.post(f"/v2/workspaces/{ws['id']}/import", content=exported.content,
                                  headers={**stack.auth, "content-type": "application/zip"})
    assert again.status_code == 200 and again.json()["changed"] is False
    # Imported elsewhere under another slug, it exports to the same definition.
    index = yaml.safe_load(zipfile.ZipFile(io.BytesIO(exported.content)).read("index.yml"))
    assert index["config"] == {"value": {"k": "v"}}


async def test_duplicate_slug_is_already_used(stack: Stack) -> None:
    doc = workspace_doc({"echo": ECHO})
    await stack.import_workspace(doc)
    again = await stack.http.post("/v2/workspaces/import", json=doc, headers=stack.auth)
    assert again.status_code == 400 and again.json()["error"] == "AlreadyUsedError"


async def _refused(stack: Stack, body: bytes, ctype: str) -> dict:
    response = await stack.http.post("/v2/workspaces/import", content=body,
                                     headers={**stack.auth, "content-type": ctype})
    assert response.status_code == 400, response.text
    data: dict = response.json()
    assert set(data) >= {"error", "message", "details"}
    return data


async def test_malformed_yaml_names_the_file_and_creates_nothing(stack: Stack) -> None:
    slug = unique_slug("bad")
    files = {"index.yml": {"name": "Bad", "slug": slug}, "automations/broken.yml": "name: x\ndo: [\n  - set: {"}
    data = await _refused(stack, make_zip(files), "application/zip")
    assert any("automations/broken.yml" in d["path"] for d in data["details"])
    listed = (await stack.http.get("/v2/workspaces", params={"slug": slug}, headers=stack.auth)).json()
    assert listed == []


async def test_unknown_instruction_and_wrong_types_name_the_instruction_path(stack: Stack) -> None:
    automation = {"name": "hello", "do": [{"comment": "ok"}, {"set": {"name": "a", "value": 1}},
                                          {"conditions": {"{{a}} == 1": [{"set": 3, "emit": {}}], "default": []}}]}
    files = {"index.yml": {"name": "Bad", "slug": unique_slug("bad")}, "automations/hello.yml": automation}
    data = await _refused(stack, make_zip(files), "application/zip")
    paths = [d["path"] for d in data["details"]]
    assert any(p.startswith("automations/hello.yml: do[2].conditions") for p in paths), paths
    wrong = {"name": "w", "do": [{"repeat": {"on": [1], "do": "not a list"}}]}
    data = await _refused(stack, yaml.safe_dump(workspace_doc({"w": wrong})).encode(), "application/yaml")
    assert any("automations.w.do[0]" in d["path"] for d in data["details"]), data


async def test_duplicate_endpoints_are_refused(stack: Stack) -> None:
    doc = workspace_doc({"a": {"name": "a", "when": {"endpoint": "same"}, "do": []},
                         "b": {"name": "b", "when": {"endpoint": "same"}, "do": []}})
    response = await stack.http.post("/v2/workspaces/import", json=doc, headers=stack.auth)
    assert response.status_code == 400
    assert "same" in response.text


async def test_automation_crud(stack: Stack) -> None:
    ws = await stack.import_workspace(workspace_doc({"echo": ECHO}))
    base = f"/v2/workspaces/{ws['id']}/automations"
    created = await stack.http.post(base, json={"name": "Brand new", "do": [], "output": 1}, headers=stack.auth)
    assert created.status_code == 200, created.text
    slug = created.json()["slug"]
    assert slug == "Brandnew"
    dup = await stack.http.post(base, json={"slug": slug, "name": "x", "do": []}, headers=stack.auth)
    assert dup.status_code == 400 and dup.json()["error"] == "AlreadyUsedError"
    bad = await stack.http.post(base, json={"name": "x", "do": "nope"}, headers=stack.auth)
    assert bad.status_code == 400 and bad.json()["details"]
    renamed = await stack.http.patch(f"{base}/{slug}", json={"slug": "renamed", "name": "R", "do": []},
                                     headers=stack.auth)
    assert renamed.status_code == 200 and renamed.json()["slug"] == "renamed"
    assert (await stack.http.get(f"{base}/{slug}", headers=stack.auth)).status_code == 404
    assert (await stack.http.get(f"{base}/renamed", headers=stack.auth)).json()["name"] == "R"
    listed = (await stack.http.get(base, headers=stack.auth)).json()
    assert set(listed) == {"echo", "renamed"}
    assert (await stack.http.delete(f"{base}/renamed", headers=stack.auth)).json() == {"slug": "renamed"}
    assert (await stack.http.delete(f"{base}/renamed", headers=stack.auth)).status_code == 404


async def test_missing_workspace_is_not_found(stack: Stack) -> None:
    for method, path in (("GET", "/v2/workspaces/nope123"), ("POST", "/v2/workspaces/nope123/test/x"),
                         ("POST", "/v2/workspaces/nope123/webhooks/x")):
        response = await stack.http.request(method, path, json={}, headers=stack.auth)
        assert response.status_code == 404 and response.json()["error"] == "ObjectNotFoundError", path


async def test_concurrent_automation_saves_lose_nothing(stack: Stack) -> None:
    import asyncio

    ws = await stack.import_workspace(workspace_doc({"echo": ECHO}))
    base = f"/v2/workspaces/{ws['id']}/automations"
    responses = await asyncio.gather(*(stack.http.post(base, json={"slug": f"a{i}", "name": f"a{i}", "do": []},
                                                       headers=stack.auth) for i in range(8)))
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    listed = (await stack.http.get(base, headers=stack.auth)).json()
    assert set(listed) == {"echo", *(f"a{i}" for i in range(8))}
