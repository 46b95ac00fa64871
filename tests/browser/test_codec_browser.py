"""The Temporal Web UI decodes Tideway's encrypted payloads through /codec/decode (issue 14 item 3).

A dev server started with the ``--ui-codec-endpoint`` that ``tideway run`` passes, its embedded
Web UI in headless Chromium: without a session, and with a session but without "Include
cross-origin credentials", the UI's decode calls are refused (401) and the run's input stays
ciphertext; once the operator has signed in at the API as a superadmin and turned the UI's
"Include cross-origin credentials" on, the UI shows the input in clear. The UI keeps those
codec settings in the browser's localStorage, which the test writes directly (the same keys the
UI's "Codec Server" dialog writes)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli.launcher import dev_server_args
from core.infra.devserver import DevServer
from core.infra.settings import Settings
from core.infra.temporal import connect
from tests.api.helpers import ECHO, workspace_doc
from tests.browser import live_server
from tests.browser.test_activity_browser import _component, _driver, _missing_browser, _until
from tests.conformance.http_stub import free_port
from tests.stack import ADMIN_TOKEN, TEST_SECRETS_KEY, open_stack


@pytest.fixture
def api_port() -> int:
    return free_port()


@pytest.fixture
async def ui_server(tmp_path: Path, api_port: int) -> AsyncIterator[DevServer]:
    reason = _missing_browser()
    if reason:
        pytest.skip(f"browser test skipped: {reason}")
    launcher = Settings(tideway_public_url=f"http://127.0.0.1:{api_port}")
    server = DevServer(tmp_path / "temporal", port=free_port(), ui_port=free_port(),
                       extra_args=dev_server_args(launcher))
    assert server.extra_args == ["--ui-codec-endpoint", f"http://127.0.0.1:{api_port}/codec"]
    await asyncio.to_thread(server.start)
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)


async def _ui_ready(ui: str, timeout: float = 30.0) -> None:
    """The dev server's port opens before its Web UI can reach the frontend: until then the UI
    answers "Frontend is not healthy yet" (a flaky failure of this test on a busy machine)."""
    deadline = asyncio.get_running_loop().time() + timeout
    async with httpx.AsyncClient() as http:
        while True:
            try:
                if (await http.get(f"{ui}/api/v1/namespaces/default", timeout=5)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"the Temporal Web UI at {ui} did not become ready within {timeout:.0f} s")
            await asyncio.sleep(0.2)


def _refused_decodes(driver: Any) -> int:
    """Decode calls the browser saw refused with 401 (Chrome logs every failed resource load)."""
    return sum("/codec/decode" in entry["message"] and " 401 " in entry["message"]
               for entry in driver.get_log("browser"))


async def test_the_web_ui_decodes_for_a_signed_in_superadmin_only(ui_server: DevServer, api_port: int,
                                                                  tmp_path: Path) -> None:
    ui = f"http://127.0.0.1:{ui_server.ui_port}"
    client = await connect(ui_server.address, secrets_key=TEST_SECRETS_KEY)
    async with open_stack(client, f"sqlite:///{tmp_path / 'tideway.db'}", "sqlite", tideway_codec_origins=ui) as stack:
        marker = f"marker-{uuid.uuid4().hex}"
        ws = (await stack.import_workspace(workspace_doc({"echo": ECHO})))["id"]
        assert (await stack.http.post(f"/v2/workspaces/{ws}/webhooks/echo", json={"note": marker})).status_code == 200
        [run] = [e async for e in client.list_workflows(f'WorkflowId STARTS_WITH "{ws}/echo/"')]
        history = f"{ui}/namespaces/default/workflows/{_component(run.id)}/{_component(run.run_id)}/history"
        await _ui_ready(ui)
        async with live_server(stack, api_port) as api:

            def browse() -> None:
                driver = _driver()
                try:
                    # 1. Nobody signed in: the UI calls the endpoint the dev server gave it, gets 401.
                    driver.get(history)
                    _until("a refused decode", lambda: _refused_decodes(driver))
                    assert marker not in driver.page_source
                    # 2. Signed in at the API (superadmin), but the UI does not send cookies by default.
                    driver.get(f"{api}/v2/workspaces/{ws}/activity?token={ADMIN_TOKEN}")
                    assert any(c["name"] == "tideway_session" for c in driver.get_cookies())
                    driver.get(history)
                    _until("a refused decode", lambda: _refused_decodes(driver))
                    assert marker not in driver.page_source
                    # 3. "Include cross-origin credentials" in the UI's codec settings: decoded.
                    driver.execute_script(
                        "localStorage.setItem('endpoint', arguments[0]);"
                        "localStorage.setItem('overrideRemoteCodecConfiguration', 'true');"
                        "localStorage.setItem('includeCredentials', 'true');", json.dumps(f"{api}/codec"))
                    driver.get(history)
                    _until("the run input decoded in the UI", lambda: marker in driver.page_source)
                finally:
                    driver.quit()

            await asyncio.to_thread(browse)
