"""Who may do what on a workspace: no token, anonymous, stranger, editor, owner, superadmin."""

from __future__ import annotations

from typing import Any

from tests.api.helpers import make_user, workspace_doc
from tests.stack import Stack


async def test_roles_on_management_routes(stack: Stack) -> None:
    owner, editor, stranger = [await make_user(stack, n) for n in ("owner", "editor", "stranger")]
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
    alice, bob = await make_user(stack, "alice"), await make_user(stack, "bob")
    ws_a = (await stack.http.post("/v2/workspaces/import", json=workspace_doc({}),
                                  headers={"authorization": alice["authorization"]})).json()["workspace"]["id"]
    ws_b = (await stack.http.post("/v2/workspaces/import", json=workspace_doc({}),
                                  headers={"authorization": bob["authorization"]})).json()["workspace"]["id"]
    assert (await stack.http.get(f"/v2/workspaces/{ws_a}", headers={"authorization": alice["authorization"]})
            ).status_code == 200
    assert (await stack.http.get(f"/v2/workspaces/{ws_b}", headers={"authorization": alice["authorization"]})
            ).status_code == 403


async def test_route_families_by_caller(stack: Stack) -> None:
    """Each route family × anonymous, a user with no role, a custom role, editor, owner, superadmin
    and an API key; a refusal changes nothing (the revision and the listings stay put)."""
    from core.access.permissions.defaults import initial_security

    owner, editor, viewer, stranger = [await make_user(stack, n) for n in ("owner", "editor", "viewer", "stranger")]
    created = await stack.http.post("/v2/workspaces/import", json=workspace_doc({
        "hello": {"name": "hello", "do": [], "output": "hi"}}), headers={"authorization": owner["authorization"]})
    ws = created.json()["workspace"]["id"]
    base = f"/v2/workspaces/{ws}"
    as_owner = {"authorization": owner["authorization"]}
    security = initial_security()
    security["authorizations"]["roles"]["viewer"] = {}
    security["authorizations"]["rules"].append({"role": "viewer", "action": "read", "subject": "workspaces"})
    assert (await stack.http.put(f"{base}/security", json=security, headers=as_owner)).status_code == 200
    for user, role in ((editor, "editor"), (viewer, "viewer")):
        shared = await stack.http.post(f"{base}/permissions", json={"target": {"id": user["id"]},
                                                                    "permissions": {"role": role}}, headers=as_owner)
        assert shared.status_code == 200, shared.text
    key = (await stack.http.post(f"{base}/security/apikeys", json={"name": "reader", "rules": [
        {"action": "read", "subject": "workspaces"}]}, headers=as_owner)).json()["apiKey"]
    anonymous = (await stack.http.post("/v2/login/anonymous")).json()
    who: dict[str, dict[str, str]] = {
        "none": {}, "anonymous": {"authorization": f"Bearer {anonymous['token']}"},
        "stranger": {"authorization": stranger["authorization"]}, "viewer": {"authorization": viewer["authorization"]},
        "editor": {"authorization": editor["authorization"]}, "owner": as_owner, "superadmin": stack.auth,
        "apikey": {"x-prismeai-api-key": key}}
    callers = tuple(who)
    automation = {"name": "hello", "do": [], "output": "hi"}
    table: list[tuple[str, str, Any, tuple[int, ...]]] = [
        # none, anonymous, stranger, viewer, editor, owner, superadmin, apikey
        ("GET", base, None, (401, 403, 403, 200, 200, 200, 200, 200)),
        ("GET", f"{base}/export", None, (401, 403, 403, 200, 200, 200, 200, 200)),
        ("PATCH", base, {"description": "x"}, (401, 403, 403, 403, 200, 200, 200, 403)),
        ("GET", f"{base}/automations/hello", None, (401, 403, 403, 200, 200, 200, 200, 200)),
        ("PATCH", f"{base}/automations/hello", automation, (401, 403, 403, 403, 200, 200, 200, 403)),
        ("GET", f"{base}/apps", None, (401, 403, 403, 200, 200, 200, 200, 200)),
        ("GET", f"{base}/versions", None, (401, 403, 403, 200, 200, 200, 200, 200)),
        ("POST", f"{base}/test/hello", {"payload": {}}, (401, 403, 403, 403, 200, 200, 200, 403)),
        ("GET", f"{base}/security", None, (401, 403, 403, 403, 403, 200, 200, 403)),
        ("PUT", f"{base}/security", security, (401, 403, 403, 403, 403, 200, 200, 403)),
        ("GET", f"{base}/security/secrets", None, (401, 403, 403, 403, 403, 200, 200, 403)),
        ("GET", f"{base}/permissions", None, (401, 403, 403, 403, 403, 200, 200, 403)),
        ("GET", f"{base}/security/apikeys", None, (401, 403, 403, 403, 403, 200, 200, 403)),
        # event reads are filtered per event rather than refused; sending needs `create`
        ("GET", f"{base}/events", None, (401, 200, 200, 200, 200, 200, 200, 200)),
        ("POST", f"{base}/events", {"events": [{"type": "hello.sent"}]}, (401, 200, 200, 200, 200, 200, 200, 200)),
        ("POST", f"{base}/events", {"events": [{"type": "workspaces.deleted"}]},
         (401, 403, 403, 403, 403, 403, 200, 403)),
        ("GET", "/v2/events", None, (401, 403, 403, 403, 403, 403, 200, 403)),
        ("POST", "/v2/users", {"email": "x@example.org", "password": "correct horse"},
         (401, 403, 403, 403, 403, 403, 200, 403)),
    ]
    before = (await stack.http.get(base, headers=stack.auth)).json()["revision"]
    for method, path, body, statuses in table:
        got = tuple([(await stack.http.request(method, path, json=body, headers=who[c])).status_code
                     for c in callers])
        assert got == statuses, (method, path, dict(zip(callers, got, strict=True)))
    # Refusals changed nothing: only the allowed PATCHes and PUTs made revisions (editor, owner and
    # superadmin each PATCH the workspace and the automation; owner and superadmin PUT security).
    after = (await stack.http.get(base, headers=stack.auth)).json()["revision"]
    assert after - before <= 3 * 2 + 2
    forged = await stack.events(ws, types="workspaces.deleted")
    assert len(forged) == 1 and forged[0]["source"]["userId"] == "admin"  # only the superadmin's one
    assert (await stack.http.delete(base, headers=who["apikey"])).status_code == 403
    assert (await stack.http.delete(base, headers=who["viewer"])).status_code == 403
    assert (await stack.http.get(base, headers=stack.auth)).status_code == 200
