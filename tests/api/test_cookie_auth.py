"""Browser sessions (issue 8): the session cookie on GET routes and the SSE stream, CSRF on
writes, the ``?token=`` redirect of the Activity page, cookie flags and logout.

Every test uses its own HTTP client: cookies must never land in the shared ``stack.http``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from api.app import create_app
from api.cookies import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE, csrf_token
from tests.api.helpers import workspace_doc
from tests.browser import live_server
from tests.stack import ADMIN_TOKEN, Stack

PASSWORD = "correct horse battery"


@asynccontextmanager
async def browser_client(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """A fresh client with its own cookie jar, like one browser profile."""
    transport = httpx.ASGITransport(app=create_app(stack.services))
    async with httpx.AsyncClient(transport=transport, base_url="http://tideway.test", timeout=30) as client:
        yield client


async def _user(stack: Stack) -> tuple[str, str]:
    email = f"cookie-{uuid.uuid4().hex[:10]}@example.com"
    created = await stack.http.post("/v2/users", json={"email": email, "password": PASSWORD}, headers=stack.auth)
    assert created.status_code == 200, created.text
    return email, created.json()["id"]


async def _login(client: httpx.AsyncClient, email: str) -> httpx.Response:
    response = await client.post("/v2/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response


def _set_cookies(response: httpx.Response) -> dict[str, str]:
    """name -> the whole Set-Cookie header of that cookie."""
    return {header.split("=", 1)[0]: header for header in response.headers.get_list("set-cookie")}


def _attrs(header: str) -> set[str]:
    return {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}


async def _owned_workspace(stack: Stack, email: str, name: str = "Cookie workspace") -> str:
    """A workspace created by the user (who becomes its owner), through a bearer client."""
    async with browser_client(stack) as client:
        token = (await _login(client, email)).json()["token"]
        created = await client.post("/v2/workspaces/import", json=workspace_doc({}, name=name),
                                    headers={"authorization": f"Bearer {token}"})
    assert created.status_code == 200, created.text
    ws: str = created.json()["workspace"]["id"]
    return ws


async def test_login_sets_httponly_strict_session_and_readable_csrf_cookie(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    email, user_id = await _user(stack)
    async with browser_client(stack) as client:
        response = await _login(client, email)
        body = response.json()
        assert set(body) == {"token", "id", "sessionId", "expires"} and body["id"] == user_id  # unchanged
        cookies = _set_cookies(response)
        assert set(cookies) == {SESSION_COOKIE, CSRF_COOKIE}
        session, csrf = cookies[SESSION_COOKIE], cookies[CSRF_COOKIE]
        assert session.startswith(f"{SESSION_COOKIE}={body['token']};")
        assert {"httponly", "samesite", "path", "max-age"} <= _attrs(session)
        assert "samesite=strict" in session.lower() and "path=/" in session.lower()
        assert "secure" not in _attrs(session)  # plain http here; https requests get Secure
        # The CSRF cookie is readable by the page and bound to the session token.
        assert "httponly" not in _attrs(csrf) and "samesite=strict" in csrf.lower()
        assert client.cookies[CSRF_COOKIE] == csrf_token(stack.services.settings, body["token"])


async def test_cookie_authenticates_get_routes_and_the_sse_stream(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    email, _ = await _user(stack)
    ws = await _owned_workspace(stack, email)
    async with browser_client(stack) as client:
        assert (await client.get(f"/v2/workspaces/{ws}")).status_code == 401  # no cookie yet
        await _login(client, email)
        read = await client.get(f"/v2/workspaces/{ws}")
        assert read.status_code == 200, read.text
        assert (await client.get(f"/v2/workspaces/{ws}/events")).status_code == 200
        assert (await client.get("/v2/user/accessTokens")).status_code == 200
        session = client.cookies[SESSION_COOKIE]
    # The stream over a real server, as EventSource sends it: the cookie and nothing else.
    async with live_server(stack) as base, httpx.AsyncClient(base_url=base, timeout=10) as raw:
        headers = {"cookie": f"{SESSION_COOKIE}={session}", "accept": "text/event-stream"}
        async with raw.stream("GET", f"/v2/workspaces/{ws}/events/stream", headers=headers) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            first = await asyncio.wait_for(anext(stream.aiter_text()), 5)
            assert first.startswith(": stream of workspace")
        refused = await raw.get(f"/v2/workspaces/{ws}/events/stream", headers={"cookie": f"{SESSION_COOKIE}=forged"})
        assert refused.status_code == 401


async def test_writes_with_the_cookie_need_the_csrf_header(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    email, _ = await _user(stack)
    ws = await _owned_workspace(stack, email)
    async with browser_client(stack) as client:
        token = (await _login(client, email)).json()["token"]
        csrf = client.cookies[CSRF_COOKIE]
        missing = await client.patch(f"/v2/workspaces/{ws}", json={"description": "no csrf"})
        assert missing.status_code == 403, missing.text
        assert missing.json()["error"] == "ForbiddenError"
        assert f"Missing {CSRF_HEADER} header" in missing.json()["message"]
        wrong = await client.patch(f"/v2/workspaces/{ws}", json={"description": "x"}, headers={CSRF_HEADER: "0" * 64})
        assert wrong.status_code == 403 and "does not match" in wrong.json()["message"]
        other_session = csrf_token(stack.services.settings, ADMIN_TOKEN)  # valid HMAC, wrong session
        stolen = await client.patch(f"/v2/workspaces/{ws}", json={"description": "x"},
                                    headers={CSRF_HEADER: other_session})
        assert stolen.status_code == 403
        ok = await client.patch(f"/v2/workspaces/{ws}", json={"description": "with csrf"}, headers={CSRF_HEADER: csrf})
        assert ok.status_code == 200, ok.text
        # The bearer header works unchanged and needs no CSRF header, cookie or not.
        bearer = await client.patch(f"/v2/workspaces/{ws}", json={"description": "bearer"},
                                    headers={"authorization": f"Bearer {token}"})
        assert bearer.status_code == 200, bearer.text
        posted = await client.post(f"/v2/workspaces/{ws}/events", json={"events": [{"type": "cookie.ping"}]},
                                   headers={CSRF_HEADER: csrf})
        assert posted.status_code == 200, posted.text
    described = (await stack.http.get(f"/v2/workspaces/{ws}", headers=stack.auth)).json()
    assert described["description"] == "bearer"


async def test_token_query_sets_the_cookie_and_redirects_without_it(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    ws = (await stack.import_workspace(workspace_doc({}, name="<b>Bold & co</b>")))["id"]
    async with browser_client(stack) as client:
        response = await client.get(f"/v2/workspaces/{ws}/activity",
                                    params={"types": "a.b", "token": ADMIN_TOKEN, "text": "x y"})
        assert response.status_code == 303
        assert response.headers["location"] == f"/v2/workspaces/{ws}/activity?types=a.b&text=x+y"
        assert ADMIN_TOKEN not in response.headers["location"]
        assert client.cookies[SESSION_COOKIE] == ADMIN_TOKEN
        page = await client.get(response.headers["location"])
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "&lt;b&gt;Bold &amp; co&lt;/b&gt;" in page.text and "<b>Bold" not in page.text
        assert f'data-workspace="{ws}"' in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["cache-control"] == "no-store"
    async with browser_client(stack) as client:
        bad = await client.get(f"/v2/workspaces/{ws}/activity", params={"token": "not-a-token"})
        assert bad.status_code == 401 and bad.headers["content-type"].startswith("text/html")
        assert "login-form" in bad.text and not bad.headers.get_list("set-cookie")


async def test_page_without_access_is_html_not_json(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    ws = (await stack.import_workspace(workspace_doc({})))["id"]
    email, _ = await _user(stack)  # a stranger to ws
    async with browser_client(stack) as client:
        anonymous = await client.get(f"/v2/workspaces/{ws}/activity")
        assert anonymous.status_code == 401 and anonymous.headers["content-type"].startswith("text/html")
        assert 'id="login-form"' in anonymous.text and 'name="token"' in anonymous.text
        await _login(client, email)
        forbidden = await client.get(f"/v2/workspaces/{ws}/activity")
        assert forbidden.status_code == 403 and forbidden.headers["content-type"].startswith("text/html")
        assert "Not allowed" in forbidden.text
        await client.get("/v2/workspaces/x/activity", params={"token": ADMIN_TOKEN})
        missing = await client.get("/v2/workspaces/nope000000000000/activity")
        assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    for name, media in (("activity.js", "text/javascript"), ("activity.css", "text/css")):
        asset = await stack.http.get(f"/v2/activity/static/{name}")
        assert asset.status_code == 200 and asset.headers["content-type"].startswith(media) and asset.content
    assert (await stack.http.get("/v2/activity/static/..%2Fcookies.py")).status_code == 404


async def test_logout_clears_both_cookies(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    email, _ = await _user(stack)
    ws = await _owned_workspace(stack, email)
    async with browser_client(stack) as client:
        await _login(client, email)
        refused = await client.post("/v2/logout")
        assert refused.status_code == 403 and CSRF_HEADER in refused.json()["message"]
        assert (await client.get(f"/v2/workspaces/{ws}")).status_code == 200  # still signed in
        response = await client.post("/v2/logout", headers={CSRF_HEADER: client.cookies[CSRF_COOKIE]})
        assert response.status_code == 200 and response.json() == {"loggedOut": True}
        cleared: dict[str, Any] = _set_cookies(response)
        assert set(cleared) == {SESSION_COOKIE, CSRF_COOKIE}
        assert all("max-age=0" in header.lower() for header in cleared.values())
        assert SESSION_COOKIE not in client.cookies and CSRF_COOKIE not in client.cookies
        assert (await client.get(f"/v2/workspaces/{ws}")).status_code == 401
        # Without a session (or with a bearer token) logout simply succeeds.
        assert (await client.post("/v2/logout")).status_code == 200
