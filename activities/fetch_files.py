"""``fetch`` of Tideway's own file content URLs (docs/files.md, "Automations").

A run reads a file of **its own workspace** by fetching the file's ``url``
(``<TIDEWAY_PUBLIC_URL>/v2/workspaces/<ws>/files/<id>/content``): the activity recognises the
URL and answers from the store itself, without a token, without a connection and so without the
egress policy (which would refuse Tideway's own API). A file of **another workspace** is refused
with a FetchError saying why, even a public one or with a share token: a run never reaches another
tenant's data through the platform. Any other URL, Tideway's other routes included, goes out
through the egress policy as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from core.files.content import FileContent
from core.files.lookup import live_file, workspace_id_of
from core.files.names import content_disposition
from core.files.records import CONTENT_PATH
from core.infra.db import Database


class OwnFileRefusedError(Exception):
    """A content URL of another workspace's file; ``str()`` is the FetchError's message."""


@dataclass(frozen=True)
class OwnFileTarget:
    workspace: str  # as the URL names it: an id or ``slug:<slug>``
    file_id: str


def _json_response(status: int, body: dict[str, Any], request: httpx.Request) -> httpx.Response:
    return httpx.Response(status, json=body, request=request)


class OwnFiles:
    """``base``: where Tideway's API answers (TIDEWAY_PUBLIC_URL, else its host and port)."""

    def __init__(self, db: Database, base: httpx.URL):
        self.db = db
        self.base = base
        self.content = FileContent(db)

    def target(self, url: Any) -> OwnFileTarget | None:
        """The file a URL names when it is a content URL of this Tideway, else None."""
        try:
            parsed = httpx.URL(str(url))
        except (httpx.InvalidURL, TypeError, ValueError):
            return None
        ports = {"http": 80, "https": 443}
        if (parsed.scheme, parsed.host, parsed.port or ports.get(parsed.scheme)) != (
                self.base.scheme, self.base.host, self.base.port or ports.get(self.base.scheme)):
            return None
        prefix = self.base.path.rstrip("/")
        path = parsed.path
        if prefix:
            if not path.startswith(prefix + "/"):
                return None
            path = path[len(prefix):]
        match = CONTENT_PATH.match(path)
        return OwnFileTarget(match.group("workspace"), match.group("file")) if match else None

    async def answer(self, request: dict[str, Any], target: OwnFileTarget) -> httpx.Response:
        """The response the content route would give the run's workspace; ``OwnFileRefusedError``
        for another workspace's file."""
        run_workspace = str(request.get("workspaceId") or "")
        workspace = await workspace_id_of(self.db, target.workspace)
        if not run_workspace or workspace != run_workspace:
            raise OwnFileRefusedError(
                f"Request to {request.get('url')} refused: a run reads only the files of its own workspace "
                f"('{run_workspace}'), and this file is in workspace '{target.workspace}' (whether public or "
                "shared, another workspace's files are not reachable from a run)")
        method = str(request.get("method") or "GET").upper()
        http_request = httpx.Request(method, str(request.get("url")))
        if method not in ("GET", "HEAD"):
            return _json_response(405, {"error": "MethodNotAllowedError", "message": "Method Not Allowed"},
                                  http_request)
        row = await live_file(self.db, workspace, target.file_id)
        if row is None:
            return _json_response(404, {"error": "ObjectNotFoundError", "message": f"File '{target.file_id}' not found",
                                        "details": {"workspaceId": workspace, "id": target.file_id}}, http_request)
        data = b"" if method == "HEAD" else await self.content.read(row.blob_id, row.chunks)
        headers = {"content-type": row.mimetype, "content-length": str(row.size),
                   "content-disposition": content_disposition(row.name), "x-content-type-options": "nosniff",
                   "content-security-policy": "sandbox"}
        return httpx.Response(200, headers=headers, content=data, request=http_request)
