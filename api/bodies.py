"""Request bodies: read within limits, parsed by the one strict JSON reader (schemas/strict_json.py).

Routes never read a body themselves: they declare one of the ``BodyReader`` dependencies below
(``JsonBody``, ``WebhookBody``, ``ImportBody``, ``FormBody``). That keeps one parser for every
body, and lets tests/api/test_hostile_bodies.py find every route that takes a body.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request

from api.multipart import Part, UploadLimits, parse_multipart
from core.infra.settings import Settings
from schemas.archive import parse_archive, parse_import
from schemas.dsul import WorkspaceSource
from schemas.errors import InvalidBodyError, InvalidWorkspaceError, PayloadTooLargeError
from schemas.strict_json import JsonDocumentError, loads

__all__ = ["BodyReader", "FileUploadBody", "FormBody", "ImportBody", "JsonBody", "Upload", "UploadLimits",
           "WebhookBody", "content_type", "parse_json", "read_limited", "webhook_headers", "webhook_query"]


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
    """A JSON body, strictly (400 ``InvalidBodyError`` naming the problem and where)."""
    try:
        return loads(raw)
    except JsonDocumentError as exc:
        path = f"body.{exc.path}" if exc.path and not exc.path.startswith("[") else f"body{exc.path or ''}"
        raise InvalidBodyError(f"Invalid JSON body: {exc.message}", [{"path": path, "message": exc.message}]) from None


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.services.settings
    return settings


class BodyReader:
    """Base of the dependencies that read a request body (see the module docstring)."""

    kind = "body"

    async def __call__(self, request: Request) -> Any:
        raise NotImplementedError


class JsonBody(BodyReader):
    """The body as strict JSON (an empty body is ``{}``), at most the ``limit`` setting's bytes.
    Its shape is each route's to check (``schemas/requests.py``)."""

    kind = "json"

    def __init__(self, limit: str | int = "max_json_body_bytes"):
        self.limit = limit  # a Settings field's name, or a fixed number of bytes

    async def __call__(self, request: Request) -> Any:
        limit = self.limit if isinstance(self.limit, int) else getattr(_settings(request), self.limit)
        raw = await read_limited(request, limit)
        return parse_json(raw) if raw else {}


class ImportBody(BodyReader):
    """A workspace import: a zip (``application/zip`` or multipart field ``archive``) or one JSON/YAML
    document, at most ``MAX_IMPORT_BYTES`` (413 as soon as passed, multipart included)."""

    kind = "import"

    async def __call__(self, request: Request) -> WorkspaceSource:
        limit = _settings(request).max_import_bytes
        if content_type(request) == "multipart/form-data":
            parts = await parse_multipart(request, UploadLimits(file_bytes=limit, parts=10, field_bytes=64 * 1024,
                                                                total_bytes=limit), "archive")
            archive = next((p for p in parts if p.name == "archive" and p.filename is not None), None)
            if archive is None:
                raise InvalidWorkspaceError("Multipart import needs a file field named 'archive'",
                                            [{"path": "archive", "message": "missing file field"}])
            return parse_archive(bytes(archive.data))
        raw = await read_limited(request, limit, "archive")
        if not raw:
            raise InvalidWorkspaceError("Empty import body", [{"path": "body", "message": "empty"}])
        return parse_import(raw, request.headers.get("content-type"))


@dataclass
class Upload:
    """A file upload's body: its text fields (typed values for a JSON body) and its file parts,
    each spooled to a temporary file (``Part.spool``) that ``close`` releases."""

    fields: dict[str, Any] = field(default_factory=dict)
    files: list[Part] = field(default_factory=list)

    def close(self) -> None:
        for part in self.files:
            if part.spool is not None:
                part.spool.close()


class FileUploadBody(BodyReader):
    """``POST …/files`` (docs/files.md): multipart fields with the file parts named ``file`` (a
    ``file`` text field may hold a data URI), or a JSON object whose ``file`` is a data URI. A file
    over ``FILES_MAX_SIZE`` is a 413 as soon as it is passed; files never sit whole in memory."""

    kind = "upload"

    async def __call__(self, request: Request) -> Upload:
        limit = _settings(request).files_max_size
        data_uri = (limit + 2) // 3 * 4 + 1024  # a data URI of ``limit`` bytes, with its header
        if content_type(request) == "multipart/form-data":
            limits = UploadLimits(file_bytes=limit, parts=20, field_bytes=max(data_uri, 64 * 1024),
                                  total_bytes=2 * data_uri + 1024 * 1024, spool_files=True)
            upload = Upload()
            for part in await parse_multipart(request, limits, "upload"):
                name = _no_nul(part.name, "body") if part.name is not None else "file"
                if part.filename is not None:
                    if name != "file":
                        upload.close()
                        raise InvalidBodyError(f"Unexpected file field {name!r}: files are sent as 'file'",
                                               [{"path": f"body.{name}", "message": "unexpected file field"}])
                    upload.files.append(part)
                elif part.name is None:  # a field without a name carries nothing addressable
                    continue
                elif name in upload.fields:
                    upload.close()
                    raise InvalidBodyError(f"Field {name!r} sent twice", [{"path": f"body.{name}", "message": "repeated"}])
                else:
                    upload.fields[name] = _no_nul(bytes(part.data).decode("utf-8", "replace"), f"body.{name}")
            return upload
        raw = await read_limited(request, data_uri + 64 * 1024, "upload")
        body = parse_json(raw) if raw else {}
        if not isinstance(body, dict):
            raise InvalidBodyError("A JSON upload is an object: {file: <data URI>, expiresAfter?, public?, "
                                   "shareToken?, metadata?, name?}", [{"path": "body", "message": "must be an object"}])
        return Upload(fields=body)


class FormReader:
    """An urlencoded form, read when the route asks (after its own checks)."""

    def __init__(self, request: Request, limit: int):
        self.request = request
        self.limit = limit

    @property
    def content_type(self) -> str:
        return content_type(self.request)

    async def read(self) -> bytes:
        return await read_limited(self.request, self.limit, "form")


class FormBody(BodyReader):
    """A lazily read urlencoded form of at most ``limit`` bytes (the HTML routes answer their own
    errors, so they read it themselves once the caller is checked)."""

    kind = "form"

    def __init__(self, limit: int):
        self.limit = limit

    async def __call__(self, request: Request) -> FormReader:
        return FormReader(request, self.limit)


class WebhookBody(BodyReader):
    """A webhook body as the automation sees it (spec §2.3): JSON (arrays spread into objects),
    urlencoded or multipart fields and files, else text."""

    kind = "webhook"

    async def __call__(self, request: Request) -> Any:
        settings = _settings(request)
        ctype = content_type(request)
        if ctype == "multipart/form-data":
            limits = UploadLimits(file_bytes=settings.uploads_max_size, parts=settings.uploads_max_parts,
                                  field_bytes=settings.uploads_max_field_bytes,
                                  total_bytes=settings.uploads_max_total_size)
            return _form_fields(await parse_multipart(request, limits))
        raw = await read_limited(request, settings.max_json_body_bytes)
        if not raw:
            return {}
        if ctype == "application/json" or ctype.endswith("+json"):
            return _spread(parse_json(raw))
        if ctype == "application/x-www-form-urlencoded":
            return _urlencoded(raw)
        if not ctype:
            try:
                return _spread(loads(raw))
            except JsonDocumentError:  # not (acceptable) JSON: the text itself
                pass
        return _no_nul(raw.decode("utf-8", "replace"), "body")


def _no_nul(text: str, where: str) -> str:
    """Text a run may store (events, contexts): NUL is refused as in JSON bodies, since
    PostgreSQL text cannot hold it (docs/decisions.md, "Strict JSON")."""
    if "\x00" in text:
        raise InvalidBodyError(f"Invalid request: NUL character (%00 or \\u0000) in {where}",
                               [{"path": where, "message": "NUL character (\\u0000) is not accepted"}])
    return text


def webhook_query(request: Request) -> dict[str, str]:
    """The query string as the automation sees it (the last value of a repeated name)."""
    return {_no_nul(k, "query"): _no_nul(v, f"query.{k}") for k, v in request.query_params.items()}


def _spread(value: Any) -> Any:
    # A JSON array body is spread into an index-keyed object (spec §2.3).
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value)}
    return value


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
        _add(body, _no_nul(key, "body"), _no_nul(value, f"body.{key}"))
    return body


def _form_fields(parts: list[Part]) -> dict[str, Any]:
    """Files become {originalname, encoding, mimetype, size, base64}; a file part without a name
    is ``file``; repeated names become lists."""
    body: dict[str, Any] = {}
    for part in parts:
        name = _no_nul(part.name, "body") if part.name is not None else None
        if part.filename is not None:
            _add(body, name or "file", {
                "originalname": _no_nul(part.filename, f"body.{name or 'file'}.originalname"),
                "encoding": part.encoding, "mimetype": part.mimetype,
                "size": len(part.data), "base64": base64.b64encode(bytes(part.data)).decode()})
        elif name:  # a field without a name carries nothing addressable
            _add(body, name, _no_nul(part.data.decode("utf-8", "replace"), f"body.{name}"))
    return body


def webhook_headers(request: Request) -> dict[str, str]:
    """Every header except cookie, host and x-* (x-prismeai-workspace-id is kept)."""
    return {k: v for k, v in request.headers.items()
            if k not in ("cookie", "host") and (not k.startswith("x-") or k == "x-prismeai-workspace-id")}

