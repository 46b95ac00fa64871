"""Workspace security.yml and sharing, enforced on automations with authorizations.action."""

from __future__ import annotations

from core.triggers import trigger_webhook
from tests.api.helpers import workspace_doc
from tests.stack import Stack

PROTECTED = {"name": "protected", "when": {"endpoint": True}, "authorizations": {"action": "protected"},
             "do": [], "output": "done"}
SECURITY = {"authorizations": {
    "roles": {"agent": {"description": "support agents"}},
    "rules": [{"role": "agent", "action": "execute", "subject": "automations",
               "conditions": {"authorizations.action": {"$in": ["protected"]}}}]}}


async def test_security_and_sharing_drive_execute_checks(stack: Stack) -> None:
    ws = (await stack.import_workspace(workspace_doc({"protected": PROTECTED})))["id"]
    base = f"/v2/workspaces/{ws}"
    assert "authorizations" in (await stack.http.get(f"{base}/security", headers=stack.auth)).json()
    saved = await stack.http.put(f"{base}/security", json=SECURITY, headers=stack.auth)
    assert saved.status_code == 200, saved.text
    shared = await stack.http.post(f"{base}/permissions", json={"target": {"id": "ann"}, "permissions": {
        "role": "agent"}}, headers=stack.auth)
    assert shared.status_code == 200, shared.text
    listed = (await stack.http.get(f"{base}/permissions", headers=stack.auth)).json()["result"]
    assert listed == [{"target": {"id": "ann"}, "permissions": {"role": "agent"}}]

    anonymous = await stack.http.post(f"{base}/webhooks/protected", json={})
    assert anonymous.status_code == 403 and anonymous.json()["error"] == "ForbiddenError"
    assert "protected" in anonymous.json()["message"]
    allowed = await trigger_webhook(stack.services, ws, "protected", method="POST", headers={}, query={}, body={},
                                    user_id="ann", session_id="s-ann")
    assert allowed.output == "done"

    removed = await stack.http.delete(f"{base}/permissions/ann", headers=stack.auth)
    assert removed.status_code == 200
    again = await stack.http.delete(f"{base}/permissions/ann", headers=stack.auth)
    assert again.status_code == 404


async def test_invalid_security_and_unknown_roles_are_refused(stack: Stack) -> None:
    ws = (await stack.import_workspace(workspace_doc({"protected": PROTECTED})))["id"]
    base = f"/v2/workspaces/{ws}"
    bad = {"authorizations": {"rules": [{"role": "owner", "action": "read", "subject": "events"}]}}
    refused = await stack.http.put(f"{base}/security", json=bad, headers=stack.auth)
    assert refused.status_code == 400 and refused.json()["error"] == "InvalidSecurity"
    assert "rule" in refused.json()["message"]
    unknown = await stack.http.post(f"{base}/permissions", json={"target": {"id": "x"}, "permissions": {
        "role": "nope"}}, headers=stack.auth)
    assert unknown.status_code == 400 and "nope" in unknown.json()["message"]
