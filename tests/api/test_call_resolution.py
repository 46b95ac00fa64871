"""Import resolves every call (issue 15): one that will not resolve at run time is a warning naming
the file, path and nearest known names, an error in a workspace that sets ``strict: true``, and
still a run-time ObjectNotFoundError."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.api.helpers import workspace_doc
from tests.stack import Stack

HELLO = {"name": "hello", "when": {"endpoint": True}, "do": [], "output": "hi"}


async def _toolbox(stack: Stack) -> str:
    """An app with a public and a private automation; its slug."""
    source = await stack.import_workspace(workspace_doc({
        "run": {"name": "run", "do": [], "output": "ran"},
        "priv": {"name": "priv", "private": True, "do": [], "output": "private"},
    }, description="Tools", photo="https://example.org/t.png"))
    slug = f"toolbox-{uuid.uuid4().hex[:6]}"
    published = await stack.http.post("/v2/apps", json={"workspaceId": source["id"], "slug": slug},
                                      headers=stack.auth)
    assert published.status_code == 200, published.text
    return slug


def _calls(*instructions: dict[str, Any]) -> dict[str, Any]:
    return {"name": "caller", "when": {"endpoint": True}, "do": list(instructions), "output": "done"}


CASES = {
    "unknown name": ({"sendMail": {"to": "x"}}, "do[0].sendMail", "'sendMail' is neither an instruction nor an "
                     "automation of this workspace or of its apps"),
    "typo of a native instruction": ({"condtions": {"{{a}}": []}}, "do[0].condtions", "did you mean 'conditions'?"),
    "typo of an automation": ({"helo": {}}, "do[0].helo", "did you mean 'hello'?"),
    "app not installed": ({"mailer.send": {}}, "do[0][\"mailer.send\"]", "calls into app instance 'mailer', which "
                          "this workspace does not install"),
    "private app automation": ({"tools.priv": {}}, "do[0][\"tools.priv\"]", "is private to app instance 'tools'"),
}


async def _import(stack: Stack, app: str, caller: dict[str, Any], **index: Any) -> Any:
    document = {**workspace_doc({"caller": caller, "hello": HELLO}, **index), "imports": {"tools": {"appSlug": app}}}
    return await stack.http.post("/v2/workspaces/import", json=document, headers=stack.auth)


@pytest.mark.parametrize("case", list(CASES))
async def test_an_unresolved_call_is_a_warning_and_fails_at_run_time(stack: Stack, case: str) -> None:
    instruction, path, message = CASES[case]
    app = await _toolbox(stack)
    response = await _import(stack, app, _calls(instruction))
    assert response.status_code == 200, response.text
    warnings = response.json()["warnings"]
    assert [w["path"] for w in warnings] == [f"document: automations.caller.{path}"], warnings
    assert message in warnings[0]["message"] and "will fail at run time" in warnings[0]["message"]
    ws = response.json()["workspace"]["id"]
    ran = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/caller", json={})
    assert ran.status_code in (403, 404), ran.text
    assert ran.json()["error"] in ("ObjectNotFoundError", "ForbiddenError")


@pytest.mark.parametrize("case", list(CASES))
async def test_under_strict_an_unresolved_call_is_an_error_and_nothing_is_written(stack: Stack, case: str) -> None:
    instruction, path, message = CASES[case]
    app = await _toolbox(stack)
    slug = f"strict-{uuid.uuid4().hex[:6]}"
    response = await _import(stack, app, _calls(instruction), slug=slug, strict=True)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "InvalidWorkspaceError"
    assert body["details"] == [{"path": f"document: automations.caller.{path}", "message": body["details"][0]["message"]}]
    assert message in body["details"][0]["message"]
    listed = await stack.http.get("/v2/workspaces", params={"slug": slug}, headers=stack.auth)
    assert listed.json() == []


async def test_resolved_calls_give_no_warning(stack: Stack) -> None:
    app = await _toolbox(stack)
    response = await _import(stack, app, _calls({"hello": {}}, {"tools.run": {"output": "r"}},
                                                {"conditions": {"{{a}}": [{"hello": {}}], "default": []}}))
    assert response.status_code == 200, response.text
    assert response.json()["warnings"] == []
    ws = response.json()["workspace"]["id"]
    assert (await stack.http.post(f"/v2/workspaces/{ws}/webhooks/caller", json={})).json() == "done"


async def test_the_automation_routes_answer_warnings_too(stack: Stack) -> None:
    ws = (await stack.import_workspace(workspace_doc({"hello": HELLO})))["id"]
    created = await stack.http.post(f"/v2/workspaces/{ws}/automations", json=_calls({"helo": {}}),
                                    headers=stack.auth)
    assert created.status_code == 200, created.text
    assert created.json()["slug"] == "caller"
    assert [w["path"] for w in created.json()["warnings"]] == ["automations/caller.yml: do[0].helo"]
    fixed = await stack.http.patch(f"/v2/workspaces/{ws}/automations/caller", json=_calls({"hello": {}}),
                                   headers=stack.auth)
    assert fixed.status_code == 200 and fixed.json()["warnings"] == []
    # A strict workspace refuses the unresolved call through the automation routes as well.
    assert (await stack.http.patch(f"/v2/workspaces/{ws}", json={"strict": True}, headers=stack.auth)).status_code == 200
    refused = await stack.http.patch(f"/v2/workspaces/{ws}/automations/caller", json=_calls({"helo": {}}),
                                     headers=stack.auth)
    assert refused.status_code == 400 and "did you mean 'hello'?" in refused.json()["details"][0]["message"]
    kept = await stack.http.get(f"/v2/workspaces/{ws}/automations/caller", headers=stack.auth)
    assert kept.json()["do"] == [{"hello": {}}]
