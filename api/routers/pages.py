"""Pages as HTML: ``/pages/{workspaceSlug}/{pageSlug}`` and ``/{pageSlug}`` on a custom domain.

Everything here answers HTML, errors included (a readable page with the status, never a stack
trace or the JSON error body), since a browser is the usual client. See docs/pages.md.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.datastructures import URL
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Scope

from api.authorization import Actor, actor_permissions
from api.deps import ServicesDep, identify
from api.permissions import CheckedInRoute, Public
from core.access.permissions.checks import can
from core.pages.service import FoundPage, PageError, PageService
from core.services import Services
from schemas.errors import ForbiddenError, TidewayError, UnauthorizedError

log = logging.getLogger("tideway.pages")
router = APIRouter(tags=["pages"])

STYLE = ("body{font-family:system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;color:#222}"
         "h1{font-size:1.4rem}.error{color:#a40000}.notice{background:#fff8e1;border:1px solid #e0c060;"
         "padding:.8rem 1rem}label{display:block;font-weight:600;margin-top:.8rem}fieldset{margin-top:.8rem}"
         "small{display:block;color:#555}input,select,textarea{font:inherit}")
BASE_HEADERS = {"x-content-type-options": "nosniff"}


def html_page(title: str, body: str, status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    """A small standalone page; ``body`` is HTML the caller escaped, ``title`` is text."""
    document = (f"<!doctype html><html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
                f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                f"<style>{STYLE}</style></head><body>{body}</body></html>")
    return HTMLResponse(document, status_code=status, headers={**BASE_HEADERS, **(headers or {})})


def error_page(status: int, title: str, message: str) -> HTMLResponse:
    headers = {"www-authenticate": "Bearer"} if status == 401 else None
    body = (f"<h1 class=\"error\">{html.escape(title)}</h1><p>{html.escape(message)}</p>"
            f"<p><small>HTTP {status}</small></p>")
    return html_page(title, body, status, headers)


def pages_of(request: Request) -> PageService:
    pages: PageService = request.app.state.services.pages
    return pages


async def may_read(services: Services, actor: Actor, found: FoundPage) -> bool:
    """``read`` on the page subject (``{workspaceId, slug}``): owners and editors by default,
    custom roles through ``security.yml`` rules on ``pages``, superadmins always."""
    if actor.superadmin:
        return True
    perms = await actor_permissions(services, actor, found.workspace.id)
    return can(perms, "read", "pages", {"workspaceId": found.workspace.id, "id": found.slug, "slug": found.slug})


async def _check_access(request: Request, services: Services, found: FoundPage) -> Actor | None:
    """The caller (None when anonymous): public pages are open to everyone, the others need a
    token (401) whose holder may read the workspace's pages (403)."""
    try:
        actor = await identify(request, services)
    except UnauthorizedError:
        if not found.public:
            raise
        actor = None  # a stale session cookie must not lock a visitor out of a public page
    if found.public:
        return actor
    if actor is None:
        raise UnauthorizedError(f"Page '{found.slug}' is not public: sign in to see it")
    if not await may_read(services, actor, found):
        raise ForbiddenError(f"You may not see page '{found.slug}' of workspace '{found.workspace.slug}'")
    return actor


async def serve(request: Request, services: Services, found: FoundPage) -> Response:
    pages = pages_of(request)
    actor = await _check_access(request, services, found)
    headers = {} if found.public else {"cache-control": "private, no-store"}
    if found.is_blocks:
        body = (f"<h1>{html.escape(_text(found.page.get('name')) or found.slug)}</h1>"
                "<p class=\"notice\">This is a Prisme.ai <em>blocks</em> page: blocks pages are not "
                "rendered by Tideway. It is kept unchanged in the workspace (import and export) for a "
                "Prisme.ai front end; give the page a <code>template</code> to have Tideway render it.</p>")
        return html_page(_text(found.page.get("name")) or found.slug, body, 501, headers)
    query = dict(request.query_params)
    data = await pages.data(found, query, user_id=actor.user_id if actor else None,
                            session_id=actor.session_id if actor else None)
    content = await pages.render(found, data, query)
    return HTMLResponse(content, headers={**BASE_HEADERS, **headers})


def _text(value: Any) -> str:
    """A LocalizedText as plain text (the first translation of a ``{lang: text}`` map)."""
    if isinstance(value, dict):
        value = next(iter(value.values()), "")
    return value if isinstance(value, str) else ""


async def _guarded(request: Request, services: Services, find: Awaitable[FoundPage | None]) -> Response:
    """Run a page request; every failure becomes an HTML error page."""
    try:
        found = await find
        if found is None:  # a host nobody claims: what the app answered before this catch-all
            redirect = _slash_redirect(request)
            if redirect is None:
                raise StarletteHTTPException(404)
            return redirect
        return await serve(request, services, found)
    except PageError as exc:
        return error_page(exc.status, exc.title, exc.message)
    except TidewayError as exc:
        title = {401: "Sign in required", 403: "Forbidden", 404: "Not found"}.get(exc.status, "Page unavailable")
        return error_page(exc.status, title, exc.message)
    except StarletteHTTPException:
        raise
    except (OperationalError, InterfaceError) as exc:
        log.warning("database error on a page: %s", exc)
        return error_page(503, "Page unavailable", "The database is unavailable; try again shortly.")
    except Exception:  # noqa: BLE001 - a bug: logged, and the visitor still gets a page, not a trace
        log.exception("page request failed")
        return error_page(500, "Page unavailable", "An unexpected error occurred while preparing this page.")


# Pages answer HTML, errors included, and check their own access: public pages need nobody,
# the others ``read`` on the page (``may_read``).
PAGE_ACCESS = CheckedInRoute(Public("public pages need no token; the others need read on the page"))


async def page(path: str, request: Request, services: ServicesDep) -> Response:
    """A page by workspace slug and page slug; public pages need no token."""
    return await _guarded(request, services, pages_of(request).by_path(path))


PAGE_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"description": what, "content": {"text/html": {"schema": {"type": "string"}}}}
    for status, what in ((401, "A page that is not public, without a token"),
                         (403, "A page the caller may not read"),
                         (501, "A Prisme.ai blocks page (not rendered by Tideway)"))}
router.add_api_route("/pages/{path:path}", page, methods=["GET"], response_class=HTMLResponse,
                     dependencies=[Depends(PAGE_ACCESS)], name="page", responses=PAGE_ERRORS)
router.add_api_route("/pages/{path:path}", page, methods=["HEAD"], response_class=HTMLResponse,
                     dependencies=[Depends(PAGE_ACCESS)], name="page_head", include_in_schema=False)


class _GetOnlyRoute(APIRoute):
    """Only GET/HEAD match at all: another method on an unknown path keeps answering 404 (a
    catch-all route would otherwise turn it into a 405)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        return (Match.NONE, {}) if match is Match.PARTIAL else (match, child)


def _slash_redirect(request: Request) -> Response | None:
    """Starlette redirects ``/x/`` to ``/x`` (and back) when only the other form has a route,
    but only when no route matched, which this catch-all always does: do it here instead."""
    path = request.scope["path"]
    if path == "/":
        return None
    # Matching writes into the scope's nested dicts (FastAPI's own state): give it copies.
    other = {k: dict(v) if isinstance(v, dict) else v for k, v in request.scope.items()}
    other["path"] = path.rstrip("/") if path.endswith("/") else path + "/"
    for route in request.app.router.routes:
        # This catch-all itself: an included router (FastAPI >= 0.165) or, flattened, its route.
        if getattr(route, "original_router", None) is domain_router or \
                getattr(route, "endpoint", None) is custom_domain_page:
            continue
        if route.matches(other)[0] is not Match.NONE:
            return RedirectResponse(str(URL(scope=other)))
    return None


# Included last by api/app.py: it matches every path, so it must never shadow another route.
domain_router = APIRouter(route_class=_GetOnlyRoute)


@domain_router.api_route("/{path:path}", methods=["GET", "HEAD"], include_in_schema=False,
                         dependencies=[Depends(PAGE_ACCESS)])
async def custom_domain_page(path: str, request: Request, services: ServicesDep) -> Response:
    """On a host listed in a workspace's ``customDomains``: that workspace's page ``path`` (``/``
    shows the page ``index``). On any other host: the ordinary 404."""
    host = request.headers.get("host") or ""
    return await _guarded(request, services, pages_of(request).by_domain(host, path))
