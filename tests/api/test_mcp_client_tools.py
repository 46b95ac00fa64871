"""Every REST call the reference platform's official MCP client (``prismeai/prismeai-mcp``) makes,
tool by tool, with the client's own bodies, checking the fields the client reads from the answers
(docs/compatibility.md, "The official client's tools"). The client's base URL ends in ``/v2``;
it sends ``Authorization: Bearer <token>`` (or ``x-prismeai-api-key`` through ``call_api``)."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from tests.api.helpers import make_user, unique_slug
from tests.api.test_reference_rest import pull_like_the_client
from tests.stack import Stack

V2 = "/v2"


class Client:
    """The client's calls, as its api-client sends them (JSON bodies, the bearer of the user)."""

    def __init__(self, stack: Stack, token: str, workspace_id: str = ""):
        self.stack = stack
        self.headers = {"authorization": f"Bearer {token}"}
        self.ws = workspace_id

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.stack.http.request(method, V2 + path, headers=self.headers, **kwargs)
        assert response.status_code < 300, (method, path, response.status_code, response.text)
        return response.json() if response.headers.get("content-type", "").startswith("application/json") \
            else response.content


async def _client(stack: Stack) -> Client:
    user = await make_user(stack, "mcp")
    client = Client(stack, user["token"])
    me = await client.call("GET", "/me")  # set_token: validatedAs = me.email ?? me.id
    assert me.get("email") or me.get("id")
    created = await client.call("POST", "/workspaces", json={"name": "MCP workspace", "description": "d",
                                                             "slug": unique_slug("mcp"), "labels": ["mcp"]})
    client.ws = created["id"]
    return client


AUTOMATION = {"name": "hello", "slug": "hello", "when": {"endpoint": True},
              "do": [{"set": {"name": "out", "value": "hi {{body.name}}"}}], "output": "{{out}}"}


async def test_automation_tools(stack: Stack) -> None:
    client = await _client(stack)
    ws = client.ws
    await client.call("POST", f"/workspaces/{ws}/automations", json=AUTOMATION)  # create_automation
    got = await client.call("GET", f"/workspaces/{ws}/automations/hello")  # get_automation
    assert got["name"] == "hello" and got["do"]
    await client.call("PATCH", f"/workspaces/{ws}/automations/hello",  # update_automation
                      json={**AUTOMATION, "output": "{{out}}!"})
    listed = (await client.call("GET", f"/workspaces/{ws}"))["automations"]  # list_automations
    assert "hello" in listed
    ran = await client.call("POST", f"/workspaces/{ws}/test/hello", json={"payload": {"body": {"name": "Ada"}}})
    assert ran == "hi Ada!"  # execute_automation
    deleted = await client.call("DELETE", f"/workspaces/{ws}/automations/hello")  # delete_automation
    assert deleted["slug"] == "hello"


async def test_search_events_tool(stack: Stack) -> None:
    client = await _client(stack)
    ws = client.ws
    await client.call("POST", f"/workspaces/{ws}/events", json={"events": [{"type": "order.created",
                                                                            "payload": {"n": 1}}]})
    body = {"query": {"bool": {"filter": [{"term": {"type": "order.created"}}]}}, "limit": 10, "page": 1,
            "sort": [{"@timestamp": {"order": "desc"}}], "source": ["type", "payload"],
            "aggs": {"types": {"terms": {"field": "type"}}}, "track_total_hits": True}
    for _ in range(50):  # events are persisted asynchronously
        found = await client.call("POST", f"/workspaces/{ws}/search", json=body)
        if found["size"]:
            break
    assert found["size"] == 1 and found["documents"][0]["payload"] == {"n": 1}
    assert found["aggs"]["types"]["buckets"][0]["key"] == "order.created"


async def test_app_tools(stack: Stack) -> None:
    client = await _client(stack)
    source = await client.call("POST", "/workspaces", json={"name": "Greeter app", "slug": unique_slug("greeter")})
    await client.call("POST", f"/workspaces/{source['id']}/automations", json={
        "name": "greet", "slug": "greet", "arguments": {"who": {"type": "string"}}, "do": [], "output": "hi {{who}}"})
    app_slug = unique_slug("greeterapp")
    published = await client.call("POST", "/apps", json={"workspaceId": source["id"], "slug": app_slug,  # publish_app
                                                         "name": "Greeter", "description": "says hi"})
    assert published["slug"] == app_slug
    apps = await client.call("GET", "/apps", params={"text": "Greeter", "page": 0, "limit": 10})  # list_apps
    assert app_slug in [a["slug"] for a in apps]
    app = await client.call("GET", f"/apps/{app_slug}")  # get_app, then its workspace's automations
    assert app["workspaceId"] == source["id"]
    automations = (await client.call("GET", f"/workspaces/{app['workspaceId']}"))["automations"]
    assert "arguments" in automations["greet"]
    ws = client.ws
    installed = await client.call("POST", f"/workspaces/{ws}/apps", json={"appSlug": app_slug})  # install_app_instance
    assert installed["slug"] == app_slug  # the slug defaults to the app's
    instances = await client.call("GET", f"/workspaces/{ws}/apps")  # list_app_instances: an array
    assert [(i["slug"], i["appSlug"]) for i in instances] == [(app_slug, app_slug)]
    one = await client.call("GET", f"/workspaces/{ws}/apps/{app_slug}")  # get_app_instance
    assert one["appSlug"] == app_slug
    await client.call("PATCH", f"/workspaces/{ws}/apps/{app_slug}", json={"labels": ["x"]})  # update_app_instance
    await client.call("PATCH", f"/workspaces/{ws}/apps/{app_slug}/config", json={"k": "v"})  # update_..._config
    assert (await client.call("GET", f"/workspaces/{ws}/apps/{app_slug}/config"))["k"] == "v"  # get_..._config
    await client.call("DELETE", f"/workspaces/{ws}/apps/{app_slug}")  # uninstall_app_instance


async def test_workspace_and_version_tools(stack: Stack) -> None:
    client = await _client(stack)
    ws = client.ws
    found = await client.call("GET", "/workspaces", params={"search": "MCP", "page": 0, "limit": 10})
    assert [w["id"] for w in found] == [ws] and {"id", "name"} <= set(found[0])  # search_workspaces
    assert await client.call("GET", "/workspaces", params={"search": "nothing-like-it"}) == []
    await client.call("POST", f"/workspaces/{ws}/automations", json=AUTOMATION)
    version = await client.call("POST", f"/workspaces/{ws}/versions", json={"name": "v1", "description": "d"})
    assert version["name"] == "v1"  # push_workspace_version (no git repository)
    pulled = await client.call("POST", f"/workspaces/{ws}/versions/v1/pull", json={})  # pull_workspace_version
    assert isinstance(pulled, dict)
    unlocked = await client.call("DELETE", f"/workspaces/{ws}/writeLock")  # unlock_workspace
    assert unlocked["released"] is False
    # pull_workspace: the export, extracted as the client does (entries under current/).
    archive = await client.call("POST", f"/workspaces/{ws}/versions/current/export", json={})
    files = pull_like_the_client(archive)
    assert "index.yml" in files and "automations/hello.yml" in files
    # push_workspace: a backup version, then the folder zipped under current/, prune=false.
    backup = await client.call("POST", f"/workspaces/{ws}/versions", json={
        "name": "mcp-push", "description": "Backup before MCP push: mcp-push"})
    assert backup["name"] == "mcp-push" and backup["createdAt"]
    files["automations/added.yml"] = b"name: added\ndo: []\noutput: 1\n"
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as zf:
        for name, content in files.items():
            zf.writestr(f"current/{name}", content)
    imported = await client.call("POST", f"/workspaces/{ws}/import?prune=false",
                                 files={"archive": ("workspace.zip", data.getvalue(), "application/zip")})
    assert not imported.get("errors")
    assert set((await client.call("GET", f"/workspaces/{ws}"))["automations"]) == {"hello", "added"}


async def test_file_tools(stack: Stack) -> None:
    client = await _client(stack)
    ws = client.ws
    uploaded = await client.call("POST", f"/workspaces/{ws}/files", files={"file": ("notes.txt", b"hello", "text/plain")},
                                 data={"expiresAfter": "3600", "public": "false", "shareToken": "true",
                                       "metadata": '{"kind": "note"}'})  # upload_file: an array of File
    assert isinstance(uploaded, list) and uploaded[0]["name"] == "notes.txt"
    record = uploaded[0]
    assert {"id", "url", "mimetype", "size", "name"} <= set(record)
    listed = await client.call("GET", f"/workspaces/{ws}/files",  # list_files
                               params={"page": 0, "limit": 10, "sort": "-createdAt", "query": '{"mimetype": "text/plain"}'})
    assert [f["id"] for f in listed] == [record["id"]]
    got = await client.call("GET", f"/workspaces/{ws}/files/{record['id']}")  # get_file
    assert got["url"] == record["url"] and got["metadata"] == {"kind": "note"}
    deleted = await client.call("DELETE", f"/workspaces/{ws}/files/{record['id']}")  # delete_file
    assert deleted == {"id": record["id"]}


async def test_call_api_with_an_api_key_and_a_slug(stack: Stack) -> None:
    """``call_api``'s documented example: a webhook of another workspace addressed by slug, and a
    call with ``x-prismeai-api-key`` instead of the bearer."""
    client = await _client(stack)
    slug = unique_slug("agent-factory")
    other = await client.call("POST", "/workspaces", json={"name": "Agent factory", "slug": slug})
    await client.call("POST", f"/workspaces/{other['id']}/automations", json={
        "name": "agents", "slug": "agents", "when": {"endpoint": "v1/agents"}, "do": [], "output": {"ok": True}})
    hook = await stack.http.post(f"/v2/workspaces/slug:{slug}/webhooks/v1/agents", json={})
    assert hook.status_code == 200 and hook.json() == {"ok": True}, hook.text
    key = await client.call("POST", f"/workspaces/{client.ws}/security/apikeys", json={"name": "mcp", "rules": []})
    me = await stack.http.get("/v2/me", headers={"x-prismeai-api-key": key["apiKey"]})
    assert me.status_code == 200 and me.json()["apiKey"]["name"] == "mcp"
