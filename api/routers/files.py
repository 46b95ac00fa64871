"""Workspace files (docs/files.md): upload, list, read, delete, and the content itself.

The content route answers the bytes to anyone for a ``public`` file, to the holder of its share
token (``?token=``), else to a caller with ``read`` on the workspace, and always as a download:
``Content-Disposition: attachment``, ``X-Content-Type-Options: nosniff`` and
``Content-Security-Policy: sandbox``, so a file uploaded as HTML or SVG never runs as script on
the API's origin.
"""

from __future__ import annotations

import io
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from api.bodies import FileUploadBody, Upload
from api.deps import ServicesDep, identify
from api.openapi import BINARY, json_body
from api.permissions import CanRead, CanUpdate, CheckedInRoute, require
from core.files.names import content_disposition, safe_mimetype, sanitize_name
from core.files.uploads import IncomingFile, data_uri_file, parse_options
from schemas.api.common import Removed
from schemas.api.files import FileRecord, FileUpload
from schemas.api.listing import MAX_PAGE
from schemas.errors import ForbiddenError, UnauthorizedError, ValidationError

router = APIRouter(prefix="/v2/workspaces/{workspace_id}/files", tags=["files"])
UploadDep = Annotated[Upload, Depends(FileUploadBody())]
# Public files and share tokens need no caller: the route checks ``read`` only when neither applies.
CONTENT_ACCESS = CheckedInRoute(require("read"))
MULTIPART = {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "additionalProperties": True,
    "properties": {"file": {"description": "the bytes (repeat the field for several files), or a data URI",
                            "oneOf": [BINARY, {"type": "string"}]},
                   "expiresAfter": {"type": "string", "description": "seconds"},
                   "public": {"type": "string", "enum": ["true", "false"]},
                   "shareToken": {"type": "string", "enum": ["true", "false"]},
                   "metadata": {"type": "string", "description": "a JSON object"},
                   "name": {"type": "string"}}}}}
CONTENT: dict[int | str, dict[str, Any]] = {200: {"description": "the file's bytes, as a download, with its stored media type",
                 "content": {"application/octet-stream": {"schema": BINARY}}}}


def _incoming(upload: Upload, max_size: int, name: str | None) -> list[IncomingFile]:
    files = [IncomingFile(sanitize_name(part.filename), safe_mimetype(part.mimetype), part.size,
                          part.spool if part.spool is not None else io.BytesIO(bytes(part.data)))
             for part in upload.files]
    text = upload.fields.get("file")
    if text is not None:
        if not isinstance(text, str):
            raise ValidationError("Invalid upload: body.file: must be a data URI string",
                                  [{"path": "body.file", "message": "must be a data URI string"}])
        files.append(data_uri_file(text, max_size, name))
    return files


@router.post("", response_model=list[FileRecord], response_model_exclude_unset=True,
             openapi_extra=json_body(FileUpload, also=MULTIPART))
async def upload_file(workspace_id: str, services: ServicesDep, actor: CanUpdate,
                      upload: UploadDep) -> list[dict[str, Any]]:
    """An array of the stored files' records (one per ``file`` part), as the reference answers."""
    try:
        options = parse_options(upload.fields)
        files = _incoming(upload, services.settings.files_max_size, options.name)
        return await services.files.upload(workspace_id, files, options, actor.user_id)
    finally:
        upload.close()


@router.get("", response_model=list[FileRecord], response_model_exclude_unset=True)
async def list_files(workspace_id: str, services: ServicesDep, _: CanRead,
                     page: Annotated[int, Query(ge=0, le=MAX_PAGE, description="0 is the first page")] = 0,
                     limit: Annotated[int, Query(ge=1, le=500)] = 50,
                     sort: Annotated[str | None, Query(description="`createdAt`, `name`, `size` or "
                                                       "`mimetype`; `-` first for descending (default `-createdAt`)")] = None,
                     query: Annotated[str | None, Query(description="a JSON object of equalities on `name`, "
                                                        "`mimetype` and `metadata.<key>`")] = None,
                     ) -> list[dict[str, Any]]:
    return await services.files.list_files(workspace_id, page=page, limit=limit, sort=sort, query=query)


@router.get("/{file_id}", response_model=FileRecord, response_model_exclude_unset=True)
async def get_file(workspace_id: str, file_id: str, services: ServicesDep, _: CanRead) -> dict[str, Any]:
    return await services.files.get(workspace_id, file_id)


@router.delete("/{file_id}", response_model=Removed)
async def delete_file(workspace_id: str, file_id: str, services: ServicesDep, actor: CanUpdate) -> dict[str, Any]:
    return await services.files.delete(workspace_id, file_id, actor.user_id)


@router.get("/{file_id}/content", response_class=StreamingResponse, responses=CONTENT,
            dependencies=[Depends(CONTENT_ACCESS)])
async def get_file_content(workspace_id: str, file_id: str, request: Request, services: ServicesDep,
                           token: Annotated[str | None, Query(description="the file's share token")] = None,
                           ) -> StreamingResponse:
    """A public file to anyone; else with ``?token=<shareToken>``; else a caller with ``read``. An
    unknown or expired file is a 404 before anything else."""
    row = await services.files.find(workspace_id, file_id)
    if not row.public and not services.files.shared_with(row, token):
        actor = await identify(request, services)
        if actor is None:
            if token:
                raise ForbiddenError("Invalid share token", {"workspaceId": workspace_id, "id": file_id})
            raise UnauthorizedError("This file is not public: send credentials with read on the workspace, "
                                    "or ?token=<shareToken>")
        await CONTENT_ACCESS.check(services, actor, workspace_id)
    headers = {
        "content-type": row.mimetype, "content-length": str(row.size),
        "content-disposition": content_disposition(row.name),
        "x-content-type-options": "nosniff", "content-security-policy": "sandbox",
        # A share token in the URL is not handed on; only public files may sit in shared caches.
        "referrer-policy": "no-referrer", "cache-control": "public, max-age=60" if row.public else "private, no-store"}
    return StreamingResponse(services.files.stream(row), headers=headers)
