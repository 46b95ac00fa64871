"""Running automations over HTTP: webhooks (public) and the test route (spec §2.3, §10)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from api.bodies import JsonBody, WebhookBody, webhook_headers, webhook_query
from api.client import request_client_address
from api.cookies import CsrfError
from api.deps import ServicesDep, identify
from api.openapi import ANY_JSON, json_body
from api.permissions import PUBLIC_WEBHOOK, CanTest
from core.runs.launcher import RunOutcome, StreamedRun
from core.runs.triggers import trigger_test, trigger_webhook
from schemas.api.runs import TestBody
from schemas.errors import InvalidArgumentsError, TidewayError, UnauthorizedError
from schemas.requests import parse_body

router = APIRouter(prefix="/v2/workspaces/{workspace_id}", tags=["runs"])
WEBHOOK_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def output_response(outcome: RunOutcome) -> JSONResponse:
    """The output as JSON whatever it is (DECISIONS 12)."""
    return JSONResponse(outcome.output, status_code=outcome.status or 200, headers=outcome.headers or None)


def sse_data(value: Any) -> str:
    return f"data: {json.dumps(value, ensure_ascii=False, separators=(',', ':'), default=str)}\n\n"


def sse_response(events: AsyncIterator[str], status: int | None, headers: dict[str, str]) -> StreamingResponse:
    headers = {**headers, "cache-control": "no-cache", "connection": "keep-alive", "x-accel-buffering": "no"}
    return StreamingResponse(events, status_code=status or 200, media_type="text/event-stream", headers=headers)


async def streamed_response(run: StreamedRun) -> Response:
    """A webhook run that may set ``$http.chunk``: plain JSON if it ends without a chunk,
    otherwise Server-Sent Events written as the chunks are set (spec §2.2): one ``data:`` per
    chunk, ``data: {"keepAlive":true}`` every ``sseKeepAlive`` ms while waiting, and the final
    output (or the run's error) as the last event unless it is ``{}``. The whole answer lasts at
    most WEBHOOK_TIMEOUT_SECONDS: a 504 before the first chunk, a last ``WebhookTimeoutError``
    event after it (the run goes on either way)."""
    first = await run.poll(0)
    if first.done and not first.chunks:
        return output_response(await run.result())

    async def events() -> AsyncIterator[str]:
        poll = first
        keepalive = poll.keepalive_ms
        try:
            while True:
                for chunk in poll.chunks:
                    yield sse_data(chunk)
                if poll.done:
                    break
                pending = asyncio.ensure_future(run.poll(poll.next))
                try:
                    while not (await asyncio.wait({pending}, timeout=keepalive / 1000 if keepalive else None))[0]:
                        yield sse_data({"keepAlive": True})
                finally:
                    pending.cancel()  # the client went away: stop polling (the run itself goes on)
                poll = pending.result()
                keepalive = poll.keepalive_ms or keepalive
            outcome = await run.result()
        except TidewayError as exc:  # the run's error, or the caller's deadline
            yield sse_data(exc.to_dict())
            return
        if outcome.output not in ({}, None):
            yield sse_data(outcome.output)

    return sse_response(events(), first.status, first.headers)


async def webhook(workspace_id: str, endpoint: str, request: Request, services: ServicesDep,
                  body: Annotated[Any, Depends(WebhookBody())]) -> Response:
    """Public: a missing or foreign Authorization header is just data for the automation; a valid
    user token makes its user and session those of the run (``user``/``session`` contexts,
    ``source.userId`` of its events) and is what an automation with ``authorizations`` checks.
    An unknown workspace is a 404 from ``trigger_webhook`` (one database read per call)."""
    try:
        actor = await identify(request, services)
    except (UnauthorizedError, CsrfError):  # a stale token or a cookie without CSRF: an anonymous caller
        actor = None
    query = request.url.query
    http = {"method": request.method, "path": request.url.path,
            "originalUrl": request.url.path + (f"?{query}" if query else ""),
            "hostname": request.url.hostname, "ip": request_client_address(request)}
    outcome = await trigger_webhook(
        services, workspace_id, unquote(endpoint), method=request.method.upper(),
        headers=webhook_headers(request), query=webhook_query(request), body=body, http=http,
        correlation_id=request.headers.get("x-correlation-id") or None,
        user_id=actor.user_id if actor else None, session_id=actor.session_id if actor else None,
        api_key_id=actor.api_key.id if actor and actor.api_key else None,
        # A retried call with the same key returns the first run's result (spec §2.3, docs/decisions.md).
        idempotency_key=request.headers.get("idempotency-key") or None)
    if isinstance(outcome, StreamedRun):
        return await streamed_response(outcome)
    return output_response(outcome)


# One route per method, so each has its own operation in /openapi.json. The body is raw: JSON,
# urlencoded, multipart or text, whatever the automation expects (docs/api.md, exclusions).
for _method in WEBHOOK_METHODS:
    router.add_api_route("/webhooks/{endpoint:path}", webhook, methods=[_method], name=f"webhook_{_method.lower()}",
                         dependencies=[Depends(PUBLIC_WEBHOOK)], response_model=None,
                         summary=f"Run the automation of a webhook endpoint ({_method})")


@router.post("/test/{slug}", response_model=None, responses=ANY_JSON, openapi_extra=json_body(TestBody))
async def test_automation(workspace_id: str, slug: str, services: ServicesDep, actor: CanTest,
                          body: Annotated[Any, Depends(JsonBody())]) -> JSONResponse:
    """Run the automation with ``payload`` and answer its output (any JSON value, DECISIONS 12)."""
    payload = parse_body(TestBody, body, what='test body (expected {"payload": {...}})',
                         error=InvalidArgumentsError).payload
    return output_response(await trigger_test(services, workspace_id, slug, payload, user_id=actor.user_id,
                                                session_id=actor.session_id,
                                                api_key_id=actor.api_key.id if actor.api_key else None))
