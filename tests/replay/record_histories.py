"""Record the Temporal histories that ``test_replay.py`` replays (run by hand, never by the suite):

    .venv/bin/python -m tests.replay.record_histories [scenario ...]

With scenario names, only those histories are written (the others are left as recorded).

Each scenario runs on a real dev server and a real stack, then its workflows' histories are
written to ``tests/replay/histories/<scenario>.json`` (payloads encrypted with the test key, as
every run's are). They pin the commands today's code issues, so a later change of the workflow
code or of its wire format that would break runs in flight fails the replay test; such a change
must use ``workflow.patched`` or a new workflow type. Re-record only when a history is meant to
describe new behaviour, never to make the test pass.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from core.infra.devserver import temporal_binary
from core.infra.payload_codec import data_converter
from core.runs.schedules import schedule_id
from schemas.search_attributes import SEARCH_ATTRIBUTES
from tests.api.helpers import workspace_doc
from tests.conformance.http_stub import HttpStub
from tests.stack import TEMPORAL_HTTP_PORT, TEST_SECRETS_KEY, Stack, open_stack

OUT = Path(__file__).resolve().parent / "histories"
CRON = "*/15 * * * *"

CALLEE = {"name": "callee", "arguments": {"n": {"type": "number"}}, "do": [
    {"set": {"name": "doubled", "value": "{% {{n}} * 2 %}"}}], "output": "{{doubled}}"}
FULL = {"name": "full", "when": {"endpoint": True}, "do": [
    {"set": {"name": "items", "value": [1, 2, 3]}},
    {"repeat": {"on": "{{items}}", "do": [{"set": {"name": "sum", "value": "{% {{sum}} + {{item}} %}"}}]}},
    {"conditions": {"{{sum}} > 5": [{"set": {"name": "big", "value": True}}], "default": [
        {"set": {"name": "big", "value": False}}]}},
    {"all": [{"callee": {"n": 2, "output": "a"}}, {"callee": {"n": 3, "output": "b"}}]},
    {"fetch": {"url": "{{config.stub}}/echo", "method": "post", "body": {"sum": "{{sum}}"}, "output": "fetched"}},
    {"emit": {"event": "full.done", "payload": {"sum": "{{sum}}"}}},
    {"set": {"name": "session.seen", "value": True}},
], "output": {"sum": "{{sum}}", "big": "{{big}}", "a": "{{a}}", "b": "{{b}}", "status": "{{fetched}}"}}
WAITER = {"name": "waiter", "when": {"endpoint": True}, "do": [
    {"emit": {"event": "question", "payload": {"q": 1}}},
    {"wait": {"oneOf": [{"event": "answer", "filters": {"payload.q": "1"}}], "timeout": "{{body.timeout}}",
              "output": "reply"}}],
    "output": {"reply": "{{reply.payload}}"}}
LISTENER = {"name": "listener", "when": {"events": ["ping"]}, "do": [{"emit": {"event": "pong"}}], "output": "ok"}
TICK = {"name": "tick", "when": {"schedules": [CRON]}, "do": [{"set": {"name": "v", "value": "{{payload.trigger}}"}}],
        "output": "{{v}}"}
LOOPER = {"name": "looper", "when": {"endpoint": True}, "do": [
    {"repeat": {"on": [1, 2, 3], "do": [
        {"set": {"name": "seen[]", "value": "{{item}}"}},
        {"conditions": {"{{item}} == 2": [
            {"wait": {"oneOf": [{"event": "resume"}], "timeout": 120, "output": "r"}}]}}]}}],
    "output": {"seen": "{{seen}}"}}
CANCELLED = {"name": "cancelled", "when": {"endpoint": True}, "do": [
    {"try": {"do": [{"wait": {"oneOf": [{"event": "never.comes"}], "timeout": 600}}],
             "finally": [{"emit": {"event": "cleanup.done", "payload": {"by": "finally"}}}]}}]}
KICK = {"name": "kick", "when": {"endpoint": True}, "do": [{"emit": {"event": "fetch.first"}}]}
FETCH_FIRST = {"name": "fetchFirst", "when": {"events": ["fetch.first"]}, "do": [
    {"fetch": {"url": "{{config.stub}}/echo", "method": "post", "body": {}, "output": "got"}}], "output": "{{got}}"}
STREAMER = {"name": "streamer", "when": {"endpoint": True}, "do": [
    {"set": {"name": "$http", "value": {"headers": {"x-a": "b"}}}},
    {"set": {"name": "$http.chunk", "value": {"part": 1}}},
    {"set": {"name": "$http.chunk", "value": {"part": 2}}}], "output": {"done": True}}


async def _histories(client: Client, prefix: str) -> list[dict[str, Any]]:
    found = []
    async for run in client.list_workflows(f'WorkflowId STARTS_WITH "{prefix}"'):
        history = await client.get_workflow_handle(run.id, run_id=run.run_id).fetch_history()
        found.append(json.loads(history.to_json()))
    return found


async def _until_closed(client: Client, prefix: str, count: int) -> None:
    for _ in range(200):
        runs = [r async for r in client.list_workflows(f'WorkflowId STARTS_WITH "{prefix}"')]
        if len(runs) >= count and all(r.status != WorkflowExecutionStatus.RUNNING for r in runs):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"runs under {prefix} did not close")


ONLY: set[str] = set()  # scenario names given on the command line (empty: all)


def _write(name: str, histories: list[dict[str, Any]]) -> None:
    if ONLY and name not in ONLY:
        return
    OUT.mkdir(exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(histories, indent=1, sort_keys=True) + "\n")
    print(f"{name}: {len(histories)} histories")


async def record(stack: Stack, stub: HttpStub) -> None:
    client = stack.services.client
    ws = (await stack.import_workspace(workspace_doc(
        {"full": FULL, "callee": CALLEE, "waiter": WAITER, "listener": LISTENER, "tick": TICK, "streamer": STREAMER,
         "looper": LOOPER, "cancelled": CANCELLED, "kick": KICK, "fetchFirst": FETCH_FIRST},
        config={"value": {"stub": stub.url}})))["id"]
    base = f"/v2/workspaces/{ws}"

    # A complete webhook run: pure steps, a call in `all`, a fetch, an emit, a context write.
    assert (await stack.http.post(f"{base}/webhooks/full", json={})).status_code == 200
    await _until_closed(client, f"{ws}/full/", 1)
    _write("webhook_full", await _histories(client, f"{ws}/full/"))

    # A wait fulfilled by a user-sent event, and the dispatch that delivered it.
    waiting = asyncio.create_task(stack.http.post(f"{base}/webhooks/waiter", json={"timeout": 60}))
    await asyncio.sleep(1.0)
    # A wait still parked (the history of a run in flight), recorded before it is answered.
    _write("wait_parked", await _histories(client, f"{ws}/waiter/"))
    sent = await stack.http.post(f"{base}/events", json={"events": [{"type": "answer", "payload": {"q": "1"}}]},
                                 headers=stack.auth)
    assert sent.status_code == 200, sent.text
    assert (await waiting).status_code == 200
    await _until_closed(client, f"{ws}/waiter/", 1)
    _write("wait_fulfilled", await _histories(client, f"{ws}/waiter/"))

    # A wait that sleeps until its timeout.
    timed = await stack.http.post(f"{base}/webhooks/waiter", json={"timeout": 1})
    assert timed.status_code == 200, timed.text
    await _until_closed(client, f"{ws}/waiter/", 2)
    histories = await _histories(client, f"{ws}/waiter/")
    _write("wait_timeout", [h for h in histories if '"timerFiredEventAttributes"' in json.dumps(h)])

    # User events dispatched to a listener (DispatchWorkflow + the listener's run).
    ping = await stack.http.post(f"{base}/events", json={"events": [{"type": "ping"}]}, headers=stack.auth)
    assert ping.status_code == 200
    dispatch_id = f"dispatch-{ping.json()['events'][0]['id']}"
    await _until_closed(client, dispatch_id, 1)
    await _until_closed(client, f"{ws}/listener", 1)
    _write("dispatch_listener", await _histories(client, dispatch_id) + await _histories(client, f"{ws}/listener"))

    # A scheduled run: the ScheduledRunWorkflow the schedule starts (run-<schedule id>-<time>) and its
    # child run.
    sid = schedule_id(ws, "", "tick", CRON)
    await client.get_schedule_handle(sid).trigger()
    await _until_closed(client, f"run-{sid}", 1)
    await _until_closed(client, f"{ws}/tick/", 1)
    _write("scheduled", await _histories(client, f"run-{sid}") + await _histories(client, f"{ws}/tick/"))

    # A run parked in a wait in the middle of a loop (its second iteration), then resumed.
    looping = asyncio.create_task(stack.http.post(f"{base}/webhooks/looper", json={}))
    await asyncio.sleep(1.0)
    _write("loop_wait_parked", await _histories(client, f"{ws}/looper/"))
    resumed = await stack.http.post(f"{base}/events", json={"events": [{"type": "resume"}]}, headers=stack.auth)
    assert resumed.status_code == 200, resumed.text
    assert (await looping).status_code == 200
    await _until_closed(client, f"{ws}/looper/", 1)
    _write("loop_wait_done", await _histories(client, f"{ws}/looper/"))

    # A webhook run streaming $http.chunk through the http_chunks update.
    streamed = await stack.http.post(f"{base}/webhooks/streamer", json={})
    assert streamed.status_code == 200, streamed.text
    await _until_closed(client, f"{ws}/streamer/", 1)
    _write("streamed_chunks", await _histories(client, f"{ws}/streamer/"))

    # Issue 19: a run cancelled in a wait (its `finally` emits), and a listener run whose first
    # instruction is a fetch (its run record is flushed before the fetch, behind a patch).
    call = asyncio.create_task(stack.http.post(f"{base}/webhooks/cancelled", json={}))
    await asyncio.sleep(1.0)
    handle = [r async for r in client.list_workflows(f'WorkflowId STARTS_WITH "{ws}/cancelled/"')][0]
    await client.get_workflow_handle(handle.id).cancel()
    assert (await call).status_code == 409
    await _until_closed(client, f"{ws}/cancelled/", 1)
    _write("cancelled_wait", await _histories(client, f"{ws}/cancelled/"))
    assert (await stack.http.post(f"{base}/webhooks/kick", json={})).status_code == 200
    await _until_closed(client, f"{ws}/fetchFirst", 1)
    _write("fetch_first_listener", await _histories(client, f"{ws}/fetchFirst"))

    # Issue 22: listeners started by a local activity (the listeners-from-activity patch), not
    # as child workflows: a user event's dispatch and its listener's run.
    pong = await stack.http.post(f"{base}/events", json={"events": [{"type": "ping"}]}, headers=stack.auth)
    assert pong.status_code == 200
    event_id = pong.json()["events"][0]["id"]
    await _until_closed(client, f"dispatch-{event_id}", 1)
    await _until_closed(client, f"{ws}/listener/evt-{event_id}", 1)
    _write("dispatch_listener_activity", await _histories(client, f"dispatch-{event_id}")
           + await _histories(client, f"{ws}/listener/evt-{event_id}"))


async def main() -> None:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(), data_converter=data_converter(TEST_SECRETS_KEY),
        search_attributes=SEARCH_ATTRIBUTES, ui=False,
        dev_server_extra_args=["--http-port", str(TEMPORAL_HTTP_PORT)])
    try:
        with tempfile.TemporaryDirectory() as tmp:
            stub_routes = [{"request": {"method": "POST", "path": "/echo"}, "response": {"body": {"ok": True}}}]
            async with HttpStub(stub_routes) as stub, open_stack(
                    env.client, f"sqlite:///{tmp}/replay.db", "sqlite") as stack:
                await record(stack, stub)
    finally:
        await env.shutdown()


if __name__ == "__main__":
    import sys

    ONLY.update(sys.argv[1:])
    asyncio.run(main())
