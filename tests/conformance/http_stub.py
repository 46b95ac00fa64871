"""A real HTTP server on a loopback port answering the ``http_stub`` routes of a case."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class HttpStub:
    def __init__(self, routes: list[dict[str, Any]], app: Any = None):
        self.routes = routes
        self.requests: list[dict[str, Any]] = []
        self.port = free_port()
        app = app or Starlette(routes=[Route("/{path:path}", self.handle, methods=[
            "GET", "POST", "PUT", "PATCH", "DELETE"])])
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error",
                                                    lifespan="off"))
        self.task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> HttpStub:
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            if self.task.done():
                self.task.result()  # surface a start-up failure
                raise RuntimeError("stub server stopped during start-up")
            await asyncio.sleep(0.01)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.should_exit = True
        if self.task:
            await self.task

    async def handle(self, request: Request) -> Response:
        raw = await request.body()
        query: dict[str, Any] = {}
        for key, value in parse_qsl(request.url.query, keep_blank_values=True):
            query[key] = [*query[key], value] if isinstance(query.get(key), list) else (
                [query[key], value] if key in query else value)
        text = raw.decode("utf-8", "replace")
        try:
            body_json = json.loads(text) if text else None
        except ValueError:
            body_json = None
        self.requests.append({"method": request.method, "path": request.url.path, "query": query,
                              "headers": {k.lower(): v for k, v in request.headers.items()},
                              "body_text": text, "body_json": body_json})
        for route in self.routes:
            req = route.get("request", {})
            if req.get("method", "GET").upper() == request.method and req.get("path") == request.url.path:
                res = route.get("response", {})
                headers = res.get("headers") or {}
                content = json.dumps(res["body"]) if "body" in res else res.get("body_text", "")
                return Response(content, status_code=res.get("status", 200), headers=headers)
        return Response("no stub route", status_code=599)
