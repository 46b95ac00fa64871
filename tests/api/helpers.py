"""Small builders shared by the API tests."""

from __future__ import annotations

import io
import uuid
import zipfile
from typing import Any

import yaml

from tests.stack import Stack


def unique_slug(prefix: str = "ws") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def workspace_doc(automations: dict[str, Any], **index: Any) -> dict[str, Any]:
    slug = index.pop("slug", None) or unique_slug()
    return {"name": index.pop("name", "Test workspace"), "slug": slug, **index, "automations": automations}


def make_zip(files: dict[str, Any], folder: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, content in files.items():
            text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
            zf.writestr(f"{folder}/{name}" if folder else name, text)
    return buffer.getvalue()


ECHO = {"name": "echo", "when": {"endpoint": True}, "do": [], "output": {"body": "{{body}}", "method": "{{method}}",
                                                                      "query": "{{query}}", "auth": "{{headers.authorization}}"}}


async def make_user(stack: Stack, name: str) -> dict[str, str]:
    """A registered user, logged in: ``{id, sessionId, token, authorization}``."""
    email = f"{name}-{uuid.uuid4().hex[:6]}@example.org"
    created = await stack.http.post("/v2/users", json={"email": email, "password": "correct horse"},
                                    headers=stack.auth)
    assert created.status_code == 200, created.text
    body = (await stack.http.post("/v2/login", json={"email": email, "password": "correct horse"})).json()
    return {"id": body["id"], "sessionId": body["sessionId"], "token": body["token"],
            "authorization": f"Bearer {body['token']}"}


async def anonymous_session(stack: Stack) -> dict[str, str]:
    body = (await stack.http.post("/v2/login/anonymous")).json()
    return {"id": body["id"], "sessionId": body["sessionId"], "token": body["token"],
            "authorization": f"Bearer {body['token']}"}


async def workspace_with_editor(stack: Stack, automations: dict[str, Any] | None = None
                                ) -> tuple[str, dict[str, str], dict[str, str]]:
    """A workspace created by a fresh user (its owner) and shared with another as editor:
    ``(workspace id, owner headers, editor headers)``."""
    owner, editor = await make_user(stack, "owner"), await make_user(stack, "editor")
    created = await stack.http.post("/v2/workspaces/import", json=workspace_doc(automations or {}),
                                    headers={"authorization": owner["authorization"]})
    assert created.status_code == 200, created.text
    ws = created.json()["workspace"]["id"]
    shared = await stack.http.post(f"/v2/workspaces/{ws}/permissions", json={
        "target": {"id": editor["id"]}, "permissions": {"role": "editor"}},
        headers={"authorization": owner["authorization"]})
    assert shared.status_code == 200, shared.text
    return ws, {"authorization": owner["authorization"]}, {"authorization": editor["authorization"]}
