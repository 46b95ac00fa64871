"""simpleUserJourney the naive way, after Temporal's DSL sample (samples-python ``dsl/``).

A tiny interpreter workflow walks a list of statements; **every step is one regular
activity** (set, the condition, emit, the output), with the default data converter, no
local activities, no eager start and the worker's default options: what a user following
the sample would write. Events are persisted to SQLite by the ``emit`` activity.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow

TASK_QUEUE = "naive-baseline"

# The automation, as DSL statements (same steps as examples/hello/automations/simpleUserJourney.yml).
SIMPLE_USER_JOURNEY: list[dict[str, Any]] = [
    {"activity": "set_variable", "arguments": {"name": "name", "value": "Doe"}},
    {"conditions": {"left": "name", "equals": "Doe",
                    "then": [{"activity": "emit", "arguments": {"event": "apps.test", "payload": {"lastName": "John"}}}],
                    "else": [{"activity": "emit", "arguments": {"event": "apps.newtest", "payload": {"lastName": "John"}}}]}},
    {"activity": "render_output", "arguments": {"output": {"content": "{{name}}", "requestBody": "{{body}}"}}},
]


@dataclass
class DSLInput:
    statements: list[dict[str, Any]]
    variables: dict[str, Any] = field(default_factory=dict)


class Activities:
    def __init__(self, db_path: str):
        self.db_path = db_path
        self.local = threading.local()
        with sqlite3.connect(db_path) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, type TEXT, payload TEXT)")

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = sqlite3.connect(self.db_path, timeout=30)
        return conn

    @activity.defn
    def set_variable(self, args: dict[str, Any]) -> Any:
        return args["value"]

    @activity.defn
    def evaluate_condition(self, args: dict[str, Any]) -> bool:
        return bool(args["variables"].get(args["left"]) == args["equals"])

    @activity.defn
    def emit(self, args: dict[str, Any]) -> str:
        event_id = str(uuid.uuid4())
        conn = self._conn()
        conn.execute("INSERT INTO events VALUES (?, ?, ?)", (event_id, args["event"], json.dumps(args["payload"])))
        conn.commit()
        return event_id

    @activity.defn
    def render_output(self, args: dict[str, Any]) -> dict[str, Any]:
        variables = args["variables"]
        out = {}
        for key, template in args["output"].items():
            name = template.strip("{}") if isinstance(template, str) and template.startswith("{{") else None
            out[key] = variables.get(name) if name else template
        return out

    def all(self) -> list[Any]:
        return [self.set_variable, self.evaluate_condition, self.emit, self.render_output]


@workflow.defn
class DSLWorkflow:
    @workflow.run
    async def run(self, input: DSLInput) -> Any:
        self.variables = dict(input.variables)
        self.result: Any = None
        await self.execute(input.statements)
        return self.result

    async def execute(self, statements: list[dict[str, Any]]) -> None:
        for statement in statements:
            if "activity" in statement:
                args = {**statement["arguments"], "variables": self.variables}
                result = await workflow.execute_activity(
                    statement["activity"], args, start_to_close_timeout=timedelta(seconds=30))
                if statement["activity"] == "set_variable":
                    self.variables[statement["arguments"]["name"]] = result
                elif statement["activity"] == "render_output":
                    self.result = result
            elif "conditions" in statement:
                cond = statement["conditions"]
                ok = await workflow.execute_activity(
                    "evaluate_condition", {"left": cond["left"], "equals": cond["equals"],
                                           "variables": self.variables},
                    start_to_close_timeout=timedelta(seconds=30))
                await self.execute(cond["then"] if ok else cond["else"])
