"""Reading request bodies within limits and parsing them the way webhooks expect (spec §2.3)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

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


@dataclass(frozen=True)
class UploadLimits:
    """Multipart limits (spec §2.3): one file, number of parts, one non-file field."""

    file_bytes: int = 10 * 1024 * 1024
    parts: int = 50
    field_bytes: int = 1024 * 1024


async def webhook_body(request: Request, limit: int, uploads: UploadLimits | None = None) -> Any:
    ctype = content_type(request)
    if ctype == "multipart/form-data":
        return await _multipart(request, uploads or UploadLimits())
    raw = await read_limited(request, limit)
    if not raw:
        return {}
    if ctype == "application/json" or ctype.endswith("+json"):
        return _spread(parse_json(raw))
    if ctype == "application/x-www-form-urlencoded":
        return _urlencoded(raw)
    text = raw.decode("utf-8", "replace")
    if not ctype:
        try:
            return _spread(json.loads(text))
        except (ValueError, RecursionError):
            return text
    return text


def _add(body: dict[str, Any], name: str, item: Any) -> None:
    # A repeated name gives a list of the values, in order (spec §2.3).
    if name in body:
        prev = body[name]
        body[name] = [*prev, item] if isinstance(prev, list) else [prev, item]
    else:
        body[name] = item


def _urlencoded(raw: bytes) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for key, value in parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True):
        _add(body, key, value)
    return body


class _Part:
    def __init__(self) -> None:
        self.headers: dict[str, bytes] = {}
        self.data = bytearray()
        self.name: str | None = None
        self.filename: str | None = None
        self.mimetype: str | None = None
        self.encoding = "7bit"


async def _multipart(request: Request, limits: UploadLimits) -> dict[str, Any]:
    """Stream-parse multipart/form-data with python-multipart, enforcing the limits as the bytes
    arrive. Files become {originalname, encoding, mimetype, size, base64}; a file part without
    a name is ``file``; repeated names become lists."""
    options = parse_options_header(request.headers.get("content-type", ""))[1]
    boundary = options.get(b"boundary")
    if not boundary:
        raise InvalidBodyError("Multipart body without a boundary")
    parts: list[_Part] = []
    state: dict[str, Any] = {"field": b"", "value": b""}

    def on_part_begin() -> None:
        if len(parts) >= limits.parts:
            raise PayloadTooLargeError(f"Too many multipart parts (more than {limits.parts})",
                                       {"limit": limits.parts})
        parts.append(_Part())

    def on_part_data(data: bytes, start: int, end: int) -> None:
        part = parts[-1]
        part.data += data[start:end]
        if part.filename is not None and len(part.data) > limits.file_bytes:
            raise PayloadTooLargeError(f"File {part.filename!r} too large (more than {limits.file_bytes} bytes)",
                                       {"limit": limits.file_bytes, "field": part.name})
        if part.filename is None and len(part.data) > limits.field_bytes:
            raise PayloadTooLargeError(f"Field {part.name!r} too large (more than {limits.field_bytes} bytes)",
                                       {"limit": limits.field_bytes, "field": part.name})

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]

    def on_header_end() -> None:
        parts[-1].headers[state["field"].decode("latin-1").lower()] = state["value"]
        state["field"], state["value"] = b"", b""

    def on_headers_finished() -> None:
        part = parts[-1]
        disposition = parse_options_header(part.headers.get("content-disposition", b""))[1]
        if b"name" in disposition:
            part.name = disposition[b"name"].decode("utf-8", "replace")
        if b"filename" in disposition:
            part.filename = disposition[b"filename"].decode("utf-8", "replace")
            ctype = part.headers.get("content-type")
            part.mimetype = ctype.decode("latin-1") if ctype else "application/octet-stream"
            transfer = part.headers.get("content-transfer-encoding")
            part.encoding = transfer.decode("latin-1") if transfer else "7bit"

    parser = MultipartParser(boundary, {  # type: ignore[arg-type]
        "on_part_begin": on_part_begin, "on_part_data": on_part_data, "on_header_field": on_header_field,
        "on_header_value": on_header_value, "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished})
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError as exc:
        raise InvalidBodyError(f"Malformed multipart body: {exc}") from None
    body: dict[str, Any] = {}
    for part in parts:
        if part.filename is not None:
            _add(body, part.name or "file", {
                "originalname": part.filename, "encoding": part.encoding, "mimetype": part.mimetype,
                "size": len(part.data), "base64": base64.b64encode(bytes(part.data)).decode()})
        elif part.name:  # a field without a name carries nothing addressable
            _add(body, part.name, part.data.decode("utf-8", "replace"))
    return body


def webhook_headers(request: Request) -> dict[str, str]:
    """Every header except cookie, host and x-* (x-prismeai-workspace-id is kept)."""
    return {k: v for k, v in request.headers.items()
            if k not in ("cookie", "host") and (not k.startswith("x-") or k == "x-prismeai-workspace-id")}
