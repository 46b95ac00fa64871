"""The run view and the Runs tab of the Activity page in a real browser (issue 19).

A webhook automation with a call to another automation (its steps nested one level deeper), a
``repeat`` and a ``fetch`` to a refused port fails with FetchError. Headless Chromium opens the
run from the error event's "Run" button and checks the waterfall against the run the JSON API
answers (one ``.trace-bar`` per step, exactly the failing step marked ``failed``), a step's
details, that run data stays text, Re-run (the new run shows in the Runs tab), the filters, a
shared ``#run=`` link, and a run the API does not know. The screenshots land in
``tests/artifacts/`` (``TIDEWAY_REFRESH_DOCS=1`` also copies them to ``docs/runs/`` for the docs).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from tests.api.helpers import workspace_doc
from tests.browser import live_server
from tests.browser.test_activity_browser import (
    ARTIFACTS,
    PASSWORD,
    WAIT,
    XSS,
    _driver,
    _missing_browser,
    _until,
    _wait_events,
)
from tests.stack import Stack

DOCS = Path(__file__).resolve().parents[2] / "docs" / "runs"
REFUSED = "http://127.0.0.1:9/report"  # the discard port: nothing listens, the connection is refused

AUTOMATIONS: dict[str, Any] = {
    "pipeline": {"name": "Order pipeline", "when": {"endpoint": True}, "trace": "values", "do": [
        {"set": {"name": "total", "value": 0}},
        {"double": {"n": 21, "output": "doubled"}},
        {"repeat": {"on": "{{body.items}}", "do": [{"set": {"name": "total", "value": "{% {{total}} + {{item}} %}"}}]}},
        {"emit": {"event": "pipeline.totalled", "payload": {"total": "{{total}}", "note": "{{body.note}}"}}},
        {"set": {"name": "report", "value": {"total": "{{total}}", "doubled": "{{doubled}}"}}},
        {"fetch": {"url": REFUSED, "method": "post", "body": "{{report}}"}},
    ], "output": "{{report}}"},
    "double": {"name": "Double", "do": [{"set": {"name": "result", "value": "{% {{n}} * 2 %}"}}],
               "output": "{{result}}"},
}


async def _failed_run(client: httpx.AsyncClient, ws: str, bearer: dict[str, str]) -> dict[str, Any]:
    """The failed run, read through the JSON API once its record is complete."""
    deadline = time.monotonic() + WAIT
    while True:
        listed = await client.get(f"/v2/workspaces/{ws}/runs", params={"status": "failed"}, headers=bearer)
        assert listed.status_code == 200, listed.text
        runs = listed.json()["result"]["runs"]
        if runs:
            answer = await client.get(f"/v2/workspaces/{ws}/runs/{runs[0]['id']}", headers=bearer)
            assert answer.status_code == 200, answer.text
            run: dict[str, Any] = answer.json()["result"]["run"]
            if run.get("trace", {}).get("steps"):
                return run
        if time.monotonic() > deadline:
            raise AssertionError(f"no failed run with a trace: {listed.text}")
        await asyncio.sleep(0.1)


def _failing_step(steps: list[dict[str, Any]]) -> dict[str, Any]:
    errors = [step for step in steps if step["outcome"] == "error"]
    assert errors, steps
    return errors[-1]  # a failing call's own steps follow it: the last error is where it started


async def test_run_view_and_runs_tab_in_headless_chromium(sqlite_stack: Stack) -> None:
    reason = _missing_browser()
    if reason:
        pytest.skip(f"browser test skipped: {reason}")
    stack = sqlite_stack
    email = f"runs-{uuid.uuid4().hex[:8]}@example.com"
    assert (await stack.http.post("/v2/users", json={"email": email, "password": PASSWORD},
                                  headers=stack.auth)).status_code == 200
    transport = httpx.ASGITransport(app=create_app(stack.services))
    async with httpx.AsyncClient(transport=transport, base_url="http://tideway.test") as client:
        token = (await client.post("/v2/login", json={"email": email, "password": PASSWORD})).json()["token"]
        bearer = {"authorization": f"Bearer {token}"}
        created = await client.post("/v2/workspaces/import", headers=bearer,
                                    json=workspace_doc(AUTOMATIONS, name="Runs demo"))
        assert created.status_code == 200, created.text
        ws = created.json()["workspace"]["id"]
        hook = await client.post(f"/v2/workspaces/{ws}/webhooks/pipeline", headers=bearer,
                                 json={"items": [1, 2, 3], "note": XSS})
        assert hook.status_code == 400 and hook.json()["error"] == "FetchError", hook.text
        run = await _failed_run(client, ws, bearer)

        steps = run["trace"]["steps"]
        failing = _failing_step(steps)
        assert failing["instruction"] == "fetch" and failing["error"]["error"] == "FetchError", failing
        assert any(step["depth"] == 2 and step["automation"] == "double" for step in steps), steps
        assert [step["iteration"] for step in steps if "iteration" in step] == [0, 1, 2], steps
        [error_event] = await _wait_events(stack, ws, 1, types="error")
        assert error_event["source"]["workflowId"] == run["workflowId"], error_event

        async with live_server(stack) as base:
            new_id = await asyncio.to_thread(_browse, base, ws, token, run)
        rerun = await client.get(f"/v2/workspaces/{ws}/runs/{new_id}", headers=bearer)
        assert rerun.status_code == 200, rerun.text
        assert rerun.json()["result"]["run"]["rerunOf"] == run["id"]

    # docs/runs/*.png are copies of these artifacts, refreshed by hand (TIDEWAY_REFRESH_DOCS=1) so a
    # test run never rewrites tracked files.
    if os.environ.get("TIDEWAY_REFRESH_DOCS"):
        DOCS.mkdir(parents=True, exist_ok=True)
        for name in ("run-view.png", "runs-tab.png"):
            shutil.copyfile(ARTIFACTS / name, DOCS / name)


def _browse(base: str, ws: str, token: str, run: dict[str, Any]) -> str:
    """Drives the page; answers the id of the run that Re-run started."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    steps: list[dict[str, Any]] = run["trace"]["steps"]
    failing = _failing_step(steps)
    page = f"{base}/v2/workspaces/{ws}/activity"
    driver = _driver()
    try:
        def view() -> Any:
            return driver.find_element(By.ID, "run-view")

        def bars() -> list[Any]:
            return list(driver.find_elements(By.CSS_SELECTOR, "#run-view .trace-bar"))

        def run_shown(run_id: str) -> bool:
            shown = view()
            return bool(shown.is_displayed() and shown.get_attribute("data-run-id") == run_id
                        and shown.get_attribute("data-status") not in ("loading", "missing", ""))

        def details() -> str:
            return str(driver.find_element(By.ID, "step-details").text)

        # ?token= signs the browser in (session cookie + CSRF cookie), then the feed.
        driver.get(f"{page}?token={token}")
        _until("the error event", lambda: driver.find_elements(By.CSS_SELECTOR, "#events > li[data-type=error]"))

        def open_error_run() -> bool:
            # Retried whole: the live feed may redraw the row between the two clicks.
            error_row = driver.find_element(By.CSS_SELECTOR, "#events > li[data-type=error]")
            error_row.find_element(By.TAG_NAME, "summary").click()
            error_row.find_element(By.CSS_SELECTOR, "button.run-link").click()
            return True

        _until("a click on the error event's run link", open_error_run)
        _until("the run view", lambda: run_shown(run["id"]))
        assert driver.current_url.endswith(f"#run={run['id']}")  # shareable
        assert not driver.find_element(By.ID, "events-view").is_displayed()

        # The waterfall: one bar per step, only the failing step marked, nested calls indented.
        assert len(bars()) == len(steps)
        [failed] = driver.find_elements(By.CSS_SELECTOR, "#run-view .trace-bar.failed")
        assert failed.get_attribute("data-path") == failing["path"]
        assert "selected" in (failed.get_attribute("class") or "")  # opened on the failure
        assert "FetchError" in details()
        nested_index = next(i for i, step in enumerate(steps) if step["depth"] == 2)
        nested, top = bars()[nested_index], bars()[0]
        indent = nested.find_element(By.CLASS_NAME, "step-name").value_of_css_property("padding-left")
        assert float(indent.rstrip("px")) > float(top.find_element(By.CLASS_NAME, "step-name")
                                                  .value_of_css_property("padding-left").rstrip("px"))
        # Every bar shows, even the 0 ms ones.
        assert all(bar.find_element(By.CLASS_NAME, "trace-fill").size["width"] >= 3 for bar in bars())

        # Clicking a bar shows that step: a loop iteration with its value.
        looped = next(i for i, step in enumerate(steps) if step.get("iteration") == 2)
        bars()[looped].click()
        _until("the step's details", lambda: "Iteration\n2" in details())
        assert steps[looped]["path"] in details()
        assert json.dumps(steps[looped]["value"], indent=2) in details()  # as JSON.stringify(v, null, 2)
        bars()[nested_index].click()
        _until("the nested step's details", lambda: "Depth\n2" in details() and "double" in details())

        # Facts, the Temporal link, input and output as text (never markup).
        facts = view().find_element(By.CSS_SELECTOR, ".run-facts").text
        assert "endpoint: pipeline" in facts and run["correlationId"] in facts and str(run["userId"]) in facts
        assert view().find_element(By.CSS_SELECTOR, "a.temporal").get_attribute("href") == run["temporalUrl"]
        assert XSS in view().find_element(By.CSS_SELECTOR, ".run-input pre").text
        assert "FetchError" in view().find_element(By.CSS_SELECTOR, ".run-error").text
        assert not driver.find_elements(By.CSS_SELECTOR, "#run-view img")
        assert driver.execute_script("return window.__pwned") is None
        assert not driver.find_elements(By.ID, "cancel-run")  # an ended run cannot be cancelled
        failed.click()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        driver.set_window_size(1280, 1200)
        assert driver.save_screenshot(str(ARTIFACTS / "run-view.png"))

        # Re-run: the new run's link, then the new run in the Runs tab.
        driver.find_element(By.ID, "rerun").click()

        def rerun_notice() -> tuple[str, list[str]] | None:
            # Read in one go: the view reloads after the re-run and moves the notice into a new
            # element, so a handle kept from an earlier poll can go stale.
            for shown in driver.find_elements(By.CSS_SELECTOR, ".run-action-result"):
                text = str(shown.text)
                if text.startswith("Re-run ") and text != "Re-running…":
                    return text, [str(link.text) for link in shown.find_elements(By.CSS_SELECTOR, "a.run-id")]
            return None

        notice_text, links = _until("the re-run's result", rerun_notice)
        assert notice_text.startswith("Re-run started") and links, notice_text  # not "Re-run failed: <why>"
        new_id = links[0]
        assert new_id and new_id != run["id"]
        _until("the refreshed run view", lambda: run_shown(run["id"]) and len(bars()) == len(steps))
        driver.find_element(By.ID, "tab-runs").click()

        def listed() -> list[str]:
            return [str(row.get_attribute("data-id")) for row in driver.find_elements(By.CSS_SELECTOR, "#runs tr.run")]

        _until("both runs in the Runs tab", lambda: listed() == [new_id, run["id"]])  # newest first
        driver.set_window_size(1280, 560)  # the tab is short: no empty half page in the docs
        assert driver.save_screenshot(str(ARTIFACTS / "runs-tab.png"))
        driver.set_window_size(1280, 1000)

        # Filters (kept in the fragment) and a click on a row.
        form = driver.find_element(By.ID, "run-filters")
        form.find_element(By.NAME, "automation").send_keys("double")
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        _until("no run of 'double' (called, not started)", lambda: driver.find_elements(
            By.CSS_SELECTOR, "#runs tr.placeholder") and not listed() and "No runs" in driver.find_element(
            By.ID, "runs").text)
        assert "automation=double" in driver.current_url
        form.find_element(By.CSS_SELECTOR, "button[type=reset]").click()
        _until("the runs again", lambda: len(listed()) == 2)
        Select(form.find_element(By.NAME, "status")).select_by_visible_text("succeeded")
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        _until("no succeeded run", lambda: driver.find_elements(By.CSS_SELECTOR, "#runs tr.placeholder")
               and not listed())
        Select(form.find_element(By.NAME, "status")).select_by_visible_text("failed")
        Select(form.find_element(By.NAME, "triggerType")).select_by_visible_text("endpoint")
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        _until("the failed webhook runs", lambda: len(listed()) == 2)
        driver.find_element(By.CSS_SELECTOR, f"#runs tr.run[data-id='{new_id}'] td").click()
        _until("the new run's view", lambda: run_shown(new_id))
        rerun_of = _until("its Re-run of link", lambda: view().find_elements(By.CSS_SELECTOR, ".run-facts a.run-id"))
        assert rerun_of[0].text == run["id"]

        # A shared link opens the run directly; an unknown run is a short message, not a broken page.
        driver.get(f"{page}#run={run['id']}")
        _until("the shared run", lambda: run_shown(run["id"]) and len(bars()) == len(steps))
        driver.get(f"{page}#run={'0' * 32}")
        missing = _until("the unknown run's message", lambda: driver.find_elements(By.CSS_SELECTOR, ".run-missing"))
        assert "Could not load this run" in missing[0].text
        driver.find_element(By.ID, "tab-events").click()
        _until("the feed again", lambda: driver.find_element(By.ID, "events-view").is_displayed()
               and driver.find_elements(By.CSS_SELECTOR, "#events > li.event"))
        print(f"screenshots: {ARTIFACTS / 'run-view.png'}, {ARTIFACTS / 'runs-tab.png'}")
        return new_id
    finally:
        driver.quit()
