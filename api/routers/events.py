"""Reading a workspace's events: search (``GET …/events``) and the live feed (``GET …/events/stream``,
Server-Sent Events, DECISIONS 20). Sending events is ``api/routers/emit.py``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from api.authorization import Actor, actor_permissions
from api.client import request_client_address
from api.deps import ServicesDep
from api.permissions import EventReader
from core.access.permissions.checks import event_readable
from core.events.filters import depth_allows
from core.events.search import InvalidQueryError, parse_search_params, query_params, run_search
from core.events.store import max_seq
from core.events.subscriptions import SubscriptionFilters, engine_query_from_params
from core.events.user_topics import Audience, event_target, topics_of
from core.services import Services
from schemas.api.events import EventsPage

router = APIRouter(prefix="/v2/workspaces/{workspace_id}/events", tags=["events"])

# Default; a Settings field of the same name overrides it.
EVENTS_STREAM_KEEPALIVE_SECONDS = 15.0
STREAM_PARAMS = frozenset({"after"})  # stream-only query parameters (not filters)
EVENT_STREAM: dict[int | str, dict[str, Any]] = {200: {"description": "Server-Sent Events: `id: <seq>` and `data: <event JSON>` per event",
                      "content": {"text/event-stream": {"schema": {"type": "string"}}}}}


async def audience_of(services: Services, actor: Actor, workspace_id: str) -> Audience:
    """Whom the caller is to targeted events: its user, its session, the workspace's user topics
    it is a member of (``core.events.user_topics``)."""
    async with services.db.session() as session:
        topics = await topics_of(session, workspace_id, actor.user_id)
    return Audience(workspace_id, actor.user_id, actor.session_id, topics)


async def readable_by(services: Services, actor: Actor, workspace_id: str,
                      audience: Audience) -> Callable[[dict[str, Any]], bool] | None:
    """The caller's read check on events (spec §8.4), or None when every event is readable: owners
    and editors read the workspace's events, everyone else what they sent in their session and
    what is targeted to them (their user, their session, a topic they are a member of), plus
    the DSUL rules; superadmins read everything."""
    if actor.superadmin:
        return None
    perms = await actor_permissions(services, actor, workspace_id)
    return lambda event: depth_allows(VISIBLE_APP_DEPTH, event) and (
        event_readable(perms, event) or audience.reads_by_topic(event))


# Events of app instances nested inside the workspace's apps (depth 2 and more) belong to those
# apps: the reference hides them from the root workspace "for security reasons", whatever
# ``appInstanceDepth`` asks (issue 14). Only superadmins read them; every read path goes through
# ``readable_by``.
VISIBLE_APP_DEPTH = 1


def visible_depth(actor: Actor, requested: int | None) -> int | None:
    """The ``appInstanceDepth`` a search runs with: what was asked, capped for non-superadmins."""
    if actor.superadmin:
        return requested
    return VISIBLE_APP_DEPTH if requested is None else min(requested, VISIBLE_APP_DEPTH)


@router.get("", response_model=EventsPage, response_model_exclude_unset=True)
async def list_events(workspace_id: str, request: Request, services: ServicesDep, actor: EventReader) -> dict[str, Any]:
    """Search the workspace's events; see ``core.events.search`` for every parameter."""
    parsed = parse_search_params(query_params(request.query_params.multi_items()))
    parsed.max_depth = visible_depth(actor, parsed.max_depth)
    await services.workspaces.get_row(workspace_id)
    readable = await readable_by(services, actor, workspace_id, await audience_of(services, actor, workspace_id))
    async with services.db.session() as session:
        events = await run_search(session, workspace_id, parsed, readable=readable)
    return {"result": {"events": events}}


def _setting(services: Any, name: str, default: float) -> float:
    return float(getattr(services.settings, name.lower(), default) or default)


def _start_seq(request: Request) -> int | None:
    raw = request.headers.get("last-event-id") or request.query_params.get("after")
    if raw is None or not raw.strip():
        return None
    try:
        value = int(raw)
    except ValueError:
        raise InvalidQueryError(f"Last-Event-ID / after must be an event sequence number, got {raw!r}",
                                {"parameter": "after"}) from None
    if value < 0:
        raise InvalidQueryError("Last-Event-ID / after must not be negative", {"parameter": "after"})
    return value


def stream_caller(actor: Actor, request: Request) -> str:
    """Whom a stream counts against (EVENTS_STREAM_MAX_PER_CALLER): a user, an API key, or, for
    anonymous sessions (anyone can mint as many as they like), the client address."""
    if actor.anonymous and actor.id:
        return f"address:{request_client_address(request)}"
    if actor.id:
        return f"user:{actor.id}"
    if actor.api_key is not None:
        return f"apikey:{actor.api_key.id}"
    return f"address:{request_client_address(request)}"


class SubscriptionResponse(StreamingResponse):
    """Frees the stream's slot however the response ends, even if its body never started."""

    def __init__(self, content: AsyncIterator[str], release: Callable[[], None], **kwargs: Any):
        super().__init__(content, **kwargs)
        self.release = release

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.release()


@router.get("/stream", response_class=StreamingResponse, responses=EVENT_STREAM)
async def stream_events(workspace_id: str, request: Request, services: ServicesDep,
                        actor: EventReader) -> StreamingResponse:
    """Live events as ``text/event-stream``: ``id: <seq>`` and ``data: <event JSON>`` per event,
    with the filters of ``GET …/events`` (paging ignored), ephemeral events included. Starts
    now, or after ``Last-Event-ID`` / ``?after=<seq>``; a comment line keeps idle
    connections open. The process's event hub reads the database; this stream only filters
    what the hub hands it (``core.events.hub``)."""
    params = query_params(request.query_params.multi_items())
    parse_search_params(params, ignore=STREAM_PARAMS)  # 400 before the stream starts
    filters = SubscriptionFilters()
    filters.save("stream", engine_query_from_params(params, ignore=STREAM_PARAMS))
    await services.workspaces.get_row(workspace_id)
    start = _start_seq(request)
    if start is None:
        async with services.db.session() as session:
            start = await max_seq(session)
    # The topics after the start point: a topic joined later arrives as an event (observe).
    audience = await audience_of(services, actor, workspace_id)
    readable = await readable_by(services, actor, workspace_id, audience)
    keepalive = _setting(services, "EVENTS_STREAM_KEEPALIVE_SECONDS", EVENTS_STREAM_KEEPALIVE_SECONDS)

    def accepts(event: dict[str, Any]) -> bool:
        audience.observe(event)
        if not filters.match(event):
            return False
        # An event with a target reaches its addressees only, whoever else may read it.
        target = event_target(event)
        if target is not None and not audience.addressed(target):
            return False
        return readable is None or readable(event)

    hub = services.event_hub
    sub = hub.subscribe(workspace_id, stream_caller(actor, request), accepts)  # 429 past a cap

    async def feed() -> AsyncIterator[str]:
        yield f": stream of workspace {workspace_id} after {start}\n\n"
        async for batch in hub.deliveries(sub, start, keepalive):
            if not batch:
                yield ": keep-alive\n\n"
            for seq, event in batch:
                data = json.dumps(event, ensure_ascii=False, separators=(",", ":"), default=str)
                yield f"id: {seq}\ndata: {data}\n\n"
        if sub.lagging:
            yield ": too far behind: reconnect with Last-Event-ID to resume\n\n"

    return SubscriptionResponse(feed(), lambda: hub.unsubscribe(sub), media_type="text/event-stream",
                                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
