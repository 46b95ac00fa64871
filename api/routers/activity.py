"""The Activity page (issue 8): a server-rendered admin view of a workspace's event feed.

``GET /v2/workspaces/{id}/activity`` answers HTML, never JSON: the page when the caller may read
the workspace, a login form (401), or a short error page (403, 404). The data comes from the
JSON routes (``GET …/events`` for search, ``GET …/events/stream`` for live updates), called by
``api/static/activity.js`` with the browser session cookie (``api/cookies.py``).

The page has two tabs and a run view, switched by the URL fragment so each can be shared:
``#events`` (the feed), ``#runs`` (``GET …/runs`` with filters) and ``#run=<runId>`` (one run:
its facts, trace as a waterfall, input, output, Re-run and Cancel), drawn by
``api/static/activity-runs.js`` and ``api/static/activity-run.js``.

``?token=<token>`` opens a browser session with that token and redirects (303) to the same URL
without it, so a link printed by ``make run`` or sent by an admin logs the browser in and the
token does not stay in the address bar or the history.
"""

from __future__ import annotations

import hmac
from functools import lru_cache
from html import escape
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.cookies import CSRF_COOKIE, CSRF_HEADER, set_session_cookies
from api.deps import ServicesDep, current_actor
from api.permissions import CheckedInRoute, Public, require
from core.infra.settings import Settings
from core.services import Services
from schemas.errors import ForbiddenError, ObjectNotFoundError, UnauthorizedError

router = APIRouter(tags=["activity"])

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
# Loaded in this order (``defer`` keeps it): activity.js defines the helpers the other two use.
SCRIPTS = ("activity.js", "activity-run.js", "activity-runs.js")
STATIC_FILES = {**{name: "text/javascript; charset=utf-8" for name in SCRIPTS},
                "activity.css": "text/css; charset=utf-8"}
STATIC_PREFIX = "/v2/activity/static"

# Everything the page loads comes from this origin; no inline script or style, so an event
# rendered by mistake as HTML could still not run code.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                               "connect-src 'self'; img-src 'self'; form-action 'self'; "
                               "base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the URL may still carry ?token= on the first hit
    "Cache-Control": "no-store",
}


def temporal_ui_url(settings: Settings) -> str:
    """Base URL of the Temporal Web UI: a ``temporal_ui_url`` setting when the deployment has
    one, else the dev server's UI on this machine (``make run``)."""
    configured = getattr(settings, "temporal_ui_url", None)
    return str(configured).rstrip("/") if configured else f"http://127.0.0.1:{settings.temporal_ui_port}"


def _page(title: str, body: str, status: int = 200, body_attrs: str = "") -> HTMLResponse:
    html = (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{escape(title)}</title>"
        f"<link rel=\"stylesheet\" href=\"{STATIC_PREFIX}/activity.css\">"
        + "".join(f"<script src=\"{STATIC_PREFIX}/{name}\" defer></script>" for name in SCRIPTS) +
        f"</head><body{body_attrs}>{body}</body></html>\n"
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def _login_page(reason: str) -> HTMLResponse:
    body = f"""
<main class="login">
  <h1>Sign in to Tideway</h1>
  <p class="reason">{escape(reason)}</p>
  <form id="login-form" class="card">
    <label>Email <input name="email" type="email" autocomplete="username" required></label>
    <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
    <button type="submit">Sign in</button>
    <p id="login-error" class="error" role="alert"></p>
  </form>
  <form method="get" class="card">
    <label>Or a token (admin token, session or access token)
      <input name="token" type="password" autocomplete="off" required></label>
    <button type="submit">Open with token</button>
  </form>
  <noscript><p>Signing in with an email needs JavaScript; the token form works without.</p></noscript>
</main>"""
    return _page("Sign in · Tideway", body, 401)


def _error_page(status: int, title: str, message: str) -> HTMLResponse:
    body = (f"<main class=\"login\"><h1>{escape(title)}</h1><p class=\"reason\">{escape(message)}</p>"
            "<p><button id=\"logout\" type=\"button\">Sign in as someone else</button></p></main>")
    return _page(f"{title} · Tideway", body, status, f' data-csrf-cookie="{CSRF_COOKIE}"'
                 f' data-csrf-header="{CSRF_HEADER}"')


def _activity_page(workspace_id: str, name: str, settings: Settings) -> HTMLResponse:
    attrs = {"workspace": workspace_id, "temporal-ui": temporal_ui_url(settings),
             "namespace": settings.temporal_namespace, "csrf-cookie": CSRF_COOKIE, "csrf-header": CSRF_HEADER}
    body_attrs = "".join(f' data-{key}="{escape(value)}"' for key, value in attrs.items())
    body = f"""
<header class="bar">
  <h1>Activity <span class="workspace">{escape(name)}</span></h1>
  <span id="live-status" class="status" role="status">connecting…</span>
  <button id="logout" type="button">Log out</button>
</header>
<nav class="tabs" aria-label="Views">
  <a id="tab-events" class="tab" href="#events">Events</a>
  <a id="tab-runs" class="tab" href="#runs">Runs</a>
</nav>
<section id="events-view">
<form id="filters" class="filters">
  <label>Types <input name="types" placeholder="order.created, runtime.*" autocomplete="off"></label>
  <label>Text <input name="text" type="search" autocomplete="off"></label>
  <label>From <input name="afterDate" type="datetime-local" step="1"></label>
  <label>To <input name="beforeDate" type="datetime-local" step="1"></label>
  <label>Correlation id <input name="correlationId" autocomplete="off"></label>
  <button type="submit">Apply</button>
  <button type="reset">Clear</button>
</form>
<p id="message" class="message" role="alert"></p>
<ol id="events" class="events" aria-live="polite"></ol>
<p><button id="older" type="button" hidden>Older events</button></p>
</section>
<section id="runs-view" hidden>
<form id="run-filters" class="filters">
  <label>Automation <input name="automation" autocomplete="off"></label>
  <label>Status <select name="status"><option value="">any</option><option>succeeded</option>
    <option>failed</option><option>running</option><option>waiting</option><option>cancelled</option></select></label>
  <label>Trigger <select name="triggerType"><option value="">any</option><option>endpoint</option>
    <option>event</option><option>schedule</option><option>automation</option><option>test</option></select></label>
  <label>Correlation id <input name="correlationId" autocomplete="off"></label>
  <label>User id <input name="userId" autocomplete="off"></label>
  <label>From <input name="afterDate" type="datetime-local" step="1"></label>
  <label>To <input name="beforeDate" type="datetime-local" step="1"></label>
  <button type="submit">Apply</button>
  <button type="reset">Clear</button>
</form>
<p id="runs-message" class="message" role="alert"></p>
<table id="runs" class="runs">
  <thead><tr><th>Started</th><th>Automation</th><th>Trigger</th><th>Status</th><th>Duration</th><th>User</th>
    <th>Correlation id</th><th>Run</th></tr></thead>
  <tbody></tbody>
</table>
<p><button id="older-runs" type="button" hidden>Older runs</button></p>
</section>
<section id="run-view" class="run-view" hidden></section>
<noscript><p>This page needs JavaScript.</p></noscript>"""
    return _page(f"Activity · {name}", body, 200, body_attrs)


async def _verify(services: Services, token: str) -> None:
    """Raise ``UnauthorizedError`` unless ``token`` is the admin token or a valid user token."""
    expected = services.admin_token
    if expected and hmac.compare_digest(token.encode(), expected.encode()):
        return
    await services.identity.verify(token)


def _without_token(request: Request) -> str:
    """The request's path and query, minus ``token`` (relative: right behind any proxy)."""
    query = request.url.remove_query_params("token").query
    return request.url.path + (f"?{query}" if query else "")


# An HTML page: it answers its own errors (a login form, an error page), so it checks in the route.
ACTIVITY_ACCESS = CheckedInRoute(require("read"))


@router.get("/v2/workspaces/{workspace_id}/activity", response_class=HTMLResponse,
            dependencies=[Depends(ACTIVITY_ACCESS)])
async def activity(workspace_id: str, request: Request, services: ServicesDep) -> Response:
    """The workspace's event feed (HTML). ``?token=`` signs the browser in, then redirects."""
    token = request.query_params.get("token")
    if token is not None:
        try:
            await _verify(services, token.strip())
        except UnauthorizedError as exc:
            return _login_page(f"{exc.message}: sign in again.")
        redirect = RedirectResponse(_without_token(request), status_code=303, headers=SECURITY_HEADERS)
        set_session_cookies(redirect, request, token.strip())
        return redirect
    try:
        actor = await current_actor(request, services)
        await ACTIVITY_ACCESS.check(services, actor, workspace_id)  # read on the workspace
        row = await services.workspaces.get_row(workspace_id)
    except UnauthorizedError as exc:
        return _login_page(exc.message)
    except ForbiddenError as exc:
        return _error_page(403, "Forbidden", exc.message)
    except ObjectNotFoundError as exc:
        return _error_page(404, "Not found", exc.message)
    return _activity_page(workspace_id, row.name, services.settings)


@lru_cache(maxsize=len(STATIC_FILES))
def _static(name: str) -> bytes:
    return (STATIC_DIR / name).read_bytes()


@router.get(STATIC_PREFIX + "/{name}", include_in_schema=False,
            dependencies=[Depends(Public("the Activity page's script and style sheet"))])
async def static_file(name: str) -> Response:
    """The page's script and style sheet (no build step, no CDN), public like any asset."""
    media_type = STATIC_FILES.get(name)
    if media_type is None:
        return Response("Not found", status_code=404, media_type="text/plain")
    return Response(_static(name), media_type=media_type,
                    headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})
