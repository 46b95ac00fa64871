"""The Activity page in a real browser (issue 8): headless Chromium signs in with the login form,
sees the feed, filters it, watches a newly sent event appear without a reload, expands it,
follows the Temporal link's target, and logs out. A screenshot lands in ``tests/artifacts/``.

Debian's ``chromium`` and ``chromium-driver`` only (``make test`` installs them as root): the
driver path is given explicitly and ``SE_OFFLINE`` is set, so Selenium Manager never runs and
nothing is downloaded. Without them the test skips with the reason.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from api.app import create_app
from api.routers.activity import temporal_ui_url
from tests.api.helpers import workspace_doc
from tests.browser import live_server
from tests.stack import Stack

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"  # git-ignored
PASSWORD = "correct horse battery"
XSS = "<img src=x onerror=window.__pwned=1>"  # no quotes: the JSON view shows it verbatim
WAIT = 20.0


def _missing_browser() -> str | None:
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not path.exists():
            return f"{path} is missing (apt-get install {package}; make test does it as root)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    return None


def _driver() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never fetch a browser or a driver
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--disable-dev-shm-usage", "--window-size=1280,1000"):
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))


def _component(value: str) -> str:
    return quote(value, safe="-_.!~*'()")  # what JavaScript's encodeURIComponent leaves alone


def _until(what: str, check: Callable[[], Any], timeout: float = WAIT) -> Any:
    """Poll ``check`` until it returns something truthy (a browser is asynchronous)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except Exception:  # e.g. a row replaced while being read
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


async def _wait_events(stack: Stack, ws: str, count: int, **params: Any) -> list[dict[str, Any]]:
    deadline = time.monotonic() + WAIT
    while True:
        events = await stack.events(ws, limit=100, **params)
        if len(events) >= count or time.monotonic() > deadline:
            return events
        await asyncio.sleep(0.1)


@pytest.fixture
def browser_reason() -> Iterator[None]:
    reason = _missing_browser()
    if reason:
        pytest.skip(f"browser test skipped: {reason}")
    yield


async def test_activity_page_in_headless_chromium(sqlite_stack: Stack, browser_reason: None) -> None:
    stack = sqlite_stack
    email = f"activity-{uuid.uuid4().hex[:8]}@example.com"
    assert (await stack.http.post("/v2/users", json={"email": email, "password": PASSWORD},
                                  headers=stack.auth)).status_code == 200
    # The user creates the workspace (and so owns it) with a bearer token, from a throwaway client.
    transport = httpx.ASGITransport(app=create_app(stack.services))
    async with httpx.AsyncClient(transport=transport, base_url="http://tideway.test") as client:
        token = (await client.post("/v2/login", json={"email": email, "password": PASSWORD})).json()["token"]
        bearer = {"authorization": f"Bearer {token}"}
        created = await client.post("/v2/workspaces/import", headers=bearer, json=workspace_doc({
            "hello": {"name": "hello", "when": {"endpoint": True},
                      "do": [{"emit": {"event": "hello.greeted", "payload": {"who": "{{body.name}}"}}}],
                      "output": "hi"}}, name="Activity demo"))
        assert created.status_code == 200, created.text
        ws = created.json()["workspace"]["id"]
        seeded = await client.post(f"/v2/workspaces/{ws}/events", headers=bearer, json={"events": [
            {"type": "order.created", "payload": {"name": "Ada", "note": XSS}},
            {"type": "order.paid", "payload": {"name": "Grace"}}]})
        assert seeded.status_code == 200, seeded.text
        hook = await client.post(f"/v2/workspaces/{ws}/webhooks/hello", json={"name": "Linus"}, headers=bearer)
        assert hook.status_code == 200, hook.text
    executed = (await _wait_events(stack, ws, 1, types="runtime.automations.executed"))[0]
    await _wait_events(stack, ws, 4)
    run = executed["source"]
    assert run["workflowId"] and run["runId"]
    # Ids are path segments, encoded like the Temporal UI does (encodeURIComponent: ws/… → ws%2F…).
    expected_link = (f"{temporal_ui_url(stack.services.settings)}/namespaces/{stack.services.settings.temporal_namespace}"
                     f"/workflows/{_component(run['workflowId'])}/{_component(run['runId'])}/history")
    same_run = {e["id"] for e in await stack.events(ws, **{"source.correlationId": run["correlationId"]})}

    loop = asyncio.get_running_loop()

    def send_live() -> list[dict[str, Any]]:
        """Send two events from the browser thread, through the API on the test's loop."""
        future = asyncio.run_coroutine_threadsafe(stack.http.post(
            f"/v2/workspaces/{ws}/events", headers=stack.auth, json={"events": [
                {"type": "order.paid", "payload": {"name": "Filtered out"}},
                {"type": "order.created", "payload": {"name": "Live Lovelace"}}]}), loop)
        response = future.result(WAIT)
        assert response.status_code == 200, response.text
        sent: list[dict[str, Any]] = response.json()["events"]
        return sent

    async with live_server(stack) as base:
        await asyncio.to_thread(_browse, base, ws, email, expected_link, run["correlationId"], same_run, send_live)


def _browse(base: str, ws: str, email: str, expected_link: str, correlation: str, same_run: set[str],
            send_live: Callable[[], list[dict[str, Any]]]) -> None:
    from selenium.webdriver.common.by import By

    driver = _driver()
    try:
        def rows() -> list[Any]:
            return list(driver.find_elements(By.CSS_SELECTOR, "#events > li.event"))

        def types() -> list[str]:
            return [row.get_attribute("data-type") for row in rows()]

        def live() -> bool:
            status = driver.find_element(By.ID, "live-status").get_attribute("data-state")
            return bool(status == "live")

        def apply(**values: str) -> None:
            form = driver.find_element(By.ID, "filters")
            for name in ("types", "text", "afterDate", "beforeDate", "correlationId"):
                # set through JS: datetime-local typing depends on the browser's locale
                driver.execute_script("arguments[0].value = arguments[1]",
                                      form.find_element(By.NAME, name), values.get(name, ""))
            form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            _until("the live feed after applying filters", live)

        # Unauthenticated: an HTML login form, then sign in with it (POST /v2/login sets the cookie).
        page = f"{base}/v2/workspaces/{ws}/activity"
        driver.get(page)
        form = driver.find_element(By.ID, "login-form")
        form.find_element(By.NAME, "email").send_keys(email)
        form.find_element(By.NAME, "password").send_keys(PASSWORD)
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        _until("the activity page", lambda: driver.find_elements(By.ID, "events"))
        assert "Activity demo" in driver.find_element(By.CSS_SELECTOR, "h1").text
        _until("the live feed", live)
        _until("the seeded events, newest first", lambda: {"order.created", "order.paid", "hello.greeted",
                                                           "runtime.automations.executed"} <= set(types()))
        # Event data is text, never markup.
        created = next(row for row in rows() if row.get_attribute("data-type") == "order.created")
        created.find_element(By.TAG_NAME, "summary").click()
        assert XSS in created.find_element(By.TAG_NAME, "pre").text
        assert not driver.find_elements(By.CSS_SELECTOR, "#events img")
        assert driver.execute_script("return window.__pwned") is None
        # The run's link to the Temporal UI.
        run_row = next(row for row in rows() if row.get_attribute("data-type") == "runtime.automations.executed")
        assert run_row.find_element(By.CSS_SELECTOR, "a.temporal").get_attribute("href") == expected_link
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        assert driver.save_screenshot(str(ARTIFACTS / "activity-feed.png"))

        # Filters: type, text, correlation id, date range.
        apply(types="order.created")
        _until("only order.created rows", lambda: types() == ["order.created"])
        assert "types=order.created" in driver.current_url  # the view is shareable
        apply(text="Grace")
        _until("the text match", lambda: types() == ["order.paid"])
        apply(correlationId=correlation)
        _until("the run's events", lambda: {r.get_attribute("data-id") for r in rows()} == same_run)
        apply(afterDate="2999-01-01T00:00:00")
        _until("an empty list", lambda: "empty" in (driver.find_element(By.ID, "events").get_attribute("class") or ""))
        apply(beforeDate="2999-01-01T00:00:00", types="order.created")
        _until("order.created rows again", lambda: types() == ["order.created"])

        # A newly sent event appears at the top, live, in the same page (no reload).
        driver.execute_script("window.__samePage = true")
        sent = send_live()
        wanted = next(e["id"] for e in sent if e["type"] == "order.created")
        _until("the live event", lambda: rows() and rows()[0].get_attribute("data-id") == wanted)
        assert driver.execute_script("return window.__samePage") is True
        time.sleep(0.5)  # the filtered-out event, sent first, must not show up late either
        assert types() == ["order.created", "order.created"]
        newest = rows()[0]
        assert "fresh" in (newest.get_attribute("class") or "")
        newest.find_element(By.TAG_NAME, "summary").click()
        assert "Live Lovelace" in newest.find_element(By.TAG_NAME, "pre").text
        shot = ARTIFACTS / "activity.png"
        assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 0
        print(f"screenshot: {shot}")

        # Log out: back to the login form, the session cookie gone.
        driver.find_element(By.ID, "logout").click()
        _until("the login form", lambda: driver.find_elements(By.ID, "login-form"))
        assert not [c for c in driver.get_cookies() if c["name"] == "tideway_session"]
    finally:
        driver.quit()

