"""A file's public record (the reference's ``File``) and its content URL."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from core.infra.tables import WorkspaceFile, iso, utcnow

# The content route, below the API's base URL (api/routers/files.py).
CONTENT_PATH = re.compile(r"^/v2/workspaces/(?P<workspace>[^/]+)/files/(?P<file>[^/]+)/content/?$")


def content_path(workspace_id: str, file_id: str) -> str:
    return f"/v2/workspaces/{workspace_id}/files/{file_id}/content"


def content_url(base_url: str, workspace_id: str, file_id: str) -> str:
    """Absolute, below TIDEWAY_PUBLIC_URL (else the API's host and port), the base of
    ``global.apiUrl``: what a run's ``fetch`` recognises as Tideway's own (activities/fetch_files.py)."""
    return base_url.rstrip("/") + content_path(workspace_id, file_id)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=utcnow().tzinfo)


def is_expired(row: WorkspaceFile, now: datetime | None = None) -> bool:
    return row.expires_at is not None and _aware(row.expires_at) <= (now or utcnow())


def record(row: WorkspaceFile, base_url: str, share_token: str | None = None) -> dict[str, Any]:
    """The file as the API answers it. ``shareToken`` only when given: the token is shown once,
    in the upload's answer (only its digest is stored)."""
    body: dict[str, Any] = {
        "id": row.id, "name": row.name, "mimetype": row.mimetype, "size": row.size, "workspaceId": row.workspace_id,
        "path": f"{row.workspace_id}/{row.id}/{row.name}", "url": content_url(base_url, row.workspace_id, row.id),
        "public": row.public, "shared": row.share_token_digest is not None, "metadata": row.file_metadata,
        "createdAt": iso(row.created_at), "createdBy": row.created_by}
    if row.expires_at is not None:
        body["expiresAt"] = iso(row.expires_at)
        body["expiresAfter"] = max(0, round((_aware(row.expires_at) - _aware(row.created_at)).total_seconds()))
    if share_token is not None:
        body["shareToken"] = share_token
    return body
