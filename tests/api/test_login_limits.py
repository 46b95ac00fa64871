"""Failed-login limits (core/access/login_limits.py): per (account, client address) and per account,
counted in the database (so every api process shares them), 429 with Retry-After that says
nothing about whether the account exists; the client address follows TRUSTED_PROXIES, for
logins and for the other places that record it (webhook ``http.ip``, sent events' ``source.ip``)."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from cli.composition import build_services
from core.infra.db import Database
from core.runs.ratelimits import Bucket, give_back, reserve
from core.services import Services
from tests.stack import ADMIN_TOKEN, Stack, open_stack

PASSWORD = "correct horse battery"
PROXY = "10.9.9.9"


@pytest.fixture(scope="module")
async def limited(temporal_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    path = Path(tmp_path_factory.mktemp("logins")) / "logins.db"
    async with open_stack(temporal_env.client, f"sqlite:///{path}", "sqlite", login_rate_per_address=3,
                          login_rate_per_account=5, login_rate_window_seconds=3600,
                          trusted_proxies="10.9.9.0/24, fd00::/8") as stack:
        yield stack


async def _user(stack: Stack) -> str:
    email = f"user-{uuid.uuid4().hex[:10]}@example.com"
    created = await stack.http.post("/v2/users", json={"email": email, "password": PASSWORD}, headers=stack.auth)
    assert created.status_code == 200, created.text
    return email


def _client(services: Services, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(services), client=(address, 4711))
    return httpx.AsyncClient(transport=transport, base_url="http://tideway.test")


async def _login(services: Services, address: str, email: str, password: str,
                 forwarded: str | None = None) -> httpx.Response:
    async with _client(services, address) as http:
        return await http.post("/v2/login", json={"email": email, "password": password},
                               headers={"x-forwarded-for": forwarded} if forwarded else {})


def _without_digits(body: dict[str, Any]) -> str:
    return re.sub(r"\d+", "N", json.dumps(body, sort_keys=True))


def _limited(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 429, response.text
    assert int(response.headers["retry-after"]) >= 1
    body: dict[str, Any] = response.json()
    assert body["error"] == "TooManyRequestsError"
    return body


async def test_brute_force_from_one_address_is_limited_and_other_addresses_still_log_in(limited: Stack) -> None:
    services = limited.services
    email = await _user(limited)
    for _ in range(3):
        assert (await _login(services, "10.0.0.1", email, "wrong guess")).status_code == 401
    refused = _limited(await _login(services, "10.0.0.1", email, "wrong guess"))
    # Even the right password is refused from there now: the limit is on attempts.
    _limited(await _login(services, "10.0.0.1", email, PASSWORD))
    assert (await _login(services, "10.0.0.2", email, PASSWORD)).status_code == 200

    # An email without an account is limited the same way, with the same answer.
    ghost = f"nobody-{uuid.uuid4().hex[:8]}@example.com"
    for _ in range(3):
        assert (await _login(services, "10.0.0.1", ghost, "wrong guess")).status_code == 401
    ghost_refused = _limited(await _login(services, "10.0.0.1", ghost, "wrong guess"))
    assert _without_digits(ghost_refused) == _without_digits(refused)  # only the seconds to wait may differ


async def test_successful_logins_do_not_count(limited: Stack) -> None:
    email = await _user(limited)
    for _ in range(8):  # more than both limits
        assert (await _login(limited.services, "10.0.0.3", email, PASSWORD)).status_code == 200
    assert (await _login(limited.services, "10.0.0.3", email, "wrong guess")).status_code == 401


async def test_the_account_cap_stops_a_distributed_brute_force(limited: Stack) -> None:
    email = await _user(limited)
    for address in ("10.1.0.1", "10.1.0.1", "10.1.0.2", "10.1.0.2", "10.1.0.3"):  # 5 = the account cap
        assert (await _login(limited.services, address, email, "wrong guess")).status_code == 401
    body = _limited(await _login(limited.services, "10.1.0.4", email, PASSWORD))  # a fresh address
    assert "message" in body and email not in body["message"]


async def test_the_limits_are_shared_by_every_api_process(limited: Stack) -> None:
    """A second Services (another api process: own engine, own limiter) on the same database."""
    email = await _user(limited)
    other_db = Database(limited.services.db.url)
    other = build_services(limited.services.settings, other_db, limited.services.client, admin_token=ADMIN_TOKEN)
    try:
        for services in (limited.services, other, limited.services):
            assert (await _login(services, "10.2.0.1", email, "wrong guess")).status_code == 401
        _limited(await _login(other, "10.2.0.1", email, "wrong guess"))
    finally:
        await other_db.dispose()


async def test_forwarded_for_is_honoured_only_from_a_trusted_proxy(limited: Stack) -> None:
    services = limited.services
    email = await _user(limited)
    # From an untrusted peer the header is the client's own text: ignored, the peer counts.
    for spoof in ("10.3.0.1", "10.3.0.2", "10.3.0.3"):
        assert (await _login(services, "10.3.9.9", email, "wrong", forwarded=spoof)).status_code == 401
    _limited(await _login(services, "10.3.9.9", email, "wrong", forwarded="10.3.0.4"))

    email = await _user(limited)
    for _ in range(3):  # through the proxy, the forwarded client counts
        assert (await _login(services, PROXY, email, "wrong", forwarded="10.4.0.1")).status_code == 401
    _limited(await _login(services, PROXY, email, "wrong", forwarded="10.4.0.1"))
    # A client prepending a fake address is still itself (the right-most untrusted entry); hops
    # through several trusted proxies are skipped.
    _limited(await _login(services, PROXY, email, "wrong", forwarded="10.4.0.77, 10.4.0.1"))
    _limited(await _login(services, PROXY, email, "wrong", forwarded="10.4.0.1, 10.9.9.8"))
    assert (await _login(services, PROXY, email, PASSWORD, forwarded="10.4.0.2")).status_code == 200


async def test_webhook_and_sent_events_record_the_same_client_address(limited: Stack) -> None:
    services = limited.services
    doc = {"name": "Ip", "slug": f"ip-{uuid.uuid4().hex[:6]}", "automations": {
        "where": {"name": "where", "when": {"endpoint": True}, "do": [{"emit": {"event": "seen"}}], "output": "ok"}}}
    ws = (await limited.import_workspace(doc))["id"]
    cases = [(PROXY, "203.0.113.7", "203.0.113.7"), ("10.5.0.1", "203.0.113.8", "10.5.0.1"),
             ("fd00::1", "2001:db8::5", "2001:db8::5")]
    for peer, forwarded, expected in cases:
        async with _client(services, peer) as http:
            headers = {"x-forwarded-for": forwarded}
            hooked = await http.post(f"/v2/workspaces/{ws}/webhooks/where", json={}, headers=headers)
            assert hooked.status_code == 200, hooked.text
            sent = await http.post(f"/v2/workspaces/{ws}/events", json={"events": [{"type": "sent"}]},
                                   headers={**headers, **limited.auth})
            assert sent.status_code == 200, sent.text
        correlation = sent.json()["events"][0]["source"]["correlationId"]
        for _ in range(50):  # the sent event is persisted by its dispatch workflow
            events = await limited.events(ws, **{"source.correlationId": correlation})
            if events:
                break
            await asyncio.sleep(0.1)
        assert events[0]["source"]["ip"] == expected, (peer, events[0]["source"])
        seen = await limited.events(ws, types="seen")
        assert seen[0]["source"]["http"]["ip"] == expected, (peer, seen[0]["source"])


async def test_reserve_is_atomic_under_concurrency(stack: Stack) -> None:
    """Parallel attempts cannot overshoot a login bucket (both backends)."""
    db = stack.services.db
    buckets = {(f"login:test-{uuid.uuid4().hex[:10]}", "account"): Bucket(5 / 3600, 5)}

    async def attempt() -> float:
        async with db.session() as session:
            return await reserve(session, buckets)

    waits = await asyncio.gather(*(attempt() for _ in range(12)))
    assert sum(1 for w in waits if w == 0) == 5, waits
    assert all(w > 0 for w in waits if w != 0)
    async with db.session() as session:
        await give_back(session, buckets)
    async with db.session() as session:
        assert await reserve(session, buckets) == 0  # the token given back is usable again
