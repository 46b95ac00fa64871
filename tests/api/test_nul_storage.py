"""A NUL character an automation builds is stored (as U+FFFD on PostgreSQL, whose JSON cannot
hold it) instead of failing the run's flush on every retry (issue 14, availability)."""

from __future__ import annotations

import json

from core.infra.db import postgres_json
from tests.api.helpers import workspace_doc
from tests.api.test_apps_api import of_type, wait_events
from tests.stack import Stack

NUL_TEXT = "{% json('\"a\\u0000b\"') %}"  # the expression json('"a\u0000b"'): a string holding NUL


def test_postgres_json_replaces_only_real_nul_characters() -> None:
    value = {"nul": "a\x00b", "key\x00": 1, "escaped": "\\u0000 stays", "both": "\\\x00"}
    text = postgres_json(value)
    assert json.loads(text) == {"nul": "a\ufffdb", "key\ufffd": 1, "escaped": "\\u0000 stays", "both": "\\\ufffd"}
    assert postgres_json({"plain": "x"}) == json.dumps({"plain": "x"})


async def test_an_event_holding_nul_is_stored(stack: Stack) -> None:
    ws = (await stack.import_workspace(workspace_doc({"nul": {
        "name": "nul", "when": {"endpoint": True},
        "do": [{"set": {"name": "v", "value": NUL_TEXT}}, {"emit": {"event": "held", "payload": {"v": "{{v}}"}}}],
        "output": {"v": "{{v}}"}}})))["id"]
    ran = await stack.http.post(f"/v2/workspaces/{ws}/webhooks/nul", json={})
    assert ran.status_code == 200 and ran.json() == {"v": "a\x00b"}, ran.text  # the output is not stored
    events = await wait_events(stack, ws, lambda evs: bool(of_type(evs, "held")))
    held = of_type(events, "held")[0]["payload"]["v"]
    assert held == ("a\ufffdb" if stack.backend == "postgres" else "a\x00b")
