"""Who may do what on a workspace: no token, anonymous, stranger, editor, owner, superadmin."""

from __future__ import annotations

import uuid
from typing import Any

from tests.api.helpers import workspace_doc
from tests.stack import Stack


async def _user(stack: Stack, name: str) -> dict[str, str]:
    email = f"{name}-{uuid.uuid4().hex[:6]}@example.org"
    created = await stack.http.post("/v2/users", json={"email": email, "password": "correct horse"},
                                    headers=stack.auth)
    assert created.status_code == 200, created.text
    login = await stack.http.post("/v2/login", json={"email": email, "password": "correct horse"})
    body = login.json()
    return {"id": body["id"], "authorization": f"Bearer {body['token']}"}


async def test_roles_on_management_routes(stack: Stack) -> None:
    owner, editor, stranger = [await _user(stack, n) for n in ("owner", "editor", "stranger")]
    created = await stack.http.post("/v2/workspaces/import", json=workspace_doc({
        "hello": {"name": "hello", "do": [], "output": "hi"}}), headers={"authorization": owner["authorization"]})
    assert created.status_code == 200, created.text
    ws = created.json()["workspace"]["id"]
    base = f"/v2/workspaces/{ws}"
    shared = await stack.http.post(f"{base}/permissions", json={"target": {"id": editor["id"]},
                                                                "permissions": {"role": "editor"}},
                                   headers={"authorization": owner["authorization"]})
    assert shared.status_code == 200, shared.text
    anonymous = (await stack.http.post("/v2/login/anonymous")).json()
    who: dict[str, dict[str, str]] = {
        "none": {}, "anonymous": {"authorization": f"Bearer {anonymous['token']}"},
        "stranger": {"authorization": stranger["authorization"]},
        "editor": {"authorization": editor["authorization"]}, "owner": {"authorization": owner["authorization"]},
        "superadmin": stack.auth}

    async def status(method: str, path: str, caller: str, body: Any = None) -> int:
        response = await stack.http.request(method, path, json=body, headers=who[caller])
        return response.status_code

    expected: list[tuple[str, str, Any, tuple[int, ...]]] = [
        # method, path, body, status per caller: none, anonymous, stranger, editor, owner, superadmin
        ("GET", base, None, (401, 403, 403, 200, 200, 200)),
        ("PATCH", base, {"description": "x"}, (401, 403, 403, 200, 200, 200)),
        ("POST", f"{base}/test/hello", {"payload": {}}, (401, 403, 403, 200, 200, 200)),
        ("PUT", f"{base}/security", {"authorizations": {"roles": {}, "rules": []}}, (401, 403, 403, 403, 200, 200)),
        ("GET", f"{base}/security/secrets", None, (401, 403, 403, 403, 200, 200)),
        ("GET", f"{base}/permissions", None, (401, 403, 403, 403, 200, 200)),
        ("GET", "/v2/events", None, (401, 403, 403, 403, 403, 200)),
    ]
    callers = ("none", "anonymous", "stranger", "editor", "owner", "superadmin")
    for method, path, body, statuses in expected:
        got = tuple([await status(method, path, c, body) for c in callers])
        assert got == statuses, (method, path, dict(zip(callers, got, strict=True)))
    # A refused write changes nothing.
    before = (await stack.http.get(base, headers=stack.auth)).json()
    refused = await stack.http.patch(base, json={"name": "Hijacked"}, headers=who["stranger"])
    assert refused.status_code == 403 and refused.json()["error"] == "ForbiddenError"
    assert (await stack.http.get(base, headers=stack.auth)).json()["revision"] == before["revision"]
    # Only the owner may delete; the list shows each user their own workspaces.
    assert await status("DELETE", base, "editor") == 403
    listed = (await stack.http.get("/v2/workspaces", headers=who["stranger"])).json()
    assert ws not in [w["id"] for w in listed]
    assert ws in [w["id"] for w in (await stack.http.get("/v2/workspaces", headers=who["editor"])).json()]
    assert await status("DELETE", base, "owner") == 200


async def test_a_token_for_one_workspace_does_not_open_another(stack: Stack) -> None:
    alice, bob = await _user(stack, "alice"), await _user(stack, "bob")
    ws_a = (await stack.http.post("/v2/workspaces/import", json=workspace_doc({}),
                                  headers={"authorization": alice["authorization"]})).json()["workspace"]["id"]
    ws_b = (await stack.http.post("/v2/workspaces/import", json=workspace_doc({}),
                                  headers={"authorization": bob["authorization"]})).json()["workspace"]["id"]
    assert (await stack.http.get(f"/v2/workspaces/{ws_a}", headers={"authorization": alice["authorization"]})
            ).status_code == 200
    assert (await stack.http.get(f"/v2/workspaces/{ws_b}", headers={"authorization": alice["authorization"]})
            ).status_code == 403
