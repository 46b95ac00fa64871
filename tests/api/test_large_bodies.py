"""Large bodies (issue 14, item 12): webhook uploads up to ``UPLOADS_MAX_SIZE`` reach the
automation intact, and a multipart import stops at ``MAX_IMPORT_BYTES`` without reading the rest."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import AsyncIterator

from temporalio.worker import Replayer
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from tests.api.helpers import make_zip, workspace_doc
from tests.stack import Stack
from worker.sandbox import workflow_sandbox
from workflows.automation import AutomationWorkflow

# The automation hands the file back whole: what it received is what was sent, byte for byte.
ECHO_FILE = {"name": "echoFile", "when": {"endpoint": True}, "do": [],
             "output": {"size": "{{body.file.size}}", "name": "{{body.file.originalname}}",
                        "base64": "{{body.file.base64}}", "note": "{{body.note}}"}}


async def test_uploads_of_3_and_10_mb_reach_the_automation_intact(sqlite_stack: Stack) -> None:
    """Before: ``GrpcMessageTooLarge`` from 3 MB on. The body went by reference already; loading
    it back in the run sent every chunk's local-activity marker in one workflow-task completion,
    over the server's 4 MB gRPC limit."""
    stack = sqlite_stack
    assert stack.services.settings.uploads_max_size == 10 * 1024 * 1024
    ws = await stack.import_workspace(workspace_doc({"echoFile": ECHO_FILE}))
    url = f"/v2/workspaces/{ws['id']}/webhooks/echoFile"
    for size in (3 * 1024 * 1024, stack.services.settings.uploads_max_size):
        data = os.urandom(size)
        response = await stack.http.post(url, data={"note": "hello"},
                                         files={"file": ("big.bin", data, "application/octet-stream")}, timeout=120)
        assert response.status_code == 200, response.text[:500]
        out = response.json()
        assert out["size"] == size and out["name"] == "big.bin" and out["note"] == "hello"
        assert hashlib.sha256(base64.b64decode(out["base64"])).hexdigest() == hashlib.sha256(data).hexdigest()

    # The run's history replays (a worker that lost it from its cache rebuilds the same state).
    client = stack.services.client
    histories = [await client.get_workflow_handle(run.id, run_id=run.run_id).fetch_history()
                 async for run in client.list_workflows(f'WorkflowId STARTS_WITH "{ws["id"]}/echoFile/"')]
    assert len(histories) == 2
    replayer = Replayer(workflows=[AutomationWorkflow], data_converter=stack.services.client.data_converter,
                        workflow_runner=SandboxedWorkflowRunner(
                            restrictions=workflow_sandbox()))
    for history in histories:
        await replayer.replay_workflow(history)


async def test_upload_over_the_limit_is_413(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    ws = await stack.import_workspace(workspace_doc({"echoFile": ECHO_FILE}))
    too_big = os.urandom(stack.services.settings.uploads_max_size + 1)
    response = await stack.http.post(f"/v2/workspaces/{ws['id']}/webhooks/echoFile",
                                     files={"file": ("big.bin", too_big, "application/octet-stream")})
    assert response.status_code == 413 and response.json()["error"] == "PayloadTooLargeError"


async def test_a_multipart_body_over_the_total_limit_is_413(sqlite_stack: Stack) -> None:
    """Each file within UPLOADS_MAX_SIZE, together over UPLOADS_MAX_TOTAL_SIZE: refused as the
    bytes arrive, never held whole."""
    stack = sqlite_stack
    settings = stack.services.settings
    ws = await stack.import_workspace(workspace_doc({"echoFile": ECHO_FILE}))
    part = os.urandom(settings.uploads_max_size)
    count = settings.uploads_max_total_size // settings.uploads_max_size + 1
    response = await stack.http.post(f"/v2/workspaces/{ws['id']}/webhooks/echoFile", files=[
        (f"file{n}", (f"f{n}.bin", part, "application/octet-stream")) for n in range(count)], timeout=120)
    assert response.status_code == 413 and response.json()["error"] == "PayloadTooLargeError", response.text
    assert str(settings.uploads_max_total_size) in response.json()["message"]
    assert await stack.events(ws["id"], types="runtime.automations.executed") == []


async def test_multipart_import_stops_reading_at_the_limit(stack: Stack) -> None:
    """Before: the multipart form was read whole whatever its size (a 400 MB archive took the
    process from 310 to 720 MB). Now the body is parsed as it arrives and the import answers 413
    once ``MAX_IMPORT_BYTES`` are passed: the rest is never read."""
    settings = stack.services.settings
    limit, settings.max_import_bytes = settings.max_import_bytes, 256 * 1024
    read = {"bytes": 0}
    boundary = "importboundary"

    async def endless_archive() -> AsyncIterator[bytes]:
        head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"archive\"; filename=\"ws.zip\"\r\n"
                f"Content-Type: application/zip\r\n\r\n").encode()
        read["bytes"] += len(head)
        yield head
        chunk = b"PK" + os.urandom(64 * 1024 - 2)
        for _ in range(800):  # 50 MB if it were all read
            read["bytes"] += len(chunk)
            yield chunk

    try:
        response = await stack.http.post("/v2/workspaces/import", content=endless_archive(), headers={
            **stack.auth, "content-type": f"multipart/form-data; boundary={boundary}"})
        assert response.status_code == 413, response.text
        assert response.json()["error"] == "PayloadTooLargeError", response.text
        assert read["bytes"] <= settings.max_import_bytes + 2 * 64 * 1024, read
        # A declared length over the limit is refused before any byte is read.
        declared = await stack.http.post("/v2/workspaces/import", content=b"x" * (settings.max_import_bytes + 1),
                                         headers={**stack.auth,
                                                  "content-type": f"multipart/form-data; boundary={boundary}"})
        assert declared.status_code == 413
        # Within the limit, the multipart import works.
        doc = workspace_doc({})
        archive = make_zip({"index.yml": {"name": doc["name"], "slug": doc["slug"]}})
        ok = await stack.http.post("/v2/workspaces/import", files={"archive": ("ws.zip", archive, "application/zip")},
                                   headers=stack.auth)
        assert ok.status_code == 200, ok.text
        assert ok.json()["workspace"]["slug"] == doc["slug"]
    finally:
        settings.max_import_bytes = limit
