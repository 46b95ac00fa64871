"""``tideway login|call|events`` end to end (issue 21): subprocesses against the real stack on a
loopback port. A login writes a 0600 profile the other commands use; ``TIDEWAY_URL`` and
``TIDEWAY_TOKEN`` override it; ``call`` runs an automation; ``events`` searches and, with
``--follow``, tails the live stream until Ctrl-C."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import sys
import tomllib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.api.helpers import make_user, workspace_doc
from tests.api.test_cli_workspace_e2e import ROOT, tideway
from tests.browser import live_server
from tests.conformance.http_stub import free_port
from tests.stack import ADMIN_TOKEN, Stack

GREET = {"name": "greet", "do": [{"emit": {"event": "greeted", "payload": {"who": "{{who}}"}}}],
         "output": {"hello": "{{who}}"}}
BOOM = {"name": "boom", "do": [{"fetch": {"url": "http://127.0.0.1:9/down"}}]}


@pytest.fixture(scope="module")
async def api(sqlite_stack: Stack) -> AsyncIterator[str]:
    async with live_server(sqlite_stack) as url:
        yield url


async def test_login_writes_a_private_profile_the_commands_use(api: str, sqlite_stack: Stack, tmp_path: Path) -> None:
    ws = await sqlite_stack.import_workspace(workspace_doc({"greet": GREET}))
    logged = await tideway("login", "--url", api, "--token", ADMIN_TOKEN, home=tmp_path, token=None)
    assert logged.code == 0 and logged.out.startswith(f"logged in to {api} as admin; saved as profile 'default'"), logged
    config = tmp_path / ".config" / "tideway" / "config.toml"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert tomllib.loads(config.read_text())["profiles"]["default"] == {"url": api, "token": ADMIN_TOKEN}

    # No --url, no --token, no TIDEWAY_*: the profile.
    called = await tideway("call", ws["slug"], "greet", "--payload", '{"who": "Ada"}', home=tmp_path, token=None)
    assert called.code == 0 and json.loads(called.out) == {"hello": "Ada"}, called
    # The environment overrides the profile (CI); the profile's token never goes to another URL.
    closed = f"http://127.0.0.1:{free_port()}"
    elsewhere = await tideway("call", ws["slug"], "greet", home=tmp_path, token=None, TIDEWAY_URL=closed)
    assert elsewhere.code == 1 and f"cannot connect to the Tideway API at {closed}" in elsewhere.err, elsewhere
    wrong = await tideway("call", ws["slug"], "greet", home=tmp_path, token="not-a-token")
    assert wrong.code == 1 and wrong.err.startswith("error: "), wrong
    unknown = await tideway("call", ws["slug"], "greet", "--profile", "nope", home=tmp_path, token=None)
    assert unknown.code == 1 and unknown.err.startswith("error: ProfileNotFoundError: no profile 'nope'"), unknown

    # Email and password, another profile, XDG_CONFIG_HOME respected; a bad login writes nothing.
    user = await make_user(sqlite_stack, "cli")
    me = (await sqlite_stack.http.get("/v2/me", headers={"authorization": user["authorization"]})).json()
    xdg = tmp_path / "xdg"
    work = await tideway("login", "--url", api, "--email", me["email"], "--password", "correct horse", "--profile",
                         "work", "--json", home=tmp_path, token=None, XDG_CONFIG_HOME=str(xdg))
    assert work.code == 0, work
    assert work.json()["profile"] == "work" and work.json()["me"]["email"] == me["email"]
    saved = xdg / "tideway" / "config.toml"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert tomllib.loads(saved.read_text())["profiles"]["work"]["email"] == me["email"]
    refused = await tideway("login", "--url", api, "--token", "not-a-token", "--profile", "bad", home=tmp_path,
                            token=None)
    assert refused.code == 1 and refused.err.startswith("error: "), refused
    assert "bad" not in tomllib.loads(config.read_text())["profiles"]


async def test_call_and_its_errors(api: str, sqlite_stack: Stack, tmp_path: Path) -> None:
    ws = await sqlite_stack.import_workspace(workspace_doc({"greet": GREET, "boom": BOOM}))
    as_json = await tideway("call", f"slug:{ws['slug']}", "greet", "-p", '{"who": "Bo"}', "--url", api, "--json",
                            home=tmp_path)
    assert as_json.code == 0 and as_json.json() == {"hello": "Bo"}, as_json
    by_id = await tideway("call", ws["id"], "greet", "--url", api, home=tmp_path)
    assert by_id.code == 0, by_id
    failed = await tideway("call", ws["slug"], "boom", "--url", api, home=tmp_path)
    assert failed.code == 1 and failed.err.startswith("error: FetchError: "), failed
    missing = await tideway("call", ws["slug"], "nope", "--url", api, home=tmp_path)
    assert missing.code == 1 and missing.err.startswith("error: ObjectNotFoundError: "), missing
    bad = await tideway("call", ws["slug"], "greet", "--payload", "{not json", "--url", api, home=tmp_path)
    assert bad.code == 1 and bad.err.startswith("error: InvalidArgumentsError: --payload is not JSON"), bad


async def test_events_search_and_follow(api: str, sqlite_stack: Stack, tmp_path: Path) -> None:
    ws = await sqlite_stack.import_workspace(workspace_doc({"greet": GREET}))
    for who in ("Ada", "Bo"):
        ran = await sqlite_stack.http.post(f"/v2/workspaces/{ws['id']}/test/greet", json={"payload": {"who": who}},
                                           headers=sqlite_stack.auth)
        assert ran.status_code == 200, ran.text
    listed = await tideway("events", ws["slug"], "--type", "greeted", "--url", api, "--json", home=tmp_path)
    assert listed.code == 0, listed
    events = listed.json()["result"]["events"]
    assert [e["payload"]["who"] for e in events] == ["Bo", "Ada"]  # the API's answer: newest first
    correlation = events[0]["source"]["correlationId"]
    text = await tideway("events", ws["slug"], "-t", "greeted", "--url", api, home=tmp_path)
    assert [line.split()[1:2] for line in text.out.splitlines()] == [["greeted"], ["greeted"]], text
    assert '{"who":"Ada"}' in text.out.splitlines()[0]  # a terminal reads down: oldest first
    one = await tideway("events", ws["slug"], "--correlation-id", correlation, "--type", "greeted", "--limit", "1",
                        "--url", api, "--json", home=tmp_path)
    assert [e["payload"]["who"] for e in one.json()["result"]["events"]] == ["Bo"], one
    none = await tideway("events", ws["slug"], "--type", "never.sent", "--url", api, home=tmp_path)
    assert none.code == 0 and none.out.strip() == "no events", none
    bad = await tideway("events", ws["slug"], "--limit", "0", "--url", api, home=tmp_path)
    assert bad.code == 2, bad

    # --follow: each event as it comes (JSON Lines), until Ctrl-C (exit 0, no traceback).
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TIDEWAY_")}
    environ.update(HOME=str(tmp_path), TIDEWAY_TOKEN=ADMIN_TOKEN, PYTHONIOENCODING="utf-8")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli.main", "events", ws["slug"], "--follow", "--type", "pinged", "--json",
        "--url", api, cwd=ROOT, env=environ, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    marker = uuid.uuid4().hex
    read = asyncio.create_task(process.stdout.readline())
    try:
        for _ in range(120):  # the stream starts "now": send until the tail is listening
            sent = await sqlite_stack.http.post(f"/v2/workspaces/{ws['id']}/events", headers=sqlite_stack.auth,
                                                json={"events": [{"type": "pinged", "payload": {"m": marker}}]})
            assert sent.status_code == 200, sent.text
            done, _ = await asyncio.wait({read}, timeout=0.5)
            if done:
                break
        first = json.loads(await asyncio.wait_for(read, 5))
        assert first["type"] == "pinged" and first["payload"] == {"m": marker}
    finally:
        process.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0 and b"Traceback" not in err, err
