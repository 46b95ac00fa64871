"""Reading request bodies within limits and parsing them the way webhooks expect (spec §2.3)."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from starlette.datastructures import UploadFile

from core.errors import PayloadTooLargeError, TidewayError


class InvalidBodyError(TidewayError):
    default_message = "Invalid request body"


async def read_limited(request: Request, limit: int, what: str = "body") -> bytes:
    """Read the whole body, refusing more than ``limit`` bytes (413) without buffering it all."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"Request {what} too large ({declared} bytes > {limit} bytes)",
                                   {"limit": limit, "size": int(declared)})
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"Request {what} too large (more than {limit} bytes)", {"limit": limit})
        chunks.append(chunk)
    return b"".join(chunks)


def content_type(request: Request) -> str:
    return (request.headers.get("content-type") or "").split(";")[0].strip().lower()


def parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidBodyError(f"Malformed JSON body: {exc}") from None
    except RecursionError:
        raise InvalidBodyError("JSON body nested too deeply") from None


def _spread(value: Any) -> Any:
    # A JSON array body is spread into an index-keyed object (spec §2.3).
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value)}
    return value


async def webhook_body(request: Request, limit: int) -> Any:
    ctype = content_type(request)
    if ctype == "multipart/form-data":
        return await _multipart(request, limit)
    raw = await read_limited(request, limit)
    if not raw:
        return {}
    if ctype == "application/json" or ctype.endswith("+json"):
        return _spread(parse_json(raw))
    if ctype == "application/x-www-form-urlencoded":
        return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    text = raw.decode("utf-8", "replace")
    if not ctype:
        try:
            return _spread(json.loads(text))
        except (ValueError, RecursionError):
            return text
    return text


async def _multipart(request: Request, limit: int) -> dict[str, Any]:
    # Files become {originalname, encoding, mimetype, size, base64}; repeated names become lists.
    file_limit = max(limit, 10 * 1024 * 1024)
    form = await request.form(max_files=50, max_fields=50, max_part_size=1024 * 1024)
    body: dict[str, Any] = {}
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            content = await value.read()
            if len(content) > file_limit:
                raise PayloadTooLargeError(f"File {value.filename!r} too large (> {file_limit} bytes)")
            item: Any = {"originalname": value.filename, "encoding": "7bit",
                         "mimetype": value.content_type, "size": len(content),
                         "base64": base64.b64encode(content).decode()}
            name = name or "file"
        else:
            item = value
        if name in body:
            prev = body[name]
            body[name] = [*prev, item] if isinstance(prev, list) else [prev, item]
        else:
            body[name] = item
    return body


def webhook_headers(request: Request) -> dict[str, str]:
    """Every header except cookie, host and x-* (x-prismeai-workspace-id is kept)."""
    return {k: v for k, v in request.headers.items()
            if k not in ("cookie", "host") and (not k.startswith("x-") or k == "x-prismeai-workspace-id")}
