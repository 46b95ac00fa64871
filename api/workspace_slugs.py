"""``slug:<workspaceSlug>`` wherever a workspace id goes in a path (``/v2/workspaces/slug:shop/webhooks/…``),
as the reference platform accepts it (real workspaces call each other this way).

An ASGI middleware rewrites the path to the workspace's id before routing, so every route —
webhooks, permissions, the Activity page — sees the id and nothing else changes; an unknown slug is
the 404 an unknown id would be."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote

from api.errors import error_response
from schemas.errors import TidewayError

PREFIX = "/v2/workspaces/slug:"
Scope = dict[str, Any]


class WorkspaceSlugPaths:
    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        slug, _, rest = scope["path"][len(PREFIX):].partition("/")
        try:
            workspace_id = await scope["app"].state.services.workspaces.id_of_slug(unquote(slug))
        except TidewayError as exc:
            await error_response(exc)(scope, receive, send)
            return
        path = f"/v2/workspaces/{workspace_id}" + (f"/{rest}" if rest or scope["path"].endswith("/") else "")
        raw = scope.get("raw_path")
        rewritten = dict(scope, path=path)
        if raw is not None:
            raw_rest = raw.decode("latin-1")[len(PREFIX):].partition("/")[2]
            rewritten["raw_path"] = (f"/v2/workspaces/{quote(workspace_id)}" +
                                     (f"/{raw_rest}" if raw_rest or path.endswith("/") else "")).encode("latin-1")
        await self.app(rewritten, receive, send)
