"""Per-workspace rate limits shared by every worker (DECISIONS 15): callers wait, nothing is refused."""

from __future__ import annotations

from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from tests.api.helpers import workspace_doc
from tests.stack import open_stack

EMITTER = {"name": "emitter", "when": {"endpoint": True}, "do": [
    {"repeat": {"on": "{{body.n}}", "do": [{"emit": {"event": "tick"}}]}},
    # A wait flushes the run (settling its rate-limit tokens) before its executed event.
    {"wait": {"oneOf": [{"event": "never"}], "timeout": 1}}]}


async def test_emit_bucket_is_shared_between_workers_and_throttles(temporal_env: WorkflowEnvironment,
                                                                   tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rl.db'}"
    limits = {"rate_limit_emits": 10, "rate_limit_emits_burst": 10}
    async with open_stack(temporal_env.client, url, "sqlite", **limits) as first, \
            open_stack(temporal_env.client, url, "sqlite", **limits) as second:
        ws = (await first.import_workspace(workspace_doc({"emitter": EMITTER})))["id"]
        # The first worker drains the shared bucket exactly (10 tokens): no wait.
        r1 = await first.http.post(f"/v2/workspaces/{ws}/webhooks/emitter", json={"n": 10})
        assert r1.status_code == 200, r1.text
        # The second worker's run draws on the same bucket (at most refilled to 10 meanwhile):
        # 30 emits at 10/s leave it at least 20 short, a wait of at least 2 s.
        r2 = await second.http.post(f"/v2/workspaces/{ws}/webhooks/emitter", json={"n": 30})
        assert r2.status_code == 200, r2.text
        executed = await first.events(ws, types="runtime.automations.executed")
        throttled = [e["payload"].get("throttled", 0) for e in executed]
        assert throttled[1] == 0  # the first run (older, listed second)
        assert 2000 <= throttled[0] <= 3200, throttled
        assert len(await first.events(ws, types="tick", limit=100)) == 40  # nothing dropped


async def test_rate_limits_can_be_disabled(temporal_env: WorkflowEnvironment, tmp_path: Path) -> None:
    async with open_stack(temporal_env.client, f"sqlite:///{tmp_path / 'off.db'}", "sqlite",
                          rate_limit_disabled=True, rate_limit_emits=1, rate_limit_emits_burst=1) as stack:
        ws = (await stack.import_workspace(workspace_doc({"emitter": EMITTER})))["id"]
        await stack.http.post(f"/v2/workspaces/{ws}/webhooks/emitter", json={"n": 20})
        executed = await stack.events(ws, types="runtime.automations.executed")
        assert "throttled" not in executed[0]["payload"]
