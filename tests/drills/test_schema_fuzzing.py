"""Drill: schema-based fuzzing (issue 15, item 4). Schemathesis reads ``/openapi.json`` and sends
every operation generated requests (valid and invalid bodies, parameters and headers) as the
admin, over loopback HTTP to the app of a stack seeded with workspaces, automations, an app
instance, a version, an API key and a secret: no answer may be a 5xx.

``make drills`` runs ``--max-examples=50`` per operation with every phase; the reduced run
(``make test``) a smoke of 3 examples per operation. The app is served by uvicorn on this test's
event loop rather than called in-process: schemathesis's ASGI transport runs the app on a loop
of its own, where the stack's database engines and Temporal client (bound to this loop) cannot
be used. The other checks schemathesis runs (schema conformance…) are counted and printed, not
asserted: they measure the documentation, while a 5xx is a bug.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from tests.api.helpers import unique_slug, workspace_doc
from tests.conformance.http_stub import HttpStub
from tests.drills.helpers import FULL, figure, scale
from tests.stack import ADMIN_TOKEN, Stack, open_stack

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
HELLO = {"name": "hello", "when": {"endpoint": True}, "do": [{"set": {"name": "a", "value": "{{body.x}}"}}],
         "output": "{{a}}"}
# Not fuzzed: an endless Server-Sent Events stream (each request would last the whole timeout).
SKIPPED_OPERATIONS = ("stream_events",)


@pytest.fixture(scope="module")
async def fuzzed(temporal_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    path = Path(tmp_path_factory.mktemp("fuzz")) / "fuzz.db"
    async with open_stack(temporal_env.client, f"sqlite:///{path}", "sqlite", rate_limit_disabled=True,
                          login_rate_per_address=0, login_rate_per_account=0) as stack:
        yield stack


async def seed(stack: Stack) -> dict[str, list[str]]:
    """Objects for the generated requests to find (dictionaries of path parameter values)."""
    auth = stack.auth
    app_ws = await stack.import_workspace(workspace_doc({"hello": HELLO}, description="An app", photo="x.png"))
    published = await stack.http.post("/v2/apps", json={"workspaceId": app_ws["id"], "slug": unique_slug("app")},
                                      headers=auth)
    assert published.status_code == 200, published.text
    app_slug = published.json()["slug"]
    workspaces, doomed = [], []
    for n in range(4):
        ws = await stack.import_workspace(workspace_doc({"hello": HELLO, "other": {**HELLO, "name": "other"}}))
        base = f"/v2/workspaces/{ws['id']}"
        for method, url, body in [
            ("POST", f"{base}/apps", {"appSlug": app_slug, "slug": "inst"}),
            ("POST", f"{base}/versions", {"name": "v1", "description": "first"}),
            ("PUT", f"{base}/security/secrets", {"token": {"value": "s3cret"}}),
            ("POST", f"{base}/security/apikeys", {"name": "reader", "rules": [{"action": "read", "subject": "workspaces"}]}),
        ]:
            answer = await stack.http.request(method, url, json=body, headers=auth)
            assert answer.status_code == 200, answer.text
        (doomed if n == 3 else workspaces).append(ws["id"])
    return {"workspaces": workspaces, "doomed": doomed, "slugs": ["hello", "other", "inst", app_slug],
            "versions": ["v1", "latest", "current"], "apps": [app_slug]}


def config_file(path: Path, values: dict[str, list[str]]) -> Path:
    """schemathesis.toml: the admin's token, and the seeded objects as likely path parameters
    (the workspace DELETE gets its own, so the others keep theirs)."""
    def dictionary(name: str) -> str:
        return f"[dictionaries.{name}]\nvalues = {json.dumps(values[name])}\n"

    text = f"""headers = {{ Authorization = "Bearer {ADMIN_TOKEN}" }}
request-timeout = 60

[parameters]
"path.workspace_id" = {{ dictionary = "workspaces", probability = 0.8 }}
"path.slug" = {{ dictionary = "slugs", probability = 0.6 }}
"path.version" = {{ dictionary = "versions", probability = 0.6 }}

[[operations]]
include-operation-id = "delete_workspace"
parameters = {{ "path.workspace_id" = {{ dictionary = "doomed", probability = 0.8 }} }}

{"".join(dictionary(name) for name in values)}"""
    path.write_text(text)
    return path


def summarize(report: dict[str, Any]) -> tuple[int, int, Counter[str], list[str]]:
    """(operations tested, test cases generated, unique failures by kind, the operations that
    answered a 5xx) of schemathesis's JSON report."""
    kinds: Counter[str] = Counter()
    server_errors: list[str] = []
    for failure in report.get("failures") or []:
        kinds[str(failure.get("title") or failure.get("type"))] += int(failure.get("count") or 1)
        if failure.get("type") == "ServerError":
            server_errors += [str(op) for op in failure.get("operations") or []]
    return (int(report["operations"]["tested"]), int(report["test_cases"]["generated"]), kinds, server_errors)


async def test_schema_fuzzing_finds_no_server_error(fuzzed: Stack, tmp_path: Path) -> None:
    values = await seed(fuzzed)
    config = config_file(tmp_path / "schemathesis.toml", values)
    report_path = tmp_path / "report.json"
    # TIDEWAY_FUZZ_SEED replays a run (the figure prints each run's seed).
    seed_value = int(os.environ.get("TIDEWAY_FUZZ_SEED") or random.randrange(2**31))
    examples = scale(3, 50)
    phases = [] if FULL else ["--phases", "examples,fuzzing"]
    async with HttpStub([], app=create_app(fuzzed.services)) as server:
        process = await asyncio.create_subprocess_exec(
            str(SCHEMATHESIS), "--config-file", str(config), "run", f"{server.url}/openapi.json",
            f"--max-examples={examples}", f"--seed={seed_value}", "--workers=2", "--checks=all",
            "--report=json", f"--report-json-path={report_path}", "--no-color", *phases,
            *[arg for op in SKIPPED_OPERATIONS for arg in ("--exclude-operation-id", op)],
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp_path)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=scale(600, 3000))
    text = output.decode("utf-8", "replace")
    assert report_path.exists(), text[-5000:]
    operations, cases, kinds, server_errors = summarize(json.loads(report_path.read_text()))
    by_kind = ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items())) or "none"
    figure("schema fuzzing", f"{operations} operations, {cases} test cases ({examples} max examples per operation, "
                             f"seed {seed_value}): server errors {len(server_errors)}; failures by check: {by_kind}")
    assert server_errors == [], f"5xx from {server_errors}\n{text[-20000:]}"
