"""Running the same cases against a live Tideway (``--server URL``).

The workspace is the one whose slug the folder's ``index.yml`` names (push it first). An
automation case is ``POST …/test/{slug}`` (its run is then found in ``GET …/runs``), a webhook
case calls the webhook, an event case ``POST …/events``; webhook and event calls carry a
correlation id of the runner's. Once every run of that correlation id has ended, the case's
events (``GET …/events?source.correlationId=…``) and the runs' traces (``GET …/runs/{id}``) make
the same :class:`CaseOutcome` the offline runner makes, checked by the same expectations.

``/test`` takes no mocks, config overrides, user or clock: cases with any of them are refused
(``Case.offline_only``) — run them offline.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any
from urllib.parse import quote

import httpx

from cli.workspace_tests.format import Case, Mocks
from cli.workspace_tests.outcome import MISSING, CaseOutcome, RunTrace

SETTLE_SECONDS = 0.3  # no run started or ended for this long: the case is over
RUNS_TIMEOUT = 30.0
ENDED = ("succeeded", "failed", "cancelled")


class ServerError(Exception):
    """The server could not be used at all (unreachable, the workspace unknown, a refused token)."""


def refusal(case: Case, file_mocks: Mocks) -> str | None:
    reasons = case.offline_only(file_mocks)
    if not reasons:
        return None
    return (f"case {case.name!r} uses {', '.join(reasons)}: run it offline (without --server), or leave it "
            "out with -k (a live Tideway's /test route takes none of these)")


class ServerRunner:
    def __init__(self, base_url: str, token: str | None, workspace_slug: str):
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.AsyncClient(base_url=base_url.rstrip("/"), headers=headers, timeout=60)
        self.slug = workspace_slug
        self.workspace_id = ""

    async def __aenter__(self) -> ServerRunner:
        try:
            response = await self.http.get(f"/v2/workspaces/slug:{quote(self.slug, safe='')}")
        except httpx.HTTPError as exc:
            await self.http.aclose()
            raise ServerError(f"{self.http.base_url} cannot be reached: {exc}") from None
        if response.status_code != 200:
            await self.http.aclose()
            raise ServerError(f"workspace '{self.slug}' on {self.http.base_url}: HTTP {response.status_code} "
                              f"{response.text[:300]} (push the folder first; a token with access to it?)")
        self.workspace_id = str(response.json()["id"])
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    @property
    def base(self) -> str:
        return f"/v2/workspaces/{self.workspace_id}"

    async def run_case(self, case: Case) -> CaseOutcome:
        outcome = CaseOutcome()
        correlation_id = uuid.uuid4().hex
        if case.automation is not None:
            response = await self.http.post(f"{self.base}/test/{quote(case.automation, safe='')}",
                                            json={"payload": case.payload or {}})
            self.read_answer(response, outcome)
            found = await self.get(f"{self.base}/runs", automation=case.automation.rpartition(".")[2],
                                   triggerType="test", limit=1)
            runs = found["result"]["runs"]
            if not runs:
                outcome.problem = "the /test run was not found in GET …/runs"
                return outcome
            correlation_id = runs[0]["correlationId"]
        elif case.webhook is not None:
            hook = case.webhook
            body = hook.body if hook.body is not None else {}
            response = await self.http.request(
                hook.method, f"{self.base}/webhooks/{quote(hook.endpoint, safe='/')}", params=hook.query,
                json=body if hook.method not in ("GET", "DELETE") else None,
                headers={**hook.headers, "x-correlation-id": correlation_id})
            self.read_answer(response, outcome)
            outcome.http_status = response.status_code
            outcome.http_headers = dict(response.headers)
        else:
            assert case.event is not None
            response = await self.http.post(f"{self.base}/events", headers={"x-correlation-id": correlation_id},
                                            json={"events": [{"type": case.event.type, "payload": case.event.payload}]})
            if response.status_code != 200:
                self.read_answer(response, outcome)
                return outcome
        outcome.runs = await self.settled_runs(correlation_id, outcome)
        if case.event is not None and outcome.error is None:
            outcome.error = next((run.error for run in outcome.runs if run.error is not None), None)
        events = await self.get(f"{self.base}/events", **{"source.correlationId": correlation_id, "limit": 500})
        outcome.events = list(reversed(events["result"]["events"]))
        return outcome

    @staticmethod
    def read_answer(response: httpx.Response, outcome: CaseOutcome) -> None:
        """The output, or the error body of a failed run (``{error, message}`` with a 4xx/5xx)."""
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        if response.status_code >= 400 and isinstance(body, dict) and isinstance(body.get("error"), str) \
                and "message" in body:
            outcome.error = body
        else:
            outcome.output = body

    async def get(self, path: str, **params: Any) -> dict[str, Any]:
        response = await self.http.get(path, params=params)
        if response.status_code != 200:
            raise ServerError(f"GET {path}: HTTP {response.status_code} {response.text[:300]}")
        result: dict[str, Any] = response.json()
        return result

    async def settled_runs(self, correlation_id: str, outcome: CaseOutcome) -> list[RunTrace]:
        """The runs of ``correlation_id`` once all have ended and no new one came for a moment."""
        deadline = time.monotonic() + RUNS_TIMEOUT
        seen: list[dict[str, Any]] = []
        stable_since = time.monotonic()
        while True:
            found = (await self.get(f"{self.base}/runs", correlationId=correlation_id, limit=100))["result"]["runs"]
            if [(r["id"], r["status"]) for r in found] != [(r["id"], r["status"]) for r in seen]:
                seen, stable_since = found, time.monotonic()
            done = all(r["status"] in ENDED for r in seen)
            if done and time.monotonic() - stable_since >= SETTLE_SECONDS:
                break
            if time.monotonic() > deadline:
                outcome.problem = f"runs of the case still running after {RUNS_TIMEOUT:.0f} s"
                break
            await asyncio.sleep(0.05)
        traces = []
        for summary in sorted(seen, key=lambda r: str(r.get("startedAt"))):
            run = (await self.get(f"{self.base}/runs/{summary['id']}"))["result"]["run"]
            trace = run.get("trace") or {}
            traces.append(RunTrace(automation=run["automation"], instance=run.get("appInstance") or "",
                                   trigger=run.get("trigger") or {}, status=run["status"],
                                   output=run.get("output", MISSING), error=run.get("error"),
                                   steps=list(trace.get("steps") or [])))
        first = [t for t in traces if t.trigger.get("type") in ("test", "endpoint")]
        return first + [t for t in traces if t not in first]
