"""The contexts and argument features of today's language (issue 17 items 8 and 9): ``global``
describes the deployment (apiUrl, studioUrl, pagesUrl, pagesHost, endpoints, workspaceName),
``run.depth`` and ``run.trigger``, ``$workspace`` is read-only; arguments take localized texts,
``format`` (uri, email, date, time) is checked by ``validateArguments``, and ``secret: true``
arguments are redacted from events."""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.helpers import Workspace, automation, executed, hook
from tests.stack import Stack

FORMATS = {"site": {"type": "string", "format": "uri", "title": {"en": "Site", "fr": "Site"}},
           "mail": {"type": "string", "format": "email"},
           "day": {"type": "string", "format": "date"},
           "at": {"type": "string", "format": "time"}}

AUTOMATIONS: dict[str, dict[str, Any]] = {
    "globals": hook([{"inner": {"output": "inner"}}], {
        "apiUrl": "{{global.apiUrl}}", "studioUrl": "{{global.studioUrl}}", "pagesUrl": "{{global.pagesUrl}}",
        "pagesHost": "{{global.pagesHost}}", "endpoints": "{{global.endpoints}}",
        "name": "{{global.workspaceName}}", "depth": "{{run.depth}}", "trigger": "{{run.trigger}}",
        "inner": "{{inner}}"}),
    "inner": automation([], {"depth": "{{run.depth}}", "trigger": "{{run.trigger.type}}"}),
    "formats": hook([], {"ok": True}, arguments={"body": {"type": "object", "properties": FORMATS}},
                    validateArguments=True),
    "secretive": hook([], {"seen": "{% {{body.token}} != '' %}"},
                      arguments={"body": {"type": "object", "properties": {"token": {"type": "string",
                                                                                       "secret": True}}}}),
    "workspace-read-only": hook([{"set": {"name": "$workspace.name", "value": "hijacked"}}]),
}


@pytest.fixture(scope="module")
async def ws(sqlite_stack: Stack) -> Workspace:
    return await Workspace.create(sqlite_stack, {slug: {**a, "name": slug} for slug, a in AUTOMATIONS.items()},
                                  name="Deployment facts")


async def test_global_describes_the_deployment(ws: Workspace) -> None:
    out = await ws.run("globals")
    api = ws.stack.services.settings.public_url.rstrip("/")
    assert out["apiUrl"] == api and out["studioUrl"] == api
    assert out["pagesUrl"] == f"{api}/pages/{ws.slug}" and out["pagesHost"] and out["pagesHost"] in api
    assert out["endpoints"]["globals"] == f"{api}/v2/workspaces/{ws.id}/webhooks/globals"
    assert "inner" not in out["endpoints"]  # no endpoint
    assert out["name"] == "Deployment facts"
    assert out["depth"] == 1 and out["trigger"] == {"type": "endpoint", "value": "globals"}
    assert out["inner"] == {"depth": 2, "trigger": "automation"}


async def test_argument_formats_are_checked(ws: Workspace) -> None:
    good = {"site": "https://example.test/a", "mail": "ada@example.test", "day": "2026-12-02", "at": "10:20:30Z"}
    assert await ws.run("formats", good) == {"ok": True}
    for field, bad in (("site", "not a url"), ("mail", "ada"), ("day", "2026-02-30"), ("at", "25:00")):
        body = (await ws.call("formats", {**good, field: bad})).error("InvalidArgumentsError")
        assert any(d["instancePath"] == f"/body/{field}" or d["instancePath"] == f"/{field}"
                   for d in body["details"]), body


async def test_secret_arguments_are_redacted_from_events(ws: Workspace) -> None:
    call = await ws.call("secretive", {"token": "tok-s3cr3t-value"})
    assert call.ok() == {"seen": True}
    [run] = executed(await call.events(), "secretive")
    assert "tok-s3cr3t-value" not in str(run["payload"])


async def test_workspace_context_is_read_only(ws: Workspace) -> None:
    call = await ws.call("workspace-read-only", {})
    assert call.status >= 400, call.json()
