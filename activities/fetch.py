"""The fetch activity (spec §3.9, DECISIONS 13): outbound HTTP with httpx.

A regular activity (not local): a call may be slow, and it must survive a worker
restart on its own. Server-Sent Events responses (and any response of a fetch with
``stream``) are read to the end and returned as a list of chunks
``{data: [...], event?, id?, retry?, comment?}``; the workflow turns them into the
output items and the ``stream.event`` events (docs/fetch.md).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from typing import Any
from urllib.parse import urlencode

import httpx
from temporalio import activity

from activities.egress import EgressRefusedError
from activities.egress_http import EgressGuard, egress_client
from activities.fetch_auth import FetchAuthError, OwnApi, RequestAuth
from activities.fetch_files import OwnFileRefusedError, OwnFiles
from core.runs.blobs import BlobStore
from schemas import activity_names as names

USER_AGENT = "Prisme.ai Workspaces"
INLINE_LIMIT = 200 * 1024
RETRIES = 2  # spec §3.9: 2 retries on a connection reset
# Failures before any response: refused/reset connections, a server closing without answering.
RETRIED_ERRORS = (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)
# Stream caps when the request does not carry the run's settings (FETCH_STREAM_MAX_*).
DEFAULT_MAX_CHUNKS = 10_000
DEFAULT_MAX_BYTES = 10 * 1024 * 1024

UNVERIFIED_LIMITS = httpx.Limits(max_connections=20, max_keepalive_connections=5)


class StreamLimitError(Exception):
    """A streamed response went over FETCH_STREAM_MAX_CHUNKS or FETCH_STREAM_MAX_BYTES."""


def _query_pairs(query: Any) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    if isinstance(query, dict):
        for key, value in query.items():
            for item in value if isinstance(value, list) else [value]:
                pairs.append((str(key), item if isinstance(item, str) else json.dumps(item) if isinstance(item, dict | list) else str(item).lower() if isinstance(item, bool) else str(item)))
    return pairs


def _maybe_base64(value: str) -> bytes | None:
    head = value[:1024]
    if value in ("true", "false") or not head:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def _multipart(parts: Any) -> list[tuple[str, Any]]:
    files: list[tuple[str, Any]] = []
    for part in parts if isinstance(parts, list) else []:
        if not isinstance(part, dict) or "fieldname" not in part:
            continue
        value = part.get("value")
        if isinstance(value, str):
            content: bytes = _maybe_base64(value) or value.encode()
        elif isinstance(value, list):
            content = bytes(int(b) & 0xFF for b in value)
        else:
            content = json.dumps(value).encode()
        files.append((str(part["fieldname"]), (part.get("filename"), content, part.get("contentType"))))
    return files


def build_request(req: dict[str, Any]) -> dict[str, Any]:
    """Translate the instruction's fields into httpx.request keyword arguments."""
    method = str(req.get("method") or "GET").upper()
    headers = {str(k).lower(): str(v) for k, v in (req.get("headers") or {}).items()}
    headers.setdefault("x-correlation-id", str(req.get("correlationId", "")))
    headers["user-agent"] = USER_AGENT
    headers["x-prismeai-workspace-id"] = str(req.get("workspaceId", ""))
    kwargs: dict[str, Any] = {"method": method, "url": req["url"]}
    pairs = _query_pairs(req.get("query"))
    if pairs:  # appended to the URL's own query string (httpx would replace it)
        kwargs["params"] = [*httpx.URL(req["url"]).params.multi_items(), *pairs]
    body = req.get("body")
    if req.get("multipart"):
        headers.pop("content-type", None)  # httpx writes the boundary
        kwargs["files"] = _multipart(req["multipart"])
    elif body is not None and method != "GET":
        headers.setdefault("content-type", "application/json")  # spec §3.9: whatever the body
        if "x-www-form-urlencoded" in headers["content-type"] and isinstance(body, dict):
            kwargs["content"] = urlencode(_query_pairs(body))
        elif isinstance(body, dict | list):
            kwargs["content"] = json.dumps(body)
        else:
            kwargs["content"] = body if isinstance(body, str) else json.dumps(body)
    kwargs["headers"] = headers
    return kwargs


def response_headers(response: httpx.Response) -> dict[str, str | list[str]]:
    """Lower-case names; a header sent once is a string, a repeated one a list (spec §3.9)."""
    headers: dict[str, str | list[str]] = {}
    for name, value in response.headers.multi_items():
        prev = headers.get(name)
        headers[name] = value if prev is None else [*prev, value] if isinstance(prev, list) else [prev, value]
    return headers


def parse_body(response: httpx.Response) -> Any:
    ctype = response.headers.get("content-type", "").lower()
    if "application/json" in ctype or ctype.endswith("+json"):
        try:
            return response.json()
        except ValueError:
            return response.text
    if ctype.startswith(("image/", "audio/", "video/")) or ctype == "application/octet-stream":
        return base64.b64encode(response.content).decode()
    return response.text


def is_event_stream(response: httpx.Response) -> bool:
    return response.headers.get("content-type", "").lower().startswith("text/event-stream")


def _sse_value(value: str) -> Any:
    """A ``data:`` line starting with ``[`` or ``{`` is JSON-parsed when it parses (spec §3.9)."""
    if value.lstrip().startswith(("[", "{")):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class SseParser:
    """Server-Sent Events, line by line (WHATWG field rules). One chunk per event: every ``data:``
    line is one entry of ``data``; ``event``, ``id``, ``retry`` and ``:comment`` lines are kept."""

    def __init__(self) -> None:
        self.pending: dict[str, Any] = {}

    def line(self, line: str) -> dict[str, Any] | None:
        if not line:
            return self.end()
        if line.startswith(":"):
            comment = line[1:].removeprefix(" ")
            previous = self.pending.get("comment")
            self.pending["comment"] = comment if previous is None else f"{previous}\n{comment}"
            return None
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "data":
            self.pending.setdefault("data", []).append(_sse_value(value))
        elif field in ("event", "id"):
            self.pending[field] = value
        elif field == "retry" and value.isdigit():
            self.pending["retry"] = int(value)
        return None

    def end(self) -> dict[str, Any] | None:
        """The pending event, if it has any field (also called when the stream closes)."""
        if not self.pending:
            return None
        chunk, self.pending = {"data": [], **self.pending}, {}
        return chunk


async def read_event_stream(response: httpx.Response, max_chunks: int, max_bytes: int,
                            with_times: bool) -> tuple[list[dict[str, Any]], list[int], int]:
    """All events of an SSE response, in order, with the ms offset of each when asked."""
    parser = SseParser()
    chunks: list[dict[str, Any]] = []
    times: list[int] = []
    start = asyncio.get_running_loop().time()
    size = 0
    buffer = b""

    def add(chunk: dict[str, Any] | None) -> None:
        if chunk is None:
            return
        if len(chunks) >= max_chunks:
            raise StreamLimitError(f"more than {max_chunks} chunks (FETCH_STREAM_MAX_CHUNKS)")
        chunks.append(chunk)
        if with_times:
            times.append(int((asyncio.get_running_loop().time() - start) * 1000))
        activity.heartbeat(len(chunks))

    async for data in response.aiter_bytes():
        size += len(data)
        if size > max_bytes:
            raise StreamLimitError(f"more than {max_bytes} bytes (FETCH_STREAM_MAX_BYTES)")
        buffer += data
        *lines, buffer = buffer.split(b"\n")
        for raw in lines:
            add(parser.line(raw.removesuffix(b"\r").decode("utf-8", "replace")))
    if buffer:
        add(parser.line(buffer.removesuffix(b"\r").decode("utf-8", "replace")))
    add(parser.end())
    return chunks, times, size


class FetchActivities:
    """``egress`` decides which addresses a fetch may connect to (activities/egress.py): every
    connection of the client, redirect hops included, goes through it. ``own_api`` is where
    Tideway's own API answers and the issuer of forwarded tokens (``auth.prismeai``; without it
    such a fetch fails with a FetchError). ``own_files`` answers the content URLs of workspace
    files below it from the store (activities/fetch_files.py: the run's own workspace only)."""

    def __init__(self, blobs: BlobStore, timeout: float, egress: EgressGuard, own_api: OwnApi | None = None,
                 own_files: OwnFiles | None = None):
        self.blobs = blobs
        self.timeout = timeout
        self.egress = egress
        self.own_api = own_api
        self.own_files = own_files or (OwnFiles(blobs.db, own_api.base) if own_api is not None else None)
        self._client: httpx.AsyncClient | None = None
        self._unverified_client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = egress_client(self.egress, self.timeout)
        return self._client

    @property
    def unverified_client(self) -> httpx.AsyncClient:
        """The client of ``allowSelfSignedCert: true`` (certificates unchecked, the egress policy
        kept), made on first use, with a small pool: few requests ask for it."""
        if self._unverified_client is None:
            self._unverified_client = egress_client(self.egress, self.timeout, verify=False, limits=UNVERIFIED_LIMITS)
        return self._unverified_client

    async def _send(self, kwargs: dict[str, Any], auth: RequestAuth | None = None,
                    verify: bool = True) -> httpx.Response:
        """One request, retried RETRIES times when the connection fails or is reset before a
        response arrives (ECONNRESET in the reference); never on a timeout or an HTTP status.
        An event stream is returned open (the caller reads and closes it), any other response
        is read whole. ``auth`` is applied to each attempt's final request (a fresh signature)."""
        client = self.client if verify else self.unverified_client
        for attempt in range(RETRIES + 1):
            try:
                request = client.build_request(**kwargs)
                if auth is not None:
                    await auth.apply(request)
                response = await client.send(request, stream=True,
                                             follow_redirects=auth is None or auth.follow_redirects)
                if is_event_stream(response):
                    return response
                try:
                    await response.aread()
                finally:
                    await response.aclose()
                return response
            except RETRIED_ERRORS:
                if attempt == RETRIES:
                    raise
                # The host only: a URL may carry credentials in its path or query.
                activity.logger.info("fetch to %s: connection reset, retry %d", httpx.URL(kwargs["url"]).host,
                                     attempt + 1)
                await asyncio.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        for client in (self._client, self._unverified_client):
            if client is not None:
                await client.aclose()

    @activity.defn(name=names.FETCH)
    async def fetch(self, request: dict[str, Any]) -> dict[str, Any]:
        own_file = self.own_files.target(request.get("url")) if self.own_files is not None else None
        try:
            if own_file is not None and self.own_files is not None:  # no connection, no egress check
                response = await self.own_files.answer(request, own_file)
            else:
                auth = RequestAuth.prepare(request, self.own_api)
                await self.egress.check_numeric_url(str(request.get("url")))
                response = await self._send(build_request(request), auth,
                                            verify=request.get("allowSelfSignedCert") is not True)
        except OwnFileRefusedError as refused:  # another workspace's file: never served to a run
            return {"status": 0, "error": str(refused)}
        except FetchAuthError as refused:  # before anything was sent
            return {"status": 0, "error": str(refused)}
        except EgressRefusedError as refused:  # never retried: the same request would be refused again
            return {"status": 0, "error": str(refused)}
        except httpx.TimeoutException:
            return {"status": 0, "error": f"Request to {request.get('url')} timed out after {self.timeout} s"}
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
            return {"status": 0, "error": f"Request to {request.get('url')} failed: {exc}"}
        result: dict[str, Any] = {"status": response.status_code, "headers": response_headers(response)}
        if is_event_stream(response):
            return await self._stream_result(request, response, result)
        if request.get("stream"):  # a plain response to a streamed fetch is one chunk (spec §3.9)
            result.update(stream=True)
            return await self._with_body(result, [{"data": [parse_body(response)]}], len(response.content))
        if request.get("outputMode") == "data_url":
            # The data URL is the body (so a large one travels by reference like any body).
            ctype = response.headers.get("content-type") or "application/octet-stream"
            body: Any = f"data:{ctype};base64,{base64.b64encode(response.content).decode()}"
            result["data_url"] = True
            return await self._with_body(result, body, len(body))
        if request.get("outputMode") == "base64":  # the response's bytes, whatever their type
            encoded = base64.b64encode(response.content).decode()
            result["base64"] = True
            return await self._with_body(result, encoded, len(encoded))
        return await self._with_body(result, parse_body(response), len(response.content))

    async def _stream_result(self, request: dict[str, Any], response: httpx.Response,
                             result: dict[str, Any]) -> dict[str, Any]:
        """Read an event stream to its end, within FETCH_TIMEOUT_SECONDS and the stream caps."""
        stream = request.get("stream")
        concatenate = stream.get("concatenate") if isinstance(stream, dict) else None
        with_times = isinstance(concatenate, dict) and isinstance(concatenate.get("throttle"), int | float)
        url = request.get("url")
        try:
            chunks, times, size = await asyncio.wait_for(read_event_stream(
                response, int(request.get("maxChunks") or DEFAULT_MAX_CHUNKS),
                int(request.get("maxBytes") or DEFAULT_MAX_BYTES), with_times), timeout=self.timeout)
        except StreamLimitError as exc:
            return {"status": 0, "error": f"Stream from {url} is too large: {exc}"}
        except TimeoutError:
            return {"status": 0, "error": f"Stream from {url} did not end within {self.timeout} s "
                                          "(FETCH_TIMEOUT_SECONDS)"}
        except httpx.HTTPError as exc:  # a reset in the middle of a stream is not retried
            return {"status": 0, "error": f"Stream from {url} failed: {exc!r}"}
        finally:
            await response.aclose()
        result["stream"] = True
        if with_times:
            result["times"] = times
        return await self._with_body(result, chunks, size)

    async def _with_body(self, result: dict[str, Any], body: Any, size: int) -> dict[str, Any]:
        if size > INLINE_LIMIT:
            blob_id, chunks = await self.blobs.store(body)
            result.update(body=None, body_ref=blob_id, body_chunks=chunks)
        else:
            result["body"] = body
        return result
