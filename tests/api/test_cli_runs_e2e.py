"""``tideway runs`` (issue 19) end to end: the real stack served on a loopback port, a failing
webhook run, then the command itself (a subprocess) listing, showing, rerunning and cancelling it."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.api.helpers import workspace_doc
from tests.browser import live_server
from tests.conformance.http_stub import free_port
from tests.stack import ADMIN_TOKEN, Stack

ROOT = Path(__file__).resolve().parents[2]
# A `set` that succeeds, then a fetch nothing answers (port 9 on loopback): FetchError at do[1].
BOOM: dict[str, Any] = {"name": "boom", "when": {"endpoint": True}, "trace": "values",
        "do": [{"set": {"name": "greeting", "value": "hello"}}, {"fetch": {"url": "http://127.0.0.1:9/down"}}],
        "output": "{{greeting}}"}
WAITING = {"name": "waiting", "when": {"endpoint": True},
           "do": [{"wait": {"oneOf": [{"event": "never.comes"}], "timeout": 600}}]}


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


async def tideway(*argv: str, encoding: str = "utf-8", **env: str) -> Result:
    """``tideway <argv>`` in a subprocess. Without blocking: the live server runs in this event loop."""
    environ = {key: value for key, value in os.environ.items() if not key.startswith("TIDEWAY_")}
    environ.update(PYTHONIOENCODING=encoding, TIDEWAY_TOKEN=ADMIN_TOKEN, **env)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli.main", *argv, cwd=ROOT, env=environ,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 180)
    result = Result(process.returncode if process.returncode is not None else -1,
                    out.decode(encoding, "replace"), err.decode(encoding, "replace"))
    assert "Traceback" not in result.err, result.err
    return result


async def runs_of(stack: Stack, ws: str, count: int, status: str | None = None) -> list[dict[str, Any]]:
    """The workspace's runs once ``count`` of them are there and have ended (the list may lag the
    webhook's answer); with ``status``, ``count`` runs of that status."""
    runs: list[dict[str, Any]] = []
    params = {"status": status} if status else {}
    for _ in range(200):
        response = await stack.http.get(f"/v2/workspaces/{ws}/runs", params=params, headers=stack.auth)
        assert response.status_code == 200, response.text
        runs = response.json()["result"]["runs"]
        if len(runs) >= count and (status or all(run["status"] not in ("running", "waiting") for run in runs)):
            return runs
        await asyncio.sleep(0.1)
    raise AssertionError(f"expected {count} {status or 'ended'} runs, got {runs}")


async def test_runs_list_show_rerun_cancel_against_a_live_api(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    ws = str((await stack.import_workspace(workspace_doc({"boom": BOOM, "waiting": WAITING})))["id"])
    failed = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/boom", json={"n": 1})
    assert failed.status_code == 400 and failed.json()["error"] == "FetchError", failed.text
    (run,) = await runs_of(stack, ws, 1)
    run_id = run["id"]

    async with live_server(stack) as url:
        # list: the JSON is the API's, the table one row per run
        listed = await tideway("runs", "list", ws, "--json", "--url", url)
        assert listed.code == 0, listed
        assert [r["id"] for r in listed.json()["result"]["runs"]] == [run_id]
        table = await tideway("runs", "list", ws, "--status", "failed", "--trigger-type", "endpoint",
                              TIDEWAY_URL=url)
        assert table.code == 0, table
        header, row = table.out.splitlines()
        assert header.split()[:3] == ["ID", "STATUS", "AUTOMATION"]
        assert row.split()[:4] == [run_id, "failed", "boom", "endpoint:boom"] and row.split()[-1] == "FetchError"
        none = await tideway("runs", "list", ws, "--status", "succeeded", "--url", url)
        assert none.code == 0 and none.out.strip() == "no runs", none

        # show: the header, then the trace with the failed step marked
        shown = await tideway("runs", "show", ws, run_id, "--url", url)
        assert shown.code == 0, shown
        lines = shown.out.splitlines()
        fields = {line.split("  ", 1)[0]: line.split("  ", 1)[1].strip() for line in lines[:lines.index("")]}
        assert fields["status"] == "failed" and fields["automation"].startswith("boom"), shown.out
        assert fields["error"].startswith("FetchError: ") and fields["temporal"].startswith("http"), shown.out
        set_line = next(line for line in lines if line.startswith("✓ set  do[0]  "))
        assert '"hello"' in set_line.split("= ", 1)[1], set_line  # level values: the step's result
        fetch_line = next(line for line in lines if line.startswith("✗ fetch  do[1]  "))
        assert "FetchError: " in fetch_line, fetch_line
        ascii_shown = await tideway("runs", "show", ws, run_id, "--url", url, encoding="ascii")
        assert ascii_shown.code == 0 and any(line.startswith("x fetch  do[1]  ")
                                             for line in ascii_shown.out.splitlines()), ascii_shown.out
        as_json = (await tideway("runs", "show", ws, run_id, "--json", "--url", url)).json()["result"]["run"]
        assert as_json["id"] == run_id and as_json["error"]["error"] == "FetchError"
        assert [s["outcome"] for s in as_json["trace"]["steps"]] == ["ok", "error"]

        # rerun: still failing, the API's error (exit 1); once fixed, the new run's id and output
        again = await tideway("runs", "rerun", ws, run_id, "--url", url)
        assert again.code == 1 and again.err.startswith("error: FetchError: "), again
        fixed = {**BOOM, "do": [BOOM["do"][0], {"set": {"name": "greeting", "value": "fixed"}}]}
        patched = await stack.http.patch(f"/v2/workspaces/{ws}/automations/boom", json=fixed, headers=stack.auth)
        assert patched.status_code == 200, patched.text
        rerun = await tideway("runs", "rerun", ws, run_id, "--json", "--url", url)
        assert rerun.code == 0, rerun
        new_run = rerun.json()["result"]["run"]
        assert new_run["status"] == "succeeded" and new_run["output"] == "fixed", new_run
        new_id = new_run["id"]
        assert new_id != run_id and len(new_id) == 32
        text = await tideway("runs", "rerun", ws, run_id, "--url", url)
        assert text.code == 0 and text.out.startswith("new run  ") and 'output   "fixed"' in text.out, text
        original = await tideway("runs", "rerun", ws, run_id, "--original", "--url", url)
        assert original.code == 1 and original.err.startswith("error: FetchError: "), original  # revision 1
        runs = await runs_of(stack, ws, 5)
        assert next(r for r in runs if r["id"] == new_id)["rerunOf"] == run_id
        assert sum(1 for r in runs if r["rerunOf"] == run_id) == 4

        # cancel: a waiting run is cancelled; an ended one is refused in one line
        call = asyncio.create_task(stack.http.post(f"/v2/workspaces/{ws}/webhooks/waiting", json={}))
        waiting = await runs_of(stack, ws, 1, status="waiting")
        cancel = await tideway("runs", "cancel", ws, waiting[0]["id"], "--url", url)
        assert cancel.code == 0 and cancel.out == f"run {waiting[0]['id']} cancelled\n", cancel
        assert (await asyncio.wait_for(call, 30)).status_code == 409
        cancelled = await tideway("runs", "show", ws, waiting[0]["id"], "--url", url)
        assert any(line.startswith("⊘ wait  do[0]  ") for line in cancelled.out.splitlines()), cancelled.out
        ended = await tideway("runs", "cancel", ws, run_id, "--url", url)
        assert ended.code == 1 and ended.out == "" and ended.err.startswith("error: "), ended
        assert len(ended.err.splitlines()) == 1

        # API errors and a wrong token: one line, exit 1
        missing = await tideway("runs", "show", ws, "0" * 32, "--url", url)
        assert missing.code == 1 and missing.err.startswith("error: ") and ": " in missing.err[7:], missing
        stranger = await tideway("runs", "list", ws, "--url", url, "--token", "not-a-token")
        assert stranger.code == 1 and stranger.err.startswith("error: "), stranger

    closed = f"http://127.0.0.1:{free_port()}"
    refused = await tideway("runs", "list", ws, "--url", closed)
    assert refused.code == 1 and f"cannot connect to the Tideway API at {closed}" in refused.err, refused
