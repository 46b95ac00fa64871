"""One test per reproducer of issue 14, items 11 and 13: each gave a 500 and some left state
behind. Now each is a 400 naming the problem and where, and nothing is written (both databases)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text

from api.app import create_app
from tests.api.helpers import make_zip, unique_slug, workspace_doc
from tests.stack import Stack

JSON = {"content-type": "application/json"}


@pytest.fixture
def http(stack: Stack) -> httpx.AsyncClient:
    # A 500 must come back as an answer (as from a real server), not as an exception in the test.
    transport = httpx.ASGITransport(app=create_app(stack.services), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://tideway.test", timeout=60,
                             headers=stack.auth)


async def _count(stack: Stack, sql: str, **params: Any) -> int:
    async with stack.services.db.session() as session:
        return int((await session.exec(text(sql), params=params)).one()[0])


def assert_400(response: httpx.Response, error: str, *words: str) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    body: dict[str, Any] = response.json()
    assert body["error"] == error, body
    for word in words:
        assert word in body["message"] or word in str(body.get("details")), (word, body)
    return body


async def test_nan_and_infinity_create_no_workspace(stack: Stack, http: httpx.AsyncClient) -> None:
    """Was: 500, and the workspace created anyway."""
    for constant in ("NaN", "Infinity", "-Infinity", "1e400"):
        slug = unique_slug("nan")
        body = f'{{"name": "n", "slug": "{slug}", "config": {{"value": {{"x": {constant}}}}}}}'.encode()
        response = await http.post("/v2/workspaces", content=body, headers=JSON)
        assert_400(response, "InvalidBodyError", "line 1")
        assert await _count(stack, "SELECT count(*) FROM workspaces WHERE slug = :s", s=slug) == 0


async def test_lone_surrogates_are_refused_anywhere(stack: Stack, http: httpx.AsyncClient) -> None:
    ws = (await stack.import_workspace(workspace_doc({})))["id"]
    for url, method, body in [
        ("/v2/workspaces", "POST", b'{"name": "a\\ud800"}'),
        ("/v2/workspaces", "POST", b'{"name": "a", "labels": ["\\udfff"]}'),
        (f"/v2/workspaces/{ws}", "PATCH", b'{"config": {"\\ud800": 1}}'),
        (f"/v2/workspaces/{ws}/security/secrets", "PUT", b'{"s": {"value": "\\ud800"}}'),
        (f"/v2/workspaces/{ws}/events", "POST", b'{"events": [{"type": "a.b", "payload": {"x": "\\ud800"}}]}'),
    ]:
        response = await http.request(method, url, content=body, headers=JSON)
        assert_400(response, "InvalidBodyError", "surrogate")
    assert (await stack.http.get(f"/v2/workspaces/{ws}", headers=stack.auth)).json()["revision"] == 1


@pytest.mark.parametrize("depth", [300, 500, 650, 800, 999])
async def test_deep_json_is_refused_before_anything_is_written(stack: Stack, http: httpx.AsyncClient,
                                                               depth: int) -> None:
    """Was: 500 from 300 levels on, and from 500 to 800 the workspace was created."""
    slug = unique_slug("deep")
    body = f'{{"name": "deep", "slug": "{slug}", "config": {{"value": ' + '{"a":' * depth + "1" + "}" * depth + "}}"
    response = await http.post("/v2/workspaces", content=body.encode(), headers=JSON)
    found = assert_400(response, "InvalidBodyError", "nested deeper than 100 levels")
    assert found["details"][0]["path"].startswith("body.config.value.a.a")
    assert await _count(stack, "SELECT count(*) FROM workspaces WHERE slug = :s", s=slug) == 0


async def test_put_security_null_keeps_the_roles(stack: Stack, http: httpx.AsyncClient) -> None:
    """Was: 500 after storing a revision whose security (the roles) was wiped."""
    ws = (await stack.import_workspace(workspace_doc({})))["id"]
    security = {"authorizations": {"roles": {"agent": {}}, "rules": []}}
    assert (await http.put(f"/v2/workspaces/{ws}/security", json=security)).status_code == 200
    revision = (await http.get(f"/v2/workspaces/{ws}")).json()["revision"]
    for body in (b"null", b"[]", b'"x"', b"5"):
        assert_400(await http.put(f"/v2/workspaces/{ws}/security", content=body, headers=JSON),
                   "InvalidSecurity", "must be an object")
    assert (await http.get(f"/v2/workspaces/{ws}/security")).json() == security
    assert (await http.get(f"/v2/workspaces/{ws}")).json()["revision"] == revision


async def test_secret_description_must_be_a_bounded_string(stack: Stack, http: httpx.AsyncClient) -> None:
    """Was: 500 for an object, a list or a huge integer; now every problem is listed."""
    ws = (await stack.import_workspace(workspace_doc({})))["id"]
    url = f"/v2/workspaces/{ws}/security/secrets"
    for body in (b'{"a": {"value": "x", "description": {"o": 1}}}', b'{"a": {"value": "x", "description": [1]}}',
                 b'{"a": {"value": "x", "description": 1' + b"0" * 30 + b"}}",
                 b'{"a": {"value": "x", "description": "' + b"d" * 1001 + b'"}}'):
        for method in ("PUT", "PATCH"):
            found = assert_400(await http.request(method, url, content=body, headers=JSON),
                               "InvalidWorkspaceError", "body.a.description")
            assert found["details"][0]["path"] == "body.a.description"
    everything = await http.put(url, json={"a": {"value": "x", "description": 5}, "bad name": {"value": 1},
                                           "b": "not an object", "c": {}})
    found = assert_400(everything, "InvalidWorkspaceError")
    assert [d["path"] for d in found["details"]] == ["body.a.description", "body.bad name (key)", "body.b",
                                                    "body.c.value"]
    assert (await http.get(url)).json() == {}
    assert await _count(stack, "SELECT count(*) FROM events WHERE workspace_id = :w AND type = :t", w=ws,
                        t="workspaces.secrets.updated") == 0


async def test_automation_slug_must_be_a_slug_string(stack: Stack, http: httpx.AsyncClient) -> None:
    """Was: 500 for a number, a list or an object."""
    ws = (await stack.import_workspace(workspace_doc({"echo": {"name": "echo", "do": []}})))["id"]
    for slug in (5, ["x"], {"a": 1}, "", "has.dot", True):
        for method, url in (("POST", f"/v2/workspaces/{ws}/automations"),
                            ("PATCH", f"/v2/workspaces/{ws}/automations/echo")):
            response = await http.request(method, url, json={"name": "a", "slug": slug, "do": []})
            found = assert_400(response, "InvalidWorkspaceError", "body.slug")
            assert found["details"] == [{"path": "body.slug", "message": found["details"][0]["message"]}]
    assert (await http.get(f"/v2/workspaces/{ws}")).json()["revision"] == 1


async def test_permissions_must_be_a_role_object(stack: Stack, http: httpx.AsyncClient) -> None:
    """Was: 500 for ``permissions: "x"``. The body is ``{target: {id}, permissions: {role}}``."""
    ws = (await stack.import_workspace(workspace_doc({})))["id"]
    url = f"/v2/workspaces/{ws}/permissions"
    for permissions, path in (("x", "body.permissions"), (["read"], "body.permissions"),
                              ({"role": 5}, "body.permissions.role"), ({}, "body.permissions.role")):
        found = assert_400(await http.post(url, json={"target": {"id": "u1"}, "permissions": permissions}),
                           "InvalidWorkspaceError", path)
        assert found["details"][0]["path"] == path
    found = assert_400(await http.post(url, json={"target": "u1", "permissions": "editor"}), "InvalidWorkspaceError")
    assert {d["path"] for d in found["details"]} == {"body.target", "body.permissions"}
    assert (await http.get(url)).json() == {"result": []}


async def test_nul_in_webhook_text_query_and_fields_is_refused(stack: Stack, http: httpx.AsyncClient) -> None:
    """Found with these tests: a NUL character in a webhook's query, urlencoded or text body went
    into the run's events, which PostgreSQL refused (the run's event flush failed again and again)."""
    ws = await stack.import_workspace(workspace_doc({"echo": {"name": "echo", "when": {"endpoint": True},
                                                               "do": [], "output": "{{body}}"}}))
    url = f"/v2/workspaces/{ws['id']}/webhooks/echo"
    for request, where in (({"content": b"a=%00", "headers": {"content-type": "application/x-www-form-urlencoded"}},
                            "body.a"),
                           ({"content": b"x\x00", "headers": {"content-type": "text/plain"}}, "body"),
                           ({"params": {"q": "\x00"}, "json": {}}, "query.q"),
                           ({"data": {"f": "\x00"}, "files": {"g": ("g.bin", b"\x00")}}, "body.f")):
        found = assert_400(await http.post(url, **request), "InvalidBodyError", "NUL")
        assert found["details"][0]["path"] == where
    # Inside a file, NUL is data (the automation gets base64).
    upload = await http.post(url, files={"g": ("g.bin", b"\x00\x01")})
    assert upload.status_code == 200 and upload.json()["g"]["base64"] == "AAE="
    assert await _count(stack, "SELECT count(*) FROM events WHERE workspace_id = :w AND type = :t", w=ws["id"],
                        t="runtime.automations.executed") == 1


async def test_duplicate_yaml_keys_name_the_file_the_line_and_the_key(stack: Stack, http: httpx.AsyncClient) -> None:
    """Was: accepted silently (the last value won)."""
    doc = workspace_doc({})
    archive = make_zip({"index.yml": f"name: {doc['name']}\nslug: {doc['slug']}\n",
                        "automations/hello.yml": "name: hello\ndo: []\noutput: 1\ndo:\n  - set: {name: a, value: 1}\n",
                        "security.yml": "authorizations:\n  roles: {}\n  roles: {agent: {}}\n"})
    response = await http.post("/v2/workspaces/import", content=archive, headers={"content-type": "application/zip"})
    found = assert_400(response, "InvalidWorkspaceError")
    assert {(d["path"], d["message"]) for d in found["details"]} == {
        ("automations/hello.yml", "invalid YAML at line 4, column 1: duplicate key 'do' (first at line 2)"),
        ("security.yml", "invalid YAML at line 3, column 3: duplicate key 'roles' (first at line 2)")}
    assert await _count(stack, "SELECT count(*) FROM workspaces WHERE slug = :s", s=doc["slug"]) == 0
    document = await http.post("/v2/workspaces/import", content=b"name: A\nslug: b\nname: C\n",
                               headers={"content-type": "application/yaml"})
    assert_400(document, "InvalidWorkspaceError", "line 3", "duplicate key 'name'")
