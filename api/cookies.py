"""Browser sessions: the session cookie, its CSRF companion, and the check of cookie-authenticated writes.

Design (docs/activity.md):

* ``tideway_session`` holds the token (from ``POST /v2/login`` or ``…/activity?token=``).
  HttpOnly, so no page script can read it; ``SameSite=Strict``, so a request started by another
  site never carries it; ``Secure`` when the request came over https.
* ``tideway_csrf`` holds ``HMAC-SHA256(key, session token)``, where the key is derived from the
  token signing key. It is *not* HttpOnly: the page reads it and echoes it in ``x-csrf-token`` on
  every non-GET request. The server recomputes the HMAC from the session cookie rather than
  comparing two cookies, so a cookie planted by a sibling subdomain (the weak point of plain
  double-submit) cannot pass without the key, and the value dies with the session.

A request with an ``Authorization`` header never looks at the cookies: scripts and API clients
send the header, which a browser never adds on its own, so they need no CSRF token.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from fastapi import Request, Response

from core.access.identity import signing_key
from core.infra.settings import Settings
from schemas.errors import ForbiddenError

SESSION_COOKIE = "tideway_session"
CSRF_COOKIE = "tideway_csrf"
CSRF_HEADER = "x-csrf-token"
# Methods that must not change state, so a cookie alone authenticates them (the SSE stream
# included: EventSource cannot send headers).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfError(ForbiddenError):
    """403: a write authenticated by the session cookie without the matching CSRF header. Routes
    where the caller's identity is optional (webhooks) should treat it as "no identity"."""

    def __init__(self, message: str, details: Any = None):
        super().__init__(message, details, name="ForbiddenError")  # clients see an ordinary 403


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.services.settings
    return settings


def csrf_token(settings: Settings, session_token: str) -> str:
    """The CSRF value bound to one session token."""
    # A sub-key, so the CSRF values are never valid JWT signatures or anything else signed.
    key = hmac.new(signing_key(settings).encode(), b"tideway-csrf", hashlib.sha256).digest()
    return hmac.new(key, session_token.encode(), hashlib.sha256).hexdigest()


def _secure(request: Request, settings: Settings) -> bool:
    public = settings.tideway_public_url or ""
    return request.url.scheme == "https" or public.startswith("https://")


def set_session_cookies(response: Response, request: Request, token: str) -> None:
    """Open a browser session with ``token`` (already verified by the caller)."""
    settings = _settings(request)
    max_age = settings.tideway_session_ttl_seconds
    secure = _secure(request, settings)
    response.set_cookie(SESSION_COOKIE, token, max_age=max_age, path="/", secure=secure,
                        httponly=True, samesite="strict")
    response.set_cookie(CSRF_COOKIE, csrf_token(settings, token), max_age=max_age, path="/",
                        secure=secure, httponly=False, samesite="strict")


def clear_session_cookies(response: Response, request: Request) -> None:
    secure = _secure(request, _settings(request))
    response.delete_cookie(SESSION_COOKIE, path="/", secure=secure, httponly=True, samesite="strict")
    response.delete_cookie(CSRF_COOKIE, path="/", secure=secure, httponly=False, samesite="strict")


def session_cookie_token(request: Request) -> str | None:
    """The session cookie's token, or None. A state-changing request authenticated this way
    must carry the matching ``x-csrf-token`` header (403 otherwise)."""
    token = (request.cookies.get(SESSION_COOKIE) or "").strip()
    if not token:
        return None
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER) or ""
        expected = csrf_token(_settings(request), token)
        if not sent:
            raise CsrfError(
                f"Missing {CSRF_HEADER} header: a {request.method} authenticated by the session cookie "
                f"must echo the {CSRF_COOKIE} cookie in {CSRF_HEADER} (or send Authorization: Bearer)",
                {"header": CSRF_HEADER, "cookie": CSRF_COOKIE})
        if not hmac.compare_digest(sent.encode(), expected.encode()):
            raise CsrfError(f"Invalid {CSRF_HEADER} header: it does not match the session",
                                 {"header": CSRF_HEADER, "cookie": CSRF_COOKIE})
    return token
