"""Changing a workspace's security.yml needs manage_security by every route (issue 14, item 2):
an editor cannot become owner by importing, pulling a version or duplicating."""

from __future__ import annotations

import copy
import io
import zipfile
from typing import Any

import yaml

from core.access.permissions.defaults import initial_security
from tests.api.helpers import make_zip, workspace_doc, workspace_with_editor
from tests.stack import Stack

# What the attacker wants: the editor role granted `manage` on the workspace.
EDITOR_MANAGES = copy.deepcopy(initial_security())
EDITOR_MANAGES["authorizations"]["rules"].append({"role": "editor", "action": "manage", "subject": "workspaces"})
HELLO = {"name": "hello", "when": {"endpoint": True}, "do": [], "output": "hi"}


async def _state(stack: Stack, ws: str) -> tuple[int, Any]:
    detail = (await stack.http.get(f"/v2/workspaces/{ws}", headers=stack.auth)).json()
    security = (await stack.http.get(f"/v2/workspaces/{ws}/security", headers=stack.auth)).json()
    return detail["revision"], security


def _archive_files(data: bytes) -> dict[str, Any]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: yaml.safe_load(zf.read(name)) for name in zf.namelist() if not name.endswith("/")}


async def test_an_editor_cannot_change_security_by_import(stack: Stack) -> None:
    ws, owner, editor = await workspace_with_editor(stack, {"hello": HELLO})
    before = await _state(stack, ws)
    document = workspace_doc({"hello": HELLO, "added": {**HELLO, "name": "added"}}, security=EDITOR_MANAGES)
    refused = await stack.http.post(f"/v2/workspaces/{ws}/import", json=document, headers=editor)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"] == "ForbiddenError"
    assert "security.yml" in refused.json()["message"]
    assert refused.json()["details"]["path"] == "security.yml"
    assert await _state(stack, ws) == before  # nothing written, not even the new automation
    # The escalation it would have opened stays shut.
    sharing = await stack.http.post(f"/v2/workspaces/{ws}/permissions", json={
        "target": {"id": "someone"}, "permissions": {"role": "owner"}}, headers=editor)
    assert sharing.status_code == 403
    reveal = await stack.http.get(f"/v2/workspaces/{ws}/security/secrets?reveal=true", headers=editor)
    assert reveal.status_code == 403

    # Everything else of the same archive, keeping the current security.
    kept = await stack.http.post(f"/v2/workspaces/{ws}/import?keepSecurity=true", json=document, headers=editor)
    assert kept.status_code == 200, kept.text
    assert kept.json()["securityKept"] is True and kept.json()["changed"] is True
    assert "added" in kept.json()["workspace"]["automations"]
    assert (await _state(stack, ws))[1] == before[1]

    # The owner may change it by import.
    allowed = await stack.http.post(f"/v2/workspaces/{ws}/import", json=document, headers=owner)
    assert allowed.status_code == 200, allowed.text
    assert (await _state(stack, ws))[1] == EDITOR_MANAGES


async def test_an_editor_round_trips_an_export(stack: Stack) -> None:
    ws, owner, editor = await workspace_with_editor(stack, {"hello": HELLO})
    custom = copy.deepcopy(initial_security())
    custom["authorizations"]["roles"]["agent"] = {"description": "support"}
    assert (await stack.http.put(f"/v2/workspaces/{ws}/security", json=custom, headers=owner)).status_code == 200
    exported = await stack.http.get(f"/v2/workspaces/{ws}/export", headers=editor)
    assert exported.status_code == 200, exported.text
    files = _archive_files(exported.content)
    assert files["security.yml"] == custom
    # Same security with another key order and an automation changed: not a security change.
    files["security.yml"] = {"authorizations": dict(reversed(list(custom["authorizations"].items())))}
    files["automations/hello.yml"]["output"] = "changed"
    back = await stack.http.post(f"/v2/workspaces/{ws}/import", content=make_zip(files),
                                 headers={**editor, "content-type": "application/zip"})
    assert back.status_code == 200, back.text
    assert back.json()["changed"] is True and "securityKept" not in back.json()
    # An archive without security.yml keeps the current security.
    del files["security.yml"]
    without = await stack.http.post(f"/v2/workspaces/{ws}/import", content=make_zip(files),
                                    headers={**editor, "content-type": "application/zip"})
    assert without.status_code == 200, without.text
    assert (await _state(stack, ws))[1] == custom


async def test_an_editor_cannot_restore_an_older_security_by_pulling_a_version(stack: Stack) -> None:
    ws, owner, editor = await workspace_with_editor(stack, {"hello": HELLO})
    assert (await stack.http.put(f"/v2/workspaces/{ws}/security", json=EDITOR_MANAGES,
                                 headers=owner)).status_code == 200
    published = await stack.http.post(f"/v2/workspaces/{ws}/versions", json={"name": "open", "description": "open"},
                                      headers=owner)
    assert published.status_code == 200, published.text
    assert (await stack.http.put(f"/v2/workspaces/{ws}/security", json=initial_security(),
                                 headers=owner)).status_code == 200
    before = await _state(stack, ws)
    refused = await stack.http.post(f"/v2/workspaces/{ws}/versions/open/pull", headers=editor)
    assert refused.status_code == 403, refused.text
    assert "security.yml" in refused.json()["message"]
    assert await _state(stack, ws) == before
    kept = await stack.http.post(f"/v2/workspaces/{ws}/versions/open/pull?keepSecurity=true", headers=editor)
    assert kept.status_code == 200, kept.text
    assert kept.json()["securityKept"] is True
    assert (await _state(stack, ws))[1] == initial_security()
    # The owner restores it.
    assert (await stack.http.post(f"/v2/workspaces/{ws}/versions/open/pull", headers=owner)).status_code == 200
    assert (await _state(stack, ws))[1] == EDITOR_MANAGES


async def test_put_security_needs_manage_security(stack: Stack) -> None:
    ws, _, editor = await workspace_with_editor(stack, {"hello": HELLO})
    before = await _state(stack, ws)
    refused = await stack.http.put(f"/v2/workspaces/{ws}/security", json=EDITOR_MANAGES, headers=editor)
    assert refused.status_code == 403 and await _state(stack, ws) == before


async def test_a_duplicate_belongs_to_its_maker_and_leaves_the_original_alone(stack: Stack) -> None:
    ws, _, editor = await workspace_with_editor(stack, {"hello": HELLO})
    before = await _state(stack, ws)
    copied = await stack.http.post(f"/v2/workspaces/{ws}/duplicate", headers=editor)
    assert copied.status_code == 200, copied.text
    new = copied.json()["id"]
    # The editor owns the copy (like any workspace they create) and nothing more on the original.
    assert (await stack.http.get(f"/v2/workspaces/{new}", headers=editor)).status_code == 200
    assert (await stack.http.put(f"/v2/workspaces/{new}/security", json=EDITOR_MANAGES,
                                 headers=editor)).status_code == 200
    assert await _state(stack, ws) == before
    assert (await stack.http.put(f"/v2/workspaces/{ws}/security", json=EDITOR_MANAGES,
                                 headers=editor)).status_code == 403
