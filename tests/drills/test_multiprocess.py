"""Everything a user does works across processes (issue 22): 2 ``tideway api`` and 2 ``tideway
worker`` processes on PostgreSQL (tests/drills/multiprocess.py). Each check sends through one
api process and reads or answers through the other. ``make test`` runs the checks marked
``short``; ``make drills`` (TIDEWAY_DRILLS=full) runs them all."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from core.runs.schedules import schedule_id
from tests.drills.helpers import FULL, figure, wait_until
from tests.drills.multiprocess import AUTH, Cluster, PostgresSchema, cluster, sse_lines

full_only = pytest.mark.skipif(not FULL, reason="full drill (make drills)")
# The workspace rate limit checked below: emits per second per workspace, shared by the workers.
EMITS_RATE, EMITS_BURST = 20, 20


def doc(automations: dict[str, Any], **index: Any) -> dict[str, Any]:
    return {"name": "Many processes", "slug": f"mp-{uuid.uuid4().hex[:8]}", **index, "automations": automations}


@pytest.fixture(scope="module")
async def shape(temporal_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    schema = PostgresSchema()
    url = schema.create()
    if url is None:
        pytest.skip(f"PostgreSQL unreachable at {schema.base}")
    folder = Path(tmp_path_factory.mktemp("multiprocess"))
    started = time.monotonic()
    try:
        async with cluster(temporal_env.client.service_client.config.target_host, url, folder,
                           RATE_LIMIT_EMITS=str(EMITS_RATE), RATE_LIMIT_EMITS_BURST=str(EMITS_BURST)) as made:
            figure("many processes", f"2 api + 2 worker processes on PostgreSQL ready in "
                   f"{time.monotonic() - started:.1f} s")
            yield made
    finally:
        schema.drop()


async def executed(shape: Cluster, ws: str, via: int = 0) -> list[dict[str, Any]]:
    return await shape.events(ws, "runtime.automations.executed", via=via)


async def test_sync_webhooks_answer_on_both_api_processes(shape: Cluster) -> None:
    hello = {"name": "hello", "when": {"endpoint": True}, "do": [], "output": {"hi": "{{body.n}}"}}
    ws = await shape.import_workspace(doc({"hello": hello}))
    answers = await asyncio.gather(*(shape.client(n).post(f"/v2/workspaces/{ws}/webhooks/hello", json={"n": n})
                                     for n in range(20)))
    assert [a.status_code for a in answers] == [200] * 20, [a.text for a in answers]
    assert [a.json() for a in answers] == [{"hi": n} for n in range(20)]


STREAMER = {
    "name": "streamer", "when": {"endpoint": True},
    "do": [{"set": {"name": "$http.chunk", "value": {"n": 1, "who": "{{body.who}}"}}},
           {"wait": {"oneOf": [{"event": "go.on"}], "timeout": 60,
                     "output": "go"}},
           {"set": {"name": "$http.chunk", "value": {"n": 2, "said": "{{go.payload.said}}"}}}],
    "output": {"done": True}}


async def test_sse_streamed_by_one_api_while_a_wait_is_satisfied_through_the_other(shape: Cluster) -> None:
    ws = await shape.import_workspace(doc({"streamer": STREAMER}))
    chunks: asyncio.Queue[Any] = asyncio.Queue()
    stream = asyncio.create_task(sse_lines(shape.client(0), "POST", f"/v2/workspaces/{ws}/webhooks/streamer", chunks,
                                           json={"who": "ann"}))
    assert await asyncio.wait_for(chunks.get(), 30) == {"n": 1, "who": "ann"}  # the run is parked in wait
    sent = await shape.client(1).post(f"/v2/workspaces/{ws}/events", headers=AUTH,
                                      json={"events": [{"type": "go.on", "payload": {"who": "ann", "said": "hi"}}]})
    assert sent.status_code == 200, sent.text
    assert await asyncio.wait_for(chunks.get(), 30) == {"n": 2, "said": "hi"}
    assert await asyncio.wait_for(stream, 30) == 200
    assert len(await executed(shape, ws, via=1)) == 1


async def test_an_idempotency_key_retried_on_the_other_api_returns_the_first_answer(shape: Cluster) -> None:
    count = {"name": "count", "when": {"endpoint": True}, "do": [],
             "output": {"got": "{{body.n}}", "correlation": "{{run.correlationId}}"}}
    ws = await shape.import_workspace(doc({"count": count}))
    keys = [f"order-{uuid.uuid4().hex}" for _ in range(5)]
    url = f"/v2/workspaces/{ws}/webhooks/count"
    firsts = await asyncio.gather(*(shape.client(0).post(url, json={"n": i}, headers={"idempotency-key": key})
                                    for i, key in enumerate(keys)))
    retries = await asyncio.gather(*(shape.client(1).post(url, json={"n": 99}, headers={"idempotency-key": key})
                                     for key in keys))
    assert [r.json() for r in retries] == [f.json() for f in firsts]
    assert [f.json()["got"] for f in firsts] == list(range(5))
    # A retry while the first run is still going (parked in a wait) waits for that run's answer.
    held = {"name": "held", "when": {"endpoint": True},
            "do": [{"wait": {"oneOf": [{"event": "release"}], "timeout": 60, "output": "go"}}],
            "output": {"got": "{{body.n}}", "released": "{{go.payload.by}}"}}
    held_ws = await shape.import_workspace(doc({"held": held}))
    held_url, key = f"/v2/workspaces/{held_ws}/webhooks/held", {"idempotency-key": f"held-{uuid.uuid4().hex}"}
    first = asyncio.create_task(shape.client(0).post(held_url, json={"n": 1}, headers=key))

    async def parked() -> bool:
        return len(await shape.events(held_ws, "runtime.waits.pending")) >= 1

    await wait_until(parked, 30, "the first run waiting")
    retry = asyncio.create_task(shape.client(1).post(held_url, json={"n": 2}, headers=key))
    await asyncio.sleep(1.0)
    assert not retry.done(), retry.result().text if retry.done() else ""
    sent = await shape.client(1).post(f"/v2/workspaces/{held_ws}/events", headers=AUTH,
                                      json={"events": [{"type": "release", "payload": {"by": "api1"}}]})
    assert sent.status_code == 200, sent.text
    answered = await asyncio.gather(first, retry)
    assert [a.status_code for a in answered] == [200, 200], [a.text for a in answered]
    assert answered[0].json() == answered[1].json() == {"got": 1, "released": "api1"}
    await asyncio.sleep(1.0)  # a second run would have written its event by now
    assert len(await executed(shape, ws)) == 5
    assert len(await executed(shape, held_ws)) == 1


async def test_the_rate_limit_instruction_is_exact_across_processes(shape: Cluster) -> None:
    limited = {"name": "limited", "when": {"endpoint": True}, "do": [
        {"rateLimit": {"name": "api", "window": 60, "limit": 10, "consumer": "{{body.consumer}}", "output": "answer"}}],
        "output": "{{answer}}"}
    ws = await shape.import_workspace(doc({"limited": limited}))
    answers = await asyncio.gather(*(shape.client(n).post(f"/v2/workspaces/{ws}/webhooks/limited",
                                                          json={"consumer": "x"}) for n in range(40)))
    taken = [a.json() for a in answers]
    assert sum(1 for a in taken if a["ok"] is True) == 10, taken
    assert sorted(a["remaining"] for a in taken if a["ok"] is True) == list(range(10))
    figure("many processes", f"rateLimit: {sum(1 for a in taken if a['ok'])}/40 takes passed a limit of 10 "
           "through 2 api and 2 worker processes")


async def test_imports_and_app_installs_are_seen_by_every_process_at_once(shape: Cluster) -> None:
    def answering(version: int) -> dict[str, Any]:
        return {"name": "which", "when": {"endpoint": True}, "do": [], "output": {"version": version}}

    slug = f"mp-{uuid.uuid4().hex[:8]}"
    ws = await shape.import_workspace(doc({"which": answering(1)}, slug=slug), via=0)
    for version in (2, 3, 4):
        # Every process answered with the old revision just before: their caches are warm.
        before = await asyncio.gather(*(shape.client(n).post(f"/v2/workspaces/{ws}/webhooks/which", json={})
                                        for n in range(8)))
        assert {r.json()["version"] for r in before} == {version - 1}
        assert await shape.import_workspace(doc({"which": answering(version)}, slug=slug), via=version,
                                            into=ws) == ws
        after = await asyncio.gather(*(shape.client(n).post(f"/v2/workspaces/{ws}/webhooks/which", json={})
                                       for n in range(8)))
        assert [r.json() for r in after] == [{"version": version}] * 8, [r.text for r in after]
    # An app published and installed through api 0 answers at once through api 1 (both workers).
    source = await shape.import_workspace(doc({"which": answering(7)}, description="An app"))
    app = f"app-{uuid.uuid4().hex[:6]}"
    published = await shape.client(0).post("/v2/apps", json={"workspaceId": source, "slug": app}, headers=AUTH)
    assert published.status_code == 200, published.text
    installed = await shape.client(0).post(f"/v2/workspaces/{ws}/apps", json={"appSlug": app, "slug": "inst"},
                                           headers=AUTH)
    assert installed.status_code == 200, installed.text
    through = await asyncio.gather(*(shape.client(n).post(f"/v2/workspaces/{ws}/webhooks/inst.which", json={})
                                     for n in range(1, 9)))
    assert [r.json() for r in through] == [{"version": 7}] * 8, [r.text for r in through]


async def answers(shape: Cluster, url: str) -> list[Any]:
    """Eight calls alternating between the api processes (whichever worker runs each)."""
    got = await asyncio.gather(*(shape.client(n).post(url, json={}) for n in range(8)))
    return [r.json() if r.status_code == 200 else r.status_code for r in got]


async def test_secrets_app_config_and_uninstall_are_seen_by_every_process_at_once(shape: Cluster) -> None:
    echo = {"name": "echo", "when": {"endpoint": True}, "do": [], "output": "{{config.greeting}}"}
    source = await shape.import_workspace(doc({"echo": echo}, description="Greeter",
                                              config={"schema": {"greeting": {"type": "string"}}}))
    app = f"greeter-{uuid.uuid4().hex[:6]}"
    assert (await shape.client(1).post("/v2/apps", json={"workspaceId": source, "slug": app},
                                       headers=AUTH)).status_code == 200
    key = {"name": "key", "when": {"endpoint": True}, "do": [], "output": "{{config.key}}"}
    ws = await shape.import_workspace(doc({"key": key}, config={"value": {"key": "{{secret.k}}"}}))
    installed = await shape.client(0).post(f"/v2/workspaces/{ws}/apps", headers=AUTH,
                                           json={"appSlug": app, "slug": "greeter", "config": {"greeting": "hi"}})
    assert installed.status_code == 200, installed.text
    for value in ("one", "two"):
        put = await shape.client(1).put(f"/v2/workspaces/{ws}/security/secrets", json={"k": {"value": value}},
                                        headers=AUTH)
        assert put.status_code == 200, put.text
        assert await answers(shape, f"/v2/workspaces/{ws}/webhooks/key") == [value] * 8
    assert await answers(shape, f"/v2/workspaces/{ws}/webhooks/greeter.echo") == ["hi"] * 8
    patched = await shape.client(1).patch(f"/v2/workspaces/{ws}/apps/greeter/config", json={"greeting": "yo"},
                                          headers=AUTH)
    assert patched.status_code == 200, patched.text
    assert await answers(shape, f"/v2/workspaces/{ws}/webhooks/greeter.echo") == ["yo"] * 8
    removed = await shape.client(0).delete(f"/v2/workspaces/{ws}/apps/greeter", headers=AUTH)
    assert removed.status_code == 200, removed.text
    assert await answers(shape, f"/v2/workspaces/{ws}/webhooks/greeter.echo") == [404] * 8


async def test_the_live_feed_of_one_api_shows_events_written_by_the_other(shape: Cluster) -> None:
    emitter = {"name": "emitter", "when": {"endpoint": True},
               "do": [{"emit": {"event": "from.worker", "payload": {"n": "{{body.n}}"}}}], "output": "ok"}
    ws = await shape.import_workspace(doc({"emitter": emitter}))
    received: asyncio.Queue[Any] = asyncio.Queue()
    ready = asyncio.Event()
    feed = asyncio.create_task(sse_lines(shape.client(0), "GET", f"/v2/workspaces/{ws}/events/stream", received,
                                         ready, headers=AUTH, params={"types": "from.api,from.worker"}))
    try:
        await asyncio.wait_for(ready.wait(), 15)
        sent = await shape.client(1).post(f"/v2/workspaces/{ws}/events", headers=AUTH, json={"events": [
            {"type": "from.api", "payload": {"n": n}} for n in range(3)]})
        assert sent.status_code == 200, sent.text
        for n in range(3, 6):
            assert (await shape.client(1).post(f"/v2/workspaces/{ws}/webhooks/emitter", json={"n": n})).status_code == 200
        got = [await asyncio.wait_for(received.get(), 20) for _ in range(6)]
        assert sorted((e["type"], e["payload"]["n"]) for e in got) == [
            *[("from.api", n) for n in range(3)], *[("from.worker", n) for n in range(3, 6)]]
    finally:
        feed.cancel()


@full_only
async def test_events_fan_out_to_listeners_exactly_once(shape: Cluster) -> None:
    listeners = {f"l{i}": {"name": f"l{i}", "when": {"events": ["fanned"]}, "do": [], "output": "{{payload.n}}"}
                 for i in range(5)}
    ws = await shape.import_workspace(doc(listeners))
    events = 20
    await asyncio.gather(*(shape.client(n).post(f"/v2/workspaces/{ws}/events", headers=AUTH, json={
        "events": [{"type": "fanned", "payload": {"n": n}}]}) for n in range(events)))

    async def done() -> bool:
        return len(await executed(shape, ws)) >= events * len(listeners)

    await wait_until(done, 60, "every listener run")
    await asyncio.sleep(1.5)
    runs = Counter((e["payload"]["slug"], e["payload"]["output"]) for e in await executed(shape, ws, via=1))
    assert len(runs) == events * len(listeners) and set(runs.values()) == {1}, runs
    figure("many processes", f"fan-out: {events} events x {len(listeners)} listeners = {sum(runs.values())} "
           "listener runs, each once")


@full_only
async def test_schedules_fire_exactly_once_with_two_workers(shape: Cluster, temporal_env: WorkflowEnvironment) -> None:
    cron = "0 3 * * *"
    tick = {"name": "tick", "when": {"schedules": [cron]}, "do": [], "output": "{{payload.trigger.value}}"}
    ws = await shape.import_workspace(doc({"tick": tick}))
    # A worker restart reconciles every schedule again: still one schedule, still one run a firing.
    restarted = shape.workers[0]
    restarted.stop()
    await shape.restart(restarted)
    handle = temporal_env.client.get_schedule_handle(schedule_id(ws, "", "tick", cron))
    firings = 3
    for _ in range(firings):
        await handle.trigger()
        await asyncio.sleep(0.3)

    async def fired() -> bool:
        return len(await executed(shape, ws)) >= firings

    await wait_until(fired, 60, "every firing run")
    await asyncio.sleep(2.0)
    schedules = [s async for s in await temporal_env.client.list_schedules() if ws in s.id]
    runs = await executed(shape, ws)
    assert len(runs) == firings and len(schedules) == 1, (runs, [s.id for s in schedules])
    figure("many processes", f"schedules: {firings} firings -> {len(runs)} runs, {len(schedules)} schedule "
           "registered after a worker restart")


@full_only
async def test_the_workspace_emit_limit_holds_across_workers(shape: Cluster) -> None:
    # Two runs (one per api process, any worker) emit 40 events each: the workspace's one bucket
    # (EMITS_BURST, then EMITS_RATE a second) makes them last at least (80 - burst) / rate seconds.
    loud = {"name": "loud", "when": {"endpoint": True}, "do": [
        {"repeat": {"on": 40, "do": [{"emit": {"event": "loud", "payload": {"i": "{{item}}"}}}]}}], "output": "ok"}
    ws = await shape.import_workspace(doc({"loud": loud}))
    started = time.monotonic()
    answers = await asyncio.gather(*(shape.client(n).post(f"/v2/workspaces/{ws}/webhooks/loud", json={})
                                     for n in range(2)))
    elapsed = time.monotonic() - started
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    floor = (80 - EMITS_BURST) / EMITS_RATE
    assert len(await shape.events(ws, "loud")) == 80
    assert elapsed >= floor * 0.9, f"80 emits in {elapsed:.1f} s: the limit allows no less than {floor:.1f} s"
    figure("many processes", f"workspace emit limit: 80 emits through 2 workers took {elapsed:.1f} s "
           f"(floor {floor:.1f} s at {EMITS_RATE}/s, burst {EMITS_BURST})")
