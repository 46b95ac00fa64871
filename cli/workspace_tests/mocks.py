"""Fetch mocks: which mock answers a request, what the run receives, and (``allowNetwork``) the
real request for what no mock answers. A request neither mocked nor allowed is a problem of the
case (:class:`RunnerProblem`), never a ``FetchError`` an automation's ``try`` could swallow."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import httpx

from cli.workspace_tests.format import FetchMock

NETWORK_TIMEOUT = 30.0


class RunnerProblem(Exception):
    """Something the test environment cannot provide (an unmocked fetch, an app that is neither
    built in nor vendored): the case fails with this message. Not a ``TidewayError``, so no
    ``try`` of the automation catches it."""


def glob_regex(pattern: str) -> re.Pattern[str]:
    """``*`` matches any characters (``/`` included); everything else is literal."""
    return re.compile("^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$")


def full_url(request: dict[str, Any]) -> str:
    """The request's URL with its ``query`` field appended, as it goes on the wire."""
    url = str(request.get("url") or "")
    query = request.get("query")
    if isinstance(query, dict) and query:
        pairs = [(str(k), str(v)) for k, v in query.items() if not isinstance(v, list)]
        pairs += [(str(k), str(item)) for k, v in query.items() if isinstance(v, list) for item in v]
        url += ("&" if "?" in url else "?") + urlencode(pairs)
    return url


def url_matches(pattern: str, url: str) -> bool:
    """A ``*`` pattern without ``?`` ignores the URL's query string."""
    target = url if "?" in pattern else url.split("?", 1)[0]
    return bool(glob_regex(pattern).match(target))


class FetchMocks:
    """The mocks of one case (its own first, then its file's), with their use counts."""

    def __init__(self, mocks: list[FetchMock]):
        self.mocks = mocks
        self.used = [0] * len(mocks)

    def find(self, method: str, url: str) -> FetchMock | None:
        for index, mock in enumerate(self.mocks):
            if mock.method is not None and mock.method.upper() != method:
                continue
            if mock.url is not None and not url_matches(mock.url, url):
                continue
            if mock.url_regex is not None and not re.search(mock.url_regex, url):
                continue
            if mock.times is not None and self.used[index] >= mock.times:
                continue
            self.used[index] += 1
            return mock
        return None


def mocked_response(mock: FetchMock, request: dict[str, Any]) -> dict[str, Any]:
    """What the fetch activity would have answered (activities/fetch.py): ``{status, headers,
    body}``, an event stream as chunks, or ``{status: 0, error}``."""
    if mock.error is not None:
        return {"status": 0, "error": mock.error}
    headers = {str(k).lower(): v for k, v in mock.headers.items()}
    if mock.sse is not None:
        headers.setdefault("content-type", "text/event-stream")
        return {"status": mock.status, "headers": headers, "stream": True,
                "body": [{"data": [item]} for item in mock.sse]}
    if isinstance(mock.body, dict | list):
        headers.setdefault("content-type", "application/json")
    result: dict[str, Any] = {"status": mock.status, "headers": headers, "body": mock.body}
    if request.get("stream"):  # a plain answer to a streamed fetch is one chunk (spec §3.9)
        result.update(stream=True, body=[{"data": [mock.body]}])
    return result


async def network_fetch(request: dict[str, Any]) -> dict[str, Any]:
    """The request for real (``allowNetwork: true``), shaped like the fetch activity's answer:
    no egress policy, no retries, no blob references (this runs on the tester's machine)."""
    # Imported here: the fetch activity's module pulls in the API's identity code, which a run
    # without network never needs (a second of start-up).
    from activities.fetch import build_request, is_event_stream, parse_body, response_headers

    url = request.get("url")
    try:
        async with httpx.AsyncClient(timeout=NETWORK_TIMEOUT, follow_redirects=True) as client:
            response = await client.send(client.build_request(**build_request(request)), stream=True)
            try:
                result: dict[str, Any] = {"status": response.status_code, "headers": response_headers(response)}
                if is_event_stream(response):
                    result.update(stream=True, body=await event_stream_chunks(response))
                    return result
                await response.aread()
            finally:
                await response.aclose()
    except httpx.TimeoutException:
        return {"status": 0, "error": f"Request to {url} timed out after {NETWORK_TIMEOUT} s"}
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
        return {"status": 0, "error": f"Request to {url} failed: {exc}"}
    body = parse_body(response)
    if request.get("stream"):
        result.update(stream=True, body=[{"data": [body]}])
    else:
        result["body"] = body
    return result


async def event_stream_chunks(response: httpx.Response) -> list[dict[str, Any]]:
    """The chunks of an SSE response, as the fetch activity reads them (without its activity
    heartbeats, which need a Temporal activity context)."""
    from activities.fetch import SseParser

    parser = SseParser()
    chunks: list[dict[str, Any]] = []
    async for line in response.aiter_lines():
        chunk = parser.line(line)
        if chunk is not None:
            chunks.append(chunk)
    last = parser.end()
    if last is not None:
        chunks.append(last)
    return chunks


def unmocked_message(method: str, url: str) -> str:
    return (f"unmocked fetch: {method} {url} (add a mock under mocks.fetch, or set allowNetwork: true "
            "to send it for real)")
