"""Drill: kill (SIGKILL) and restart the Temporal dev server, file persistence, during load:
every accepted run and event is there afterwards, exactly once. Reduced: 6 s of load;
full: 30 s."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections import Counter
from pathlib import Path

from core.infra.devserver import DevServer
from core.infra.temporal import connect
from core.runs.triggers import send_events, trigger_webhook
from schemas.dsul import WorkspaceSource
from tests.conformance.http_stub import free_port
from tests.drills.helpers import FULL, events_of, figure, wait_until, worker_services
from tests.stack import TEST_SECRETS_KEY


def drill_workspace() -> dict[str, object]:
    return {"name": "Restart drill", "slug": f"restart-{uuid.uuid4().hex[:6]}", "automations": {
        "hook": {"name": "hook", "when": {"endpoint": True},
                 "do": [{"emit": {"event": "hooked", "payload": {"n": "{{body.n}}"}}}], "output": "{{body.n}}"},
        "count": {"name": "count", "when": {"events": ["tick"]},
                  "do": [{"emit": {"event": "counted", "payload": {"n": "{{payload.n}}"}}}]}}}


async def test_devserver_killed_and_restarted_during_load(tmp_path: Path) -> None:
    duration, kill_at = (30.0, 10.0) if FULL else (6.0, 2.5)
    server = DevServer(tmp_path / "temporal", port=free_port(), ui_port=free_port(), http_port=free_port(),
                       extra_args=["--dynamic-config-value", "history.transferProcessorMaxPollRPS=10000"])
    await asyncio.to_thread(server.start)
    client = await connect(server.address, secrets_key=TEST_SECRETS_KEY)
    accepted_hooks: list[int] = []
    accepted_events: list[int] = []
    refused = Counter[str]()
    try:
        async with worker_services(client, tmp_path) as (services, worker):
            ws = (await services.workspaces.create(WorkspaceSource.from_document(drill_workspace()))).id
            worker.start()
            warm = await trigger_webhook(services, ws, "hook", method="POST", headers={}, query={},
                                         body={"n": -1})  # the worker is up: start the clock
            assert warm.output == -1
            loop = asyncio.get_running_loop()
            stop_at = loop.time() + duration
            counter = iter(range(1_000_000))

            async def hooks() -> None:
                while loop.time() < stop_at:
                    n = next(counter)
                    try:
                        out = await asyncio.wait_for(trigger_webhook(
                            services, ws, "hook", method="POST", headers={}, query={}, body={"n": n}), 60)
                        assert out.output == n
                        accepted_hooks.append(n)
                    except Exception as exc:  # refused while the server is down: not accepted
                        refused[type(exc).__name__] += 1
                        await asyncio.sleep(0.2)

            async def ticks() -> None:
                while loop.time() < stop_at:
                    n = next(counter)
                    try:
                        await asyncio.wait_for(send_events(services, ws, [{"type": "tick", "payload": {"n": n}}]),
                                               30)
                        accepted_events.append(n)
                    except Exception as exc:
                        refused[type(exc).__name__] += 1
                        await asyncio.sleep(0.2)
                    await asyncio.sleep(0.02)

            async def chaos() -> None:
                await asyncio.sleep(kill_at)
                assert server.process is not None
                os.killpg(server.process.pid, signal.SIGKILL)
                server.process.wait(10)
                await asyncio.sleep(1.0)
                await asyncio.to_thread(server.start)

            await asyncio.gather(*(hooks() for _ in range(4)), *(ticks() for _ in range(2)), chaos())
            expected = len(accepted_hooks) + len(accepted_events)

            async def settled() -> bool:
                done = await events_of(services, ws, "hooked", "counted")
                return len(done) >= expected + 1

            await wait_until(settled, 90, "every accepted run finished")
            await asyncio.sleep(1.5)
            done = await events_of(services, ws, "hooked", "counted")
            seen = Counter((e["type"], e["payload"]["n"]) for e in done if e["payload"]["n"] != -1)
            lost = [n for n in accepted_hooks if seen[("hooked", n)] == 0] + \
                   [n for n in accepted_events if seen[("counted", n)] == 0]
            twice = sum(1 for v in seen.values() if v > 1)
            figure("dev server SIGKILL+restart (file)",
                   f"accepted runs {len(accepted_hooks)} webhooks + {len(accepted_events)} events, lost {len(lost)}, "
                   f"duplicated {twice}, refused while down {sum(refused.values())} {dict(refused)}")
            assert not lost and twice == 0
            assert accepted_hooks and accepted_events
    finally:
        await asyncio.to_thread(server.stop)
