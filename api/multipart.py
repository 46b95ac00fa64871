"""Streamed multipart/form-data parsing within limits (webhook uploads, multipart imports).

The body is parsed as it arrives (python-multipart's callback parser): a limit is enforced as
soon as it is passed, so a hostile body is never read whole.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from fastapi import Request
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from schemas.errors import InvalidBodyError, PayloadTooLargeError


@dataclass(frozen=True)
class UploadLimits:
    """Multipart limits (spec §2.3): one file, number of parts, one non-file field, and the whole
    body (None: bounded by the others)."""

    file_bytes: int = 10 * 1024 * 1024
    parts: int = 50
    field_bytes: int = 1024 * 1024
    total_bytes: int | None = None
    # File parts written to a temporary file (in memory up to SPOOL_MEMORY_BYTES) rather than held
    # whole: workspace file uploads (docs/files.md), read back in chunks.
    spool_files: bool = False


SPOOL_MEMORY_BYTES = 1024 * 1024


# RFC 5987/6266 ``filename*=charset'lang'percent-encoded`` (python-multipart drops it).
EXTENDED_FILENAME = re.compile(rb"""(?:^|;)\s*filename\*\s*=\s*"?([^";]*)"?""", re.IGNORECASE)


def extended_filename(disposition: bytes) -> str | None:
    """The decoded ``filename*`` of a Content-Disposition, last path segment only (like the
    plain ``filename``), or None when there is none or it is malformed."""
    match = EXTENDED_FILENAME.search(disposition)
    if match is None:
        return None
    charset, _, rest = match.group(1).decode("latin-1").partition("'")
    _language, quoted, encoded = rest.partition("'")
    if not quoted:
        return None
    try:
        name = unquote(encoded, encoding=charset or "utf-8", errors="replace")
    except LookupError:  # an unknown charset: read as UTF-8
        name = unquote(encoded, encoding="utf-8", errors="replace")
    return name.replace("\\", "/").rsplit("/", 1)[-1]


class Part:
    def __init__(self) -> None:
        self.headers: dict[str, bytes] = {}
        self.data = bytearray()
        self.spool: tempfile.SpooledTemporaryFile[bytes] | None = None  # instead of ``data`` (spool_files)
        self.size = 0
        self.name: str | None = None
        self.filename: str | None = None
        self.mimetype: str | None = None
        self.encoding = "7bit"


def _check_declared(request: Request, limit: int | None, what: str) -> None:
    declared = request.headers.get("content-length")
    if limit is not None and declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"Request {what} too large ({declared} bytes > {limit} bytes)",
                                   {"limit": limit, "size": int(declared)})


async def parse_multipart(request: Request, limits: UploadLimits, what: str = "body") -> list[Part]:
    """The parts of a multipart/form-data body, in order. 413 as soon as a limit is passed."""
    options = parse_options_header(request.headers.get("content-type", ""))[1]
    boundary = options.get(b"boundary")
    if not boundary:
        raise InvalidBodyError("Multipart body without a boundary")
    _check_declared(request, limits.total_bytes, what)
    parts: list[Part] = []
    state: dict[str, Any] = {"field": b"", "value": b""}

    def on_part_begin() -> None:
        if len(parts) >= limits.parts:
            raise PayloadTooLargeError(f"Too many multipart parts (more than {limits.parts})",
                                       {"limit": limits.parts})
        parts.append(Part())

    def on_part_data(data: bytes, start: int, end: int) -> None:
        part = parts[-1]
        if part.spool is not None:
            part.spool.write(data[start:end])
        else:
            part.data += data[start:end]
        part.size += end - start
        if part.filename is not None and part.size > limits.file_bytes:
            raise PayloadTooLargeError(f"File {part.filename!r} too large (more than {limits.file_bytes} bytes)",
                                       {"limit": limits.file_bytes, "field": part.name})
        if part.filename is None and part.size > limits.field_bytes:
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
        raw_disposition = part.headers.get("content-disposition", b"")
        disposition = parse_options_header(raw_disposition)[1]
        if b"name" in disposition:
            part.name = disposition[b"name"].decode("utf-8", "replace")
        extended = extended_filename(raw_disposition)  # preferred to ``filename`` (RFC 6266)
        if extended is not None or b"filename" in disposition:
            part.filename = extended if extended is not None else disposition[b"filename"].decode("utf-8", "replace")
            # The media type without its parameters, lower-cased (as the reference's multer gives it).
            ctype = parse_options_header(part.headers.get("content-type", b""))[0].decode("latin-1").strip().lower()
            part.mimetype = ctype or "application/octet-stream"
            transfer = part.headers.get("content-transfer-encoding")
            part.encoding = transfer.decode("latin-1").strip().lower() if transfer else "7bit"
            if limits.spool_files:
                part.spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES)  # closed by the reader's caller

    parser = MultipartParser(boundary, {  # type: ignore[arg-type]
        "on_part_begin": on_part_begin, "on_part_data": on_part_data, "on_header_field": on_header_field,
        "on_header_value": on_header_value, "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished})
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if limits.total_bytes is not None and size > limits.total_bytes:
                raise PayloadTooLargeError(f"Request {what} too large (more than {limits.total_bytes} bytes)",
                                           {"limit": limits.total_bytes})
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError as exc:
        raise InvalidBodyError(f"Malformed multipart body: {exc}") from None
    return parts
