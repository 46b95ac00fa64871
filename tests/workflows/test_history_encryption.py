"""No secret in Temporal history in clear (issue 14 item 3).

A dev server persisted in a file (``--db-filename``, as ``tideway run`` starts it), a stack on
it, a workspace secret used everywhere an automation can put it: a fetch URL, header and body,
``{% %}``, ``set`` → output, an emit, a ``$http.chunk``, a fetch that fails with the secret in
its URL (the failure message), plus a webhook called with ``Authorization: Bearer <token>``
whose automation answers ``headers.authorization``. After the server stops, neither secret is
anywhere in its database file (or WAL). Two controls keep the test honest: the workspace id,
which Temporal stores in clear in workflow ids, is found in the file (the scan reads real
data), and both secrets are found in the histories once decoded with the codec (they did go
through Temporal)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.protobuf.message import Message
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from temporalio.api.common.v1 import Payload
from temporalio.client import Client

from api.app import create_app
from core.infra.devserver import DevServer
from core.infra.payload_codec import EncryptionCodec
from core.infra.temporal import connect
from tests.api.helpers import workspace_doc
from tests.api.test_events_read import StreamingASGITransport
from tests.api.test_webhook_sse import _events
from tests.conformance.http_stub import HttpStub, free_port
from tests.stack import TEST_SECRETS_KEY, Stack, open_stack


async def _echo(request: Request) -> JSONResponse:
    return JSONResponse({"path": request.url.path, "key": request.headers.get("x-api-key"),
                         "body": (await request.body()).decode()})


def automations(stub: str) -> dict[str, Any]:
    token = "{{config.token}}"
    return {
        "fetcher": {"name": "fetcher", "when": {"endpoint": True}, "do": [
            {"fetch": {"url": f"{stub}/echo/{token}", "method": "post", "headers": {"x-api-key": token},
                       "body": {"token": token}, "output": "r"}}], "output": "{{r}}"},
        "expression": {"name": "expression", "when": {"endpoint": True}, "do": [
            {"set": {"name": "joined", "value": "{% {{config.token}} + '-tail' %}"}},
            {"conditions": {"{{config.token}} == 'never'": [{"set": {"name": "joined", "value": "no"}}],
                            "default": []}}], "output": "{{joined}}"},
        "setter": {"name": "setter", "when": {"endpoint": True}, "do": [
            {"set": {"name": "kept", "value": {"inner": token}}}], "output": "{{kept}}"},
        "emitter": {"name": "emitter", "when": {"endpoint": True}, "do": [
            {"emit": {"event": "leak.checked", "payload": {"token": token}}}], "output": "emitted"},
        "listener": {"name": "listener", "when": {"events": ["leak.checked"]}, "do": [], "output": "{{payload}}"},
        "streamer": {"name": "streamer", "when": {"endpoint": True}, "do": [
            {"set": {"name": "$http", "value": {"headers": {"x-mode": "stream"}}}},
            {"set": {"name": "$http.chunk", "value": {"token": token}}},
            {"fetch": {"url": f"{stub}/echo/after-chunk", "method": "post"}}],  # chunks go out at a yield
            "output": {"done": True}},
        "failing": {"name": "failing", "when": {"endpoint": True}, "do": [
            {"fetch": {"url": f"http://127.0.0.1:9/{token}"}}]},
        "whoami": {"name": "whoami", "when": {"endpoint": True}, "do": [],
                   "output": {"auth": "{{headers.authorization}}"}},
    }


def _payloads(message: Message) -> list[Payload]:
    """Every Payload inside a history event, wherever the proto nests it."""
    if isinstance(message, Payload):
        return [message]
    found: list[Payload] = []
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if isinstance(value, Message):
            items = [value]
        elif field.message_type.GetOptions().map_entry:
            items = [v for v in value.values() if isinstance(v, Message)]
        else:  # a repeated field
            items = list(value)
        for item in items:
            found += _payloads(item)
    return found


async def decoded_history_text(client: Client, codec: EncryptionCodec) -> bytes:
    """All payloads of all histories on the server, decrypted: what the Temporal UI shows
    through /codec/decode."""
    text = b""
    async for execution in client.list_workflows():
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        async for event in handle.fetch_history_events():
            for payload in _payloads(event):
                decoded = (await codec.decode([payload]))[0]
                text += decoded.data + b"\n"
    return text


@pytest.fixture
async def file_server(tmp_path: Path) -> AsyncIterator[DevServer]:
    server = DevServer(tmp_path / "temporal", port=free_port(), ui_port=free_port(),
                       extra_args=["--dynamic-config-value", "history.transferProcessorMaxPollRPS=10000"])
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_no_secret_reaches_the_temporal_database_in_clear(file_server: DevServer, tmp_path: Path) -> None:
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    bearer = f"tw-session-{uuid.uuid4().hex}"
    client = await connect(file_server.address, secrets_key=TEST_SECRETS_KEY)
    async with HttpStub([], app=Starlette(routes=[Route("/echo/{rest:path}", _echo, methods=["POST"])])) as stub, \
            open_stack(client, f"sqlite:///{tmp_path / 'tideway.db'}", "sqlite") as stack:
        doc = workspace_doc(automations(stub.url), config={"value": {"token": "{{secret.apiToken}}"}})
        ws = (await stack.import_workspace(doc))["id"]
        put = await stack.http.put(f"/v2/workspaces/{ws}/security/secrets",
                                   json={"apiToken": {"value": secret}}, headers=stack.auth)
        assert put.status_code == 200, put.text
        await _run_everything(stack, ws, secret, bearer)
        codec = client.data_converter.payload_codec
        assert isinstance(codec, EncryptionCodec)
        decoded = await decoded_history_text(client, codec)
    # Control: both values did go through Temporal (visible once decrypted, as in the UI).
    assert secret.encode() in decoded and bearer.encode() in decoded

    file_server.stop()
    files = sorted(file_server.data_dir.glob("temporal.db*"))  # the database, its -wal and -shm
    raw = b"".join(path.read_bytes() for path in files)
    assert ws.encode() in raw, "control: workflow ids (in clear by design) are in the file"
    for value, what in ((secret, "workspace secret"), (bearer, "webhook Authorization token")):
        leaked = value.encode() in raw
        assert not leaked, f"the {what} is in clear in {[p.name for p in files]}"


async def _run_everything(stack: Stack, ws: str, secret: str, bearer: str) -> None:
    base = f"/v2/workspaces/{ws}/webhooks"
    fetched = (await stack.http.post(f"{base}/fetcher", json={})).json()
    assert fetched == {"path": f"/echo/{secret}", "key": secret, "body": f'{{"token": "{secret}"}}'}, fetched
    assert (await stack.http.post(f"{base}/expression", json={})).json() == f"{secret}-tail"
    assert (await stack.http.post(f"{base}/setter", json={})).json() == {"inner": secret}
    assert (await stack.http.post(f"{base}/emitter", json={})).json() == "emitted"
    failed = await stack.http.post(f"{base}/failing", json={})
    assert failed.status_code >= 400 and failed.json()["error"] == "FetchError", failed.text
    # The caller of a webhook may be anyone: the error comes back redacted as events are (a string
    # holding a secret is redacted whole).
    assert secret not in failed.text and failed.json()["message"] == "REDACTED", failed.text
    # The Authorization header reaches the run (encrypted in history, not dropped).
    whoami = await stack.http.post(f"{base}/whoami", json={}, headers={"authorization": f"Bearer {bearer}"})
    assert whoami.status_code == 200 and whoami.json() == {"auth": f"Bearer {bearer}"}, whoami.text
    transport = StreamingASGITransport(create_app(stack.services))
    async with httpx.AsyncClient(transport=transport, base_url="http://tideway.test", timeout=60) as http:
        async with http.stream("POST", f"{base}/streamer", json={}) as response:
            assert response.status_code == 200
            raw = (await response.aread()).decode()
            events, _ = _events(raw)
    assert events == [{"token": secret}, {"done": True}], (response.headers, raw)
    for _ in range(200):  # the listener run (started by the emit) has finished
        if await stack.events(ws, types="runtime.automations.executed", **{"payload.slug": "listener"}):
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the listener of the emitted event did not run")
