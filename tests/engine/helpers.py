"""Driving the engine through its HTTP API for the engine's own tests (no ``../shared`` needed).

A :class:`Workspace` is one imported workspace document; :meth:`Workspace.call` runs a webhook with
a fresh correlation id, so the events of that call (and of the listeners it starts, which inherit
the correlation id) can be read back on their own with :meth:`Call.events`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from tests.api.helpers import workspace_doc
from tests.stack import Stack

EventList = list[dict[str, Any]]


def hook(do: list[Any], output: Any = None, **fields: Any) -> dict[str, Any]:
    """An automation with a webhook endpoint (its slug is the key it gets in the document)."""
    automation: dict[str, Any] = {"name": fields.pop("name", "hook"), "when": {"endpoint": True}, "do": do,
                                  **fields}
    if output is not None:
        automation["output"] = output
    return automation


def automation(do: list[Any], output: Any = None, **fields: Any) -> dict[str, Any]:
    """An automation without a trigger: called by others, or through ``/test``."""
    result: dict[str, Any] = {"name": fields.pop("name", "auto"), "do": do, **fields}
    if output is not None:
        result["output"] = output
    return result


def listener(events: list[str], do: list[Any], output: Any = None, **fields: Any) -> dict[str, Any]:
    result: dict[str, Any] = {"name": fields.pop("name", "listener"), "when": {"events": events}, "do": do,
                              **fields}
    if output is not None:
        result["output"] = output
    return result


def of_type(events: EventList, event_type: str) -> EventList:
    return [e for e in events if e["type"] == event_type]


def executed(events: EventList, slug: str | None = None) -> EventList:
    """The ``runtime.automations.executed`` events (of ``slug``), oldest first."""
    return [e for e in events if e["type"] == "runtime.automations.executed"
            and (slug is None or e["payload"]["slug"] == slug)]


@dataclass
class Call:
    workspace: Workspace
    response: httpx.Response
    correlation_id: str

    @property
    def status(self) -> int:
        return self.response.status_code

    def json(self) -> Any:
        return self.response.json()

    def ok(self) -> Any:
        """The output, after checking the run succeeded."""
        assert self.status == 200, self.response.text
        return self.response.json()

    def error(self, name: str, status: int = 400) -> dict[str, Any]:
        """The error body, after checking its name and HTTP status."""
        body: dict[str, Any] = self.response.json()
        assert self.status == status and body.get("error") == name, (self.status, body)
        return body

    async def events(self, **params: Any) -> EventList:
        """This call's events (and its listeners'), oldest first."""
        return await self.workspace.events(**{"source.correlationId": self.correlation_id, **params})

    async def wait_events(self, predicate: Callable[[EventList], bool], timeout: float = 20.0,
                          **params: Any) -> EventList:
        """This call's events once ``predicate`` holds (listeners run as their own workflows)."""
        return await self.workspace.wait_events(predicate, timeout,
                                                **{"source.correlationId": self.correlation_id, **params})


@dataclass
class Workspace:
    stack: Stack
    id: str
    slug: str

    @classmethod
    async def create(cls, stack: Stack, automations: dict[str, Any], **index: Any) -> Workspace:
        document = workspace_doc(automations, **index)
        imported = await stack.import_workspace(document)
        return cls(stack, imported["id"], imported["slug"])

    async def call(self, endpoint: str, body: Any = None, *, method: str = "POST",
                   headers: dict[str, str] | None = None, params: dict[str, Any] | None = None,
                   correlation_id: str | None = None) -> Call:
        correlation_id = correlation_id or uuid.uuid4().hex
        response = await self.stack.http.request(
            method, f"/v2/workspaces/{self.id}/webhooks/{endpoint}", params=params,
            json=body if body is not None and method not in ("GET", "DELETE") else None,
            headers={"x-correlation-id": correlation_id, **(headers or {})})
        return Call(self, response, correlation_id)

    async def run(self, endpoint: str, body: Any = None, **kwargs: Any) -> Any:
        """The output of a webhook call that must succeed."""
        return (await self.call(endpoint, body if body is not None else {}, **kwargs)).ok()

    async def test(self, slug: str, payload: dict[str, Any] | None = None) -> httpx.Response:
        """``POST /test/{slug}`` as the superadmin (runs any automation, trigger or not)."""
        return await self.stack.http.post(f"/v2/workspaces/{self.id}/test/{slug}",
                                          json={"payload": payload or {}}, headers=self.stack.auth)

    async def events(self, **params: Any) -> EventList:
        return list(reversed(await self.stack.events(self.id, limit=500, **params)))

    async def wait_events(self, predicate: Callable[[EventList], bool], timeout: float = 20.0,
                          **params: Any) -> EventList:
        """Events (oldest first) once ``predicate`` holds; the last read when it never does, so the
        caller's assertion shows what was there."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            events = await self.events(**params)
            if predicate(events) or asyncio.get_running_loop().time() > deadline:
                return events
            await asyncio.sleep(0.05)

    async def send(self, event_type: str, payload: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
        """Send one event through ``POST /events`` as the superadmin."""
        response = await self.stack.http.post(f"/v2/workspaces/{self.id}/events", json={"events": [
            {"type": event_type, **({"payload": payload} if payload is not None else {}), **fields}]},
            headers=self.stack.auth)
        assert response.status_code == 200, response.text
        sent: dict[str, Any] = response.json()["events"][0]
        return sent


__all__ = ["Call", "Workspace", "automation", "executed", "hook", "listener", "of_type"]
