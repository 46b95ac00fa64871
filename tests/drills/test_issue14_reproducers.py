"""Drill: every HTTP reproducer of the tenant-isolation issue (14) against one stack with the default
egress policy: an automation author's SSRF attempts, an editor's escalation, forged events,
hostile bodies, oversized imports, a runaway run, brute-forced logins and too many streams. Each
gets a clear 4xx (never a 5xx), and the state an attacker is after (workspaces, revisions,
members, secrets, API keys, versions, apps, users) is unchanged. Each item also has its own
regression test; this one runs them together, as an attacker would."""

from __future__ import annotations

import asyncio
import copy
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from temporalio.testing import WorkflowEnvironment

from core.access.permissions.defaults import initial_security
from tests.api.helpers import make_user, workspace_doc
from tests.api.test_events_read import sse
from tests.drills.helpers import answering_stack, figure
from tests.stack import TEMPORAL_HTTP_PORT, Stack

# What an attacker would want to change; events are left out (refused runs record `error` events).
GUARDED = {"workspaces": "id, slug, revision, deleted_at", "workspace_revisions": "workspace_id, revision",
           "workspace_members": "workspace_id, user_id, role", "workspace_secrets": "workspace_id, name",
           "api_keys": "id, workspace_id", "workspace_versions": "workspace_id, name", "apps": "slug",
           "users": "id, email"}
IMPORT_LIMIT = 256 * 1024
ESCALATE = copy.deepcopy(initial_security())
ESCALATE["authorizations"]["rules"].append({"role": "editor", "action": "manage", "subject": "workspaces"})
STREAM_CAP = 2


@pytest.fixture(scope="module")
async def attacked(temporal_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    path = Path(tmp_path_factory.mktemp("issue14")) / "issue14.db"
    async with answering_stack(temporal_env.client, path, fetch_allowed_hosts="",
                               max_import_bytes=IMPORT_LIMIT, events_stream_max_per_caller=STREAM_CAP,
                               login_rate_per_address=5) as stack:
        yield stack


async def _snapshot(stack: Stack) -> dict[str, list[tuple[Any, ...]]]:
    async with stack.services.db.session() as session:
        return {table: sorted(tuple(map(str, row)) for row in (await session.execute(
            text(f"SELECT {columns} FROM {table}"))).all()) for table, columns in GUARDED.items()}


async def _setup(stack: Stack) -> dict[str, Any]:
    owner, editor = await make_user(stack, "owner"), await make_user(stack, "editor")
    as_owner, as_editor = {"authorization": owner["authorization"]}, {"authorization": editor["authorization"]}
    suffix = uuid.uuid4().hex[:6]
    toolbox = await stack.import_workspace(workspace_doc(
        {"priv": {"name": "priv", "private": True, "do": [], "output": "private"}},
        description="Toolbox", photo="https://example.org/p.png"))
    app = f"toolbox-{suffix}"
    assert (await stack.http.post("/v2/apps", json={"workspaceId": toolbox["id"], "slug": app},
                                  headers=stack.auth)).status_code == 200
    doc = {**workspace_doc({
        "ssrf": {"name": "ssrf", "when": {"endpoint": True}, "do": [{"fetch": {"url": "{{body.url}}", "output": "r"}}],
                 "output": "{{r}}"},
        "selfall": {"name": "selfall", "when": {"endpoint": True},
                    "do": [{"all": [{"selfall": {}}, {"selfall": {}}, {"emit": {"event": "x"}}]}]},
        "boom": {"name": "boom", "when": {"endpoint": True},
                 "do": [{"fetch": {"url": "http://203.0.113.9:1/{{config.key}}"}}]},
    }, config={"value": {"key": "{{secret.token}}"}}), "imports": {"toolbox": {"appSlug": app}}}
    created = await stack.http.post("/v2/workspaces/import", json=doc, headers=as_owner)
    assert created.status_code == 200, created.text
    ws = created.json()["workspace"]["id"]
    victim = f"victim-{suffix}@example.org"
    for request in (
        stack.http.post(f"/v2/workspaces/{ws}/permissions", json={"target": {"id": editor["id"]},
                                                                   "permissions": {"role": "editor"}}, headers=as_owner),
        stack.http.put(f"/v2/workspaces/{ws}/security/secrets", json={"token": {"value": "s3cr3t-token-14"}},
                       headers=as_owner),
        # A version whose security.yml lets editors manage the workspace, then the safe one back.
        stack.http.put(f"/v2/workspaces/{ws}/security", json=ESCALATE, headers=as_owner),
        stack.http.post(f"/v2/workspaces/{ws}/versions", json={"name": "old", "description": "d"}, headers=as_owner),
        stack.http.put(f"/v2/workspaces/{ws}/security", json=initial_security(), headers=as_owner),
        stack.http.post("/v2/users", json={"email": victim, "password": "correct horse"}, headers=stack.auth)):
        response = await request
        assert response.status_code == 200, response.text
    return {"ws": ws, "editor": as_editor, "as_owner": as_owner, "victim": victim}


def _reproducers(stack: Stack, world: dict[str, Any]) -> list[tuple[str, Any, tuple[int, ...]]]:
    """(label, request coroutine factory, expected statuses)."""
    ws, editor, owner = world["ws"], world["editor"], world["as_owner"]
    base, http = f"/v2/workspaces/{ws}", stack.http
    escalate = ESCALATE
    port = TEMPORAL_HTTP_PORT
    ssrf = [f"http://127.0.0.1:{port}/api/v1/namespaces/default/workflows", f"http://localhost:{port}/",
            f"http://[::ffff:127.0.0.1]:{port}/", f"http://2130706433:{port}/", "http://169.254.169.254/latest/",
            f"http://0x7f000001:{port}/", "http://10.0.0.1/"]
    cases: list[tuple[str, Any, tuple[int, ...]]] = [
        (f"1 fetch {url}", lambda url=url: http.post(f"{base}/webhooks/ssrf", json={"url": url}), (400,))
        for url in ssrf]
    nested = b'{"name": "n", "x": ' + b"[" * 600 + b"]" * 600 + b"}"
    big_zip = b"--b\r\nContent-Disposition: form-data; name=\"archive\"; filename=\"a.zip\"\r\n\r\n" + \
        b"\0" * (IMPORT_LIMIT + 1024) + b"\r\n--b--\r\n"
    cases += [
        ("2 editor import granting manage", lambda: http.post(f"{base}/import", json=workspace_doc(
            {}, security=escalate), headers=editor), (403,)),
        ("2 editor pull of an older security", lambda: http.post(f"{base}/versions/old/pull", headers=editor),
         (403,)),
        ("2 editor PUT security", lambda: http.put(f"{base}/security", json=escalate, headers=editor), (403,)),
        ("6 failed fetch with a secret", lambda: http.post(f"{base}/webhooks/boom", json={}), (400,)),
        ("9 test a private app automation", lambda: http.post(f"{base}/test/toolbox.priv", json={"payload": {}},
                                                               headers=stack.auth), (403,)),
        ("10 Workspaces.deleted", lambda: http.post(f"{base}/events", json={"events": [
            {"type": "Workspaces.deleted"}]}, headers=owner), (400,)),
        ("10 ' workspaces.deleted'", lambda: http.post(f"{base}/events", json={"events": [
            {"type": " workspaces.deleted"}]}, headers=owner), (403,)),
        ("11 NaN", lambda: http.post("/v2/workspaces", content=b'{"name": NaN}', headers={
            **owner, "content-type": "application/json"}), (400,)),
        ("11 Infinity", lambda: http.post("/v2/workspaces", content=b'{"name": "n", "x": Infinity}', headers={
            **owner, "content-type": "application/json"}), (400,)),
        ("11 lone surrogate", lambda: http.post("/v2/workspaces", content=b'{"name": "\\ud800"}', headers={
            **owner, "content-type": "application/json"}), (400,)),
        ("11 600-deep JSON", lambda: http.post("/v2/workspaces", content=nested, headers={
            **owner, "content-type": "application/json"}), (400,)),
        ("11 PUT security null", lambda: http.put(f"{base}/security", content=b"null", headers={
            **owner, "content-type": "application/json"}), (400,)),
        ("11 secret description object", lambda: http.patch(f"{base}/security/secrets", json={
            "a": {"value": "v", "description": {"x": 1}}}, headers=owner), (400,)),
        ("11 automation slug 5", lambda: http.post(f"{base}/automations", json={"name": "a", "slug": 5, "do": []},
                                                   headers=owner), (400,)),
        ("11 permissions 'x'", lambda: http.post(f"{base}/permissions", json={"target": {"id": "u"},
                                                                              "permissions": "x"}, headers=owner),
         (400,)),
        ("12 multipart import over MAX_IMPORT_BYTES", lambda: http.post(
            "/v2/workspaces/import", content=big_zip, headers={**owner, "content-type":
                                                                 "multipart/form-data; boundary=b"}), (413,)),
        ("13 duplicate YAML keys", lambda: http.post("/v2/workspaces/import", content=(
            b"name: dup\nname: again\nautomations: {}\n"), headers={**owner, "content-type": "application/yaml"}),
         (400,)),
        ("14 all calling itself", lambda: http.post(f"{base}/webhooks/selfall", json={}), (400,)),
    ]
    email = world["victim"]
    cases += [(f"16 login brute force {n}", lambda: http.post("/v2/login", json={
        "email": email, "password": "wrong password"}), (401, 429)) for n in range(7)]
    return cases


async def test_every_issue14_reproducer_is_refused_without_a_5xx_or_a_state_change(attacked: Stack) -> None:
    stack = attacked
    world = await _setup(stack)
    before = await _snapshot(stack)
    statuses: dict[str, int] = {}
    for label, request, expected in _reproducers(stack, world):
        response = await asyncio.wait_for(request(), 60)
        statuses[label] = response.status_code
        assert response.status_code in expected, (label, response.status_code, response.text[:300])
        assert "s3cr3t-token-14" not in response.text, label
        if label.startswith("1 "):
            assert "refused by the egress policy" in response.json()["message"], (label, response.text)
    # 15: streams past the per-caller cap are refused while the others stay open.
    async with sse(stack, world["ws"], headers=world["editor"]), sse(stack, world["ws"], headers=world["editor"]):
        refused = await asyncio.wait_for(stack.http.get(f"/v2/workspaces/{world['ws']}/events/stream",
                                                        headers=world["editor"]), 10)
        statuses["15 third stream"] = refused.status_code
        assert refused.status_code == 429, refused.text
    assert statuses["16 login brute force 6"] == 429
    assert not [label for label, status in statuses.items() if status >= 500]
    assert await _snapshot(stack) == before
    figure("issue 14 reproducers", f"{len(statuses)} hostile requests: 0 5xx, guarded tables unchanged; "
           + json.dumps(dict(sorted({str(s): sum(1 for v in statuses.values() if v == s)
                                     for s in statuses.values()}.items()))))
