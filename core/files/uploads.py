"""What an upload carries, read from the request's fields (docs/files.md, "Upload").

The multipart fields arrive as strings (``expiresAfter: "60"``, ``public: "true"``, ``metadata:
'{"a": 1}'``, as the reference's clients send them); a JSON body may give the same values typed.
Every problem is a 400 ``ValidationError`` naming the field, and nothing is stored.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from dataclasses import dataclass, field
from typing import IO, Any
from urllib.parse import unquote_to_bytes

from core.files.names import DEFAULT_MIMETYPE, safe_mimetype, sanitize_name
from schemas.errors import PayloadTooLargeError, ValidationError
from schemas.strict_json import JsonDocumentError, loads

MAX_EXPIRES_AFTER = 10 * 365 * 24 * 3600  # ten years: later than that is "never", leave it out
METADATA_MAX_BYTES = 64 * 1024
_DATA_URI = re.compile(r"^data:(?P<type>[^,;]*)(?P<params>(?:;[^,;]*)*),", re.IGNORECASE)
_TRUE, _FALSE = ("true", "1"), ("false", "0", "")


class QuotaExceededError(PayloadTooLargeError):
    """The workspace's files would take more than FILES_WORKSPACE_QUOTA_BYTES. A 413 like a file
    over FILES_MAX_SIZE (not a 409: sending the same upload again cannot succeed)."""

    default_message = "Workspace file quota exceeded"


@dataclass
class IncomingFile:
    """One file of an upload: its bytes readable from ``stream`` (a spooled temporary file for a
    multipart file, memory for a data URI), ``size`` of them."""

    name: str
    mimetype: str
    size: int
    stream: IO[bytes]


@dataclass(frozen=True)
class UploadOptions:
    expires_after: int | None = None
    public: bool = False
    share_token: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)
    name: str | None = None  # replaces every file's own name when given


def _problem(name: str, message: str) -> ValidationError:
    problems = [{"path": f"body.{name}", "message": message}]
    return ValidationError(f"Invalid upload: body.{name}: {message}", problems)


def _flag(fields: dict[str, Any], name: str) -> bool:
    value = fields.get(name)
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in (*_TRUE, *_FALSE):
        return value.strip().lower() in _TRUE
    raise _problem(name, 'must be "true" or "false"')


def _expires_after(fields: dict[str, Any]) -> int | None:
    value = fields.get("expiresAfter")
    if value is None or value == "":
        return None
    if isinstance(value, str) and re.fullmatch(r"\s*\d{1,12}\s*", value):
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_EXPIRES_AFTER:
        raise _problem("expiresAfter", f"must be a whole number of seconds from 1 to {MAX_EXPIRES_AFTER}")
    return value


def _metadata(fields: dict[str, Any]) -> dict[str, Any]:
    value = fields.get("metadata")
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        if len(value.encode()) > METADATA_MAX_BYTES:
            raise _problem("metadata", f"must be at most {METADATA_MAX_BYTES} bytes of JSON")
        try:
            value = loads(value.encode())
        except JsonDocumentError as exc:
            raise _problem("metadata", f"must be a JSON object ({exc.message})") from None
    if not isinstance(value, dict):
        raise _problem("metadata", "must be a JSON object")
    return value


def parse_options(fields: dict[str, Any]) -> UploadOptions:
    name = fields.get("name")
    if name is not None and not isinstance(name, str):
        raise _problem("name", "must be a string")
    return UploadOptions(expires_after=_expires_after(fields), public=_flag(fields, "public"),
                         share_token=_flag(fields, "shareToken"), metadata=_metadata(fields),
                         name=sanitize_name(name) if name else None)


def data_uri_file(value: str, max_size: int, name: str | None = None) -> IncomingFile:
    """A ``data:[<type>][;base64],<data>`` string as a file (``upload`` unless ``name``)."""
    match = _DATA_URI.match(value)
    if match is None:
        raise _problem("file", "must be a file, or a data URI (data:[<mediatype>][;base64],<data>)")
    encoded = value[match.end():]
    is_base64 = any(p.strip().lower() == "base64" for p in match.group("params").split(";"))
    if is_base64 and len(encoded) > (max_size + 2) // 3 * 4 + 4:
        raise PayloadTooLargeError(f"File too large (more than {max_size} bytes, FILES_MAX_SIZE)",
                                   {"limit": max_size, "field": "file"})
    try:
        data = base64.b64decode(encoded, validate=True) if is_base64 else unquote_to_bytes(encoded)
    except (binascii.Error, ValueError):
        raise _problem("file", "the data URI's base64 payload is invalid") from None
    if len(data) > max_size:
        raise PayloadTooLargeError(f"File too large ({len(data)} bytes > {max_size} bytes, FILES_MAX_SIZE)",
                                   {"limit": max_size, "size": len(data), "field": "file"})
    mimetype = safe_mimetype(match.group("type")) if match.group("type") else DEFAULT_MIMETYPE
    return IncomingFile(sanitize_name(name), mimetype, len(data), io.BytesIO(data))


def data_uri_limit(max_size: int) -> int:
    """The characters of a data URI holding ``max_size`` bytes in base64, with room for its header."""
    return (max_size + 2) // 3 * 4 + 1024
