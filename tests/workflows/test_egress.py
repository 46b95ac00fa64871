"""The egress policy of fetch end to end (issue 14): real Temporal, real worker, real local
servers. An automation must not reach the platform itself (Temporal frontend, its HTTP API,
the UI), loopback in any spelling, the metadata address or private ranges — not even through a
redirect — unless FETCH_ALLOWED_HOSTS says so, and never Tideway's own services."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from temporalio.testing import WorkflowEnvironment

from tests.api.helpers import workspace_doc
from tests.conformance.http_stub import free_port
from tests.stack import TEMPORAL_HTTP_PORT, Stack, open_stack

POLICY = "refused by the egress policy: "
OWN = "is one of Tideway's own services, never allowed"
# Every local server listens on these, so that each spelling of loopback would reach it.
LOOPBACK_HOSTS = ["127.0.0.1", "127.0.0.2", "127.0.0.5", "::1"]

GO = {"go": {"name": "go", "when": {"endpoint": True},
             "do": [{"fetch": {"url": "{{body.url}}", "output": "r"}}], "output": "{{r}}"},
      "stream": {"name": "stream", "when": {"endpoint": True},
                 "do": [{"fetch": {"url": "{{body.url}}", "stream": {"event": "chunk"}, "output": "r"}}],
                 "output": "{{r.body}}"}}


class LocalServer:
    """A raw HTTP server on every loopback host above (one port) that counts the connections
    it accepts; answers JSON, a redirect or an event stream."""

    def __init__(self, redirect_to: str | None = None, sse: bool = False):
        self.redirect_to = redirect_to
        self.sse = sse
        self.connections = 0
        self.port = 0
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> LocalServer:
        for _ in range(5):  # the port must be free on every host
            self.port = free_port()
            try:
                self.server = await asyncio.start_server(self._handle, host=LOOPBACK_HOSTS, port=self.port)
                return self
            except OSError:
                continue
        raise RuntimeError("no port free on every loopback host")

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        with contextlib.suppress(Exception):
            await reader.readuntil(b"\r\n\r\n")
            if self.redirect_to:
                head, body = f"302 Found\r\nlocation: {self.redirect_to}", b""
            elif self.sse:
                head, body = "200 OK\r\ncontent-type: text/event-stream", b'data: {"n": 1}\n\n'
            else:
                head, body = "200 OK\r\ncontent-type: application/json", json.dumps({"port": self.port}).encode()
            writer.write(f"HTTP/1.1 {head}\r\nconnection: close\r\ncontent-length: {len(body)}\r\n\r\n".encode()
                         + body)
            await writer.drain()
            writer.close()


@contextlib.asynccontextmanager
async def egress_stack(env: WorkflowEnvironment, tmp: Path, name: str, **overrides: Any) -> AsyncIterator[
        tuple[Stack, str]]:
    async with open_stack(env.client, f"sqlite:///{tmp / name}.db", "sqlite", **overrides) as stack:
        ws = await stack.import_workspace(workspace_doc(GO))
        yield stack, ws["id"]


async def fetch(stack: Stack, ws: str, url: str, slug: str = "go") -> httpx.Response:
    return await stack.http.post(f"/v2/workspaces/{ws}/webhooks/{slug}", json={"url": url})


async def refusal(stack: Stack, ws: str, url: str, slug: str = "go") -> str:
    response = await fetch(stack, ws, url, slug)
    body = response.json()
    assert response.status_code == 400 and body["error"] == "FetchError", (url, body)
    message: str = body["message"]
    assert message.startswith("Request to ") and POLICY in message, (url, message)
    return message


async def test_default_policy_refuses_the_platform_loopback_metadata_and_private_addresses(
        temporal_env: WorkflowEnvironment, tmp_path: Path) -> None:
    frontend = temporal_env.client.service_client.config.target_host
    api = f"http://127.0.0.1:{TEMPORAL_HTTP_PORT}/api/v1/namespaces/default/workflows"
    async with httpx.AsyncClient() as direct:  # the HTTP API really serves run histories here
        assert (await direct.get(api)).status_code == 200
    async with LocalServer() as local, LocalServer() as ui, LocalServer(sse=True) as sse, LocalServer() as public, \
            egress_stack(temporal_env, tmp_path, "default", fetch_allowed_hosts="", temporal_ui_port=ui.port,
                         tideway_public_url=f"http://127.0.0.1:{public.port}") as (stack, ws):
        port = local.port
        reasons = {
            f"http://{frontend}/": f"{frontend} {OWN}",
            api: f"127.0.0.1:{TEMPORAL_HTTP_PORT} {OWN}",
            f"http://127.0.0.1:{ui.port}/": f"127.0.0.1:{ui.port} {OWN}",
            f"http://127.0.0.1:{port}/": "127.0.0.1 is a loopback address (allow it with FETCH_ALLOWED_HOSTS)",
            f"http://localhost:{port}/": "localhost resolves to a loopback address",
            f"http://[::1]:{port}/": "::1 is a loopback address",
            f"http://[::ffff:127.0.0.1]:{port}/": "127.0.0.1 is a loopback address",
            f"http://2130706433:{port}/": "2130706433 resolves to a loopback address",
            f"http://0x7f000001:{port}/": "0x7f000001 resolves to a loopback address",
            f"http://0177.0.0.1:{port}/": "0177.0.0.1 resolves to a loopback address",
            f"http://127.0.0.2:{port}/": "127.0.0.2 is a loopback address",
            "http://169.254.169.254/latest/meta-data/": "169.254.169.254 is the cloud metadata address",
            "http://10.20.30.40:8080/": "10.20.30.40 is a private address",
        }
        for url, reason in reasons.items():
            message = await refusal(stack, ws, url)
            assert reason in message, (url, message)
        assert "Request to http://169.254.169.254/ refused" in await refusal(
            stack, ws, "http://169.254.169.254/latest/meta-data/")  # the origin only, not the path
        # A streamed (SSE) fetch goes through the same policy.
        assert "127.0.0.1 is a loopback address" in await refusal(stack, ws, f"http://127.0.0.1:{sse.port}/",
                                                                  "stream")
        assert local.connections == ui.connections == sse.connections == 0  # nothing reached them
        # The public URL's host:port is always allowed (workspaces call each other's webhooks).
        response = await fetch(stack, ws, f"http://127.0.0.1:{public.port}/hook")
        assert response.status_code == 200 and response.json() == {"port": public.port}
        assert public.connections == 1


async def test_allow_list_entries_admit_exactly_what_they_say_and_redirects_are_checked(
        temporal_env: WorkflowEnvironment, tmp_path: Path) -> None:
    async with LocalServer() as a, LocalServer() as b, LocalServer() as c, LocalServer() as target, \
            LocalServer(sse=True) as sse:
        async with LocalServer(redirect_to=f"http://127.0.0.1:{target.port}/secret") as redirector:
            allowed = (f"127.0.0.1:{a.port},localhost,[::1]:{b.port},127.0.0.0/30:{c.port},127.0.0.4/30,"
                       f"127.0.0.1:{redirector.port},127.0.0.1:{sse.port}")
            async with egress_stack(temporal_env, tmp_path, "allow", fetch_allowed_hosts=allowed) as (stack, ws):
                admitted = {
                    f"http://127.0.0.1:{a.port}/": a,  # IP with port
                    f"http://localhost:{b.port}/": b,  # a name on any port
                    f"http://LOCALHOST:{a.port}/": a,
                    f"http://[::1]:{b.port}/": b,  # bracketed IPv6 with port
                    f"http://127.0.0.2:{c.port}/": c,  # CIDR with port
                    f"http://127.0.0.5:{a.port}/": a,  # CIDR without port
                    f"http://127.0.0.5:{c.port}/": c,
                }
                for url, server in admitted.items():
                    before = server.connections
                    response = await fetch(stack, ws, url)
                    assert response.status_code == 200 and response.json() == {"port": server.port}, (url, response.text)
                    assert server.connections == before + 1
                counts = (a.connections, b.connections, c.connections)
                refused = {
                    f"http://127.0.0.1:{b.port}/": "127.0.0.1 is a loopback address",  # not that port
                    f"http://[::1]:{a.port}/": "::1 is a loopback address",
                    f"http://127.0.0.2:{a.port}/": "127.0.0.2 is a loopback address",  # CIDR, other port
                    f"http://2130706433:{b.port}/": "2130706433 resolves to a loopback address",  # not "localhost"
                }
                for url, reason in refused.items():
                    assert reason in await refusal(stack, ws, url), url
                assert (a.connections, b.connections, c.connections) == counts
                # An allowed server redirecting to a loopback port that is not allowed: refused at the hop.
                message = await refusal(stack, ws, f"http://127.0.0.1:{redirector.port}/start")
                assert message == (f"Request to http://127.0.0.1:{target.port}/ refused by the egress policy: "
                                   "127.0.0.1 is a loopback address (allow it with FETCH_ALLOWED_HOSTS)")
                assert redirector.connections == 1 and target.connections == 0
                # An allowed event stream is read as usual.
                response = await fetch(stack, ws, f"http://127.0.0.1:{sse.port}/", "stream")
                assert response.status_code == 200, response.text
                assert response.json()[0]["chunk"] == {"data": [{"n": 1}]}


async def test_own_services_are_refused_even_when_the_allow_list_admits_their_address(
        temporal_env: WorkflowEnvironment, tmp_path: Path) -> None:
    frontend = temporal_env.client.service_client.config.target_host
    frontend_port = int(frontend.rsplit(":", 1)[1])
    async with LocalServer() as ui, LocalServer() as other, egress_stack(
            temporal_env, tmp_path, "own", fetch_allowed_hosts="127.0.0.0/8,localhost,[::1]",
            temporal_ui_port=ui.port) as (stack, ws):
        for host in ("127.0.0.1", "localhost", "[::1]", "127.0.0.2"):
            for port in (frontend_port, TEMPORAL_HTTP_PORT, ui.port):
                assert f"{host}:{port} {OWN}" in await refusal(stack, ws, f"http://{host}:{port}/api/v1/namespaces")
        assert ui.connections == 0
        # Anything else the allow-list admits still works.
        response = await fetch(stack, ws, f"http://localhost:{other.port}/")
        assert response.status_code == 200 and other.connections == 1
