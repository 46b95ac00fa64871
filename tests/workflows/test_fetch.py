"""fetch against real local HTTP servers (spec §3.9, DECISIONS 13): bodies, output modes, headers,
retries on connection resets."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import struct
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.api.helpers import workspace_doc
from tests.conformance.http_stub import HttpStub, free_port
from tests.stack import Stack

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(40))


async def _echo(request: Request) -> JSONResponse:
    ctype = request.headers.get("content-type", "")
    seen: dict[str, Any] = {"method": request.method, "headers": dict(request.headers), "query": request.url.query}
    if ctype.startswith("multipart/form-data"):
        form = await request.form()
        fields: dict[str, Any] = {}
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                fields[name] = {"filename": value.filename, "type": value.content_type,
                                "base64": base64.b64encode(await value.read()).decode()}
            else:
                fields[name] = value
        seen["form"] = fields
    else:
        seen["text"] = (await request.body()).decode()
    return JSONResponse(seen)


async def _headers(request: Request) -> Response:
    response = Response("plain text", media_type="text/plain", status_code=207)
    response.headers.append("x-multi", "one")
    response.headers.append("x-multi", "two")
    response.headers["x-single"] = "only"
    return response


async def _image(request: Request) -> Response:
    return Response(PNG, media_type="image/png")


APP = Starlette(routes=[Route("/echo", _echo, methods=["GET", "POST", "PUT"]), Route("/headers", _headers),
                        Route("/image", _image)])


def _hook(name: str, fetch: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "when": {"endpoint": True}, "do": [{"fetch": {**fetch, "output": "r"}}], "output": "{{r}}"}


async def _run(stack: Stack, automations: dict[str, Any], slug: str, **kwargs: Any) -> Any:
    ws = await stack.import_workspace(workspace_doc(automations))
    response = await stack.http.post(f"/v2/workspaces/{ws['id']}/webhooks/{slug}", json={}, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()


async def test_fetch_multipart_urlencoded_and_headers(sqlite_stack: Stack) -> None:
    async with HttpStub([], app=APP) as stub:
        multipart = _hook("mp", {"url": f"{stub.url}/echo", "multipart": [
            {"fieldname": "text", "value": "hello world"},
            {"fieldname": "pic", "value": base64.b64encode(PNG).decode(), "filename": "p.png",
             "contentType": "image/png"}]})
        seen = await _run(sqlite_stack, {"mp": multipart}, "mp", headers={"x-correlation-id": "corr-42"})
        assert seen["method"] == "POST"  # DECISIONS 13: multipart without method is a POST
        assert seen["headers"]["content-type"].startswith("multipart/form-data; boundary=")
        assert seen["form"]["text"] == "hello world"
        assert seen["form"]["pic"] == {"filename": "p.png", "type": "image/png",
                                       "base64": base64.b64encode(PNG).decode()}
        assert seen["headers"]["user-agent"] == "Prisme.ai Workspaces"
        assert seen["headers"]["x-correlation-id"] == "corr-42"
        assert seen["headers"]["x-prismeai-workspace-id"]

        form = _hook("form", {"url": f"{stub.url}/echo", "method": "put", "query": {"q": ["1", "2"]},
                              "headers": {"Content-Type": "application/x-www-form-urlencoded",
                                          "x-correlation-id": "mine"},
                              "body": {"a": "x y", "b": ["1", "2"], "n": 3}})
        seen = await _run(sqlite_stack, {"form": form}, "form")
        assert seen["method"] == "PUT" and seen["query"] == "q=1&q=2"
        assert seen["text"] == "a=x+y&b=1&b=2&n=3"
        assert seen["headers"]["x-correlation-id"] == "mine"  # the user may override it

        raw = _hook("raw", {"url": f"{stub.url}/echo", "body": "just text"})
        seen = await _run(sqlite_stack, {"raw": raw}, "raw")
        assert seen["method"] == "POST" and seen["text"] == "just text"
        assert seen["headers"]["content-type"] == "application/json"  # spec §3.9: added for any body


async def test_fetch_output_modes(sqlite_stack: Stack) -> None:
    async with HttpStub([], app=APP) as stub:
        automations = {
            "detailed": _hook("detailed", {"url": f"{stub.url}/headers", "outputMode": "detailed_response",
                                           "emitErrors": False}),
            "dataurl": _hook("dataurl", {"url": f"{stub.url}/image", "outputMode": "data_url"}),
            "image": _hook("image", {"url": f"{stub.url}/image"}),
        }
        detailed = await _run(sqlite_stack, automations, "detailed")
        assert detailed["status"] == 207 and detailed["body"] == "plain text" and detailed["stream"] is False
        assert detailed["headers"]["x-single"] == "only"  # single values unwrapped
        assert detailed["headers"]["x-multi"] == ["one", "two"]
        assert detailed["headers"]["content-type"].startswith("text/plain")
        data_url = await _run(sqlite_stack, automations, "dataurl")
        assert data_url == f"data:image/png;base64,{base64.b64encode(PNG).decode()}"
        assert await _run(sqlite_stack, automations, "image") == base64.b64encode(PNG).decode()


@contextlib.asynccontextmanager
async def dropping_server(drops: int) -> AsyncIterator[dict[str, Any]]:
    """A raw HTTP server that resets its first ``drops`` connections after reading the request,
    then answers normally."""
    state: dict[str, Any] = {"connections": 0}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state["connections"] += 1
        with contextlib.suppress(Exception):
            await reader.readuntil(b"\r\n\r\n")
            if state["connections"] <= drops:
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST
                writer.transport.abort()
                return
            body = b'{"ok": true}'
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n"
                         b"content-length: %d\r\n\r\n%s" % (len(body), body))
            await writer.drain()
            writer.close()

    port = free_port()
    server = await asyncio.start_server(handle, "127.0.0.1", port)
    state["url"] = f"http://127.0.0.1:{port}/"
    try:
        yield state
    finally:
        server.close()
        await server.wait_closed()


async def test_fetch_retries_connection_resets(sqlite_stack: Stack) -> None:
    async with dropping_server(drops=1) as server:
        result = await _run(sqlite_stack, {"once": _hook("once", {"url": server["url"]})}, "once")
        assert result == {"ok": True} and server["connections"] == 2
    async with dropping_server(drops=10) as server:
        ws = await sqlite_stack.import_workspace(workspace_doc({"always": _hook("always", {"url": server["url"]})}))
        response = await sqlite_stack.http.post(f"/v2/workspaces/{ws['id']}/webhooks/always", json={})
        assert response.status_code == 400 and response.json()["error"] == "FetchError"
        assert server["connections"] == 3  # the first attempt and 2 retries, no more
