"""Starting the listener runs of persisted events, from the worker (workflows/dispatch.py).

A run that emits starts its event's listeners through this local activity rather than as child
workflows: a child start costs the emitting run two history events and a workflow task of its
own each, and the Temporal server a transfer task; a start from here is one call, answered
eagerly with the listener's first task (bench/fanout_bench.py: 50 listeners, see docs/scaling.md).
Starts are idempotent: each listener's workflow id is deterministic per (event, automation) and
Temporal refuses a second start, so a retried activity starts nothing twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from temporalio import activity

from core.runs.launcher import RunLauncher
from schemas import activity_names as names
from schemas.runs import ListenerStarts


class ListenerActivities:
    def __init__(self, launcher: RunLauncher):
        self.launcher = launcher

    @activity.defn(name=names.START_LISTENERS)
    async def start_listeners(self, request: ListenerStarts) -> int:
        """Start every listener run of ``request`` at once; answers how many were new."""
        started = await asyncio.gather(*(self.launcher.start_listener(start, request.task_queue)
                                         for start in request.starts))
        return sum(started)

    def all(self) -> list[Callable[..., Any]]:
        return [self.start_listeners]
