"""Tests that need the API behind a real HTTP server (a browser, a streaming client)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import uvicorn

from api.app import create_app
from tests.conformance.http_stub import free_port
from tests.stack import Stack


@contextlib.asynccontextmanager
async def live_server(stack: Stack, port: int | None = None) -> AsyncIterator[str]:
    """The stack's API served by uvicorn on a loopback port (``port``, else a free one); yields
    its base URL.

    It runs in the test's event loop (the services' database engine and Temporal client belong
    to it), so blocking clients such as Selenium must run in a thread."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(stack.services), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():  # failed to bind: surface the error
                await task
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        # Open SSE responses keep the server from exiting on its own: force it after a moment.
        try:
            await asyncio.wait_for(asyncio.shield(task), 3)
        except TimeoutError:
            server.force_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 5)
