"""The fetch activity (spec §3.9, DECISIONS 13): outbound HTTP with httpx.

A regular activity (not local): a call may be slow, and it must survive a worker
restart on its own.
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

from core.blobs import BlobStore
from workflows import activity_names as names

USER_AGENT = "Prisme.ai Workspaces"
INLINE_LIMIT = 200 * 1024
RETRIES = 2  # spec §3.9: 2 retries on a connection reset
# Failures before any response: refused/reset connections, a server closing without answering.
RETRIED_ERRORS = (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


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
    kwargs: dict[str, Any] = {"method": method, "url": req["url"], "params": _query_pairs(req.get("query"))}
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


class FetchActivities:
    def __init__(self, blobs: BlobStore, timeout: float):
        self.blobs = blobs
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=True)
        return self._client

    async def _send(self, kwargs: dict[str, Any]) -> httpx.Response:
        """One request, retried RETRIES times when the connection fails or is reset before a
        response arrives (ECONNRESET in the reference); never on a timeout or an HTTP status."""
        for attempt in range(RETRIES + 1):
            try:
                return await self.client.request(**kwargs)
            except RETRIED_ERRORS:
                if attempt == RETRIES:
                    raise
                activity.logger.info("fetch %s: connection reset, retry %d", kwargs.get("url"), attempt + 1)
                await asyncio.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    @activity.defn(name=names.FETCH)
    async def fetch(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await self._send(build_request(request))
        except httpx.TimeoutException:
            return {"status": 0, "error": f"Request to {request.get('url')} timed out after {self.timeout} s"}
        except (httpx.HTTPError, ValueError) as exc:
            return {"status": 0, "error": f"Request to {request.get('url')} failed: {exc}"}
        result: dict[str, Any] = {"status": response.status_code, "headers": response_headers(response)}
        if request.get("outputMode") == "data_url":
            # The data URL is the body (so a large one travels by reference like any body).
            ctype = response.headers.get("content-type") or "application/octet-stream"
            body: Any = f"data:{ctype};base64,{base64.b64encode(response.content).decode()}"
            result["data_url"] = True
        else:
            body = parse_body(response)
        size = len(body) if result.get("data_url") else len(response.content)
        if size > INLINE_LIMIT:
            blob_id, chunks = await self.blobs.store(body)
            result.update(body=None, body_ref=blob_id, body_chunks=chunks)
        else:
            result["body"] = body
        return result
