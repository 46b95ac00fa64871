"""App-config fields declared ``secret: true`` never stay in the definition in clear (issue 21): a
literal value given at install, configure or import moves to the workspace's encrypted secrets and
the config holds a ``{{secret.…}}`` reference — exports and pulls never write the value, readers
who may not manage security see ``REDACTED``, and the app still reads the value when it runs."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from tests.api.helpers import make_user, make_zip, unique_slug, workspace_doc
from tests.stack import Stack

SECRET = "sk-live-7f3a9c2e51"


async def _publish(stack: Stack) -> str:
    app_doc = workspace_doc({"whoami": {"name": "whoami", "do": [], "output": {"key": "{{config.apiKey}}",
                                                                              "region": "{{config.region}}"}}},
                            config={"schema": {"apiKey": {"type": "string", "secret": True},
                                               "region": {"type": "string"}}})
    app_ws = (await stack.import_workspace(app_doc))["id"]
    slug = unique_slug("vault")
    published = await stack.http.post("/v2/apps", json={"workspaceId": app_ws, "slug": slug}, headers=stack.auth)
    assert published.status_code == 200, published.text
    return slug


def _exported_text(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return "".join(zf.read(name).decode() for name in zf.namelist())


async def _key_seen_by_the_app(stack: Stack, ws: str) -> Any:
    ran = await stack.http.post(f"/v2/workspaces/{ws}/test/ask", json={"payload": {}}, headers=stack.auth)
    assert ran.status_code == 200, ran.text
    return ran.json()


async def test_a_secret_config_value_moves_to_the_secrets_and_the_app_still_reads_it(stack: Stack) -> None:
    app = await _publish(stack)
    owner = await make_user(stack, "vaultowner")
    editor = await make_user(stack, "vaulteditor")
    ask = {"name": "ask", "do": [{"vault.whoami": {"output": "seen"}}], "output": "{{seen}}"}
    created = await stack.http.post("/v2/workspaces/import", json=workspace_doc({"ask": ask}),
                                     headers={"authorization": owner["authorization"]})
    ws = created.json()["workspace"]["id"]
    await stack.http.post(f"/v2/workspaces/{ws}/permissions", json={"target": {"id": editor["id"]},
                          "permissions": {"role": "editor"}}, headers={"authorization": owner["authorization"]})
    installed = await stack.http.post(f"/v2/workspaces/{ws}/apps", headers={"authorization": owner["authorization"]},
                                      json={"appSlug": app, "slug": "vault",
                                            "config": {"apiKey": SECRET, "region": "eu"}})
    assert installed.status_code == 200, installed.text
    assert SECRET not in installed.text
    assert await _key_seen_by_the_app(stack, ws) == {"key": SECRET, "region": "eu"}
    reference = "{{secret.app_vault_apiKey}}"
    as_owner = await stack.http.get(f"/v2/workspaces/{ws}/apps/vault/config",
                                    headers={"authorization": owner["authorization"]})
    assert as_owner.json() == {"apiKey": reference, "region": "eu"}
    as_editor = await stack.http.get(f"/v2/workspaces/{ws}/apps/vault/config",
                                     headers={"authorization": editor["authorization"]})
    assert as_editor.json() == {"apiKey": "REDACTED", "region": "eu"}
    secrets = await stack.http.get(f"/v2/workspaces/{ws}/security/secrets", headers=stack.auth)
    assert "app_vault_apiKey" in secrets.json()
    for path in ("export", "versions/current/export"):
        exported = await stack.http.post(f"/v2/workspaces/{ws}/{path}", json={}, headers=stack.auth)
        text = _exported_text(exported.content)
        assert SECRET not in text and reference in text, path
    # A new value through PATCH …/config moves too, and replaces the stored one.
    patched = await stack.http.patch(f"/v2/workspaces/{ws}/apps/vault/config", json={"apiKey": "sk-live-rotated-0042"},
                                     headers={"authorization": owner["authorization"]})
    assert patched.status_code == 200 and "sk-live-rotated-0042" not in patched.text, patched.text
    assert (await _key_seen_by_the_app(stack, ws))["key"] == "sk-live-rotated-0042"


async def test_an_imported_literal_secret_is_moved_and_a_pull_push_round_trip_keeps_it(stack: Stack) -> None:
    app = await _publish(stack)
    ask = {"name": "ask", "do": [{"vault.whoami": {"output": "seen"}}], "output": "{{seen}}"}
    ws = (await stack.import_workspace(workspace_doc({"ask": ask}, imports={
        "vault": {"appSlug": app, "config": {"apiKey": SECRET, "region": "us"}}})))["id"]
    assert await _key_seen_by_the_app(stack, ws) == {"key": SECRET, "region": "us"}
    pulled = await stack.http.post(f"/v2/workspaces/{ws}/versions/current/export", json={}, headers=stack.auth)
    assert SECRET not in _exported_text(pulled.content)
    pushed = await stack.http.post(f"/v2/workspaces/{ws}/import?prune=true", headers=stack.auth,
                                   files={"archive": ("w.zip", pulled.content, "application/zip")})
    assert pushed.status_code == 200 and pushed.json()["changed"] is False, pushed.text
    assert (await _key_seen_by_the_app(stack, ws))["key"] == SECRET
    # Re-importing with a new literal replaces the secret, never writes it into the definition.
    archive = make_zip({"imports/vault.yml": {"appSlug": app, "config": {"apiKey": "sk-live-new-9911", "region": "us"}}})
    again = await stack.http.post(f"/v2/workspaces/{ws}/import?prune=false", headers=stack.auth,
                                  files={"archive": ("w.zip", archive, "application/zip")})
    assert again.status_code == 200, again.text
    assert (await _key_seen_by_the_app(stack, ws))["key"] == "sk-live-new-9911"
    exported = await stack.http.get(f"/v2/workspaces/{ws}/export", headers=stack.auth)
    assert "sk-live-new-9911" not in _exported_text(exported.content)
