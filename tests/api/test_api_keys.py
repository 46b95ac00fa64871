"""REST API keys (spec §8.5): created by owners, shown once, stored hashed, rules added to the caller."""

from __future__ import annotations

from tests.api.helpers import make_user, workspace_doc
from tests.stack import Stack


async def test_api_key_lifecycle_and_rules(stack: Stack) -> None:
    owner, editor, stranger = [await make_user(stack, n) for n in ("owner", "editor", "stranger")]
    as_owner = {"authorization": owner["authorization"]}
    ws = (await stack.http.post("/v2/workspaces/import", json=workspace_doc({}), headers=as_owner)).json()[
        "workspace"]["id"]
    other = (await stack.http.post("/v2/workspaces/import", json=workspace_doc({}), headers=as_owner)).json()[
        "workspace"]["id"]
    base = f"/v2/workspaces/{ws}/security/apikeys"
    await stack.http.post(f"/v2/workspaces/{ws}/permissions", json={"target": {"id": editor["id"]},
                                                                     "permissions": {"role": "editor"}}, headers=as_owner)
    # Only holders of manage_permissions (owner) manage keys.
    refused = await stack.http.post(base, json={"name": "x", "rules": []}, headers={"authorization": editor["authorization"]})
    assert refused.status_code == 403
    created = await stack.http.post(base, json={"name": "reader", "rules": [{"action": "read", "subject": "workspaces"}]},
                                    headers=as_owner)
    assert created.status_code == 200, created.text
    key = created.json()
    assert key["apiKey"].startswith("twk_") and key["subjectId"] == ws and key["subjectType"] == "workspaces"
    listed = (await stack.http.get(base, headers=as_owner)).json()
    assert [k["id"] for k in listed] == [key["id"]] and "apiKey" not in listed[0]  # shown once

    header = {"x-prismeai-api-key": key["apiKey"]}
    assert (await stack.http.get(f"/v2/workspaces/{ws}", headers=header)).status_code == 200
    assert (await stack.http.patch(f"/v2/workspaces/{ws}", json={"name": "n"}, headers=header)).status_code == 403
    assert (await stack.http.get(f"/v2/workspaces/{other}", headers=header)).status_code == 403  # its workspace only
    as_stranger = {"authorization": stranger["authorization"]}
    assert (await stack.http.get(f"/v2/workspaces/{ws}", headers=as_stranger)).status_code == 403
    assert (await stack.http.get(f"/v2/workspaces/{ws}", headers={**as_stranger, **header})).status_code == 200
    unknown = {"x-prismeai-api-key": "twk_not-a-key"}
    assert (await stack.http.get(f"/v2/workspaces/{ws}", headers=unknown)).status_code == 401
    assert (await stack.http.get(f"/v2/workspaces/{ws}", headers={**as_stranger, **unknown})).status_code == 403

    # Invalid rules: 400 naming the rule, nothing changed.
    bad = await stack.http.put(f"{base}/{key['id']}", json={"name": "reader", "rules": [
        {"action": "read", "subject": "secrets"}]}, headers=as_owner)
    assert bad.status_code == 400 and "rules.0" in bad.json()["message"]
    assert (await stack.http.get(base, headers=as_owner)).json()[0]["rules"] == key["rules"]
    disabled = await stack.http.put(f"{base}/{key['id']}", json={"name": "reader", "rules": key["rules"],
                                                                 "disabled": True}, headers=as_owner)
    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    assert (await stack.http.get(f"/v2/workspaces/{ws}", headers=header)).status_code == 401
    assert (await stack.http.delete(f"{base}/{key['id']}", headers=as_owner)).json() == {"apiKey": key["id"]}
    assert (await stack.http.delete(f"{base}/{key['id']}", headers=as_owner)).status_code == 404

    # Key events name the key by id, never its value; editors do not read them.
    events = await stack.events(ws, types=["apikeys.created", "apikeys.updated", "apikeys.deleted"])
    assert {e["type"] for e in events} == {"apikeys.created", "apikeys.updated", "apikeys.deleted"}
    assert key["apiKey"] not in str(events)
    as_editor = (await stack.http.get(f"/v2/workspaces/{ws}/events", params={"types": "apikeys.created"},
                                      headers={"authorization": editor["authorization"]})).json()["result"]["events"]
    assert as_editor == []
    from sqlmodel import select

    from core.infra.tables import ApiKey
    async with stack.services.db.session() as session:
        assert (await session.exec(select(ApiKey).where(ApiKey.workspace_id == ws))).all() == []


async def test_an_api_key_can_open_a_protected_webhook(stack: Stack) -> None:
    doc = workspace_doc({"guarded": {"name": "guarded", "when": {"endpoint": True},
                                     "authorizations": {"action": "call-guarded"}, "do": [], "output": "in"}})
    ws = (await stack.import_workspace(doc))["id"]
    url = f"/v2/workspaces/{ws}/webhooks/guarded"
    assert (await stack.http.post(url, json={})).status_code == 403
    key = (await stack.http.post(f"/v2/workspaces/{ws}/security/apikeys", json={"name": "partner", "rules": [
        {"action": "execute", "subject": "automations",
         "conditions": {"authorizations.action": {"$in": ["call-guarded"]}}}]}, headers=stack.auth)).json()
    allowed = await stack.http.post(url, json={}, headers={"x-prismeai-api-key": key["apiKey"]})
    assert allowed.status_code == 200 and allowed.json() == "in"
    useless = (await stack.http.post(f"/v2/workspaces/{ws}/security/apikeys", json={"name": "other", "rules": [
        {"action": "read", "subject": "workspaces"}]}, headers=stack.auth)).json()
    assert (await stack.http.post(url, json={}, headers={"x-prismeai-api-key": useless["apiKey"]})).status_code == 403


async def test_roles_listing_hides_api_key_roles(stack: Stack) -> None:
    from core.access.permissions.defaults import initial_security

    ws = (await stack.import_workspace(workspace_doc({})))["id"]
    security = initial_security()
    security["authorizations"]["roles"].update({"support": {"description": "Support desk"},
                                                 "robot": {"auth": {"apiKey": {}}}})
    assert (await stack.http.put(f"/v2/workspaces/{ws}/security", json=security, headers=stack.auth)).status_code == 200
    roles = (await stack.http.get(f"/v2/workspaces/{ws}/security/roles", headers=stack.auth)).json()
    assert roles == [{"name": "owner"}, {"name": "editor"}, {"name": "support", "description": "Support desk"}]
