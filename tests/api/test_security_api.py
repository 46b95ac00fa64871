"""Workspace security.yml and sharing, enforced on automations with authorizations.action."""

from __future__ import annotations

from core.runs.triggers import trigger_webhook
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


async def test_secrets_are_encrypted_usable_in_config_and_redacted(stack: Stack) -> None:
    doc = workspace_doc({"show": {"name": "show", "when": {"endpoint": True}, "do": [],
                                  "output": {"url": "{{config.url}}", "leak": "{{body.echo}}"}}},
                        config={"value": {"url": "https://api.example/{{secret.token}}"}})
    ws = (await stack.import_workspace(doc))["id"]
    base = f"/v2/workspaces/{ws}/security/secrets"
    put = await stack.http.put(base, json={"token": {"value": "s3cr3t-value", "description": "API token"}},
                               headers=stack.auth)
    assert put.status_code == 200 and put.json()["token"]["description"] == "API token"
    assert "value" not in put.json()["token"]
    revealed = (await stack.http.get(base, params={"reveal": "true"}, headers=stack.auth)).json()
    assert revealed["token"]["value"] == "s3cr3t-value"
    from sqlmodel import select

    from core.infra.tables import WorkspaceSecret
    async with stack.services.db.session() as session:
        stored = (await session.exec(select(WorkspaceSecret).where(WorkspaceSecret.workspace_id == ws))).one()
    assert b"s3cr3t-value" not in stored.value  # encrypted at rest
    run = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/show", json={"echo": "x s3cr3t-value y"})
    assert run.json()["url"] == "https://api.example/s3cr3t-value"
    executed = await stack.events(ws, types="runtime.automations.executed", limit=1)
    text = str(executed[0]["payload"])
    assert "s3cr3t-value" not in text and "REDACTED" in text
    updated = await stack.events(ws, types="workspaces.secrets.updated")
    assert updated[0]["payload"] == {"created": ["token"], "updated": [], "deleted": []}
    assert (await stack.http.delete(f"{base}/token", headers=stack.auth)).json() == {"secretName": "token"}
    assert (await stack.http.delete(f"{base}/token", headers=stack.auth)).status_code == 404


async def test_a_lost_secrets_key_is_a_clear_error(stack: Stack) -> None:
    from core.workspaces.secrets import SecretsKeyError, SecretStore

    ws = (await stack.import_workspace(workspace_doc({})))["id"]
    await stack.http.put(f"/v2/workspaces/{ws}/security/secrets", json={"k": {"value": "v"}}, headers=stack.auth)
    other = SecretStore(stack.services.db, "2cP0Yd7Jp5g0Yd0bq9iX2W8kV6vH1r8m3O4tN5zQ1Ac=")
    try:
        await other.check_key()
        raise AssertionError("a wrong key must be refused")
    except SecretsKeyError as exc:
        assert "cannot decrypt" in exc.message
